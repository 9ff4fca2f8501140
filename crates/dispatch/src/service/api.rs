//! The dispatch HTTP API for departments and the command centre (docs/departments.md).
//!
//! - `GET /v1/departments/{dept}/orders`: the orders a department owns or works on, from
//!   ClickHouse (`workorders`, as the sink wrote it; a second or two behind the topic).
//! - `GET /v1/orders`: every department's orders, for the command centre only (its queue of
//!   returned orders is `?status=returned`).
//! - `GET /v1/orders/{id}`: one order and its whole history (rejected attempts included).
//! - `POST /v1/orders/{id}/{action}`: an [`OrderCommand`] of the caller. It goes to the
//!   commands topic, keyed by the order's street key, so the one dispatch instance that owns
//!   the order decides it, in order with everything else on that street; this handler then
//!   waits for the outcome on the outcomes topic and answers with it: 200 and the order after
//!   it, or the refusal's status (403, 404, 409, 422) and reason. A refusal of an existing
//!   order is recorded on it like every other attempt.
//!
//! Callers authenticate with a bearer token (configured as its SHA-256). A missing or unknown
//! token gets 401 and nothing is sent anywhere.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use cityops_avro::Codec;
use cityops_bus::{replay::Tail, KafkaConfig, OutRecord, Producer};
use cityops_core::{CommandAction, CommandChannel, CommandOutcome, DepartmentId, OrderCommand};
use cityops_store::orders::{self, StatusFilter};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

use crate::auth::{AuthError, Authenticator};
use crate::command::Actor;
use crate::ids::street_key_of;

/// Most orders one list answers with.
pub const MAX_LIST: usize = 1000;

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<CommandOutcome>>>>;

/// What the handlers share.
#[derive(Clone)]
pub struct Api {
    kafka: Arc<KafkaConfig>,
    producer: Producer,
    codec: Codec,
    auth: Arc<Authenticator>,
    clickhouse: clickhouse::Client,
    command_center: DepartmentId,
    waiters: Waiters,
    answer_timeout: Duration,
}

/// An error answer: `{"error": "..."}` with a status.
struct Problem(StatusCode, String);

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl Api {
    /// Starts following the outcomes topic (from its current end), so every command sent from
    /// now on is answered. Retries until the broker answers.
    pub async fn start(
        kafka: &KafkaConfig,
        config: &super::DispatchConfig,
        producer: Producer,
        codec: Codec,
        clickhouse: clickhouse::Client,
        command_center: DepartmentId,
        shutdown: cityops_telemetry::Shutdown,
    ) -> Result<Self, AuthError> {
        let auth = Authenticator::new(&config.tokens)?;
        let tail = loop {
            match Tail::follow(kafka, &kafka.topics.outcomes, Duration::from_secs(10)).await {
                Ok(t) => break t,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot follow the outcomes topic yet; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        let api = Self {
            kafka: Arc::new(kafka.clone()),
            producer,
            codec,
            auth: Arc::new(auth),
            clickhouse,
            command_center,
            waiters: Arc::new(Mutex::new(HashMap::new())),
            answer_timeout: Duration::from_millis(config.answer_timeout_ms),
        };
        tokio::spawn(api.clone().deliver_outcomes(tail, shutdown));
        Ok(api)
    }

    pub fn router(self) -> Router {
        Router::new()
            .route("/v1/departments/{dept}/orders", get(list_orders))
            .route("/v1/orders", get(list_city_orders))
            .route("/v1/orders/{order_id}", get(get_order))
            .route("/v1/orders/{order_id}/{action}", post(post_command))
            .with_state(self)
    }

    async fn deliver_outcomes(self, tail: Tail, shutdown: cityops_telemetry::Shutdown) {
        loop {
            let record = tokio::select! {
                () = shutdown.wait() => return,
                r = tail.recv() => r,
            };
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "reading outcomes failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            let outcome: CommandOutcome = match self
                .codec
                .decode_waiting(record.payload.as_deref().unwrap_or_default())
                .await
            {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(offset = record.offset, error = %e, "an undecodable outcome is skipped");
                    continue;
                }
            };
            let waiter = self.lock().remove(&outcome.command_id);
            if let Some(tx) = waiter {
                let _ = tx.send(outcome);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<CommandOutcome>>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn authenticate(&self, headers: &HeaderMap, route: &'static str) -> Result<Actor, Problem> {
        let header = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        self.auth.authenticate(header).map_err(|e| {
            tracing::warn!(route, error = %e, "request refused: not authenticated");
            count(route, 401);
            Problem(StatusCode::UNAUTHORIZED, e.to_string())
        })
    }

    /// Whether `actor` may read the orders of `department`: its own, or any for the command
    /// centre.
    fn may_read(&self, actor: &Actor, department: &str) -> bool {
        match actor {
            Actor::CommandCenter => true,
            Actor::Department(d) => d.as_str() == department,
            Actor::Dispatch => false,
        }
    }
}

fn count(route: &'static str, status: u16) {
    metrics::counter!("cityops_dispatch_api_requests_total", "route" => route, "status" => status.to_string())
        .increment(1);
}

fn forbidden(route: &'static str, actor: &str, what: &str) -> Problem {
    tracing::warn!(route, actor, what, "request refused: not the caller's");
    count(route, 403);
    Problem(
        StatusCode::FORBIDDEN,
        format!("{actor} may not read {what}: a department sees its own orders only"),
    )
}

fn unavailable(route: &'static str, e: impl std::fmt::Display) -> Problem {
    tracing::warn!(route, error = %e, "order store unavailable");
    count(route, 503);
    Problem(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the order store is unavailable ({e}); retry shortly"),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    limit: Option<usize>,
}

const STATUSES: [&str; 8] = [
    "created",
    "dispatched",
    "accepted",
    "in_progress",
    "resolved",
    "closed",
    "returned",
    "reopened",
];

/// The status filter and limit of a list request, or the 400 that says what is wrong.
fn list_params(
    route: &'static str,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<(StatusFilter, usize), Problem> {
    let bad = |message: String| {
        count(route, 400);
        Problem(StatusCode::BAD_REQUEST, message)
    };
    let Query(query) = query.map_err(|e| {
        bad(format!(
            "{e}: the parameters are status (open, all or a status) and limit (1–{MAX_LIST})"
        ))
    })?;
    let status = match query.status.as_deref() {
        None | Some("open") => StatusFilter::Open,
        Some("all") => StatusFilter::All,
        Some(s) if STATUSES.contains(&s) => StatusFilter::Only(s.to_owned()),
        Some(s) => {
            return Err(bad(format!(
                "unknown status {s:?}: use open, all or one of {}",
                STATUSES.join(", ")
            )))
        }
    };
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(bad(format!("limit must be 1–{MAX_LIST}")));
    }
    Ok((status, limit))
}

async fn list_orders(
    State(api): State<Api>,
    Path(dept): Path<String>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    const ROUTE: &str = "list_orders";
    let actor = api.authenticate(&headers, ROUTE)?;
    let (status, limit) = list_params(ROUTE, query)?;
    if !api.may_read(&actor, &dept) {
        return Err(forbidden(
            ROUTE,
            actor.id(&api.command_center),
            &format!("the orders of {dept}"),
        ));
    }
    let list = orders::department_orders(&api.clickhouse, &dept, &status, limit)
        .await
        .map_err(|e| unavailable(ROUTE, e))?;
    count(ROUTE, 200);
    Ok(Json(json!({ "department": dept, "orders": list })).into_response())
}

/// Every department's orders: the command centre's view (e.g. its queue of returned orders,
/// `?status=returned`).
async fn list_city_orders(
    State(api): State<Api>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    const ROUTE: &str = "list_city_orders";
    let actor = api.authenticate(&headers, ROUTE)?;
    let (status, limit) = list_params(ROUTE, query)?;
    if !matches!(actor, Actor::CommandCenter) {
        let id = actor.id(&api.command_center);
        return Err(forbidden(
            ROUTE,
            id,
            &format!("every department's orders (yours: /v1/departments/{id}/orders)"),
        ));
    }
    let list = orders::city_orders(&api.clickhouse, &status, limit)
        .await
        .map_err(|e| unavailable(ROUTE, e))?;
    count(ROUTE, 200);
    Ok(Json(json!({ "orders": list })).into_response())
}

async fn get_order(
    State(api): State<Api>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    const ROUTE: &str = "get_order";
    let actor = api.authenticate(&headers, ROUTE)?;
    let order = orders::order(&api.clickhouse, &order_id)
        .await
        .map_err(|e| unavailable(ROUTE, e))?;
    let Some(order) = order else {
        count(ROUTE, 404);
        return Err(Problem(
            StatusCode::NOT_FOUND,
            format!("no work order {order_id} (a new order shows here within seconds)"),
        ));
    };
    let involved = api.may_read(&actor, order.owner.as_str())
        || order
            .co_departments
            .iter()
            .any(|d| api.may_read(&actor, d.as_str()));
    if !involved {
        return Err(forbidden(ROUTE, actor.id(&api.command_center), &order_id));
    }
    let history = orders::order_history(&api.clickhouse, &order_id)
        .await
        .map_err(|e| unavailable(ROUTE, e))?;
    count(ROUTE, 200);
    Ok(Json(json!({ "order": order, "history": history })).into_response())
}

/// The body of a command: every field optional; which ones a command needs is in
/// docs/departments.md.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandBody {
    note: Option<String>,
    reason: Option<String>,
    /// RFC 3339, e.g. `2026-11-24T18:00:00+08:00`.
    deadline: Option<String>,
    deadline_ms: Option<i64>,
    owner: Option<String>,
    category: Option<String>,
    score: Option<i32>,
}

/// The action named in a command's path.
pub fn action_of(path: &str) -> Option<CommandAction> {
    Some(match path {
        "accept" => CommandAction::Accept,
        "progress" => CommandAction::Progress,
        "resolve" => CommandAction::Resolve,
        "return" => CommandAction::Return,
        "extension" => CommandAction::RequestExtension,
        "redispatch" => CommandAction::Redispatch,
        "grant-extension" => CommandAction::GrantExtension,
        "close" => CommandAction::Close,
        "reopen" => CommandAction::Reopen,
        "satisfaction" => CommandAction::RecordSatisfaction,
        _ => return None,
    })
}

const ACTIONS: &str = "accept, progress, resolve, return, extension (departments); \
                       redispatch, grant-extension, close, reopen, satisfaction (command centre)";

async fn post_command(
    State(api): State<Api>,
    Path((order_id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    const ROUTE: &str = "command";
    let actor = api.authenticate(&headers, ROUTE)?;
    let bad = |message: String| {
        count(ROUTE, 400);
        Problem(StatusCode::BAD_REQUEST, message)
    };
    let Some(action) = action_of(&action) else {
        return Err(bad(format!("unknown action {action:?}: use {ACTIONS}")));
    };
    let Some(street_key) = street_key_of(&order_id) else {
        return Err(bad(format!(
            "{order_id:?} is not a work order id (WO-<street key>-<12 hex digits>)"
        )));
    };
    let body: CommandBody = if body.iter().all(u8::is_ascii_whitespace) {
        CommandBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            bad(format!(
                "the body is not a command: {e}; send JSON with note, reason, deadline, owner, category or score"
            ))
        })?
    };
    let deadline_ms = match (&body.deadline, body.deadline_ms) {
        (Some(text), _) => Some(
            chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|e| {
                    bad(format!(
                        "deadline {text:?} is not an RFC 3339 time ({e}): write e.g. 2026-11-24T18:00:00+08:00"
                    ))
                })?
                .timestamp_millis(),
        ),
        (None, ms) => ms,
    };
    let actor_id = actor.id(&api.command_center).to_owned();
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let command_id = match key {
        Some(k) if k.len() <= 200 => format!("{actor_id}:{k}"),
        Some(_) => return Err(bad("Idempotency-Key is longer than 200 characters".into())),
        None => format!("{actor_id}:{}", uuid::Uuid::new_v4()),
    };
    let command = OrderCommand {
        command_id: command_id.clone(),
        order_id: order_id.clone(),
        actor: actor_id,
        channel: CommandChannel::Http,
        action,
        note: body.note,
        reason: body.reason,
        deadline_ms,
        owner: body.owner,
        category: body.category,
        score: body.score,
        refusal: None,
        at_ms: chrono::Utc::now().timestamp_millis(),
    }
    .with_numbers_masked();
    let topic = api.kafka.topics.commands.as_str();
    let bytes = api.codec.encode(topic, &command).await.map_err(|e| {
        count(ROUTE, 500);
        Problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the command: {e}"),
        )
    })?;
    let (tx, rx) = oneshot::channel();
    api.lock().insert(command_id.clone(), tx);
    if let Err(e) = api
        .producer
        .send(&OutRecord::new(topic, street_key, bytes))
        .await
    {
        api.lock().remove(&command_id);
        tracing::warn!(error = %e, "command not delivered to the broker");
        count(ROUTE, 503);
        return Err(Problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the command could not be queued ({e}); nothing changed, retry shortly"),
        ));
    }
    let outcome = tokio::time::timeout(api.answer_timeout, rx).await;
    let Ok(Ok(outcome)) = outcome else {
        api.lock().remove(&command_id);
        count(ROUTE, 202);
        let answer = json!({
            "command_id": command_id,
            "status": "pending",
            "detail": "queued but not decided yet (dispatch may be rebalancing); it will be decided \
                       in order. Check the order with GET /v1/orders/{id}, or resend with the same \
                       Idempotency-Key: a command is never applied twice",
        });
        return Ok((StatusCode::ACCEPTED, Json(answer)).into_response());
    };
    let status = u16::try_from(outcome.status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    count(ROUTE, status.as_u16());
    let mut answer = json!({
        "command_id": outcome.command_id,
        "applied": outcome.applied,
        "transition_id": outcome.transition_id,
        "order": outcome.order,
    });
    if let (Some(reason), Value::Object(map)) = (outcome.reason, &mut answer) {
        map.insert("error".into(), Value::String(reason));
    }
    Ok((status, Json(answer)).into_response())
}
