//! The one error type of this crate.
//!
//! Consumers dead-letter a record whose value fails to decode, with the error's message as the
//! reason, so every message says what was wrong with *that* record: which bytes, which schema,
//! which registry. [`AvroError::is_retryable`] separates the errors of the record (dead-letter it)
//! from those of the environment (retry later, do not dead-letter).

use crate::fingerprint::Fingerprint;

/// Why a value could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AvroError {
    /// Fewer bytes than the framing's header needs.
    #[error(
        "value too short for its framing: {len} bytes ({first_bytes}); a single-object value \
         needs at least 10 bytes (C3 01 + 8-byte fingerprint), a Confluent one at least 5 \
         (00 + 4-byte schema id)"
    )]
    Truncated {
        /// Length of the value.
        len: usize,
        /// The value's first bytes, in hex.
        first_bytes: String,
    },

    /// The value starts with neither framing's magic bytes.
    #[error(
        "unknown magic bytes: value starts with {first_bytes}; expected C3 01 (Avro \
         single-object encoding) or 00 (Confluent wire format)"
    )]
    UnknownMagic {
        /// The value's first bytes, in hex.
        first_bytes: String,
    },

    /// A single-object value whose writer schema is neither the current schema nor a published
    /// version of any cityops schema.
    #[error(
        "unknown writer schema fingerprint {fingerprint} (CRC-64-AVRO): not the current or a \
         historical version of any cityops schema (expected a version of {expected})"
    )]
    UnknownFingerprint {
        /// The fingerprint in the value's header.
        fingerprint: Fingerprint,
        /// Full name of the schema the caller asked for.
        expected: String,
    },

    /// The value was written with a schema of another type than the one asked for (e.g. a
    /// `Reading` on a topic read as `CityEvent`).
    #[error("value was written with schema {found}, cannot decode it as {expected}")]
    WrongSchema {
        /// The writer schema's full name (and version or registry id, when known).
        found: String,
        /// Full name of the schema the caller asked for.
        expected: String,
    },

    /// The writer schema cannot be resolved against the reader (current) schema.
    #[error("writer schema {writer} cannot be read with the current schema {reader}: {reason}")]
    Incompatible {
        /// The writer schema (name and version or registry id).
        writer: String,
        /// The reader schema's full name.
        reader: String,
        /// What does not resolve.
        reason: String,
    },

    /// The datum's bytes do not decode with its writer schema, or the decoded value does not fit
    /// the Rust type.
    #[error("datum does not match schema {schema}: {reason}")]
    Decode {
        /// The writer schema (name and version or registry id).
        schema: String,
        /// What went wrong, from the Avro decoder.
        reason: String,
    },

    /// A value could not be encoded with its schema.
    #[error("value does not match schema {schema}: {reason}")]
    Encode {
        /// The schema's full name.
        schema: String,
        /// What went wrong, from the Avro encoder.
        reason: String,
    },

    /// A Confluent-framed value reached a codec that has no schema registry.
    #[error(
        "value is in the Confluent wire format (schema id {id}) but this codec has no schema \
         registry configured"
    )]
    NoRegistry {
        /// The schema id in the value's header.
        id: u32,
    },

    /// The synchronous decoder met a registry schema id it has not fetched yet.
    #[error(
        "schema id {id} is not in this codec's cache; decode with the async Codec::decode, \
         which fetches it from the registry at {url}"
    )]
    SchemaIdNotCached {
        /// The schema id in the value's header.
        id: u32,
        /// The registry's base URL.
        url: String,
    },

    /// The synchronous encoder in registry mode met a subject it has not registered yet.
    #[error(
        "schema {schema} is not registered under subject {subject} yet; call the async \
         Codec::register or Codec::encode first"
    )]
    NotRegistered {
        /// The subject (`<topic>-value`).
        subject: String,
        /// The schema's full name.
        schema: String,
    },

    /// The schema registry could not be reached (connection refused, timeout, ...).
    #[error("schema registry unreachable at {url}: {reason}")]
    RegistryUnreachable {
        /// The URL that was requested.
        url: String,
        /// What the HTTP client reported.
        reason: String,
    },

    /// The schema registry answered with an error status.
    #[error("schema registry at {url} answered HTTP {status}: {body}")]
    RegistryStatus {
        /// The URL that was requested.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The answer's body (truncated), usually `{"error_code":..,"message":..}`.
        body: String,
    },

    /// The schema registry's answer could not be understood.
    #[error("schema registry at {url} gave an invalid answer: {reason}")]
    RegistryResponse {
        /// The URL that was requested.
        url: String,
        /// What is wrong with the answer.
        reason: String,
    },

    /// A schema (from the registry, or given to the codec) is not a valid Avro schema.
    #[error("invalid Avro schema {schema}: {reason}")]
    InvalidSchema {
        /// Where the schema came from.
        schema: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The registry URL given to [`crate::Codec::with_registry`] is unusable.
    #[error("invalid schema registry URL {url:?}: {reason}")]
    InvalidRegistryUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl AvroError {
    /// Whether the error comes from the environment rather than from the value: the registry is
    /// unreachable or answered a server error. A consumer should retry such a record later
    /// rather than dead-letter it; every other error is the record's own and retrying cannot
    /// help.
    pub fn is_retryable(&self) -> bool {
        match self {
            AvroError::RegistryUnreachable { .. } => true,
            AvroError::RegistryStatus { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// At most this many leading bytes are shown in error messages.
const SHOWN_BYTES: usize = 16;

/// The first bytes of `bytes` as space-separated hex (`c3 01 8a ...`), for error messages.
pub(crate) fn first_bytes_hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "no bytes".to_owned();
    }
    let shown = &bytes[..bytes.len().min(SHOWN_BYTES)];
    let mut out = shown
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    if bytes.len() > SHOWN_BYTES {
        out.push_str(" ...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_are_shown_in_hex_and_cut() {
        assert_eq!(first_bytes_hex(&[]), "no bytes");
        assert_eq!(first_bytes_hex(&[0x7b, 0x22]), "7b 22");
        let long = [0xab_u8; 20];
        assert!(first_bytes_hex(&long).ends_with("ab ..."));
        assert_eq!(first_bytes_hex(&long).matches("ab").count(), 16);
    }

    #[test]
    fn only_environment_errors_are_retryable() {
        let unreachable = AvroError::RegistryUnreachable {
            url: "http://r".into(),
            reason: "refused".into(),
        };
        assert!(unreachable.is_retryable());
        let server = AvroError::RegistryStatus {
            url: "http://r".into(),
            status: 503,
            body: String::new(),
        };
        assert!(server.is_retryable());
        let not_found = AvroError::RegistryStatus {
            url: "http://r".into(),
            status: 404,
            body: String::new(),
        };
        assert!(!not_found.is_retryable());
        let magic = AvroError::UnknownMagic {
            first_bytes: "7b".into(),
        };
        assert!(!magic.is_retryable());
    }
}
