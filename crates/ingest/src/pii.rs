//! Personal data. A caller's phone number becomes a keyed hash (HMAC-SHA256 under the
//! deployment's secret): repeat callers are linkable, the number is not readable, and without
//! the secret it cannot be recovered by hashing every possible number. The caller's name is
//! dropped at parsing and never stored.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// The secret of the caller hash. Its `Debug` never shows it.
#[derive(Clone)]
pub struct ReporterKey(Vec<u8>);

impl ReporterKey {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self(secret.into())
    }

    /// The keyed hash (hex) of a phone number, after normalising it to its national digits so
    /// that `+86 138-0000-1234` and `13800001234` are one caller. `None` when there are no
    /// digits.
    pub fn hash_phone(&self, phone: &str) -> Option<String> {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let national = if phone.trim_start().starts_with('+') {
            digits.strip_prefix("86").unwrap_or(&digits)
        } else {
            digits.strip_prefix("0086").unwrap_or(&digits)
        };
        if national.is_empty() {
            return None;
        }
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).ok()?;
        mac.update(b"cityops-phone-v1:");
        mac.update(national.as_bytes());
        Some(hex::encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for ReporterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReporterKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_caller_same_hash_and_no_digits_leak() {
        let k = ReporterKey::new("secret");
        let a = k.hash_phone("13800001234").expect("hash");
        assert_eq!(Some(a.clone()), k.hash_phone("+86 138-0000-1234"));
        assert_eq!(Some(a.clone()), k.hash_phone("0086 13800001234"));
        assert!(!a.contains("13800001234"));
        assert_eq!(a.len(), 64);
        assert_ne!(Some(a), ReporterKey::new("other").hash_phone("13800001234"));
        assert_eq!(k.hash_phone("unknown"), None);
        assert_eq!(format!("{k:?}"), "ReporterKey(<redacted>)");
    }
}
