//! The ingest service over the real local stack, run as the `cityops` process: tickets and
//! readings in over HTTP and the raw topics, canonical events out on `city.events.v1`, bad
//! input answered or dead-lettered, personal data nowhere, and a broker outage answered 503.

use cityops_avro::Codec;
use cityops_bus::{dlq_headers, KafkaConfig, OutRecord, Producer, Record};
use cityops_core::{event_id_for, CityEvent, GeoPoint, Source};
use cityops_e2e::platform::{Broker, Platform};
use cityops_e2e::{held, kafka_config, read_n, text};
use cityops_ingest::pii::ReporterKey;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const CITYOPS: &str = env!("CARGO_BIN_EXE_cityops-under-test");
const PHONE: &str = "13800001234";
const NAME: &str = "张先生";

fn ticket(id: &str) -> Value {
    json!({"ticket_id": id, "received_at": "2026-11-21T08:15:00+08:00", "channel": "phone",
           "request_type": "投诉", "content": "  市民来电反映：兴华南街58号路灯不亮，夜间出行不便。 ",
           "address": "铁西区兴华南街58号", "district": "铁西区", "lat": 41.7962, "lon": 123.3589,
           "caller_phone": PHONE, "caller_name": NAME, "attachments": ["https://files.example/a.jpg"]})
}

async fn post(
    url: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let resp = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.expect("body");
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
        headers,
    )
}

fn config_for(platform: &Platform, brokers: &str) -> KafkaConfig {
    let _ = platform;
    KafkaConfig {
        brokers: brokers.to_owned(),
        statistics_interval_ms: 0,
        session_timeout_ms: 6_000,
        ..KafkaConfig::default()
    }
}

async fn decode_all(records: &[Record]) -> Vec<CityEvent> {
    let codec = Codec::single_object();
    let mut out = Vec::new();
    for r in records {
        let event: CityEvent = codec
            .decode(r.payload.as_deref().unwrap_or_default())
            .await
            .expect("a CityEvent");
        assert_eq!(
            r.key.as_deref(),
            Some(event.event_id.as_bytes()),
            "events are keyed by event id"
        );
        out.push(event);
    }
    out
}

fn assert_no_personal_data(what: &str, haystack: &[u8]) {
    let s = String::from_utf8_lossy(haystack);
    assert!(!s.contains(PHONE), "the caller's phone appears in {what}");
    assert!(!s.contains(NAME), "the caller's name appears in {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_and_readings_arrive_on_the_events_topic_as_specified() {
    let kafka = kafka_config().await;
    let platform = Platform::start(CITYOPS, &kafka.brokers, &[]).await;
    let config = config_for(&platform, &kafka.brokers);
    let tickets_url = format!("{}/v1/hotline/tickets", platform.ingest_url);
    let readings_url = format!("{}/v1/iot/readings", platform.ingest_url);

    // One ticket, then a batch holding a second ticket (no offset: China Standard Time) and
    // the first one again.
    let (status, body, _) = post(
        &tickets_url,
        "application/json",
        ticket("SY12345-E2E-1").to_string(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let first_id = body["results"][0]["event_id"]
        .as_str()
        .expect("event id")
        .to_owned();
    let mut second = ticket("SY12345-E2E-2");
    second["received_at"] = json!("2026-11-21 06:00:00");
    second.as_object_mut().expect("object").remove("lat");
    second.as_object_mut().expect("object").remove("lon");
    let (status, body, _) = post(
        &tickets_url,
        "application/json",
        json!([second, ticket("SY12345-E2E-1")]).to_string(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["results"][1]["event_id"].as_str(),
        Some(first_id.as_str()),
        "the same ticket posted twice is one event"
    );
    assert_eq!(first_id, event_id_for(Source::Hotline, "SY12345-E2E-1"));

    // A batch of readings as NDJSON.
    let readings = [
        json!({"device_id": "SY-GAS-000123", "device_type": "gas_detector", "ts": "2026-11-21T08:15:00+08:00",
               "lat": 41.80, "lon": 123.40, "metrics": {"ch4_lel": 35.0}, "event": null, "tags": {}}),
        json!({"device_id": "SY-CAM-7", "device_type": "camera_ai", "ts": "2026-11-21T00:15:00Z",
               "lat": 41.81, "lon": 123.41, "metrics": {}, "event": "fire_lane_blocked", "tags": {"road": "兴华南街"}}),
    ];
    let ndjson = readings
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    let (status, body, _) = post(&readings_url, "application/x-ndjson", ndjson).await;
    assert_eq!(status, 202, "{body}");

    // The raw topics, as the call-centre system and a gateway would produce.
    let producer = Producer::new(&config, "test-gateway").expect("producer");
    producer
        .send(&OutRecord::new(
            platform.topics.raw_hotline.as_str(),
            "SY12345-E2E-3",
            ticket("SY12345-E2E-3").to_string().into_bytes(),
        ))
        .await
        .expect("raw ticket");
    let raw_reading = json!({"device_id": "SY-WL-9", "device_type": "water_level", "ts": 1_795_220_100_000_i64, "metrics": {"depth_cm": 12.5}});
    producer
        .send(&OutRecord::new(
            platform.topics.raw_iot.as_str(),
            "SY-WL-9",
            raw_reading.to_string().into_bytes(),
        ))
        .await
        .expect("raw reading");

    let records = read_n(&config, &platform.topics.events, 7).await;
    let events = decode_all(&records).await;
    let by_source: BTreeMap<&str, &CityEvent> =
        events.iter().map(|e| (e.source_id.as_str(), e)).collect();
    let ids: BTreeSet<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(
        ids.len(),
        6,
        "seven records, six distinct events (one ticket was sent twice)"
    );

    let key = ReporterKey::new(platform.reporter_secret.clone());
    let t1 = by_source["SY12345-E2E-1"];
    assert_eq!(t1.event_id, first_id);
    assert_eq!(t1.source, Source::Hotline);
    assert_eq!(
        t1.occurred_at_ms, 1_795_220_100_000,
        "08:15 at +08:00 is 00:15 UTC"
    );
    assert_eq!(
        t1.text.as_deref(),
        Some("市民来电反映：兴华南街58号路灯不亮，夜间出行不便。"),
        "trimmed"
    );
    assert_eq!(
        t1.location,
        Some(GeoPoint {
            lat: 41.7962,
            lon: 123.3589
        })
    );
    assert_eq!(t1.address.as_deref(), Some("铁西区兴华南街58号"));
    assert_eq!(t1.district_hint.as_deref(), Some("铁西区"));
    assert_eq!(t1.channel.as_deref(), Some("phone"));
    assert_eq!(t1.request_type.as_deref(), Some("投诉"));
    assert_eq!(
        t1.attachments,
        vec!["https://files.example/a.jpg".to_owned()]
    );
    assert_eq!(
        t1.reporter_hash,
        key.hash_phone(PHONE),
        "the phone is a keyed hash"
    );
    assert!(t1.received_at_ms >= t1.occurred_at_ms);

    let t2 = by_source["SY12345-E2E-2"];
    assert_eq!(
        t2.occurred_at_ms, 1_795_212_000_000,
        "06:00 without offset is China Standard Time, 22:00 UTC the day before"
    );
    assert_eq!(t2.location, None);

    let t3 = by_source["SY12345-E2E-3"];
    assert_eq!(t3.event_id, event_id_for(Source::Hotline, "SY12345-E2E-3"));

    let gas = by_source["SY-GAS-000123@1795220100000"];
    assert_eq!(
        gas.event_id,
        event_id_for(Source::Iot, "SY-GAS-000123@1795220100000")
    );
    assert_eq!(gas.device_type.as_deref(), Some("gas_detector"));
    assert_eq!(gas.metrics.get("ch4_lel"), Some(&35.0));
    let cam = by_source["SY-CAM-7@1795220100000"];
    assert_eq!(cam.device_event.as_deref(), Some("fire_lane_blocked"));
    assert_eq!(cam.tags.get("road").map(String::as_str), Some("兴华南街"));
    let wl = by_source["SY-WL-9@1795220100000"];
    assert_eq!(wl.metrics.get("depth_cm"), Some(&12.5));

    // Personal data: nowhere on the topics cityops wrote, nowhere in its logs.
    for r in &records {
        assert_no_personal_data("city.events.v1", r.payload.as_deref().unwrap_or_default());
    }
    let logs = platform.stop().await;
    assert!(
        logs.contains("raw-topic intake stopped"),
        "graceful shutdown logged:\n{logs}"
    );
    assert_no_personal_data("the logs", logs.as_bytes());
}

/// HTTP cases: (name, path, content type, body, expected status, field blamed).
fn http_cases() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    String,
    u16,
    &'static str,
)> {
    let t = |patch: Value| {
        let mut v = ticket("SY12345-BAD");
        for (k, val) in patch.as_object().expect("patch") {
            if val == "__remove__" {
                v.as_object_mut().expect("object").remove(k);
            } else {
                v[k] = val.clone();
            }
        }
        v.to_string()
    };
    let gas = |patch: Value| {
        let mut v = json!({"device_id": "SY-GAS-BAD", "device_type": "gas_detector", "ts": "2026-11-21T08:15:00+08:00", "metrics": {"ch4_lel": 1.0}});
        for (k, val) in patch.as_object().expect("patch") {
            v[k] = val.clone();
        }
        v.to_string()
    };
    const T: &str = "/v1/hotline/tickets";
    const R: &str = "/v1/iot/readings";
    const J: &str = "application/json";
    vec![
        (
            "missing content",
            T,
            J,
            t(json!({"content": "__remove__"})),
            400,
            "content",
        ),
        (
            "blank content",
            T,
            J,
            t(json!({"content": "  "})),
            400,
            "content",
        ),
        (
            "content over the size limit",
            T,
            J,
            t(json!({"content": "长".repeat(4001)})),
            400,
            "content",
        ),
        (
            "missing ticket id",
            T,
            J,
            t(json!({"ticket_id": "__remove__"})),
            400,
            "ticket_id",
        ),
        (
            "unparsable time",
            T,
            J,
            t(json!({"received_at": "yesterday morning"})),
            400,
            "received_at",
        ),
        (
            "time far in the future",
            T,
            J,
            t(json!({"received_at": "2031-01-01T00:00:00+08:00"})),
            400,
            "received_at",
        ),
        (
            "latitude out of range",
            T,
            J,
            t(json!({"lat": 141.79})),
            400,
            "lat",
        ),
        (
            "longitude out of range",
            T,
            J,
            t(json!({"lon": -223.3})),
            400,
            "lon",
        ),
        (
            "latitude without longitude",
            T,
            J,
            t(json!({"lon": "__remove__"})),
            400,
            "lon",
        ),
        (
            "no location at all",
            T,
            J,
            t(
                json!({"lat": "__remove__", "lon": "__remove__", "address": "__remove__", "district": "__remove__"}),
            ),
            400,
            "location",
        ),
        (
            "content is a number",
            T,
            J,
            t(json!({"content": 12345})),
            400,
            "content",
        ),
        (
            "body is not JSON",
            T,
            J,
            "{\"ticket_id\": ".to_owned(),
            400,
            "body",
        ),
        ("body is a number", T, J, "42".to_owned(), 400, "body"),
        (
            "array item is a string",
            T,
            J,
            "[\"ticket\"]".to_owned(),
            400,
            "body",
        ),
        ("empty array", T, J, "[]".to_owned(), 400, "body"),
        (
            "wrong content type",
            T,
            "text/plain",
            t(json!({})),
            415,
            "content-type",
        ),
        (
            "form content type",
            R,
            "application/x-www-form-urlencoded",
            gas(json!({})),
            415,
            "content-type",
        ),
        (
            "unknown device type",
            R,
            J,
            gas(json!({"device_type": "toaster"})),
            400,
            "device_type",
        ),
        (
            "reading lacks its metric",
            R,
            J,
            gas(json!({"metrics": {"co_ppm": 3.0}})),
            400,
            "metrics.ch4_lel",
        ),
        (
            "metric is not a number",
            R,
            J,
            gas(json!({"metrics": {"ch4_lel": "high"}})),
            400,
            "metrics.ch4_lel",
        ),
        (
            "metrics is an array",
            R,
            J,
            gas(json!({"metrics": [35.0]})),
            400,
            "metrics",
        ),
        (
            "reading without time",
            R,
            J,
            gas(json!({"ts": null})),
            400,
            "ts",
        ),
        (
            "reading without device id",
            R,
            J,
            gas(json!({"device_id": ""})),
            400,
            "device_id",
        ),
        (
            "camera event not in the catalogue",
            R,
            J,
            gas(json!({"device_type": "camera_ai", "metrics": {}, "event": "ufo"})),
            400,
            "event",
        ),
        (
            "tag is not a string",
            R,
            J,
            gas(json!({"tags": {"floor": [1, 2]}})),
            400,
            "tags.floor",
        ),
        (
            "broken NDJSON line",
            R,
            "application/x-ndjson",
            "{\"device_id\": \"x\"\n".to_owned(),
            400,
            "body",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_is_answered_or_dead_lettered_and_produces_no_event() {
    let kafka = kafka_config().await;
    let platform = Platform::start(
        CITYOPS,
        &kafka.brokers,
        &["ingest.max_body_bytes=65536".to_owned()],
    )
    .await;
    let config = config_for(&platform, &kafka.brokers);

    let cases = http_cases();
    for (name, path, content_type, body, status, field) in &cases {
        let (got, answer, _) = post(
            &format!("{}{path}", platform.ingest_url),
            content_type,
            body.clone(),
        )
        .await;
        assert_eq!(got, *status, "{name}: {answer}");
        let errors = answer["errors"]
            .as_array()
            .or_else(|| answer["results"][0]["errors"].as_array());
        let fields: Vec<&str> = errors
            .into_iter()
            .flatten()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(
            fields.contains(field),
            "{name}: expected an error on {field}, got {answer}"
        );
        assert_no_personal_data(name, answer.to_string().as_bytes());
    }
    // Over the body limit: 413.
    let big = json!({"ticket_id": "BIG", "received_at": "2026-11-21T08:15:00+08:00", "district": "铁西区", "content": "x".repeat(70_000)});
    let (got, _, _) = post(
        &format!("{}/v1/hotline/tickets", platform.ingest_url),
        "application/json",
        big.to_string(),
    )
    .await;
    assert_eq!(got, 413, "a body over ingest.max_body_bytes");

    // Raw-topic cases: (name, topic, payload, reason the dead letter must give).
    let mut bad_latitude = ticket("SY12345-RAW-LAT");
    bad_latitude["lat"] = json!(95.0);
    let raw: Vec<(&str, &str, String, &str)> = vec![
        ("raw ticket not JSON", &platform.topics.raw_hotline, "ticket_id=1&content=x".to_owned(), "invalid ticket: body: not JSON"),
        ("raw ticket without content", &platform.topics.raw_hotline, {
            let mut t = ticket("SY12345-RAW-NOCONTENT");
            t.as_object_mut().expect("object").remove("content");
            t.to_string()
        }, "content: is missing"),
        ("raw ticket with bad latitude", &platform.topics.raw_hotline, bad_latitude.to_string(), "lat: latitude 95 is out of range"),
        ("raw reading of unknown device", &platform.topics.raw_iot, json!({"device_id": "X1", "device_type": "toaster", "ts": "2026-11-21T08:15:00+08:00"}).to_string(), "device_type: unknown device type \"toaster\""),
        ("raw reading without its metric", &platform.topics.raw_iot, json!({"device_id": "W1", "device_type": "water_level", "ts": "2026-11-21T08:15:00+08:00", "metrics": {}}).to_string(), "metrics.depth_cm: is missing"),
    ];
    assert!(cases.len() + 1 + raw.len() >= 25);
    let producer = Producer::new(&config, "test-gateway").expect("producer");
    for (name, topic, payload, _) in &raw {
        producer
            .send(&OutRecord::new(*topic, *name, payload.clone().into_bytes()))
            .await
            .expect("raw record");
    }
    let letters = read_n(&config, &platform.topics.dead_letter, raw.len()).await;
    for (name, _, payload, reason) in &raw {
        let letter = letters
            .iter()
            .find(|l| l.key.as_deref() == Some(name.as_bytes()))
            .unwrap_or_else(|| panic!("{name}: no dead letter"));
        let error =
            String::from_utf8_lossy(letter.header(dlq_headers::ERROR).expect("error header"))
                .into_owned();
        assert!(
            error.contains(reason),
            "{name}: dead-letter reason {error:?} should contain {reason:?}"
        );
        assert_eq!(letter.header(dlq_headers::STAGE), Some(&b"ingest"[..]));
        assert_no_personal_data(name, letter.payload.as_deref().unwrap_or_default());
        assert_no_personal_data(name, error.as_bytes());
        if !payload.contains(PHONE) {
            assert_eq!(
                &text(letter),
                payload,
                "{name}: the dead letter keeps the record"
            );
        }
    }

    // Nothing of it became an event: the topic holds exactly the sentinel sent afterwards.
    let (status, body, _) = post(
        &format!("{}/v1/hotline/tickets", platform.ingest_url),
        "application/json",
        ticket("SENTINEL").to_string(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let events = read_n(&config, &platform.topics.events, 1).await;
    assert_eq!(decode_all(&events).await[0].source_id, "SENTINEL");
    assert_eq!(
        held(&config, &platform.topics.events).await,
        1,
        "only the sentinel reached the events topic"
    );
    let logs = platform.stop().await;
    assert_no_personal_data("the logs", logs.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_stops_the_platform_at_once() {
    // The way out of a graceful stop that cannot finish (the broker went away with the Ctrl-C,
    // and librdkafka's consumer close waits for it): a second Ctrl-C.
    let mut platform = Platform::start(CITYOPS, &cityops_testkit::require_kafka().await, &[]).await;
    // The two signals at once: the graceful stop takes far longer than the second signal
    // needs to end the process, so the outcome does not depend on timing.
    platform.signal("TERM");
    platform.signal("INT");
    // Stopped at once (130), not gracefully (0), and logged.
    platform
        .expect_exit(Duration::from_secs(15), 130, "second shutdown signal")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_that_cannot_finish_ends_after_the_grace() {
    // The broker hangs, then one signal: the consumers' last commits and their close wait for
    // its answers, so the graceful stop cannot finish; the grace ends the process without a
    // second signal.
    let mut broker = Broker::start().await;
    let mut platform = Platform::start(
        CITYOPS,
        &broker.brokers(),
        &["telemetry.shutdown_grace_s=2".to_owned()],
    )
    .await;
    platform.await_ready(true).await;
    broker.freeze();
    platform.signal("TERM");
    platform
        .expect_exit(
            Duration::from_secs(30),
            1,
            "the graceful stop did not finish",
        )
        .await;
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_answers_503_while_the_broker_is_down_and_recovers_without_restart() {
    let mut broker = Broker::start().await;
    let platform = Platform::start(CITYOPS, &broker.brokers(), &[]).await;
    let url = format!("{}/v1/hotline/tickets", platform.ingest_url);
    let (status, body, _) = post(
        &url,
        "application/json",
        ticket("SY12345-BEFORE").to_string(),
    )
    .await;
    assert_eq!(status, 202, "{body}");

    broker.stop().await;
    platform.await_ready(false).await;
    let (status, body, headers) = post(
        &url,
        "application/json",
        ticket("SY12345-DURING").to_string(),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(
        headers.get("retry-after").is_some(),
        "503 carries Retry-After"
    );

    broker.restart().await;
    platform.await_ready(true).await;
    let accepted =
        cityops_testkit::eventually("intake to accept again", Duration::from_secs(60), || {
            let url = url.clone();
            async move {
                let (status, body, _) = post(
                    &url,
                    "application/json",
                    ticket("SY12345-AFTER").to_string(),
                )
                .await;
                (status == 202).then_some(body)
            }
        })
        .await;
    assert_eq!(accepted["accepted"], 1);
    let config = config_for(&platform, &broker.brokers());
    let events = decode_all(&read_n(&config, &platform.topics.events, 2).await).await;
    let sources: BTreeSet<String> = events.into_iter().map(|e| e.source_id).collect();
    assert!(
        sources.contains("SY12345-BEFORE") && sources.contains("SY12345-AFTER"),
        "{sources:?}"
    );
    platform.stop().await;
}
