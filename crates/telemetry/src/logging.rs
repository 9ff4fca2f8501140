use serde::Deserialize;
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

use crate::TelemetryError;

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One JSON object per line, for a log shipper.
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

/// The `[telemetry]` section of the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    pub log_format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `info,cityops_bus=debug`. `RUST_LOG` overrides it.
    pub log_filter: String,
    /// Address of `/livez`, `/readyz` and `/metrics`.
    pub listen: String,
    /// Seconds a graceful stop may take after SIGINT/SIGTERM before the process ends anyway
    /// (exit code 1); 0 waits for as long as it takes. Keep it below the orchestrator's own
    /// limit (Kubernetes' `terminationGracePeriodSeconds`), so that the stop is logged.
    pub shutdown_grace_s: u64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Pretty,
            log_filter: "info".to_owned(),
            listen: "127.0.0.1:9464".to_owned(),
            shutdown_grace_s: 25,
        }
    }
}

/// Installs the global tracing subscriber. Call once, first thing in `main`; a second call
/// (as in tests) is a no-op.
pub fn init_tracing(config: &TelemetryConfig) -> Result<(), TelemetryError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(f) if !f.is_empty() => f,
        _ => config.log_filter.clone(),
    };
    let filter = EnvFilter::try_new(&filter).map_err(|e| TelemetryError::LogFilter {
        filter: filter.clone(),
        reason: e.to_string(),
    })?;
    let registry = tracing_subscriber::registry().with(filter);
    let result = match config.log_format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().with_target(true)).try_init(),
    };
    if result.is_err() {
        tracing::debug!("tracing subscriber already installed");
    }
    Ok(())
}
