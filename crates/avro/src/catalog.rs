//! The schemas of the topic values: the current schema of each type (`schemas/avro/<Name>.avsc`)
//! and every published version (`schemas/avro/history/<Name>/v<N>.avsc`), embedded at compile
//! time, parsed once per process and indexed by fingerprint.

use crate::error::AvroError;
use crate::fingerprint::{canonical_form_of_str, Fingerprint};
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use cityops_core::{
    CityEvent, CommandOutcome, DepartmentUpdate, Incident, OrderCommand, Reading, WorkOrder,
    WorkOrderEvent,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

/// Namespace of every cityops schema.
pub const NAMESPACE: &str = "city.cityops";

/// The types that travel as topic values, one schema each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueKind {
    /// `city.events.v1`.
    CityEvent,
    /// `city.incidents.v1` (embeds the `CityEvent`).
    Incident,
    /// `city.dept.<dept>.orders.v1` (snapshots).
    WorkOrder,
    /// `city.workorders.events.v1` (embeds the `WorkOrder`).
    WorkOrderEvent,
    /// `city.dept.<dept>.updates.v1`.
    DepartmentUpdate,
    /// `city.telemetry.v1`.
    Reading,
    /// `city.dispatch.commands.v1`.
    OrderCommand,
    /// `city.dispatch.outcomes.v1` (embeds the `WorkOrder`).
    CommandOutcome,
}

impl ValueKind {
    /// Every kind, in declaration order.
    pub const ALL: [ValueKind; 8] = [
        ValueKind::CityEvent,
        ValueKind::Incident,
        ValueKind::WorkOrder,
        ValueKind::WorkOrderEvent,
        ValueKind::DepartmentUpdate,
        ValueKind::Reading,
        ValueKind::OrderCommand,
        ValueKind::CommandOutcome,
    ];

    /// The record's name, which is also the schema file's name (`schemas/avro/<name>.avsc`).
    pub fn name(self) -> &'static str {
        match self {
            ValueKind::CityEvent => "CityEvent",
            ValueKind::Incident => "Incident",
            ValueKind::WorkOrder => "WorkOrder",
            ValueKind::WorkOrderEvent => "WorkOrderEvent",
            ValueKind::DepartmentUpdate => "DepartmentUpdate",
            ValueKind::Reading => "Reading",
            ValueKind::OrderCommand => "OrderCommand",
            ValueKind::CommandOutcome => "CommandOutcome",
        }
    }

    /// The record's full name (`city.cityops.<name>`).
    pub fn full_name(self) -> String {
        format!("{NAMESPACE}.{}", self.name())
    }

    /// The kind of the values of one of the standard topics (`city.events.v1`,
    /// `city.dept.<dept>.orders.v1`, ...); `None` for raw, DLQ and unknown topics.
    pub fn for_topic(topic: &str) -> Option<ValueKind> {
        match topic {
            "city.events.v1" => return Some(ValueKind::CityEvent),
            "city.incidents.v1" => return Some(ValueKind::Incident),
            "city.workorders.events.v1" => return Some(ValueKind::WorkOrderEvent),
            "city.telemetry.v1" => return Some(ValueKind::Reading),
            "city.dispatch.commands.v1" => return Some(ValueKind::OrderCommand),
            "city.dispatch.outcomes.v1" => return Some(ValueKind::CommandOutcome),
            _ => {}
        }
        let dept_topic = topic.strip_prefix("city.dept.")?;
        if let Some(dept) = dept_topic.strip_suffix(".orders.v1") {
            (!dept.is_empty()).then_some(ValueKind::WorkOrder)
        } else if let Some(dept) = dept_topic.strip_suffix(".updates.v1") {
            (!dept.is_empty()).then_some(ValueKind::DepartmentUpdate)
        } else {
            None
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The current schema's JSON text.
    fn current_json(self) -> &'static str {
        match self {
            ValueKind::CityEvent => include_str!("../../../schemas/avro/CityEvent.avsc"),
            ValueKind::Incident => include_str!("../../../schemas/avro/Incident.avsc"),
            ValueKind::WorkOrder => include_str!("../../../schemas/avro/WorkOrder.avsc"),
            ValueKind::WorkOrderEvent => {
                include_str!("../../../schemas/avro/WorkOrderEvent.avsc")
            }
            ValueKind::DepartmentUpdate => {
                include_str!("../../../schemas/avro/DepartmentUpdate.avsc")
            }
            ValueKind::Reading => include_str!("../../../schemas/avro/Reading.avsc"),
            ValueKind::OrderCommand => include_str!("../../../schemas/avro/OrderCommand.avsc"),
            ValueKind::CommandOutcome => {
                include_str!("../../../schemas/avro/CommandOutcome.avsc")
            }
        }
    }
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every published schema version: `(kind, version, JSON)`. Adding a version means adding its
/// file under `schemas/avro/history/<Name>/` and a line here (a test fails when a file is
/// missing from this list).
pub(crate) const HISTORY: &[(ValueKind, u32, &str)] = &[
    (
        ValueKind::CityEvent,
        1,
        include_str!("../../../schemas/avro/history/CityEvent/v1.avsc"),
    ),
    (
        ValueKind::Incident,
        1,
        include_str!("../../../schemas/avro/history/Incident/v1.avsc"),
    ),
    (
        ValueKind::WorkOrder,
        1,
        include_str!("../../../schemas/avro/history/WorkOrder/v1.avsc"),
    ),
    (
        ValueKind::WorkOrderEvent,
        1,
        include_str!("../../../schemas/avro/history/WorkOrderEvent/v1.avsc"),
    ),
    (
        ValueKind::WorkOrderEvent,
        2,
        include_str!("../../../schemas/avro/history/WorkOrderEvent/v2.avsc"),
    ),
    (
        ValueKind::DepartmentUpdate,
        1,
        include_str!("../../../schemas/avro/history/DepartmentUpdate/v1.avsc"),
    ),
    (
        ValueKind::Reading,
        1,
        include_str!("../../../schemas/avro/history/Reading/v1.avsc"),
    ),
    (
        ValueKind::OrderCommand,
        1,
        include_str!("../../../schemas/avro/history/OrderCommand/v1.avsc"),
    ),
    (
        ValueKind::CommandOutcome,
        1,
        include_str!("../../../schemas/avro/history/CommandOutcome/v1.avsc"),
    ),
];

/// A Rust type that travels as a topic value, with its Avro schema.
///
/// Implemented for the six value types of `cityops-core`; the schema file is the single source
/// of the type's wire shape (the crate's tests check that the two agree).
pub trait TopicValue: Serialize + DeserializeOwned {
    /// Which schema describes this type.
    const KIND: ValueKind;

    /// The type's schemas, parsed once per process.
    fn value_schema() -> &'static ValueSchema {
        value_schema(Self::KIND)
    }
}

impl TopicValue for CityEvent {
    const KIND: ValueKind = ValueKind::CityEvent;
}
impl TopicValue for Incident {
    const KIND: ValueKind = ValueKind::Incident;
}
impl TopicValue for WorkOrder {
    const KIND: ValueKind = ValueKind::WorkOrder;
}
impl TopicValue for WorkOrderEvent {
    const KIND: ValueKind = ValueKind::WorkOrderEvent;
}
impl TopicValue for DepartmentUpdate {
    const KIND: ValueKind = ValueKind::DepartmentUpdate;
}
impl TopicValue for Reading {
    const KIND: ValueKind = ValueKind::Reading;
}
impl TopicValue for OrderCommand {
    const KIND: ValueKind = ValueKind::OrderCommand;
}
impl TopicValue for CommandOutcome {
    const KIND: ValueKind = ValueKind::CommandOutcome;
}

/// One published version of a schema (`schemas/avro/history/<Name>/v<N>.avsc`).
pub struct SchemaVersion {
    version: u32,
    json: &'static str,
    schema: &'static Schema,
    fingerprint: Fingerprint,
    /// Reads data written with this version into the current schema.
    resolver: GenericDatumReader<'static>,
}

impl SchemaVersion {
    /// The version number (`N` of `vN.avsc`).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The schema's JSON text as published.
    pub fn json(&self) -> &'static str {
        self.json
    }

    /// The parsed schema.
    pub fn schema(&self) -> &'static Schema {
        self.schema
    }

    /// The schema's CRC-64-AVRO fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
}

impl fmt::Debug for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaVersion")
            .field("version", &self.version)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// The schemas of one value type: the current (reader and writer) schema and its published
/// versions.
pub struct ValueSchema {
    kind: ValueKind,
    full_name: String,
    json: &'static str,
    compact_json: String,
    canonical_form: String,
    schema: &'static Schema,
    fingerprint: Fingerprint,
    history: Vec<SchemaVersion>,
    writer: GenericDatumWriter<'static>,
    reader: GenericDatumReader<'static>,
}

impl fmt::Debug for ValueSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValueSchema")
            .field("full_name", &self.full_name)
            .field("fingerprint", &self.fingerprint)
            .field("history", &self.history)
            .finish_non_exhaustive()
    }
}

impl ValueSchema {
    /// Which type this is the schema of.
    pub fn kind(&self) -> ValueKind {
        self.kind
    }

    /// The record's full name, e.g. `city.cityops.CityEvent`.
    pub fn full_name(&self) -> &str {
        &self.full_name
    }

    /// The current schema's JSON text (`schemas/avro/<Name>.avsc`).
    pub fn json(&self) -> &'static str {
        self.json
    }

    /// The current schema as compact JSON, docs included: what is registered with a schema
    /// registry.
    pub fn compact_json(&self) -> &str {
        &self.compact_json
    }

    /// The current schema's Parsing Canonical Form.
    pub fn canonical_form(&self) -> &str {
        &self.canonical_form
    }

    /// The current schema, parsed.
    pub fn schema(&self) -> &'static Schema {
        self.schema
    }

    /// The current schema's CRC-64-AVRO fingerprint (what single-object values carry).
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The published versions, oldest first.
    pub fn history(&self) -> &[SchemaVersion] {
        &self.history
    }

    /// The published version equal to the current schema (the latest one, unless the current
    /// schema was changed without publishing it).
    pub fn current_version(&self) -> Option<&SchemaVersion> {
        self.history
            .iter()
            .rev()
            .find(|v| v.fingerprint == self.fingerprint)
    }

    /// The schema's name and version for messages: `city.cityops.CityEvent v1`.
    pub(crate) fn label(&self) -> String {
        match self.current_version() {
            Some(v) => format!("{} v{}", self.full_name, v.version),
            None => format!("{} (current, unpublished)", self.full_name),
        }
    }

    /// Appends the Avro binary encoding of `value` (the datum, no header) to `out`.
    pub(crate) fn encode_datum<T: Serialize>(
        &self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), AvroError> {
        self.writer
            .write_ser(out, value)
            .map(|_| ())
            .map_err(|e| AvroError::Encode {
                schema: self.label(),
                reason: e.to_string(),
            })
    }

    /// Decodes a datum written with the current schema (no resolution needed).
    pub(crate) fn decode_current<T: DeserializeOwned>(&self, datum: &[u8]) -> Result<T, AvroError> {
        let mut input = DatumReader::new(datum);
        let value = self
            .reader
            .read_deser::<T>(&mut input)
            .map_err(|e| AvroError::Decode {
                schema: self.label(),
                reason: e.to_string(),
            })?;
        input.finish(|| self.label())?;
        Ok(value)
    }

    /// Decodes a datum written with a published version, resolved into the current schema.
    pub(crate) fn decode_version<T: DeserializeOwned>(
        &self,
        version: &SchemaVersion,
        datum: &[u8],
    ) -> Result<T, AvroError> {
        let label = || format!("{} v{}", self.full_name, version.version);
        let mut input = DatumReader::new(datum);
        let value = version
            .resolver
            .read_value(&mut input)
            .map_err(|e| AvroError::Decode {
                schema: label(),
                reason: e.to_string(),
            })?;
        input.finish(label)?;
        self.deserialize_resolved(value, &label())
    }

    /// Decodes a datum written with a schema that is not in the repository (e.g. fetched from a
    /// registry), resolved into the current schema.
    pub(crate) fn decode_foreign<T: DeserializeOwned>(
        &self,
        writer: &Schema,
        writer_label: &str,
        datum: &[u8],
    ) -> Result<T, AvroError> {
        let reader = GenericDatumReader::builder(writer)
            .reader_schema(self.schema)
            .build()
            .map_err(|e| AvroError::Incompatible {
                writer: writer_label.to_owned(),
                reader: self.label(),
                reason: e.to_string(),
            })?;
        let mut input = DatumReader::new(datum);
        let value = reader
            .read_value(&mut input)
            .map_err(|e| AvroError::Decode {
                schema: writer_label.to_owned(),
                reason: e.to_string(),
            })?;
        input.finish(|| writer_label.to_owned())?;
        self.deserialize_resolved(value, writer_label)
    }

    fn deserialize_resolved<T: DeserializeOwned>(
        &self,
        value: Value,
        label: &str,
    ) -> Result<T, AvroError> {
        apache_avro::from_value::<T>(&value).map_err(|e| AvroError::Decode {
            schema: label.to_owned(),
            reason: format!("resolved value does not fit {}: {e}", self.full_name),
        })
    }
}

/// Reads a datum and checks, once decoded, that it was consumed exactly.
///
/// `apache-avro`'s generic decoder turns an unexpected end of input inside a string, boolean or
/// union into a null instead of an error, which resolution could then accept as `None`: this
/// reader remembers any attempt to read past the end, so a truncated datum is an error on every
/// path.
struct DatumReader<'a> {
    datum: &'a [u8],
    rest: &'a [u8],
    read_past_end: bool,
}

impl<'a> DatumReader<'a> {
    fn new(datum: &'a [u8]) -> Self {
        DatumReader {
            datum,
            rest: datum,
            read_past_end: false,
        }
    }

    /// The datum must have been read whole, and not beyond.
    fn finish(self, label: impl FnOnce() -> String) -> Result<(), AvroError> {
        let reason = if self.read_past_end {
            format!(
                "datum truncated: its {} bytes end before the schema's last field",
                self.datum.len()
            )
        } else if !self.rest.is_empty() {
            format!(
                "{} trailing bytes after the datum's {} bytes",
                self.rest.len(),
                self.datum.len() - self.rest.len()
            )
        } else {
            return Ok(());
        };
        Err(AvroError::Decode {
            schema: label(),
            reason,
        })
    }
}

impl std::io::Read for DatumReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.len() > self.rest.len() {
            self.read_past_end = true;
        }
        self.rest.read(buf)
    }
}

/// Where a fingerprint was found.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Known {
    /// The current schema of a kind.
    Current(&'static ValueSchema),
    /// A published version that differs from the current schema.
    Version(&'static ValueSchema, &'static SchemaVersion),
}

impl Known {
    pub(crate) fn value_schema(self) -> &'static ValueSchema {
        match self {
            Known::Current(s) | Known::Version(s, _) => s,
        }
    }

    pub(crate) fn label(self) -> String {
        match self {
            Known::Current(s) => s.label(),
            Known::Version(s, v) => format!("{} v{}", s.full_name, v.version),
        }
    }
}

/// All the schemas, parsed.
pub(crate) struct Catalog {
    values: Vec<ValueSchema>,
    by_fingerprint: HashMap<Fingerprint, (ValueKind, Option<usize>)>,
}

impl Catalog {
    /// Parses every embedded schema. Fails only if a schema file in the repository is broken,
    /// which the crate's tests rule out.
    pub(crate) fn load() -> Result<Catalog, AvroError> {
        let mut values = Vec::with_capacity(ValueKind::ALL.len());
        let mut by_fingerprint = HashMap::new();
        for kind in ValueKind::ALL {
            let value = load_value(kind)?;
            // Each schema is found by its fingerprint and, as an alias, by the one that the
            // `apache-avro` crate computes (which differs for logical types, see
            // `fingerprint`), so that values written by its single-object writer decode too.
            for (i, version) in value.history.iter().enumerate() {
                if version.fingerprint != value.fingerprint {
                    let alias = apache_avro_fingerprint(version.schema);
                    by_fingerprint.entry(alias).or_insert((kind, Some(i)));
                    by_fingerprint.insert(version.fingerprint, (kind, Some(i)));
                }
            }
            let alias = apache_avro_fingerprint(value.schema);
            by_fingerprint.insert(alias, (kind, None));
            by_fingerprint.insert(value.fingerprint, (kind, None));
            values.push(value);
        }
        Ok(Catalog {
            values,
            by_fingerprint,
        })
    }

    pub(crate) fn get(&self, kind: ValueKind) -> &ValueSchema {
        &self.values[kind.index()]
    }

    pub(crate) fn values(&self) -> &[ValueSchema] {
        &self.values
    }
}

/// The process-wide catalogue of embedded schemas.
pub(crate) fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        Catalog::load().expect("the schemas embedded from schemas/avro are valid (crate tests)")
    })
}

/// The single-object fingerprint that the `apache-avro` crate computes for `schema`.
fn apache_avro_fingerprint(schema: &Schema) -> Fingerprint {
    let bytes = schema.fingerprint::<apache_avro::rabin::Rabin>().bytes;
    let mut le = [0_u8; 8];
    for (dst, src) in le.iter_mut().zip(bytes) {
        *dst = src;
    }
    Fingerprint::from_le_bytes(le)
}

/// Finds the schema (current or published version) with this fingerprint.
pub(crate) fn find_fingerprint(fingerprint: Fingerprint) -> Option<Known> {
    let catalog = catalog();
    let (kind, version) = *catalog.by_fingerprint.get(&fingerprint)?;
    let value = catalog.get(kind);
    Some(match version {
        None => Known::Current(value),
        Some(i) => Known::Version(value, &value.history[i]),
    })
}

/// The schemas of one value type.
pub fn value_schema(kind: ValueKind) -> &'static ValueSchema {
    catalog().get(kind)
}

/// The schemas of every value type, in [`ValueKind::ALL`] order.
pub fn value_schemas() -> &'static [ValueSchema] {
    catalog().values()
}

fn invalid(what: String) -> impl FnOnce(String) -> AvroError {
    move |reason| AvroError::InvalidSchema {
        schema: what,
        reason,
    }
}

fn parse_static(json: &'static str, what: &str) -> Result<&'static Schema, AvroError> {
    let schema = Schema::parse_str(json).map_err(|e| AvroError::InvalidSchema {
        schema: what.to_owned(),
        reason: e.to_string(),
    })?;
    // Parsed once per process and kept for its lifetime, so that readers and writers can borrow
    // it for 'static.
    Ok(Box::leak(Box::new(schema)))
}

fn load_value(kind: ValueKind) -> Result<ValueSchema, AvroError> {
    let what = format!("schemas/avro/{}.avsc", kind.name());
    let json = kind.current_json();
    let schema = parse_static(json, &what)?;
    let full_name = kind.full_name();
    let parsed_name = schema.name().map(|n| n.fullname(None));
    if parsed_name.as_deref() != Some(full_name.as_str()) {
        return Err(AvroError::InvalidSchema {
            schema: what,
            reason: format!("the record must be named {full_name}, found {parsed_name:?}"),
        });
    }
    let canonical_form = canonical_form_of_str(json).map_err(invalid(what.clone()))?;
    let fingerprint = Fingerprint::of_canonical_form(&canonical_form);
    let compact_json = serde_json::from_str::<serde_json::Value>(json)
        .map(|v| v.to_string())
        .map_err(|e| invalid(what.clone())(e.to_string()))?;
    let build_err = |e: apache_avro::Error| AvroError::InvalidSchema {
        schema: what.clone(),
        reason: e.to_string(),
    };
    let writer = GenericDatumWriter::builder(schema)
        .build()
        .map_err(build_err)?;
    let reader = GenericDatumReader::builder(schema)
        .build()
        .map_err(build_err)?;

    let mut history = Vec::new();
    for &(_, version, version_json) in HISTORY.iter().filter(|(k, _, _)| *k == kind) {
        let what = format!("schemas/avro/history/{}/v{version}.avsc", kind.name());
        let version_schema = parse_static(version_json, &what)?;
        let fingerprint =
            Fingerprint::of_schema_json(version_json).map_err(invalid(what.clone()))?;
        let resolver = GenericDatumReader::builder(version_schema)
            .reader_schema(schema)
            .build()
            .map_err(|e| AvroError::InvalidSchema {
                schema: what.clone(),
                reason: e.to_string(),
            })?;
        history.push(SchemaVersion {
            version,
            json: version_json,
            schema: version_schema,
            fingerprint,
            resolver,
        });
    }
    history.sort_by_key(|v| v.version);

    Ok(ValueSchema {
        kind,
        full_name,
        json,
        compact_json,
        canonical_form,
        schema,
        fingerprint,
        history,
        writer,
        reader,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_loads_and_indexes_every_schema() {
        let catalog = Catalog::load().expect("schemas are valid");
        for kind in ValueKind::ALL {
            let value = catalog.get(kind);
            assert_eq!(value.kind(), kind);
            assert_eq!(value.full_name(), format!("city.cityops.{kind}"));
            assert!(
                !value.history().is_empty(),
                "{kind} has no published version"
            );
            let found = find_fingerprint(value.fingerprint()).expect("indexed");
            assert!(matches!(found, Known::Current(v) if v.kind() == kind));
        }
    }

    /// A published version older than the current schema is resolved into it. (Today every
    /// current schema is its v1, so this builds a synthetic older version.)
    #[test]
    fn an_older_version_is_resolved_into_the_current_schema() {
        let current = value_schema(ValueKind::Reading);
        let mut json: serde_json::Value = serde_json::from_str(current.json()).expect("json");
        let fields = json["fields"].as_array_mut().expect("fields");
        fields.retain(|f| f["name"] != "tags" && f["name"] != "grid_code");
        let older_json: &'static str = Box::leak(json.to_string().into_boxed_str());
        let older_schema = parse_static(older_json, "older Reading").expect("valid");
        let older = SchemaVersion {
            version: 0,
            json: older_json,
            schema: older_schema,
            fingerprint: Fingerprint::of_schema_json(older_json).expect("valid"),
            resolver: GenericDatumReader::builder(older_schema)
                .reader_schema(current.schema())
                .build()
                .expect("resolvable"),
        };
        let datum = GenericDatumWriter::builder(older_schema)
            .build()
            .expect("writer")
            .write_value_to_vec(Value::Record(vec![
                ("event_id".into(), Value::String("e".into())),
                ("device_id".into(), Value::String("d".into())),
                ("device_type".into(), Value::String("t".into())),
                ("at_ms".into(), Value::TimestampMillis(42)),
                ("location".into(), Value::Union(0, Box::new(Value::Null))),
                (
                    "metrics".into(),
                    Value::Map([("x".to_owned(), Value::Double(1.5))].into()),
                ),
                (
                    "district_code".into(),
                    Value::Union(0, Box::new(Value::Null)),
                ),
                (
                    "street_code".into(),
                    Value::Union(1, Box::new(Value::String("s".into()))),
                ),
            ]))
            .expect("encodes");
        let reading: Reading = current.decode_version(&older, &datum).expect("decodes");
        assert_eq!(reading.device_id, "d");
        assert_eq!(reading.at_ms, 42);
        assert_eq!(reading.metrics.get("x"), Some(&1.5));
        assert!(reading.tags.is_empty(), "default of the added field");
        assert_eq!(reading.grid_code, None, "default of the added field");
        assert_eq!(reading.street_code.as_deref(), Some("s"));

        let err = current
            .decode_version::<Reading>(&older, &datum[..datum.len() - 1])
            .expect_err("truncated");
        assert!(
            err.to_string()
                .starts_with("datum does not match schema city.cityops.Reading v0: "),
            "{err}"
        );
    }

    #[test]
    fn standard_topics_map_to_their_value_kind() {
        let cases = [
            ("city.events.v1", Some(ValueKind::CityEvent)),
            ("city.incidents.v1", Some(ValueKind::Incident)),
            ("city.workorders.events.v1", Some(ValueKind::WorkOrderEvent)),
            ("city.telemetry.v1", Some(ValueKind::Reading)),
            (
                "city.dept.fire_rescue.orders.v1",
                Some(ValueKind::WorkOrder),
            ),
            (
                "city.dept.tiexi_xinghua.updates.v1",
                Some(ValueKind::DepartmentUpdate),
            ),
            ("city.dept..orders.v1", None),
            ("city.raw.iot.v1", None),
            ("city.dlq.v1", None),
        ];
        for (topic, kind) in cases {
            assert_eq!(ValueKind::for_topic(topic), kind, "{topic}");
        }
    }
}
