//! Measurement 4: latency from an event's intake to its incident on the incidents topic and to its row
//! being visible in ClickHouse.
//!
//! cityops (`cityops run`, every service, shipped config): S tickets POSTed one per request at
//! a steady rate; a ticket's clock starts when its POST is answered 202 (the event is on the
//! events topic, acknowledged by the broker). It stops when the incident is read from the
//! incidents topic (a reader that long-polls 5 ms at most), and when
//! `SELECT incident_id FROM incidents FINAL WHERE incident_id IN (...)` first returns it
//! (polled every 25 ms; a row's time is the start of the first poll that saw it).
//!
//! Baseline, same rate and the same observers: the same ticket bytes produced to topic A with
//! cityops's producer settings; the clock starts at the broker's acknowledgement. One bare
//! pass-through moves it to topic B; the bench reads it there and inserts its `events` row
//! straight away (one row per INSERT, no batching) into a database with cityops's schema; the
//! same poll sees it. That is the least any Kafka-to-ClickHouse path must spend: one hop and
//! one insert.

use anyhow::{bail, Context, Result};
use cityops_avro::Codec;
use cityops_core::{event_id_for, Incident, Source};
use cityops_store::EventRow;
use rdkafka::consumer::StreamConsumer;
use rdkafka::message::Message as _;
use rdkafka::producer::FutureRecord;
use rdkafka::util::Timeout;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

use crate::kafka;
use crate::procs::{self, Cityops, CityopsSpec, Topics};
use crate::{ch, Ctx};
use cityops_bench::samples;

/// When each id was taken in, seen on the output topic, and visible in ClickHouse.
#[derive(Default)]
struct Times {
    intake: HashMap<String, Instant>,
    topic: HashMap<String, Instant>,
    table: HashMap<String, Instant>,
}

type Shared = Arc<Mutex<Times>>;

fn lock(t: &Shared) -> std::sync::MutexGuard<'_, Times> {
    t.lock().unwrap_or_else(|e| e.into_inner())
}

/// Latencies of one side, in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Side {
    pub to_topic: Vec<f64>,
    pub to_table: Vec<f64>,
    /// POST → 202 (cityops) or produce → acknowledged (baseline).
    pub intake: Vec<f64>,
    pub missing: usize,
}

/// The measurement's results.
#[derive(Debug, Clone, Default)]
pub struct LatencyResult {
    pub samples: usize,
    pub rate: f64,
    pub raw_bytes: f64,
    pub incident_bytes: f64,
    pub cityops: Side,
    pub baseline: Side,
    pub sink_period_ms: u64,
    pub elapsed: Duration,
}

/// Reads `consumer` and records when each id (from `id_of`) first appears; `after` runs on
/// each new id.
fn watch_topic<F, A>(
    consumer: StreamConsumer,
    times: Shared,
    id_of: F,
    after: A,
    sizes: Arc<Mutex<Vec<usize>>>,
) -> JoinHandle<()>
where
    F: Fn(&[u8], Option<&[u8]>) -> Option<String> + Send + 'static,
    A: Fn(&str) + Send + 'static,
{
    tokio::spawn(async move {
        while let Ok(m) = consumer.recv().await {
            let now = Instant::now();
            let payload = m.payload().unwrap_or_default();
            if let Some(id) = id_of(payload, m.key()) {
                let new = {
                    let mut t = lock(&times);
                    if t.topic.contains_key(&id) {
                        false
                    } else {
                        t.topic.insert(id.clone(), now);
                        true
                    }
                };
                if new {
                    sizes
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(payload.len());
                    after(&id);
                }
            }
        }
    })
}

/// Polls `table` every 25 ms for the ids taken in and not yet visible.
fn watch_table(
    client: clickhouse::Client,
    table: &'static str,
    column: &'static str,
    times: Shared,
) -> JoinHandle<()> {
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
            if let Ok(ids) = ch::visible(&client, table, column, &pending).await {
                let mut t = lock(&times);
                for id in ids {
                    t.table.entry(id).or_insert(polled_at);
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    })
}

/// Waits (polling the shared times every 20 ms) until every one of `ids` was seen in the
/// table, or `timeout`.
async fn await_all(times: &Shared, ids: &[String], timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let missing = {
            let t = lock(times);
            ids.iter()
                .filter(|id| !t.table.contains_key(*id) || !t.topic.contains_key(*id))
                .count()
        };
        if missing == 0 || Instant::now() > deadline {
            return missing;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn side(times: &Shared, ids: &[String], intake: Vec<f64>, missing: usize) -> Side {
    let t = lock(times);
    let ms = |m: &HashMap<String, Instant>, id: &String| -> Option<f64> {
        let start = t.intake.get(id)?;
        Some(m.get(id)?.saturating_duration_since(*start).as_secs_f64() * 1e3)
    };
    Side {
        to_topic: ids.iter().filter_map(|id| ms(&t.topic, id)).collect(),
        to_table: ids.iter().filter_map(|id| ms(&t.table, id)).collect(),
        intake,
        missing,
    }
}

/// Runs the measurement: `samples` tickets per side at `rate` per second.
pub async fn run(ctx: &Ctx, samples_n: usize, rate: f64) -> Result<LatencyResult> {
    let started = Instant::now();
    let topics = Topics::fresh("bench");
    let p = cityops_testkit::unique_name("bench_lat");
    let (a, b) = (format!("{p}.a"), format!("{p}.b"));
    let mut all = topics.all();
    all.extend([a.as_str(), b.as_str()]);
    kafka::create_topics(&ctx.brokers, &all, ctx.partitions).await?;
    let database = ctx.fresh_database("bench_lat");
    let base_database = ctx.fresh_database("bench_lat_base");
    let base_client = ch::create(&ctx.clickhouse, &base_database).await?;

    let mut cityops = Cityops::start(
        &CityopsSpec {
            program: &ctx.cityops,
            config: &ctx.config,
            root: &ctx.root,
            brokers: &ctx.brokers,
            clickhouse: &ctx.clickhouse,
            topics: &topics,
            database: &database,
            services: &["ingest", "enrich", "sink"],
            partitions: ctx.partitions,
        },
        ctx.log("latency-cityops"),
        ctx.timeout,
    )
    .await?;
    let passthrough =
        procs::start_passthrough("hop", &ctx.brokers, &a, &b, ctx.log("latency-hop"))?;
    let client = ch::config(&ctx.clickhouse, &database).client();

    let now = samples::now_ms();
    let at = samples::received_at(now);
    let ticket = |side: &str, i: usize| {
        let id = format!("{}-lat-{side}-{i:05}", ctx.run_id);
        samples::raw_ticket(&ctx.corpus, &id, i, &at)
    };
    let raw_bytes = (0..samples_n)
        .map(|i| ticket("c", i).to_string().len())
        .sum::<usize>() as f64
        / samples_n.max(1) as f64;

    // cityops's observers.
    let c_times: Shared = Arc::default();
    let incident_sizes = Arc::new(Mutex::new(Vec::new()));
    let codec = Codec::single_object();
    let mut watchers = Vec::new();
    watchers.push(watch_topic(
        kafka::observer(&ctx.brokers, &[&topics.incidents])?,
        c_times.clone(),
        move |payload, _| {
            codec
                .decode_cached::<Incident>(payload)
                .ok()
                .map(|i| i.incident_id)
        },
        |_| {},
        incident_sizes.clone(),
    ));
    watchers.push(watch_table(
        client,
        "incidents",
        "incident_id",
        c_times.clone(),
    ));

    // The baseline's: the hop's output, each record's row inserted at once.
    let b_times: Shared = Arc::default();
    let rows: Arc<Mutex<HashMap<String, EventRow>>> = Arc::default();
    {
        let rows = rows.clone();
        let base_client = base_client.clone();
        watchers.push(watch_topic(
            kafka::observer(&ctx.brokers, &[&b])?,
            b_times.clone(),
            |_, key| key.map(|k| String::from_utf8_lossy(k).into_owned()),
            move |id| {
                let row = rows
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(id)
                    .cloned();
                if let Some(row) = row {
                    let client = base_client.clone();
                    tokio::spawn(async move {
                        let insert = async {
                            let mut insert = client.insert::<EventRow>("events").await?;
                            insert.write(&row).await?;
                            insert.end().await
                        };
                        if let Err(e) = insert.await {
                            eprintln!("[bench] baseline insert failed: {e}");
                        }
                    });
                }
            },
            Arc::new(Mutex::new(Vec::new())),
        ));
    }
    watchers.push(watch_table(
        base_client,
        "events",
        "event_id",
        b_times.clone(),
    ));

    let http = reqwest::Client::new();
    let url = format!("{}/v1/hotline/tickets", cityops.ingest_url);
    let post = |body: String| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let sent = Instant::now();
            let resp = http
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .context("POST a ticket")?;
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
            Ok((id, sent, acked))
        }
    };
    let producer = kafka::single_producer(&ctx.brokers)?;
    let produce = |id: String, bytes: Vec<u8>| {
        let (producer, a) = (producer.clone(), a.clone());
        async move {
            let sent = Instant::now();
            producer
                .send(
                    FutureRecord::to(&a).key(&id).payload(&bytes),
                    Timeout::Never,
                )
                .await
                .map_err(|(e, _)| anyhow::anyhow!("producing to {a}: {e}"))?;
            Ok::<_, anyhow::Error>((id, sent, Instant::now()))
        }
    };
    let period = Duration::from_secs_f64(1.0 / rate.max(0.1));

    // cityops: warm-up, then the sample.
    let mut c_ids = Vec::new();
    let mut c_intake = Vec::new();
    for phase in ["warmup", "sample"] {
        let count = if phase == "warmup" {
            ctx.warmup.min(20)
        } else {
            samples_n
        };
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ids = Vec::new();
        for i in 0..count {
            tick.tick().await;
            let (id, sent, acked) = post(ticket(&format!("c{phase}"), i).to_string()).await?;
            lock(&c_times).intake.insert(id.clone(), acked);
            if phase == "sample" {
                c_intake.push((acked - sent).as_secs_f64() * 1e3);
            }
            ids.push(id);
        }
        let missing = await_all(&c_times, &ids, ctx.timeout).await;
        if phase == "warmup" && missing > 0 {
            cityops.proc.check_alive()?;
            bail!("latency warm-up: {missing} of {count} tickets never reached ClickHouse");
        }
        c_ids = ids;
    }
    let c_missing = await_all(&c_times, &c_ids, Duration::ZERO).await;

    // Baseline: warm-up, then the sample.
    let mut b_ids = Vec::new();
    let mut b_intake = Vec::new();
    for phase in ["warmup", "sample"] {
        let count = if phase == "warmup" {
            ctx.warmup.min(20)
        } else {
            samples_n
        };
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ids = Vec::new();
        for i in 0..count {
            tick.tick().await;
            let raw = ticket(&format!("b{phase}"), i);
            let event = samples::event_of(&raw, samples::now_ms()).map_err(anyhow::Error::msg)?;
            let id = event_id_for(Source::Hotline, &event.source_id);
            rows.lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.clone(), EventRow::from(&event));
            let (id, sent, acked) = produce(id, raw.to_string().into_bytes()).await?;
            lock(&b_times).intake.insert(id.clone(), acked);
            if phase == "sample" {
                b_intake.push((acked - sent).as_secs_f64() * 1e3);
            }
            ids.push(id);
        }
        let missing = await_all(&b_times, &ids, ctx.timeout).await;
        if phase == "warmup" && missing > 0 {
            bail!(
                "baseline latency warm-up: {missing} of {count} records never reached ClickHouse"
            );
        }
        b_ids = ids;
    }
    let b_missing = await_all(&b_times, &b_ids, Duration::ZERO).await;

    let incident_bytes = {
        let s = incident_sizes.lock().unwrap_or_else(|e| e.into_inner());
        s.iter().sum::<usize>() as f64 / s.len().max(1) as f64
    };
    let result = LatencyResult {
        samples: samples_n,
        rate,
        raw_bytes,
        incident_bytes,
        cityops: side(&c_times, &c_ids, c_intake, c_missing),
        baseline: side(&b_times, &b_ids, b_intake, b_missing),
        sink_period_ms: ctx.sink_period_ms,
        elapsed: started.elapsed(),
    };
    for w in watchers {
        w.abort();
    }
    passthrough.stop(Duration::from_secs(15)).await;
    cityops.proc.stop(Duration::from_secs(15)).await;
    Ok(result)
}
