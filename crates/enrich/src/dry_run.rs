//! `cityops dry-run`: the catalogue author's test bench. Each NDJSON line (a 12345 ticket or
//! an IoT reading, as integrators send them) goes through exactly the code the services run —
//! ingest's validation and normalisation, enrichment, and dispatch's routing (handed in as an
//! [`OrderRouter`], since dispatch sits downstream of this crate) — with no Kafka and no
//! ClickHouse, and comes out as one NDJSON decision. A bad line prints an `error` object for
//! that line and the run goes on.

use cityops_core::{Incident, Source};
use cityops_ingest::pii::ReporterKey;
use cityops_ingest::raw::{reading_to_event, ticket_to_event, IntakeRules};
use serde::Serialize;
use serde_json::Value;
use std::io::{BufRead, Write};

use crate::enricher::{Enriched, Enricher};

/// Where dispatch would send an order for an incident, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRoute {
    pub owner: String,
    pub co_departments: Vec<String>,
    pub reason: String,
}

/// Dispatch's routing of a new order (`cityops_dispatch::route_incident` in the `cityops`
/// binary): `None` when the incident opens no order.
pub type OrderRouter<'a> = &'a dyn Fn(&Incident) -> Option<OrderRoute>;

/// One line's decision.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DryRunDecision {
    pub source_id: String,
    pub scenario: Option<String>,
    pub category: Option<String>,
    pub severity: Option<String>,
    pub actionable: bool,
    pub department: Option<String>,
    pub co_departments: Vec<String>,
    pub district: Option<String>,
    pub street: Option<String>,
    pub grid: Option<String>,
    pub confidence: Option<f64>,
    pub reason: String,
}

/// What a dry run saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DryRunSummary {
    pub lines: usize,
    pub decisions: usize,
    pub errors: usize,
}

/// Decides one raw line.
pub fn decide(
    enricher: &Enricher,
    rules: &IntakeRules,
    router: OrderRouter<'_>,
    line: &str,
    now_ms: i64,
) -> Result<DryRunDecision, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    // The key only links callers; nothing of it is printed.
    let key = ReporterKey::new("dry-run");
    let event = if value.get("device_id").is_some() || value.get("device_type").is_some() {
        reading_to_event(&value, rules, &*enricher.catalogue(), now_ms)
    } else {
        ticket_to_event(&value, Source::Hotline, rules, &key, now_ms)
    }
    .map_err(|r| r.to_string())?;
    let (enriched, why) = enricher.enrich(&event, now_ms).map_err(|e| e.to_string())?;
    Ok(match enriched {
        Enriched::Incident(i) => {
            let order = router(&i);
            let reason = match &order {
                Some(o) => format!("{why}; {}", o.reason),
                None => format!("{why}; not actionable: no work order"),
            };
            let (department, co_departments) = match order {
                Some(o) => (Some(o.owner), o.co_departments),
                None => (None, Vec::new()),
            };
            DryRunDecision {
                source_id: event.source_id,
                scenario: Some(i.scenario.to_string()),
                category: Some(i.category.to_string()),
                severity: Some(i.severity.as_str().to_owned()),
                actionable: i.actionable,
                department,
                co_departments,
                district: i.district_name.clone(),
                street: i.street_name.clone(),
                grid: i.grid_code.clone(),
                confidence: Some(i.classification.confidence),
                reason,
            }
        }
        Enriched::Telemetry(r) => {
            // Named like an incident's place (the reading carries codes only).
            let place = enricher.place(&event);
            let name = |area: Option<&cityops_geo::Area>| area.map(|a| a.name().to_owned());
            DryRunDecision {
                source_id: event.source_id,
                scenario: None,
                category: None,
                severity: None,
                actionable: false,
                department: None,
                co_departments: Vec::new(),
                district: name(place.district),
                street: name(place.street),
                grid: r.grid_code.clone(),
                confidence: None,
                reason: format!("telemetry: {why}"),
            }
        }
    })
}

/// Runs every line of `input`, writing one JSON object per line to `output`.
pub fn dry_run(
    enricher: &Enricher,
    rules: &IntakeRules,
    router: OrderRouter<'_>,
    input: impl BufRead,
    mut output: impl Write,
    now_ms: i64,
) -> std::io::Result<DryRunSummary> {
    let mut summary = DryRunSummary::default();
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        summary.lines += 1;
        let out = match decide(enricher, rules, router, &line, now_ms) {
            Ok(d) => {
                summary.decisions += 1;
                serde_json::to_string(&d)
            }
            Err(error) => {
                summary.errors += 1;
                serde_json::to_string(&serde_json::json!({"line": n + 1, "error": error}))
            }
        }
        .map_err(std::io::Error::other)?;
        writeln!(output, "{out}")?;
    }
    Ok(summary)
}
