//! `cityops-bench`: what `make bench` runs after the criterion benches. It measures cityops
//! against baselines run side by side in the same run (the machines here are noisy, so only
//! ratios are comparable from run to run), and writes `target/bench/report.md`:
//!
//! 1. the broker's raw limits (produce, consume, one bare pass-through hop) and the
//!    pipeline's end-to-end throughput, raw topic → ingest → enrich → dispatch → sink →
//!    ClickHouse, every service its own process, with each one's CPU per 1,000 events and
//!    peak memory ([`throughput`]);
//! 2. the sink's rows/s against `clickhouse-client` inserting the same rows ([`sink`]);
//! 3. the CPU stages per core, from criterion's estimates ([`stages`]);
//! 4. latency at a fixed rate from intake to the department's topic and to ClickHouse
//!    ([`latency`]), with the shipped config and with proposed overrides.
//!
//! ClickHouse is `make up`'s (a fresh database per measurement, dropped at the end). The
//! broker is a Tansu of the bench's own (the same binary and sqlite engine as `make up`'s,
//! storage in a directory removed at the end), because nothing can be cleaned up on a shared
//! Tansu 0.6: its DeleteTopics deletes every topic of the cluster. `--brokers` runs against
//! another broker instead.
//!
//! cityops runs as the release binary (`cargo build --release -p cityops-cli`,
//! `target/release/cityops`) with the shipped `config/cityops.toml` (`--config`), each
//! measurement with fresh topics, a fresh database and fresh consumer groups. The pass-through
//! is this binary again (`cityops-bench passthrough`), so both are separate processes whose
//! memory and CPU time are read from /proc. Every wait is bounded (`--timeout-s`).

mod ch;
mod kafka;
mod latency;
mod procs;
mod report;
mod sink;
mod stages;
mod throughput;

use anyhow::{Context, Result};
use cityops_bench::samples::{self, CorpusTicket};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "cityops-bench",
    about = "cityops's speed and memory as ratios against baselines run side by side"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the measurements and write the report.
    Run(Box<RunArgs>),
    /// The pass-through baseline (started by `run`): consume FROM, produce to TO, acknowledge.
    Passthrough {
        #[arg(long)]
        brokers: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        group: String,
    },
}

#[derive(clap::Args, Clone)]
struct RunArgs {
    /// The cityops binary under test.
    #[arg(long, default_value = "target/release/cityops")]
    cityops: PathBuf,
    /// The configuration cityops runs with (the bench overrides only topics, database,
    /// consumer groups, ports, partitions and logging).
    #[arg(long, default_value = "config/cityops.toml")]
    config: PathBuf,
    /// Where the report goes (its directory also gets the processes' logs).
    #[arg(long, default_value = "target/bench/report.md")]
    out: PathBuf,
    /// Which measurements: throughput, sink, stages, latency.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "throughput,sink,stages,latency"
    )]
    only: Vec<String>,
    /// Tickets per pipe and round of the throughput measurement.
    #[arg(long, default_value_t = 20_000)]
    tickets: usize,
    /// Tickets per round of the end-to-end pipe (whole passes of the 400-ticket corpus).
    #[arg(long, default_value_t = 8_000)]
    e2e_tickets: usize,
    /// Rounds of the end-to-end pipe (the first ones of `--rounds`).
    #[arg(long, default_value_t = 1)]
    e2e_rounds: usize,
    /// Rows per round of the sink measurement.
    #[arg(long, default_value_t = 50_000)]
    rows: usize,
    /// Rounds of the throughput and sink measurements (the best round is reported).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Latency: events POSTed per configuration.
    #[arg(long, default_value_t = 4_000)]
    samples: usize,
    /// Latency: events per second.
    #[arg(long, default_value_t = 1_000.0)]
    rate: f64,
    /// Latency: the share of 12345 tickets among the events; the rest are IoT readings of
    /// every device type (1% of them alarms). 0.25 is the simulator's mix; 1 sends tickets only.
    #[arg(long, default_value_t = 0.25)]
    ticket_share: f64,
    /// A further `--set` override for every cityops process of every measurement (repeat it).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// A further configuration the latency is measured with, after the shipped one:
    /// `LABEL:KEY=VALUE` (repeat it for more overrides of the same label).
    #[arg(
        long = "latency-variant",
        value_name = "LABEL:KEY=VALUE",
        default_value = "librdkafka's default fetch wait:kafka.fetch_wait_max_ms=500"
    )]
    latency_variants: Vec<String>,
    /// Records of each warm-up.
    #[arg(long, default_value_t = 500)]
    warmup: usize,
    /// Partitions of every topic (both sides).
    #[arg(long, default_value_t = 2)]
    partitions: i32,
    /// Longest wait of any step, in seconds.
    #[arg(long, default_value_t = 300)]
    timeout_s: u64,
    /// Criterion's output directory.
    #[arg(long, default_value = "target/criterion")]
    criterion_dir: PathBuf,
    /// Only criterion estimates newer than this file count (make bench touches it first).
    #[arg(long)]
    criterion_since: Option<PathBuf>,
    /// Run against this Kafka broker (e.g. `make up`'s 127.0.0.1:19092) instead of a Tansu of
    /// the bench's own. What the bench produces then stays on that broker (about 300 MB per
    /// run with the defaults): Tansu 0.6 cannot delete one topic without deleting them all.
    #[arg(long)]
    brokers: Option<String>,
    /// Storage of the bench's own Tansu (the engine of `make up`'s by default).
    #[arg(long, default_value = "sqlite://tansu.db")]
    tansu_storage: String,
    /// ClickHouse HTTP URL.
    #[arg(
        long,
        env = "CITYOPS_CLICKHOUSE__URL",
        default_value = "http://127.0.0.1:18123"
    )]
    clickhouse: String,
    /// ClickHouse native port (for clickhouse-client).
    #[arg(long, env = "CH_TCP_PORT", default_value_t = 19000)]
    ch_tcp_port: u16,
    /// Keep the bench's databases and its broker's storage (removed at the end by default).
    #[arg(long)]
    keep: bool,
}

/// What every measurement needs.
pub struct Ctx {
    pub root: PathBuf,
    pub broker_description: String,
    pub cityops: PathBuf,
    pub config: PathBuf,
    pub out_dir: PathBuf,
    pub brokers: String,
    pub clickhouse: String,
    pub ch_host: String,
    pub ch_tcp_port: u16,
    pub partitions: i32,
    pub warmup: usize,
    pub timeout: Duration,
    pub corpus: Vec<CorpusTicket>,
    pub run_id: String,
    pub sink_period_ms: u64,
    /// `--set` overrides of every cityops process.
    pub extra: Vec<String>,
    /// The bench's own broker's process, whose CPU time the drains report.
    pub broker_pid: Option<u32>,
    databases: Mutex<Vec<String>>,
}

impl Ctx {
    /// How to start `cityops <command>` (running `services`) against this run's broker and
    /// ClickHouse, with the run's config and partitions.
    pub fn cityops_spec<'a>(
        &'a self,
        command: &'a str,
        services: &'a [&'a str],
        topics: &'a procs::Topics,
        database: &'a str,
        extra: &'a [String],
        groups: &'a str,
    ) -> procs::CityopsSpec<'a> {
        procs::CityopsSpec {
            command,
            extra,
            groups,
            program: &self.cityops,
            config: &self.config,
            root: &self.root,
            brokers: &self.brokers,
            clickhouse: &self.clickhouse,
            topics,
            database,
            services,
            partitions: self.partitions,
        }
    }

    /// A fresh database name, dropped at the end of the run.
    pub fn fresh_database(&self, prefix: &str) -> String {
        let name = cityops_testkit::unique_name(prefix);
        self.databases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.clone());
        name
    }

    /// The log file of a process.
    pub fn log(&self, name: &str) -> PathBuf {
        self.out_dir.join("logs").join(format!("{name}.log"))
    }
}

/// `[sink.batch] period_ms` of the shipped config (what bounds the latency to ClickHouse).
fn sink_period_ms(config: &std::path::Path) -> u64 {
    let text = std::fs::read_to_string(config).unwrap_or_default();
    let mut in_batch = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_batch = line == "[sink.batch]";
        } else if in_batch {
            if let Some(v) = line.strip_prefix("period_ms") {
                let v = v
                    .trim_start_matches([' ', '='])
                    .split('#')
                    .next()
                    .unwrap_or("");
                if let Ok(ms) = v.trim().parse() {
                    return ms;
                }
            }
        }
    }
    1_000
}

fn absolute(p: &std::path::Path) -> Result<PathBuf> {
    Ok(if p.is_absolute() {
        p.to_owned()
    } else {
        std::env::current_dir()?.join(p)
    })
}

async fn run(args: RunArgs) -> Result<()> {
    let started = Instant::now();
    let root = samples::workspace_root().canonicalize()?;
    let out = absolute(&args.out)?;
    let out_dir = out
        .parent()
        .map(ToOwned::to_owned)
        .unwrap_or_else(|| root.join("target/bench"));
    std::fs::create_dir_all(out_dir.join("logs"))?;
    let cityops = absolute(&args.cityops)?;
    let config = absolute(&args.config)?;
    if !cityops.is_file() {
        anyhow::bail!(
            "{} does not exist: build it with `cargo build --release -p cityops-cli`",
            cityops.display()
        );
    }
    let ch_host = args
        .clickhouse
        .split("://")
        .nth(1)
        .unwrap_or(&args.clickhouse)
        .split([':', '/'])
        .next()
        .unwrap_or("127.0.0.1")
        .to_owned();
    let private = match &args.brokers {
        Some(_) => None,
        None => Some(
            procs::PrivateBroker::start(
                &out_dir,
                &args.tansu_storage,
                out_dir.join("logs/tansu.log"),
            )
            .await?,
        ),
    };
    let (brokers, broker_description) = match (&args.brokers, &private) {
        (Some(b), _) => (b.clone(), format!("{b} (given with --brokers)")),
        (None, Some(p)) => (p.brokers.clone(), p.description.clone()),
        (None, None) => unreachable!("a private broker when none is given"),
    };
    let ctx = Ctx {
        broker_description,
        corpus: samples::corpus(&root, 400).map_err(anyhow::Error::msg)?,
        sink_period_ms: sink_period_ms(&config),
        config,
        root,
        cityops,
        out_dir,
        brokers,
        clickhouse: args.clickhouse.clone(),
        ch_host,
        ch_tcp_port: args.ch_tcp_port,
        partitions: args.partitions,
        warmup: args.warmup,
        timeout: Duration::from_secs(args.timeout_s),
        run_id: cityops_testkit::unique_name("B"),
        extra: args.sets.clone(),
        broker_pid: private.as_ref().map(procs::PrivateBroker::pid),
        databases: Mutex::new(Vec::new()),
    };
    let want = |m: &str| args.only.iter().any(|o| o == m);
    let mut report = report::Report {
        machine: report::Machine::probe(&ctx).await,
        ..report::Report::default()
    };

    let mut failures = Vec::new();
    if want("throughput") {
        eprintln!(
            "[bench] 1. raw broker limits and pipeline throughput vs pass-through ({} tickets x {} rounds)",
            args.tickets, args.rounds
        );
        match throughput::run(
            &ctx,
            args.tickets,
            args.e2e_tickets,
            args.rounds,
            args.e2e_rounds,
        )
        .await
        {
            Ok(r) => report.throughput = Some(r),
            Err(e) => failures.push(format!("throughput: {e:#}")),
        }
    }
    if want("sink") {
        eprintln!(
            "[bench] 2. sink vs clickhouse-client ({} rows x {} rounds)",
            args.rows,
            args.rounds.min(2)
        );
        match sink::run(&ctx, args.rows, args.rounds.min(2)).await {
            Ok(r) => report.sink = Some(r),
            Err(e) => failures.push(format!("sink: {e:#}")),
        }
    }
    if want("stages") {
        let since = match &args.criterion_since {
            Some(p) => Some(
                std::fs::metadata(p)
                    .and_then(|m| m.modified())
                    .with_context(|| format!("reading {}", p.display()))?,
            ),
            None => None,
        };
        report.stages = Some(stages::read(&absolute(&args.criterion_dir)?, since));
    }
    if want("latency") {
        eprintln!(
            "[bench] 4. latency ({} samples per configuration at {}/s)",
            args.samples, args.rate
        );
        let mut variants: Vec<(String, Vec<String>)> = Vec::new();
        for v in &args.latency_variants {
            let (label, set) = v
                .split_once(':')
                .with_context(|| format!("--latency-variant {v}: LABEL:KEY=VALUE"))?;
            match variants.iter_mut().find(|(l, _)| l == label) {
                Some((_, sets)) => sets.push(set.to_owned()),
                None => variants.push((label.to_owned(), vec![set.to_owned()])),
            }
        }
        match latency::run(&ctx, args.samples, args.rate, args.ticket_share, &variants).await {
            Ok(r) => report.latency = Some(r),
            Err(e) => failures.push(format!("latency: {e:#}")),
        }
    }
    if !args.keep {
        let dbs = ctx
            .databases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for db in dbs {
            if let Err(e) = ch::drop(&ctx.clickhouse, &db).await {
                eprintln!("[bench] {e:#}");
            }
        }
    }
    if let Some(p) = private {
        p.stop(args.keep).await;
    }
    report.failures = failures.clone();
    report.elapsed = started.elapsed();
    let text = report.render();
    std::fs::write(&out, &text).with_context(|| format!("writing {}", out.display()))?;
    println!("{text}");
    eprintln!("[bench] report written to {}", out.display());
    if !failures.is_empty() {
        anyhow::bail!(
            "{} measurement(s) failed: {}",
            failures.len(),
            failures.join("; ")
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Run(args) => run(*args).await,
        Cmd::Passthrough {
            brokers,
            from,
            to,
            group,
        } => kafka::passthrough(&brokers, &from, &to, &group).await,
    }
}
