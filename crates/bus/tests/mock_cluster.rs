//! Fast tests of the Kafka layer over librdkafka's in-process mock cluster (no server).

use cityops_bus::{Consumer, Delivery, KafkaConfig, OutRecord, Producer};
use rdkafka::mocking::MockCluster;
use std::time::Duration;

async fn recv(c: &Consumer) -> Delivery {
    tokio::time::timeout(Duration::from_secs(30), c.recv())
        .await
        .expect("a record within 30 s")
        .expect("receive")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_prefix_is_committed_and_the_rest_redelivered() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("orders", 1, 1).expect("topic");
    let config = KafkaConfig {
        brokers: cluster.bootstrap_servers(),
        statistics_interval_ms: 0,
        session_timeout_ms: 6_000,
        ..KafkaConfig::default()
    };
    let producer = Producer::new(&config, "test").expect("producer");
    for i in 0..5 {
        let d = producer
            .send(&OutRecord::new("orders", "k", format!("m{i}").into_bytes()))
            .await
            .expect("delivery is reported");
        assert_eq!(d.offset, i);
    }

    let consumer = Consumer::new(&config, "test", "g", &["orders"]).expect("consumer");
    let mut ds = Vec::new();
    for _ in 0..5 {
        ds.push(recv(&consumer).await);
    }
    // Acknowledge 0, 1 and 3: only the prefix 0..=1 may be stored; 3 waits for 2.
    consumer.ack(&ds[3].token);
    consumer.ack(&ds[0].token);
    consumer.ack(&ds[1].token);
    assert_eq!(consumer.in_flight(), 2);
    consumer.close();

    let consumer = Consumer::new(&config, "test", "g", &["orders"]).expect("consumer");
    let d = recv(&consumer).await;
    assert_eq!(
        d.record.offset, 2,
        "the first unacknowledged record comes back"
    );
    consumer.close();
}
