//! The two standard framings of an Avro value in a Kafka record:
//!
//! ```text
//! single-object:  C3 01 | fingerprint: 8 bytes, little-endian CRC-64-AVRO | datum
//! Confluent:      00    | schema id: 4 bytes, big-endian                  | datum
//! ```

use crate::error::{first_bytes_hex, AvroError};
use crate::fingerprint::Fingerprint;
use std::fmt;

/// The two bytes that start a single-object encoded value.
pub const SINGLE_OBJECT_MAGIC: [u8; 2] = [0xC3, 0x01];
/// Length of a single-object header (magic + fingerprint).
pub const SINGLE_OBJECT_HEADER_LEN: usize = 10;
/// The byte that starts a value in the Confluent wire format.
pub const CONFLUENT_MAGIC: u8 = 0x00;
/// Length of a Confluent header (magic + schema id).
pub const CONFLUENT_HEADER_LEN: usize = 5;

/// How a value is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    /// Avro single-object encoding: `C3 01` + 8-byte fingerprint + datum.
    SingleObject,
    /// Confluent wire format: `00` + 4-byte big-endian schema id + datum.
    Confluent,
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Framing::SingleObject => "Avro single-object encoding",
            Framing::Confluent => "Confluent wire format",
        })
    }
}

/// The header of a framed value: what identifies its writer schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Header {
    /// Single-object encoding, with the writer schema's fingerprint.
    SingleObject(Fingerprint),
    /// Confluent wire format, with the writer schema's registry id.
    Confluent(u32),
}

impl Header {
    /// Splits a framed value into its header and its datum.
    pub fn parse(bytes: &[u8]) -> Result<(Header, &[u8]), AvroError> {
        let truncated = || AvroError::Truncated {
            len: bytes.len(),
            first_bytes: first_bytes_hex(bytes),
        };
        match bytes {
            [] => Err(truncated()),
            [0xC3, 0x01, ..] => {
                let fp: [u8; 8] = bytes
                    .get(2..SINGLE_OBJECT_HEADER_LEN)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(truncated)?;
                Ok((
                    Header::SingleObject(Fingerprint::from_le_bytes(fp)),
                    &bytes[SINGLE_OBJECT_HEADER_LEN..],
                ))
            }
            [CONFLUENT_MAGIC, ..] => {
                let id: [u8; 4] = bytes
                    .get(1..CONFLUENT_HEADER_LEN)
                    .and_then(|s| s.try_into().ok())
                    .ok_or_else(truncated)?;
                Ok((
                    Header::Confluent(u32::from_be_bytes(id)),
                    &bytes[CONFLUENT_HEADER_LEN..],
                ))
            }
            _ => Err(AvroError::UnknownMagic {
                first_bytes: first_bytes_hex(bytes),
            }),
        }
    }

    /// The header's framing.
    pub fn framing(&self) -> Framing {
        match self {
            Header::SingleObject(_) => Framing::SingleObject,
            Header::Confluent(_) => Framing::Confluent,
        }
    }

    /// Appends the header's bytes to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Header::SingleObject(fp) => {
                out.extend_from_slice(&SINGLE_OBJECT_MAGIC);
                out.extend_from_slice(&fp.to_le_bytes());
            }
            Header::Confluent(id) => {
                out.push(CONFLUENT_MAGIC);
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
    }

    /// Length of the header in bytes.
    pub fn len(&self) -> usize {
        match self {
            Header::SingleObject(_) => SINGLE_OBJECT_HEADER_LEN,
            Header::Confluent(_) => CONFLUENT_HEADER_LEN,
        }
    }

    /// Always false: a header is never empty (present for clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Header::SingleObject(fp) => write!(f, "single-object, fingerprint {fp}"),
            Header::Confluent(id) => write!(f, "Confluent, schema id {id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        for header in [
            Header::SingleObject(Fingerprint(0x63dd_24e7_cc25_8f8a)),
            Header::Confluent(0),
            Header::Confluent(0x0102_0304),
        ] {
            let mut bytes = Vec::new();
            header.write_to(&mut bytes);
            assert_eq!(bytes.len(), header.len());
            bytes.extend_from_slice(b"datum");
            let (parsed, datum) = Header::parse(&bytes).expect("valid header");
            assert_eq!(parsed, header);
            assert_eq!(datum, b"datum");
        }
    }

    #[test]
    fn byte_layouts_are_the_standard_ones() {
        let mut so = Vec::new();
        Header::SingleObject(Fingerprint(0x63dd_24e7_cc25_8f8a)).write_to(&mut so);
        assert_eq!(
            so,
            [0xc3, 0x01, 0x8a, 0x8f, 0x25, 0xcc, 0xe7, 0x24, 0xdd, 0x63]
        );
        let mut cf = Vec::new();
        Header::Confluent(258).write_to(&mut cf);
        assert_eq!(cf, [0x00, 0x00, 0x00, 0x01, 0x02]);
    }

    #[test]
    fn bad_headers_are_explained() {
        let err = Header::parse(b"{\"event_id\":1}").expect_err("JSON is not Avro");
        assert_eq!(
            err.to_string(),
            "unknown magic bytes: value starts with 7b 22 65 76 65 6e 74 5f 69 64 22 3a 31 7d; \
             expected C3 01 (Avro single-object encoding) or 00 (Confluent wire format)"
        );
        assert!(matches!(
            Header::parse(&[0xc3, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(AvroError::UnknownMagic { .. })
        ));
        let err = Header::parse(&[0xc3, 0x01, 0x8a]).expect_err("short");
        assert!(err.to_string().contains("3 bytes (c3 01 8a)"), "{err}");
        assert!(matches!(
            Header::parse(&[0x00, 0x00]),
            Err(AvroError::Truncated { len: 2, .. })
        ));
        assert!(matches!(
            Header::parse(&[]),
            Err(AvroError::Truncated { len: 0, .. })
        ));
    }
}
