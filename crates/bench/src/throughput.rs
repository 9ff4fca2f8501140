//! Measurement 1: the pipeline's end-to-end throughput against the broker's single-hop rate.
//!
//! Three pipes run side by side on the same broker, each fed the same kind of backlog:
//! - `cityops`: raw 12345 tickets on the raw hotline topic → ingest → events → enrich →
//!   incidents (`cityops run` with `run.services=["ingest", "enrich"]`);
//! - `hop`: the same raw ticket bytes through one bare rdkafka pass-through (A → B);
//! - `2 hops`: the same through two chained pass-throughs (A → B → C), as many hops as the
//!   pipeline's.
//!
//! For each round and pipe: the pipe's processes are paused (SIGSTOP), N records are produced
//! to its input and acknowledged, the clock starts as the processes are resumed, and it stops
//! when the output topic's high watermarks show N more records (polled every 10 ms). So every
//! pipe drains the same backlog from the same starting line; the feeder's own rate never
//! limits it.

use anyhow::{bail, Result};
use std::time::{Duration, Instant};

use crate::kafka::{self, Counter, Feeder};
use crate::procs::{self, Cityops, CityopsSpec, Proc, Topics};
use crate::Ctx;
use cityops_bench::{samples, stats};

/// One pipe's timing in one round.
#[derive(Debug, Clone, Copy)]
pub struct Round {
    pub elapsed: Duration,
    /// CPU time of the pipe's own processes while it drained the backlog.
    pub cpu: Option<Duration>,
    /// How long producing the backlog took (not part of `elapsed`).
    pub feed: Duration,
}

/// What one pipe did over every round.
#[derive(Debug, Clone, Default)]
pub struct PipeResult {
    pub rounds: Vec<Round>,
    /// Peak memory of its (first) process.
    pub peak_rss: Option<u64>,
    /// Rounds that timed out, with how many records had arrived.
    pub timeouts: Vec<String>,
}

impl PipeResult {
    /// The best (shortest) round's rate, in records per second.
    pub fn best_rate(&self, n: usize) -> Option<f64> {
        self.rounds
            .iter()
            .map(|r| stats::per_second(n as u64, r.elapsed))
            .max_by(f64::total_cmp)
    }

    /// All rounds' rates.
    pub fn rates(&self, n: usize) -> Vec<f64> {
        self.rounds
            .iter()
            .map(|r| stats::per_second(n as u64, r.elapsed))
            .collect()
    }

    /// CPU time per record, over every round, in microseconds.
    pub fn cpu_per_record_us(&self, n: usize) -> Option<f64> {
        let total: Option<Duration> = self.rounds.iter().map(|r| r.cpu).sum();
        let total = total?;
        let records = (n * self.rounds.len()) as f64;
        (records > 0.0).then(|| total.as_secs_f64() * 1e6 / records)
    }
}

/// The measurement's results.
#[derive(Debug, Clone, Default)]
pub struct Throughput {
    pub n: usize,
    pub rounds: usize,
    pub raw_bytes: f64,
    pub cityops: PipeResult,
    pub hop: PipeResult,
    pub two_hops: PipeResult,
    pub elapsed: Duration,
}

struct Pipe {
    label: &'static str,
    procs: Vec<usize>,
    input: String,
    output: String,
    delivered: i64,
    result: PipeResult,
}

/// Runs the measurement: `n` records per pipe and round, `rounds` rounds.
pub async fn run(ctx: &Ctx, n: usize, rounds: usize) -> Result<Throughput> {
    let started = Instant::now();
    let topics = Topics::fresh("bench");
    let p = cityops_testkit::unique_name("bench_pt");
    let (a1, b1) = (format!("{p}.a1"), format!("{p}.b1"));
    let (a2, b2, c2) = (format!("{p}.a2"), format!("{p}.b2"), format!("{p}.c2"));
    let mut all = topics.all();
    all.extend([
        a1.as_str(),
        b1.as_str(),
        a2.as_str(),
        b2.as_str(),
        c2.as_str(),
    ]);
    kafka::create_topics(&ctx.brokers, &all, ctx.partitions).await?;

    let database = ctx.fresh_database("bench_tp");
    let cityops = Cityops::start(
        &CityopsSpec {
            program: &ctx.cityops,
            config: &ctx.config,
            root: &ctx.root,
            brokers: &ctx.brokers,
            clickhouse: &ctx.clickhouse,
            topics: &topics,
            database: &database,
            services: &["ingest", "enrich"],
            partitions: ctx.partitions,
        },
        ctx.log("throughput-cityops"),
        ctx.timeout,
    )
    .await?;
    let mut procs: Vec<Proc> = vec![
        cityops.proc,
        procs::start_passthrough("hop", &ctx.brokers, &a1, &b1, ctx.log("throughput-hop"))?,
        procs::start_passthrough(
            "2 hops (1)",
            &ctx.brokers,
            &a2,
            &b2,
            ctx.log("throughput-2hops-1"),
        )?,
        procs::start_passthrough(
            "2 hops (2)",
            &ctx.brokers,
            &b2,
            &c2,
            ctx.log("throughput-2hops-2"),
        )?,
    ];
    let mut pipes = vec![
        Pipe {
            label: "hop",
            procs: vec![1],
            input: a1,
            output: b1,
            delivered: 0,
            result: PipeResult::default(),
        },
        Pipe {
            label: "2 hops",
            procs: vec![2, 3],
            input: a2,
            output: c2,
            delivered: 0,
            result: PipeResult::default(),
        },
        Pipe {
            label: "cityops",
            procs: vec![0],
            input: topics.raw_hotline.clone(),
            output: topics.incidents.clone(),
            delivered: 0,
            result: PipeResult::default(),
        },
    ];
    let feeder = Feeder::new(&ctx.brokers)?;
    let counter = Counter::new(&ctx.brokers)?;
    let received_at = samples::received_at(samples::now_ms());
    let batch = |label: &str, round: &str, count: usize| -> Vec<(String, Vec<u8>)> {
        (0..count)
            .map(|i| {
                let id = format!("{}-{label}-{round}-{i:07}", ctx.run_id);
                let bytes = samples::raw_ticket_bytes(&ctx.corpus, &id, i, &received_at);
                (id, bytes)
            })
            .collect()
    };
    let raw_bytes = {
        let b = batch("size", "0", 1000);
        b.iter().map(|(_, p)| p.len()).sum::<usize>() as f64 / b.len() as f64
    };

    // Warm-up: every consumer group joined, every cache and model loaded, every topic
    // written once.
    for pipe in &mut pipes {
        let records = batch(pipe.label, "warmup", ctx.warmup);
        tokio::task::block_in_place(|| feeder.feed(&pipe.input, &records))?;
        pipe.delivered += records.len() as i64;
        let seen = tokio::task::block_in_place(|| {
            counter.wait_for(
                &pipe.output,
                ctx.partitions,
                pipe.delivered,
                Duration::from_millis(20),
                ctx.timeout,
            )
        })?;
        if let Err(got) = seen {
            for &i in &pipe.procs {
                procs[i].check_alive()?;
            }
            bail!(
                "warm-up of {}: only {got} of {} records reached {} within {:?}",
                pipe.label,
                pipe.delivered,
                pipe.output,
                ctx.timeout
            );
        }
    }

    for round in 0..rounds {
        for pipe in &mut pipes {
            let records = batch(pipe.label, &round.to_string(), n);
            for &i in &pipe.procs {
                procs[i].check_alive()?;
                procs[i].pause()?;
            }
            let feed = tokio::task::block_in_place(|| feeder.feed(&pipe.input, &records));
            let cpu0: Option<Duration> = pipe.procs.iter().map(|&i| procs[i].cpu_time()).sum();
            let t0 = Instant::now();
            for &i in &pipe.procs {
                procs[i].resume()?;
            }
            let feed = feed?;
            pipe.delivered += n as i64;
            let seen = tokio::task::block_in_place(|| {
                counter.wait_for(
                    &pipe.output,
                    ctx.partitions,
                    pipe.delivered,
                    Duration::from_millis(10),
                    ctx.timeout,
                )
            })?;
            let msg = match seen {
                Ok(t1) => {
                    let cpu1: Option<Duration> =
                        pipe.procs.iter().map(|&i| procs[i].cpu_time()).sum();
                    let cpu = cpu0.zip(cpu1).map(|(a, b)| b.saturating_sub(a));
                    let elapsed = t1 - t0;
                    pipe.result.rounds.push(Round { elapsed, cpu, feed });
                    format!(
                        "{n} records in {:.2} s ({}); backlog produced in {:.2} s",
                        elapsed.as_secs_f64(),
                        stats::rate(Some(stats::per_second(n as u64, elapsed))),
                        feed.as_secs_f64()
                    )
                }
                Err(got) => {
                    let msg = format!(
                        "round {}: {} of {n} records after {:?}",
                        round + 1,
                        got - (pipe.delivered - n as i64),
                        ctx.timeout
                    );
                    pipe.result.timeouts.push(msg.clone());
                    // Later rounds count from what actually arrived.
                    pipe.delivered = got;
                    format!("timed out: {msg}")
                }
            };
            eprintln!(
                "[bench] throughput round {}/{rounds}, {}: {msg}",
                round + 1,
                pipe.label
            );
        }
    }
    for pipe in &mut pipes {
        pipe.result.peak_rss = procs[pipe.procs[0]].peak_rss();
    }
    for proc in procs {
        proc.stop(Duration::from_secs(15)).await;
    }
    let mut take = |label: &str| {
        pipes
            .iter_mut()
            .find(|p| p.label == label)
            .map(|p| std::mem::take(&mut p.result))
            .unwrap_or_default()
    };
    Ok(Throughput {
        n,
        rounds,
        raw_bytes,
        cityops: take("cityops"),
        hop: take("hop"),
        two_hops: take("2 hops"),
        elapsed: started.elapsed(),
    })
}
