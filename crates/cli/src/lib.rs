//! `cityops`: runs the platform's services and the operator's tools. The binary is a shim over
//! [`main`], so end-to-end tests can build and run the very same program.

pub mod config;

use anyhow::{Context, Result};
use cityops_avro::Codec;
use cityops_bus::{admin, Producer};
use cityops_core::calendar::GovernmentCalendar;
use cityops_core::catalogue::Catalogue;
use cityops_core::settings::Layers;
use cityops_telemetry::{
    health_router, install_metrics, serve, Readiness, ReadinessCheck, Shutdown,
};
use clap::{Parser, Subcommand};
use config::CityopsConfig;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "cityops",
    version,
    about = "The event backbone of a city's operations centre (一网统管)"
)]
struct Cli {
    /// Config file (TOML). Defaults to config/cityops.toml when it exists.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Override a config value: --set kafka.brokers=10.0.0.5:9092 (repeatable; wins over the
    /// file and the CITYOPS_* environment).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform: creates topics, applies migrations, starts every service.
    Run,
    /// Apply the ClickHouse migrations (idempotent).
    Migrate,
    /// Create the pipeline topics that do not exist yet, with their configured partitions.
    Topics,
    /// Print the effective configuration (secrets redacted).
    Config,
    /// Validate the catalogue and the calendar and summarise them.
    Check,
}

fn load_config(cli: &Cli) -> Result<CityopsConfig> {
    let path = cli.config.clone().or_else(|| {
        let default = PathBuf::from("config/cityops.toml");
        default.exists().then_some(default)
    });
    Layers::from_process(path.as_deref(), &cli.overrides)
        .and_then(|l| l.load())
        .context("loading the configuration")
}

fn load_catalogue(config: &CityopsConfig) -> Result<Catalogue> {
    Catalogue::load(&config.data.catalogue)
        .with_context(|| format!("loading the catalogue {}", config.data.catalogue.display()))
}

fn load_calendar(config: &CityopsConfig) -> Result<GovernmentCalendar> {
    GovernmentCalendar::load(&config.data.calendar)
        .with_context(|| format!("loading the calendar {}", config.data.calendar.display()))
}

async fn codec(config: &CityopsConfig) -> Result<Arc<Codec>> {
    let codec = match &config.avro.schema_registry_url {
        Some(url) => Codec::with_registry(url).with_context(|| format!("schema registry {url}"))?,
        None => Codec::single_object(),
    };
    if config.avro.schema_registry_url.is_some() {
        codec
            .register::<cityops_core::CityEvent>(&config.kafka.topics.events)
            .await
            .context("registering the CityEvent schema")?;
    }
    Ok(Arc::new(codec))
}

/// Runs the `cityops` command line with the process's arguments.
pub async fn main() -> Result<()> {
    let cli = Cli::parse();
    let config = load_config(&cli)?;
    match cli.command {
        Command::Config => {
            println!("{config:#?}");
            Ok(())
        }
        Command::Check => check(&config),
        Command::Topics => {
            cityops_telemetry::init_tracing(&config.telemetry)?;
            admin::ensure_topics(&config.kafka, &config.kafka.topics.pipeline_topics())
                .await
                .context("creating topics")?;
            println!(
                "topics ready: {}",
                config.kafka.topics.pipeline_topics().join(", ")
            );
            Ok(())
        }
        Command::Migrate => {
            cityops_telemetry::init_tracing(&config.telemetry)?;
            let report = cityops_store::migrate(&config.clickhouse)
                .await
                .context("applying ClickHouse migrations (is ClickHouse running? `make up` starts the local one)")?;
            println!(
                "database {}: applied {:?}, {} already applied",
                report.database, report.applied, report.already_applied
            );
            Ok(())
        }
        Command::Run => run(config).await,
    }
}

fn check(config: &CityopsConfig) -> Result<()> {
    let catalogue = load_catalogue(config)?;
    let calendar = load_calendar(config)?;
    let actionable = catalogue.categories().filter(|c| c.is_actionable()).count();
    println!(
        "catalogue {} ({}): {} scenarios, {} categories ({} actionable), {} departments, {} device types",
        config.data.catalogue.display(),
        catalogue.version(),
        catalogue.scenarios().count(),
        catalogue.categories().count(),
        actionable,
        catalogue.departments().count(),
        catalogue.device_types().count(),
    );
    for year in calendar.years() {
        println!(
            "calendar {} {}: {}, {} holidays, {} make-up working days ({})",
            config.data.calendar.display(),
            year.year,
            if year.provisional {
                "PROVISIONAL"
            } else {
                "official"
            },
            year.holidays.len(),
            year.holidays
                .iter()
                .map(|h| h.makeup_working_days.len())
                .sum::<usize>(),
            year.source,
        );
    }
    Ok(())
}

async fn run(config: CityopsConfig) -> Result<()> {
    cityops_telemetry::init_tracing(&config.telemetry)?;
    let prometheus = install_metrics()?;
    let shutdown = Shutdown::on_signals();
    let catalogue = Arc::new(load_catalogue(&config)?);
    let _calendar = load_calendar(&config)?;
    tracing::info!(version = catalogue.version(), "catalogue loaded");

    admin::ensure_topics(&config.kafka, &config.kafka.topics.pipeline_topics())
        .await
        .context("creating topics (is Kafka running? `make up` starts the local one)")?;
    let report = cityops_store::migrate(&config.clickhouse).await.context(
        "applying ClickHouse migrations (is ClickHouse running? `make up` starts the local one)",
    )?;
    tracing::info!(database = %report.database, applied = ?report.applied, already_applied = report.already_applied, "ClickHouse schema ready");
    let codec = codec(&config).await?;

    let producer = Producer::new(&config.kafka, "health").context("Kafka client")?;
    let clickhouse = config.clickhouse.client();
    let readiness = Readiness::new()
        .with(ReadinessCheck::new("kafka", move || {
            let producer = producer.clone();
            async move {
                producer
                    .check_broker(Duration::from_secs(2))
                    .await
                    .map_err(|e| e.to_string())
            }
        }))
        .with(ReadinessCheck::new("clickhouse", move || {
            let client = clickhouse.clone();
            async move {
                client
                    .query("SELECT 1")
                    .execute()
                    .await
                    .map_err(|e| e.to_string())
            }
        }));
    let telemetry = tokio::spawn({
        let (listen, router, shutdown) = (
            config.telemetry.listen.clone(),
            health_router(readiness, prometheus.clone(), shutdown.clone()),
            shutdown.clone(),
        );
        async move { serve(&listen, router, shutdown).await }
    });
    tracing::info!(
        ingest = %config.ingest.listen,
        telemetry = %config.telemetry.listen,
        "cityops running: ingest and sink are up; enrichment, dispatch and cockpit arrive with their issues"
    );
    let sink = tokio::spawn({
        let (kafka, clickhouse, sink_config, codec, shutdown) = (
            config.kafka.clone(),
            config.clickhouse.clone(),
            config.sink.clone(),
            (*codec).clone(),
            shutdown.clone(),
        );
        async move { cityops_sink::run(&kafka, &clickhouse, sink_config, codec, shutdown).await }
    });
    let mut ingest = tokio::spawn({
        let (kafka, ingest_config, shutdown) = (
            config.kafka.clone(),
            config.ingest.clone(),
            shutdown.clone(),
        );
        async move {
            cityops_ingest::run(
                &kafka,
                ingest_config,
                catalogue,
                codec,
                prometheus,
                shutdown,
            )
            .await
        }
    });
    let mut sink = sink;
    // Whichever service stops first (an error, or the shutdown signal) stops the others.
    let (ingest_result, sink_result) = tokio::select! {
        r = &mut ingest => {
            shutdown.trigger();
            (r, sink.await)
        }
        r = &mut sink => {
            shutdown.trigger();
            (ingest.await, r)
        }
    };
    telemetry.await.context("telemetry task")??;
    ingest_result
        .context("ingest task")?
        .context("ingest service")?;
    let sink_summary = sink_result.context("sink task")?.context("sink service")?;
    tracing::info!(?sink_summary, "cityops stopped");
    Ok(())
}
