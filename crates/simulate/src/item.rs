//! What the simulator sends: 12345 tickets and IoT readings, in the JSON of
//! docs/integration.md, with what the simulator meant by them (kept, never sent).

use cityops_core::{event_id_for, Source};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use crate::time;

/// A 12345 hotline ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub ticket_id: String,
    pub received_at_ms: i64,
    pub channel: &'static str,
    pub request_type: &'static str,
    pub content: String,
    pub address: Option<String>,
    pub district: Option<String>,
    /// WGS-84, when the caller's position is known (app, WeChat, a located call).
    pub point: Option<(f64, f64)>,
    pub caller_phone: String,
    /// The category the simulator wrote the text for (not sent: the classifier decides).
    pub category: String,
    /// The street the ticket is about.
    pub street_code: String,
    /// A repeat call about an earlier ticket's issue.
    pub repeat: bool,
    /// The scripted episode it belongs to, if any.
    pub episode: Option<&'static str>,
}

/// An IoT reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub device_id: String,
    pub device_type: String,
    pub ts_ms: i64,
    pub point: (f64, f64),
    pub metrics: BTreeMap<String, f64>,
    /// A camera AI's event.
    pub event: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// The category the catalogue's rules give this reading (an alarm), `None` for telemetry.
    pub alarm: Option<String>,
    pub street_code: String,
    pub episode: Option<&'static str>,
}

/// One thing to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Ticket(Ticket),
    Reading(Reading),
}

impl Ticket {
    /// The ticket as the CRM sends it.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("ticket_id".into(), json!(self.ticket_id));
        m.insert(
            "received_at".into(),
            json!(time::rfc3339(self.received_at_ms)),
        );
        m.insert("channel".into(), json!(self.channel));
        m.insert("request_type".into(), json!(self.request_type));
        m.insert("content".into(), json!(self.content));
        if let Some(a) = &self.address {
            m.insert("address".into(), json!(a));
        }
        if let Some(d) = &self.district {
            m.insert("district".into(), json!(d));
        }
        if let Some((lat, lon)) = self.point {
            m.insert("lat".into(), json!(lat));
            m.insert("lon".into(), json!(lon));
        }
        m.insert("caller_phone".into(), json!(self.caller_phone));
        Value::Object(m)
    }

    /// Its `source_id` in `events` (the ticket id).
    pub fn source_id(&self) -> &str {
        &self.ticket_id
    }

    pub fn event_id(&self) -> String {
        event_id_for(Source::Hotline, &self.ticket_id)
    }
}

impl Reading {
    /// The reading as a gateway sends it.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("device_id".into(), json!(self.device_id));
        m.insert("device_type".into(), json!(self.device_type));
        m.insert("ts".into(), json!(time::rfc3339(self.ts_ms)));
        m.insert("lat".into(), json!(self.point.0));
        m.insert("lon".into(), json!(self.point.1));
        if !self.metrics.is_empty() {
            m.insert("metrics".into(), json!(self.metrics));
        }
        if let Some(e) = &self.event {
            m.insert("event".into(), json!(e));
        }
        if !self.tags.is_empty() {
            m.insert("tags".into(), json!(self.tags));
        }
        Value::Object(m)
    }

    /// Its `source_id` in `events`: `<device_id>@<ts in ms>`, as ingest computes it.
    pub fn source_id(&self) -> String {
        format!("{}@{}", self.device_id, self.ts_ms)
    }

    pub fn event_id(&self) -> String {
        event_id_for(Source::Iot, &self.source_id())
    }
}

impl Item {
    pub fn at_ms(&self) -> i64 {
        match self {
            Item::Ticket(t) => t.received_at_ms,
            Item::Reading(r) => r.ts_ms,
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Item::Ticket(t) => t.to_json(),
            Item::Reading(r) => r.to_json(),
        }
    }

    pub fn source_id(&self) -> String {
        match self {
            Item::Ticket(t) => t.ticket_id.clone(),
            Item::Reading(r) => r.source_id(),
        }
    }

    pub fn event_id(&self) -> String {
        match self {
            Item::Ticket(t) => t.event_id(),
            Item::Reading(r) => r.event_id(),
        }
    }

    pub fn episode(&self) -> Option<&'static str> {
        match self {
            Item::Ticket(t) => t.episode,
            Item::Reading(r) => r.episode,
        }
    }
}
