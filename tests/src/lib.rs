//! Shared helpers of the end-to-end tests (the tests are under `e2e/`).

pub mod doc_examples;
pub mod orders;
pub mod platform;
pub mod samples;

use cityops_bus::{admin, Consumer, KafkaConfig, OutRecord, Producer, Record};
use std::time::Duration;

/// Kafka settings for a test: the local broker, short session timeout so a killed member's
/// partitions move quickly, and no statistics noise.
pub async fn kafka_config() -> KafkaConfig {
    KafkaConfig {
        brokers: cityops_testkit::require_kafka().await,
        session_timeout_ms: 6_000,
        statistics_interval_ms: 0,
        ..KafkaConfig::default()
    }
}

/// Creates `topic` with `partitions` partitions.
pub async fn create_topic(config: &KafkaConfig, topic: &str, partitions: i32) {
    let mut c = config.clone();
    c.topics.partitions.insert(topic.to_owned(), partitions);
    admin::ensure_topics(&c, &[topic])
        .await
        .unwrap_or_else(|e| panic!("creating topic {topic}: {e}"));
}

/// Produces `payloads` to partition-key `key` of `topic`, waiting for each acknowledgement.
pub async fn produce_all(producer: &Producer, topic: &str, key: &str, payloads: &[String]) {
    for p in payloads {
        producer
            .send(&OutRecord::new(topic, key, p.clone().into_bytes()))
            .await
            .unwrap_or_else(|e| panic!("producing to {topic}: {e}"));
    }
}

/// How many records `topic` holds: the sum of its partitions' end offsets.
pub async fn held(config: &KafkaConfig, topic: &str) -> usize {
    let ends = admin::end_offsets(config, topic)
        .await
        .unwrap_or_else(|e| panic!("end offsets of {topic}: {e}"));
    usize::try_from(ends.iter().map(|(_, end)| end).sum::<i64>()).expect("a count")
}

/// Every record `topic` holds now, partition by partition, each read up to the end it had
/// (`cityops_bus::replay::read_partition`, no consumer group).
pub async fn all_records(config: &KafkaConfig, topic: &str) -> Vec<Record> {
    let ends = admin::end_offsets(config, topic)
        .await
        .unwrap_or_else(|e| panic!("end offsets of {topic}: {e}"));
    let mut out = Vec::new();
    for (partition, _) in ends {
        let records =
            cityops_bus::replay::read_partition(config, topic, partition, Duration::from_secs(60))
                .await
                .unwrap_or_else(|e| panic!("reading {topic} partition {partition}: {e}"));
        out.extend(records);
    }
    out
}

/// Reads `n` records of `topic` from its beginning with a fresh group, acknowledging them.
pub async fn read_n(config: &KafkaConfig, topic: &str, n: usize) -> Vec<Record> {
    let group = cityops_testkit::unique_name("reader");
    let consumer = Consumer::new(config, "test-reader", &group, &[topic])
        .unwrap_or_else(|e| panic!("consumer of {topic}: {e}"));
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let d = tokio::time::timeout(Duration::from_secs(60), consumer.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "only {} of {n} records of {topic} arrived within 60 s",
                    out.len()
                )
            })
            .unwrap_or_else(|e| panic!("reading {topic}: {e}"));
        consumer.ack(&d.token);
        out.push(d.record);
    }
    consumer.close();
    out
}

/// The payload of a record as text.
pub fn text(record: &Record) -> String {
    String::from_utf8_lossy(record.payload.as_deref().unwrap_or_default()).into_owned()
}
