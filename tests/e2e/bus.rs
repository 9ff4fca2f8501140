//! The bus against the real local broker (Tansu): at-least-once across a SIGKILL and a clean
//! restart, and a poison record dead-lettered while its partition goes on.

use cityops_bus::{
    dlq_headers, run_stage, Consumer, DeadLetters, OutRecord, Outcome, Producer, StageConfig,
};
use cityops_e2e::{create_topic, kafka_config, produce_all, read_n, text};
use cityops_testkit::unique_name;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

const RECV_LIMIT: Duration = Duration::from_secs(60);

async fn recv(consumer: &Consumer) -> cityops_bus::Delivery {
    tokio::time::timeout(RECV_LIMIT, consumer.recv())
        .await
        .expect("a record within 60 s")
        .expect("receive")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_consumer_loses_nothing_and_acked_records_are_not_redelivered() {
    let config = kafka_config().await;
    let topic = unique_name("alo");
    let group = unique_name("alo_group");
    create_topic(&config, &topic, 1).await;
    let producer = Producer::new(&config, "test").expect("producer");
    let payloads: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    produce_all(&producer, &topic, "k", &payloads).await;

    // A consumer process takes all ten, acknowledges the first four, and is killed.
    let mut probe = tokio::process::Command::new(env!("CARGO_BIN_EXE_bus-probe"))
        .args([config.brokers.as_str(), &topic, &group, "10", "4"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start bus-probe");
    let mut lines = BufReader::new(probe.stdout.take().expect("stdout")).lines();
    let mut taken = 0;
    loop {
        let line = tokio::time::timeout(RECV_LIMIT, lines.next_line())
            .await
            .expect("bus-probe progress within 60 s")
            .expect("read bus-probe")
            .expect("bus-probe exited early");
        if line == "ready" {
            break;
        }
        taken += 1;
    }
    assert_eq!(taken, 10);
    probe.start_kill().expect("SIGKILL bus-probe");
    probe.wait().await.expect("reap bus-probe");

    // Restart: the six unacknowledged records come back, starting right after the acked ones.
    let consumer = Consumer::new(&config, "test", &group, &[&topic]).expect("consumer");
    let mut again = Vec::new();
    for _ in 4..10 {
        let d = recv(&consumer).await;
        again.push(text(&d.record));
        consumer.ack(&d.token);
    }
    assert_eq!(
        again,
        payloads[4..].to_vec(),
        "unacknowledged records after the kill"
    );
    consumer.close();

    // After a clean stop nothing acknowledged is delivered again: the next record seen by the
    // group is one produced after the stop.
    produce_all(&producer, &topic, "k", &["after-restart".to_owned()]).await;
    let consumer = Consumer::new(&config, "test", &group, &[&topic]).expect("consumer");
    let d = recv(&consumer).await;
    assert_eq!(text(&d.record), "after-restart");
    assert_eq!(d.record.offset, 10);
    consumer.ack(&d.token);
    consumer.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_record_is_dead_lettered_and_the_partition_goes_on() {
    let config = kafka_config().await;
    let input = unique_name("in");
    let output = unique_name("out");
    let dlq = unique_name("dlq");
    for t in [&input, &output, &dlq] {
        create_topic(&config, t, 1).await;
    }
    let producer = Producer::new(&config, "test").expect("producer");
    let records = vec![
        r#"{"n":1}"#.to_owned(),
        "{not json".to_owned(),
        r#"{"n":2}"#.to_owned(),
        r#"{"n":3}"#.to_owned(),
    ];
    produce_all(&producer, &input, "street-1", &records).await;

    let consumer =
        Consumer::new(&config, "test-stage", &unique_name("stage"), &[&input]).expect("consumer");
    let dead_letters = DeadLetters::new(producer.clone(), dlq.clone(), "test-stage");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let out_topic = output.clone();
    let stage = tokio::spawn(async move {
        let summary = run_stage(
            &consumer,
            &producer,
            &dead_letters,
            &StageConfig::new("test-stage"),
            |record| match serde_json::from_slice::<serde_json::Value>(
                record.payload.as_deref().unwrap_or_default(),
            ) {
                Ok(v) => Outcome::Produce(vec![OutRecord::new(
                    out_topic.as_str(),
                    "street-1",
                    v.to_string().into_bytes(),
                )]),
                Err(e) => Outcome::reject(format!("payload is not JSON: {e}")),
            },
            async {
                let _ = stop_rx.await;
            },
        )
        .await;
        consumer.close();
        summary
    });

    let out = read_n(&config, &output, 3).await;
    assert_eq!(
        out.iter().map(text).collect::<Vec<_>>(),
        vec![r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#],
        "the good records after the poison one are handled too"
    );
    let dead = read_n(&config, &dlq, 1).await;
    let letter = &dead[0];
    assert_eq!(text(letter), "{not json");
    assert_eq!(letter.key.as_deref(), Some(&b"street-1"[..]));
    let header = |name| {
        String::from_utf8_lossy(
            letter
                .header(name)
                .unwrap_or_else(|| panic!("header {name}")),
        )
        .into_owned()
    };
    assert!(
        header(dlq_headers::ERROR).starts_with("payload is not JSON"),
        "{}",
        header(dlq_headers::ERROR)
    );
    assert_eq!(header(dlq_headers::STAGE), "test-stage");
    assert_eq!(header(dlq_headers::SOURCE_TOPIC), input);
    assert_eq!(header(dlq_headers::SOURCE_PARTITION), "0");
    assert_eq!(header(dlq_headers::SOURCE_OFFSET), "1");

    stop_tx.send(()).expect("stop the stage");
    let summary = stage.await.expect("stage task");
    assert_eq!(summary.consumed, 4);
    assert_eq!(summary.dead_lettered, 1);
}

/// Many records handed to the producer without waiting (as dispatch hands over a batch's
/// outputs) all arrive, once each and in the order they were handed over, on every partition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_handed_over_without_waiting_arrive_once_each_in_order() {
    const N: usize = 3_000;
    let config = kafka_config().await;
    let topic = unique_name("pipelined");
    create_topic(&config, &topic, 2).await;
    let producer = Producer::new(&config, "test").expect("producer");
    let mut in_flight = Vec::with_capacity(N);
    for i in 0..N {
        // Three keys: several in-flight batches on each partition.
        let record = OutRecord::new(
            topic.as_str(),
            format!("key-{}", i % 3),
            format!("{i}").into_bytes(),
        );
        in_flight.push(producer.enqueue(&record).await.expect("enqueue"));
    }
    for f in in_flight {
        f.await.expect("delivered");
    }
    let mut seen = Vec::new();
    for partition in 0..2 {
        let records = cityops_bus::replay::read_partition(
            &config,
            &topic,
            partition,
            Duration::from_secs(60),
        )
        .await
        .expect("read back");
        let mut last_per_key = std::collections::HashMap::new();
        for r in records {
            let i: usize = text(&r).parse().expect("a number");
            let key = r.key.clone().expect("key");
            if let Some(before) = last_per_key.insert(key.clone(), i) {
                assert!(before < i, "{key:?}: {i} arrived after {before}");
            }
            seen.push(i);
        }
    }
    seen.sort_unstable();
    let expected: Vec<usize> = (0..N).collect();
    assert_eq!(seen.len(), N, "every record once");
    assert_eq!(seen, expected);
}
