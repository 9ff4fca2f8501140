//! Deterministic sample values of every topic value type, shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use cityops_core::*;
use std::collections::BTreeMap;

pub const T0: i64 = 1_795_000_000_000; // 2026-11-18T...Z, a fixed instant

pub fn point() -> GeoPoint {
    GeoPoint {
        lat: 41.7962,
        lon: 123.3589,
    }
}

/// A `CityEvent` with every optional field set and non-empty collections.
pub fn city_event_full() -> CityEvent {
    CityEvent {
        event_id: event_id_for(Source::Hotline, "SY12345-20261121-000123"),
        source: Source::Hotline,
        source_id: "SY12345-20261121-000123".into(),
        occurred_at_ms: T0,
        received_at_ms: T0 + 1_500,
        location: Some(point()),
        address: Some("铁西区兴华南街58号".into()),
        district_hint: Some("铁西区".into()),
        text: Some("市民来电反映：小区内有燃气味".into()),
        channel: Some("phone".into()),
        request_type: Some("投诉".into()),
        device_id: Some("SY-GAS-000123".into()),
        device_type: Some("gas_detector".into()),
        metrics: BTreeMap::from([("ch4_lel".into(), 35.0), ("temp_c".into(), -12.5)]),
        device_event: Some("smoke_detected".into()),
        tags: BTreeMap::from([
            ("gateway".into(), "gw-7".into()),
            ("fw".into(), "1.2".into()),
        ]),
        reporter_hash: Some(
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        ),
        attachments: vec![
            "s3://cityops/att/1.jpg".into(),
            "s3://cityops/att/2.jpg".into(),
        ],
    }
}

/// A `CityEvent` with every optional field `None` and empty collections.
pub fn city_event_min() -> CityEvent {
    CityEvent {
        event_id: event_id_for(Source::Iot, "SY-GAS-000123@1795000000000"),
        source: Source::Iot,
        source_id: "SY-GAS-000123@1795000000000".into(),
        occurred_at_ms: 0,
        received_at_ms: -1,
        location: None,
        address: None,
        district_hint: None,
        text: None,
        channel: None,
        request_type: None,
        device_id: None,
        device_type: None,
        metrics: BTreeMap::new(),
        device_event: None,
        tags: BTreeMap::new(),
        reporter_hash: None,
        attachments: Vec::new(),
    }
}

pub fn incident_full() -> Incident {
    let event = city_event_full();
    Incident {
        incident_id: event.event_id.clone(),
        event,
        district_code: Some("210106".into()),
        district_name: Some("铁西区".into()),
        street_code: Some("210106001".into()),
        street_name: Some("兴华街道".into()),
        grid_code: Some("210106001-017".into()),
        location_precision: LocationPrecision::Point,
        h3_cell: Some("8a1e2b5a1d67fff".into()),
        scenario: ScenarioId::new("emergency"),
        category: CategoryId::new("gas_leak"),
        severity: Severity::Critical,
        actionable: true,
        classification: Classification {
            method: ClassifiedBy::Model,
            rule_id: Some("kw-gas".into()),
            confidence: 0.93,
            model_version: Some("nb-2026-11".into()),
        },
        catalogue_version: "2026.11.1".into(),
        enriched_at_ms: T0 + 2_000,
    }
}

pub fn incident_min() -> Incident {
    let event = city_event_min();
    Incident {
        incident_id: event.event_id.clone(),
        event,
        district_code: None,
        district_name: None,
        street_code: None,
        street_name: None,
        grid_code: None,
        location_precision: LocationPrecision::Unlocated,
        h3_cell: None,
        scenario: ScenarioId::new(""),
        category: CategoryId::new("unknown"),
        severity: Severity::Info,
        actionable: false,
        classification: Classification {
            method: ClassifiedBy::Triage,
            rule_id: None,
            confidence: 0.0,
            model_version: None,
        },
        catalogue_version: String::new(),
        enriched_at_ms: 0,
    }
}

pub fn work_order_full() -> WorkOrder {
    WorkOrder {
        order_id: "WO-20261121-000042".into(),
        incident_ids: vec!["inc-1".into(), "inc-2".into()],
        street_key: "210106001".into(),
        district_code: Some("210106".into()),
        owner: DepartmentId::new("gas_company"),
        co_departments: vec![
            DepartmentId::new("fire_rescue"),
            DepartmentId::new("tiexi_xinghua"),
        ],
        scenario: ScenarioId::new("emergency"),
        category: CategoryId::new("gas_leak"),
        severity: Severity::Urgent,
        status: OrderStatus::InProgress,
        location: Some(point()),
        device_id: Some("SY-GAS-000123".into()),
        created_at_ms: T0,
        accept_deadline_ms: Some(T0 + 600_000),
        resolve_deadline_ms: Some(T0 + 7_200_000),
        accepted_at_ms: Some(T0 + 120_000),
        resolved_at_ms: Some(T0 + 3_600_000),
        closed_at_ms: Some(T0 + 3_700_000),
        accept_warning: Some(WarningLevel::Yellow),
        resolve_warning: Some(WarningLevel::Red),
        extension_requested: true,
        satisfaction: Some(5),
        routing_reason: "燃气泄漏 → 燃气公司（目录 emergency/gas_leak）".into(),
        version: 7,
        updated_at_ms: T0 + 3_700_000,
    }
}

pub fn work_order_min() -> WorkOrder {
    WorkOrder {
        order_id: "WO-min".into(),
        incident_ids: Vec::new(),
        street_key: UNLOCATED_KEY.into(),
        district_code: None,
        owner: DepartmentId::new("command_center"),
        co_departments: Vec::new(),
        scenario: ScenarioId::new("city_management"),
        category: CategoryId::new("other"),
        severity: Severity::Normal,
        status: OrderStatus::Created,
        location: None,
        device_id: None,
        created_at_ms: 0,
        accept_deadline_ms: None,
        resolve_deadline_ms: None,
        accepted_at_ms: None,
        resolved_at_ms: None,
        closed_at_ms: None,
        accept_warning: None,
        resolve_warning: None,
        extension_requested: false,
        satisfaction: None,
        routing_reason: String::new(),
        version: 0,
        updated_at_ms: 0,
    }
}

pub fn work_order_event_full() -> WorkOrderEvent {
    WorkOrderEvent {
        transition_id: "WO-20261121-000042#7".into(),
        order_id: "WO-20261121-000042".into(),
        seq: 7,
        kind: TransitionKind::Escalated,
        actor: "dispatch".into(),
        at_ms: T0 + 3_700_000,
        status_before: Some(OrderStatus::Accepted),
        status_after: OrderStatus::InProgress,
        incident_id: Some("inc-2".into()),
        reason: Some("resolve clock at 100%".into()),
        note: Some("已通知主管".into()),
        deadline: Some(DeadlineKind::Resolve),
        warning: Some(WarningLevel::Red),
        new_deadline_ms: Some(T0 + 9_000_000),
        satisfaction: Some(4),
        rejected: true,
        rejection_reason: Some("illegal transition".into()),
        order: work_order_full(),
        prev_hash: "0".repeat(64),
        hash: "ab".repeat(32),
        command_id: Some("gas_company:gas-upd-0001".into()),
    }
}

pub fn work_order_event_min() -> WorkOrderEvent {
    WorkOrderEvent {
        transition_id: "WO-min#1".into(),
        order_id: "WO-min".into(),
        seq: 1,
        kind: TransitionKind::Created,
        actor: "dispatch".into(),
        at_ms: 0,
        status_before: None,
        status_after: OrderStatus::Created,
        incident_id: None,
        reason: None,
        note: None,
        deadline: None,
        warning: None,
        new_deadline_ms: None,
        satisfaction: None,
        rejected: false,
        rejection_reason: None,
        order: work_order_min(),
        prev_hash: "0".repeat(64),
        hash: "cd".repeat(32),
        command_id: None,
    }
}

pub fn department_update_full() -> DepartmentUpdate {
    DepartmentUpdate {
        update_id: "gas-upd-0001".into(),
        order_id: "WO-20261121-000042".into(),
        department: DepartmentId::new("gas_company"),
        action: UpdateAction::RequestExtension,
        note: Some("需更换主管道".into()),
        reason: Some("parts on order".into()),
        requested_deadline_ms: Some(T0 + 86_400_000),
        at_ms: T0 + 1_800_000,
    }
}

pub fn department_update_min() -> DepartmentUpdate {
    DepartmentUpdate {
        update_id: "u".into(),
        order_id: "o".into(),
        department: DepartmentId::new("d"),
        action: UpdateAction::Accept,
        note: None,
        reason: None,
        requested_deadline_ms: None,
        at_ms: i64::MAX,
    }
}

pub fn reading_full() -> Reading {
    Reading {
        event_id: "ev-reading-1".into(),
        device_id: "SY-GAS-000123".into(),
        device_type: "gas_detector".into(),
        at_ms: T0,
        location: Some(point()),
        metrics: BTreeMap::from([("ch4_lel".into(), 3.5)]),
        tags: BTreeMap::from([("gateway".into(), "gw-7".into())]),
        district_code: Some("210106".into()),
        street_code: Some("210106001".into()),
        grid_code: Some("210106001-017".into()),
    }
}

pub fn reading_min() -> Reading {
    Reading {
        event_id: "ev-reading-2".into(),
        device_id: "SY-WATER-9".into(),
        device_type: "water_level".into(),
        at_ms: i64::MIN,
        location: None,
        metrics: BTreeMap::new(),
        tags: BTreeMap::new(),
        district_code: None,
        street_code: None,
        grid_code: None,
    }
}

// Every variant of every enum of the model. The exhaustive matches make the compiler point
// here when a variant is added, so that the schema test covers it.

pub fn all_sources() -> Vec<Source> {
    let all = vec![
        Source::Iot,
        Source::Hotline,
        Source::Open311,
        Source::Inspector,
    ];
    for v in &all {
        match v {
            Source::Iot | Source::Hotline | Source::Open311 | Source::Inspector => {}
        }
    }
    all
}

pub fn all_severities() -> Vec<Severity> {
    for v in Severity::ALL {
        match v {
            Severity::Critical | Severity::Urgent | Severity::Normal | Severity::Info => {}
        }
    }
    Severity::ALL.to_vec()
}

pub fn all_classified_by() -> Vec<ClassifiedBy> {
    let all = vec![
        ClassifiedBy::Rule,
        ClassifiedBy::Model,
        ClassifiedBy::IotRule,
        ClassifiedBy::Triage,
    ];
    for v in &all {
        match v {
            ClassifiedBy::Rule
            | ClassifiedBy::Model
            | ClassifiedBy::IotRule
            | ClassifiedBy::Triage => {}
        }
    }
    all
}

pub fn all_location_precisions() -> Vec<LocationPrecision> {
    let all = vec![
        LocationPrecision::Point,
        LocationPrecision::Street,
        LocationPrecision::District,
        LocationPrecision::Unlocated,
    ];
    for v in &all {
        match v {
            LocationPrecision::Point
            | LocationPrecision::Street
            | LocationPrecision::District
            | LocationPrecision::Unlocated => {}
        }
    }
    all
}

pub fn all_order_statuses() -> Vec<OrderStatus> {
    use OrderStatus::*;
    let all = vec![
        Created, Dispatched, Accepted, InProgress, Resolved, Closed, Returned, Reopened,
    ];
    for v in &all {
        match v {
            Created | Dispatched | Accepted | InProgress | Resolved | Closed | Returned
            | Reopened => {}
        }
    }
    all
}

pub fn all_deadline_kinds() -> Vec<DeadlineKind> {
    let all = vec![DeadlineKind::Accept, DeadlineKind::Resolve];
    for v in &all {
        match v {
            DeadlineKind::Accept | DeadlineKind::Resolve => {}
        }
    }
    all
}

pub fn all_warning_levels() -> Vec<WarningLevel> {
    let all = vec![WarningLevel::Yellow, WarningLevel::Red];
    for v in &all {
        match v {
            WarningLevel::Yellow | WarningLevel::Red => {}
        }
    }
    all
}

pub fn all_transition_kinds() -> Vec<TransitionKind> {
    use TransitionKind::*;
    let all = vec![
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
    ];
    for v in &all {
        match v {
            Created | Dispatched | Accepted | ProgressReported | Resolved | Closed | Returned
            | ExtensionRequested | ExtensionGranted | Merged | Reopened | Escalated
            | SatisfactionRecorded => {}
        }
    }
    all
}

pub fn all_update_actions() -> Vec<UpdateAction> {
    use UpdateAction::*;
    let all = vec![Accept, Progress, Resolve, Return, RequestExtension];
    for v in &all {
        match v {
            Accept | Progress | Resolve | Return | RequestExtension => {}
        }
    }
    all
}

pub fn order_command_full() -> OrderCommand {
    OrderCommand {
        command_id: "command_center:cb-0001".into(),
        order_id: "WO-210106001-6adf9ebe35a5".into(),
        actor: "command_center".into(),
        channel: CommandChannel::Http,
        action: CommandAction::Redispatch,
        note: Some("现场核实".into()),
        reason: Some("属地街道负责".into()),
        deadline_ms: Some(T0 + 86_400_000),
        owner: Some("street_office.210106001".into()),
        category: Some("illegal_parking".into()),
        score: Some(5),
        refusal: Some("update names another department".into()),
        at_ms: T0 + 60_000,
    }
}

pub fn order_command_min() -> OrderCommand {
    OrderCommand {
        command_id: "c".into(),
        order_id: "o".into(),
        actor: "d".into(),
        channel: CommandChannel::Topic,
        action: CommandAction::Accept,
        note: None,
        reason: None,
        deadline_ms: None,
        owner: None,
        category: None,
        score: None,
        refusal: None,
        at_ms: 0,
    }
}

pub fn command_outcome_full() -> CommandOutcome {
    CommandOutcome {
        command_id: "command_center:cb-0001".into(),
        order_id: "WO-20261121-000042".into(),
        status: 409,
        applied: false,
        reason: Some("cannot close an order that is dispatched".into()),
        transition_id: Some("WO-20261121-000042#8".into()),
        order: Some(work_order_full()),
        at_ms: T0 + 61_000,
    }
}

pub fn command_outcome_min() -> CommandOutcome {
    CommandOutcome {
        command_id: "c".into(),
        order_id: "o".into(),
        status: 404,
        applied: false,
        reason: None,
        transition_id: None,
        order: None,
        at_ms: 0,
    }
}

pub fn all_command_actions() -> Vec<CommandAction> {
    use CommandAction::*;
    let all = vec![
        Accept,
        Progress,
        Resolve,
        Return,
        RequestExtension,
        Redispatch,
        GrantExtension,
        Close,
        Reopen,
        RecordSatisfaction,
    ];
    for v in &all {
        match v {
            Accept | Progress | Resolve | Return | RequestExtension | Redispatch
            | GrantExtension | Close | Reopen | RecordSatisfaction => {}
        }
    }
    all
}

pub fn all_command_channels() -> Vec<CommandChannel> {
    use CommandChannel::*;
    let all = vec![Http, Topic];
    for v in &all {
        match v {
            Http | Topic => {}
        }
    }
    all
}

/// The serde (snake_case) name of a unit enum variant.
pub fn serde_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}
