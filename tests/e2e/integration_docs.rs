//! Runs every example of `docs/integration.md` against a running cityops: each HTTP example
//! gets the status its fence names and the answer shown after it; each Kafka example becomes
//! an event.

use cityops_bus::{OutRecord, Producer};
use cityops_e2e::doc_examples::{examples, matches, Example};
use cityops_e2e::platform::Platform;
use cityops_e2e::{kafka_config, read_n};
use serde_json::Value;

const CITYOPS: &str = env!("CARGO_BIN_EXE_cityops-under-test");
const DOC: &str = include_str!("../../docs/integration.md");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_of_the_integration_guide_works_as_documented() {
    let kafka = kafka_config().await;
    let platform = Platform::start(CITYOPS, &kafka.brokers, &[]).await;
    let examples = examples(DOC);
    assert!(
        examples
            .iter()
            .filter(|e| matches!(e, Example::Http { .. }))
            .count()
            >= 4
    );
    assert!(
        examples
            .iter()
            .filter(|e| matches!(e, Example::Kafka { .. }))
            .count()
            >= 2
    );

    let client = reqwest::Client::new();
    let producer = Producer::new(&kafka, "docs-test").expect("producer");
    let mut accepted = 0;
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
                assert_eq!(method, "POST");
                let mut request = client
                    .post(format!("{}{path}", platform.ingest_url))
                    .body(body.clone());
                for (k, v) in headers {
                    request = request.header(k, v);
                }
                let resp = request.send().await.expect("request");
                assert_eq!(resp.status().as_u16(), *expect, "{path}: {body}");
                let got: Value = resp.json().await.expect("JSON answer");
                if let Some(answer) = answer {
                    let answer: Value = serde_json::from_str(answer).expect("answers are JSON");
                    assert!(
                        matches(&answer, &got),
                        "documented answer {answer}\ndoes not match {got}"
                    );
                }
                accepted += got["accepted"].as_u64().unwrap_or(0);
            }
            Example::Kafka {
                topic,
                key,
                payload,
            } => {
                let topic = match topic.as_str() {
                    "city.raw.hotline.v1" => &platform.topics.raw_hotline,
                    "city.raw.iot.v1" => &platform.topics.raw_iot,
                    other => panic!("the guide names an unknown raw topic {other}"),
                };
                producer
                    .send(&OutRecord::new(
                        topic.as_str(),
                        key.as_str(),
                        payload.clone().into_bytes(),
                    ))
                    .await
                    .expect("produce the example");
                accepted += 1;
            }
        }
    }
    let events = read_n(
        &kafka,
        &platform.topics.events,
        usize::try_from(accepted).expect("count"),
    )
    .await;
    assert_eq!(
        events.len() as u64,
        accepted,
        "every accepted example is an event"
    );
    platform.stop().await;
}
