//! Fast tests of the Kafka layer over librdkafka's in-process mock cluster (no server).

use cityops_bus::{
    run_stage_prepared, Consumer, DeadLetters, Delivery, KafkaConfig, OutRecord, Outcome, Producer,
    Record, StageConfig,
};
use rdkafka::mocking::MockCluster;
use std::time::Duration;

fn config_of<T: rdkafka::ClientContext>(cluster: &MockCluster<'_, T>) -> KafkaConfig {
    KafkaConfig {
        brokers: cluster.bootstrap_servers(),
        statistics_interval_ms: 0,
        session_timeout_ms: 6_000,
        ..KafkaConfig::default()
    }
}

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
    let config = config_of(&cluster);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_waiting_to_prepare_a_record_stops_on_shutdown_and_the_record_comes_back() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("in", 1, 1).expect("topic");
    cluster.create_topic("out", 1, 1).expect("topic");
    cluster.create_topic("dlq", 1, 1).expect("topic");
    let config = config_of(&cluster);
    let producer = Producer::new(&config, "test").expect("producer");
    producer
        .send(&OutRecord::new("in", "k", b"m0".to_vec()))
        .await
        .expect("delivery is reported");

    // The preparation never finishes (a registry that stays down); it says when it started.
    let (waiting_tx, waiting_rx) = tokio::sync::oneshot::channel::<()>();
    let mut waiting_tx = Some(waiting_tx);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let consumer = Consumer::new(&config, "test", "g", &["in"]).expect("consumer");
    let dead_letters = DeadLetters::new(producer.clone(), "dlq".to_owned(), "test");
    let stage_config = StageConfig::new("test");
    let stage = run_stage_prepared(
        &consumer,
        &producer,
        &dead_letters,
        &stage_config,
        |_: &Record| {
            if let Some(tx) = waiting_tx.take() {
                let _ = tx.send(());
            }
            Some(std::future::pending::<Result<(), String>>())
        },
        |_: &Record| Outcome::Produce(vec![OutRecord::new("out", "k", b"x".to_vec())]),
        async {
            let _ = stop_rx.await;
        },
    );
    let stop = async {
        waiting_rx.await.expect("the stage prepares the record");
        let _ = stop_tx.send(());
    };
    let (summary, ()) =
        tokio::time::timeout(Duration::from_secs(30), async { tokio::join!(stage, stop) })
            .await
            .expect("the stage stops although the preparation never ends");
    assert_eq!(summary.consumed, 0, "{summary:?}");
    assert_eq!(summary.produced, 0, "{summary:?}");
    consumer.close();

    // Nothing was acknowledged: the record is read again by the next run.
    let consumer = Consumer::new(&config, "test", "g", &["in"]).expect("consumer");
    let d = recv(&consumer).await;
    assert_eq!(d.record.offset, 0);
    consumer.close();
}
