//! The enrichment service: a `CityEvent` becomes an `Incident` — the district, street and grid
//! it belongs to, its scenario and category (device rules for IoT, life-safety rules then the
//! trained text model for tickets, manual triage when unsure), its severity, and whether
//! anyone must act — or, for a reading under every threshold, telemetry.

mod dry_run;
mod enricher;
mod service;

pub use dry_run::{decide, dry_run, DryRunDecision, DryRunSummary, OrderRoute, OrderRouter};
pub use enricher::{EnrichConfig, EnrichError, Enriched, Enricher, LoadError};
pub use service::{handle, run, EnrichServiceError};
