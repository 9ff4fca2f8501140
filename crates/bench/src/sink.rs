//! Measurement 2: the sink's rows/s against `clickhouse-client` bulk-inserting the same rows.
//!
//! Per round, N fresh events (ingest's own output for N corpus tickets):
//! - baseline: their `events` rows as JSONEachRow in a file, inserted by
//!   `clickhouse-client --query "INSERT INTO events FORMAT JSONEachRow" < file` into a database
//!   with cityops's schema; timed from the client's start to its exit (so it includes the
//!   client's start-up, a few tens of ms);
//! - cityops: `cityops sink` (shipped batching: 10,000 rows or
//!   1 s), paused while the N events are produced to the events topic (Avro, as ingest writes
//!   them), timed from its resumption until `SELECT count() FROM events FINAL` shows the N new
//!   rows (polled every 50 ms).

use anyhow::{bail, Context, Result};
use cityops_avro::Codec;
use cityops_core::CityEvent;
use cityops_store::EventRow;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::kafka::{self, Feeder};
use crate::procs::{Cityops, Topics};
use crate::{ch, Ctx};
use cityops_bench::{samples, stats};

/// The measurement's results.
#[derive(Debug, Clone, Default)]
pub struct SinkResult {
    pub n: usize,
    pub rounds: usize,
    pub avro_bytes: f64,
    pub json_bytes: f64,
    /// Per round: cityops's time from resumption to the rows visible.
    pub cityops: Vec<Duration>,
    pub cityops_cpu: Vec<Duration>,
    /// Per round: clickhouse-client's wall time.
    pub baseline: Vec<Duration>,
    pub cityops_rss: Option<u64>,
    pub baseline_rss: Option<u64>,
    pub timeouts: Vec<String>,
    pub elapsed: Duration,
}

fn events(ctx: &Ctx, tag: &str, n: usize) -> Result<Vec<CityEvent>> {
    let now = samples::now_ms();
    let at = samples::received_at(now);
    (0..n)
        .map(|i| {
            let id = format!("{}-sink-{tag}-{i:07}", ctx.run_id);
            let raw = samples::raw_ticket(&ctx.corpus, &id, i, &at);
            samples::event_of(&raw, now).map_err(anyhow::Error::msg)
        })
        .collect()
}

fn encode(codec: &Codec, topic: &str, events: &[CityEvent]) -> Result<Vec<(String, Vec<u8>)>> {
    events
        .iter()
        .map(|e| Ok((e.event_id.clone(), codec.encode_cached(topic, e)?)))
        .collect()
}

/// Polls `count() FINAL` of `events` every 50 ms until it reaches `target`.
async fn await_rows(
    client: &clickhouse::Client,
    target: u64,
    timeout: Duration,
) -> Result<std::result::Result<Instant, u64>> {
    let deadline = Instant::now() + timeout;
    loop {
        let n = ch::count_final(client, "events").await?;
        if n >= target {
            return Ok(Ok(Instant::now()));
        }
        if Instant::now() > deadline {
            return Ok(Err(n));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `clickhouse-client` on `file`; returns its wall time and (approximate) peak memory.
async fn client_insert(
    ctx: &Ctx,
    database: &str,
    file: &std::path::Path,
) -> Result<(Duration, Option<u64>)> {
    let input = std::fs::File::open(file)?;
    let started = Instant::now();
    let mut child = tokio::process::Command::new("clickhouse-client")
        .arg("--host")
        .arg(&ctx.ch_host)
        .arg("--port")
        .arg(ctx.ch_tcp_port.to_string())
        .arg("--database")
        .arg(database)
        .arg("--query")
        .arg("INSERT INTO events FORMAT JSONEachRow")
        .stdin(Stdio::from(input))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting clickhouse-client (`make setup` installs it)")?;
    let pid = child.id();
    let mut peak = None;
    // Peak memory: sampled while it runs (a short-lived process; the last sample is close
    // to its peak, VmHWM being a high-water mark).
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Some(p) = pid.and_then(crate::procs::peak_rss_of) {
            peak = Some(p);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let elapsed = started.elapsed();
    if !status.success() {
        let out = child.wait_with_output().await?;
        bail!(
            "clickhouse-client failed ({status}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((elapsed, peak))
}

/// Runs the measurement: `n` rows per round, `rounds` rounds.
pub async fn run(ctx: &Ctx, n: usize, rounds: usize) -> Result<SinkResult> {
    let started = Instant::now();
    let topics = Topics::fresh("bench");
    kafka::create_topics(&ctx.brokers, &topics.all(), ctx.partitions).await?;
    let database = ctx.fresh_database("bench_sink");
    let base_database = ctx.fresh_database("bench_sink_base");
    let base_client = ch::create(&ctx.clickhouse, &base_database).await?;
    let cityops = Cityops::start(
        &ctx.cityops_spec(
            "sink",
            &["sink"],
            &topics,
            &database,
            &ctx.extra,
            &cityops_testkit::unique_name("bench"),
        ),
        ctx.log("sink-cityops"),
        ctx.timeout,
    )
    .await?;
    let mut proc = cityops.proc;
    let client = ch::config(&ctx.clickhouse, &database).client();
    let codec = Codec::single_object();
    let feeder = Feeder::new(&ctx.brokers)?;
    let file = ctx.out_dir.join("sink-rows.jsonl");
    let mut result = SinkResult {
        n,
        rounds,
        ..SinkResult::default()
    };

    // Warm-up: the group joined, the first insert done.
    let warm = encode(&codec, &topics.events, &events(ctx, "warmup", ctx.warmup)?)?;
    tokio::task::block_in_place(|| feeder.feed(&topics.events, &warm))?;
    let mut expected = warm.len() as u64;
    if let Err(got) = await_rows(&client, expected, ctx.timeout).await? {
        proc.check_alive()?;
        bail!(
            "sink warm-up: {got} of {expected} rows within {:?}",
            ctx.timeout
        );
    }

    for round in 0..rounds {
        let evs = events(ctx, &round.to_string(), n)?;
        let records = encode(&codec, &topics.events, &evs)?;
        let mut json = String::with_capacity(n * 800);
        for e in &evs {
            json.push_str(&serde_json::to_string(&EventRow::from(e))?);
            json.push('\n');
        }
        std::fs::write(&file, &json)?;
        result.json_bytes = json.len() as f64 / n as f64;
        result.avro_bytes = records.iter().map(|(_, p)| p.len()).sum::<usize>() as f64 / n as f64;

        // The baseline.
        let (elapsed, peak) = client_insert(ctx, &base_database, &file).await?;
        result.baseline.push(elapsed);
        result.baseline_rss = result.baseline_rss.max(peak);
        let rows = ch::count_final(&base_client, "events").await?;
        if rows != ((round + 1) * n) as u64 {
            bail!(
                "clickhouse-client inserted {rows} rows in all, {} expected",
                (round + 1) * n
            );
        }

        // cityops.
        proc.check_alive()?;
        proc.pause()?;
        let fed = tokio::task::block_in_place(|| feeder.feed(&topics.events, &records));
        let cpu0 = proc.cpu_time();
        let t0 = Instant::now();
        proc.resume()?;
        fed?;
        expected += n as u64;
        let msg = match await_rows(&client, expected, ctx.timeout).await? {
            Ok(t1) => {
                result.cityops.push(t1 - t0);
                if let Some((a, b)) = cpu0.zip(proc.cpu_time()) {
                    result.cityops_cpu.push(b.saturating_sub(a));
                }
                format!(
                    "cityops {} in {:.2} s, clickhouse-client in {:.2} s",
                    stats::thousands(n as u64),
                    (t1 - t0).as_secs_f64(),
                    elapsed.as_secs_f64()
                )
            }
            Err(got) => {
                let msg = format!(
                    "round {}: {} of {n} rows after {:?}",
                    round + 1,
                    got.saturating_sub(expected - n as u64),
                    ctx.timeout
                );
                result.timeouts.push(msg.clone());
                expected = got;
                format!("timed out: {msg}")
            }
        };
        eprintln!("[bench] sink round {}/{rounds}: {msg}", round + 1);
    }
    result.cityops_rss = proc.peak_rss();
    proc.stop(Duration::from_secs(15)).await;
    let _ = std::fs::remove_file(&file);
    result.elapsed = started.elapsed();
    Ok(result)
}
