//! Open311 GeoReport v2 over the real stack: every endpoint in both formats against the
//! specification's field lists and types (`tests/open311/open311_check.py`), the
//! specification's errors for bad requests with nothing created, and an Open311 client from
//! PyPI (civicbot, installed by `make setup`, used unchanged) filing a request that flows
//! through the whole pipeline and reading its status back before and after its work order
//! is closed.

use cityops_core::{event_id_for, Source};
use cityops_dispatch::token_sha256;
use cityops_e2e::kafka_config;
use cityops_e2e::platform::Platform;
use serde_json::Value;
use std::time::Duration;

const CITYOPS: &str = env!("CARGO_BIN_EXE_cityops-under-test");
const API_KEY: &str = "open311-test-app-key";
const POLICE_TOKEN: &str = "traffic-police-test-token";
const CC_TOKEN: &str = "command-centre-test-token";

/// Runs the checker in `mode`; its JSON answer.
async fn check(mode: &str, base: &str, arg: &str) -> Value {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = tokio::process::Command::new("python3")
        .arg(format!("{root}/tests/open311/open311_check.py"))
        .args([mode, base, arg])
        .output()
        .await
        .expect("python3 runs the Open311 checker");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "open311_check.py {mode} failed (civicbot missing? run `make setup`):\n{stderr}"
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stderr}"))
}

async fn clickhouse_count(url: &str, database: &str, sql: &str) -> u64 {
    let body = reqwest::Client::new()
        .post(format!("{url}/?database={database}"))
        .body(format!("{sql} FORMAT TSV"))
        .send()
        .await
        .expect("ClickHouse")
        .text()
        .await
        .expect("answer");
    body.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{sql}: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open311_clients_file_requests_and_follow_them_to_their_close() {
    let kafka = kafka_config().await;
    let extra = vec![
        format!("open311.api_keys_sha256=[\"{}\"]", token_sha256(API_KEY)),
        format!(
            "dispatch.tokens.command_center_sha256=\"{}\"",
            token_sha256(CC_TOKEN)
        ),
        format!(
            "dispatch.tokens.departments.traffic_police=\"{}\"",
            token_sha256(POLICE_TOKEN)
        ),
    ];
    let platform = Platform::start(CITYOPS, &kafka.brokers, &extra).await;
    let base = format!("{}/open311/v2", platform.ingest_url);

    // Every endpoint, both formats, the specification's errors; two requests filed.
    let report = check("spec", &base, API_KEY).await;
    let filed = report["filed"].as_array().expect("filed ids").len();
    assert_eq!(filed, 2, "{report}");
    assert!(report["checked"].as_u64().unwrap_or(0) > 50, "{report}");

    // civicbot, unchanged, files a report of illegal parking and reads it back.
    let sent = check("file", &base, API_KEY).await;
    let id = sent["service_request_id"]
        .as_str()
        .expect("an id")
        .to_owned();
    assert_eq!(sent["status"], "open", "{sent}");

    // It went through the pipeline: enriched as the citizen's service, dispatched to the
    // traffic police.
    let before = cityops_testkit::eventually(
        "the request dispatched",
        Duration::from_secs(90),
        || async {
            let s = check("status", &base, &id).await;
            // Dispatched: the order's deadlines are set.
            s["expected_datetime"].is_string().then_some(s)
        },
    )
    .await;
    assert_eq!(before["status"], "open");
    assert_eq!(before["agency_responsible"], "市公安局交通警察支队");
    assert_eq!(before["service_code"], "illegal_parking");

    // The police accept and resolve it, the command centre closes it.
    let client = reqwest::Client::new();
    let incident = event_id_for(Source::Open311, &id);
    let order_id = cityops_testkit::eventually(
        "the order in the police's list",
        Duration::from_secs(60),
        || async {
            let list: Value = client
                .get(format!(
                    "{}/v1/departments/traffic_police/orders",
                    platform.dispatch_url
                ))
                .bearer_auth(POLICE_TOKEN)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            list["orders"].as_array()?.iter().find_map(|o| {
                o["incident_ids"]
                    .as_array()?
                    .iter()
                    .any(|i| i == incident.as_str())
                    .then(|| o["order_id"].as_str().map(str::to_owned))
                    .flatten()
            })
        },
    )
    .await;
    for (action, token, body) in [
        ("accept", POLICE_TOKEN, r#"{"note": "已签收"}"#),
        ("resolve", POLICE_TOKEN, r#"{"note": "车辆已拖离"}"#),
        ("close", CC_TOKEN, r#"{"note": "回访核实，结案"}"#),
    ] {
        let r = client
            .post(format!(
                "{}/v1/orders/{order_id}/{action}",
                platform.dispatch_url
            ))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        assert_eq!(
            status,
            200,
            "{action}: {}",
            r.text().await.unwrap_or_default()
        );
    }
    let after =
        cityops_testkit::eventually("the request closed", Duration::from_secs(60), || async {
            let s = check("status", &base, &id).await;
            (s["status"] == "closed").then_some(s)
        })
        .await;
    assert_eq!(after["status_notes"], "已办结并核查结案");

    // Exactly the three good requests were filed; the caller's phone and name are nowhere.
    let ch = &platform.spec.clickhouse;
    let db = &platform.database;
    let filed = cityops_testkit::eventually(
        "three requests in ClickHouse",
        Duration::from_secs(30),
        || async {
            let n = clickhouse_count(
                ch,
                db,
                "SELECT count() FROM events FINAL WHERE source = 'open311'",
            )
            .await;
            (n >= 3).then_some(n)
        },
    )
    .await;
    assert_eq!(filed, 3, "a refused request creates nothing");
    for table in ["events", "incidents"] {
        let leaked = clickhouse_count(
            ch,
            db,
            &format!(
                "SELECT count() FROM {table} WHERE positionUTF8(concat(ifNull(text, ''), ifNull(address, '')), '13800001234') > 0 \
                 OR positionUTF8(ifNull(text, ''), '李明') > 0"
            ),
        )
        .await;
        assert_eq!(leaked, 0, "personal data in {table}");
    }
    let hashed = clickhouse_count(
        ch,
        db,
        "SELECT count() FROM events FINAL WHERE source = 'open311' AND length(ifNull(reporter_hash, '')) = 64",
    )
    .await;
    assert_eq!(hashed, 3, "the phone is kept as its keyed hash only");
    platform.stop().await;
}
