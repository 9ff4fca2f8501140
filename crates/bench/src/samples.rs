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
}
