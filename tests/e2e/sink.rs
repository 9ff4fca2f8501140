//! The sink over the real stack: what the pipeline topics carry lands in ClickHouse once (as
//! seen with FINAL), undecodable records land in `dead_letters`, and no table holds a phone
//! number or a name.

use cityops_avro::Codec;
use cityops_bus::{OutRecord, Producer};
use cityops_core::*;
use cityops_e2e::kafka_config;
use cityops_e2e::platform::Platform;
use cityops_e2e::samples;
use std::collections::BTreeMap;
use std::time::Duration;

const CITYOPS: &str = env!("CARGO_BIN_EXE_cityops-under-test");
/// The sink under test, with ingest for the ticket that crosses the whole intake.
const SERVICES: &str = r#"run.services=["ingest", "sink"]"#;
const PHONE: &str = "13800001234";
const NAME: &str = "张先生";

fn clickhouse(database: &str) -> clickhouse::Client {
    samples::clickhouse(&cityops_testkit::clickhouse_url(), database)
}

async fn count(client: &clickhouse::Client, sql: &str) -> u64 {
    client
        .query(sql)
        .fetch_one::<u64>()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn event(i: usize) -> CityEvent {
    let mut e = samples::ticket(
        &format!("SINK-{i}"),
        "路灯不亮",
        1_795_220_100_000 + i as i64 * 60_000,
    );
    e.location = Some(GeoPoint {
        lat: 41.79,
        lon: 123.36,
    });
    e.address = Some("铁西区兴华南街58号".into());
    e.district_hint = Some("铁西区".into());
    e.request_type = Some("投诉".into());
    e.reporter_hash = Some("ab".repeat(32));
    e
}

fn incident(i: usize) -> Incident {
    let e = event(100 + i);
    Incident {
        incident_id: e.event_id.clone(),
        event: e,
        district_code: Some("210106".into()),
        district_name: Some("铁西区".into()),
        street_code: Some("210106001".into()),
        street_name: Some("兴华街道".into()),
        grid_code: Some("210106001001".into()),
        location_precision: LocationPrecision::Point,
        h3_cell: Some("8931aa0a6dbffff".into()),
        scenario: ScenarioId::from("city_management"),
        category: CategoryId::from("streetlight"),
        severity: Severity::Normal,
        actionable: true,
        classification: Classification {
            method: ClassifiedBy::Model,
            rule_id: None,
            confidence: 0.93,
            model_version: Some("m1".into()),
        },
        catalogue_version: "2026.1".into(),
        enriched_at_ms: 1_795_220_200_000,
    }
}

fn reading(i: usize) -> Reading {
    Reading {
        event_id: event_id_for(Source::Iot, &format!("SY-PK-{i}@1795220100000")),
        device_id: format!("SY-PK-{i}"),
        device_type: "parking_sensor".into(),
        at_ms: 1_795_220_100_000,
        location: None,
        metrics: BTreeMap::from([("occupied".to_owned(), 1.0)]),
        tags: BTreeMap::new(),
        district_code: Some("210106".into()),
        street_code: None,
        grid_code: None,
    }
}

fn transition(order: &str, seq: i64) -> WorkOrderEvent {
    let status = if seq == 1 {
        OrderStatus::Created
    } else {
        OrderStatus::Dispatched
    };
    let wo = WorkOrder {
        order_id: order.to_owned(),
        incident_ids: vec!["i1".into()],
        street_key: "210106001".into(),
        district_code: Some("210106".into()),
        owner: DepartmentId::from("city_mgmt"),
        co_departments: vec![],
        scenario: ScenarioId::from("city_management"),
        category: CategoryId::from("streetlight"),
        severity: Severity::Normal,
        status,
        location: None,
        device_id: None,
        created_at_ms: 1_795_220_100_000,
        accept_deadline_ms: Some(1_795_245_300_000),
        resolve_deadline_ms: Some(1_795_400_000_000),
        accepted_at_ms: None,
        resolved_at_ms: None,
        closed_at_ms: None,
        accept_warning: None,
        resolve_warning: None,
        extension_requested: false,
        satisfaction: None,
        routing_reason: "路灯故障 → 市城市管理行政执法局: catalogue city_management/streetlight"
            .into(),
        version: seq,
        updated_at_ms: 1_795_220_100_000 + seq,
    };
    WorkOrderEvent {
        transition_id: format!("{order}-{seq}"),
        order_id: order.to_owned(),
        seq,
        kind: if seq == 1 {
            TransitionKind::Created
        } else {
            TransitionKind::Dispatched
        },
        actor: "dispatch".into(),
        at_ms: 1_795_220_100_000 + seq,
        status_before: None,
        status_after: status,
        incident_id: Some("i1".into()),
        reason: None,
        note: None,
        deadline: None,
        warning: None,
        new_deadline_ms: None,
        satisfaction: None,
        rejected: false,
        rejection_reason: None,
        order: wo,
        prev_hash: "0".repeat(64),
        hash: format!("{seq:064}"),
        command_id: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_topic_lands_in_clickhouse_once_and_poison_in_dead_letters() {
    let kafka = kafka_config().await;
    let platform = Platform::start(CITYOPS, &kafka.brokers, &[SERVICES.to_owned()]).await;
    let codec = Codec::single_object();
    let producer = Producer::new(&kafka, "test").expect("producer");
    let t = &platform.topics;
    let send = |topic: String, key: String, payload: Vec<u8>| {
        let producer = producer.clone();
        async move {
            producer
                .send(&OutRecord::new(topic, key, payload))
                .await
                .expect("produce")
        }
    };

    // 20 events, the first 5 produced twice (a replay).
    for i in (0..20).chain(0..5) {
        let e = event(i);
        let bytes = codec.encode(&t.events, &e).await.expect("encode");
        send(t.events.clone(), e.event_id.clone(), bytes).await;
    }
    for i in 0..5 {
        let v = incident(i);
        send(
            t.incidents.clone(),
            "210106001".into(),
            codec.encode(&t.incidents, &v).await.expect("encode"),
        )
        .await;
        let r = reading(i);
        send(
            t.telemetry.clone(),
            r.device_id.clone(),
            codec.encode(&t.telemetry, &r).await.expect("encode"),
        )
        .await;
    }
    for (order, seq) in [
        ("WO-1", 1),
        ("WO-1", 2),
        ("WO-1", 3),
        ("WO-2", 1),
        ("WO-2", 2),
        ("WO-1", 3),
    ] {
        let v = transition(order, seq);
        send(
            t.workorder_events.clone(),
            "210106001".into(),
            codec.encode(&t.workorder_events, &v).await.expect("encode"),
        )
        .await;
    }
    // Two undecodable records on the events topic.
    send(
        t.events.clone(),
        "poison-1".into(),
        b"not avro at all".to_vec(),
    )
    .await;
    send(
        t.events.clone(),
        "poison-2".into(),
        vec![0xC3, 0x01, 1, 2, 3],
    )
    .await;

    let ch = clickhouse(&platform.database);
    let expected = [
        ("SELECT count() FROM events FINAL", 20),
        ("SELECT count() FROM incidents FINAL", 5),
        ("SELECT count() FROM telemetry FINAL", 5),
        ("SELECT count() FROM workorder_events FINAL", 5),
        ("SELECT count() FROM workorders FINAL", 2),
        ("SELECT count() FROM dead_letters FINAL", 2),
    ];
    for (sql, want) in expected {
        let ch = ch.clone();
        cityops_testkit::eventually(&format!("{sql} = {want}"), Duration::from_secs(60), || {
            let ch = ch.clone();
            async move { (count(&ch, sql).await == want).then_some(()) }
        })
        .await;
    }
    assert_eq!(
        count(
            &ch,
            "SELECT count() FROM workorders FINAL WHERE order_id = 'WO-1' AND version = 3"
        )
        .await,
        1,
        "current state is the highest version"
    );
    let errors = count(&ch, &format!("SELECT count() FROM dead_letters FINAL WHERE stage = 'sink' AND source_topic = '{}' AND error LIKE 'cannot decode the value%'", t.events)).await;
    assert_eq!(
        errors, 2,
        "poison records are in dead_letters with the reason"
    );

    // A ticket through the whole intake, with a phone and a name (also inside its text), then
    // the scan of every string column of every table.
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/hotline/tickets", platform.ingest_url))
        .header("content-type", "application/json")
        .body(
            serde_json::json!({"ticket_id": "PII-1", "received_at": "2026-11-21T08:15:00+08:00",
            "content": format!("来电人{NAME}，电话{PHONE}... 路灯不亮"), "district": "铁西区",
            "caller_phone": PHONE, "caller_name": NAME})
            .to_string(),
        )
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 202);
    cityops_testkit::eventually("the ticket in events", Duration::from_secs(60), || {
        let ch = ch.clone();
        async move { (count(&ch, "SELECT count() FROM events FINAL").await == 21).then_some(()) }
    })
    .await;
    let columns: Vec<(String, String, String)> = ch
        .query("SELECT table, name, type FROM system.columns WHERE database = ? AND type LIKE '%String%'")
        .bind(&platform.database)
        .fetch_all::<(String, String, String)>()
        .await
        .expect("columns");
    assert!(columns.len() > 20, "{columns:?}");
    let mut found = Vec::new();
    for (table, column, ty) in &columns {
        for needle in [PHONE, "张先生"] {
            let test = if ty.starts_with("Array") {
                format!("arrayExists(x -> position(x, '{needle}') > 0, `{column}`)")
            } else {
                format!("position(ifNull(toString(`{column}`), ''), '{needle}') > 0")
            };
            if count(&ch, &format!("SELECT count() FROM `{table}` WHERE {test}")).await > 0 {
                found.push(format!("{table}.{column} holds {needle}"));
            }
        }
    }
    assert!(found.is_empty(), "personal data in ClickHouse: {found:?}");
    platform.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_clickhouse_refuses_are_dead_lettered_with_its_message_and_the_rest_written() {
    let kafka = kafka_config().await;
    let platform = Platform::start(CITYOPS, &kafka.brokers, &[SERVICES.to_owned()]).await;
    let ch = clickhouse(&platform.database);
    // A table rule the rows of some events break: ClickHouse refuses them as bad data.
    ch.query("ALTER TABLE events ADD COLUMN numeric_id UInt64 MATERIALIZED toUInt64(source_id)")
        .execute()
        .await
        .expect("alter");
    let codec = Codec::single_object();
    let producer = Producer::new(&kafka, "test").expect("producer");
    let t = &platform.topics;
    let ids = [
        "1001",
        "1002",
        "NOT-A-NUMBER-1",
        "1003",
        "NOT-A-NUMBER-2",
        "1004",
    ];
    for id in ids {
        let mut e = event(0);
        e.source_id = id.to_owned();
        e.event_id = event_id_for(Source::Hotline, id);
        let bytes = codec.encode(&t.events, &e).await.expect("encode");
        producer
            .send(&OutRecord::new(
                t.events.as_str(),
                e.event_id.as_str(),
                bytes,
            ))
            .await
            .expect("produce");
    }
    let refused = format!(
        "SELECT count() FROM dead_letters FINAL WHERE stage = 'sink' AND source_topic = '{}' AND error LIKE 'ClickHouse refused the row%'",
        t.events
    );
    cityops_testkit::eventually(
        "4 rows written and 2 refused",
        Duration::from_secs(60),
        || {
            let (ch, refused) = (ch.clone(), refused.clone());
            async move {
                let written = count(&ch, "SELECT count() FROM events FINAL").await;
                let letters = count(&ch, &refused).await;
                (written == 4 && letters == 2).then_some(())
            }
        },
    )
    .await;
    let bad: u64 = count(
        &ch,
        "SELECT count() FROM events FINAL WHERE source_id LIKE 'NOT-A-NUMBER%'",
    )
    .await;
    assert_eq!(bad, 0);
    platform.stop().await;
}

/// Backup and replay: a dropped table is rebuilt from its topic by `cityops replay` to the
/// same counts (docs/operations.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_table_is_rebuilt_from_its_topic_to_the_same_counts() {
    let kafka = kafka_config().await;
    let platform = Platform::start(CITYOPS, &kafka.brokers, &[SERVICES.to_owned()]).await;
    let codec = Codec::single_object();
    let producer = Producer::new(&kafka, "test").expect("producer");
    let t = platform.topics.clone();
    for i in (0..40).chain(0..10) {
        let e = event(i);
        let bytes = codec.encode(&t.events, &e).await.expect("encode");
        producer
            .send(&OutRecord::new(
                t.events.as_str(),
                e.event_id.as_str(),
                bytes,
            ))
            .await
            .expect("produce");
    }
    for (order, seq) in [
        ("WO-1", 1),
        ("WO-1", 2),
        ("WO-2", 1),
        ("WO-2", 2),
        ("WO-3", 1),
    ] {
        let v = transition(order, seq);
        let bytes = codec.encode(&t.workorder_events, &v).await.expect("encode");
        producer
            .send(&OutRecord::new(
                t.workorder_events.as_str(),
                "210106001",
                bytes,
            ))
            .await
            .expect("produce");
    }
    let ch = clickhouse(&platform.database);
    let counts = |ch: clickhouse::Client| async move {
        (
            count(&ch, "SELECT count() FROM events FINAL").await,
            count(&ch, "SELECT count() FROM workorders FINAL").await,
            count(&ch, "SELECT count() FROM workorder_events FINAL").await,
        )
    };
    cityops_testkit::eventually("everything written", Duration::from_secs(60), || async {
        (counts(ch.clone()).await == (40, 3, 5)).then_some(())
    })
    .await;
    let spec = platform.spec.clone();
    platform.stop().await;

    for table in ["events", "workorders"] {
        ch.query(&format!("DROP TABLE {table}"))
            .execute()
            .await
            .expect("drop");
    }
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    for table in ["events", "workorders"] {
        let mut cmd = std::process::Command::new(CITYOPS);
        cmd.current_dir(root)
            .args(["--config", "config/cityops.toml"])
            .args(["--set", &format!("kafka.brokers={}", spec.brokers)])
            .args(["--set", &format!("clickhouse.url={}", spec.clickhouse)])
            .args(["--set", &format!("clickhouse.database={}", spec.database)])
            .args([
                "--set",
                &format!("sink.consumer_group={}_sink", spec.groups),
            ])
            .args(["--set", "sink.batch.period_ms=200"]);
        for s in spec.topics.overrides() {
            cmd.args(["--set", &s]);
        }
        let out = tokio::time::timeout(
            Duration::from_secs(120),
            tokio::process::Command::from(cmd)
                .args(["replay", "--table", table])
                .output(),
        )
        .await
        .expect("the replay finishes by itself")
        .expect("run cityops replay");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{table}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("rows written"), "{stdout}");
    }
    assert_eq!(
        counts(ch.clone()).await,
        (40, 3, 5),
        "the same counts as before the drop"
    );
}
