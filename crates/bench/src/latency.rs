//! Measurement 4: latency from an event's intake to its work order on the department's topic
//! and to its row in ClickHouse, at a fixed moderate rate.
//!
//! cityops runs as four processes (`cityops ingest`, `enrich`, `dispatch`, `sink`) with the
//! shipped config, and again with each variant's `--set` overrides (e.g. a longer
//! `kafka.fetch_wait_max_ms`). Events are POSTed one per request at a steady `rate` (requests
//! are started on a fixed schedule, not one after another, so a slow answer does not lower the
//! rate): tickets of the corpus, a `ticket_share` of them evenly spread (the simulator's mix
//! is a quarter), and IoT readings of every device type between them (1% alarms), which load
//! every stage but are not timed. A ticket's clock starts when its POST is answered 202 (the
//! event is on the events topic, acknowledged by the broker). It stops:
//! - when its incident is read from the incidents topic (enrich's output);
//! - when an order snapshot naming it (`incident_ids`) is read from a department's topic
//!   `<prefix>.<dept>.orders.v1` (dispatch's output; a merged ticket is in the snapshot of
//!   the order it joined);
//! - when its work-order transition (`workorder_events.incident_id`) is first returned by
//!   ClickHouse, polled every 50 ms (a row's time is the start of the first poll that saw it).
//!
//! The readers long-poll 5 ms at most; the departments' topics are found by listing the
//! broker's topics every 250 ms and read from their beginning (assigned, no group), after a
//! warm-up of one pass of the corpus that has dispatch create most of them. Tickets that never
//! get an order (not actionable) are counted, not timed; those that should and did not within
//! the timeout count as later than any.

use anyhow::{bail, Context, Result};
use cityops_avro::Codec;
use cityops_core::{Incident, WorkOrder};
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::message::Message as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

use crate::procs::Topics;
use crate::throughput::{start_services, SERVICES};
use crate::{ch, kafka, procs, Ctx};
use cityops_bench::samples;

/// When each id was taken in and seen downstream.
#[derive(Default)]
struct Times {
    intake: HashMap<String, Instant>,
    incident: HashMap<String, Instant>,
    order: HashMap<String, Instant>,
    table: HashMap<String, Instant>,
}

type Shared = Arc<Mutex<Times>>;

fn lock(t: &Shared) -> std::sync::MutexGuard<'_, Times> {
    t.lock().unwrap_or_else(|e| e.into_inner())
}

/// One configuration's latencies, in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Variant {
    pub label: String,
    pub extra: Vec<String>,
    pub sent: usize,
    /// The rate the requests were actually started at.
    pub achieved_rate: f64,
    pub to_incident: Vec<f64>,
    pub to_order: Vec<f64>,
    pub to_table: Vec<f64>,
    /// POST → 202.
    pub intake: Vec<f64>,
    pub failed_posts: usize,
    /// How many of the sent tickets should get an order (the warm-up's share: the corpus's
    /// actionable tickets); those that did not within the timeout count as infinitely late.
    pub expected_orders: usize,
    /// The timeout those waited for.
    pub timeout: Duration,
    /// Per service: CPU-seconds over the sample.
    pub cpu: Vec<(String, Option<Duration>)>,
    /// The broker's CPU-seconds over the sample (the bench's own broker only), and the
    /// wall-clock time of the sample (sending, then waiting for the orders).
    pub broker_cpu: Option<Duration>,
    pub cpu_window: Duration,
    pub peak_rss: Vec<(String, Option<u64>)>,
    pub elapsed: Duration,
}

/// The measurement's results.
#[derive(Debug, Clone, Default)]
pub struct LatencyResult {
    pub samples: usize,
    pub rate: f64,
    /// The share of tickets among the events (the rest are readings).
    pub ticket_share: f64,
    pub raw_bytes: f64,
    pub variants: Vec<Variant>,
    pub sink_period_ms: u64,
    pub elapsed: Duration,
}

impl LatencyResult {
    /// "25% tickets" (the rest readings), or "tickets only".
    pub fn mix(&self) -> String {
        if self.ticket_share >= 1.0 {
            "tickets only".to_owned()
        } else {
            format!("{:.0}% tickets", self.ticket_share * 100.0)
        }
    }
}

/// A reader of `topics` (names, or one `^pattern`) from their beginning that waits very little
/// for new data, and finds new topics of a pattern within a second.
fn reader(brokers: &str, topics: &[&str]) -> Result<StreamConsumer> {
    let consumer: StreamConsumer = kafka::reader_config(brokers, "bench-observer")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "5")
        .set("topic.metadata.refresh.interval.ms", "1000")
        .create()?;
    consumer.subscribe(topics)?;
    Ok(consumer)
}

/// Reads `consumer` and records when each id (from `ids_of`) first appears in `slot`.
fn watch_topic<F>(
    consumer: StreamConsumer,
    times: Shared,
    ids_of: F,
    slot: fn(&mut Times) -> &mut HashMap<String, Instant>,
) -> JoinHandle<()>
where
    F: Fn(&[u8]) -> Vec<String> + Send + 'static,
{
    tokio::spawn(async move {
        while let Ok(m) = consumer.recv().await {
            let now = Instant::now();
            let ids = ids_of(m.payload().unwrap_or_default());
            let mut t = lock(&times);
            for id in ids {
                slot(&mut t).entry(id).or_insert(now);
            }
        }
    })
}

/// Reads every department's orders topic (`<prefix>.<dept>.orders.v1`) from its beginning,
/// as dispatch creates them: the broker's topics are listed every 250 ms and each new one's
/// partitions assigned (no consumer group, so no rebalance when a topic appears). Records
/// when each incident first appears in an order snapshot.
fn watch_departments(
    brokers: &str,
    prefix: &str,
    times: Shared,
    codec: Codec,
) -> Result<JoinHandle<()>> {
    let consumer: Arc<StreamConsumer> = Arc::new(
        kafka::reader_config(brokers, "bench-observer")
            .set("fetch.wait.max.ms", "5")
            .create()?,
    );
    let head = format!("{prefix}.");
    let discover = {
        let consumer = consumer.clone();
        tokio::spawn(async move {
            let mut known = std::collections::HashSet::new();
            loop {
                let c = consumer.clone();
                let found = tokio::task::spawn_blocking(move || {
                    c.fetch_metadata(None, Duration::from_secs(2))
                        .map(|m| {
                            m.topics()
                                .iter()
                                .map(|t| (t.name().to_owned(), t.partitions().len()))
                                .collect::<Vec<_>>()
                        })
                        .unwrap_or_default()
                })
                .await
                .unwrap_or_default();
                let mut tpl = rdkafka::TopicPartitionList::new();
                for (name, partitions) in found {
                    if name.starts_with(&head)
                        && name.ends_with(".orders.v1")
                        && partitions > 0
                        && known.insert(name.clone())
                    {
                        for p in 0..partitions {
                            let _ = tpl.add_partition_offset(
                                &name,
                                p as i32,
                                rdkafka::Offset::Beginning,
                            );
                        }
                    }
                }
                if tpl.count() > 0 {
                    if let Err(e) = consumer.incremental_assign(&tpl) {
                        eprintln!("[bench] assigning department topics: {e}");
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    Ok(tokio::spawn(async move {
        while let Ok(m) = consumer.recv().await {
            let now = Instant::now();
            let ids = codec
                .decode_cached::<WorkOrder>(m.payload().unwrap_or_default())
                .map(|o| o.incident_ids)
                .unwrap_or_default();
            let mut t = lock(&times);
            for id in ids {
                t.order.entry(id).or_insert(now);
            }
        }
        discover.abort();
    }))
}

/// Polls `workorder_events` every 50 ms for the ids taken in and not yet visible.
fn watch_table(client: clickhouse::Client, times: Shared) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let pending: Vec<String> = {
                let t = lock(&times);
                t.intake
                    .keys()
                    .filter(|id| !t.table.contains_key(*id))
                    .cloned()
                    .collect()
            };
            let polled_at = Instant::now();
            if let Ok(ids) = ch::visible(&client, "workorder_events", "incident_id", &pending).await
            {
                let mut t = lock(&times);
                for id in ids {
                    t.table.entry(id).or_insert(polled_at);
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

/// Waits until every one of `ids` has an order and a row, or nothing new arrived for
/// `quiet` (tickets that get no order), or `timeout`.
async fn settle(times: &Shared, ids: &[String], quiet: Duration, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut last = (usize::MAX, usize::MAX);
    let mut changed = Instant::now();
    loop {
        let now = {
            let t = lock(times);
            (
                ids.iter().filter(|id| t.order.contains_key(*id)).count(),
                ids.iter().filter(|id| t.table.contains_key(*id)).count(),
            )
        };
        if now.0 == ids.len() && now.1 == ids.len() {
            return;
        }
        if now != last {
            last = now;
            changed = Instant::now();
        }
        if changed.elapsed() >= quiet || Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn millis(t: &Times, slot: &HashMap<String, Instant>, ids: &[String]) -> Vec<f64> {
    ids.iter()
        .filter_map(|id| {
            let start = t.intake.get(id)?;
            Some(
                slot.get(id)?
                    .saturating_duration_since(*start)
                    .as_secs_f64()
                    * 1e3,
            )
        })
        .collect()
}

/// Whether event `i` of a run is a ticket, for `share` of them evenly spread.
fn is_ticket(i: usize, share: f64) -> bool {
    let share = share.clamp(0.0, 1.0);
    ((i + 1) as f64 * share).floor() > (i as f64 * share).floor()
}

/// Runs one configuration: `samples_n` events at `rate` per second, `ticket_share` of them
/// tickets (the warm-up is one pass of the corpus, tickets only).
async fn run_variant(
    ctx: &Ctx,
    label: &str,
    extra: Vec<String>,
    samples_n: usize,
    rate: f64,
    ticket_share: f64,
) -> Result<Variant> {
    let catalogue =
        cityops_core::catalogue::Catalogue::load(ctx.root.join("config/catalogue.toml"))
            .context("the shipped catalogue (for the readings)")?;
    let started = Instant::now();
    let topics = Topics::fresh("bench");
    kafka::create_topics(&ctx.brokers, &topics.all(), ctx.partitions).await?;
    let database = ctx.fresh_database("bench_lat");
    ch::create(&ctx.clickhouse, &database).await?;
    let mut services =
        start_services(ctx, &topics, &database, &extra, &format!("latency-{label}")).await?;
    let client = ch::config(&ctx.clickhouse, &database).client();

    let times: Shared = Arc::default();
    let codec = Codec::single_object();
    let mut watchers = Vec::new();
    {
        let codec = codec.clone();
        watchers.push(watch_topic(
            reader(&ctx.brokers, &[&topics.incidents])?,
            times.clone(),
            move |payload| {
                codec
                    .decode_cached::<Incident>(payload)
                    .map(|i| vec![i.incident_id])
                    .unwrap_or_default()
            },
            |t| &mut t.incident,
        ));
    }
    watchers.push(watch_departments(
        &ctx.brokers,
        &topics.department_prefix,
        times.clone(),
        codec,
    )?);
    watchers.push(watch_table(client, times.clone()));

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let url = format!("{}/v1/hotline/tickets", services[0].ingest_url);
    let readings_url = format!("{}/v1/iot/readings", services[0].ingest_url);
    let now = samples::now_ms();
    let at = samples::received_at(now);
    let period = Duration::from_secs_f64(1.0 / rate.max(0.1));
    let mut result = Variant {
        label: label.to_owned(),
        extra,
        ..Variant::default()
    };

    let mut warm_share = 1.0;
    for phase in ["warmup", "sample"] {
        let count = if phase == "warmup" {
            ctx.corpus.len()
        } else {
            samples_n
        };
        let cpu0: Vec<Option<Duration>> = services.iter().map(|s| s.proc.cpu_time()).collect();
        let broker_cpu0 = ctx.broker_pid.and_then(procs::cpu_time_of);
        let window = Instant::now();
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut posts = Vec::with_capacity(count);
        let t0 = Instant::now();
        for i in 0..count {
            tick.tick().await;
            let ticket = phase == "warmup" || is_ticket(i, ticket_share);
            let (body, url) = if ticket {
                let id = format!("{}-lat-{label}-{phase}-{i:06}", ctx.run_id);
                (
                    samples::raw_ticket(&ctx.corpus, &id, i, &at).to_string(),
                    url.clone(),
                )
            } else {
                let reading = samples::raw_reading(&catalogue, i, &at, now, 100)
                    .context("a reading (the catalogue has no device type)")?;
                (reading.to_string(), readings_url.clone())
            };
            let (http, times) = (http.clone(), times.clone());
            posts.push(tokio::spawn(async move {
                let sent = Instant::now();
                let resp = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .context("POST an event")?;
                let status = resp.status().as_u16();
                let body: serde_json::Value = resp.json().await.unwrap_or_default();
                let acked = Instant::now();
                if status != 202 {
                    bail!("POST answered {status}: {body}");
                }
                let id = body["results"][0]["event_id"]
                    .as_str()
                    .context("event_id in the answer")?
                    .to_owned();
                if !ticket {
                    return Ok::<_, anyhow::Error>(None);
                }
                lock(&times).intake.insert(id.clone(), acked);
                Ok(Some((id, (acked - sent).as_secs_f64() * 1e3)))
            }));
        }
        let sending = t0.elapsed();
        let mut ids = Vec::with_capacity(count);
        let mut intake = Vec::with_capacity(count);
        let mut failed = 0;
        let mut first_error = None;
        for p in posts {
            match p.await? {
                Ok(Some((id, ms))) => {
                    ids.push(id);
                    intake.push(ms);
                }
                Ok(None) => {}
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        settle(&times, &ids, Duration::from_secs(5), ctx.timeout).await;
        if phase == "warmup" {
            let t = lock(&times);
            let ordered = ids.iter().filter(|id| t.order.contains_key(*id)).count();
            if ordered == 0 {
                drop(t);
                for s in &mut services {
                    s.proc.check_alive()?;
                }
                bail!(
                    "latency warm-up ({label}): none of {count} tickets reached a department's topic{}",
                    first_error.map(|e| format!("; first failure: {e:#}")).unwrap_or_default()
                );
            }
            eprintln!(
                "[bench] latency warm-up ({label}): {ordered} of {count} tickets reached a department's topic"
            );
            warm_share = ordered as f64 / count.max(1) as f64;
            continue;
        }
        result.sent = count;
        result.expected_orders = (ids.len() as f64 * warm_share).round() as usize;
        result.timeout = ctx.timeout;
        result.failed_posts = failed;
        result.achieved_rate = count as f64 / sending.as_secs_f64().max(1e-9);
        result.intake = intake;
        let t = lock(&times);
        result.to_incident = millis(&t, &t.incident, &ids);
        result.to_order = millis(&t, &t.order, &ids);
        result.to_table = millis(&t, &t.table, &ids);
        result.cpu = SERVICES
            .iter()
            .zip(&services)
            .zip(&cpu0)
            .map(|((name, s), c0)| {
                (
                    (*name).to_owned(),
                    c0.zip(s.proc.cpu_time()).map(|(a, b)| b.saturating_sub(a)),
                )
            })
            .collect();
        result.broker_cpu = broker_cpu0
            .zip(ctx.broker_pid.and_then(procs::cpu_time_of))
            .map(|(a, b)| b.saturating_sub(a));
        result.cpu_window = window.elapsed();
    }
    result.peak_rss = SERVICES
        .iter()
        .zip(&services)
        .map(|(name, s)| ((*name).to_owned(), s.proc.peak_rss()))
        .collect();
    for w in watchers {
        w.abort();
    }
    for s in services {
        s.proc.stop(Duration::from_secs(15)).await;
    }
    result.elapsed = started.elapsed();
    Ok(result)
}

/// Runs the measurement: `samples_n` tickets at `rate` per second, with the shipped config
/// and then with each of `variants` (a label and its `--set` overrides).
pub async fn run(
    ctx: &Ctx,
    samples_n: usize,
    rate: f64,
    ticket_share: f64,
    variants: &[(String, Vec<String>)],
) -> Result<LatencyResult> {
    let started = Instant::now();
    let at = samples::received_at(samples::now_ms());
    let raw_bytes = (0..ctx.corpus.len())
        .map(|i| {
            samples::raw_ticket(&ctx.corpus, "BENCH-LAT-000000", i, &at)
                .to_string()
                .len()
        })
        .sum::<usize>() as f64
        / ctx.corpus.len().max(1) as f64;
    let mut result = LatencyResult {
        samples: samples_n,
        rate,
        ticket_share,
        raw_bytes,
        sink_period_ms: ctx.sink_period_ms,
        ..LatencyResult::default()
    };
    let mut all = vec![("shipped".to_owned(), ctx.extra.clone())];
    for (label, sets) in variants {
        let mut extra = ctx.extra.clone();
        extra.extend(sets.iter().cloned());
        all.push((label.clone(), extra));
    }
    for (label, extra) in all {
        eprintln!(
            "[bench] latency, {label}: {samples_n} events at {rate}/s, {:.0}% tickets",
            ticket_share * 100.0
        );
        let v = run_variant(ctx, &label, extra, samples_n, rate, ticket_share).await?;
        eprintln!(
            "[bench] latency, {label}: to the department's topic p50 {:?} p99 {:?} ms ({} of {})",
            cityops_bench::stats::percentile(&v.to_order, 50.0),
            cityops_bench::stats::percentile(&v.to_order, 99.0),
            v.to_order.len(),
            v.sent
        );
        result.variants.push(v);
    }
    result.elapsed = started.elapsed();
    Ok(result)
}
