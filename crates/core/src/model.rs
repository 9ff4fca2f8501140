//! The values that travel on the topics. Their wire shape is fixed by the Avro schemas in
//! `schemas/avro/` (the `cityops-avro` crate checks every type against its schema); field names
//! here are the schema's field names.
//!
//! Times are milliseconds since the Unix epoch, UTC (`*_at_ms`, `*_deadline_ms`).

use crate::{CategoryId, DepartmentId, ScenarioId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where an event entered the city's systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Iot,
    Hotline,
    Open311,
    Inspector,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Iot => "iot",
            Source::Hotline => "hotline",
            Source::Open311 => "open311",
            Source::Inspector => "inspector",
        }
    }
}

/// How urgent an incident is (特急 / 紧急 / 一般 / 咨询).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    Urgent,
    Normal,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::Urgent,
        Severity::Normal,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Urgent => "urgent",
            Severity::Normal => "normal",
            Severity::Info => "info",
        }
    }
}

/// A WGS-84 coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// A canonical event: one thing the city sensed or was told, validated and normalised by
/// ingest. Personal data never appears here: the reporter is a keyed hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CityEvent {
    /// Deterministic from `source` and `source_id` ([`event_id_for`]): a retried intake is the
    /// same event.
    pub event_id: String,
    pub source: Source,
    /// The id the source gave it: ticket id, device id + reading time, Open311 request id.
    pub source_id: String,
    pub occurred_at_ms: i64,
    pub received_at_ms: i64,
    pub location: Option<GeoPoint>,
    /// Address text as reported (to be geocoded when there is no point).
    pub address: Option<String>,
    /// District name as reported, the coarsest location a ticket may carry.
    pub district_hint: Option<String>,
    /// The ticket's text, trimmed and NFC-normalised.
    pub text: Option<String>,
    /// Intake channel of a ticket (`phone`, `web`, `app`, ...).
    pub channel: Option<String>,
    /// 12345 request type (投诉, 求助, 咨询, 举报, 建议...).
    pub request_type: Option<String>,
    pub device_id: Option<String>,
    pub device_type: Option<String>,
    pub metrics: BTreeMap<String, f64>,
    /// Camera-AI event name, when the device reports one.
    pub device_event: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// HMAC-SHA256 (hex) of the reporter's phone under the deployment's secret.
    pub reporter_hash: Option<String>,
    pub attachments: Vec<String>,
}

/// Namespace of the UUIDv5 event ids (a fixed random UUID; never change it, or every retried
/// intake after the change becomes a new event).
pub const EVENT_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x5c1f_0a6e_3b1d_4d0e_9a57_2c1e_7f40_b3a1);

/// The deterministic id of the event that `source` calls `source_id`.
pub fn event_id_for(source: Source, source_id: &str) -> String {
    let name = format!("{}:{}", source.as_str(), source_id);
    uuid::Uuid::new_v5(&EVENT_ID_NAMESPACE, name.as_bytes()).to_string()
}

/// How an incident got its category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassifiedBy {
    /// A life-safety keyword rule on the text.
    Rule,
    /// The trained text model, above its confidence threshold.
    Model,
    /// A device threshold or camera event from the catalogue.
    IotRule,
    /// Not confident enough: the command centre's manual triage.
    Triage,
}

/// The evidence for an incident's category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub method: ClassifiedBy,
    /// The rule or threshold that decided, when one did.
    pub rule_id: Option<String>,
    /// Model probability of the chosen category (1.0 for rules).
    pub confidence: f64,
    pub model_version: Option<String>,
}

/// How precisely an incident was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationPrecision {
    /// From coordinates.
    Point,
    /// From an address matched in the gazetteer.
    Street,
    /// Only the district is known.
    District,
    /// Nowhere in the city's geography.
    Unlocated,
}

/// An event with its place and meaning: what enrichment makes of a [`CityEvent`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Equal to the event's id: one incident per event.
    pub incident_id: String,
    pub event: CityEvent,
    pub district_code: Option<String>,
    pub district_name: Option<String>,
    pub street_code: Option<String>,
    pub street_name: Option<String>,
    pub grid_code: Option<String>,
    pub location_precision: LocationPrecision,
    pub h3_cell: Option<String>,
    pub scenario: ScenarioId,
    pub category: CategoryId,
    pub severity: Severity,
    /// Whether someone must act (the category has deadlines), i.e. a work order follows.
    pub actionable: bool,
    pub classification: Classification,
    pub catalogue_version: String,
    pub enriched_at_ms: i64,
}

impl Incident {
    /// The Kafka key of `city.incidents.v1` and `city.workorders.events.v1`: the street code,
    /// else the district code, else [`UNLOCATED_KEY`].
    pub fn partition_key(&self) -> &str {
        self.street_code
            .as_deref()
            .or(self.district_code.as_deref())
            .unwrap_or(UNLOCATED_KEY)
    }
}

/// Key of incidents that have neither street nor district.
pub const UNLOCATED_KEY: &str = "unlocated";

/// Where a work order stands in the closed loop (发现→立案→派遣→处置→核查→结案→评价).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Created,
    Dispatched,
    Accepted,
    InProgress,
    Resolved,
    Closed,
    Returned,
    Reopened,
}

/// Which of an order's two clocks a warning concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    Accept,
    Resolve,
}

impl DeadlineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineKind::Accept => "accept",
            DeadlineKind::Resolve => "resolve",
        }
    }
}

/// Yellow at 75% of a deadline, red at 100%.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningLevel {
    Yellow,
    Red,
}

impl WarningLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            WarningLevel::Yellow => "yellow",
            WarningLevel::Red => "red",
        }
    }
}

/// A work order (工单): who must act, by when, and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkOrder {
    pub order_id: String,
    /// The first incident and every duplicate merged into it (并单).
    pub incident_ids: Vec<String>,
    /// Partition key of the order's street (see [`Incident::partition_key`]).
    pub street_key: String,
    pub district_code: Option<String>,
    pub owner: DepartmentId,
    pub co_departments: Vec<DepartmentId>,
    pub scenario: ScenarioId,
    pub category: CategoryId,
    pub severity: Severity,
    pub status: OrderStatus,
    pub location: Option<GeoPoint>,
    pub device_id: Option<String>,
    pub created_at_ms: i64,
    pub accept_deadline_ms: Option<i64>,
    pub resolve_deadline_ms: Option<i64>,
    pub accepted_at_ms: Option<i64>,
    pub resolved_at_ms: Option<i64>,
    pub closed_at_ms: Option<i64>,
    /// Highest warning emitted so far on each clock.
    pub accept_warning: Option<WarningLevel>,
    pub resolve_warning: Option<WarningLevel>,
    pub extension_requested: bool,
    /// Callback satisfaction (回访), 1–5.
    pub satisfaction: Option<i32>,
    /// Which rule chose the department, in a dispatcher's words.
    pub routing_reason: String,
    /// Number of transitions applied; the snapshot with the highest version is current.
    pub version: i64,
    pub updated_at_ms: i64,
}

/// What happened to a work order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionKind {
    Created,
    Dispatched,
    Accepted,
    ProgressReported,
    Resolved,
    Closed,
    Returned,
    ExtensionRequested,
    ExtensionGranted,
    Merged,
    Reopened,
    Escalated,
    SatisfactionRecorded,
}

/// One transition of a work order: an entry of its event-sourced, hash-chained history on
/// `city.workorders.events.v1`. Rejected attempts are recorded too (`rejected = true`), with
/// the order unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkOrderEvent {
    /// Deterministic from order id and sequence number.
    pub transition_id: String,
    pub order_id: String,
    /// Position in the order's history, from 1.
    pub seq: i64,
    pub kind: TransitionKind,
    /// Department id, `dispatch` or `command_center`.
    pub actor: String,
    pub at_ms: i64,
    pub status_before: Option<OrderStatus>,
    pub status_after: OrderStatus,
    /// The incident this transition concerns (creation and merges).
    pub incident_id: Option<String>,
    /// Why: a return's reason, a reopen's cause, an escalation's clock.
    pub reason: Option<String>,
    pub note: Option<String>,
    pub deadline: Option<DeadlineKind>,
    pub warning: Option<WarningLevel>,
    pub new_deadline_ms: Option<i64>,
    pub satisfaction: Option<i32>,
    pub rejected: bool,
    pub rejection_reason: Option<String>,
    /// The order after this transition (unchanged when rejected).
    pub order: WorkOrder,
    /// Hex SHA-256 of the previous transition of this order (64 zeros for the first).
    pub prev_hash: String,
    /// Hex SHA-256 over `prev_hash` and this transition.
    pub hash: String,
    /// The [`OrderCommand`] that caused this transition (applied or rejected); `None` for what
    /// dispatch does itself (create, dispatch, merge, escalate). Added in schema v2.
    #[serde(default)]
    pub command_id: Option<String>,
}

/// What a department reports about one of its orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateAction {
    Accept,
    Progress,
    Resolve,
    Return,
    RequestExtension,
}

/// An update from a department, on `city.dept.<dept>.updates.v1` or over HTTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentUpdate {
    /// The department's own id for this update, so a resent update is applied once.
    pub update_id: String,
    pub order_id: String,
    pub department: DepartmentId,
    pub action: UpdateAction,
    pub note: Option<String>,
    /// Required for a return.
    pub reason: Option<String>,
    /// For an extension request.
    pub requested_deadline_ms: Option<i64>,
    pub at_ms: i64,
}

/// The tag of an Open311 request's event that holds the service (category) the citizen chose.
pub const OPEN311_SERVICE_TAG: &str = "open311.service_code";

/// What an actor asks of one work order: an order command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandAction {
    /// 签收 (the owner).
    Accept,
    /// A progress report (the owner; a note is required).
    Progress,
    /// 办结 (the owner).
    Resolve,
    /// 退单 (the owner; a reason is required).
    Return,
    /// 延期申请 (the owner; a reason is required, `deadline_ms` optional).
    RequestExtension,
    /// 改派 (the command centre; `owner` required, `category` optional).
    Redispatch,
    /// 批准延期 (the command centre; `deadline_ms` optional: the one requested).
    GrantExtension,
    /// 结案 (the command centre).
    Close,
    /// 重办 (the command centre; a reason is required).
    Reopen,
    /// 回访 (the command centre; `score` 1–5, or a note why there is none).
    RecordSatisfaction,
}

/// How an order command reached cityops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandChannel {
    /// The dispatch HTTP API (the actor is the bearer token's owner).
    Http,
    /// A department's `city.dept.<dept>.updates.v1` topic (the actor is the topic's department).
    Topic,
}

/// An order command on `city.dispatch.commands.v1`, keyed by the order's street key so it
/// lands on the partition (and the dispatch instance) that owns the order. Written by dispatch
/// itself: from a department's update topic, or from an authenticated HTTP request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderCommand {
    /// Unique per command: `<department>:<update_id>` from a topic, `<actor>:<Idempotency-Key>`
    /// or a random id over HTTP. A command id handled once is not applied again.
    pub command_id: String,
    pub order_id: String,
    /// Who asks (authenticated): a department id or the command centre's.
    pub actor: String,
    pub channel: CommandChannel,
    pub action: CommandAction,
    pub note: Option<String>,
    pub reason: Option<String>,
    /// The deadline asked for (request_extension) or granted (grant_extension).
    pub deadline_ms: Option<i64>,
    /// The new owner of a re-dispatch.
    pub owner: Option<String>,
    /// The new category of a re-dispatch.
    pub category: Option<String>,
    /// The callback's satisfaction score, 1–5.
    pub score: Option<i32>,
    /// Set when the channel already knows the attempt must be refused (an update on one
    /// department's topic that names another department): recorded as rejected with it.
    pub refusal: Option<String>,
    /// When the actor issued it.
    pub at_ms: i64,
}

impl OrderCommand {
    /// The command with every phone and identity card number in its note and reason masked
    /// ([`crate::personal::mask_numbers`]): staff write callback numbers into notes, and the
    /// command's words are recorded on the order's history, which departments, the cockpit
    /// and ClickHouse read.
    pub fn with_numbers_masked(mut self) -> Self {
        for text in [&mut self.note, &mut self.reason].into_iter().flatten() {
            *text = crate::personal::mask_numbers(text);
        }
        self
    }
}

/// What became of an [`OrderCommand`], on `city.dispatch.outcomes.v1` (key: command id): the
/// answer the HTTP API waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandOutcome {
    pub command_id: String,
    pub order_id: String,
    /// The HTTP status that answers it: 200 applied; 403 not permitted or not the actor's
    /// order; 404 no such order; 409 illegal in the order's status or already handled; 422
    /// invalid input.
    pub status: i32,
    pub applied: bool,
    /// Why it was refused.
    pub reason: Option<String>,
    /// The transition that records it (applied or rejected); `None` when nothing was recorded.
    pub transition_id: Option<String>,
    /// The order after it.
    pub order: Option<WorkOrder>,
    /// When dispatch decided.
    pub at_ms: i64,
}

/// A below-threshold IoT reading, kept for the cockpit and analysts (`city.telemetry.v1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub event_id: String,
    pub device_id: String,
    pub device_type: String,
    pub at_ms: i64,
    pub location: Option<GeoPoint>,
    pub metrics: BTreeMap<String, f64>,
    pub tags: BTreeMap<String, String>,
    pub district_code: Option<String>,
    pub street_code: Option<String>,
    pub grid_code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_id_is_deterministic_and_source_scoped() {
        let a = event_id_for(Source::Hotline, "SY12345-20261121-000123");
        let b = event_id_for(Source::Hotline, "SY12345-20261121-000123");
        let c = event_id_for(Source::Open311, "SY12345-20261121-000123");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 36);
    }
}
