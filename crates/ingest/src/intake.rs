//! The intake itself: validated items become events on `city.events.v1`, over HTTP and from
//! the raw topics, through the same validation.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use cityops_avro::Codec;
use cityops_bus::{OutRecord, Outcome, Producer, Record};
use cityops_core::catalogue::Catalogue;
use cityops_core::settings::Secret;
use cityops_core::{CityEvent, Source};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::pii::{redact_ticket, ReporterKey};
use crate::raw::{reading_to_event, ticket_to_event, FieldError, IntakeRules, Rejection};

/// The `[ingest]` section of the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Address of the HTTP intake (and its /livez, /readyz, /metrics).
    pub listen: String,
    /// Largest request body; larger ones are answered 413.
    pub max_body_bytes: usize,
    /// Most items in one request.
    pub max_items: usize,
    /// Secret of the caller-phone hash. Set it per deployment (CITYOPS_INGEST__REPORTER_SECRET)
    /// and keep it: changing it makes repeat callers unlinkable across the change.
    pub reporter_secret: Secret,
    /// Consumer group of the raw-topic intake.
    pub consumer_group: String,
    /// `Retry-After` of a 503 while the broker is unreachable, in seconds.
    pub retry_after_s: u32,
    /// How often the broker's reachability is checked, in milliseconds.
    pub broker_check_interval_ms: u64,
    #[serde(flatten)]
    pub rules: IntakeRules,
}

/// The secret of the default config: fine for a laptop, refused nowhere, warned about at start.
pub const DEVELOPMENT_SECRET: &str = "cityops-development-secret-change-me";

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8081".to_owned(),
            max_body_bytes: 4 * 1024 * 1024,
            max_items: 10_000,
            reporter_secret: Secret::new(DEVELOPMENT_SECRET),
            consumer_group: "cityops-ingest".to_owned(),
            retry_after_s: 5,
            broker_check_interval_ms: 1_000,
            rules: IntakeRules::default(),
        }
    }
}

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Ticket,
    Reading,
}

impl ItemKind {
    fn source_label(self) -> &'static str {
        match self {
            ItemKind::Ticket => "hotline",
            ItemKind::Reading => "iot",
        }
    }
}

/// Shared state of the intake.
pub struct Intake {
    producer: Producer,
    codec: Arc<Codec>,
    events_topic: String,
    rules: IntakeRules,
    key: ReporterKey,
    catalogue: Arc<Catalogue>,
    broker_up: AtomicBool,
    config: IngestConfig,
}

/// The answer for one item of a request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ItemResult {
    /// On `city.events.v1`, acknowledged by the broker.
    Accepted { index: usize, event_id: String },
    /// Bad input: nothing of it was kept.
    Rejected {
        index: usize,
        errors: Vec<FieldErrorBody>,
    },
    /// Valid, but the broker did not acknowledge it: send it again later (the same item is the
    /// same event, so a retry never duplicates).
    Unavailable { index: usize, reason: String },
}

/// A field error in a response body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FieldErrorBody {
    pub field: String,
    pub reason: String,
}

impl From<FieldError> for FieldErrorBody {
    fn from(e: FieldError) -> Self {
        Self {
            field: e.field,
            reason: e.reason,
        }
    }
}

/// The body of an intake answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IntakeResponse {
    pub accepted: usize,
    pub rejected: usize,
    pub unavailable: usize,
    pub results: Vec<ItemResult>,
}

impl Intake {
    pub fn new(
        producer: Producer,
        codec: Arc<Codec>,
        events_topic: String,
        catalogue: Arc<Catalogue>,
        config: IngestConfig,
    ) -> Arc<Self> {
        if config.reporter_secret.expose() == DEVELOPMENT_SECRET {
            tracing::warn!("ingest.reporter_secret is the development default: set a secret of this deployment");
        }
        Arc::new(Self {
            producer,
            codec,
            events_topic,
            rules: config.rules.clone(),
            key: ReporterKey::new(config.reporter_secret.expose()),
            catalogue,
            broker_up: AtomicBool::new(true),
            config,
        })
    }

    /// Whether the broker answered its last check.
    pub fn broker_up(&self) -> bool {
        self.broker_up.load(Ordering::Relaxed)
    }

    /// Checks the broker's reachability every `broker_check_interval_ms` until `shutdown`.
    pub async fn watch_broker(self: Arc<Self>, shutdown: cityops_telemetry::Shutdown) {
        let every = Duration::from_millis(self.config.broker_check_interval_ms);
        loop {
            let up = self
                .producer
                .check_broker(every.max(Duration::from_secs(1)))
                .await
                .is_ok();
            if up != self.broker_up.swap(up, Ordering::Relaxed) {
                if up {
                    tracing::info!("broker reachable again: intake accepts");
                } else {
                    tracing::warn!("broker unreachable: intake answers 503 until it is back");
                }
            }
            metrics::gauge!("cityops_ingest_broker_up").set(if up { 1.0 } else { 0.0 });
            metrics::gauge!("cityops_ingest_producer_queue_messages")
                .set(f64::from(self.producer.in_flight()));
            tokio::select! {
                () = shutdown.wait() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    /// Validates and normalises one item.
    pub fn to_event(
        &self,
        kind: ItemKind,
        value: &Value,
        now_ms: i64,
    ) -> Result<CityEvent, Rejection> {
        match kind {
            ItemKind::Ticket => {
                ticket_to_event(value, Source::Hotline, &self.rules, &self.key, now_ms)
            }
            ItemKind::Reading => {
                reading_to_event(value, &self.rules, self.catalogue.as_ref(), now_ms)
            }
        }
    }

    /// A request of another standard (Open311) filed as a ticket of `source`: the same
    /// validation, phone hashing and masking as a 12345 ticket.
    pub fn ticket_event(
        &self,
        source: cityops_core::Source,
        ticket: &Value,
        now_ms: i64,
    ) -> Result<CityEvent, Rejection> {
        ticket_to_event(ticket, source, &self.rules, &self.key, now_ms)
    }

    /// Produces one event and waits for the broker's acknowledgement.
    pub async fn file(&self, event: &CityEvent) -> Result<(), String> {
        let out = self.encode(event)?;
        match self.producer.send(&out).await {
            Ok(_) => Ok(()),
            Err(e) => {
                self.broker_up.store(false, Ordering::Relaxed);
                Err(e.to_string())
            }
        }
    }

    fn encode(&self, event: &CityEvent) -> Result<OutRecord, String> {
        self.codec
            .encode_cached(&self.events_topic, event)
            .map(|payload| {
                OutRecord::new(self.events_topic.clone(), event.event_id.clone(), payload)
            })
            .map_err(|e| e.to_string())
    }

    /// The raw-topic handler: the same validation as HTTP; a bad record is dead-lettered with
    /// every reason.
    pub fn handle_raw(&self, kind: ItemKind, record: &Record) -> Outcome {
        let now_ms = now_ms();
        let payload = record.payload.as_deref().unwrap_or_default();
        let outcome = serde_json::from_slice::<Value>(payload)
            .map_err(|e| Rejection::one("body", format!("not JSON: {e}")))
            .and_then(|v| self.to_event(kind, &v, now_ms));
        match outcome {
            Ok(event) => match self.encode(&event) {
                Ok(out) => {
                    count_accepted(kind, "kafka");
                    Outcome::Produce(vec![out])
                }
                Err(e) => Outcome::reject(format!("cannot encode the event: {e}")),
            },
            Err(rejection) => {
                count_rejected(kind, "kafka", &rejection);
                let what = match kind {
                    ItemKind::Ticket => "invalid ticket",
                    ItemKind::Reading => "invalid reading",
                };
                Outcome::Reject {
                    reason: format!("{what}: {rejection}"),
                    // The dead letter keeps the record, without the caller's phone and name.
                    payload: (kind == ItemKind::Ticket).then(|| redact_ticket(payload, &self.key)),
                }
            }
        }
    }

    /// Accepts a batch over HTTP: each valid item is produced, and answered only after the
    /// broker acknowledged it.
    pub async fn accept(
        &self,
        kind: ItemKind,
        items: Vec<Result<Value, Rejection>>,
    ) -> (StatusCode, IntakeResponse) {
        let now_ms = now_ms();
        let mut results = Vec::with_capacity(items.len());
        let mut sends = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            match item.and_then(|v| self.to_event(kind, &v, now_ms)) {
                Ok(event) => match self.encode(&event) {
                    Ok(out) => sends.push((index, event.event_id, out)),
                    Err(reason) => results.push(ItemResult::Unavailable { index, reason }),
                },
                Err(rejection) => {
                    count_rejected(kind, "http", &rejection);
                    results.push(ItemResult::Rejected {
                        index,
                        errors: rejection.errors.into_iter().map(Into::into).collect(),
                    });
                }
            }
        }
        let delivered =
            futures::future::join_all(sends.iter().map(|(_, _, out)| self.producer.send(out)))
                .await;
        for ((index, event_id, _), d) in sends.into_iter().zip(delivered) {
            match d {
                Ok(_) => {
                    count_accepted(kind, "http");
                    results.push(ItemResult::Accepted { index, event_id });
                }
                Err(e) => {
                    self.broker_up.store(false, Ordering::Relaxed);
                    results.push(ItemResult::Unavailable {
                        index,
                        reason: e.to_string(),
                    });
                }
            }
        }
        results.sort_by_key(|r| match r {
            ItemResult::Accepted { index, .. }
            | ItemResult::Rejected { index, .. }
            | ItemResult::Unavailable { index, .. } => *index,
        });
        let count = |f: fn(&ItemResult) -> bool| results.iter().filter(|r| f(r)).count();
        let accepted = count(|r| matches!(r, ItemResult::Accepted { .. }));
        let rejected = count(|r| matches!(r, ItemResult::Rejected { .. }));
        let unavailable = count(|r| matches!(r, ItemResult::Unavailable { .. }));
        let status = if unavailable > 0 {
            StatusCode::SERVICE_UNAVAILABLE
        } else if rejected == 0 {
            StatusCode::ACCEPTED
        } else if accepted == 0 {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::MULTI_STATUS
        };
        (
            status,
            IntakeResponse {
                accepted,
                rejected,
                unavailable,
                results,
            },
        )
    }

    /// `POST /v1/hotline/tickets` and `POST /v1/iot/readings`.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/v1/hotline/tickets", post(post_tickets))
            .route("/v1/iot/readings", post(post_readings))
            .layer(DefaultBodyLimit::max(self.config.max_body_bytes))
            .with_state(self.clone())
    }
}

fn count_accepted(kind: ItemKind, via: &'static str) {
    metrics::counter!("cityops_ingest_accepted_total", "source" => kind.source_label(), "via" => via).increment(1);
}

fn count_rejected(kind: ItemKind, via: &'static str, rejection: &Rejection) {
    metrics::counter!("cityops_ingest_rejected_total", "source" => kind.source_label(), "via" => via, "reason" => rejection.label())
        .increment(1);
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// How a request body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    Ndjson,
}

/// The body format from the `Content-Type`, or `None` (answered 415).
pub fn body_format(headers: &HeaderMap) -> Option<BodyFormat> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mime = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" => Some(BodyFormat::Json),
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => {
            Some(BodyFormat::Ndjson)
        }
        _ => None,
    }
}

/// Splits a body into items: a JSON object (one item), a JSON array, or NDJSON lines (a bad
/// line is a rejected item, the others go on).
pub fn split_items(
    body: &[u8],
    format: BodyFormat,
) -> Result<Vec<Result<Value, Rejection>>, Rejection> {
    match format {
        BodyFormat::Json => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(items)) => Ok(items.into_iter().map(Ok).collect()),
            Ok(v @ Value::Object(_)) => Ok(vec![Ok(v)]),
            Ok(_) => Err(Rejection::one(
                "body",
                "must be a JSON object or an array of objects",
            )),
            Err(e) => Err(Rejection::one("body", format!("not valid JSON: {e}"))),
        },
        BodyFormat::Ndjson => {
            let text = std::str::from_utf8(body)
                .map_err(|e| Rejection::one("body", format!("not UTF-8: {e}")))?;
            Ok(text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(i, line)| {
                    serde_json::from_str::<Value>(line).map_err(|e| {
                        Rejection::one("body", format!("line {} is not valid JSON: {e}", i + 1))
                    })
                })
                .collect())
        }
    }
}

fn error_body(status: StatusCode, errors: Vec<FieldError>) -> Response {
    (
        status,
        Json(serde_json::json!({ "errors": errors.into_iter().map(FieldErrorBody::from).collect::<Vec<_>>() })),
    )
        .into_response()
}

async fn post_tickets(
    State(intake): State<Arc<Intake>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(
        intake,
        ItemKind::Ticket,
        "/v1/hotline/tickets",
        headers,
        body,
    )
    .await
}

async fn post_readings(
    State(intake): State<Arc<Intake>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(intake, ItemKind::Reading, "/v1/iot/readings", headers, body).await
}

async fn handle(
    intake: Arc<Intake>,
    kind: ItemKind,
    route: &'static str,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let response = respond(&intake, kind, &headers, &body).await;
    metrics::histogram!("cityops_ingest_request_duration_seconds", "route" => route, "status" => response.status().as_u16().to_string())
        .record(started.elapsed().as_secs_f64());
    response
}

async fn respond(intake: &Intake, kind: ItemKind, headers: &HeaderMap, body: &[u8]) -> Response {
    let Some(format) = body_format(headers) else {
        return error_body(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            vec![FieldError {
                field: "content-type".into(),
                reason: "send application/json (an object or an array) or application/x-ndjson"
                    .into(),
            }],
        );
    };
    if !intake.broker_up() {
        let mut r = error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            vec![FieldError {
                field: "broker".into(),
                reason: "the event broker is unreachable; nothing was accepted, send again after Retry-After".into(),
            }],
        );
        if let Ok(v) = HeaderValue::from_str(&intake.config.retry_after_s.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let items = match split_items(body, format) {
        Ok(items) => items,
        Err(rejection) => {
            count_rejected(kind, "http", &rejection);
            return error_body(StatusCode::BAD_REQUEST, rejection.errors);
        }
    };
    if items.is_empty() {
        return error_body(
            StatusCode::BAD_REQUEST,
            vec![FieldError {
                field: "body".into(),
                reason: "holds no item".into(),
            }],
        );
    }
    if items.len() > intake.config.max_items {
        return error_body(
            StatusCode::PAYLOAD_TOO_LARGE,
            vec![FieldError {
                field: "body".into(),
                reason: format!(
                    "holds {} items, more than the limit of {}: split the batch",
                    items.len(),
                    intake.config.max_items
                ),
            }],
        );
    }
    let (status, body) = intake.accept(kind, items).await;
    let mut r = (status, Json(body)).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        if let Ok(v) = HeaderValue::from_str(&intake.config.retry_after_s.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    r
}
