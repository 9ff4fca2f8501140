//! The whole platform in schema-registry mode (`avro.schema_registry_url`: values in the
//! Confluent wire format) over the real Tansu and ClickHouse, with the testkit's stub
//! registry: a ticket becomes a work order on the department's topic and rows in ClickHouse,
//! and a department's Avro update whose schema the platform must first fetch waits out a
//! registry outage instead of being dead-lettered.

use cityops_avro::Codec;
use cityops_bus::{KafkaConfig, OutRecord, Producer};
use cityops_core::*;
use cityops_e2e::orders::all_transitions;
use cityops_e2e::platform::Platform;
use cityops_e2e::{all_records, held, kafka_config};
use cityops_testkit::registry::{stub_registry, StatusCode};
use serde_json::json;
use std::time::Duration;

const CITYOPS: &str = env!("CARGO_BIN_EXE_cityops-under-test");

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// Checks that every value on `topic` so far is in the Confluent framing (magic byte 0).
async fn every_value_is_confluent_framed(kafka: &KafkaConfig, topic: &str) {
    for r in all_records(kafka, topic).await {
        let first = r.payload.as_deref().and_then(<[u8]>::first);
        assert_eq!(
            first,
            Some(&0),
            "{topic} offset {}: not Confluent-framed",
            r.offset
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_runs_on_a_schema_registry_and_waits_out_its_outage() {
    let (registry_url, stub) = stub_registry().await;
    let kafka = kafka_config().await;
    let platform = Platform::start(
        CITYOPS,
        &kafka.brokers,
        &[format!("avro.schema_registry_url=\"{registry_url}\"")],
    )
    .await;
    let topics = platform.topics.clone();
    let codec = Codec::with_registry(&registry_url).expect("a registry codec");

    // A gas leak reported on the hotline: classified, routed to gas and written to ClickHouse,
    // every value on the way in the Confluent framing.
    let ticket = json!({"ticket_id": "REG-1", "received_at": now_ms(), "channel": "phone",
        "request_type": "求助", "content": "楼道里有很浓的煤气味，邻居家敲门没人应。",
        "address": "铁西区兴华南街58号", "district": "铁西区", "lat": 41.7962, "lon": 123.3589});
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/hotline/tickets", platform.ingest_url))
        .json(&ticket)
        .send()
        .await
        .expect("POST the ticket");
    assert_eq!(resp.status().as_u16(), 202, "{:?}", resp.text().await);
    let order = cityops_testkit::eventually(
        "the gas order dispatched",
        Duration::from_secs(90),
        || async {
            all_transitions(&kafka, &topics.workorder_events, &codec)
                .await
                .into_iter()
                .find(|t| t.kind == TransitionKind::Dispatched)
                .map(|t| t.order)
        },
    )
    .await;
    assert_eq!(order.owner, DepartmentId::from("gas"));
    every_value_is_confluent_framed(&kafka, &topics.workorder_events).await;
    let registered = stub.lock().expect("stub").subjects.clone();
    for topic in [&topics.events, &topics.incidents, &topics.workorder_events] {
        assert!(
            registered.contains_key(&format!("{topic}-value")),
            "{topic} has no subject: {registered:?}"
        );
    }
    cityops_testkit::eventually(
        "the order in ClickHouse",
        Duration::from_secs(60),
        || async {
            let sql = format!(
            "SELECT count() FROM workorders FINAL WHERE order_id = '{}' AND status = 'dispatched'",
            order.order_id
        );
            (platform.count(&sql).await == 1).then_some(())
        },
    )
    .await;

    // The department's system registers its own schema and answers in Avro while the registry
    // is down: dispatch must fetch that schema, and waits for the registry rather than
    // dead-letter the update.
    let updates = format!("{}.gas.updates.v1", topics.department_prefix);
    let update = DepartmentUpdate {
        update_id: "gas-reg-1".into(),
        order_id: order.order_id.clone(),
        department: DepartmentId::from("gas"),
        action: UpdateAction::Accept,
        note: Some("已签收".into()),
        reason: None,
        requested_deadline_ms: None,
        at_ms: now_ms(),
    };
    let bytes = codec.encode(&updates, &update).await.expect("encode");
    let gets_before = stub.lock().expect("stub").gets;
    stub.lock().expect("stub").fail_with = Some(StatusCode::SERVICE_UNAVAILABLE);
    let producer = Producer::new(&kafka, "test-department").expect("producer");
    producer
        .send(&OutRecord::new(
            updates.as_str(),
            order.order_id.as_str(),
            bytes,
        ))
        .await
        .expect("produce the update");
    cityops_testkit::eventually(
        "dispatch asking the failing registry again and again",
        Duration::from_secs(60),
        || async { (stub.lock().expect("stub").gets >= gets_before + 3).then_some(()) },
    )
    .await;
    assert_eq!(
        held(&kafka, &topics.dead_letter).await,
        0,
        "nothing dead-lettered"
    );
    stub.lock().expect("stub").fail_with = None;
    let accepted = cityops_testkit::eventually(
        "the update applied once the registry is back",
        Duration::from_secs(60),
        || async {
            all_transitions(&kafka, &topics.workorder_events, &codec)
                .await
                .into_iter()
                .find(|t| t.command_id.as_deref() == Some("gas:gas-reg-1"))
        },
    )
    .await;
    assert_eq!(accepted.kind, TransitionKind::Accepted);
    every_value_is_confluent_framed(&kafka, &topics.workorder_events).await;
    assert!(!accepted.rejected, "{accepted:?}");
    assert_eq!(
        held(&kafka, &topics.dead_letter).await,
        0,
        "nothing dead-lettered"
    );
    platform.stop().await;
}
