//! Dispatch over the real stack: incidents become work orders on `city.workorders.events.v1`
//! (hash-chained) and on their departments' topics; duplicates are merged; a redelivered
//! incident changes nothing; and a SIGKILL in the middle of a stream leaves every incident with
//! its order, no duplicate order and unbroken chains.

use cityops_avro::Codec;
use cityops_bus::{OutRecord, Producer};
use cityops_core::*;
use cityops_dispatch::verify_chain;
use cityops_e2e::orders::{all_transitions, by_order, incident, produce, transitions};
use cityops_e2e::platform::{Platform, Spec};
use cityops_e2e::{kafka_config, read_n};
use std::collections::BTreeSet;
use std::time::Duration;

const CITYOPS: &str = env!("CARGO_BIN_EXE_cityops-under-test");
const SERVICES: &str = r#"run.services=["ingest", "dispatch"]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_become_orders_merged_and_chained_on_department_topics() {
    let kafka = kafka_config().await;
    let platform = Platform::start(CITYOPS, &kafka.brokers, &[SERVICES.to_owned()]).await;
    let codec = Codec::single_object();
    let producer = Producer::new(&kafka, "test").expect("producer");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let street = "210106001";
    let gas = incident(
        "GAS-1",
        "gas_leak",
        "emergency",
        Severity::Critical,
        street,
        (41.7962, 123.3589),
        now - 600_000,
    );
    // 50 m away, ten minutes later: the same leak reported again.
    let gas_again = incident(
        "GAS-2",
        "gas_leak",
        "emergency",
        Severity::Critical,
        street,
        (41.79665, 123.3589),
        now - 60_000,
    );
    // Same place, another category: an order of its own.
    let heat = incident(
        "HEAT-1",
        "heating",
        "utilities",
        Severity::Normal,
        street,
        (41.7962, 123.3589),
        now - 60_000,
    );
    produce(
        &producer,
        &codec,
        &platform.topics.incidents,
        &[gas.clone(), gas_again, heat, gas.clone()],
    )
    .await;

    // created + dispatched, merged, created + dispatched; the redelivered first incident adds nothing.
    let events = transitions(&kafka, &platform.topics.workorder_events, 5).await;
    let orders = by_order(&events);
    assert_eq!(orders.len(), 2, "{orders:#?}");
    for chain in orders.values() {
        verify_chain(chain).expect("an unbroken hash chain");
    }
    let gas_order = orders
        .values()
        .find(|c| c[0].order.category == CategoryId::from("gas_leak"))
        .expect("the gas order");
    let kinds: Vec<TransitionKind> = gas_order.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            TransitionKind::Created,
            TransitionKind::Dispatched,
            TransitionKind::Merged
        ]
    );
    let last = &gas_order.last().expect("last").order;
    assert_eq!(
        last.incident_ids.len(),
        2,
        "the duplicate is attached (并单)"
    );
    assert_eq!(last.owner, DepartmentId::from("gas"));
    assert_eq!(last.co_departments, vec![DepartmentId::from("fire_rescue")]);
    assert_eq!(last.status, OrderStatus::Dispatched);
    assert!(
        last.routing_reason.contains("燃气泄漏"),
        "{}",
        last.routing_reason
    );
    assert!(last.accept_deadline_ms.is_some() && last.resolve_deadline_ms.is_some());
    assert_eq!(
        cityops_dispatch::street_key_of(&last.order_id),
        Some(street)
    );

    // The owner and the co-department see the order on their topics: once per decision
    // (created and dispatched at once is one snapshot, dispatched), then merged.
    let decode = |r: &cityops_bus::Record| {
        let codec = codec.clone();
        let bytes = r.payload.clone().unwrap_or_default();
        async move {
            codec
                .decode::<WorkOrder>(&bytes)
                .await
                .expect("a WorkOrder")
        }
    };
    for dept in ["gas", "fire_rescue"] {
        let topic = format!("{}.{dept}.orders.v1", platform.topics.department_prefix);
        let snapshots = read_n(&kafka, &topic, 2).await;
        let first = decode(&snapshots[0]).await;
        assert_eq!(first.status, OrderStatus::Dispatched, "{dept}");
        let latest = decode(&snapshots[1]).await;
        assert_eq!(latest.order_id, last.order_id);
        assert_eq!(latest.version, last.version);
        assert_eq!(snapshots[1].key.as_deref(), Some(last.order_id.as_bytes()));
    }
    let heat_topic = format!("{}.heating.orders.v1", platform.topics.department_prefix);
    let heating = read_n(&kafka, &heat_topic, 1).await;
    assert_eq!(decode(&heating[0]).await.status, OrderStatus::Dispatched);

    // `cityops workorders verify` over the topic: every chain holds...
    let verify = || {
        std::process::Command::new(CITYOPS)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .args(["--set", &format!("kafka.brokers={}", kafka.brokers)])
            .args([
                "--set",
                &format!(
                    "kafka.topics.workorder_events={}",
                    platform.topics.workorder_events
                ),
            ])
            .args(["workorders", "verify"])
            .output()
            .expect("run cityops workorders verify")
    };
    let ok = verify();
    let out = String::from_utf8_lossy(&ok.stdout).into_owned();
    assert!(
        ok.status.success() && out.contains("every hash chain holds"),
        "{out}"
    );
    // ...until someone rewrites history: a forged closure appended with a made-up hash.
    let mut forged = gas_order.last().expect("last").clone();
    forged.seq += 1;
    forged.transition_id = format!("{}#{}", forged.order_id, forged.seq);
    forged.prev_hash = forged.hash.clone();
    forged.kind = TransitionKind::Closed;
    forged.status_after = OrderStatus::Closed;
    forged.hash = "f".repeat(64);
    let bytes = codec
        .encode(&platform.topics.workorder_events, &forged)
        .await
        .expect("encode");
    producer
        .send(&OutRecord::new(
            platform.topics.workorder_events.as_str(),
            street,
            bytes,
        ))
        .await
        .expect("produce the forgery");
    let broken = verify();
    let out = String::from_utf8_lossy(&broken.stdout).into_owned();
    assert!(
        !broken.status.success(),
        "a forged chain fails the check: {out}"
    );
    assert!(
        out.contains(&format!("BROKEN {}", forged.order_id))
            && out.contains(&format!("{}", forged.seq)),
        "{out}"
    );
    platform.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_killed_mid_stream_leaves_every_incident_one_order_and_chains_unbroken() {
    const N: usize = 120;
    let kafka = kafka_config().await;
    let clickhouse = cityops_testkit::require_clickhouse().await;
    let spec = Spec::fresh(&kafka.brokers, &clickhouse, &[SERVICES.to_owned()]);
    let platform = Platform::start_with(CITYOPS, spec.clone()).await;
    let codec = Codec::single_object();
    let producer = Producer::new(&kafka, "test").expect("producer");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    // Streetlight faults 1 km apart on three streets: no two merge.
    let incidents: Vec<Incident> = (0..N)
        .map(|i| {
            let street = ["210106001", "210106002", "210103001"][i % 3];
            incident(
                &format!("LAMP-{i}"),
                "streetlight",
                "city_management",
                Severity::Normal,
                street,
                (41.0 + i as f64 * 0.01, 123.3),
                now - 60_000,
            )
        })
        .collect();
    let topic = spec.topics.incidents.clone();
    let (first, rest) = incidents.split_at(N / 3);
    produce(&producer, &codec, &topic, first).await;
    let stream = tokio::spawn({
        let (producer, codec, topic, rest) = (
            producer.clone(),
            codec.clone(),
            topic.clone(),
            rest.to_vec(),
        );
        async move {
            for chunk in rest.chunks(10) {
                produce(&producer, &codec, &topic, chunk).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    // Kill it once orders are being written.
    let _ = transitions(&kafka, &spec.topics.workorder_events, 10).await;
    platform.kill().await;
    let platform = Platform::start_with(CITYOPS, spec.clone()).await;
    stream.await.expect("producer");

    // Every incident ends with its order: read until N orders are dispatched.
    let events = cityops_testkit::eventually(
        "every incident dispatched",
        Duration::from_secs(120),
        || {
            let (kafka, topic) = (kafka.clone(), spec.topics.workorder_events.clone());
            async move {
                let events = all_transitions(&kafka, &topic, &Codec::single_object()).await;
                let dispatched = events
                    .iter()
                    .filter(|e| e.kind == TransitionKind::Dispatched)
                    .count();
                (dispatched >= N).then_some(events)
            }
        },
    )
    .await;
    let orders = by_order(&events);
    assert_eq!(orders.len(), N, "one order per incident, no duplicates");
    let mut incidents_seen = BTreeSet::new();
    for (id, chain) in &orders {
        verify_chain(chain).unwrap_or_else(|e| panic!("{id}: {e}"));
        let created = chain
            .iter()
            .filter(|e| e.kind == TransitionKind::Created)
            .count();
        assert_eq!(created, 1, "{id} created once");
        for i in &chain.last().expect("last").order.incident_ids {
            assert!(
                incidents_seen.insert(i.clone()),
                "incident {i} in two orders"
            );
        }
    }
    assert_eq!(incidents_seen.len(), N, "no incident without its order");
    platform.stop().await;
}

/// The catalogue changed under a running `cityops up` takes effect without a restart; a broken
/// one is refused and the one in force kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_catalogue_reroutes_without_a_restart_and_a_broken_one_is_refused() {
    let kafka = kafka_config().await;
    let dir = std::env::temp_dir().join(cityops_testkit::unique_name("catalogue"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("catalogue.toml");
    let shipped = include_str!("../../config/catalogue.toml");
    std::fs::write(&path, shipped).expect("write the catalogue");
    let platform = Platform::start(
        CITYOPS,
        &kafka.brokers,
        &[
            SERVICES.to_owned(),
            format!("data.catalogue={}", path.display()),
            "data.reload_check_ms=200".to_owned(),
        ],
    )
    .await;
    let codec = Codec::single_object();
    let producer = Producer::new(&kafka, "test").expect("producer");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    // Leaks on three streets (no merging), one per catalogue.
    let leak = |id: &str, street: &str| {
        incident(
            id,
            "gas_leak",
            "emergency",
            Severity::Critical,
            street,
            (41.7962, 123.3589),
            now - 60_000,
        )
    };
    let topic = platform.topics.workorder_events.clone();
    let owner_of = |incident: Incident| {
        let (kafka, topic, codec, producer, incidents_topic) = (
            kafka.clone(),
            topic.clone(),
            codec.clone(),
            producer.clone(),
            platform.topics.incidents.clone(),
        );
        async move {
            produce(
                &producer,
                &codec,
                &incidents_topic,
                std::slice::from_ref(&incident),
            )
            .await;
            let order_id =
                cityops_dispatch::order_id_for(incident.partition_key(), &incident.incident_id);
            cityops_testkit::eventually("the order dispatched", Duration::from_secs(60), || async {
                all_transitions(&kafka, &topic, &Codec::single_object())
                    .await
                    .into_iter()
                    .find(|e| e.order_id == order_id && e.kind == TransitionKind::Dispatched)
                    .map(|e| e.order.owner.as_str().to_owned())
            })
            .await
        }
    };
    assert_eq!(owner_of(leak("RELOAD-1", "210106001")).await, "gas");

    // The city moves gas leaks to the emergency management bureau.
    let changed = shipped
        .replacen(
            "version = \"2026.1-shenyang-default\"",
            "version = \"2026.2-test-reload\"",
            1,
        )
        .replacen(
            "owner = \"gas\"\nco_departments = [\"fire_rescue\"]",
            "owner = \"emergency_mgmt\"\nco_departments = [\"fire_rescue\"]",
            1,
        );
    assert_ne!(
        changed, shipped,
        "the test edits the shipped gas_leak entry"
    );
    std::fs::write(&path, &changed).expect("rewrite the catalogue");
    platform
        .await_log("catalogue reloaded", Duration::from_secs(30))
        .await;
    assert_eq!(
        owner_of(leak("RELOAD-2", "210106002")).await,
        "emergency_mgmt"
    );

    // A broken file is refused: the catalogue in force stays.
    std::fs::write(
        &path,
        changed.replacen("[[category]]", "[[category]\nbroken", 1),
    )
    .expect("break the catalogue");
    platform
        .await_log("catalogue rejected", Duration::from_secs(30))
        .await;
    assert_eq!(
        owner_of(leak("RELOAD-3", "210103001")).await,
        "emergency_mgmt"
    );
    assert!(
        platform.logs().contains("2026.2-test-reload"),
        "the log names the version kept"
    );
    platform.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
