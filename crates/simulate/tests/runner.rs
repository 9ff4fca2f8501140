//! The runner against an in-process ingest and dispatch that behave like the real ones on the
//! wire (same routes, answers, tokens): pacing, counting, retrying a 503, and the bots' whole
//! loop — return, re-dispatch, accept, progress, resolve, close, callback. The real stack is
//! exercised by the end-to-end test of the workspace.

#![allow(clippy::unwrap_used)]

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cityops_core::Source;
use cityops_ingest::pii::ReporterKey;
use cityops_ingest::raw::{reading_to_event, ticket_to_event, IntakeRules};
use cityops_simulate::{owner_departments, run, BotsConfig, SimulateConfig, SimulateError};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod common;

use common::world;

#[derive(Debug, Clone)]
struct Order {
    id: String,
    owner: String,
    category: String,
    status: String,
    version: i64,
    incident: String,
    extension_requested: bool,
    satisfaction: Option<i64>,
    reopened: usize,
}

impl Order {
    fn json(&self) -> Value {
        json!({"order_id": self.id, "owner": self.owner, "co_departments": [], "category": self.category,
               "severity": "normal", "status": self.status, "accept_deadline_ms": 4_000_000_000_000_i64,
               "resolve_deadline_ms": 4_000_000_000_000_i64, "incident_ids": [self.incident],
               "extension_requested": self.extension_requested, "satisfaction": self.satisfaction,
               "version": self.version})
    }
}

#[derive(Default)]
struct Stack {
    tickets: BTreeSet<String>,
    readings: BTreeSet<String>,
    posts: usize,
    orders: BTreeMap<String, Order>,
    /// token → department (`command_center` for the command centre).
    tokens: HashMap<String, String>,
    actions: BTreeMap<String, usize>,
}

type Shared = Arc<Mutex<Stack>>;

async fn intake(State(s): State<Shared>, Path(kind): Path<String>, body: Bytes) -> Response {
    let items: Vec<Value> = serde_json::from_slice(&body).expect("a JSON array");
    let mut st = s.lock().unwrap();
    st.posts += 1;
    if st.posts == 1 {
        // The broker is down for the first request: nothing is accepted.
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "1")],
            Json(json!({"errors": [{"field": "broker", "reason": "unreachable"}]})),
        )
            .into_response();
    }
    let w = world();
    let now = cityops_simulate_now();
    let mut results = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let event = if kind == "tickets" {
            ticket_to_event(
                item,
                Source::Hotline,
                &IntakeRules::default(),
                &ReporterKey::new("k"),
                now,
            )
        } else {
            reading_to_event(item, &IntakeRules::default(), &w.catalogue, now)
        };
        match event {
            Ok(e) => {
                if kind == "tickets" {
                    st.tickets.insert(e.source_id.clone());
                    // Every ticket opens an order of the city management bureau: most are
                    // misrouted, so the bots return them and the command centre re-dispatches.
                    let id = format!("WO-210106001-{:012x}", st.orders.len());
                    st.orders.insert(
                        id.clone(),
                        Order {
                            id,
                            owner: "city_mgmt".into(),
                            category: "garbage".into(),
                            status: "dispatched".into(),
                            version: 2,
                            incident: e.event_id.clone(),
                            extension_requested: false,
                            satisfaction: None,
                            reopened: 0,
                        },
                    );
                } else {
                    st.readings.insert(e.source_id.clone());
                }
                results.push(json!({"status": "accepted", "index": index, "event_id": e.event_id}));
            }
            Err(r) => results.push(json!({"status": "rejected", "index": index,
                "errors": [{"field": "x", "reason": r.to_string()}]})),
        }
    }
    (
        StatusCode::ACCEPTED,
        Json(
            json!({"accepted": results.len(), "rejected": 0, "unavailable": 0, "results": results}),
        ),
    )
        .into_response()
}

fn cityops_simulate_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn caller(st: &Stack, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    st.tokens.get(token).cloned()
}

async fn list(State(s): State<Shared>, Path(dept): Path<String>, headers: HeaderMap) -> Response {
    let st = s.lock().unwrap();
    let Some(who) = caller(&st, &headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "unknown token"})),
        )
            .into_response();
    };
    if who != dept && who != "command_center" {
        return (StatusCode::FORBIDDEN, Json(json!({"error": "not yours"}))).into_response();
    }
    let orders: Vec<Value> = st
        .orders
        .values()
        .filter(|o| o.owner == dept && o.status != "closed")
        .map(Order::json)
        .collect();
    Json(json!({"department": dept, "orders": orders})).into_response()
}

async fn command(
    State(s): State<Shared>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = s.lock().unwrap();
    let Some(who) = caller(&st, &headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "unknown token"})),
        )
            .into_response();
    };
    assert!(headers.contains_key("idempotency-key"));
    let body: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let Some(o) = st.orders.get_mut(&id) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such order"})),
        )
            .into_response();
    };
    let cc = who == "command_center";
    let owner = who == o.owner;
    let s = o.status.as_str();
    let next = match action.as_str() {
        "accept" if owner && s == "dispatched" => Some("accepted"),
        "progress" if owner && ["accepted", "in_progress", "reopened"].contains(&s) => {
            Some("in_progress")
        }
        "resolve" if owner && ["accepted", "in_progress", "reopened"].contains(&s) => {
            Some("resolved")
        }
        "return"
            if owner && ["dispatched", "accepted"].contains(&s) && body["reason"].is_string() =>
        {
            Some("returned")
        }
        "extension" if owner => {
            o.extension_requested = true;
            Some(s)
        }
        "grant-extension" if cc && o.extension_requested => {
            o.extension_requested = false;
            Some(s)
        }
        "redispatch" if cc && (s == "returned" || o.owner == "command_center") => {
            o.owner = body["owner"].as_str().unwrap_or_default().to_owned();
            if let Some(c) = body["category"].as_str() {
                o.category = c.to_owned();
            }
            Some("dispatched")
        }
        "close" if cc && s == "resolved" => Some("closed"),
        "satisfaction" if cc && ["resolved", "closed"].contains(&s) => {
            o.satisfaction = body["score"].as_i64();
            Some(s)
        }
        "reopen" if cc && ["resolved", "closed"].contains(&s) => {
            o.reopened += 1;
            Some("reopened")
        }
        _ => None,
    };
    let Some(next) = next else {
        return (
            StatusCode::CONFLICT,
            Json(
                json!({"applied": false, "error": format!("cannot {action} an order that is {s}")}),
            ),
        )
            .into_response();
    };
    o.status = next.to_owned();
    o.version += 1;
    let answer = json!({"applied": true, "order": o.json()});
    *st.actions.entry(action).or_insert(0) += 1;
    Json(answer).into_response()
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

async fn stack(bots: &BotsConfig) -> (Shared, String, String) {
    let shared: Shared = Arc::default();
    {
        let mut st = shared.lock().unwrap();
        for (d, t) in &bots.tokens {
            st.tokens.insert(t.expose().to_owned(), d.clone());
        }
        if let Some(t) = &bots.command_center_token {
            st.tokens
                .insert(t.expose().to_owned(), "command_center".into());
        }
    }
    let ingest = Router::new()
        .route("/readyz", get(|| async { "ready" }))
        .route("/v1/hotline/{kind}", post(intake))
        .route("/v1/iot/{kind}", post(intake))
        .with_state(shared.clone());
    let dispatch = Router::new()
        .route("/v1/departments/{dept}/orders", get(list))
        .route("/v1/orders/{id}/{action}", post(command))
        .with_state(shared.clone());
    (shared.clone(), serve(ingest).await, serve(dispatch).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_is_sent_counted_and_worked_by_the_bots() {
    let w = world();
    let mut bots =
        BotsConfig::default().with_demo_tokens(owner_departments(&w).iter().map(String::as_str));
    bots.poll_interval_ms = 200;
    bots.accept_minutes = [1.0, 10.0];
    bots.resolve_minutes = [5.0, 30.0];
    bots.late_probability = 0.0;
    bots.extension_probability = 0.2;
    // Half the callbacks dissatisfied, each reopened: once, never twice.
    bots.satisfaction_weights = [1.0, 0.0, 0.0, 0.0, 1.0];
    bots.reopen_probability = 1.0;
    bots.linger_s = 6.0;
    let (shared, ingest, dispatch) = stack(&bots).await;
    bots.dispatch_url = dispatch;
    let config = SimulateConfig {
        seed: 7,
        speedup: 600.0,
        rate: 40.0,
        duration: "40m".into(), // 4 real seconds
        ingest_url: ingest,
        devices: 400,
        bots,
        report_interval_s: 1.0,
        ..SimulateConfig::default()
    };
    let summary = tokio::time::timeout(
        Duration::from_secs(60),
        run(&config, w, std::future::pending()),
    )
    .await
    .expect("the run ends with its duration")
    .expect("the run succeeds");
    let st = shared.lock().unwrap();

    // Every item generated was sent and accepted, and the ids the summary keeps are exactly
    // what reached "ingest" (after the first request's 503 was retried).
    assert!(!summary.interrupted);
    assert_eq!(summary.sent, summary.tickets + summary.readings);
    assert_eq!(summary.accepted, summary.sent);
    assert_eq!(summary.rejected, 0, "{:?}", summary.rejections);
    assert!(summary.tickets + summary.readings >= 150, "{summary:?}");
    let tickets: BTreeSet<String> = summary.accepted_ticket_ids.iter().cloned().collect();
    let readings: BTreeSet<String> = summary.accepted_reading_ids.iter().cloned().collect();
    assert_eq!(tickets, st.tickets);
    assert_eq!(readings, st.readings);
    assert!(summary
        .accepted_alarm_ids
        .iter()
        .all(|a| readings.contains(a)));
    // 40 simulated minutes, a quarter in: the rainstorm has started.
    assert!(
        summary.episodes.iter().any(|e| e.name == "rainstorm"),
        "{:?}",
        summary.episodes
    );

    // The bots worked the orders through to the callback.
    let b = &summary.bots;
    for action in [
        "return",
        "redispatch",
        "accept",
        "resolve",
        "close",
        "satisfaction",
    ] {
        assert!(
            b.actions.get(action).copied().unwrap_or(0) > 0,
            "no {action}: {b:?}"
        );
    }
    assert_eq!(
        b.actions,
        st.actions
            .iter()
            .map(|(k, v)| (k.clone(), *v as u64))
            .collect()
    );
    assert!(b.orders_closed > 0 && b.orders_closed == b.closed_order_ids.len());
    for id in &b.closed_order_ids {
        let o = &st.orders[id];
        assert!(
            ["closed", "reopened", "resolved", "in_progress"].contains(&o.status.as_str()),
            "{o:?}"
        );
        assert!(o.satisfaction.is_some() || o.status != "closed");
    }
    assert_eq!(b.scores.iter().sum::<u64>(), b.actions["satisfaction"]);
    assert_eq!(b.errors, 0);
    assert!(b.actions.get("reopen").copied().unwrap_or(0) > 0);
    assert!(st.orders.values().all(|o| o.reopened <= 1));
    // A reopened order is handled again and its second callback is not a 1.
    assert!(b.scores[4] + b.scores[2] + b.scores[3] > b.scores[0]);
}

#[tokio::test]
async fn unreachable_services_and_unknown_tokens_say_what_to_do() {
    let config = SimulateConfig {
        ingest_url: "http://127.0.0.1:9".into(),
        duration: "1m".into(),
        startup_wait_s: 0.5,
        ..SimulateConfig::default()
    };
    let e = run(&config, world(), std::future::pending())
        .await
        .unwrap_err();
    assert!(matches!(e, SimulateError::IngestUnreachable { .. }));
    assert!(e.to_string().contains("make run"), "{e}");

    let bots = BotsConfig::default().with_demo_tokens(["gas"]);
    let (_shared, ingest, dispatch) = stack(&BotsConfig::default()).await; // knows no token
    let config = SimulateConfig {
        ingest_url: ingest,
        duration: "1m".into(),
        bots: BotsConfig {
            dispatch_url: dispatch,
            ..bots
        },
        ..SimulateConfig::default()
    };
    let e = run(&config, world(), std::future::pending())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("dispatch.tokens"), "{e}");
}

/// A run of readings and tickets into `ingest` without bots, 20 items a second.
fn without_bots(ingest: String, duration: &str) -> SimulateConfig {
    SimulateConfig {
        ingest_url: ingest,
        duration: duration.into(),
        rate: 20.0,
        devices: 200,
        bots: BotsConfig {
            enabled: false,
            ..BotsConfig::default()
        },
        ..SimulateConfig::default()
    }
}

/// Runs `config`, stopped after `stop_after`.
async fn run_for(config: &SimulateConfig, stop_after: Duration) -> cityops_simulate::Summary {
    run(config, world(), tokio::time::sleep(stop_after))
        .await
        .unwrap()
}

#[tokio::test]
async fn the_shutdown_future_stops_the_run() {
    let (_shared, ingest, _dispatch) = stack(&BotsConfig::default()).await;
    let config = without_bots(ingest, "24h");
    let summary = run_for(&config, Duration::from_millis(1_500)).await;
    assert!(summary.interrupted);
    assert!(summary.real_s < 10.0);
    assert_eq!(summary.accepted + summary.unconfirmed, summary.sent);
}

/// A live run plays a start in the past at its speed-up, then keeps to the wall clock: the
/// simulated clock catches up with now and never passes it.
#[tokio::test]
async fn a_live_run_catches_up_with_the_wall_clock_and_never_passes_it() {
    let (_shared, ingest, _dispatch) = stack(&BotsConfig::default()).await;
    let started_ms = cityops_simulate_now();
    // One simulated minute ago at 60×: caught up after about a second.
    let start = chrono::DateTime::from_timestamp_millis(started_ms - 60_000)
        .unwrap()
        .to_rfc3339();
    let config = SimulateConfig {
        start: Some(start),
        live: true,
        speedup: 60.0,
        ..without_bots(ingest, "1h")
    };
    let summary = run_for(&config, Duration::from_millis(3_000)).await;
    let ended_ms = cityops_simulate_now();
    let reached = chrono::DateTime::parse_from_rfc3339(&summary.simulated_to)
        .unwrap()
        .timestamp_millis();
    // Not live, it would have reached two simulated minutes past now.
    assert!(
        reached <= ended_ms + 1_000,
        "the simulated clock ran ahead: {} at {ended_ms}",
        summary.simulated_to
    );
    assert!(
        reached >= started_ms,
        "it never caught up: {}",
        summary.simulated_to
    );
    assert!(summary.sent > 0 && summary.rejected == 0, "{summary:?}");
}
