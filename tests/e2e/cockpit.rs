//! The cockpit over the real stack: every API endpoint answers from what the topics brought
//! into ClickHouse, the live stream pushes new incidents and escalations, hostile parameters
//! are refused with 400 before any query runs, answers are cached for a wall of screens, and
//! the page, its assets and the OpenAPI document are served with their security headers.

use cityops_avro::Codec;
use cityops_bus::Producer;
use cityops_core::*;
use cityops_e2e::kafka_config;
use cityops_e2e::orders::{incident, produce, produce_transitions, transition, work_order};
use cityops_e2e::platform::Platform;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

const CITYOPS: &str = env!("CARGO_BIN_EXE_cityops-under-test");
const SERVICES: &str = r#"run.services=["ingest", "sink", "cockpit"]"#;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// The sum of a Prometheus counter over its labels, from `/metrics`.
async fn counter(client: &reqwest::Client, telemetry: &str, name: &str) -> f64 {
    let text = client
        .get(format!("{telemetry}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = client.get(url).send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Reads server-sent events until every id of `want` has arrived (or 20 s passed); returns
/// `(event, id, data)` of those seen.
async fn read_events(
    mut response: reqwest::Response,
    want: &BTreeSet<String>,
) -> Vec<(String, String, Value)> {
    let mut buffer = String::new();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < want.len() {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("only {seen:?} of {want:?} arrived on the stream"))
            .expect("stream chunk")
            .expect("the stream stays open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                    .map(str::to_owned)
            };
            if let (Some(event), Some(id), Some(data)) =
                (field("event"), field("id"), field("data"))
            {
                if want.contains(&id) {
                    seen.push((event, id, serde_json::from_str(&data).expect("JSON data")));
                }
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cockpit_answers_from_the_stack_streams_live_and_refuses_hostile_parameters() {
    let kafka = kafka_config().await;
    let platform = Platform::start(
        CITYOPS,
        &kafka.brokers,
        &[SERVICES.to_owned(), "cockpit.cache_ttl_ms=1000".to_owned()],
    )
    .await;
    let client = reqwest::Client::new();
    let base = platform.cockpit_url.clone();
    cityops_testkit::eventually("the cockpit", Duration::from_secs(60), || async {
        (get(&client, &format!("{base}/api/v1/meta")).await.0 == 200).then_some(())
    })
    .await;

    // The live stream, open before anything happens.
    let stream = client
        .get(format!("{base}/api/v1/stream"))
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status().as_u16(), 200);
    assert_eq!(
        stream.headers()["content-type"].to_str().ok(),
        Some("text/event-stream")
    );

    // Three reports: a gas leak and a heating failure in 铁西区/沈河区, and one for triage.
    let now = now_ms();
    let mut gas = incident(
        "CK-GAS",
        "gas_leak",
        "emergency",
        Severity::Critical,
        "210106001",
        (41.7962, 123.3589),
        now - 120_000,
    );
    gas.grid_code = Some("210106001003".into());
    let heat = incident(
        "CK-HEAT",
        "heating",
        "utilities",
        Severity::Normal,
        "210103001",
        (41.80, 123.45),
        now - 60_000,
    );
    let mut unsure = incident(
        "CK-UNSURE",
        "unclassified",
        "other",
        Severity::Normal,
        "210106002",
        (41.79, 123.34),
        now - 30_000,
    );
    unsure.event.text = Some("小区门口那个东西又坏了，好几天了".into());
    let codec = Codec::single_object();
    let producer = Producer::new(&kafka, "test").expect("producer");
    let topics = platform.topics.clone();
    produce(
        &producer,
        &codec,
        &topics.incidents,
        &[gas.clone(), heat.clone(), unsure.clone()],
    )
    .await;

    // Their orders: the gas company has not accepted in time (yellow on the accept clock);
    // the heating company accepted late (a red accept warning on a stopped clock, which no
    // longer counts) and is now past its resolve deadline (red); the third waits for triage.
    let mut gas_order = work_order(
        "WO-210106001-00000000c0a1",
        &gas,
        "gas",
        OrderStatus::Dispatched,
        3,
    );
    gas_order.accept_warning = Some(WarningLevel::Yellow);
    let mut gas_warning = transition(&gas_order, 3, TransitionKind::Escalated);
    gas_warning.warning = Some(WarningLevel::Yellow);
    gas_warning.deadline = Some(DeadlineKind::Accept);
    let mut heat_order = work_order(
        "WO-210103001-00000000c0a2",
        &heat,
        "heating",
        OrderStatus::Accepted,
        4,
    );
    heat_order.accept_warning = Some(WarningLevel::Red);
    heat_order.resolve_warning = Some(WarningLevel::Red);
    let mut heat_warning = transition(&heat_order, 4, TransitionKind::Escalated);
    heat_warning.warning = Some(WarningLevel::Red);
    heat_warning.deadline = Some(DeadlineKind::Resolve);
    let triage_order = work_order(
        "WO-210106002-00000000c0a3",
        &unsure,
        "command_center",
        OrderStatus::Dispatched,
        2,
    );
    produce_transitions(
        &producer,
        &codec,
        &topics.workorder_events,
        &[
            gas_warning.clone(),
            heat_warning.clone(),
            transition(&triage_order, 2, TransitionKind::Dispatched),
        ],
    )
    .await;

    // The stream pushes the three incidents and the two warnings.
    let want: BTreeSet<String> = [
        gas.incident_id.clone(),
        heat.incident_id.clone(),
        unsure.incident_id.clone(),
        gas_warning.transition_id.clone(),
        heat_warning.transition_id.clone(),
    ]
    .into();
    let events = read_events(stream, &want).await;
    let escalation = events
        .iter()
        .find(|(_, id, _)| *id == heat_warning.transition_id)
        .expect("the red warning");
    assert_eq!(escalation.0, "escalation");
    assert_eq!(escalation.2["warning"], "red");
    assert_eq!(escalation.2["clock"], "resolve");
    assert_eq!(escalation.2["owner"], "heating");
    let gas_event = events
        .iter()
        .find(|(_, id, _)| *id == gas.incident_id)
        .expect("the gas incident");
    assert_eq!(gas_event.0, "incident");
    assert_eq!(gas_event.2["category_name"], "燃气泄漏");
    assert_eq!(gas_event.2["severity"], "critical");

    // Every endpoint, once the sink has written it all.
    let incidents = cityops_testkit::eventually(
        "the incidents in ClickHouse",
        Duration::from_secs(60),
        || async {
            let (s, v) = get(&client, &format!("{base}/api/v1/incidents")).await;
            (s == 200 && v["incidents"].as_array()?.len() == 3).then_some(v)
        },
    )
    .await;
    let ids: Vec<&str> = incidents["incidents"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|i| i["incident_id"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec![
            unsure.incident_id.as_str(),
            heat.incident_id.as_str(),
            gas.incident_id.as_str()
        ],
        "newest first"
    );
    let (_, v) = get(
        &client,
        &format!("{base}/api/v1/incidents?district=210103&limit=5"),
    )
    .await;
    assert_eq!(v["incidents"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["incidents"][0]["category_name"], "供暖不热/停暖");

    let (s, v) = get(&client, &format!("{base}/api/v1/scenarios")).await;
    assert_eq!(s, 200);
    let today = |id: &str| {
        v["scenarios"]
            .as_array()
            .and_then(|l| l.iter().find(|r| r["scenario"] == id))
            .map(|r| (r["today"].as_u64(), r["last_hour"].as_u64()))
    };
    assert_eq!(today("emergency"), Some((Some(1), Some(1))));
    assert_eq!(today("utilities"), Some((Some(1), Some(1))));
    assert_eq!(
        today("parking"),
        Some((Some(0), Some(0))),
        "every scenario, zeros included"
    );

    let summary = cityops_testkit::eventually(
        "the orders in ClickHouse",
        Duration::from_secs(60),
        || async {
            let (s, v) = get(&client, &format!("{base}/api/v1/summary")).await;
            (s == 200 && v["open_orders"] == 3).then_some(v)
        },
    )
    .await;
    assert_eq!(summary["warnings"]["yellow"], 1);
    assert_eq!(summary["warnings"]["red"], 1);
    assert_eq!(summary["today"]["orders"], 3);
    let (_, v) = get(&client, &format!("{base}/api/v1/summary?district=210103")).await;
    assert_eq!(
        (v["open_orders"].as_u64(), v["warnings"]["red"].as_u64()),
        (Some(1), Some(1))
    );

    let (_, v) = get(&client, &format!("{base}/api/v1/orders/overdue")).await;
    let overdue: Vec<(&str, &str, &str)> = v["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| {
            (
                o["order_id"].as_str().unwrap_or_default(),
                o["warning"].as_str().unwrap_or_default(),
                o["clock"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        overdue,
        vec![
            (heat_order.order_id.as_str(), "red", "resolve"),
            (gas_order.order_id.as_str(), "yellow", "accept")
        ],
        "red first; a stopped clock's warning does not count"
    );
    assert_eq!(v["orders"][1]["owner_name"], "市燃气集团");

    let (_, v) = get(&client, &format!("{base}/api/v1/orders/triage")).await;
    assert_eq!(v["orders"][0]["order_id"], triage_order.order_id.as_str());
    assert_eq!(
        v["orders"][0]["summary"],
        "小区门口那个东西又坏了，好几天了"
    );

    let (_, v) = get(
        &client,
        &format!("{base}/api/v1/streets?scenario=emergency"),
    )
    .await;
    assert_eq!(
        v["streets"],
        serde_json::json!([{"street_code": "210106001", "open_incidents": 1}])
    );
    // A street's grids: their boundaries, and its open incidents by grid.
    let (s, v) = get(&client, &format!("{base}/api/v1/grids?street=210106001")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        serde_json::json!({"street_code": "210106001",
                           "grids": [{"grid_code": "210106001003", "open_incidents": 1}]})
    );
    let (_, v) = get(
        &client,
        &format!("{base}/api/v1/grids?street=210106001&scenario=utilities"),
    )
    .await;
    assert_eq!(v["grids"], serde_json::json!([]));
    let (s, v) = get(
        &client,
        &format!("{base}/api/v1/geo/grids?street=210106001"),
    )
    .await;
    assert_eq!(s, 200);
    let grids = v["features"].as_array().expect("features");
    assert!(grids.len() > 5, "兴华街道 has its grids: {}", grids.len());
    assert!(grids
        .iter()
        .all(|g| g["properties"]["parent_code"] == "210106001"));
    assert!(grids
        .iter()
        .any(|g| g["properties"]["code"] == "210106001003"));

    // Hostile parameters: 400, and not one query run for any of them.
    let queries_before = counter(
        &client,
        &platform.telemetry_url,
        "cityops_cockpit_queries_total",
    )
    .await;
    for path in [
        "/api/v1/summary?district=210106%27%20OR%201%3D1--",
        "/api/v1/summary?district=210199",
        "/api/v1/summary?district=%E9%93%81%E8%A5%BF%E5%8C%BA",
        "/api/v1/summary?scenario=emergency%27)%20UNION%20SELECT%201--",
        "/api/v1/summary?distict=210106",
        "/api/v1/summary?district=",
        "/api/v1/summary?district=210106&district=210103",
        "/api/v1/scenarios?scenario=emergency",
        "/api/v1/streets?scenario=fire",
        "/api/v1/incidents?limit=100000000",
        "/api/v1/incidents?limit=-1",
        "/api/v1/incidents?hours=1000000",
        "/api/v1/incidents?hours=0",
        "/api/v1/orders/overdue?limit=1;DROP%20TABLE%20workorders",
        "/api/v1/orders/triage?district=210106",
        "/api/v1/meta?x=1",
        "/api/v1/geo/streets?district=210106",
        "/api/v1/grids",
        "/api/v1/grids?street=210106",
        "/api/v1/grids?street=210106999",
        "/api/v1/grids?district=210106&street=210106001",
        "/api/v1/geo/grids",
        "/api/v1/geo/grids?street=2101060011",
        "/api/v1/stream?district=210106",
    ] {
        let (s, v) = get(&client, &format!("{base}{path}")).await;
        assert_eq!(s, 400, "{path}: {v}");
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{path}: {v}"
        );
    }
    assert_eq!(
        counter(
            &client,
            &platform.telemetry_url,
            "cityops_cockpit_queries_total"
        )
        .await,
        queries_before,
        "a refused request runs no query"
    );

    // A wall of screens asking the same: one round of queries per cache period.
    tokio::time::sleep(Duration::from_millis(1100)).await; // let the earlier answers expire
    let before = counter(
        &client,
        &platform.telemetry_url,
        "cityops_cockpit_queries_total",
    )
    .await;
    for _ in 0..5 {
        let r = client
            .get(format!("{base}/api/v1/streets"))
            .send()
            .await
            .expect("request");
        assert_eq!(
            r.headers()["cache-control"].to_str().ok(),
            Some("public, max-age=1")
        );
    }
    let after = counter(
        &client,
        &platform.telemetry_url,
        "cityops_cockpit_queries_total",
    )
    .await;
    assert_eq!(after - before, 1.0, "five screens, one query");

    // The page and its assets, from cityops itself, with their security headers.
    for (path, kind) in [
        ("/", "text/html"),
        ("/assets/app.js", "text/javascript"),
        ("/assets/style.css", "text/css"),
        ("/openapi.json", "application/json"),
        ("/api/v1/geo/districts", "application/geo+json"),
    ] {
        let r = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let h = r.headers();
        assert!(
            h["content-type"]
                .to_str()
                .is_ok_and(|t| t.starts_with(kind)),
            "{path}: {:?}",
            h["content-type"]
        );
        assert!(
            h["content-security-policy"]
                .to_str()
                .is_ok_and(|c| c.contains("default-src 'none'")),
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    let (_, openapi) = get(&client, &format!("{base}/openapi.json")).await;
    for path in [
        "/api/v1/meta",
        "/api/v1/summary",
        "/api/v1/scenarios",
        "/api/v1/streets",
        "/api/v1/incidents",
        "/api/v1/orders/overdue",
        "/api/v1/orders/triage",
        "/api/v1/stream",
        "/api/v1/geo/districts",
        "/api/v1/geo/streets",
        "/api/v1/geo/grids",
        "/api/v1/grids",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} in openapi.json");
    }
    let (s, v) = get(&client, &format!("{base}/api/v1/nope")).await;
    assert_eq!(s, 404, "{v}");
    let r = client
        .post(format!("{base}/api/v1/summary"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 405);
    platform.stop().await;
}

/// The page in headless Chromium (Debian's `chromium`, installed by `make setup`), driven over
/// the DevTools protocol by `tests/browser/cockpit_check.py`: it loads with no console error
/// and no request leaving 127.0.0.1, and an incident and an escalation produced after it
/// loaded show in the feed and the counts within 5 s. Then a link to one street shows that
/// street's grids, the incident's grid shaded. The screenshots are written to
/// `target/cockpit/wall.png` and `street.png` for a person to look at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wall_page_shows_new_incidents_and_escalations_within_five_seconds() {
    let chromium = std::path::Path::new("/usr/bin/chromium");
    assert!(
        chromium.exists(),
        "Chromium is missing: run `make setup` (it installs Debian's chromium and fonts-noto-cjk)"
    );
    let kafka = kafka_config().await;
    let platform = Platform::start(CITYOPS, &kafka.brokers, &[SERVICES.to_owned()]).await;
    let client = reqwest::Client::new();
    let base = platform.cockpit_url.clone();
    cityops_testkit::eventually("the cockpit", Duration::from_secs(60), || async {
        (get(&client, &format!("{base}/api/v1/meta")).await.0 == 200).then_some(())
    })
    .await;

    let now = now_ms();
    let mut leak = incident(
        "WALL-GAS",
        "gas_leak",
        "emergency",
        Severity::Critical,
        "210106001",
        (41.7962, 123.3589),
        now - 5_000,
    );
    leak.grid_code = Some("210106001003".into());
    let mut order = work_order(
        "WO-210106001-00000000ba11",
        &leak,
        "gas",
        OrderStatus::Dispatched,
        3,
    );
    order.accept_warning = Some(WarningLevel::Yellow);
    let mut warning = transition(&order, 3, TransitionKind::Escalated);
    warning.warning = Some(WarningLevel::Yellow);
    warning.deadline = Some(DeadlineKind::Accept);

    let out = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/cockpit"));
    std::fs::create_dir_all(&out).expect("target/cockpit");
    let scratch = std::env::temp_dir().join(cityops_testkit::unique_name("wall"));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let (ready, go) = (scratch.join("ready"), scratch.join("go"));
    let screenshot = out.join("wall.png");
    let mut args = vec![
        "--url".to_owned(),
        format!("{base}/?district=210106"),
        "--timeout".to_owned(),
        "5".to_owned(),
        "--expect-count".to_owned(),
        "emergency=1".to_owned(),
    ];
    for (flag, path) in [
        ("--screenshot", &screenshot),
        ("--ready-file", &ready),
        ("--go-file", &go),
    ] {
        args.extend([flag.to_owned(), path.display().to_string()]);
    }
    for id in [&leak.incident_id, &warning.transition_id] {
        args.extend(["--expect-feed".to_owned(), id.clone()]);
    }
    let checker = browser_check(&args);
    cityops_testkit::eventually(
        "the page ready in Chromium",
        Duration::from_secs(60),
        || {
            let ready = ready.clone();
            async move { ready.exists().then_some(()) }
        },
    )
    .await;

    let codec = Codec::single_object();
    let producer = Producer::new(&kafka, "test").expect("producer");
    produce(
        &producer,
        &codec,
        &platform.topics.incidents,
        std::slice::from_ref(&leak),
    )
    .await;
    produce_transitions(
        &producer,
        &codec,
        &platform.topics.workorder_events,
        std::slice::from_ref(&warning),
    )
    .await;
    std::fs::write(&go, b"go").expect("go file");

    let report = browser_report(checker).await;
    for id in [&leak.incident_id, &warning.transition_id] {
        let ms = report["feed_seen_ms"][id.as_str()].as_f64();
        assert!(
            ms.is_some_and(|ms| ms <= 5_000.0),
            "{id} not in the feed within 5 s: {report:#}"
        );
    }
    let counted = report["counts_seen_ms"]["emergency"].as_f64();
    assert!(
        counted.is_some_and(|ms| ms <= 5_000.0),
        "the emergency count did not show the incident within 5 s: {report:#}"
    );
    assert!(screenshot.exists(), "{report:#}");
    eprintln!("screenshot of the wall: {}", screenshot.display());
    let _ = std::fs::remove_dir_all(&scratch);

    // A link to one street (its district follows): the street's grids, the leak's shaded.
    cityops_testkit::eventually(
        "the leak's grid counted",
        Duration::from_secs(60),
        || async {
            let (_, v) = get(&client, &format!("{base}/api/v1/grids?street=210106001")).await;
            (v["grids"][0]["grid_code"] == "210106001003").then_some(())
        },
    )
    .await;
    let street_shot = out.join("street.png");
    let report = browser_report(browser_check(&[
        "--url".to_owned(),
        format!("{base}/?street=210106001"),
        "--timeout".to_owned(),
        "20".to_owned(),
        "--expect-grid".to_owned(),
        "210106001003".to_owned(),
        "--screenshot".to_owned(),
        street_shot.display().to_string(),
    ]))
    .await;
    assert!(
        report["grids_seen_ms"]["210106001003"].is_number(),
        "the leak's grid is not shaded: {report:#}"
    );
    assert!(report["map"]["grids"].as_u64() > Some(5), "{report:#}");
    assert_eq!(
        report["map"]["shaded_grids"],
        serde_json::json!(["210106001003"])
    );
    assert_eq!(report["map"]["title"], "铁西区 兴华街道态势", "{report:#}");
    assert!(
        report["href"]
            .as_str()
            .is_some_and(|h| h.contains("district=210106") && h.contains("street=210106001")),
        "{report:#}"
    );
    eprintln!("screenshot of a street: {}", street_shot.display());
    platform.stop().await;
}

/// Starts `tests/browser/cockpit_check.py` in Debian's Chromium, at 1920×1080, with `args`.
fn browser_check(args: &[String]) -> tokio::process::Child {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/cockpit_check.py");
    tokio::process::Command::new("python3")
        .arg(script)
        .args(["--chromium", "/usr/bin/chromium", "--window", "1920x1080"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs the browser checker")
}

/// The checker's report, once it has checked that the page logged no console error and asked
/// nothing of any host but the cockpit.
async fn browser_report(checker: tokio::process::Child) -> Value {
    let output = tokio::time::timeout(Duration::from_secs(90), checker.wait_with_output())
        .await
        .expect("the checker finishes")
        .expect("checker output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser check could not run: {stderr}"
    );
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("the checker's report is not JSON ({e}): {stderr}"));
    assert_eq!(
        report["console_errors"],
        serde_json::json!([]),
        "{report:#}"
    );
    assert_eq!(
        report["external_requests"],
        serde_json::json!([]),
        "{report:#}"
    );
    report
}
