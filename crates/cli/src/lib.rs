//! `cityops`: runs the platform's services and the operator's tools. The binary is a shim over
//! [`main`], so end-to-end tests can build and run the very same program.

pub mod config;
mod reload;

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
use config::{CityopsConfig, ServiceName};
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
    /// Run the platform: creates topics, applies migrations, starts the services of
    /// `run.services` (all of them by default) in this process. `cityops up` is the same.
    #[command(alias = "up")]
    Run,
    /// Run only the ingest service (HTTP intake, raw topics → validated events).
    Ingest,
    /// Run only the enrichment service (events → incidents and telemetry).
    Enrich,
    /// Run only the dispatch service (incidents → work orders, the departments' API).
    Dispatch,
    /// Run only the ClickHouse sink.
    Sink,
    /// Run only the cockpit (the operations centre's wall and its API).
    Cockpit,
    /// Play a simulated Shenyang day into a running cityops (`[simulate]` settings; see
    /// docs/simulator.md): 12345 tickets, IoT readings, scripted episodes, department bots.
    Simulate(SimulateArgs),
    /// Apply the ClickHouse migrations (idempotent).
    Migrate,
    /// Create the pipeline topics that do not exist yet, with their configured partitions.
    Topics,
    /// Print the effective configuration (secrets redacted).
    Config,
    /// Validate the catalogue and the calendar and summarise them.
    Check,
    /// Decide each NDJSON line (a ticket or a reading) as the services would: no Kafka, no
    /// ClickHouse; one NDJSON decision per line on stdout.
    DryRun {
        /// The input file; `-` for standard input.
        #[arg(long)]
        input: PathBuf,
    },
    /// The 12345 text classifier.
    Classify {
        #[command(subcommand)]
        command: ClassifyCommand,
    },
    /// The geography.
    Geo {
        #[command(subcommand)]
        command: GeoCommand,
    },
    /// Work orders.
    Workorders {
        #[command(subcommand)]
        command: WorkordersCommand,
    },
    /// Rebuild a ClickHouse table from its topic (after it was dropped or damaged): recreates
    /// it if missing, reads the topic from its beginning with a fresh consumer group up to its
    /// end, writes every row, and stops. Rows are idempotent: existing ones collapse under FINAL.
    Replay {
        /// events, incidents, telemetry, workorder_events, workorders or dead_letters.
        #[arg(long)]
        table: String,
    },
}

#[derive(clap::Args)]
struct SimulateArgs {
    /// Give the command centre and every department a bot with a demo token
    /// (`sim-<dept>-token`). cityops must accept them: see --print-dispatch-settings.
    #[arg(long)]
    demo_tokens: bool,
    /// Print the `--set` lines that make dispatch accept the demo tokens, and exit.
    #[arg(long, requires = "demo_tokens")]
    print_dispatch_settings: bool,
    /// Write the run's summary (counts, episodes, the bots' actions, every accepted id) as
    /// JSON to this file.
    #[arg(long)]
    summary: Option<PathBuf>,
}

#[derive(Subcommand)]
enum WorkordersCommand {
    /// Verify the hash chain of every work order on `city.workorders.events.v1` and name the
    /// first broken link of each order whose history was rewritten. Exits non-zero if any is.
    Verify,
}

#[derive(Subcommand)]
enum ClassifyCommand {
    /// Train the model on the corpus' training split and the project's own tickets, and write
    /// the model file the enrichment service loads.
    Train,
    /// Measure the model and rules on the held-out split and the generality set: accuracy and
    /// a confusion table.
    Eval,
}

#[derive(Subcommand)]
enum GeoCommand {
    /// Write the generated default geography of Shenyang (districts, streets, grids).
    Generate {
        /// Where to write the GeoJSON files.
        #[arg(long, default_value = "config/geo")]
        out: PathBuf,
    },
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

/// The Open311 services: the catalogue's, with the attributes of `open311.services`.
fn open311_services(
    config: &CityopsConfig,
    catalogue: &Catalogue,
) -> Result<cityops_open311::Services> {
    let path = &config.open311.services;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the Open311 attributes {}", path.display()))?;
    let file: cityops_open311::ServicesFile = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid Open311 attributes file", path.display()))?;
    Ok(cityops_open311::Services::new(catalogue, &file)?)
}

fn load_calendar(config: &CityopsConfig) -> Result<GovernmentCalendar> {
    GovernmentCalendar::load(&config.data.calendar)
        .with_context(|| format!("loading the calendar {}", config.data.calendar.display()))
}

fn codec(config: &CityopsConfig) -> Result<Arc<Codec>> {
    // Each service registers the schemas it writes when it starts.
    let codec = match &config.avro.schema_registry_url {
        Some(url) => Codec::with_registry(url).with_context(|| format!("schema registry {url}"))?,
        None => Codec::single_object(),
    };
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
        Command::Ingest => run_only(config, ServiceName::Ingest).await,
        Command::Enrich => run_only(config, ServiceName::Enrich).await,
        Command::Dispatch => run_only(config, ServiceName::Dispatch).await,
        Command::Sink => run_only(config, ServiceName::Sink).await,
        Command::Cockpit => run_only(config, ServiceName::Cockpit).await,
        Command::Simulate(args) => simulate(config, args).await,
        Command::DryRun { input } => dry_run(&config, &input),
        Command::Classify { command } => classify(&config, command),
        Command::Workorders {
            command: WorkordersCommand::Verify,
        } => verify_workorders(&config).await,
        Command::Replay { table } => replay(&config, &table).await,
        Command::Geo {
            command: GeoCommand::Generate { out },
        } => {
            let summary = cityops_geo::generate_default(&out)
                .with_context(|| format!("writing the geography to {}", out.display()))?;
            println!("{summary:#?}");
            Ok(())
        }
    }
}

async fn run_only(mut config: CityopsConfig, service: ServiceName) -> Result<()> {
    config.run.services = vec![service];
    run(config).await
}

/// `cityops simulate`: the simulator's own settings from `[simulate]`, the brokers and topics
/// from cityops's `[kafka]`, the city from `data`.
async fn simulate(config: CityopsConfig, args: SimulateArgs) -> Result<()> {
    let world = Arc::new(
        cityops_simulate::World::load(&config.data.catalogue, &config.data.geo_dir)
            .context("loading the catalogue and the geography for the simulator")?,
    );
    let mut sim = config.simulate.clone();
    sim.kafka = config.kafka.clone();
    if args.demo_tokens {
        let departments = cityops_simulate::owner_departments(&world);
        sim.bots = sim
            .bots
            .with_demo_tokens(departments.iter().map(String::as_str));
    }
    if args.print_dispatch_settings {
        for line in sim.bots.dispatch_settings() {
            println!("{line}");
        }
        return Ok(());
    }
    cityops_telemetry::init_tracing(&config.telemetry)?;
    let shutdown = Shutdown::on_signals(&config.telemetry);
    let summary = cityops_simulate::run(&sim, world, {
        let shutdown = shutdown.clone();
        async move { shutdown.wait().await }
    })
    .await
    .context("simulating")?;
    if let Some(path) = &args.summary {
        let json = serde_json::to_vec_pretty(&summary).context("encoding the summary")?;
        std::fs::write(path, json)
            .with_context(|| format!("writing the summary to {}", path.display()))?;
    }
    println!(
        "{} {} → {} in {:.0} s: {} tickets, {} readings ({} alarms); {} accepted, {} rejected; bots closed {} orders",
        if summary.interrupted {
            "interrupted: simulated"
        } else {
            "simulated"
        },
        summary.simulated_from,
        summary.simulated_to,
        summary.real_s,
        summary.tickets,
        summary.readings,
        summary.alarms,
        summary.accepted,
        summary.rejected,
        summary.bots.orders_closed
    );
    Ok(())
}

/// `cityops replay --table T`.
async fn replay(config: &CityopsConfig, table: &str) -> Result<()> {
    cityops_telemetry::init_tracing(&config.telemetry)?;
    let topics = &config.kafka.topics;
    let topic = match table {
        "events" => &topics.events,
        "incidents" => &topics.incidents,
        "telemetry" => &topics.telemetry,
        "workorder_events" | "workorders" => &topics.workorder_events,
        "dead_letters" => &topics.dead_letter,
        other => anyhow::bail!(
            "{other} is not a table cityops writes: name one of events, incidents, telemetry, \
             workorder_events, workorders, dead_letters"
        ),
    };
    cityops_store::migrate::repair(&config.clickhouse)
        .await
        .context("recreating the ClickHouse schema (is ClickHouse running?)")?;
    let ranges = replay_ranges(&config.kafka, topic).await?;
    let total: i64 = ranges.iter().map(admin::OffsetRange::len).sum();
    let held: Vec<String> = ranges
        .iter()
        .map(|r| format!("{}:{}..{}", r.partition, r.start, r.end))
        .collect();
    println!(
        "replaying {topic} ({total} records; partition:offsets {}) into {table}",
        held.join(" ")
    );
    if total == 0 {
        println!("{table}: {topic} holds no records; nothing to replay");
        return Ok(());
    }
    let codec = codec(config)?;
    let producer = Producer::new(&config.kafka, "replay").context("Kafka client")?;
    let group = format!(
        "{}-replay-{}",
        config.sink.consumer_group,
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    );
    let mut sink = cityops_sink::Sink::new(
        config.clickhouse.client(),
        topics,
        &config.sink,
        (*codec).clone(),
        producer,
    )
    .replay(topic, &ranges);
    let consumer = cityops_bus::Consumer::new(&config.kafka, "replay", &group, &[topic])
        .context("Kafka consumer")?;
    let summary = sink
        .run(&consumer, Shutdown::on_signals(&config.telemetry).wait())
        .await;
    consumer.close();
    println!(
        "{table}: {} records read, {} rows written, {} dead-lettered",
        summary.records, summary.rows_written, summary.dead_lettered
    );
    anyhow::ensure!(
        sink.caught_up(),
        "the replay stopped before writing every record of {topic} (interrupted, or ClickHouse \
         kept failing): run it again; rows already written collapse under FINAL"
    );
    Ok(())
}

/// The offsets `topic` holds, for a replay. An answer of no records at all is read again a
/// few times before it is believed: a replay that wrongly counts zero would silently write
/// nothing.
async fn replay_ranges(
    kafka: &cityops_bus::KafkaConfig,
    topic: &str,
) -> Result<Vec<admin::OffsetRange>> {
    const READS: u32 = 5;
    let mut pause = Duration::from_millis(200);
    let mut read = 1;
    loop {
        let ranges = admin::offset_ranges(kafka, topic)
            .await
            .with_context(|| format!("reading the offsets of {topic} (is Kafka running?)"))?;
        if read == READS || ranges.iter().any(|r| !r.is_empty()) {
            return Ok(ranges);
        }
        tracing::info!(%topic, read, "the broker reports no records; reading again");
        tokio::time::sleep(pause).await;
        pause *= 2;
        read += 1;
    }
}

async fn verify_workorders(config: &CityopsConfig) -> Result<()> {
    let topic = &config.kafka.topics.workorder_events;
    let codec = codec(config)?;
    let partitions = admin::end_offsets(&config.kafka, topic)
        .await
        .with_context(|| format!("reading the partitions of {topic}"))?;
    let mut events = Vec::new();
    for (partition, _) in partitions {
        let records = cityops_bus::replay::read_partition(
            &config.kafka,
            topic,
            partition,
            Duration::from_secs(600),
        )
        .await
        .with_context(|| format!("reading {topic} partition {partition}"))?;
        for r in records {
            let event: cityops_core::WorkOrderEvent = codec
                .decode(r.payload.as_deref().unwrap_or_default())
                .await
                .with_context(|| {
                    format!(
                        "{topic} partition {partition} offset {}: not a transition",
                        r.offset
                    )
                })?;
            events.push(event);
        }
    }
    let orders: std::collections::BTreeSet<&str> =
        events.iter().map(|e| e.order_id.as_str()).collect();
    let broken = cityops_dispatch::verify_all(events.iter());
    println!(
        "{} transitions of {} orders on {topic}",
        events.len(),
        orders.len()
    );
    if broken.is_empty() {
        println!("every hash chain holds");
        return Ok(());
    }
    for (order, link) in &broken {
        println!("BROKEN {order}: {link}");
    }
    anyhow::bail!(
        "{} of {} orders have a broken hash chain",
        broken.len(),
        orders.len()
    )
}

fn enricher(config: &CityopsConfig) -> Result<cityops_enrich::Enricher> {
    let catalogue = Arc::new(load_catalogue(config)?);
    cityops_enrich::Enricher::load(catalogue, &config.data.geo_dir, &config.enrich)
        .context("loading enrichment")
}

fn dry_run(config: &CityopsConfig, input: &std::path::Path) -> Result<()> {
    let enricher = enricher(config)?;
    let rules = &config.ingest.rules;
    let policy = cityops_dispatch::Policy::new(
        (*enricher.catalogue()).clone(),
        load_calendar(config)?,
        config.dispatch.merge,
    );
    let route = |incident: &cityops_core::Incident| {
        cityops_dispatch::route_incident(&policy, incident).map(|r| cityops_enrich::OrderRoute {
            owner: r.owner.to_string(),
            co_departments: r.co_departments.iter().map(ToString::to_string).collect(),
            reason: r.reason,
        })
    };
    let stdout = std::io::stdout().lock();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let lines: Box<dyn std::io::BufRead> = if input == std::path::Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let file =
            std::fs::File::open(input).with_context(|| format!("opening {}", input.display()))?;
        Box::new(std::io::BufReader::new(file))
    };
    let summary = cityops_enrich::dry_run(&enricher, rules, &route, lines, stdout, now)
        .context("writing the decisions")?;
    eprintln!(
        "dry run: {} lines, {} decisions, {} errors",
        summary.lines, summary.decisions, summary.errors
    );
    Ok(())
}

fn classify(config: &CityopsConfig, command: ClassifyCommand) -> Result<()> {
    let catalogue = load_catalogue(config)?;
    let mut paths = cityops_classify::Paths::under(".");
    paths.model = config.enrich.model.clone();
    paths.rules = config.enrich.rules.clone();
    match command {
        ClassifyCommand::Train => {
            let started = std::time::Instant::now();
            let model = cityops_classify::train_and_save(
                &paths,
                &catalogue,
                &cityops_classify::TrainConfig::default(),
            )
            .context("training the classifier")?;
            println!(
                "trained {} on {} tickets in {:.1} s: {}",
                model.version(),
                model.header().n_train,
                started.elapsed().as_secs_f64(),
                paths.model.display()
            );
        }
        ClassifyCommand::Eval => {
            let (heldout, generality) = cityops_classify::evaluate_shipped(&paths, &catalogue)
                .context("evaluating the classifier")?;
            println!("== held-out split of the corpus (never trained on)\n{heldout}");
            println!("== the project's generality set (never trained on)\n{generality}");
        }
    }
    Ok(())
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
    let shutdown = Shutdown::on_signals(&config.telemetry);
    let catalogue = Arc::new(load_catalogue(&config)?);
    let calendar = load_calendar(&config)?;
    tracing::info!(version = catalogue.version(), "catalogue loaded");

    admin::ensure_topics(&config.kafka, &config.kafka.topics.pipeline_topics())
        .await
        .context("creating topics (is Kafka running? `make up` starts the local one)")?;
    let report = cityops_store::migrate(&config.clickhouse).await.context(
        "applying ClickHouse migrations (is ClickHouse running? `make up` starts the local one)",
    )?;
    tracing::info!(database = %report.database, applied = ?report.applied, already_applied = report.already_applied, "ClickHouse schema ready");
    let codec = codec(&config)?;

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
    let services = &config.run.services;
    tracing::info!(
        ?services,
        ingest = %config.ingest.listen,
        dispatch = %config.dispatch.listen,
        cockpit = %format!("http://{}/", config.cockpit.listen),
        telemetry = %config.telemetry.listen,
        "cityops running"
    );
    type Service = tokio::task::JoinHandle<Result<String>>;
    let mut running: Vec<(&'static str, Service)> = Vec::new();
    if services.contains(&ServiceName::Sink) {
        let (kafka, clickhouse, sink_config, codec, shutdown) = (
            config.kafka.clone(),
            config.clickhouse.clone(),
            config.sink.clone(),
            (*codec).clone(),
            shutdown.clone(),
        );
        running.push((
            "sink",
            tokio::spawn(async move {
                let summary =
                    cityops_sink::run(&kafka, &clickhouse, sink_config, codec, shutdown).await?;
                Ok(format!("{summary:?}"))
            }),
        ));
    }
    let catalogue_updates = reload::watch_catalogue(
        config.data.catalogue.clone(),
        catalogue.clone(),
        Duration::from_millis(config.data.reload_check_ms.max(100)),
        shutdown.clone(),
    );
    if services.contains(&ServiceName::Enrich) {
        let enricher = Arc::new(
            cityops_enrich::Enricher::load(catalogue.clone(), &config.data.geo_dir, &config.enrich)
                .context("loading enrichment")?,
        );
        // Enrichment classifies with the catalogue in force.
        tokio::spawn({
            let (enricher, mut updates) = (enricher.clone(), catalogue_updates.clone());
            async move {
                while updates.changed().await.is_ok() {
                    let catalogue = updates.borrow_and_update().clone();
                    enricher.set_catalogue(catalogue);
                }
            }
        });
        let (kafka, enrich_config, codec, shutdown) = (
            config.kafka.clone(),
            config.enrich.clone(),
            (*codec).clone(),
            shutdown.clone(),
        );
        running.push((
            "enrich",
            tokio::spawn(async move {
                let summary =
                    cityops_enrich::run(&kafka, &enrich_config, enricher, codec, shutdown).await?;
                Ok(format!("{summary:?}"))
            }),
        ));
    }
    if services.contains(&ServiceName::Dispatch) {
        // Dispatch routes and clocks new orders by the catalogue in force.
        let merge = config.dispatch.merge;
        let (policy_tx, policy) = tokio::sync::watch::channel(Arc::new(
            cityops_dispatch::Policy::new((*catalogue).clone(), calendar.clone(), merge),
        ));
        tokio::spawn({
            let mut updates = catalogue_updates.clone();
            async move {
                while updates.changed().await.is_ok() {
                    let catalogue = updates.borrow_and_update().clone();
                    let policy = cityops_dispatch::Policy::new(
                        (*catalogue).clone(),
                        calendar.clone(),
                        merge,
                    );
                    if policy_tx.send(Arc::new(policy)).is_err() {
                        return;
                    }
                }
            }
        });
        let (kafka, clickhouse, dispatch_config, codec, shutdown) = (
            config.kafka.clone(),
            config.clickhouse.clone(),
            config.dispatch.clone(),
            (*codec).clone(),
            shutdown.clone(),
        );
        running.push((
            "dispatch",
            tokio::spawn(async move {
                let clock: Arc<dyn cityops_dispatch::Clock> =
                    Arc::new(cityops_dispatch::SystemClock);
                let summary = cityops_dispatch::run(
                    &kafka,
                    &clickhouse,
                    &dispatch_config,
                    policy,
                    clock,
                    codec,
                    shutdown,
                )
                .await?;
                Ok(format!("{summary:?}"))
            }),
        ));
    }
    if services.contains(&ServiceName::Cockpit) {
        let names = Arc::new(
            cityops_cockpit::Names::load(
                &config.cockpit.city,
                catalogue.clone(),
                &config.data.geo_dir,
            )
            .context("loading the cockpit's names")?,
        );
        let (kafka, clickhouse, cockpit_config, codec, shutdown) = (
            config.kafka.clone(),
            config.clickhouse.clone(),
            config.cockpit.clone(),
            (*codec).clone(),
            shutdown.clone(),
        );
        running.push((
            "cockpit",
            tokio::spawn(async move {
                cityops_cockpit::run(&kafka, &clickhouse, cockpit_config, names, codec, shutdown)
                    .await?;
                Ok("stopped".to_owned())
            }),
        ));
    }
    if services.contains(&ServiceName::Ingest) {
        let open311 = cityops_ingest::Open311Setup {
            services: open311_services(&config, &catalogue)?,
            config: config.open311.clone(),
            clickhouse: config.clickhouse.client(),
        };
        let (kafka, ingest_config, codec, prometheus, shutdown) = (
            config.kafka.clone(),
            config.ingest.clone(),
            codec.clone(),
            prometheus.clone(),
            shutdown.clone(),
        );
        running.push((
            "ingest",
            tokio::spawn(async move {
                cityops_ingest::run(
                    &kafka,
                    ingest_config,
                    catalogue,
                    codec,
                    prometheus,
                    open311,
                    shutdown,
                )
                .await?;
                Ok("stopped".to_owned())
            }),
        ));
    }
    // Whichever service stops first (an error, or the shutdown signal) stops the others.
    let (names, handles): (Vec<_>, Vec<_>) = running.into_iter().unzip();
    let mut results = Vec::new();
    if !handles.is_empty() {
        let (first, index, rest) = futures::future::select_all(handles).await;
        shutdown.trigger();
        results.push((names[index], first));
        let rest_names = names
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != index)
            .map(|(_, n)| *n);
        for (name, handle) in rest_names.zip(rest) {
            results.push((name, handle.await));
        }
    } else {
        shutdown.wait().await;
    }
    telemetry.await.context("telemetry task")??;
    let mut failed = None;
    for (name, result) in results {
        match result.map_err(anyhow::Error::from).and_then(|r| r) {
            Ok(summary) => tracing::info!(service = name, summary, "service stopped"),
            Err(e) => {
                tracing::error!(service = name, error = format!("{e:#}"), "service failed");
                failed.get_or_insert(e.context(format!("{name} service")));
            }
        }
    }
    failed.map_or(Ok(()), Err)
}
