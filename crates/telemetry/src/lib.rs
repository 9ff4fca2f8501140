//! What every cityops service shares for operations: logs and traces ([`init_tracing`]),
//! Prometheus metrics ([`install_metrics`]), the `/livez`, `/readyz` and `/metrics` endpoints
//! ([`health_router`]) and graceful shutdown on SIGINT/SIGTERM ([`Shutdown`]).

mod health;
mod logging;
mod shutdown;

pub use health::{health_router, serve, Readiness, ReadinessCheck};
pub use logging::{init_tracing, LogFormat, TelemetryConfig};
pub use shutdown::Shutdown;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::Mutex;

/// Errors setting telemetry up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(
        "invalid log filter {filter:?}: {reason} (use e.g. \"info\" or \"info,cityops_bus=debug\")"
    )]
    LogFilter { filter: String, reason: String },
    #[error("cannot install the Prometheus recorder: {0}")]
    Metrics(String),
    #[error("cannot listen on {addr}: {source} (is another process using the port? change `telemetry.listen`)")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

static PROMETHEUS: Mutex<Option<PrometheusHandle>> = Mutex::new(None);

/// Installs the process-wide Prometheus recorder (once; later calls return the same handle).
pub fn install_metrics() -> Result<PrometheusHandle, TelemetryError> {
    let mut installed = PROMETHEUS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(h) = installed.as_ref() {
        return Ok(h.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets(&[
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ])
        .map_err(|e| TelemetryError::Metrics(e.to_string()))?
        .install_recorder()
        .map_err(|e| TelemetryError::Metrics(e.to_string()))?;
    *installed = Some(handle.clone());
    Ok(handle)
}
