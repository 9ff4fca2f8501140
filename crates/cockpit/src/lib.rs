//! The cockpit (一屏观全城): the operations centre's wall page, its JSON API over ClickHouse
//! and a live feed of incidents and escalations from Kafka (docs/cockpit.md).
//!
//! - [`params`]: every query parameter validated before anything runs.
//! - [`figures`]: what is computed rather than queried (running warnings, summaries, local
//!   days), pure.
//! - [`queries`]: the ClickHouse queries, values bound, never spliced.
//! - [`live`]: the topics' new incidents and escalations fanned out to every browser.
//! - [`server`]: the page (embedded in the binary: no CDN, no internet), the API with answers
//!   cached for a wall of many screens, and the server-sent events stream.

pub mod figures;
pub mod live;
pub mod names;
pub mod params;
pub mod queries;
pub mod server;
mod views;

pub use names::{Names, NamesError};
pub use server::{Cockpit, CockpitConfig};

use cityops_avro::Codec;
use cityops_bus::KafkaConfig;
use cityops_store::ClickHouseConfig;
use std::sync::Arc;

/// Why the cockpit stopped.
#[derive(Debug, thiserror::Error)]
pub enum CockpitError {
    #[error(transparent)]
    Telemetry(#[from] cityops_telemetry::TelemetryError),
}

/// Serves the cockpit on `config.listen` until `shutdown`.
pub async fn run(
    kafka: &KafkaConfig,
    clickhouse: &ClickHouseConfig,
    config: CockpitConfig,
    names: Arc<Names>,
    codec: Codec,
    shutdown: cityops_telemetry::Shutdown,
) -> Result<(), CockpitError> {
    let live = live::start(
        &kafka.with_fetch_wait_max_ms(config.live_fetch_wait_ms),
        codec,
        names.clone(),
        config.live_buffer,
        shutdown.clone(),
    );
    let listen = config.listen.clone();
    let router = Cockpit::new(config, names, clickhouse.client(), live).router();
    tracing::info!(url = %format!("http://{listen}/"), "cockpit serving");
    cityops_telemetry::serve(&listen, router, shutdown).await?;
    Ok(())
}
