//! Parsing Canonical Form and the CRC-64-AVRO (Rabin) fingerprint of a schema, as the Avro
//! specification defines them ("Parsing Canonical Form for Schemas", "Schema Fingerprints").
//!
//! Implemented here rather than taken from `apache-avro`: its 0.22 canonical form keeps
//! `{"type":"long"}` for a `long` with a logical type where the specification (and the Java and
//! Python implementations) reduce it to `"long"`. The single-object fingerprints of our schemas
//! (which use `timestamp-millis`) must match what other languages compute, so that a Java or
//! Python reader finds the writer schema.

use serde_json::Value as Json;
use std::collections::HashSet;
use std::fmt;

/// The CRC-64-AVRO fingerprint of a schema's Parsing Canonical Form.
///
/// On the wire (single-object encoding) it is written as 8 little-endian bytes; it is displayed
/// as the 64-bit number in hex (`0x63dd24e7cc258f8a` for the schema `"null"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub u64);

impl Fingerprint {
    /// The fingerprint of a canonical form.
    pub fn of_canonical_form(canonical: &str) -> Self {
        Fingerprint(rabin(canonical.as_bytes()))
    }

    /// The fingerprint of a schema given as JSON text.
    pub fn of_schema_json(json: &str) -> Result<Self, String> {
        Ok(Self::of_canonical_form(&canonical_form_of_str(json)?))
    }

    /// The 8 bytes written in a single-object header (little-endian).
    pub fn to_le_bytes(self) -> [u8; 8] {
        self.0.to_le_bytes()
    }

    /// The fingerprint read from a single-object header's 8 bytes.
    pub fn from_le_bytes(bytes: [u8; 8]) -> Self {
        Fingerprint(u64::from_le_bytes(bytes))
    }

    /// The fingerprint as the signed number that Java's `SchemaNormalization.parsingFingerprint64`
    /// returns and the specification's test vectors list.
    pub fn as_i64(self) -> i64 {
        i64::from_le_bytes(self.0.to_le_bytes())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:016x}", self.0)
    }
}

/// The fingerprint of the empty string, and the polynomial's seed.
const EMPTY: u64 = 0xc15d_213a_a4d7_a795;

/// The byte-wise lookup table of the CRC-64-AVRO polynomial.
const TABLE: [u64; 256] = {
    let mut table = [0_u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut fp = i as u64;
        let mut j = 0;
        while j < 8 {
            fp = (fp >> 1) ^ (EMPTY & (0_u64.wrapping_sub(fp & 1)));
            j += 1;
        }
        table[i] = fp;
        i += 1;
    }
    table
};

/// The CRC-64-AVRO fingerprint of `bytes`.
pub fn rabin(bytes: &[u8]) -> u64 {
    let mut fp = EMPTY;
    for &b in bytes {
        fp = (fp >> 8) ^ TABLE[((fp ^ u64::from(b)) & 0xff) as usize];
    }
    fp
}

const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

/// The Parsing Canonical Form of a schema given as JSON text.
pub fn canonical_form_of_str(json: &str) -> Result<String, String> {
    let value: Json =
        serde_json::from_str(json).map_err(|e| format!("schema is not valid JSON: {e}"))?;
    canonical_form(&value)
}

/// The Parsing Canonical Form of a schema given as parsed JSON.
pub fn canonical_form(schema: &Json) -> Result<String, String> {
    let mut out = String::new();
    let mut defined = HashSet::new();
    write_pcf(schema, None, &mut defined, &mut out)?;
    Ok(out)
}

fn quoted(s: &str, out: &mut String) {
    // serde_json escapes only what JSON requires and leaves UTF-8 as is ([STRINGS] rule).
    out.push_str(&Json::String(s.to_owned()).to_string());
}

/// The full name of `name` in the enclosing namespace `ns` ([FULLNAMES] rule).
fn full_name(name: &str, ns: Option<&str>) -> String {
    match ns {
        Some(ns) if !ns.is_empty() && !name.contains('.') => format!("{ns}.{name}"),
        _ => name.to_owned(),
    }
}

/// The namespace part of a full name.
fn namespace_of(full: &str) -> Option<&str> {
    full.rfind('.').map(|i| &full[..i])
}

fn write_pcf(
    schema: &Json,
    ns: Option<&str>,
    defined: &mut HashSet<String>,
    out: &mut String,
) -> Result<(), String> {
    match schema {
        Json::String(s) if PRIMITIVES.contains(&s.as_str()) => quoted(s, out),
        // A reference to a named type.
        Json::String(s) => quoted(&full_name(s, ns), out),
        Json::Array(branches) => {
            out.push('[');
            for (i, branch) in branches.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_pcf(branch, ns, defined, out)?;
            }
            out.push(']');
        }
        Json::Object(map) => {
            let ty = match map.get("type") {
                Some(Json::String(ty)) => ty.as_str(),
                Some(other) => return write_pcf(other, ns, defined, out),
                None => return Err(format!("schema object without a type: {schema}")),
            };
            if PRIMITIVES.contains(&ty) {
                // [PRIMITIVES] and [STRIP]: {"type":"long","logicalType":..} is "long".
                quoted(ty, out);
                return Ok(());
            }
            match ty {
                "record" | "error" | "enum" | "fixed" => {
                    let name = map
                        .get("name")
                        .and_then(Json::as_str)
                        .ok_or_else(|| format!("named type without a name: {schema}"))?;
                    let own_ns = match map.get("namespace") {
                        Some(Json::String(n)) => Some(n.as_str()),
                        _ => ns,
                    };
                    let full = full_name(name, own_ns);
                    if !defined.insert(full.clone()) {
                        quoted(&full, out);
                        return Ok(());
                    }
                    out.push_str("{\"name\":");
                    quoted(&full, out);
                    out.push_str(",\"type\":");
                    quoted(if ty == "error" { "record" } else { ty }, out);
                    match ty {
                        "enum" => {
                            let symbols = map
                                .get("symbols")
                                .and_then(Json::as_array)
                                .ok_or_else(|| format!("enum {full} without symbols"))?;
                            out.push_str(",\"symbols\":[");
                            for (i, symbol) in symbols.iter().enumerate() {
                                if i > 0 {
                                    out.push(',');
                                }
                                let symbol = symbol
                                    .as_str()
                                    .ok_or_else(|| format!("enum {full}: symbol not a string"))?;
                                quoted(symbol, out);
                            }
                            out.push(']');
                        }
                        "fixed" => {
                            let size = match map.get("size") {
                                Some(Json::Number(n)) => n.as_u64(),
                                Some(Json::String(s)) => s.trim().parse::<u64>().ok(),
                                _ => None,
                            }
                            .ok_or_else(|| format!("fixed {full} without a valid size"))?;
                            out.push_str(&format!(",\"size\":{size}"));
                        }
                        _ => {
                            let fields = map
                                .get("fields")
                                .and_then(Json::as_array)
                                .ok_or_else(|| format!("record {full} without fields"))?;
                            let inner_ns = namespace_of(&full);
                            out.push_str(",\"fields\":[");
                            for (i, field) in fields.iter().enumerate() {
                                if i > 0 {
                                    out.push(',');
                                }
                                let field_name =
                                    field.get("name").and_then(Json::as_str).ok_or_else(|| {
                                        format!("record {full}: field without a name")
                                    })?;
                                let field_type = field.get("type").ok_or_else(|| {
                                    format!("record {full}: field {field_name} without a type")
                                })?;
                                out.push_str("{\"name\":");
                                quoted(field_name, out);
                                out.push_str(",\"type\":");
                                write_pcf(field_type, inner_ns, defined, out)?;
                                out.push('}');
                            }
                            out.push(']');
                        }
                    }
                    out.push('}');
                }
                "array" => {
                    let items = map
                        .get("items")
                        .ok_or_else(|| format!("array without items: {schema}"))?;
                    out.push_str("{\"type\":\"array\",\"items\":");
                    write_pcf(items, ns, defined, out)?;
                    out.push('}');
                }
                "map" => {
                    let values = map
                        .get("values")
                        .ok_or_else(|| format!("map without values: {schema}"))?;
                    out.push_str("{\"type\":\"map\",\"values\":");
                    write_pcf(values, ns, defined, out)?;
                    out.push('}');
                }
                // A reference written as {"type": "Name"}.
                other => quoted(&full_name(other, ns), out),
            }
        }
        other => return Err(format!("not a schema: {other}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (input, canonical form, fingerprint) from the Avro specification's test data
    /// (`share/test/data/schema-tests.txt`), whose fingerprints Java cross-checks.
    const SPEC_VECTORS: &[(&str, &str, Option<i64>)] = &[
        (r#""null""#, r#""null""#, Some(7195948357588979594)),
        (r#"{"type":"null"}"#, r#""null""#, None),
        (r#""boolean""#, r#""boolean""#, Some(-6970731678124411036)),
        (r#""int""#, r#""int""#, Some(8247732601305521295)),
        (r#""long""#, r#""long""#, Some(-3434872931120570953)),
        (r#"{"type":"long"}"#, r#""long""#, None),
        (r#""float""#, r#""float""#, Some(5583340709985441680)),
        (r#""double""#, r#""double""#, Some(-8181574048448539266)),
        (r#""bytes""#, r#""bytes""#, Some(5746618253357095269)),
        (r#""string""#, r#""string""#, Some(-8142146995180207161)),
        (r#"[  ]"#, r#"[]"#, Some(-1241056759729112623)),
        (r#"[ "int"  ]"#, r#"["int"]"#, Some(-5232228896498058493)),
        (
            r#"[ "int" , {"type":"boolean"} ]"#,
            r#"["int","boolean"]"#,
            Some(5392556393470105090),
        ),
        (
            r#"{"fields":[], "type":"record", "name":"foo"}"#,
            r#"{"name":"foo","type":"record","fields":[]}"#,
            Some(-4824392279771201922),
        ),
        (
            r#"{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}"#,
            r#"{"name":"x.y.foo","type":"record","fields":[]}"#,
            Some(5916914534497305771),
        ),
        (
            r#"{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}"#,
            r#"{"name":"a.b.foo","type":"record","fields":[]}"#,
            Some(-4616218487480524110),
        ),
        (
            r#"{"fields":[], "type":"record", "name":"foo", "doc":"foo", "aliases":["foo","bar"]}"#,
            r#"{"name":"foo","type":"record","fields":[]}"#,
            Some(-4824392279771201922),
        ),
        (
            r#"{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"}"#,
            r#"{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}"#,
            Some(7843277075252814651),
        ),
        (
            r#"{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":"true"},
                {"order":"descending","name":"f2","doc":"Hello","type":"int"}],
                "type":"record", "name":"foo"}"#,
            r#"{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}"#,
            Some(-4860222112080293046),
        ),
        (
            r#"{"type":"enum", "name":"foo", "symbols":["A1"]}"#,
            r#"{"name":"foo","type":"enum","symbols":["A1"]}"#,
            Some(-6342190197741309591),
        ),
        (
            r#"{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}"#,
            r#"{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}"#,
            Some(-4448647247586288245),
        ),
        (
            r#"{"name":"foo","type":"fixed","size":15}"#,
            r#"{"name":"foo","type":"fixed","size":15}"#,
            Some(1756455273707447556),
        ),
        (
            r#"{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}"#,
            r#"{"name":"x.y.z.foo","type":"fixed","size":32}"#,
            Some(-3064184465700546786),
        ),
        (
            r#"{ "items":{"type":"null"}, "type":"array"}"#,
            r#"{"type":"array","items":"null"}"#,
            Some(-589620603366471059),
        ),
        (
            r#"{ "values":"string", "type":"map"}"#,
            r#"{"type":"map","values":"string"}"#,
            Some(-8732877298790414990),
        ),
        (
            r#"{"name":"PigValue","type":"record",
                "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}"#,
            r#"{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}"#,
            Some(-1759257747318642341),
        ),
    ];

    #[test]
    fn null_schema_has_the_spec_fingerprint() {
        let fp = Fingerprint::of_schema_json(r#""null""#).expect("valid");
        assert_eq!(fp.0, 0x63dd_24e7_cc25_8f8a);
        assert_eq!(fp.as_i64(), 7195948357588979594);
        assert_eq!(fp.to_string(), "0x63dd24e7cc258f8a");
        assert_eq!(
            fp.to_le_bytes(),
            [0x8a, 0x8f, 0x25, 0xcc, 0xe7, 0x24, 0xdd, 0x63]
        );
        assert_eq!(Fingerprint::from_le_bytes(fp.to_le_bytes()), fp);
    }

    #[test]
    fn canonical_forms_and_fingerprints_match_the_spec_vectors() {
        for (input, canonical, fingerprint) in SPEC_VECTORS {
            let got = canonical_form_of_str(input).expect("valid schema");
            assert_eq!(&got, canonical, "canonical form of {input}");
            if let Some(fp) = fingerprint {
                assert_eq!(
                    Fingerprint::of_canonical_form(&got).as_i64(),
                    *fp,
                    "fingerprint of {input}"
                );
            }
        }
    }

    #[test]
    fn logical_types_reduce_to_their_primitive() {
        let got = canonical_form_of_str(
            r#"{"type":"record","name":"T","namespace":"n","fields":[
                {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"x"},
                {"name":"o","type":["null",{"type":"enum","name":"E","symbols":["a"]}],"default":null},
                {"name":"p","type":"E"},
                {"name":"q","type":{"type":"map","values":{"type":"array","items":"n.E"}}}]}"#,
        )
        .expect("valid");
        assert_eq!(
            got,
            r#"{"name":"n.T","type":"record","fields":[{"name":"at","type":"long"},{"name":"o","type":["null",{"name":"n.E","type":"enum","symbols":["a"]}]},{"name":"p","type":"n.E"},{"name":"q","type":{"type":"map","values":{"type":"array","items":"n.E"}}}]}"#
        );
    }

    #[test]
    fn invalid_schemas_are_reported() {
        assert!(canonical_form_of_str("{").is_err());
        assert!(canonical_form_of_str(r#"{"type":"record","name":"x"}"#).is_err());
        assert!(canonical_form_of_str("42").is_err());
    }
}
