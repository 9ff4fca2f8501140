//! The sink under faults, over the real stack, while events flow: the process SIGKILLed and
//! restarted, ClickHouse stopped for 20 s, and 1% of the records poisoned. Each run ends with
//! exactly the good records counted once and every poisoned one in `dead_letters`.

use cityops_avro::Codec;
use cityops_bus::{OutRecord, Producer};
use cityops_core::CityEvent;
use cityops_e2e::kafka_config;
use cityops_e2e::platform::{Platform, PrivateClickHouse, Spec, Topics};
use cityops_e2e::samples::{clickhouse, ticket};
use std::time::Duration;
use tokio::sync::watch;

const CITYOPS: &str = env!("CARGO_BIN_EXE_cityops-under-test");
/// Records produced per test; every 100th is poison.
/// Only what these tests are about (the platform waits for ingest's /readyz).
const SERVICES: &str = r#"run.services=["ingest", "sink"]"#;
const RECORDS: usize = 3000;
const POISON_EVERY: usize = 100;
const GOOD: u64 = (RECORDS - RECORDS / POISON_EVERY) as u64;
const POISONED: u64 = (RECORDS / POISON_EVERY) as u64;

fn event(run: &str, i: usize) -> CityEvent {
    let mut e = ticket(
        &format!("{run}-{i}"),
        &format!("第{i}号测试工单"),
        1_795_220_100_000 + i as i64 * 1_000,
    );
    e.district_hint = Some("沈河区".into());
    e
}

/// Produces the stream in the background, publishing how many records were acknowledged.
fn produce_stream(
    brokers: String,
    topics: Topics,
    run: String,
) -> (tokio::task::JoinHandle<()>, watch::Receiver<usize>) {
    let (tx, rx) = watch::channel(0);
    let handle = tokio::spawn(async move {
        let config = cityops_bus::KafkaConfig {
            brokers,
            statistics_interval_ms: 0,
            ..Default::default()
        };
        let producer = Producer::new(&config, "stream").expect("producer");
        let codec = Codec::single_object();
        for i in 0..RECORDS {
            let (key, payload) = if i % POISON_EVERY == POISON_EVERY - 1 {
                (
                    format!("poison-{i}"),
                    format!("poison {i}: not an Avro value").into_bytes(),
                )
            } else {
                let e = event(&run, i);
                (
                    e.event_id.clone(),
                    codec.encode(&topics.events, &e).await.expect("encode"),
                )
            };
            producer
                .send(&OutRecord::new(topics.events.as_str(), key, payload))
                .await
                .expect("produce");
            tx.send_replace(i + 1);
            if i % 50 == 49 {
                // A steady flow rather than one burst, so the faults hit it midway.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    (handle, rx)
}

async fn count(client: &clickhouse::Client, sql: &str) -> Option<u64> {
    client.query(sql).fetch_one::<u64>().await.ok()
}

/// Waits until the tables hold exactly the good records once and every poisoned one.
async fn await_exact_counts(ch: &clickhouse::Client, topics: &Topics) {
    // A crash can dead-letter a record twice (at-least-once): each poisoned record is one
    // distinct source position.
    let dead = format!(
        "SELECT uniqExact(ifNull(source_partition, -1), ifNull(source_offset, -1)) FROM dead_letters FINAL WHERE source_topic = '{}'",
        topics.events
    );
    cityops_testkit::eventually(
        &format!("{GOOD} events and {POISONED} dead letters"),
        Duration::from_secs(180),
        || {
            let (ch, dead) = (ch.clone(), dead.clone());
            async move {
                let events = count(&ch, "SELECT count() FROM events FINAL").await?;
                let letters = count(&ch, &dead).await?;
                assert!(events <= GOOD, "more events than produced: {events}");
                (events == GOOD && letters == POISONED).then_some(())
            }
        },
    )
    .await;
    // Still exact a moment later: nothing more arrives (no late duplicates under FINAL).
    assert_eq!(
        count(ch, "SELECT count() FROM events FINAL").await,
        Some(GOOD)
    );
    assert_eq!(
        count(ch, "SELECT uniqExact(event_id) FROM events").await,
        Some(GOOD)
    );
}

async fn await_produced(rx: &mut watch::Receiver<usize>, at_least: usize) {
    rx.wait_for(|n| *n >= at_least)
        .await
        .expect("the producer runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_killed_with_sigkill_and_restarted_loses_and_doubles_nothing() {
    let kafka = kafka_config().await;
    let clickhouse_url = cityops_testkit::require_clickhouse().await;
    let spec = Spec::fresh(&kafka.brokers, &clickhouse_url, &[SERVICES.to_owned()]);
    let platform = Platform::start_with(CITYOPS, spec.clone()).await;
    let ch = clickhouse(&clickhouse_url, &spec.database);
    let (stream, mut produced) =
        produce_stream(kafka.brokers.clone(), spec.topics.clone(), "kill".into());

    // Kill it while records flow and rows are being written.
    await_produced(&mut produced, RECORDS / 3).await;
    cityops_testkit::eventually("rows being written", Duration::from_secs(60), || {
        let ch = ch.clone();
        async move {
            count(&ch, "SELECT count() FROM events")
                .await
                .filter(|n| *n > 0)
        }
    })
    .await;
    platform.kill().await;

    let platform = Platform::start_with(CITYOPS, spec.clone()).await;
    stream.await.expect("producer");
    await_exact_counts(&ch, &spec.topics).await;
    platform.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_stopped_for_20_seconds_loses_nothing() {
    let kafka = kafka_config().await;
    let mut server = PrivateClickHouse::start().await;
    let spec = Spec::fresh(&kafka.brokers, &server.url(), &[SERVICES.to_owned()]);
    let platform = Platform::start_with(CITYOPS, spec.clone()).await;
    let ch = clickhouse(&server.url(), &spec.database);
    let (stream, mut produced) =
        produce_stream(kafka.brokers.clone(), spec.topics.clone(), "outage".into());

    await_produced(&mut produced, RECORDS / 4).await;
    server.stop().await;
    // The outage itself lasts 20 s (the fault being tested, not a wait for a condition).
    tokio::time::sleep(Duration::from_secs(20)).await;
    server.restart().await;

    stream.await.expect("producer");
    await_exact_counts(&ch, &spec.topics).await;
    let logs = platform.stop().await;
    assert!(
        logs.contains("insert failed; retrying"),
        "the outage was noticed and retried"
    );
}
