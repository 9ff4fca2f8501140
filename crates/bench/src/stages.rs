//! Measurement 3: the CPU stages per core, from the criterion benches `make bench` ran just before
//! (`crates/bench/benches/stages.rs`, and the benches of cityops-geo and cityops-enrich).
//! Criterion measures on one thread, so events per second of one benchmark are events per
//! second per core.

use std::path::Path;
use std::time::SystemTime;

/// A stage, where criterion wrote its estimate, and who owns the benchmark.
pub const STAGES: &[(&str, &str)] = &[
    (
        "ALL CPU stages of one event (validate, decode, geo, classify, route), the simulator's mix: 25% corpus tickets, 75% IoT readings of every device type (1% alarms)",
        "stages/pipeline_mix",
    ),
    (
        "ALL CPU stages of one 12345 ticket (validate, decode, geo, classify, route), corpus tickets",
        "stages/pipeline_ticket",
    ),
    (
        "ALL CPU stages of one IoT reading of the mix (validate, decode, geo, thresholds; route for the alarms)",
        "stages/pipeline_reading",
    ),
    (
        "decode: Avro CityEvent from the events topic",
        "stages/decode_event",
    ),
    (
        "validate: raw ticket JSON → CityEvent (ingest's rules)",
        "stages/validate_ticket",
    ),
    (
        "ingest stage, one raw record (parse, validate, hash, encode)",
        "stages/ingest_record",
    ),
    (
        "geo: place of a ticket (point or address, gazetteer)",
        "stages/geo_place",
    ),
    (
        "geo: locate a point (cityops-geo bench)",
        "locate/inside_city",
    ),
    (
        "classify: life-safety rules + text model",
        "stages/classify_ticket",
    ),
    ("route: category → department (catalogue)", "stages/route"),
    ("encode: Avro Incident", "stages/encode_incident"),
    (
        "enrich stage, one record (decode, enrich, encode)",
        "stages/enrich_record",
    ),
    (
        "enrich one ticket (cityops-enrich bench)",
        "enrich_one_event/hotline_ticket_with_address",
    ),
    (
        "enrich one reading (cityops-enrich bench)",
        "enrich_one_event/iot_reading_with_point",
    ),
    ("sink, one record (decode, EventRow)", "stages/sink_row"),
];

/// A stage's estimate.
#[derive(Debug, Clone)]
pub struct Estimate {
    pub label: &'static str,
    pub id: &'static str,
    /// Mean time of one event, in nanoseconds; `None` when criterion has no estimate from this
    /// run.
    pub mean_ns: Option<f64>,
    pub note: Option<String>,
}

impl Estimate {
    /// Events per second on one core.
    pub fn per_core(&self) -> Option<f64> {
        self.mean_ns.filter(|ns| *ns > 0.0).map(|ns| 1e9 / ns)
    }
}

/// Reads the estimates under `dir` (target/criterion) written after `since` (the start of
/// this `make bench`): older ones are from another run and are not reported.
pub fn read(dir: &Path, since: Option<SystemTime>) -> Vec<Estimate> {
    STAGES
        .iter()
        .map(|&(label, id)| {
            let path = dir.join(id).join("new/estimates.json");
            let fresh = match (since, std::fs::metadata(&path).and_then(|m| m.modified())) {
                (_, Err(_)) => Err("not run".to_owned()),
                (Some(since), Ok(t)) if t < since => Err("not run in this run".to_owned()),
                _ => Ok(()),
            };
            let mean = fresh.and_then(|()| {
                let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
                let v: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| e.to_string())?;
                v["mean"]["point_estimate"]
                    .as_f64()
                    .ok_or_else(|| "no mean in estimates.json".to_owned())
            });
            Estimate {
                label,
                id,
                mean_ns: mean.as_ref().ok().copied(),
                note: mean.err(),
            }
        })
        .collect()
}
