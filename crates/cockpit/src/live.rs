//! The live feed: new incidents and escalations, read from the end of their topics (a live
//! view, not a queue: nothing is committed) and fanned out to every browser through a bounded
//! broadcast buffer, so a slow client loses events (it catches up from `/api/v1/incidents`)
//! and never holds the others back.

use cityops_avro::Codec;
use cityops_bus::replay::Tail;
use cityops_bus::KafkaConfig;
use cityops_core::{Incident, TransitionKind, WorkOrderEvent};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

use crate::names::Names;
use crate::views::{incident_view, report_summary};

/// One server-sent event, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    /// `incident` or `escalation`.
    pub kind: &'static str,
    pub id: String,
    /// One line of JSON.
    pub data: String,
}

/// The event an incident makes.
pub fn incident_event(names: &Names, incident: &Incident) -> LiveEvent {
    let e = &incident.event;
    let view = incident_view(
        names,
        &incident.incident_id,
        incident.scenario.as_str(),
        incident.category.as_str(),
        &json!(incident.severity),
        e.location.map(|p| (p.lat, p.lon)),
        incident.district_code.as_deref(),
        incident.street_code.as_deref(),
        e.occurred_at_ms,
        report_summary(
            names,
            e.text.as_deref(),
            e.device_type.as_deref(),
            e.device_id.as_deref(),
            e.address.as_deref(),
        ),
    );
    LiveEvent {
        kind: "incident",
        id: incident.incident_id.clone(),
        data: view.to_string(),
    }
}

/// The event a transition makes: only applied escalations (yellow and red warnings) show.
pub fn escalation_event(names: &Names, t: &WorkOrderEvent) -> Option<LiveEvent> {
    if t.kind != TransitionKind::Escalated || t.rejected {
        return None;
    }
    let o = &t.order;
    let data = json!({
        "transition_id": t.transition_id,
        "order_id": t.order_id,
        "owner": o.owner.as_str(),
        "owner_name": names.department_name(o.owner.as_str()),
        "warning": t.warning,
        "clock": t.deadline,
        "at_ms": t.at_ms,
        "category_name": names.category_name(o.category.as_str()),
        "street_key": o.street_key,
        "district_code": o.district_code,
        "scenario": o.scenario.as_str(),
    });
    Some(LiveEvent {
        kind: "escalation",
        id: t.transition_id.clone(),
        data: data.to_string(),
    })
}

/// Follows `topic` from its end and sends what `render` makes of each record.
async fn follow<F>(
    kafka: KafkaConfig,
    topic: String,
    codec: Codec,
    tx: broadcast::Sender<LiveEvent>,
    shutdown: cityops_telemetry::Shutdown,
    render: F,
) where
    F: Fn(&Codec, &[u8]) -> Option<LiveEvent>,
{
    let tail = loop {
        match Tail::follow(&kafka, &topic, Duration::from_secs(10)).await {
            Ok(t) => break t,
            Err(e) => {
                tracing::warn!(%topic, error = %e, "cannot follow the topic yet; retrying");
                tokio::select! {
                    () = shutdown.wait() => return,
                    () = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
            }
        }
    };
    loop {
        let record = tokio::select! {
            () = shutdown.wait() => return,
            r = tail.recv() => r,
        };
        match record {
            Ok(r) => {
                let payload = r.payload.as_deref().unwrap_or_default();
                // A schema the registry must first tell (waiting out an outage), so that the
                // event is shown rather than skipped as undecodable.
                if let Some(wait) = codec.writer_schema_wait(payload) {
                    let known = tokio::select! {
                        () = shutdown.wait() => return,
                        known = wait => known,
                    };
                    if let Err(e) = known {
                        tracing::warn!(%topic, error = %e, "a record's schema is unknown to the registry; skipped");
                        continue;
                    }
                }
                if let Some(event) = render(&codec, payload) {
                    // No receiver is fine: nobody is watching right now.
                    let _ = tx.send(event);
                }
            }
            Err(e) => {
                tracing::warn!(%topic, error = %e, "live feed read failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Starts following the incidents and work-order topics; returns the sender every stream
/// subscribes to.
pub fn start(
    kafka: &KafkaConfig,
    codec: Codec,
    names: Arc<Names>,
    buffer: usize,
    shutdown: cityops_telemetry::Shutdown,
) -> broadcast::Sender<LiveEvent> {
    let (tx, _) = broadcast::channel(buffer.max(16));
    let incident_names = names.clone();
    tokio::spawn(follow(
        kafka.clone(),
        kafka.topics.incidents.clone(),
        codec.clone(),
        tx.clone(),
        shutdown.clone(),
        move |codec, bytes| {
            let incident: Incident = codec
                .decode_cached(bytes)
                .map_err(|e| tracing::debug!(error = %e, "undecodable incident skipped"))
                .ok()?;
            Some(incident_event(&incident_names, &incident))
        },
    ));
    tokio::spawn(follow(
        kafka.clone(),
        kafka.topics.workorder_events.clone(),
        codec,
        tx.clone(),
        shutdown,
        move |codec, bytes| {
            let t: WorkOrderEvent = codec
                .decode_cached(bytes)
                .map_err(|e| tracing::debug!(error = %e, "undecodable transition skipped"))
                .ok()?;
            escalation_event(&names, &t)
        },
    ));
    tx
}
