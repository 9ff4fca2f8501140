//! Departments and the command centre over the real stack: every example of
//! `docs/departments.md` (HTTP and the department's topic) runs against a live order as
//! documented, refused attempts are recorded without changing the order, and the whole
//! history is one unbroken hash chain; two dispatch instances in one group split the streets,
//! answer commands for each other's orders and never duplicate one.

use cityops_avro::Codec;
use cityops_bus::{KafkaConfig, OutRecord, Producer};
use cityops_core::*;
use cityops_dispatch::{token_sha256, verify_chain};
use cityops_e2e::doc_examples::{examples, matches, Example};
use cityops_e2e::kafka_config;
use cityops_e2e::orders::{by_order, incident, produce};
use cityops_e2e::platform::{Platform, Spec};
use serde_json::{json, Value};
use std::time::Duration;

const CITYOPS: &str = env!("CARGO_BIN_EXE_cityops-under-test");
const DOC: &str = include_str!("../../docs/departments.md");

/// The tokens the guide's examples use, and whose they are.
const TOKENS: [(&str, &str); 3] = [
    ("gas", "gas-demo-token"),
    ("fire_rescue", "fire-demo-token"),
    ("heating", "heating-demo-token"),
];
const COMMAND_CENTER_TOKEN: &str = "cc-demo-token";

fn token_settings() -> Vec<String> {
    let mut sets = vec![format!(
        "dispatch.tokens.command_center_sha256=\"{}\"",
        token_sha256(COMMAND_CENTER_TOKEN)
    )];
    for (dept, token) in TOKENS {
        sets.push(format!(
            "dispatch.tokens.departments.{dept}=\"{}\"",
            token_sha256(token)
        ));
    }
    sets
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// Every transition on the work-order topic so far.
async fn all_transitions(kafka: &KafkaConfig, topic: &str) -> Vec<WorkOrderEvent> {
    cityops_e2e::orders::all_transitions(kafka, topic, &Codec::single_object()).await
}

/// Waits for the transition recording `command_id`.
async fn recorded(kafka: &KafkaConfig, topic: &str, command_id: &str) -> WorkOrderEvent {
    cityops_testkit::eventually(
        &format!("a transition recording {command_id}"),
        Duration::from_secs(60),
        || async {
            all_transitions(kafka, topic)
                .await
                .into_iter()
                .find(|e| e.command_id.as_deref() == Some(command_id))
        },
    )
    .await
}

/// The order the gas leak at 兴华街道 opened, once dispatched.
async fn dispatched_order(kafka: &KafkaConfig, topic: &str) -> WorkOrder {
    cityops_testkit::eventually(
        "the gas order dispatched",
        Duration::from_secs(60),
        || async {
            all_transitions(kafka, topic)
                .await
                .into_iter()
                .find(|e| e.kind == TransitionKind::Dispatched)
                .map(|e| e.order)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_of_the_department_guide_works_and_the_chain_holds() {
    let kafka = kafka_config().await;
    let mut extra = vec![r#"run.services=["ingest", "dispatch", "sink"]"#.to_owned()];
    extra.extend(token_settings());
    let platform = Platform::start(CITYOPS, &kafka.brokers, &extra).await;
    let topics = platform.topics.clone();
    let client = reqwest::Client::new();
    platform.await_dispatch_api().await;
    let codec = Codec::single_object();
    let producer = Producer::new(&kafka, "test").expect("producer");
    let gas_leak = incident(
        "DOC-GAS-1",
        "gas_leak",
        "emergency",
        Severity::Critical,
        "210106001",
        (41.7962, 123.3589),
        now_ms() - 60_000,
    );
    produce(&producer, &codec, &topics.incidents, &[gas_leak]).await;
    let order = dispatched_order(&kafka, &topics.workorder_events).await;
    let order_id = order.order_id.clone();
    assert_eq!(order.owner, DepartmentId::from("gas"));
    // The lists are read from ClickHouse: wait for the sink to have written the order.
    // ...as dispatched (the sink may write the `created` version a moment before).
    cityops_testkit::eventually("the order in ClickHouse", Duration::from_secs(60), || {
        let (client, url) = (client.clone(), platform.dispatch_url.clone());
        let order_id = order_id.clone();
        async move {
            let v: Value = client
                .get(format!("{url}/v1/orders/{order_id}"))
                .bearer_auth("gas-demo-token")
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (v["order"]["status"] == "dispatched").then_some(())
        }
    })
    .await;

    let examples = examples(DOC);
    let count = |kafka: bool| {
        examples
            .iter()
            .filter(|e| matches!(e, Example::Kafka { .. }) == kafka)
            .count()
    };
    assert!(count(false) >= 15, "{examples:#?}");
    assert!(count(true) >= 1);
    let fill = |s: &str| s.replace("{order_id}", &order_id);
    for example in &examples {
        match example {
            Example::Http {
                expect,
                method,
                path,
                headers,
                body,
                answer,
            } => {
                let url = format!("{}{}", platform.dispatch_url, fill(path));
                let mut request = match method.as_str() {
                    "GET" => client.get(&url),
                    "POST" => client.post(&url).body(fill(body)),
                    other => panic!("the guide uses method {other}"),
                };
                for (k, v) in headers {
                    request = request.header(k, v);
                }
                let resp = request.send().await.expect("request");
                let status = resp.status().as_u16();
                let got: Value = resp.json().await.expect("a JSON answer");
                assert_eq!(status, *expect, "{method} {path} {body}: {got}");
                if let Some(answer) = answer {
                    let answer: Value =
                        serde_json::from_str(&fill(answer)).expect("answers are JSON");
                    assert!(
                        matches(&answer, &got),
                        "{method} {path}: documented answer {answer}\ndoes not match {got}"
                    );
                }
            }
            Example::Kafka {
                topic,
                key,
                payload,
            } => {
                let dept = topic
                    .strip_prefix("city.dept.")
                    .and_then(|t| t.strip_suffix(".updates.v1"))
                    .expect("a department updates topic");
                let topic = format!("{}.{dept}.updates.v1", topics.department_prefix);
                let payload = fill(payload);
                producer
                    .send(&OutRecord::new(
                        topic,
                        fill(key),
                        payload.clone().into_bytes(),
                    ))
                    .await
                    .expect("produce the example");
                let update: DepartmentUpdate =
                    serde_json::from_str(&payload).expect("a DepartmentUpdate");
                let t = recorded(
                    &kafka,
                    &topics.workorder_events,
                    &format!("{dept}:{}", update.update_id),
                )
                .await;
                assert!(!t.rejected, "{t:?}");
            }
        }
    }

    // An update on the gas topic, in Avro, that claims to come from another department:
    // refused and recorded; and the same update again changes nothing more.
    let spoof = DepartmentUpdate {
        update_id: "spoof-1".into(),
        order_id: order_id.clone(),
        department: DepartmentId::from("water"),
        action: UpdateAction::Progress,
        note: Some("冒名更新".into()),
        reason: None,
        requested_deadline_ms: None,
        at_ms: now_ms(),
    };
    let gas_updates = format!("{}.gas.updates.v1", topics.department_prefix);
    let bytes = codec.encode(&gas_updates, &spoof).await.expect("encode");
    for _ in 0..2 {
        producer
            .send(&OutRecord::new(
                gas_updates.as_str(),
                order_id.as_str(),
                bytes.clone(),
            ))
            .await
            .expect("produce");
    }
    let refused = recorded(&kafka, &topics.workorder_events, "gas:spoof-1").await;
    assert!(refused.rejected);
    assert!(
        refused
            .rejection_reason
            .as_deref()
            .is_some_and(|r| r.contains("names department water")),
        "{refused:?}"
    );

    // The whole history: one unbroken chain, each refused attempt recorded, none of them
    // changing the order.
    let chain = cityops_testkit::eventually("the full history", Duration::from_secs(30), || {
        let (kafka, topic, order_id) = (
            kafka.clone(),
            topics.workorder_events.clone(),
            order_id.clone(),
        );
        async move {
            let chains = by_order(&all_transitions(&kafka, &topic).await);
            let chain = chains.get(&order_id)?.clone();
            (chain.last()?.kind == TransitionKind::ProgressReported && chain.last()?.rejected)
                .then_some(chain)
        }
    })
    .await;
    verify_chain(&chain).expect("an unbroken hash chain");
    let steps: Vec<(TransitionKind, bool)> = chain.iter().map(|e| (e.kind, e.rejected)).collect();
    use TransitionKind::*;
    assert_eq!(
        steps,
        vec![
            (Created, false),
            (Dispatched, false),
            (Accepted, false),
            (ProgressReported, false),
            (ExtensionRequested, false),
            (ProgressReported, false), // over the gas topic
            (Resolved, true),          // the fire brigade: not its order
            (Closed, true),            // the gas company may not close
            (ProgressReported, true),  // no note
            (ExtensionGranted, false),
            (Resolved, false),
            (Closed, false),
            (SatisfactionRecorded, false),
            (ProgressReported, true), // the spoofed update (its resend is not recorded again)
        ]
    );
    for pair in chain.windows(2) {
        if pair[1].rejected {
            assert_eq!(pair[1].order, pair[0].order, "a refusal changes nothing");
        }
    }
    let last = &chain.last().expect("last").order;
    assert_eq!(last.status, OrderStatus::Closed);
    assert_eq!(last.satisfaction, Some(5));
    assert_eq!(chain[6].actor, "fire_rescue");
    assert_eq!(
        chain[5].command_id.as_deref(),
        Some("gas:gas-20261122-0002")
    );

    // The order as ClickHouse has it, with its history, is what the topic says.
    let answer: Value = cityops_testkit::eventually(
        "the closed order in ClickHouse",
        Duration::from_secs(60),
        || {
            let (client, url, order_id) = (
                client.clone(),
                platform.dispatch_url.clone(),
                order_id.clone(),
            );
            let len = chain.len();
            async move {
                let v: Value = client
                    .get(format!("{url}/v1/orders/{order_id}"))
                    .bearer_auth(COMMAND_CENTER_TOKEN)
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                (v["history"].as_array()?.len() == len).then_some(v)
            }
        },
    )
    .await;
    assert_eq!(answer["order"]["status"], "closed");
    assert_eq!(
        answer["history"][13]["hash"].as_str(),
        Some(chain[13].hash.as_str())
    );

    // The command centre's city-wide lists filter by the order's status as it stands now.
    let city_list = |status: &'static str, token: &'static str| {
        let (client, url) = (client.clone(), platform.dispatch_url.clone());
        async move {
            let resp = client
                .get(format!("{url}/v1/orders?status={status}"))
                .bearer_auth(token)
                .send()
                .await
                .expect("GET /v1/orders");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.expect("JSON"))
        }
    };
    let (status, closed) = city_list("closed", COMMAND_CENTER_TOKEN).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(
        closed["orders"][0]["order_id"],
        order_id.as_str(),
        "{closed}"
    );
    for filter in ["open", "returned", "dispatched"] {
        let (status, list) = city_list(filter, COMMAND_CENTER_TOKEN).await;
        assert_eq!(
            (status, list["orders"].clone()),
            (200, json!([])),
            "{filter}"
        );
    }
    let (status, refused) = city_list("returned", "gas-demo-token").await;
    assert_eq!(status, 403, "{refused}");
    platform.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dispatch_instances_split_the_streets_answer_for_each_other_and_never_duplicate() {
    const N: usize = 24;
    let kafka = kafka_config().await;
    let clickhouse = cityops_testkit::require_clickhouse().await;
    let mut extra = vec![r#"run.services=["ingest", "dispatch"]"#.to_owned()];
    extra.extend(token_settings());
    let spec = Spec::fresh(&kafka.brokers, &clickhouse, &extra);
    let a = Platform::start_with(CITYOPS, spec.clone()).await;
    let b = Platform::start_with(CITYOPS, spec.clone()).await;
    let client = reqwest::Client::new();
    a.await_dispatch_api().await;
    b.await_dispatch_api().await;
    // Wait for the group to split: each instance holds partition p of both the incidents and
    // the commands topic (2 of the 4), never more.
    let holds_half = |p: &Platform| {
        p.logs().lines().any(|l| {
            l.contains("partitions assigned")
                && l.contains(r#""service":"dispatch""#)
                && l.contains(r#""partitions":2"#)
        })
    };
    cityops_testkit::eventually(
        "the two instances to split the partitions",
        Duration::from_secs(60),
        || {
            let split = holds_half(&a) && holds_half(&b);
            async move { split.then_some(()) }
        },
    )
    .await;
    let codec = Codec::single_object();
    let producer = Producer::new(&kafka, "test").expect("producer");
    let streets = [
        "210106001",
        "210106002",
        "210106003",
        "210103001",
        "210103002",
        "210102001",
    ];
    let incidents: Vec<Incident> = (0..N)
        .map(|i| {
            incident(
                &format!("HEAT-{i}"),
                "heating",
                "utilities",
                Severity::Normal,
                streets[i % streets.len()],
                (41.0 + i as f64 * 0.01, 123.3),
                now_ms() - 60_000,
            )
        })
        .collect();
    produce(&producer, &codec, &spec.topics.incidents, &incidents).await;
    let orders =
        cityops_testkit::eventually("every order dispatched", Duration::from_secs(90), || {
            let (kafka, topic) = (kafka.clone(), spec.topics.workorder_events.clone());
            async move {
                let events = all_transitions(&kafka, &topic).await;
                let n = events
                    .iter()
                    .filter(|e| e.kind == TransitionKind::Dispatched)
                    .count();
                (n >= N).then(|| by_order(&events))
            }
        })
        .await;
    assert_eq!(orders.len(), N, "one order per incident");
    // Both instances own streets: each replayed the partitions it was given.
    for (name, p) in [("a", &a), ("b", &b)] {
        assert!(
            p.logs().contains("partition replayed"),
            "instance {name} owns no partition"
        );
    }
    // The heating company accepts every order, half through each instance: each request is
    // decided by whichever instance owns the order's street and answered by the one asked.
    for (i, order_id) in orders.keys().enumerate() {
        let url = if i % 2 == 0 {
            &a.dispatch_url
        } else {
            &b.dispatch_url
        };
        let resp = client
            .post(format!("{url}/v1/orders/{order_id}/accept"))
            .bearer_auth("heating-demo-token")
            .json(&serde_json::json!({"note": "已签收，回电 139-0000-1111"}))
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.expect("JSON");
        assert_eq!(status, 200, "{order_id}: {body}");
        assert_eq!(body["order"]["status"], "accepted");
    }
    let events =
        cityops_testkit::eventually("every acceptance recorded", Duration::from_secs(60), || {
            let (kafka, topic) = (kafka.clone(), spec.topics.workorder_events.clone());
            async move {
                let events = all_transitions(&kafka, &topic).await;
                (events.len() >= 3 * N).then_some(events)
            }
        })
        .await;
    let orders = by_order(&events);
    assert_eq!(orders.len(), N);
    for (id, chain) in &orders {
        verify_chain(chain).unwrap_or_else(|e| panic!("{id}: {e}"));
        let kinds: Vec<TransitionKind> = chain.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![
                TransitionKind::Created,
                TransitionKind::Dispatched,
                TransitionKind::Accepted
            ],
            "{id}"
        );
        // The callback number in the note was masked before the transition was recorded.
        assert_eq!(
            chain[2].note.as_deref(),
            Some("已签收，回电 [电话]"),
            "{id}"
        );
    }
    a.stop().await;
    b.stop().await;
}
