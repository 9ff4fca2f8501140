//! Incidents and work-order transitions for the dispatch tests.

use cityops_avro::Codec;
use cityops_bus::{KafkaConfig, OutRecord, Producer, Record};
use cityops_core::*;
use std::collections::BTreeMap;

use crate::{all_records, read_n, samples};

/// An actionable incident of `category` on `street`, at `(lat, lon)`.
pub fn incident(
    id: &str,
    category: &str,
    scenario: &str,
    severity: Severity,
    street: &str,
    (lat, lon): (f64, f64),
    at_ms: i64,
) -> Incident {
    let mut event = samples::ticket(id, "测试", at_ms);
    event.location = Some(GeoPoint { lat, lon });
    Incident {
        incident_id: event.event_id.clone(),
        event,
        district_code: Some(street[..6].to_owned()),
        district_name: Some("铁西区".into()),
        street_code: Some(street.to_owned()),
        street_name: Some("兴华街道".into()),
        grid_code: None,
        location_precision: LocationPrecision::Point,
        h3_cell: None,
        scenario: ScenarioId::from(scenario),
        category: CategoryId::from(category),
        severity,
        actionable: true,
        classification: Classification {
            method: ClassifiedBy::Rule,
            rule_id: Some("test".into()),
            confidence: 1.0,
            model_version: None,
        },
        catalogue_version: "test".into(),
        enriched_at_ms: at_ms,
    }
}

/// Produces incidents to `topic`, keyed by street as enrich does.
pub async fn produce(producer: &Producer, codec: &Codec, topic: &str, incidents: &[Incident]) {
    for i in incidents {
        let bytes = codec.encode(topic, i).await.expect("encode");
        producer
            .send(&OutRecord::new(topic, i.partition_key(), bytes))
            .await
            .expect("produce");
    }
}

/// The first `n` transitions of `topic`, checking each is keyed by its street.
pub async fn transitions(kafka: &KafkaConfig, topic: &str, n: usize) -> Vec<WorkOrderEvent> {
    decode_transitions(&read_n(kafka, topic, n).await, &Codec::single_object()).await
}

/// Every transition on `topic` so far (each partition read up to its end, as dispatch replays
/// it), decoded by `codec`, each checked to be keyed by its street.
pub async fn all_transitions(
    kafka: &KafkaConfig,
    topic: &str,
    codec: &Codec,
) -> Vec<WorkOrderEvent> {
    decode_transitions(&all_records(kafka, topic).await, codec).await
}

async fn decode_transitions(records: &[Record], codec: &Codec) -> Vec<WorkOrderEvent> {
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        let e: WorkOrderEvent = codec
            .decode(r.payload.as_deref().unwrap_or_default())
            .await
            .expect("a transition");
        assert_eq!(
            r.key.as_deref(),
            Some(e.order.street_key.as_bytes()),
            "keyed by street"
        );
        out.push(e);
    }
    out
}

/// Transitions by order, each chain in `seq` order.
pub fn by_order(events: &[WorkOrderEvent]) -> BTreeMap<String, Vec<WorkOrderEvent>> {
    let mut m: BTreeMap<String, Vec<WorkOrderEvent>> = BTreeMap::new();
    for e in events {
        m.entry(e.order_id.clone()).or_default().push(e.clone());
    }
    for chain in m.values_mut() {
        chain.sort_by_key(|e| e.seq);
    }
    m
}

/// A work order as it stands after `version` transitions, for tests that write orders
/// straight to the work-order topic (readers such as the sink and the cockpit).
pub fn work_order(
    order_id: &str,
    incident: &Incident,
    owner: &str,
    status: OrderStatus,
    version: i64,
) -> WorkOrder {
    let at = incident.event.occurred_at_ms;
    WorkOrder {
        order_id: order_id.to_owned(),
        incident_ids: vec![incident.incident_id.clone()],
        street_key: incident.partition_key().to_owned(),
        district_code: incident.district_code.clone(),
        owner: DepartmentId::from(owner),
        co_departments: vec![],
        scenario: incident.scenario.clone(),
        category: incident.category.clone(),
        severity: incident.severity,
        status,
        location: incident.event.location,
        device_id: None,
        created_at_ms: at,
        accept_deadline_ms: Some(at + 600_000),
        resolve_deadline_ms: Some(at + 3_600_000),
        accepted_at_ms: None,
        resolved_at_ms: None,
        closed_at_ms: None,
        accept_warning: None,
        resolve_warning: None,
        extension_requested: false,
        satisfaction: None,
        routing_reason: "test".into(),
        version,
        updated_at_ms: at + version,
    }
}

/// Transition `seq` of `order` (the order as it stands after it).
pub fn transition(order: &WorkOrder, seq: i64, kind: TransitionKind) -> WorkOrderEvent {
    WorkOrderEvent {
        transition_id: format!("{}#{seq}", order.order_id),
        order_id: order.order_id.clone(),
        seq,
        kind,
        actor: "dispatch".into(),
        at_ms: order.updated_at_ms,
        status_before: None,
        status_after: order.status,
        incident_id: None,
        reason: None,
        note: None,
        deadline: None,
        warning: None,
        new_deadline_ms: None,
        satisfaction: None,
        rejected: false,
        rejection_reason: None,
        order: order.clone(),
        prev_hash: "0".repeat(64),
        hash: format!("{seq:064}"),
        command_id: None,
    }
}

/// Produces transitions to `topic`, keyed by street as dispatch does.
pub async fn produce_transitions(
    producer: &Producer,
    codec: &Codec,
    topic: &str,
    transitions: &[WorkOrderEvent],
) {
    for t in transitions {
        let bytes = codec.encode(topic, t).await.expect("encode");
        producer
            .send(&OutRecord::new(topic, t.order.street_key.as_str(), bytes))
            .await
            .expect("produce");
    }
}
