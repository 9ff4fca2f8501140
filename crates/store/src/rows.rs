//! One row type per table, in the tables' column order, with pure conversions from the
//! domain types of `cityops-core`.
//!
//! Conventions, the same in every table:
//! - times are `*_ms` (`Int64`, milliseconds since the epoch, UTC, exactly as on the topic)
//!   beside a `DateTime('UTC')` of the same instant in seconds (partitioning, sorting and
//!   `toStartOfMinute`-style queries). Out-of-range times are clamped into `DateTime`'s range
//!   (1970..2106); the `*_ms` column keeps the original value;
//! - enums are their snake_case names as on the wire (`"critical"`, `"in_progress"`);
//! - maps are parallel arrays: `metric_keys`/`metric_values`, `tag_keys`/`tag_values`;
//! - booleans are `UInt8` (ClickHouse 18.16 has no `Bool`);
//! - optional fields are `Nullable`.
//!
//! No row holds a phone number or a name: the domain types carry none (the reporter is a
//! keyed hash), and dead letters from raw intake topics keep no payload ([`PayloadPolicy`]).

use cityops_core::{
    CityEvent, ClassifiedBy, DeadlineKind, Incident, LocationPrecision, OrderStatus, Reading,
    TransitionKind, WarningLevel, WorkOrder, WorkOrderEvent,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A row type that belongs to one table: lets [`crate::BatchWriter::for_table`] find the
/// table from the type.
pub trait TableRow: clickhouse::RowOwned + clickhouse::RowWrite {
    /// The table's name (unqualified: the client's database holds it).
    const TABLE: &'static str;
}

/// A row of `events`: one [`CityEvent`].
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct EventRow {
    pub event_id: String,
    pub source: String,
    pub source_id: String,
    pub occurred_at: u32,
    pub occurred_at_ms: i64,
    pub received_at: u32,
    pub received_at_ms: i64,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: Option<String>,
    pub district_hint: Option<String>,
    pub text: Option<String>,
    pub channel: Option<String>,
    pub request_type: Option<String>,
    pub device_id: Option<String>,
    pub device_type: Option<String>,
    pub device_event: Option<String>,
    pub metric_keys: Vec<String>,
    pub metric_values: Vec<f64>,
    pub tag_keys: Vec<String>,
    pub tag_values: Vec<String>,
    pub reporter_hash: Option<String>,
    pub attachments: Vec<String>,
}

impl TableRow for EventRow {
    const TABLE: &'static str = "events";
}

impl From<&CityEvent> for EventRow {
    fn from(e: &CityEvent) -> Self {
        let (metric_keys, metric_values) = unzip(&e.metrics);
        let (tag_keys, tag_values) = unzip(&e.tags);
        Self {
            event_id: e.event_id.clone(),
            source: e.source.as_str().to_owned(),
            source_id: e.source_id.clone(),
            occurred_at: datetime(e.occurred_at_ms),
            occurred_at_ms: e.occurred_at_ms,
            received_at: datetime(e.received_at_ms),
            received_at_ms: e.received_at_ms,
            lat: e.location.map(|p| p.lat),
            lon: e.location.map(|p| p.lon),
            address: e.address.clone(),
            district_hint: e.district_hint.clone(),
            text: e.text.clone(),
            channel: e.channel.clone(),
            request_type: e.request_type.clone(),
            device_id: e.device_id.clone(),
            device_type: e.device_type.clone(),
            device_event: e.device_event.clone(),
            metric_keys,
            metric_values,
            tag_keys,
            tag_values,
            reporter_hash: e.reporter_hash.clone(),
            attachments: e.attachments.clone(),
        }
    }
}

/// A row of `incidents`: one [`Incident`] with its event's main fields.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct IncidentRow {
    pub incident_id: String,
    pub source: String,
    pub source_id: String,
    pub occurred_at: u32,
    pub occurred_at_ms: i64,
    pub received_at_ms: i64,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: Option<String>,
    pub text: Option<String>,
    pub channel: Option<String>,
    pub request_type: Option<String>,
    pub device_id: Option<String>,
    pub device_type: Option<String>,
    pub device_event: Option<String>,
    pub district_code: Option<String>,
    pub district_name: Option<String>,
    pub street_code: Option<String>,
    pub street_name: Option<String>,
    pub grid_code: Option<String>,
    pub location_precision: String,
    pub h3_cell: Option<String>,
    pub scenario: String,
    pub category: String,
    pub severity: String,
    pub actionable: bool,
    pub classified_by: String,
    pub rule_id: Option<String>,
    pub confidence: f64,
    pub model_version: Option<String>,
    pub catalogue_version: String,
    pub enriched_at: u32,
    pub enriched_at_ms: i64,
    /// `ReplacingMergeTree` version: `enriched_at_ms` (clamped at 0), so the latest
    /// enrichment of an event wins.
    pub version: u64,
}

impl TableRow for IncidentRow {
    const TABLE: &'static str = "incidents";
}

impl From<&Incident> for IncidentRow {
    fn from(i: &Incident) -> Self {
        let e = &i.event;
        Self {
            incident_id: i.incident_id.clone(),
            source: e.source.as_str().to_owned(),
            source_id: e.source_id.clone(),
            occurred_at: datetime(e.occurred_at_ms),
            occurred_at_ms: e.occurred_at_ms,
            received_at_ms: e.received_at_ms,
            lat: e.location.map(|p| p.lat),
            lon: e.location.map(|p| p.lon),
            address: e.address.clone(),
            text: e.text.clone(),
            channel: e.channel.clone(),
            request_type: e.request_type.clone(),
            device_id: e.device_id.clone(),
            device_type: e.device_type.clone(),
            device_event: e.device_event.clone(),
            district_code: i.district_code.clone(),
            district_name: i.district_name.clone(),
            street_code: i.street_code.clone(),
            street_name: i.street_name.clone(),
            grid_code: i.grid_code.clone(),
            location_precision: location_precision_name(i.location_precision).to_owned(),
            h3_cell: i.h3_cell.clone(),
            scenario: i.scenario.as_str().to_owned(),
            category: i.category.as_str().to_owned(),
            severity: i.severity.as_str().to_owned(),
            actionable: i.actionable,
            classified_by: classified_by_name(i.classification.method).to_owned(),
            rule_id: i.classification.rule_id.clone(),
            confidence: i.classification.confidence,
            model_version: i.classification.model_version.clone(),
            catalogue_version: i.catalogue_version.clone(),
            enriched_at: datetime(i.enriched_at_ms),
            enriched_at_ms: i.enriched_at_ms,
            version: version(i.enriched_at_ms),
        }
    }
}

/// A row of `telemetry`: one below-threshold [`Reading`].
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct TelemetryRow {
    pub event_id: String,
    pub device_id: String,
    pub device_type: String,
    pub at: u32,
    pub at_ms: i64,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub metric_keys: Vec<String>,
    pub metric_values: Vec<f64>,
    pub tag_keys: Vec<String>,
    pub tag_values: Vec<String>,
    pub district_code: Option<String>,
    pub street_code: Option<String>,
    pub grid_code: Option<String>,
}

impl TableRow for TelemetryRow {
    const TABLE: &'static str = "telemetry";
}

impl From<&Reading> for TelemetryRow {
    fn from(r: &Reading) -> Self {
        let (metric_keys, metric_values) = unzip(&r.metrics);
        let (tag_keys, tag_values) = unzip(&r.tags);
        Self {
            event_id: r.event_id.clone(),
            device_id: r.device_id.clone(),
            device_type: r.device_type.clone(),
            at: datetime(r.at_ms),
            at_ms: r.at_ms,
            lat: r.location.map(|p| p.lat),
            lon: r.location.map(|p| p.lon),
            metric_keys,
            metric_values,
            tag_keys,
            tag_values,
            district_code: r.district_code.clone(),
            street_code: r.street_code.clone(),
            grid_code: r.grid_code.clone(),
        }
    }
}

/// A row of `workorder_events`: one [`WorkOrderEvent`] (a transition, maybe rejected) with
/// its hash chain and the order's main fields after it.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct WorkOrderEventRow {
    pub transition_id: String,
    pub order_id: String,
    pub seq: i64,
    pub kind: String,
    pub actor: String,
    pub at: u32,
    pub at_ms: i64,
    pub status_before: Option<String>,
    pub status_after: String,
    pub incident_id: Option<String>,
    pub reason: Option<String>,
    pub note: Option<String>,
    pub deadline: Option<String>,
    pub warning: Option<String>,
    pub new_deadline_ms: Option<i64>,
    pub satisfaction: Option<i32>,
    pub rejected: bool,
    pub rejection_reason: Option<String>,
    pub prev_hash: String,
    pub hash: String,
    pub street_key: String,
    pub district_code: Option<String>,
    pub owner: String,
    pub co_departments: Vec<String>,
    pub scenario: String,
    pub category: String,
    pub severity: String,
    pub incident_ids: Vec<String>,
    pub accept_deadline_ms: Option<i64>,
    pub resolve_deadline_ms: Option<i64>,
    pub order_created_at_ms: i64,
    pub order_version: i64,
}

impl TableRow for WorkOrderEventRow {
    const TABLE: &'static str = "workorder_events";
}

impl From<&WorkOrderEvent> for WorkOrderEventRow {
    fn from(t: &WorkOrderEvent) -> Self {
        let o = &t.order;
        Self {
            transition_id: t.transition_id.clone(),
            order_id: t.order_id.clone(),
            seq: t.seq,
            kind: transition_kind_name(t.kind).to_owned(),
            actor: t.actor.clone(),
            at: datetime(t.at_ms),
            at_ms: t.at_ms,
            status_before: t.status_before.map(|s| order_status_name(s).to_owned()),
            status_after: order_status_name(t.status_after).to_owned(),
            incident_id: t.incident_id.clone(),
            reason: t.reason.clone(),
            note: t.note.clone(),
            deadline: t.deadline.map(|d| deadline_kind_name(d).to_owned()),
            warning: t.warning.map(|w| warning_level_name(w).to_owned()),
            new_deadline_ms: t.new_deadline_ms,
            satisfaction: t.satisfaction,
            rejected: t.rejected,
            rejection_reason: t.rejection_reason.clone(),
            prev_hash: t.prev_hash.clone(),
            hash: t.hash.clone(),
            street_key: o.street_key.clone(),
            district_code: o.district_code.clone(),
            owner: o.owner.as_str().to_owned(),
            co_departments: o
                .co_departments
                .iter()
                .map(|d| d.as_str().to_owned())
                .collect(),
            scenario: o.scenario.as_str().to_owned(),
            category: o.category.as_str().to_owned(),
            severity: o.severity.as_str().to_owned(),
            incident_ids: o.incident_ids.clone(),
            accept_deadline_ms: o.accept_deadline_ms,
            resolve_deadline_ms: o.resolve_deadline_ms,
            order_created_at_ms: o.created_at_ms,
            order_version: o.version,
        }
    }
}

/// A row of `workorders`: one version of a [`WorkOrder`]; the highest `version` is current.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct WorkOrderRow {
    pub order_id: String,
    pub incident_ids: Vec<String>,
    pub street_key: String,
    pub district_code: Option<String>,
    pub owner: String,
    pub co_departments: Vec<String>,
    pub scenario: String,
    pub category: String,
    pub severity: String,
    pub status: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub device_id: Option<String>,
    pub created_at: u32,
    pub created_at_ms: i64,
    pub accept_deadline_ms: Option<i64>,
    pub resolve_deadline_ms: Option<i64>,
    pub accepted_at_ms: Option<i64>,
    pub resolved_at_ms: Option<i64>,
    pub closed_at_ms: Option<i64>,
    pub accept_warning: Option<String>,
    pub resolve_warning: Option<String>,
    pub extension_requested: bool,
    pub satisfaction: Option<i32>,
    pub routing_reason: String,
    /// `ReplacingMergeTree` version: the order's `version` (clamped at 0).
    pub version: u64,
    pub updated_at: u32,
    pub updated_at_ms: i64,
}

impl TableRow for WorkOrderRow {
    const TABLE: &'static str = "workorders";
}

impl From<&WorkOrder> for WorkOrderRow {
    fn from(o: &WorkOrder) -> Self {
        Self {
            order_id: o.order_id.clone(),
            incident_ids: o.incident_ids.clone(),
            street_key: o.street_key.clone(),
            district_code: o.district_code.clone(),
            owner: o.owner.as_str().to_owned(),
            co_departments: o
                .co_departments
                .iter()
                .map(|d| d.as_str().to_owned())
                .collect(),
            scenario: o.scenario.as_str().to_owned(),
            category: o.category.as_str().to_owned(),
            severity: o.severity.as_str().to_owned(),
            status: order_status_name(o.status).to_owned(),
            lat: o.location.map(|p| p.lat),
            lon: o.location.map(|p| p.lon),
            device_id: o.device_id.clone(),
            created_at: datetime(o.created_at_ms),
            created_at_ms: o.created_at_ms,
            accept_deadline_ms: o.accept_deadline_ms,
            resolve_deadline_ms: o.resolve_deadline_ms,
            accepted_at_ms: o.accepted_at_ms,
            resolved_at_ms: o.resolved_at_ms,
            closed_at_ms: o.closed_at_ms,
            accept_warning: o.accept_warning.map(|w| warning_level_name(w).to_owned()),
            resolve_warning: o.resolve_warning.map(|w| warning_level_name(w).to_owned()),
            extension_requested: o.extension_requested,
            satisfaction: o.satisfaction,
            routing_reason: o.routing_reason.clone(),
            version: version(o.version),
            updated_at: datetime(o.updated_at_ms),
            updated_at_ms: o.updated_at_ms,
        }
    }
}

/// Whether a dead letter's payload may be copied into ClickHouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadPolicy {
    /// Keep the payload (hex): the canonical topics hold no personal data by construction.
    Keep,
    /// Keep only its size and SHA-256: for records of raw intake topics, whose JSON may carry
    /// a caller's phone number and name (ingest replaces them by a keyed hash, but a record
    /// that failed ingest still has them), and of the departments' updates topics, whose notes
    /// dispatch masks only when it takes the update. The bytes stay on the DLQ topic.
    Omit,
}

impl PayloadPolicy {
    /// [`Omit`](Self::Omit) for a raw intake topic or a department's updates topic (a name
    /// with a `raw` or an `updates` segment, as in `city.raw.hotline.v1` and
    /// `city.dept.gas.updates.v1`, also when prefixed), else [`Keep`](Self::Keep). A deployment
    /// that renames these topics should choose the policy itself.
    pub fn for_source_topic(topic: &str) -> Self {
        if topic
            .split('.')
            .any(|segment| segment == "raw" || segment == "updates")
        {
            Self::Omit
        } else {
            Self::Keep
        }
    }
}

/// A record of `city.dlq.v1`, as the sink reads it: where it is, why it failed, and the
/// original bytes. Converted into a [`DeadLetterRow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadLetter<'a> {
    /// The dead letter's own position (its identity in `dead_letters`).
    pub dlq_topic: &'a str,
    pub dlq_partition: i32,
    pub dlq_offset: i64,
    /// When it was dead-lettered (the `failed_at_ms` header, else the record's timestamp).
    pub at_ms: i64,
    /// The stage that gave up on it (`ingest`, `enrich`, ...).
    pub stage: &'a str,
    /// Why, in words an operator understands.
    pub error: &'a str,
    /// Where the original record was; the partition and offset may be unknown.
    pub source_topic: &'a str,
    pub source_partition: Option<i32>,
    pub source_offset: Option<i64>,
    /// The original key.
    pub key: Option<&'a [u8]>,
    /// The original value.
    pub payload: &'a [u8],
    pub payload_policy: PayloadPolicy,
}

/// A row of `dead_letters`.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct DeadLetterRow {
    pub dlq_topic: String,
    pub dlq_partition: i32,
    pub dlq_offset: i64,
    pub at: u32,
    pub at_ms: i64,
    pub stage: String,
    pub error: String,
    pub source_topic: String,
    pub source_partition: Option<i32>,
    pub source_offset: Option<i64>,
    /// The key as text when it is UTF-8, else `hex:` and its hex encoding.
    pub record_key: Option<String>,
    pub payload_size: u64,
    /// Hex SHA-256 of the payload: groups identical bad inputs even when omitted.
    pub payload_sha256: String,
    pub payload_omitted: bool,
    /// Hex of the payload; empty when omitted.
    pub payload_hex: String,
}

impl TableRow for DeadLetterRow {
    const TABLE: &'static str = "dead_letters";
}

impl From<&DeadLetter<'_>> for DeadLetterRow {
    fn from(d: &DeadLetter<'_>) -> Self {
        let omitted = d.payload_policy == PayloadPolicy::Omit;
        Self {
            dlq_topic: d.dlq_topic.to_owned(),
            dlq_partition: d.dlq_partition,
            dlq_offset: d.dlq_offset,
            at: datetime(d.at_ms),
            at_ms: d.at_ms,
            stage: d.stage.to_owned(),
            error: d.error.to_owned(),
            source_topic: d.source_topic.to_owned(),
            source_partition: d.source_partition,
            source_offset: d.source_offset,
            record_key: d.key.map(key_text),
            payload_size: u64::try_from(d.payload.len()).unwrap_or(u64::MAX),
            payload_sha256: hex::encode(Sha256::digest(d.payload)),
            payload_omitted: omitted,
            payload_hex: if omitted {
                String::new()
            } else {
                hex::encode(d.payload)
            },
        }
    }
}

fn key_text(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(text) => text.to_owned(),
        Err(_) => format!("hex:{}", hex::encode(key)),
    }
}

/// Seconds since the epoch for a `DateTime` column, clamped into its range (1970..2106).
pub fn datetime(ms: i64) -> u32 {
    let secs = ms.div_euclid(1000);
    u32::try_from(secs.max(0)).unwrap_or(u32::MAX)
}

/// A `ReplacingMergeTree` version (`UInt64`: 18.16 accepts only unsigned versions).
fn version(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn unzip<V: Clone>(map: &BTreeMap<String, V>) -> (Vec<String>, Vec<V>) {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).unzip()
}

// The wire names of the core enums (their serde snake_case names). Exhaustive matches: a new
// variant in cityops-core fails to compile here instead of writing a wrong name.

pub(crate) fn location_precision_name(p: LocationPrecision) -> &'static str {
    match p {
        LocationPrecision::Point => "point",
        LocationPrecision::Street => "street",
        LocationPrecision::District => "district",
        LocationPrecision::Unlocated => "unlocated",
    }
}

pub(crate) fn classified_by_name(c: ClassifiedBy) -> &'static str {
    match c {
        ClassifiedBy::Rule => "rule",
        ClassifiedBy::Model => "model",
        ClassifiedBy::IotRule => "iot_rule",
        ClassifiedBy::Triage => "triage",
    }
}

pub(crate) fn order_status_name(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Created => "created",
        OrderStatus::Dispatched => "dispatched",
        OrderStatus::Accepted => "accepted",
        OrderStatus::InProgress => "in_progress",
        OrderStatus::Resolved => "resolved",
        OrderStatus::Closed => "closed",
        OrderStatus::Returned => "returned",
        OrderStatus::Reopened => "reopened",
    }
}

pub(crate) fn transition_kind_name(k: TransitionKind) -> &'static str {
    match k {
        TransitionKind::Created => "created",
        TransitionKind::Dispatched => "dispatched",
        TransitionKind::Accepted => "accepted",
        TransitionKind::ProgressReported => "progress_reported",
        TransitionKind::Resolved => "resolved",
        TransitionKind::Closed => "closed",
        TransitionKind::Returned => "returned",
        TransitionKind::ExtensionRequested => "extension_requested",
        TransitionKind::ExtensionGranted => "extension_granted",
        TransitionKind::Merged => "merged",
        TransitionKind::Reopened => "reopened",
        TransitionKind::Escalated => "escalated",
        TransitionKind::SatisfactionRecorded => "satisfaction_recorded",
    }
}

pub(crate) fn deadline_kind_name(d: DeadlineKind) -> &'static str {
    match d {
        DeadlineKind::Accept => "accept",
        DeadlineKind::Resolve => "resolve",
    }
}

pub(crate) fn warning_level_name(w: WarningLevel) -> &'static str {
    match w {
        WarningLevel::Yellow => "yellow",
        WarningLevel::Red => "red",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn event_row_keeps_every_field() {
        let e = fixtures::event("SY12345-20261121-000123");
        let r = EventRow::from(&e);
        assert_eq!(r.event_id, e.event_id);
        assert_eq!(r.source, "hotline");
        assert_eq!(r.occurred_at_ms, 1_795_738_500_123);
        assert_eq!(r.occurred_at, 1_795_738_500);
        assert_eq!(r.received_at, 1_795_738_501);
        assert_eq!(r.lat, Some(41.7962));
        assert_eq!(r.lon, Some(123.3589));
        assert_eq!(r.metric_keys, vec!["ch4_lel", "temp_c"]);
        assert_eq!(r.metric_values, vec![35.0, -3.5]);
        assert_eq!(r.tag_keys, vec!["vendor"]);
        assert_eq!(r.tag_values, vec!["acme"]);
        assert_eq!(r.reporter_hash.as_deref(), Some("9f86d081"));
        assert_eq!(r.attachments, vec!["a1.jpg"]);
    }

    #[test]
    fn incident_row_flattens_event_place_and_classification() {
        let i = fixtures::incident("T-1");
        let r = IncidentRow::from(&i);
        assert_eq!(r.incident_id, i.incident_id);
        assert_eq!(r.source_id, "T-1");
        assert_eq!(r.street_code.as_deref(), Some("210106001"));
        assert_eq!(r.location_precision, "point");
        assert_eq!(r.scenario, "gas");
        assert_eq!(r.category, "gas_leak");
        assert_eq!(r.severity, "critical");
        assert!(r.actionable);
        assert_eq!(r.classified_by, "iot_rule");
        assert_eq!(r.rule_id.as_deref(), Some("ch4_lel>=20"));
        assert_eq!(r.confidence, 1.0);
        assert_eq!(r.catalogue_version, "2026.11");
        assert_eq!(r.enriched_at_ms, i.enriched_at_ms);
        assert_eq!(r.version, u64::try_from(i.enriched_at_ms).unwrap());
        assert_eq!(r.occurred_at, datetime(i.event.occurred_at_ms));
    }

    #[test]
    fn telemetry_row_from_reading() {
        let reading = fixtures::reading("SY-GAS-000123", 1_795_738_500_000);
        let r = TelemetryRow::from(&reading);
        assert_eq!(r.device_id, "SY-GAS-000123");
        assert_eq!(r.at, 1_795_738_500);
        assert_eq!(r.metric_keys, vec!["ch4_lel"]);
        assert_eq!(r.metric_values, vec![3.0]);
        assert_eq!(r.lat, None);
        assert_eq!(r.street_code.as_deref(), Some("210106001"));
    }

    #[test]
    fn workorder_event_row_carries_chain_and_order_after() {
        let t = fixtures::transition("WO-1", 2);
        let r = WorkOrderEventRow::from(&t);
        assert_eq!(r.transition_id, "WO-1#2");
        assert_eq!(r.seq, 2);
        assert_eq!(r.kind, "accepted");
        assert_eq!(r.status_before.as_deref(), Some("dispatched"));
        assert_eq!(r.status_after, "accepted");
        assert_eq!(r.deadline.as_deref(), Some("accept"));
        assert_eq!(r.warning.as_deref(), Some("yellow"));
        assert_eq!(r.prev_hash, "0".repeat(64));
        assert_eq!(r.hash, "ab".repeat(32));
        assert_eq!(r.owner, "gas_company");
        assert_eq!(r.co_departments, vec!["street_office"]);
        assert_eq!(r.order_version, 2);
        assert!(!r.rejected);
    }

    #[test]
    fn workorder_row_is_the_snapshot() {
        let o = fixtures::order("WO-1", 3);
        let r = WorkOrderRow::from(&o);
        assert_eq!(r.order_id, "WO-1");
        assert_eq!(r.status, "in_progress");
        assert_eq!(r.version, 3);
        assert_eq!(r.resolve_warning.as_deref(), Some("red"));
        assert!(r.extension_requested);
        assert_eq!(r.created_at, datetime(o.created_at_ms));
    }

    #[test]
    fn negative_versions_clamp_to_zero() {
        let mut o = fixtures::order("WO-1", 3);
        o.version = -5;
        assert_eq!(WorkOrderRow::from(&o).version, 0);
    }

    #[test]
    fn datetimes_clamp_into_range() {
        assert_eq!(datetime(0), 0);
        assert_eq!(datetime(999), 0);
        assert_eq!(datetime(1_000), 1);
        assert_eq!(datetime(-1), 0);
        assert_eq!(datetime(i64::MIN), 0);
        assert_eq!(datetime(i64::MAX), u32::MAX);
    }

    #[test]
    fn dead_letter_from_raw_topic_omits_payload() {
        let payload = br#"{"caller_phone":"13800001234","caller_name":"x"}"#;
        let d = DeadLetter {
            dlq_topic: "city.dlq.v1",
            dlq_partition: 0,
            dlq_offset: 42,
            at_ms: 1_795_738_500_000,
            stage: "ingest",
            error: "received_at is missing",
            source_topic: "city.raw.hotline.v1",
            source_partition: Some(3),
            source_offset: Some(7),
            key: Some(b"SY12345-1"),
            payload,
            payload_policy: PayloadPolicy::for_source_topic("city.raw.hotline.v1"),
        };
        let r = DeadLetterRow::from(&d);
        assert!(r.payload_omitted);
        assert_eq!(r.payload_hex, "");
        assert_eq!(r.payload_size, payload.len() as u64);
        assert_eq!(r.payload_sha256, hex::encode(Sha256::digest(payload)));
        assert_eq!(r.record_key.as_deref(), Some("SY12345-1"));
        assert!(!format!("{r:?}").contains("13800001234"));
    }

    #[test]
    fn dead_letter_from_canonical_topic_keeps_payload_and_hexes_binary_keys() {
        let d = DeadLetter {
            dlq_topic: "city.dlq.v1",
            dlq_partition: 0,
            dlq_offset: 43,
            at_ms: 5_000,
            stage: "sink",
            error: "bad avro",
            source_topic: "city.events.v1",
            source_partition: None,
            source_offset: None,
            key: Some(&[0xff, 0x00]),
            payload: &[0xc3, 0x01, 0x02],
            payload_policy: PayloadPolicy::for_source_topic("city.events.v1"),
        };
        let r = DeadLetterRow::from(&d);
        assert!(!r.payload_omitted);
        assert_eq!(r.payload_hex, "c30102");
        assert_eq!(r.record_key.as_deref(), Some("hex:ff00"));
        assert_eq!(r.at, 5);
    }

    #[test]
    fn payload_policy_by_topic() {
        assert_eq!(
            PayloadPolicy::for_source_topic("city.raw.iot.v1"),
            PayloadPolicy::Omit
        );
        assert_eq!(
            PayloadPolicy::for_source_topic("t_1a2b.city.raw.hotline.v1"),
            PayloadPolicy::Omit
        );
        assert_eq!(
            PayloadPolicy::for_source_topic("city.incidents.v1"),
            PayloadPolicy::Keep
        );
        assert_eq!(
            PayloadPolicy::for_source_topic("city.rawness.v1"),
            PayloadPolicy::Keep
        );
        assert_eq!(
            PayloadPolicy::for_source_topic("city.dept.gas.updates.v1"),
            PayloadPolicy::Omit
        );
    }

    /// The names must be the serde names of cityops-core (what travels on the topics).
    #[test]
    fn enum_names_match_core_serde_names() {
        fn serde_name<T: Serialize>(v: T) -> String {
            match serde_json::to_value(v).unwrap() {
                serde_json::Value::String(s) => s,
                other => panic!("not a unit variant: {other}"),
            }
        }

        for p in [
            LocationPrecision::Point,
            LocationPrecision::Street,
            LocationPrecision::District,
            LocationPrecision::Unlocated,
        ] {
            assert_eq!(location_precision_name(p), serde_name(p));
        }
        for c in [
            ClassifiedBy::Rule,
            ClassifiedBy::Model,
            ClassifiedBy::IotRule,
            ClassifiedBy::Triage,
        ] {
            assert_eq!(classified_by_name(c), serde_name(c));
        }
        for s in [
            OrderStatus::Created,
            OrderStatus::Dispatched,
            OrderStatus::Accepted,
            OrderStatus::InProgress,
            OrderStatus::Resolved,
            OrderStatus::Closed,
            OrderStatus::Returned,
            OrderStatus::Reopened,
        ] {
            assert_eq!(order_status_name(s), serde_name(s));
        }
        for k in [
            TransitionKind::Created,
            TransitionKind::Dispatched,
            TransitionKind::Accepted,
            TransitionKind::ProgressReported,
            TransitionKind::Resolved,
            TransitionKind::Closed,
            TransitionKind::Returned,
            TransitionKind::ExtensionRequested,
            TransitionKind::ExtensionGranted,
            TransitionKind::Merged,
            TransitionKind::Reopened,
            TransitionKind::Escalated,
            TransitionKind::SatisfactionRecorded,
        ] {
            assert_eq!(transition_kind_name(k), serde_name(k));
        }
        for d in [DeadlineKind::Accept, DeadlineKind::Resolve] {
            assert_eq!(deadline_kind_name(d), serde_name(d));
        }
        for w in [WarningLevel::Yellow, WarningLevel::Red] {
            assert_eq!(warning_level_name(w), serde_name(w));
        }
    }
}
