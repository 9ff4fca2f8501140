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

use cityops_core::personal::PHONE_MASK;
/// What replaces the caller's name found in free text.
pub const NAME_MASK: &str = "[来电人]";

/// A ticket's text with personal data masked: the caller's own name and phone wherever they
/// appear, and every phone or identity card number ([`cityops_core::personal::mask_numbers`]).
/// Citizens often dictate their number into the complaint itself; it must not reach the
/// topics, ClickHouse or the logs.
pub fn mask_text(text: &str, caller_phone: Option<&str>, caller_name: Option<&str>) -> String {
    let mut out = text.to_owned();
    if let Some(name) = caller_name
        .map(str::trim)
        .filter(|n| n.chars().count() >= 2)
    {
        out = out.replace(name, NAME_MASK);
    }
    if let Some(digits) =
        caller_phone.map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>())
    {
        if digits.len() >= 7 {
            out = out.replace(&digits, PHONE_MASK);
        }
    }
    cityops_core::personal::mask_numbers(&out)
}

/// The fields of a ticket that hold personal data.
const PERSONAL_FIELDS: [&str; 2] = ["caller_phone", "caller_name"];

/// A rejected ticket's bytes made fit for the dead-letter topic: as JSON, the caller's name is
/// removed and the phone replaced by its keyed hash (`caller_phone_hash`); bytes that are not
/// a JSON object have the string values of the personal fields and every run of 7 or more
/// digits blanked, since they cannot be parsed to tell what is what.
pub fn redact_ticket(bytes: &[u8], key: &ReporterKey) -> Vec<u8> {
    if let Ok(serde_json::Value::Object(mut m)) = serde_json::from_slice::<serde_json::Value>(bytes)
    {
        m.remove("caller_name");
        if let Some(phone) = m.remove("caller_phone") {
            let hash = match &phone {
                serde_json::Value::String(p) => key.hash_phone(p),
                other => key.hash_phone(&other.to_string()),
            };
            if let Some(h) = hash {
                m.insert("caller_phone_hash".to_owned(), serde_json::Value::String(h));
            }
        }
        return serde_json::to_vec(&m).unwrap_or_default();
    }
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    for field in PERSONAL_FIELDS {
        text = blank_string_value(&text, field);
    }
    blank_digit_runs(&text, 7).into_bytes()
}

/// Replaces the string value after every `"field"` key with `"<redacted>"`.
fn blank_string_value(text: &str, field: &str) -> String {
    let needle = format!("\"{field}\"");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(&needle) {
        let after_key = pos + needle.len();
        out.push_str(&rest[..after_key]);
        rest = &rest[after_key..];
        let value_start = rest
            .find(|c: char| !c.is_whitespace() && c != ':')
            .unwrap_or(rest.len());
        if rest[value_start..].starts_with('"') {
            out.push_str(&rest[..value_start]);
            let body = &rest[value_start + 1..];
            let mut end = body.len();
            let mut escaped = false;
            for (i, c) in body.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = i;
                        break;
                    }
                    _ => escaped = false,
                }
            }
            out.push_str("\"<redacted>");
            rest = &body[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Replaces every run of at least `min` ASCII digits with `#`s.
fn blank_digit_runs(text: &str, min: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        flush_run(&mut out, &mut run, min);
        out.push(c);
    }
    flush_run(&mut out, &mut run, min);
    out
}

fn flush_run(out: &mut String, run: &mut String, min: usize) {
    if run.len() >= min {
        out.extend(std::iter::repeat_n('#', run.len()));
    } else {
        out.push_str(run);
    }
    run.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_and_the_callers_name_are_masked_in_text() {
        let t = mask_text(
            "我是张先生，电话13800001234，座机024-23456789，门牌号58号，押金20000元",
            Some("13800001234"),
            Some("张先生"),
        );
        assert_eq!(
            t,
            "我是[来电人]，电话[电话]，座机[电话]，门牌号58号，押金20000元"
        );
        assert_eq!(
            mask_text("请回电 139 0000 1111", Some("13900001111"), None),
            "请回电 [电话]"
        );
        // What has a phone number's or an identity card's shape is masked too (see
        // cityops_core::personal for the shapes).
        assert_eq!(
            mask_text("回电13900001111，身份证11010519491231002X", None, None),
            "回电[电话]，身份证[证件号]"
        );
    }

    #[test]
    fn redacted_json_ticket_keeps_everything_but_the_person() {
        let k = ReporterKey::new("s");
        let raw = r#"{"ticket_id":"T1","content":"","caller_phone":"13800001234","caller_name":"张先生"}"#.as_bytes();
        let out = String::from_utf8(redact_ticket(raw, &k)).expect("utf8");
        assert!(
            !out.contains("13800001234") && !out.contains("张先生"),
            "{out}"
        );
        assert!(out.contains("T1") && out.contains(&k.hash_phone("13800001234").expect("hash")));
    }

    #[test]
    fn redacted_broken_ticket_loses_phone_and_name() {
        let k = ReporterKey::new("s");
        let raw = r#"{"ticket_id":"T1","caller_name": "张\"先生","caller_phone":"138 0000 1234","note":"call 13800001234""#.as_bytes();
        let out = String::from_utf8(redact_ticket(raw, &k)).expect("utf8");
        assert!(
            !out.contains("13800001234") && !out.contains("张") && !out.contains("0000 1234"),
            "{out}"
        );
        assert!(out.contains("T1"), "{out}");
    }

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
