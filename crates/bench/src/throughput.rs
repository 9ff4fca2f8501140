//! Measurement 1: the broker's raw limits, and the pipeline's end-to-end throughput against
//! the broker's single-hop rate.
//!
//! Raw limits of the broker, with the client library cityops uses (rdkafka), no processing:
//! per round, N raw tickets produced to a fresh topic as fast as the broker acknowledges them
//! (cityops's producer settings), then the same N consumed from it (assigned partitions, from
//! the beginning, nothing done with them).
//!
//! Three pipes run side by side on the same broker, each fed the same backlog:
//! - `cityops`: raw 12345 tickets on the raw hotline topic → `cityops ingest` → events →
//!   `cityops enrich` → incidents → `cityops dispatch` → work-order transitions (and the
//!   departments' topics) → `cityops sink` → ClickHouse (`events`, `incidents`,
//!   `workorder_events`, `workorders`): every service its own process;
//! - `hop`: the same raw ticket bytes through one bare rdkafka pass-through (A → B);
//! - `2 hops`: the same through two chained pass-throughs (A → B → C).
//!
//! For each round and pipe: the pipe's processes are paused (SIGSTOP), N records are produced
//! to its input and acknowledged, the clock starts as the processes are resumed, and it stops
//! when the output shows N more records: the hops' output topic's high watermarks (polled
//! every 10 ms); for cityops, ClickHouse (polled every 100 ms) showing N more `events` rows, N
//! more `incidents` rows and every new incident's work-order transition in `workorder_events`
//! (how many incidents get one is counted in the warm-up, which is one pass of the corpus, as
//! every round is a whole number of passes; a round also ends when the rows are there and
//! the transitions stopped growing for 2 s, at the time of the last change). Each process's
//! CPU time (user + sys, /proc) over the round gives the CPU per 1,000 events per service.

use anyhow::{bail, Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::{Offset, TopicPartitionList};
use serde::Deserialize;
use std::time::{Duration, Instant};

use crate::kafka::{self, Counter, Feeder};
use crate::procs::{self, Cityops, Proc, Topics};
use crate::{ch, Ctx};
use cityops_bench::{samples, stats};

/// The services of the pipeline, each run as its own process, in the order of the stages.
pub const SERVICES: [&str; 4] = ["ingest", "enrich", "dispatch", "sink"];

/// One pipe's timing in one round.
#[derive(Debug, Clone)]
pub struct Round {
    pub elapsed: Duration,
    /// CPU time of the pipe's own processes while it drained the backlog (sum).
    pub cpu: Option<Duration>,
    /// The same, per process.
    pub cpu_each: Vec<Option<Duration>>,
    /// CPU time of the broker meanwhile (the bench's own broker only).
    pub broker_cpu: Option<Duration>,
    /// How long producing the backlog took (not part of `elapsed`).
    pub feed: Duration,
}

/// What one pipe did over every round.
#[derive(Debug, Clone, Default)]
pub struct PipeResult {
    pub rounds: Vec<Round>,
    /// Peak memory of each of its processes.
    pub peak_rss: Vec<Option<u64>>,
    /// The names of its processes.
    pub procs: Vec<String>,
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

    /// CPU-seconds per 1,000 records of all its processes, over every round.
    pub fn cpu_s_per_1000_all(&self, n: usize) -> Option<f64> {
        self.per_1000(n, |r| r.cpu)
    }

    /// CPU-seconds per 1,000 records of the broker while this pipe drained, over every round.
    pub fn broker_cpu_s_per_1000(&self, n: usize) -> Option<f64> {
        self.per_1000(n, |r| r.broker_cpu)
    }

    /// How many cores the broker kept busy on average while this pipe drained (its CPU time
    /// over the rounds' wall-clock time).
    pub fn broker_cores_busy(&self) -> Option<f64> {
        let cpu: Option<Duration> = self.rounds.iter().map(|r| r.broker_cpu).sum();
        let wall: Duration = self.rounds.iter().map(|r| r.elapsed).sum();
        cpu.filter(|_| !wall.is_zero())
            .map(|c| c.as_secs_f64() / wall.as_secs_f64())
    }

    /// CPU-seconds per 1,000 records of process `i`, over every round.
    pub fn cpu_s_per_1000(&self, i: usize, n: usize) -> Option<f64> {
        self.per_1000(n, |r| r.cpu_each.get(i).copied().flatten())
    }

    /// The CPU time `of` each round, summed over the rounds, per 1,000 of their records.
    fn per_1000(&self, n: usize, of: impl Fn(&Round) -> Option<Duration>) -> Option<f64> {
        let total: Option<Duration> = self.rounds.iter().map(of).sum();
        let records = (n * self.rounds.len()) as f64;
        total
            .filter(|_| records > 0.0)
            .map(|t| t.as_secs_f64() * 1000.0 / records)
    }
}

/// The measurement's results.
#[derive(Debug, Clone, Default)]
pub struct Throughput {
    pub n: usize,
    pub rounds: usize,
    pub raw_bytes: f64,
    /// Tickets per round of the cityops pipe (a whole number of passes of the corpus).
    pub n_e2e: usize,
    /// Raw limits: per round, producing N records (acknowledged), then consuming them.
    pub produce: Vec<Duration>,
    pub consume: Vec<Duration>,
    /// Per round, `SINGLE` records produced one at a time, each acknowledged before the next
    /// (what a stage that awaits every send can do at most).
    pub single: Vec<Duration>,
    pub cityops: PipeResult,
    pub hop: PipeResult,
    pub two_hops: PipeResult,
    /// Incidents with a work-order transition per pass of the corpus (the warm-up).
    pub transitions_per_pass: u64,
    pub pass: usize,
    /// Per round, incidents with a transition that arrived.
    pub transitions: Vec<u64>,
    /// `--set` overrides the cityops processes ran with, besides wiring.
    pub extra: Vec<String>,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clickhouse::Row, Deserialize)]
struct Rows {
    events: u64,
    incidents: u64,
    transitions: u64,
}

async fn rows(client: &clickhouse::Client) -> Result<Rows> {
    client
        .query(
            "SELECT toUInt64(ifNull((SELECT count() FROM events), 0)) AS events, \
                    toUInt64(ifNull((SELECT count() FROM incidents), 0)) AS incidents, \
                    toUInt64(ifNull((SELECT uniqExact(assumeNotNull(incident_id)) FROM workorder_events \
                                     WHERE incident_id IS NOT NULL), 0)) AS transitions",
        )
        .fetch_one::<Rows>()
        .await
        .context("counting the pipeline's rows")
}

/// Polls ClickHouse every 100 ms until `events` and `incidents` hold `target.events` and
/// `target.incidents` rows and `workorder_events` `target.transitions` incidents, or the rows
/// are there and the transitions stopped growing for `settle`. Returns the rows and when
/// they were first seen, or the rows when `timeout` passed first.
async fn await_rows(
    client: &clickhouse::Client,
    target: Rows,
    settle: Duration,
    timeout: Duration,
) -> Result<std::result::Result<(Rows, Instant), Rows>> {
    let deadline = Instant::now() + timeout;
    let mut last = Rows::default();
    let mut changed = Instant::now();
    loop {
        let polled = Instant::now();
        let now = rows(client).await?;
        if now != last {
            last = now;
            changed = polled;
        }
        let base = now.events >= target.events && now.incidents >= target.incidents;
        if base && now.transitions >= target.transitions {
            return Ok(Ok((now, changed)));
        }
        if base && changed.elapsed() >= settle {
            return Ok(Ok((now, changed)));
        }
        if Instant::now() > deadline {
            return Ok(Err(now));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Consumes `n` records of `topic` (all its partitions, from the beginning), doing nothing
/// with them. Blocking.
fn consume_all(brokers: &str, topic: &str, partitions: i32, n: usize) -> Result<Duration> {
    let consumer: BaseConsumer = kafka::reader_config(brokers, "bench-consume").create()?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    let started = Instant::now();
    consumer.assign(&tpl)?;
    let mut got = 0usize;
    let deadline = started + Duration::from_secs(120);
    while got < n {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                std::hint::black_box(&m);
                got += 1;
            }
            Some(Err(e)) => bail!("consuming {topic}: {e}"),
            None if Instant::now() > deadline => {
                bail!("consuming {topic}: {got} of {n} records within 120 s")
            }
            None => {}
        }
    }
    Ok(started.elapsed())
}

enum Output {
    Topic(String),
    ClickHouse,
}

struct Pipe {
    label: &'static str,
    procs: Vec<usize>,
    input: String,
    output: Output,
    delivered: i64,
    expected: Rows,
    result: PipeResult,
}

/// Starts every service of the pipeline as its own process, one after the other (each
/// applies the migrations and creates the topics it needs, as `cityops run` does).
pub async fn start_services(
    ctx: &Ctx,
    topics: &Topics,
    database: &str,
    extra: &[String],
    label: &str,
) -> Result<Vec<Cityops>> {
    let groups = cityops_testkit::unique_name("bench");
    let mut out = Vec::new();
    for service in SERVICES {
        out.push(
            Cityops::start(
                &ctx.cityops_spec(service, &[service], topics, database, extra, &groups),
                ctx.log(&format!("{label}-{service}")),
                ctx.timeout,
            )
            .await?,
        );
    }
    Ok(out)
}

/// Records of the one-at-a-time produce.
pub const SINGLE: usize = 200;

/// Produces `SINGLE` records to `topic`, awaiting each acknowledgement before the next.
async fn produce_one_by_one(
    brokers: &str,
    topic: &str,
    records: &[(String, Vec<u8>)],
) -> Result<Duration> {
    let producer = kafka::single_producer(brokers)?;
    let started = Instant::now();
    for (key, payload) in records.iter().take(SINGLE) {
        producer
            .send(
                rdkafka::producer::FutureRecord::to(topic)
                    .key(key)
                    .payload(payload),
                rdkafka::util::Timeout::Never,
            )
            .await
            .map_err(|(e, _)| anyhow::anyhow!("producing to {topic}: {e}"))?;
    }
    Ok(started.elapsed())
}

/// Runs the measurement: `n` records per pipe and round (`n_e2e` for the cityops pipe),
/// `rounds` rounds.
pub async fn run(
    ctx: &Ctx,
    n: usize,
    n_e2e: usize,
    rounds: usize,
    e2e_rounds: usize,
) -> Result<Throughput> {
    let started = Instant::now();
    let topics = Topics::fresh("bench");
    let p = cityops_testkit::unique_name("bench_pt");
    let (a1, b1) = (format!("{p}.a1"), format!("{p}.b1"));
    let (a2, b2, c2) = (format!("{p}.a2"), format!("{p}.b2"), format!("{p}.c2"));
    let raw: Vec<String> = (0..rounds).map(|r| format!("{p}.raw{r}")).collect();
    let single_topic = format!("{p}.single");
    let mut all = topics.all();
    all.extend([
        a1.as_str(),
        b1.as_str(),
        a2.as_str(),
        b2.as_str(),
        c2.as_str(),
    ]);
    all.extend(raw.iter().map(String::as_str));
    all.push(single_topic.as_str());
    kafka::create_topics(&ctx.brokers, &all, ctx.partitions).await?;

    let database = ctx.fresh_database("bench_tp");
    ch::create(&ctx.clickhouse, &database).await?;
    let client = ch::config(&ctx.clickhouse, &database).client();
    let services = start_services(ctx, &topics, &database, &ctx.extra, "throughput").await?;
    let mut procs: Vec<Proc> = services.into_iter().map(|c| c.proc).collect();
    let first_hop = procs.len();
    procs.push(procs::start_passthrough(
        "hop",
        &ctx.brokers,
        &a1,
        &b1,
        ctx.log("throughput-hop"),
    )?);
    procs.push(procs::start_passthrough(
        "2 hops (1)",
        &ctx.brokers,
        &a2,
        &b2,
        ctx.log("throughput-2hops-1"),
    )?);
    procs.push(procs::start_passthrough(
        "2 hops (2)",
        &ctx.brokers,
        &b2,
        &c2,
        ctx.log("throughput-2hops-2"),
    )?);
    let mut pipes = vec![
        Pipe {
            label: "hop",
            procs: vec![first_hop],
            input: a1,
            output: Output::Topic(b1),
            delivered: 0,
            expected: Rows::default(),
            result: PipeResult::default(),
        },
        Pipe {
            label: "2 hops",
            procs: vec![first_hop + 1, first_hop + 2],
            input: a2,
            output: Output::Topic(c2),
            delivered: 0,
            expected: Rows::default(),
            result: PipeResult::default(),
        },
        Pipe {
            label: "cityops",
            procs: (0..SERVICES.len()).collect(),
            input: topics.raw_hotline.clone(),
            output: Output::ClickHouse,
            delivered: 0,
            expected: Rows::default(),
            result: PipeResult::default(),
        },
    ];
    for pipe in &mut pipes {
        pipe.result.procs = pipe.procs.iter().map(|&i| procs[i].name.clone()).collect();
    }
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
    // One pass of the corpus: the warm-up, and the unit of every round.
    let pass = ctx.corpus.len();
    let n_e2e = n_e2e.div_ceil(pass).max(1) * pass;
    let mut transitions_per_pass = 0;

    // Warm-up: every consumer group joined, every cache and model loaded, every topic
    // written once (the departments' topics created by dispatch).
    for pipe in &mut pipes {
        let count = if pipe.label == "cityops" {
            pass
        } else {
            ctx.warmup
        };
        let records = batch(pipe.label, "warmup", count);
        tokio::task::block_in_place(|| feeder.feed(&pipe.input, &records))?;
        pipe.delivered += records.len() as i64;
        match &pipe.output {
            Output::Topic(output) => {
                let seen = tokio::task::block_in_place(|| {
                    counter.wait_for(
                        output,
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
                        "warm-up of {}: only {got} of {} records reached {output} within {:?}",
                        pipe.label,
                        pipe.delivered,
                        ctx.timeout
                    );
                }
            }
            Output::ClickHouse => {
                let target = Rows {
                    events: count as u64,
                    incidents: count as u64,
                    transitions: u64::MAX,
                };
                match await_rows(&client, target, Duration::from_secs(3), ctx.timeout).await? {
                    Ok((got, _)) => {
                        transitions_per_pass = got.transitions;
                        pipe.expected = got;
                        eprintln!(
                            "[bench] warm-up of cityops: {} events, {} incidents, {} with a work-order transition",
                            got.events, got.incidents, got.transitions
                        );
                    }
                    Err(got) => {
                        for &i in &pipe.procs {
                            procs[i].check_alive()?;
                        }
                        bail!("warm-up of cityops: only {got:?} rows in ClickHouse within {:?} ({count} tickets)", ctx.timeout);
                    }
                }
            }
        }
    }

    let mut produce = Vec::new();
    let mut single = Vec::new();
    let mut consume = Vec::new();
    let mut transitions = Vec::new();
    for (round, topic) in raw.iter().enumerate() {
        // The broker's raw limits: produce, then consume, nothing else.
        let records = batch("raw", &round.to_string(), n);
        let fed = tokio::task::block_in_place(|| feeder.feed(topic, &records))?;
        let read =
            tokio::task::block_in_place(|| consume_all(&ctx.brokers, topic, ctx.partitions, n))?;
        eprintln!(
            "[bench] raw broker round {}/{rounds}: produced {n} in {:.2} s ({}), consumed in {:.2} s ({})",
            round + 1,
            fed.as_secs_f64(),
            stats::rate(Some(stats::per_second(n as u64, fed))),
            read.as_secs_f64(),
            stats::rate(Some(stats::per_second(n as u64, read)))
        );
        produce.push(fed);
        consume.push(read);
        let one = produce_one_by_one(&ctx.brokers, &single_topic, &records).await?;
        eprintln!(
            "[bench] raw broker round {}/{rounds}: {SINGLE} produced one at a time in {:.2} s ({})",
            round + 1,
            one.as_secs_f64(),
            stats::rate(Some(stats::per_second(SINGLE as u64, one)))
        );
        single.push(one);

        for pipe in &mut pipes {
            if pipe.label == "cityops" && round >= e2e_rounds {
                continue;
            }
            let n = if pipe.label == "cityops" { n_e2e } else { n };
            let records = batch(pipe.label, &round.to_string(), n);
            for &i in &pipe.procs {
                procs[i].check_alive()?;
                procs[i].pause()?;
            }
            let feed = tokio::task::block_in_place(|| feeder.feed(&pipe.input, &records));
            let cpu0: Vec<Option<Duration>> =
                pipe.procs.iter().map(|&i| procs[i].cpu_time()).collect();
            let broker_cpu0 = ctx.broker_pid.and_then(procs::cpu_time_of);
            let t0 = Instant::now();
            for &i in &pipe.procs {
                procs[i].resume()?;
            }
            let feed = feed?;
            pipe.delivered += n as i64;
            let seen: std::result::Result<Instant, String> = match &pipe.output {
                Output::Topic(output) => tokio::task::block_in_place(|| {
                    counter.wait_for(
                        output,
                        ctx.partitions,
                        pipe.delivered,
                        Duration::from_millis(10),
                        ctx.timeout,
                    )
                })?
                .map_err(|got| {
                    let msg = format!(
                        "round {}: {} of {n} records after {:?}",
                        round + 1,
                        got - (pipe.delivered - n as i64),
                        ctx.timeout
                    );
                    // Later rounds count from what actually arrived.
                    pipe.delivered = got;
                    msg
                }),
                Output::ClickHouse => {
                    let passes = (n / pass) as u64;
                    let target = Rows {
                        events: pipe.expected.events + n as u64,
                        incidents: pipe.expected.incidents + n as u64,
                        transitions: pipe.expected.transitions + passes * transitions_per_pass,
                    };
                    match await_rows(&client, target, Duration::from_secs(2), ctx.timeout).await? {
                        Ok((got, at)) => {
                            transitions.push(got.transitions - pipe.expected.transitions);
                            pipe.expected = got;
                            Ok(at)
                        }
                        Err(got) => {
                            let msg = format!(
                                "round {}: {} events, {} incidents, {} transitions of {n} after {:?}",
                                round + 1,
                                got.events - pipe.expected.events,
                                got.incidents - pipe.expected.incidents,
                                got.transitions - pipe.expected.transitions,
                                ctx.timeout
                            );
                            pipe.expected = got;
                            Err(msg)
                        }
                    }
                }
            };
            let msg = match seen {
                Ok(t1) => {
                    let cpu_each: Vec<Option<Duration>> = pipe
                        .procs
                        .iter()
                        .zip(&cpu0)
                        .map(|(&i, c0)| {
                            c0.zip(procs[i].cpu_time())
                                .map(|(a, b)| b.saturating_sub(a))
                        })
                        .collect();
                    let cpu = cpu_each.iter().copied().sum();
                    let broker_cpu = broker_cpu0
                        .zip(ctx.broker_pid.and_then(procs::cpu_time_of))
                        .map(|(a, b)| b.saturating_sub(a));
                    let elapsed = t1.saturating_duration_since(t0);
                    pipe.result.rounds.push(Round {
                        elapsed,
                        cpu,
                        cpu_each,
                        broker_cpu,
                        feed,
                    });
                    format!(
                        "{n} records in {:.2} s ({}); backlog produced in {:.2} s",
                        elapsed.as_secs_f64(),
                        stats::rate(Some(stats::per_second(n as u64, elapsed))),
                        feed.as_secs_f64()
                    )
                }
                Err(msg) => {
                    pipe.result.timeouts.push(msg.clone());
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
        pipe.result.peak_rss = pipe.procs.iter().map(|&i| procs[i].peak_rss()).collect();
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
        n_e2e,
        rounds,
        raw_bytes,
        produce,
        consume,
        single,
        cityops: take("cityops"),
        hop: take("hop"),
        two_hops: take("2 hops"),
        transitions_per_pass,
        pass,
        transitions,
        extra: ctx.extra.clone(),
        elapsed: started.elapsed(),
    })
}
