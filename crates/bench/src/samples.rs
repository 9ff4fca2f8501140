//! What the benches feed cityops: 12345 tickets as the call-centre system sends them, built
//! from the shipped hotline corpus (`data/classify/hotline_corpus.jsonl`), so texts, addresses
//! and districts are realistic and varied.

use cityops_core::{CityEvent, Source};
use cityops_ingest::pii::ReporterKey;
use cityops_ingest::raw::{ticket_to_event, IntakeRules};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The workspace root (this crate is `crates/bench`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// One line of the hotline corpus: what a caller said and where.
#[derive(Debug, Clone, Deserialize)]
pub struct CorpusTicket {
    pub text: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub district: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub request_type: Option<String>,
}

/// The first `limit` tickets of the corpus under `root`.
pub fn corpus(root: &Path, limit: usize) -> Result<Vec<CorpusTicket>, String> {
    let path = root.join("data/classify/hotline_corpus.jsonl");
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let tickets: Vec<CorpusTicket> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(limit)
        .map(|l| serde_json::from_str(l).map_err(|e| format!("{}: {e}", path.display())))
        .collect::<Result<_, _>>()?;
    if tickets.is_empty() {
        return Err(format!("{} holds no ticket", path.display()));
    }
    Ok(tickets)
}

/// `received_at` of a ticket received a minute before `now_ms`, as the call centre writes it
/// (RFC 3339, China Standard Time).
pub fn received_at(now_ms: i64) -> String {
    let cst = cityops_ingest::raw::china_standard_time();
    chrono::DateTime::from_timestamp_millis(now_ms - 60_000)
        .unwrap_or_default()
        .with_timezone(&cst)
        .to_rfc3339()
}

/// Raw ticket number `i` of a run: the JSON the call-centre system puts on the raw hotline
/// topic (or POSTs). Every other ticket carries coordinates; every ticket carries the
/// caller's phone and name, which ingest hashes and drops.
pub fn raw_ticket(corpus: &[CorpusTicket], ticket_id: &str, i: usize, received_at: &str) -> Value {
    let c = &corpus[i % corpus.len()];
    let mut v = json!({
        "ticket_id": ticket_id,
        "received_at": received_at,
        "channel": c.channel.as_deref().unwrap_or("phone"),
        "request_type": c.request_type.as_deref().unwrap_or("投诉"),
        "content": c.text,
        "address": c.address,
        "district": c.district,
        "caller_phone": format!("138{:08}", i % 100_000_000),
        "caller_name": "张先生",
        "attachments": [],
    });
    if i & 1 == 0 {
        // A point in central Shenyang, spread over a few kilometres.
        let f = (i % 97) as f64 / 97.0;
        v["lat"] = json!(41.76 + 0.06 * f);
        v["lon"] = json!(123.33 + 0.08 * (1.0 - f));
    }
    v
}

/// The bytes of [`raw_ticket`].
pub fn raw_ticket_bytes(
    corpus: &[CorpusTicket],
    ticket_id: &str,
    i: usize,
    received_at: &str,
) -> Vec<u8> {
    raw_ticket(corpus, ticket_id, i, received_at)
        .to_string()
        .into_bytes()
}

/// The canonical event ingest makes of a raw ticket (the shipped intake rules, a bench key).
pub fn event_of(raw: &Value, now_ms: i64) -> Result<CityEvent, String> {
    ticket_to_event(
        raw,
        Source::Hotline,
        &IntakeRules::default(),
        &ReporterKey::new("cityops-bench"),
        now_ms,
    )
    .map_err(|r| r.to_string())
}

/// The values tried for a reading's metrics, in order: the first that gives the wanted
/// verdict (telemetry, or an alarm) under the catalogue's rules is used.
const TRIAL_VALUES: [f64; 14] = [
    0.0, 1.0, 3.0, 8.0, 15.0, 25.0, 40.0, 60.0, 100.0, 150.0, 300.0, 600.0, 1500.0, 5000.0,
];

/// IoT reading number `i` of a run, as a gateway sends it: a device of every catalogue device
/// type in turn, at a point in central Shenyang, every metric the type requires. One reading
/// in `alarm_every` is an alarm: it crosses one of its type's rules, or is a camera's event
/// (cameras report only what they see, so they send nothing else); the others are under
/// every threshold (telemetry), as the catalogue's own evaluation says. `None` when the
/// catalogue has no device type.
pub fn raw_reading(
    catalogue: &cityops_core::catalogue::Catalogue,
    i: usize,
    ts: &str,
    now_ms: i64,
    alarm_every: usize,
) -> Option<Value> {
    use std::collections::BTreeMap;
    let alarm = alarm_every > 0 && i % alarm_every == alarm_every - 1;
    let types: Vec<_> = catalogue
        .device_types()
        .filter(|t| alarm || t.events.is_empty())
        .collect();
    if types.is_empty() {
        return None;
    }
    let k = if alarm { i / alarm_every } else { i };
    let dt = types[k % types.len()];
    let tags = BTreeMap::new();
    let event = dt.events.keys().nth(i % dt.events.len().max(1)).cloned();
    let metrics_of = |v: f64| -> BTreeMap<String, f64> {
        dt.required_metrics.iter().map(|m| (m.clone(), v)).collect()
    };
    // A type none of whose rules a trial value crosses (parking sensors) sends telemetry.
    let mut chosen = metrics_of(TRIAL_VALUES[0]);
    for v in TRIAL_VALUES {
        let metrics = metrics_of(v);
        let verdict = catalogue.evaluate_reading(&dt.id, &metrics, event.as_deref(), &tags, now_ms);
        let incident = matches!(
            verdict,
            Ok(cityops_core::catalogue::ReadingVerdict::Incident { .. })
        );
        if verdict.is_ok() && (incident == alarm || !dt.events.is_empty()) {
            chosen = metrics;
            break;
        }
    }
    let f = (i % 89) as f64 / 89.0;
    let mut v = json!({
        "device_id": format!("BENCH-{}-{:05}", dt.id, i % 3_000),
        "device_type": dt.id,
        "ts": ts,
        "lat": 41.76 + 0.06 * f,
        "lon": 123.33 + 0.08 * (1.0 - f),
    });
    if !chosen.is_empty() {
        v["metrics"] = json!(chosen);
    }
    if let Some(e) = event {
        v["event"] = json!(e);
    }
    Some(v)
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_tickets_pass_intake() {
        let corpus = corpus(&workspace_root(), 16).expect("corpus");
        let now = now_ms();
        let at = received_at(now);
        for i in 0..16 {
            let raw = raw_ticket(&corpus, &format!("BENCH-{i}"), i, &at);
            let event = event_of(&raw, now).expect("valid ticket");
            assert_eq!(event.source_id, format!("BENCH-{i}"));
            assert!(event.reporter_hash.is_some());
            let bytes = raw_ticket_bytes(&corpus, "BENCH-X", i, &at);
            assert!(!String::from_utf8_lossy(&bytes).is_empty());
        }
    }

    #[test]
    fn readings_are_telemetry_but_one_in_a_hundred() {
        use cityops_core::catalogue::{Catalogue, ReadingVerdict};
        use std::collections::BTreeMap;
        let catalogue =
            Catalogue::load(workspace_root().join("config/catalogue.toml")).expect("catalogue");
        let now = now_ms();
        let ts = received_at(now);
        let n = catalogue.device_types().count() * 100;
        let mut alarms = 0;
        for i in 0..n {
            let v = raw_reading(&catalogue, i, &ts, now, 100).expect("a reading");
            cityops_ingest::raw::reading_to_event(&v, &IntakeRules::default(), &catalogue, now)
                .expect("a reading ingest accepts");
            let metrics: BTreeMap<String, f64> = v["metrics"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, x)| (k.clone(), x.as_f64().unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default();
            let verdict = catalogue
                .evaluate_reading(
                    v["device_type"].as_str().unwrap_or_default(),
                    &metrics,
                    v["event"].as_str(),
                    &BTreeMap::new(),
                    now,
                )
                .expect("a valid reading");
            if matches!(verdict, ReadingVerdict::Incident { .. }) {
                alarms += 1;
            }
        }
        // 1 in 100, but for a type none of whose rules the trial values cross.
        assert!(alarms <= n / 100, "{alarms} alarms of {n}");
        assert!(alarms >= n / 200, "{alarms} alarms of {n}");
    }
}
