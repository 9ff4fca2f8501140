//! The one typed configuration of cityops: `config/cityops.toml`, then `CITYOPS_*`
//! environment variables, then `--set` flags (see `docs/operations.md`).

use cityops_bus::KafkaConfig;
use cityops_dispatch::DispatchConfig;
use cityops_enrich::EnrichConfig;
use cityops_ingest::IngestConfig;
use cityops_sink::SinkConfig;
use cityops_store::ClickHouseConfig;
use cityops_telemetry::TelemetryConfig;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CityopsConfig {
    pub run: RunConfig,
    pub data: DataPaths,
    pub telemetry: TelemetryConfig,
    pub kafka: KafkaConfig,
    pub clickhouse: ClickHouseConfig,
    pub avro: AvroConfig,
    pub ingest: IngestConfig,
    pub enrich: EnrichConfig,
    pub dispatch: DispatchConfig,
    pub sink: SinkConfig,
    pub cockpit: cityops_cockpit::CockpitConfig,
    pub open311: cityops_open311::Open311Config,
    /// `cityops simulate` (docs/simulator.md); its brokers and topics are those of `kafka`.
    pub simulate: cityops_simulate::SimulateConfig,
}

/// Where the data files are.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataPaths {
    pub catalogue: PathBuf,
    pub calendar: PathBuf,
    pub geo_dir: PathBuf,
    /// How often the catalogue file is looked at for changes (also on SIGHUP), in ms.
    pub reload_check_ms: u64,
}

impl Default for DataPaths {
    fn default() -> Self {
        Self {
            catalogue: "config/catalogue.toml".into(),
            calendar: "config/calendar.toml".into(),
            geo_dir: "config/geo".into(),
            reload_check_ms: 2_000,
        }
    }
}

/// How topic values are framed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AvroConfig {
    /// A Confluent schema registry: values are written in the Confluent wire format. Without
    /// one, Avro single-object encoding. Readers accept both either way.
    pub schema_registry_url: Option<String>,
}

/// A service `cityops run` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceName {
    Ingest,
    Enrich,
    Dispatch,
    Sink,
    Cockpit,
}

/// What `cityops run` runs: every service in one process (a laptop, a small city), or some of
/// them, so each stage can be deployed and scaled on its own (its consumer group shares the
/// partitions between the instances).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    pub services: Vec<ServiceName>,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            services: vec![
                ServiceName::Ingest,
                ServiceName::Enrich,
                ServiceName::Dispatch,
                ServiceName::Sink,
                ServiceName::Cockpit,
            ],
        }
    }
}
