//! The broker side of the bench: the pass-through baseline, the feeder that produces a
//! backlog, and counting what reached a topic (its high watermarks).

use anyhow::{anyhow, bail, Context, Result};
use cityops_bus::KafkaConfig;
use futures::stream::{FuturesUnordered, StreamExt};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::producer::{BaseProducer, BaseRecord, FutureProducer, FutureRecord, Producer as _};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::util::Timeout;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Creates `topics` with `partitions` partitions each (those that exist are left alone).
pub async fn create_topics(brokers: &str, topics: &[&str], partitions: i32) -> Result<()> {
    let mut config = KafkaConfig {
        brokers: brokers.to_owned(),
        statistics_interval_ms: 0,
        ..KafkaConfig::default()
    };
    config.topics.default_partitions = partitions;
    cityops_bus::admin::ensure_topics(&config, topics)
        .await
        .with_context(|| format!("creating topics {}", topics.join(", ")))
}

/// The producer settings cityops's own producer uses (`cityops_bus::Producer`): idempotent,
/// `acks=all`, `linger.ms=5`, lz4. The pass-through, the feeder and the latency probe use
/// them too, so every side of a comparison produces the same way.
fn producer_config(brokers: &str, client_id: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers)
        .set("client.id", client_id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("message.timeout.ms", "30000")
        .set("linger.ms", "5")
        .set("compression.type", "lz4");
    c
}

/// A reader that only measures: a fresh group of its own (named after `client_id`), nothing
/// committed, no end-of-partition events. Callers add what their reading needs.
pub fn reader_config(brokers: &str, client_id: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers)
        .set("client.id", client_id)
        .set(
            "group.id",
            cityops_testkit::unique_name(&client_id.replace('-', "_")),
        )
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    c
}

/// The pass-through baseline: the least a stage must do to move records from one topic to
/// another as safely as cityops does. Consumes `from` in consumer group `group`, produces each
/// record (same key, same bytes) to `to`, and stores an input offset only when every record of
/// its partition up to it was acknowledged by the broker (at-least-once, like cityops's
/// `AckTracker`; auto-commit of stored offsets every second). At most 1024 records in flight,
/// as `cityops_bus::run_stage`. Runs until it is killed.
pub async fn passthrough(brokers: &str, from: &str, to: &str, group: &str) -> Result<()> {
    let producer: FutureProducer = producer_config(brokers, "bench-passthrough").create()?;
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("client.id", "bench-passthrough")
        .set("group.id", group)
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set("auto.commit.interval.ms", "1000")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .set("enable.partition.eof", "false")
        .create()?;
    consumer.subscribe(&[from])?;
    // Per input partition: handed-out offsets in order, with their acknowledged flag.
    let mut pending: HashMap<i32, VecDeque<(i64, bool)>> = HashMap::new();
    let mut in_flight = FuturesUnordered::new();
    const MAX_IN_FLIGHT: usize = 1024;
    loop {
        tokio::select! {
            Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                let (partition, offset, result): (i32, i64, Result<(), KafkaError>) = done;
                result.map_err(|e| anyhow!("producing to {to}: {e}"))?;
                let queue = pending.entry(partition).or_default();
                if let Some(slot) = queue.iter_mut().find(|(o, _)| *o == offset) {
                    slot.1 = true;
                }
                let mut storable = None;
                while let Some((o, true)) = queue.front().copied() {
                    storable = Some(o);
                    queue.pop_front();
                }
                if let Some(o) = storable {
                    consumer.store_offset(from, partition, o + 1)?;
                }
            }
            message = consumer.recv(), if in_flight.len() < MAX_IN_FLIGHT => {
                let m = message?.detach();
                let (partition, offset) = (m.partition(), m.offset());
                pending.entry(partition).or_default().push_back((offset, false));
                let producer = producer.clone();
                let to = to.to_owned();
                in_flight.push(async move {
                    let mut record = FutureRecord::to(&to).payload(m.payload().unwrap_or_default());
                    if let Some(key) = m.key() {
                        record = record.key(key);
                    }
                    let result = producer.send(record, Timeout::Never).await.map(|_| ()).map_err(|(e, _)| e);
                    (partition, offset, result)
                });
            }
        }
    }
}

/// Produces backlogs as fast as the broker takes them, with the producer settings of
/// cityops.
pub struct Feeder {
    producer: BaseProducer,
}

impl Feeder {
    pub fn new(brokers: &str) -> Result<Self> {
        let producer = producer_config(brokers, "bench-feeder")
            .set("queue.buffering.max.messages", "1000000")
            .set("queue.buffering.max.kbytes", "1048576")
            .create()?;
        Ok(Self { producer })
    }

    /// Produces every `(key, payload)` to `topic` and waits until the broker acknowledged
    /// them all. Blocking: call it from `spawn_blocking`.
    pub fn feed(&self, topic: &str, records: &[(String, Vec<u8>)]) -> Result<Duration> {
        let started = Instant::now();
        for (key, payload) in records {
            loop {
                match self
                    .producer
                    .send(BaseRecord::to(topic).key(key).payload(payload))
                {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                        self.producer.poll(Duration::from_millis(5));
                    }
                    Err((e, _)) => bail!("producing to {topic}: {e}"),
                }
            }
            self.producer.poll(Duration::ZERO);
        }
        self.producer
            .flush(Duration::from_secs(60))
            .with_context(|| format!("waiting for the broker to acknowledge {topic}"))?;
        Ok(started.elapsed())
    }
}

/// Counts the records on a topic by its high watermarks (nothing is deleted during a run), so
/// that counting reads nothing and adds little load to the broker.
pub struct Counter {
    consumer: BaseConsumer,
}

impl Counter {
    pub fn new(brokers: &str) -> Result<Self> {
        let consumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("client.id", "bench-counter")
            .create()?;
        Ok(Self { consumer })
    }

    /// Records on `topic` (sum of its partitions' high watermarks). Blocking.
    pub fn count(&self, topic: &str, partitions: i32) -> Result<i64> {
        let mut total = 0;
        for p in 0..partitions {
            let (_, high) = self
                .consumer
                .fetch_watermarks(topic, p, Duration::from_secs(5))
                .with_context(|| format!("watermarks of {topic}/{p}"))?;
            total += high;
        }
        Ok(total)
    }

    /// Polls every `every` until `topic` holds `target` records; returns when it first saw
    /// them, or the count when `timeout` passed first. Blocking.
    pub fn wait_for(
        &self,
        topic: &str,
        partitions: i32,
        target: i64,
        every: Duration,
        timeout: Duration,
    ) -> Result<std::result::Result<Instant, i64>> {
        let deadline = Instant::now() + timeout;
        loop {
            let n = self.count(topic, partitions)?;
            if n >= target {
                return Ok(Ok(Instant::now()));
            }
            if Instant::now() > deadline {
                return Ok(Err(n));
            }
            std::thread::sleep(every);
        }
    }
}

/// A producer with cityops's settings, for records whose acknowledgement is awaited one by
/// one.
pub fn single_producer(brokers: &str) -> Result<FutureProducer> {
    Ok(producer_config(brokers, "bench-single").create()?)
}
