//! Raw input → canonical [`CityEvent`]: every field checked, every problem named, nothing of
//! a rejected item kept.
//!
//! Times: RFC 3339 with an offset is honoured (`2026-11-21T08:15:00+08:00`, `...Z`); a time
//! without an offset (`2026-11-21 08:15:00`, `2026-11-21T08:15:00`) is China Standard Time
//! (UTC+8, no daylight saving); an integer is milliseconds since the Unix epoch. Text is
//! trimmed and NFC-normalised. Coordinates are range-checked and, when the input datum is
//! GCJ-02, converted to WGS-84.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use cityops_core::{event_id_for, CityEvent, GeoPoint, Source};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use unicode_normalization::UnicodeNormalization;

use crate::coords::{gcj02_to_wgs84, Datum};
use crate::pii::{mask_text, ReporterKey};

/// Limits and choices of intake, from the `[ingest]` config.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntakeRules {
    /// Longest ticket text, in characters.
    pub max_text_chars: usize,
    /// Longest id (ticket id, device id), in characters.
    pub max_id_chars: usize,
    /// How far in the future a time may be (clock skew), in seconds.
    pub max_future_skew_s: i64,
    /// Datum of incoming coordinates.
    pub datum: Datum,
    /// Most metrics one reading may carry.
    pub max_metrics: usize,
}

impl Default for IntakeRules {
    fn default() -> Self {
        Self {
            max_text_chars: 4000,
            max_id_chars: 128,
            max_future_skew_s: 300,
            datum: Datum::Wgs84,
            max_metrics: 64,
        }
    }
}

/// One thing wrong with an input item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The field, as the sender named it (`lat`, `metrics.ch4_lel`, `body`).
    pub field: String,
    /// Why, in words the sender can act on.
    pub reason: String,
}

/// Why an item was rejected: every wrong field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub errors: Vec<FieldError>,
}

impl Rejection {
    pub fn one(field: &str, reason: impl Into<String>) -> Self {
        Self {
            errors: vec![FieldError {
                field: field.to_owned(),
                reason: reason.into(),
            }],
        }
    }

    /// The short reason of the first error, for a metric label (a fixed vocabulary).
    pub fn label(&self) -> &'static str {
        self.errors
            .first()
            .map_or("invalid", |e| reason_label(&e.field))
    }
}

fn reason_label(field: &str) -> &'static str {
    match field.split('.').next().unwrap_or(field) {
        "body" => "malformed",
        "content" => "content",
        "received_at" | "ts" => "time",
        "lat" | "lon" => "coordinates",
        "location" => "location",
        "device_type" => "device_type",
        "metrics" => "metrics",
        "ticket_id" | "device_id" => "id",
        _ => "field",
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field, e.reason)?;
        }
        Ok(())
    }
}

/// What a device type must report, from the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceNeeds {
    pub metrics: Vec<String>,
    /// The event names a camera-AI device may report; when not empty, a reading must carry
    /// one of them.
    pub events: Vec<String>,
}

/// The device types the catalogue knows.
pub trait DeviceCatalogue {
    /// What `device_type` must report; `None` when the type is unknown.
    fn needs(&self, device_type: &str) -> Option<DeviceNeeds>;
    /// Every known type, for error messages.
    fn known_types(&self) -> Vec<String>;
}

impl DeviceCatalogue for cityops_core::catalogue::Catalogue {
    fn needs(&self, device_type: &str) -> Option<DeviceNeeds> {
        self.device_type(device_type).map(|d| DeviceNeeds {
            metrics: d.required_metrics.clone(),
            events: d.events.keys().cloned().collect(),
        })
    }

    fn known_types(&self) -> Vec<String> {
        self.device_types().map(|d| d.id.clone()).collect()
    }
}

struct Obj<'a> {
    map: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl<'a> Obj<'a> {
    fn err(&mut self, field: &str, reason: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_owned(),
            reason: reason.into(),
        });
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn opt_str(&mut self, name: &str, max_chars: usize) -> Option<String> {
        match self.get(name) {
            None => None,
            Some(Value::String(s)) => {
                let s = normalize_text(s);
                if s.chars().count() > max_chars {
                    self.err(
                        name,
                        format!(
                            "is {} characters, more than the limit of {max_chars}",
                            s.chars().count()
                        ),
                    );
                    None
                } else if s.is_empty() {
                    None
                } else {
                    Some(s)
                }
            }
            Some(other) => {
                self.err(name, format!("must be a string, not {}", kind(other)));
                None
            }
        }
    }

    fn req_str(&mut self, name: &str, max_chars: usize) -> Option<String> {
        let present = self.get(name).is_some();
        let before = self.errors.len();
        let v = self.opt_str(name, max_chars);
        if v.is_none() && self.errors.len() == before {
            self.err(name, if present { "is empty" } else { "is missing" });
        }
        v
    }

    fn opt_f64(&mut self, name: &str) -> Option<f64> {
        match self.get(name) {
            None => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => match s.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Some(v),
                _ => {
                    self.err(name, format!("{s:?} is not a number"));
                    None
                }
            },
            Some(other) => {
                self.err(name, format!("must be a number, not {}", kind(other)));
                None
            }
        }
    }

    fn time(&mut self, name: &str, now_ms: i64, rules: &IntakeRules) -> Option<i64> {
        let ms = match self.get(name) {
            None => {
                self.err(name, "is missing");
                return None;
            }
            Some(Value::Number(n)) => match n.as_i64() {
                Some(ms) => ms,
                None => {
                    self.err(
                        name,
                        "a numeric time must be whole milliseconds since 1970-01-01T00:00:00Z",
                    );
                    return None;
                }
            },
            Some(Value::String(s)) => match parse_time(s) {
                Some(ms) => ms,
                None => {
                    self.err(name, format!("{s:?} is not a time: use RFC 3339, e.g. 2026-11-21T08:15:00+08:00 (no offset means China Standard Time)"));
                    return None;
                }
            },
            Some(other) => {
                self.err(name, format!("must be a time string, not {}", kind(other)));
                return None;
            }
        };
        if ms > now_ms + rules.max_future_skew_s * 1000 {
            self.err(
                name,
                format!(
                    "is {} s in the future (more than the allowed clock skew of {} s)",
                    (ms - now_ms) / 1000,
                    rules.max_future_skew_s
                ),
            );
            return None;
        }
        if ms < 946_684_800_000 {
            self.err(
                name,
                "is before 2000-01-01: check the unit (milliseconds) or the date",
            );
            return None;
        }
        Some(ms)
    }

    fn point(&mut self, rules: &IntakeRules) -> Option<GeoPoint> {
        let lat = self.opt_f64("lat");
        let lon = self.opt_f64("lon");
        match (
            lat,
            lon,
            self.get("lat").is_some(),
            self.get("lon").is_some(),
        ) {
            (Some(lat), Some(lon), _, _) => {
                let mut ok = true;
                if !(-90.0..=90.0).contains(&lat) {
                    self.err("lat", format!("latitude {lat} is out of range -90..90"));
                    ok = false;
                }
                if !(-180.0..=180.0).contains(&lon) {
                    self.err("lon", format!("longitude {lon} is out of range -180..180"));
                    ok = false;
                }
                if ok && lat == 0.0 && lon == 0.0 {
                    self.err("lat", "0,0 is not a place in the city: send no coordinates when the position is unknown");
                    ok = false;
                }
                ok.then(|| {
                    let (lat, lon) = match rules.datum {
                        Datum::Wgs84 => (lat, lon),
                        Datum::Gcj02 => gcj02_to_wgs84(lat, lon),
                    };
                    GeoPoint { lat, lon }
                })
            }
            (_, _, true, false) => {
                self.err("lon", "is missing: lat and lon come together");
                None
            }
            (_, _, false, true) => {
                self.err("lat", "is missing: lat and lon come together");
                None
            }
            _ => None,
        }
    }

    fn string_map(&mut self, name: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        match self.get(name) {
            None => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    match v {
                        Value::String(s) => {
                            out.insert(k.clone(), normalize_text(s));
                        }
                        Value::Bool(b) => {
                            out.insert(k.clone(), b.to_string());
                        }
                        Value::Number(n) => {
                            out.insert(k.clone(), n.to_string());
                        }
                        other => self.err(
                            &format!("{name}.{k}"),
                            format!("must be a string, not {}", kind(other)),
                        ),
                    }
                }
            }
            Some(other) => self.err(
                name,
                format!("must be an object of strings, not {}", kind(other)),
            ),
        }
        out
    }

    fn strings(&mut self, name: &str) -> Vec<String> {
        match self.get(name) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| match v {
                    Value::String(s) => Some(normalize_text(s)),
                    other => {
                        self.err(
                            &format!("{name}[{i}]"),
                            format!("must be a string, not {}", kind(other)),
                        );
                        None
                    }
                })
                .collect(),
            Some(other) => {
                self.err(
                    name,
                    format!("must be an array of strings, not {}", kind(other)),
                );
                Vec::new()
            }
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Trims and NFC-normalises text (full-width and composed forms made canonical).
pub fn normalize_text(s: &str) -> String {
    let s = s.trim();
    // Almost all text already is NFC: the quick check answers that without composing.
    if unicode_normalization::is_nfc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes {
        s.to_owned()
    } else {
        s.nfc().collect()
    }
}

/// China Standard Time, assumed for times without an offset.
pub fn china_standard_time() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("8 h is a valid offset"))
}

/// Parses a time into UTC milliseconds (see the module docs for the accepted forms).
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(t.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return china_standard_time()
                .from_local_datetime(&naive)
                .single()
                .map(|t| t.timestamp_millis());
        }
    }
    None
}

fn object(value: &Value) -> Result<&Map<String, Value>, Rejection> {
    value.as_object().ok_or_else(|| {
        Rejection::one(
            "body",
            format!("an item must be a JSON object, not {}", kind(value)),
        )
    })
}

fn finish<T>(obj: Obj<'_>, value: Option<T>) -> Result<T, Rejection> {
    match value {
        Some(v) if obj.errors.is_empty() => Ok(v),
        _ => Err(Rejection { errors: obj.errors }),
    }
}

/// A 12345 ticket (or an Open311 request, with `source = open311`) → its canonical event.
/// The caller's phone becomes a keyed hash; the caller's name is dropped.
pub fn ticket_to_event(
    value: &Value,
    source: Source,
    rules: &IntakeRules,
    key: &ReporterKey,
    now_ms: i64,
) -> Result<CityEvent, Rejection> {
    let mut o = Obj {
        map: object(value)?,
        errors: Vec::new(),
    };
    let ticket_id = o.req_str("ticket_id", rules.max_id_chars);
    let received_at = o.time("received_at", now_ms, rules);
    let content = o.req_str("content", rules.max_text_chars);
    let channel = o.opt_str("channel", 32);
    let request_type = o.opt_str("request_type", 32);
    let address = o.opt_str("address", 512);
    let district = o.opt_str("district", 64);
    let location = o.point(rules);
    let attachments = o.strings("attachments");
    let caller_phone = match o.get("caller_phone") {
        Some(Value::String(p)) => Some(p.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let caller_name = o
        .get("caller_name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let content = content.map(|t| mask_text(&t, caller_phone.as_deref(), caller_name.as_deref()));
    let address = address.map(|t| mask_text(&t, caller_phone.as_deref(), caller_name.as_deref()));
    let reporter_hash = match o.get("caller_phone") {
        None => None,
        Some(Value::String(p)) => key.hash_phone(p),
        Some(Value::Number(n)) => key.hash_phone(&n.to_string()),
        // Never echo the value: it is personal data.
        Some(other) => {
            o.err(
                "caller_phone",
                format!("must be a string, not {}", kind(other)),
            );
            None
        }
    };
    if location.is_none() && address.is_none() && district.is_none() && o.get("lat").is_none() {
        o.err(
            "location",
            "a ticket needs lat/lon, an address or at least a district",
        );
    }
    let event = match (ticket_id, received_at, content) {
        (Some(id), Some(at), Some(text)) => Some(CityEvent {
            event_id: event_id_for(source, &id),
            source,
            source_id: id,
            occurred_at_ms: at,
            received_at_ms: now_ms,
            location,
            address,
            district_hint: district,
            text: Some(text),
            channel,
            request_type,
            device_id: None,
            device_type: None,
            metrics: BTreeMap::new(),
            device_event: None,
            tags: BTreeMap::new(),
            reporter_hash,
            attachments,
        }),
        _ => None,
    };
    finish(o, event)
}

/// An IoT reading → its canonical event. Its source id is `<device_id>@<ts in ms>`, so a
/// redelivered reading is the same event.
pub fn reading_to_event(
    value: &Value,
    rules: &IntakeRules,
    devices: &dyn DeviceCatalogue,
    now_ms: i64,
) -> Result<CityEvent, Rejection> {
    let mut o = Obj {
        map: object(value)?,
        errors: Vec::new(),
    };
    let device_id = o.req_str("device_id", rules.max_id_chars);
    let device_type = o.req_str("device_type", 64);
    let ts = o.time("ts", now_ms, rules);
    let location = o.point(rules);
    let device_event = o.opt_str("event", 64);
    let tags = o.string_map("tags");
    let mut metrics = BTreeMap::new();
    match o.get("metrics") {
        None => {}
        Some(Value::Object(m)) if m.len() > rules.max_metrics => {
            o.err(
                "metrics",
                format!(
                    "has {} metrics, more than the limit of {}",
                    m.len(),
                    rules.max_metrics
                ),
            );
        }
        Some(Value::Object(m)) => {
            for (k, v) in m {
                match v.as_f64().filter(|f| f.is_finite()) {
                    Some(f) => {
                        metrics.insert(k.clone(), f);
                    }
                    None => o.err(
                        &format!("metrics.{k}"),
                        format!("must be a number, not {}", kind(v)),
                    ),
                }
            }
        }
        Some(other) => o.err(
            "metrics",
            format!("must be an object of numbers, not {}", kind(other)),
        ),
    }
    if let Some(t) = &device_type {
        match devices.needs(t) {
            None => o.err(
                "device_type",
                format!(
                    "unknown device type {t:?}; known types: {}",
                    devices.known_types().join(", ")
                ),
            ),
            Some(needs) => {
                for m in &needs.metrics {
                    if !metrics.contains_key(m)
                        && !o.errors.iter().any(|e| e.field == format!("metrics.{m}"))
                    {
                        o.err(
                            &format!("metrics.{m}"),
                            format!("is missing: a {t} reading must report {m}"),
                        );
                    }
                }
                if !needs.events.is_empty() {
                    let expected = needs.events.join(", ");
                    match &device_event {
                        None => o.err(
                            "event",
                            format!("is missing: a {t} reading must name its event ({expected})"),
                        ),
                        Some(e) if !needs.events.contains(e) => o.err(
                            "event",
                            format!("{e:?} is not an event of {t}; expected one of: {expected}"),
                        ),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    let event = match (device_id, device_type, ts) {
        (Some(id), Some(t), Some(at)) => Some(CityEvent {
            event_id: event_id_for(Source::Iot, &format!("{id}@{at}")),
            source: Source::Iot,
            source_id: format!("{id}@{at}"),
            occurred_at_ms: at,
            received_at_ms: now_ms,
            location,
            address: None,
            district_hint: None,
            text: None,
            channel: None,
            request_type: None,
            device_id: Some(id),
            device_type: Some(t),
            metrics,
            device_event,
            tags,
            reporter_hash: None,
            attachments: Vec::new(),
        }),
        _ => None,
    };
    finish(o, event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The shipped catalogue: the device types and their required metrics.
    fn devices() -> cityops_core::catalogue::Catalogue {
        cityops_core::catalogue::Catalogue::from_toml_str(include_str!(
            "../../../config/catalogue.toml"
        ))
        .expect("shipped catalogue")
    }

    const NOW: i64 = 1_795_000_000_000; // 2026-11-18

    fn ticket() -> Value {
        json!({"ticket_id": "SY12345-20261121-000123", "received_at": "2026-11-17T08:15:00+08:00",
               "channel": "phone", "request_type": "投诉", "content": "  市民来电反映：路灯不亮。 ",
               "address": "铁西区兴华南街58号", "district": "铁西区", "lat": 41.7962, "lon": 123.3589,
               "caller_phone": "13800001234", "caller_name": "张先生", "attachments": []})
    }

    fn key() -> ReporterKey {
        ReporterKey::new("test-secret")
    }

    #[test]
    fn a_ticket_becomes_its_event() {
        let e = ticket_to_event(
            &ticket(),
            Source::Hotline,
            &IntakeRules::default(),
            &key(),
            NOW,
        )
        .expect("valid");
        assert_eq!(
            e.event_id,
            event_id_for(Source::Hotline, "SY12345-20261121-000123")
        );
        assert_eq!(
            e.occurred_at_ms,
            parse_time("2026-11-17T00:15:00Z").expect("time")
        );
        assert_eq!(e.text.as_deref(), Some("市民来电反映：路灯不亮。"));
        assert_eq!(e.reporter_hash, key().hash_phone("13800001234"));
        let json = serde_json::to_string(&e).expect("json");
        assert!(
            !json.contains("13800001234") && !json.contains("张先生"),
            "{json}"
        );
    }

    #[test]
    fn times_without_offset_are_china_standard_time() {
        assert_eq!(
            parse_time("2026-11-21 08:15:00"),
            parse_time("2026-11-21T00:15:00Z")
        );
        assert_eq!(
            parse_time("2026-11-21T08:15:00"),
            parse_time("2026-11-21T08:15:00+08:00")
        );
        assert_eq!(
            parse_time("2026-11-21T08:15:00-05:00"),
            parse_time("2026-11-21T13:15:00Z")
        );
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn text_is_nfc_normalised() {
        // "é" as e + combining acute becomes one code point.
        assert_eq!(normalize_text(" Cafe\u{301} "), "Caf\u{e9}");
    }

    #[test]
    fn gcj02_input_is_converted() {
        let rules = IntakeRules {
            datum: Datum::Gcj02,
            ..IntakeRules::default()
        };
        let e = ticket_to_event(&ticket(), Source::Hotline, &rules, &key(), NOW).expect("valid");
        let p = e.location.expect("point");
        assert!((p.lat - 41.7962).abs() > 1e-4 && (p.lat - 41.7962).abs() < 1e-2);
    }

    #[test]
    fn a_reading_becomes_its_event_with_a_stable_id() {
        let r = json!({"device_id": "SY-GAS-000123", "device_type": "gas_detector",
                       "ts": "2026-11-17T08:15:00+08:00", "lat": 41.80, "lon": 123.40,
                       "metrics": {"ch4_lel": 35.0}, "event": null, "tags": {"site": "b1"}});
        let a = reading_to_event(&r, &IntakeRules::default(), &devices(), NOW).expect("valid");
        let b = reading_to_event(&r, &IntakeRules::default(), &devices(), NOW + 5).expect("valid");
        assert_eq!(a.event_id, b.event_id);
        assert_eq!(a.metrics.get("ch4_lel"), Some(&35.0));
        assert_eq!(a.source, Source::Iot);
    }

    /// Every malformed input, with the field it must be blamed on.
    #[test]
    fn malformed_inputs_name_the_wrong_field() {
        let t = |patch: Value| {
            let mut v = ticket();
            for (k, val) in patch.as_object().expect("patch").clone() {
                if val == json!("__remove__") {
                    v.as_object_mut().expect("obj").remove(&k);
                } else {
                    v[&k] = val;
                }
            }
            ticket_to_event(&v, Source::Hotline, &IntakeRules::default(), &key(), NOW).map(|_| ())
        };
        let r =
            |v: Value| reading_to_event(&v, &IntakeRules::default(), &devices(), NOW).map(|_| ());
        let gas = |patch: Value| {
            let mut v = json!({"device_id": "SY-GAS-1", "device_type": "gas_detector", "ts": "2026-11-17T08:15:00+08:00", "metrics": {"ch4_lel": 1.0}});
            for (k, val) in patch.as_object().expect("patch").clone() {
                v[&k] = val;
            }
            r(v)
        };
        let cases: Vec<(&str, Result<(), Rejection>, &str)> = vec![
            (
                "missing content",
                t(json!({"content": "__remove__"})),
                "content",
            ),
            ("blank content", t(json!({"content": "   "})), "content"),
            ("content not a string", t(json!({"content": 5})), "content"),
            (
                "content too long",
                t(json!({"content": "长".repeat(4001)})),
                "content",
            ),
            (
                "missing ticket id",
                t(json!({"ticket_id": "__remove__"})),
                "ticket_id",
            ),
            (
                "ticket id too long",
                t(json!({"ticket_id": "x".repeat(129)})),
                "ticket_id",
            ),
            (
                "missing time",
                t(json!({"received_at": "__remove__"})),
                "received_at",
            ),
            (
                "unparsable time",
                t(json!({"received_at": "21/11/2026 8am"})),
                "received_at",
            ),
            (
                "time far in the future",
                t(json!({"received_at": "2030-01-01T00:00:00Z"})),
                "received_at",
            ),
            (
                "time in seconds not ms",
                t(json!({"received_at": 1_795_000_000})),
                "received_at",
            ),
            ("latitude out of range", t(json!({"lat": 141.0})), "lat"),
            ("longitude out of range", t(json!({"lon": 223.0})), "lon"),
            ("lat without lon", t(json!({"lon": "__remove__"})), "lon"),
            ("latitude not a number", t(json!({"lat": "north"})), "lat"),
            ("null island", t(json!({"lat": 0.0, "lon": 0.0})), "lat"),
            (
                "no location at all",
                t(
                    json!({"lat": "__remove__", "lon": "__remove__", "address": "__remove__", "district": "__remove__"}),
                ),
                "location",
            ),
            (
                "attachments not an array",
                t(json!({"attachments": "a.jpg"})),
                "attachments",
            ),
            (
                "caller phone an object",
                t(json!({"caller_phone": {"n": 1}})),
                "caller_phone",
            ),
            (
                "ticket is an array item of numbers",
                ticket_to_event(
                    &json!(42),
                    Source::Hotline,
                    &IntakeRules::default(),
                    &key(),
                    NOW,
                )
                .map(|_| ()),
                "body",
            ),
            (
                "unknown device type",
                gas(json!({"device_type": "toaster"})),
                "device_type",
            ),
            (
                "missing required metric",
                gas(json!({"metrics": {"co_ppm": 3.0}})),
                "metrics.ch4_lel",
            ),
            (
                "metric not a number",
                gas(json!({"metrics": {"ch4_lel": "high"}})),
                "metrics.ch4_lel",
            ),
            (
                "metrics not an object",
                gas(json!({"metrics": [1, 2]})),
                "metrics",
            ),
            (
                "missing device id",
                gas(json!({"device_id": null})),
                "device_id",
            ),
            ("reading time unparsable", gas(json!({"ts": "soon"})), "ts"),
            (
                "camera without event",
                r(
                    json!({"device_id": "C1", "device_type": "camera_ai", "ts": "2026-11-17T08:15:00+08:00"}),
                ),
                "event",
            ),
            (
                "tags not strings",
                gas(json!({"tags": {"floor": [1]}})),
                "tags.floor",
            ),
        ];
        assert!(cases.len() >= 25);
        for (name, result, field) in cases {
            let rejection = result.expect_err(name);
            assert!(
                rejection.errors.iter().any(|e| e.field == field),
                "{name}: expected an error on {field}, got {rejection}"
            );
            assert!(
                !rejection.to_string().contains("13800001234"),
                "{name}: phone echoed"
            );
        }
    }
}
