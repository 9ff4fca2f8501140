//! Domain values for tests: shared by the unit tests (`crate::fixtures`) and the integration
//! tests (`common::fixtures`). Only `cityops_core` paths, so it compiles in both places.

#![allow(dead_code)]

use cityops_core::{
    event_id_for, CategoryId, CityEvent, Classification, ClassifiedBy, DeadlineKind, DepartmentId,
    GeoPoint, Incident, LocationPrecision, OrderStatus, Reading, ScenarioId, Severity, Source,
    TransitionKind, WarningLevel, WorkOrder, WorkOrderEvent,
};
use std::collections::BTreeMap;

/// 2026-11-26T...Z, a fixed instant with a millisecond part.
pub const T0_MS: i64 = 1_795_738_500_123;

/// A hotline event whose id derives from `source_id`.
pub fn event(source_id: &str) -> CityEvent {
    CityEvent {
        event_id: event_id_for(Source::Hotline, source_id),
        source: Source::Hotline,
        source_id: source_id.to_owned(),
        occurred_at_ms: T0_MS,
        received_at_ms: T0_MS + 877,
        location: Some(GeoPoint {
            lat: 41.7962,
            lon: 123.3589,
        }),
        address: Some("铁西区兴华南街58号".to_owned()),
        district_hint: Some("铁西区".to_owned()),
        text: Some("市民来电反映：燃气味道很重".to_owned()),
        channel: Some("phone".to_owned()),
        request_type: Some("投诉".to_owned()),
        device_id: None,
        device_type: None,
        metrics: BTreeMap::from([("temp_c".to_owned(), -3.5), ("ch4_lel".to_owned(), 35.0)]),
        device_event: None,
        tags: BTreeMap::from([("vendor".to_owned(), "acme".to_owned())]),
        reporter_hash: Some("9f86d081".to_owned()),
        attachments: vec!["a1.jpg".to_owned()],
    }
}

/// The incident of [`event`]`(source_id)`.
pub fn incident(source_id: &str) -> Incident {
    let event = event(source_id);
    Incident {
        incident_id: event.event_id.clone(),
        district_code: Some("210106".to_owned()),
        district_name: Some("铁西区".to_owned()),
        street_code: Some("210106001".to_owned()),
        street_name: Some("兴华街道".to_owned()),
        grid_code: Some("210106001-07".to_owned()),
        location_precision: LocationPrecision::Point,
        h3_cell: Some("8a1f0a2d3b57fff".to_owned()),
        scenario: ScenarioId::new("gas"),
        category: CategoryId::new("gas_leak"),
        severity: Severity::Critical,
        actionable: true,
        classification: Classification {
            method: ClassifiedBy::IotRule,
            rule_id: Some("ch4_lel>=20".to_owned()),
            confidence: 1.0,
            model_version: None,
        },
        catalogue_version: "2026.11".to_owned(),
        enriched_at_ms: event.received_at_ms + 1_000,
        event,
    }
}

/// A reading of `device_id` at `at_ms`.
pub fn reading(device_id: &str, at_ms: i64) -> Reading {
    Reading {
        event_id: event_id_for(Source::Iot, &format!("{device_id}@{at_ms}")),
        device_id: device_id.to_owned(),
        device_type: "gas_detector".to_owned(),
        at_ms,
        location: None,
        metrics: BTreeMap::from([("ch4_lel".to_owned(), 3.0)]),
        tags: BTreeMap::new(),
        district_code: Some("210106".to_owned()),
        street_code: Some("210106001".to_owned()),
        grid_code: None,
    }
}

/// Order `order_id` at `version`.
pub fn order(order_id: &str, version: i64) -> WorkOrder {
    WorkOrder {
        order_id: order_id.to_owned(),
        incident_ids: vec![format!("inc-{order_id}")],
        street_key: "210106001".to_owned(),
        district_code: Some("210106".to_owned()),
        owner: DepartmentId::new("gas_company"),
        co_departments: vec![DepartmentId::new("street_office")],
        scenario: ScenarioId::new("gas"),
        category: CategoryId::new("gas_leak"),
        severity: Severity::Critical,
        status: OrderStatus::InProgress,
        location: Some(GeoPoint {
            lat: 41.7962,
            lon: 123.3589,
        }),
        device_id: None,
        created_at_ms: T0_MS,
        accept_deadline_ms: Some(T0_MS + 30 * 60_000),
        resolve_deadline_ms: Some(T0_MS + 4 * 3_600_000),
        accepted_at_ms: Some(T0_MS + 10 * 60_000),
        resolved_at_ms: None,
        closed_at_ms: None,
        accept_warning: None,
        resolve_warning: Some(WarningLevel::Red),
        extension_requested: true,
        satisfaction: None,
        routing_reason: "燃气泄漏归燃气公司".to_owned(),
        version,
        updated_at_ms: T0_MS + version * 60_000,
    }
}

/// Transition `seq` of order `order_id` (an acceptance).
pub fn transition(order_id: &str, seq: i64) -> WorkOrderEvent {
    let mut order = order(order_id, seq);
    order.status = OrderStatus::Accepted;
    WorkOrderEvent {
        transition_id: format!("{order_id}#{seq}"),
        order_id: order_id.to_owned(),
        seq,
        kind: TransitionKind::Accepted,
        actor: "gas_company".to_owned(),
        at_ms: T0_MS + seq * 60_000,
        status_before: Some(OrderStatus::Dispatched),
        status_after: OrderStatus::Accepted,
        incident_id: None,
        reason: None,
        note: Some("已签收".to_owned()),
        deadline: Some(DeadlineKind::Accept),
        warning: Some(WarningLevel::Yellow),
        new_deadline_ms: None,
        satisfaction: None,
        rejected: false,
        rejection_reason: None,
        order,
        prev_hash: "0".repeat(64),
        hash: "ab".repeat(32),
        command_id: None,
    }
}
