//! The schemas in `schemas/avro/` against the Rust types, against each other and against their
//! published history; and the fixtures written with each published version.
//!
//! Fixtures (`schemas/avro/fixtures/<Name>.v<N>.bin`) are written only on request, and only
//! when missing:
//!
//! ```sh
//! CITYOPS_WRITE_FIXTURES=1 cargo test -p cityops-avro --test schemas
//! ```
#![allow(clippy::unwrap_used)]

mod common;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};
use apache_avro::types::Value;
use cityops_avro::{
    embedded_history, value_schema, value_schemas, Codec, Header, TopicValue, ValueKind,
};
use cityops_core::*;
use common::*;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::path::PathBuf;

fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/avro")
}

fn topic_of(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::CityEvent => "city.events.v1",
        ValueKind::Incident => "city.incidents.v1",
        ValueKind::WorkOrder => "city.dept.fire_rescue.orders.v1",
        ValueKind::WorkOrderEvent => "city.workorders.events.v1",
        ValueKind::DepartmentUpdate => "city.dept.fire_rescue.updates.v1",
        ValueKind::Reading => "city.telemetry.v1",
        ValueKind::OrderCommand => "city.dispatch.commands.v1",
        ValueKind::CommandOutcome => "city.dispatch.outcomes.v1",
    }
}

/// Encodes and decodes `value` through its schema, by the codec (schema-aware serde, no
/// resolution) and by the generic path (Avro values with resolution, what older data takes).
fn round_trip<T: TopicValue + PartialEq + Debug>(value: &T) {
    let kind = T::KIND;
    assert_eq!(ValueKind::for_topic(topic_of(kind)), Some(kind));
    let codec = Codec::single_object();
    let bytes = codec.encode_cached(topic_of(kind), value).unwrap();
    let back: T = codec.decode_cached(&bytes).unwrap();
    assert_eq!(&back, value, "{kind} through the codec");

    let schema = T::value_schema().schema();
    let mut datum = &bytes[10..];
    let resolved = GenericDatumReader::builder(schema)
        .reader_schema(schema)
        .build()
        .unwrap()
        .read_value(&mut datum)
        .unwrap();
    assert!(datum.is_empty());
    let back: T = apache_avro::from_value(&resolved).unwrap();
    assert_eq!(&back, value, "{kind} through resolution");
}

#[test]
fn every_type_round_trips_fully_populated_and_with_nothing_optional() {
    round_trip(&city_event_full());
    round_trip(&city_event_min());
    round_trip(&incident_full());
    round_trip(&incident_min());
    round_trip(&work_order_full());
    round_trip(&work_order_min());
    round_trip(&work_order_event_full());
    round_trip(&work_order_event_min());
    round_trip(&department_update_full());
    round_trip(&department_update_min());
    round_trip(&reading_full());
    round_trip(&reading_min());
    round_trip(&order_command_full());
    round_trip(&order_command_min());
    round_trip(&command_outcome_full());
    round_trip(&command_outcome_min());
}

/// The datum of `value`, decoded into a generic Avro record.
fn generic<T: TopicValue>(value: &T) -> Vec<(String, Value)> {
    let bytes = Codec::single_object().encode_cached("t", value).unwrap();
    let mut datum = &bytes[10..];
    let decoded = GenericDatumReader::builder(T::value_schema().schema())
        .build()
        .unwrap()
        .read_value(&mut datum)
        .unwrap();
    match decoded {
        Value::Record(fields) => fields,
        other => panic!("not a record: {other:?}"),
    }
}

fn field<'a>(record: &'a [(String, Value)], name: &str) -> &'a Value {
    &record.iter().find(|(n, _)| n == name).unwrap().1
}

fn symbol(value: &Value) -> &str {
    match value {
        Value::Enum(_, s) => s,
        Value::Union(_, inner) => symbol(inner),
        other => panic!("not an enum: {other:?}"),
    }
}

/// The symbols of the enum `name` in a schema file.
fn symbols(kind: ValueKind, name: &str) -> Vec<String> {
    let types = named_types(kind);
    let def = &types[&format!("city.cityops.{name}")];
    def["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn names<T: serde::Serialize>(all: &[T]) -> Vec<String> {
    all.iter().map(serde_name).collect()
}

#[test]
fn enum_symbols_are_the_rust_variants_in_order_and_travel_by_name() {
    assert_eq!(
        symbols(ValueKind::CityEvent, "Source"),
        names(&all_sources())
    );
    assert_eq!(
        symbols(ValueKind::Incident, "Severity"),
        names(&all_severities())
    );
    assert_eq!(
        symbols(ValueKind::Incident, "ClassifiedBy"),
        names(&all_classified_by())
    );
    assert_eq!(
        symbols(ValueKind::Incident, "LocationPrecision"),
        names(&all_location_precisions())
    );
    assert_eq!(
        symbols(ValueKind::WorkOrder, "OrderStatus"),
        names(&all_order_statuses())
    );
    assert_eq!(
        symbols(ValueKind::WorkOrderEvent, "DeadlineKind"),
        names(&all_deadline_kinds())
    );
    assert_eq!(
        symbols(ValueKind::WorkOrder, "WarningLevel"),
        names(&all_warning_levels())
    );
    assert_eq!(
        symbols(ValueKind::WorkOrderEvent, "TransitionKind"),
        names(&all_transition_kinds())
    );
    assert_eq!(
        symbols(ValueKind::DepartmentUpdate, "UpdateAction"),
        names(&all_update_actions())
    );
    assert_eq!(
        symbols(ValueKind::OrderCommand, "CommandAction"),
        names(&all_command_actions())
    );
    assert_eq!(
        symbols(ValueKind::OrderCommand, "CommandChannel"),
        names(&all_command_channels())
    );
    assert_eq!(
        symbols(ValueKind::CommandOutcome, "OrderStatus"),
        names(&all_order_statuses())
    );
    for (i, action) in all_command_actions().into_iter().enumerate() {
        let channel = all_command_channels()[i % 2];
        let value = OrderCommand {
            action,
            channel,
            ..order_command_full()
        };
        round_trip(&value);
        let record = generic(&value);
        assert_eq!(symbol(field(&record, "action")), serde_name(&action));
        assert_eq!(symbol(field(&record, "channel")), serde_name(&channel));
    }

    // Every variant round-trips and is written as the symbol of its serde name.
    for source in all_sources() {
        let value = CityEvent {
            source,
            ..city_event_full()
        };
        round_trip(&value);
        assert_eq!(
            symbol(field(&generic(&value), "source")),
            serde_name(&source)
        );
    }
    for (i, severity) in all_severities().into_iter().enumerate() {
        let precision = all_location_precisions()[i % 4];
        let method = all_classified_by()[i % 4];
        let mut value = Incident {
            severity,
            location_precision: precision,
            ..incident_full()
        };
        value.classification.method = method;
        round_trip(&value);
        let record = generic(&value);
        assert_eq!(symbol(field(&record, "severity")), serde_name(&severity));
        assert_eq!(
            symbol(field(&record, "location_precision")),
            serde_name(&precision)
        );
    }
    for status in all_order_statuses() {
        let value = WorkOrderEvent {
            status_before: Some(status),
            status_after: status,
            order: WorkOrder {
                status,
                ..work_order_full()
            },
            ..work_order_event_full()
        };
        round_trip(&value);
        let record = generic(&value);
        assert_eq!(symbol(field(&record, "status_before")), serde_name(&status));
        assert_eq!(symbol(field(&record, "status_after")), serde_name(&status));
    }
    for kind in all_transition_kinds() {
        let value = WorkOrderEvent {
            kind,
            ..work_order_event_full()
        };
        round_trip(&value);
        assert_eq!(symbol(field(&generic(&value), "kind")), serde_name(&kind));
    }
    for deadline in all_deadline_kinds() {
        for warning in all_warning_levels() {
            let value = WorkOrderEvent {
                deadline: Some(deadline),
                warning: Some(warning),
                order: WorkOrder {
                    accept_warning: Some(warning),
                    resolve_warning: Some(warning),
                    ..work_order_full()
                },
                ..work_order_event_full()
            };
            round_trip(&value);
            let record = generic(&value);
            assert_eq!(symbol(field(&record, "deadline")), serde_name(&deadline));
            assert_eq!(symbol(field(&record, "warning")), serde_name(&warning));
        }
    }
    for action in all_update_actions() {
        let value = DepartmentUpdate {
            action,
            ..department_update_full()
        };
        round_trip(&value);
        assert_eq!(
            symbol(field(&generic(&value), "action")),
            serde_name(&action)
        );
    }
}

// ---- schema JSON helpers -------------------------------------------------------------------

fn file_json(kind: ValueKind) -> Json {
    serde_json::from_str(value_schema(kind).json()).unwrap()
}

fn full_name(name: &str, ns: &str) -> String {
    if name.contains('.') {
        name.to_owned()
    } else {
        format!("{ns}.{name}")
    }
}

/// `schema` with every reference to a named type replaced by its definition, every name fully
/// qualified, and (when `strip_docs`) docs removed; named definitions are collected in `types`.
fn expand(schema: &Json, ns: &str, types: &mut BTreeMap<String, Json>, strip_docs: bool) -> Json {
    const PRIMITIVES: [&str; 8] = [
        "null", "boolean", "int", "long", "float", "double", "bytes", "string",
    ];
    match schema {
        Json::String(s) if PRIMITIVES.contains(&s.as_str()) => schema.clone(),
        Json::String(s) => types
            .get(&full_name(s, ns))
            .unwrap_or_else(|| panic!("undefined type {s}"))
            .clone(),
        Json::Array(branches) => Json::Array(
            branches
                .iter()
                .map(|b| expand(b, ns, types, strip_docs))
                .collect(),
        ),
        Json::Object(map) => {
            let mut out = map.clone();
            if strip_docs {
                out.remove("doc");
            }
            let ty = map["type"].as_str().unwrap_or_default();
            if matches!(ty, "record" | "enum" | "fixed") {
                let own_ns = map.get("namespace").and_then(Json::as_str).unwrap_or(ns);
                let full = full_name(map["name"].as_str().unwrap(), own_ns);
                let inner_ns = full
                    .rsplit_once('.')
                    .map(|(n, _)| n)
                    .unwrap_or("")
                    .to_owned();
                out.insert("name".into(), Json::String(full.clone()));
                out.remove("namespace");
                if ty == "record" {
                    let fields = map["fields"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| {
                            let mut f = f.as_object().unwrap().clone();
                            if strip_docs {
                                f.remove("doc");
                            }
                            let t = expand(&f["type"], &inner_ns, types, strip_docs);
                            f.insert("type".into(), t);
                            Json::Object(f)
                        })
                        .collect();
                    out.insert("fields".into(), Json::Array(fields));
                }
                types.insert(full, Json::Object(out.clone()));
            } else if let Some(t) = map.get("type").filter(|t| !t.is_string()) {
                out.insert("type".into(), expand(t, ns, types, strip_docs));
            } else if ty == "array" {
                out.insert("items".into(), expand(&map["items"], ns, types, strip_docs));
            } else if ty == "map" {
                out.insert(
                    "values".into(),
                    expand(&map["values"], ns, types, strip_docs),
                );
            }
            Json::Object(out)
        }
        other => panic!("not a schema: {other}"),
    }
}

fn named_types(kind: ValueKind) -> BTreeMap<String, Json> {
    let mut types = BTreeMap::new();
    expand(&file_json(kind), "", &mut types, false);
    types
}

/// Checks that the record schema's fields are exactly the JSON object's keys, in order, and
/// recurses into nested records.
fn check_fields(schema: &Json, value: &Json, path: &str) {
    match (schema, value) {
        (Json::Array(branches), _) if value.is_null() => {
            assert_eq!(branches[0], "null", "{path}: null for a non-nullable type");
        }
        (Json::Array(branches), _) => {
            let branch = branches.iter().find(|b| *b != "null").unwrap();
            check_fields(branch, value, path);
        }
        (Json::Object(map), _) if map["type"] == "record" => {
            let object = value
                .as_object()
                .unwrap_or_else(|| panic!("{path}: a record in the schema, {value} in Rust"));
            let schema_fields: Vec<&str> = map["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap())
                .collect();
            let rust_fields: Vec<&str> = object.keys().map(String::as_str).collect();
            let (mut sorted_schema, mut sorted_rust) = (schema_fields.clone(), rust_fields.clone());
            sorted_schema.sort_unstable();
            sorted_rust.sort_unstable();
            assert_eq!(
                sorted_schema, sorted_rust,
                "{path}: schema fields vs Rust fields"
            );
            for f in map["fields"].as_array().unwrap() {
                let name = f["name"].as_str().unwrap();
                check_fields(&f["type"], &object[name], &format!("{path}.{name}"));
            }
        }
        (Json::Object(map), Json::Array(items)) if map["type"] == "array" => {
            for item in items {
                check_fields(&map["items"], item, &format!("{path}[]"));
            }
        }
        _ => {}
    }
}

#[test]
fn schema_fields_are_the_rust_fields() {
    fn check<T: TopicValue>(value: &T) {
        let mut types = BTreeMap::new();
        let expanded = expand(&file_json(T::KIND), "", &mut types, true);
        let json = serde_json::to_value(value).unwrap();
        check_fields(&expanded, &json, T::KIND.name());
    }
    check(&city_event_full());
    check(&incident_full());
    check(&work_order_full());
    check(&work_order_event_full());
    check(&department_update_full());
    check(&reading_full());
    check(&order_command_full());
    check(&command_outcome_full());
}

#[test]
fn every_field_and_type_is_documented() {
    fn walk(schema: &Json, path: &str) {
        match schema {
            Json::Array(branches) => branches.iter().for_each(|b| walk(b, path)),
            Json::Object(map) => {
                let ty = map["type"].as_str().unwrap_or_default();
                if matches!(ty, "record" | "enum") {
                    assert!(
                        map.contains_key("doc"),
                        "{path}: {} has no doc",
                        map["name"]
                    );
                }
                if ty == "record" {
                    for f in map["fields"].as_array().unwrap() {
                        let p = format!("{path}.{}", f["name"].as_str().unwrap());
                        assert!(f.get("doc").is_some_and(Json::is_string), "{p} has no doc");
                        walk(&f["type"], &p);
                    }
                }
            }
            _ => {}
        }
    }
    for kind in ValueKind::ALL {
        walk(&file_json(kind), kind.name());
    }
}

#[test]
fn shared_named_types_are_identical_in_every_file() {
    let mut seen: BTreeMap<String, (ValueKind, Json)> = BTreeMap::new();
    for kind in ValueKind::ALL {
        let mut types = BTreeMap::new();
        expand(&file_json(kind), "", &mut types, true);
        for (name, def) in types {
            match seen.get(&name) {
                Some((first, first_def)) => assert_eq!(
                    &def, first_def,
                    "{name} differs between {first}.avsc and {kind}.avsc"
                ),
                None => {
                    seen.insert(name, (kind, def));
                }
            }
        }
    }
    assert!(seen.contains_key("city.cityops.GeoPoint"));
    assert!(seen.contains_key("city.cityops.Severity"));
}

#[test]
fn the_embedded_history_is_every_file_in_the_history_folder() {
    let mut on_disk = BTreeSet::new();
    for dir in std::fs::read_dir(schemas_dir().join("history")).unwrap() {
        let dir = dir.unwrap();
        let name = dir.file_name().into_string().unwrap();
        for file in std::fs::read_dir(dir.path()).unwrap() {
            let file = file.unwrap().file_name().into_string().unwrap();
            let version: u32 = file
                .strip_prefix('v')
                .and_then(|f| f.strip_suffix(".avsc"))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("history/{name}/{file}: expected v<N>.avsc"));
            on_disk.insert((name.clone(), version));
        }
    }
    let embedded: BTreeSet<(String, u32)> = embedded_history()
        .map(|(kind, version, _)| (kind.name().to_owned(), version))
        .collect();
    assert_eq!(
        on_disk, embedded,
        "schemas/avro/history and cityops-avro's HISTORY list differ"
    );
}

#[test]
fn the_current_schemas_are_published_as_their_latest_version() {
    for schema in value_schemas() {
        let name = schema.kind().name();
        let versions: Vec<u32> = schema.history().iter().map(|v| v.version()).collect();
        let expected: Vec<u32> = (1..=versions.len() as u32).collect();
        assert_eq!(
            versions, expected,
            "{name}: versions must be 1, 2, ... with no gap"
        );
        let latest = schema.history().last().unwrap();
        assert_eq!(
            latest.fingerprint(),
            schema.fingerprint(),
            "schemas/avro/{name}.avsc differs from its latest published version \
             history/{name}/v{}.avsc: publish it as history/{name}/v{}.avsc (see docs/schemas.md)",
            latest.version(),
            latest.version() + 1,
        );
        assert_eq!(
            schema.current_version().unwrap().version(),
            latest.version()
        );
    }
}

#[test]
fn the_current_schemas_read_every_published_version() {
    for schema in value_schemas() {
        for version in schema.history() {
            let compatibility = SchemaCompatibility::can_read(version.schema(), schema.schema())
                .unwrap_or_else(|e| {
                    panic!(
                        "{} cannot read data written with v{}: {e}",
                        schema.full_name(),
                        version.version()
                    )
                });
            assert_eq!(
                compatibility,
                Compatibility::Full,
                "{} reads v{} only partially",
                schema.full_name(),
                version.version()
            );
        }
    }
}

#[test]
fn fingerprints_are_of_the_canonical_form() {
    for schema in value_schemas() {
        let canonical = schema.canonical_form();
        assert!(!canonical.contains("doc"), "{canonical}");
        assert!(!canonical.contains("logicalType"));
        assert!(!canonical.contains(char::is_whitespace));
        assert_eq!(
            schema.fingerprint(),
            cityops_avro::Fingerprint::of_canonical_form(canonical)
        );
        assert_eq!(
            cityops_avro::canonical_form_of_str(schema.compact_json()).unwrap(),
            canonical
        );
    }
    // Distinct schemas, distinct fingerprints.
    let distinct: BTreeSet<_> = value_schemas().iter().map(|s| s.fingerprint()).collect();
    assert_eq!(distinct.len(), ValueKind::ALL.len());
}

// ---- fixtures -----------------------------------------------------------------------------

const WRITE_FIXTURES: &str = "CITYOPS_WRITE_FIXTURES";

/// Decodes `schemas/avro/fixtures/<Name>.v<version>.bin` with the current schema and compares
/// it with `expected`. With `CITYOPS_WRITE_FIXTURES=1`, a missing fixture of the current version
/// is written first (an existing one is never rewritten: delete it to regenerate it).
fn check_fixture<T: TopicValue + PartialEq + Debug>(version: u32, expected: T) {
    let schema = T::value_schema();
    let name = T::KIND.name();
    let path = schemas_dir().join(format!("fixtures/{name}.v{version}.bin"));
    let published = schema
        .history()
        .iter()
        .find(|v| v.version() == version)
        .unwrap_or_else(|| panic!("{name} v{version} is not published"));

    if !path.exists() && std::env::var(WRITE_FIXTURES).as_deref() == Ok("1") {
        assert_eq!(
            schema.current_version().map(|v| v.version()),
            Some(version),
            "only a fixture of the current version ({name}) can be written"
        );
        let bytes = Codec::single_object()
            .encode_cached(topic_of(T::KIND), &expected)
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        eprintln!("wrote {}", path.display());
    }

    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "fixture {} is missing ({e}); write it with \
             `{WRITE_FIXTURES}=1 cargo test -p cityops-avro --test schemas` and commit it",
            path.display()
        )
    });
    let (header, _) = Header::parse(&bytes).unwrap();
    assert_eq!(
        header,
        Header::SingleObject(published.fingerprint()),
        "{} was not written with {name} v{version}",
        path.display()
    );
    let decoded: T = Codec::single_object()
        .decode_cached(&bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        decoded,
        expected,
        "{} decodes to another value with the current schema",
        path.display()
    );
}

/// What each published version's fixture decodes to with the current schema. When a field is
/// added, the old versions' expectations get its default (`..` from the full sample otherwise).
fn check_fixtures_of(kind: ValueKind, version: u32) {
    let unknown = || panic!("add the expected value of the {kind} v{version} fixture here");
    match (kind, version) {
        (ValueKind::CityEvent, 1) => check_fixture(1, city_event_full()),
        (ValueKind::Incident, 1) => check_fixture(1, incident_full()),
        (ValueKind::WorkOrder, 1) => check_fixture(1, work_order_full()),
        (ValueKind::WorkOrderEvent, 1) => check_fixture(
            1,
            WorkOrderEvent {
                command_id: None,
                ..work_order_event_full()
            },
        ),
        (ValueKind::WorkOrderEvent, 2) => check_fixture(2, work_order_event_full()),
        (ValueKind::OrderCommand, 1) => check_fixture(1, order_command_full()),
        (ValueKind::CommandOutcome, 1) => check_fixture(1, command_outcome_full()),
        (ValueKind::DepartmentUpdate, 1) => check_fixture(1, department_update_full()),
        (ValueKind::Reading, 1) => check_fixture(1, reading_full()),
        _ => unknown(),
    }
}

#[test]
fn every_published_version_has_a_fixture_that_the_current_schema_decodes() {
    for (kind, version, _) in embedded_history() {
        check_fixtures_of(kind, version);
    }
}

#[test]
fn fixtures_assert_field_values_not_just_equality() {
    // A fixture's key fields, spelled out: the bytes on disk carry exactly this.
    let bytes = std::fs::read(schemas_dir().join("fixtures/CityEvent.v1.bin")).unwrap();
    let event: CityEvent = Codec::single_object().decode_cached(&bytes).unwrap();
    assert_eq!(event.source, Source::Hotline);
    assert_eq!(event.source_id, "SY12345-20261121-000123");
    assert_eq!(event.occurred_at_ms, T0);
    assert_eq!(event.location, Some(point()));
    assert_eq!(event.request_type.as_deref(), Some("投诉"));
    assert_eq!(event.metrics.get("ch4_lel"), Some(&35.0));
    assert_eq!(event.attachments.len(), 2);

    let bytes = std::fs::read(schemas_dir().join("fixtures/WorkOrderEvent.v1.bin")).unwrap();
    let transition: WorkOrderEvent = Codec::single_object().decode_cached(&bytes).unwrap();
    assert_eq!(transition.kind, TransitionKind::Escalated);
    assert_eq!(transition.status_before, Some(OrderStatus::Accepted));
    assert_eq!(transition.order.owner.as_str(), "gas_company");
    assert_eq!(transition.order.resolve_deadline_ms, Some(T0 + 7_200_000));
    assert_eq!(transition.prev_hash, "0".repeat(64));
}
