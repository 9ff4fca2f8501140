//! The ingest service: where the city's data enters cityops. 12345 tickets and IoT readings
//! arrive over HTTP or on the raw Kafka topics, are validated field by field, normalised into
//! [`cityops_core::CityEvent`]s and produced to `city.events.v1`; whatever is wrong is answered
//! clearly (HTTP 4xx naming each field) or dead-lettered with the reason, never dropped.

pub mod coords;
pub mod intake;
pub mod open311;
pub mod pii;
pub mod raw;
mod service;

pub use intake::{IngestConfig, Intake, IntakeResponse, ItemKind, ItemResult};
pub use service::{run, IngestError, Open311Setup};
