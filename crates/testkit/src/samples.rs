//! Domain values for tests: a ticket's or a reading's canonical event with sensible defaults,
//! to be adjusted field by field.

use cityops_core::{event_id_for, CityEvent, GeoPoint, Source};
use std::collections::BTreeMap;

/// A 12345 ticket's event, occurring at `occurred_at_ms`.
pub fn ticket(source_id: &str, text: &str, occurred_at_ms: i64) -> CityEvent {
    CityEvent {
        event_id: event_id_for(Source::Hotline, source_id),
        source: Source::Hotline,
        source_id: source_id.to_owned(),
        occurred_at_ms,
        received_at_ms: occurred_at_ms + 1_000,
        location: None,
        address: None,
        district_hint: None,
        text: Some(text.to_owned()),
        channel: Some("phone".into()),
        request_type: None,
        device_id: None,
        device_type: None,
        metrics: BTreeMap::new(),
        device_event: None,
        tags: BTreeMap::new(),
        reporter_hash: None,
        attachments: vec![],
    }
}

/// An IoT reading's event with one metric, at `point`.
pub fn reading(
    device: &str,
    device_type: &str,
    metric: &str,
    value: f64,
    point: GeoPoint,
    at_ms: i64,
) -> CityEvent {
    let id = format!("{device}@{at_ms}");
    CityEvent {
        event_id: event_id_for(Source::Iot, &id),
        source: Source::Iot,
        source_id: id,
        location: Some(point),
        text: None,
        channel: None,
        device_id: Some(device.to_owned()),
        device_type: Some(device_type.to_owned()),
        metrics: BTreeMap::from([(metric.to_owned(), value)]),
        ..ticket("", "", at_ms)
    }
}
