//! Runs every example of `docs/integration.md` against a running cityops: each HTTP example
//! gets the status its fence names and the answer shown after it; each Kafka example becomes
//! an event.

use cityops_bus::{OutRecord, Producer};
use cityops_e2e::platform::Platform;
use cityops_e2e::{kafka_config, read_n};
use serde_json::Value;

const CITYOPS: &str = env!("CARGO_BIN_EXE_cityops-under-test");
const DOC: &str = include_str!("../../docs/integration.md");

#[derive(Debug)]
enum Example {
    Http {
        expect: u16,
        method: String,
        path: String,
        content_type: String,
        body: String,
        answer: Option<Value>,
    },
    Kafka {
        topic: String,
        key: String,
        payload: String,
    },
}

/// The fenced blocks of the document: `http expect=N` requests (with the ```json answer that
/// follows, if any) and `json topic=T key=K` records.
fn examples(doc: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let block: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        let words: Vec<&str> = info.split_whitespace().collect();
        let attr = |name: &str| {
            words
                .iter()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
        };
        match words.first().copied() {
            Some("http") => {
                let expect = attr("expect")
                    .and_then(|e| e.parse().ok())
                    .expect("http examples name their expected status");
                let (method, path) = block[0].split_once(' ').expect("METHOD PATH");
                let blank = block
                    .iter()
                    .position(|l| l.is_empty())
                    .expect("a blank line before the body");
                let content_type = block[1..blank]
                    .iter()
                    .find_map(|h| h.strip_prefix("Content-Type: "))
                    .expect("a Content-Type header")
                    .to_owned();
                out.push(Example::Http {
                    expect,
                    method: method.to_owned(),
                    path: path.to_owned(),
                    content_type,
                    body: block[blank + 1..].join("\n"),
                    answer: None,
                });
            }
            Some("json") if attr("topic").is_some() => out.push(Example::Kafka {
                topic: attr("topic").unwrap_or_default(),
                key: attr("key").expect("Kafka examples name their key"),
                payload: block.join("\n"),
            }),
            Some("json") => {
                let answer: Value =
                    serde_json::from_str(&block.join("\n")).expect("answers are JSON");
                if let Some(Example::Http {
                    answer: slot @ None,
                    ..
                }) = out.last_mut()
                {
                    *slot = Some(answer);
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether `actual` matches the documented `expected`, where "…" stands for any value.
fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(s), _) if s == "…" => true,
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| matches(v, av))),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches(x, y))
        }
        _ => expected == actual,
    }
}

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
                content_type,
                body,
                answer,
            } => {
                assert_eq!(method, "POST");
                let resp = client
                    .post(format!("{}{path}", platform.ingest_url))
                    .header("content-type", content_type)
                    .body(body.clone())
                    .send()
                    .await
                    .expect("request");
                assert_eq!(resp.status().as_u16(), *expect, "{path}: {body}");
                let got: Value = resp.json().await.expect("JSON answer");
                if let Some(answer) = answer {
                    assert!(
                        matches(answer, &got),
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
