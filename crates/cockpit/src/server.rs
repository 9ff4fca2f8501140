//! The cockpit's HTTP server: the page (embedded), the JSON API, the live stream.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono_tz::Tz;
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, OwnedSemaphorePermit, Semaphore};

use crate::figures::{self, local_day_start_ms, rate, running_warning};
use crate::live::LiveEvent;
use crate::names::Names;
use crate::params::{self, BadRequest, Filters, Param};
use crate::queries::{self, Moments};
use crate::views::{incident_view, report_summary};

/// The `[cockpit]` section of the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CockpitConfig {
    /// Where the page and its API listen.
    pub listen: String,
    /// The city's name in the title.
    pub city: String,
    /// How long an answer is reused (and may be cached by browsers and proxies), in ms: a
    /// wall of many screens costs one query per endpoint and filter per period.
    pub cache_ttl_ms: u64,
    /// Longest a query may take before the answer is 503, in ms.
    pub query_timeout_ms: u64,
    /// Live streams served at once, at most.
    pub max_streams: usize,
    /// Live events buffered per stream; a client further behind loses the oldest.
    pub live_buffer: usize,
    /// Keepalive comment period of a live stream, in ms.
    pub keepalive_ms: u64,
    /// `kafka.fetch_wait_max_ms` of the live feed's readers of the incidents and work-order
    /// topics. A quarter of a second is nothing on a wall, and on Tansu each fetch re-reads
    /// every partition when the wait runs out: at 50 ms the two readers alone kept a third of
    /// a core of the broker busy while the city was quiet.
    pub live_fetch_wait_ms: u32,
}

impl Default for CockpitConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            city: "沈阳市".to_owned(),
            cache_ttl_ms: 5_000,
            query_timeout_ms: 8_000,
            max_streams: 200,
            live_buffer: 1_024,
            keepalive_ms: 15_000,
            live_fetch_wait_ms: 250,
        }
    }
}

const INDEX: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const STYLE: &str = include_str!("../assets/style.css");
const OPENAPI: &str = include_str!("../assets/openapi.json");

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

type Answer = Result<Value, Problem>;

/// An error answer.
#[derive(Debug)]
pub struct Problem(StatusCode, String);

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<BadRequest> for Problem {
    fn from(e: BadRequest) -> Self {
        Problem(StatusCode::BAD_REQUEST, e.0)
    }
}

impl From<clickhouse::error::Error> for Problem {
    fn from(e: clickhouse::error::Error) -> Self {
        tracing::warn!(error = %e, "cockpit query failed");
        Problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "the analytics store did not answer; the page retries by itself".to_owned(),
        )
    }
}

/// What the handlers share.
#[derive(Clone)]
pub struct Cockpit {
    config: Arc<CockpitConfig>,
    names: Arc<Names>,
    clickhouse: clickhouse::Client,
    tz: Tz,
    command_center: String,
    cache: Arc<Mutex<HashMap<String, (Instant, Value)>>>,
    live: broadcast::Sender<LiveEvent>,
    streams: Arc<Semaphore>,
}

impl Cockpit {
    pub fn new(
        config: CockpitConfig,
        names: Arc<Names>,
        clickhouse: clickhouse::Client,
        live: broadcast::Sender<LiveEvent>,
    ) -> Self {
        let tz = names.catalogue.timezone();
        let command_center = names
            .catalogue
            .triage_category()
            .owner
            .as_ref()
            .map_or_else(|| "command_center".to_owned(), |d| d.as_str().to_owned());
        Self {
            streams: Arc::new(Semaphore::new(config.max_streams)),
            config: Arc::new(config),
            names,
            clickhouse,
            tz,
            command_center,
            cache: Arc::new(Mutex::new(HashMap::new())),
            live,
        }
    }

    pub fn router(self) -> Router {
        Router::new()
            .route(
                "/",
                get(|| async { asset(INDEX, "text/html; charset=utf-8") }),
            )
            .route(
                "/assets/app.js",
                get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
            )
            .route(
                "/assets/style.css",
                get(|| async { asset(STYLE, "text/css; charset=utf-8") }),
            )
            .route(
                "/openapi.json",
                get(|| async { asset(OPENAPI, "application/json") }),
            )
            .route("/api/v1/meta", get(meta))
            .route("/api/v1/geo/districts", get(geo_districts))
            .route("/api/v1/geo/streets", get(geo_streets))
            .route("/api/v1/geo/grids", get(geo_grids))
            .route("/api/v1/summary", get(summary))
            .route("/api/v1/scenarios", get(scenarios))
            .route("/api/v1/streets", get(streets))
            .route("/api/v1/grids", get(grids))
            .route("/api/v1/incidents", get(incidents))
            .route("/api/v1/orders/overdue", get(overdue))
            .route("/api/v1/orders/triage", get(triage))
            .route("/api/v1/stream", get(stream))
            .fallback(not_found)
            .layer(axum::middleware::map_response(security_headers))
            .with_state(self)
    }

    fn moments(&self) -> Moments {
        let now_ms = chrono::Utc::now().timestamp_millis();
        Moments {
            now_ms,
            today_ms: local_day_start_ms(now_ms, self.tz, 0),
            week_ms: local_day_start_ms(now_ms, self.tz, 6),
        }
    }

    /// Validates the parameters, then answers from the cache or by `compute` (bounded by the
    /// query timeout). Nothing is queried for a refused request.
    async fn answer<F, Fut>(
        &self,
        endpoint: &'static str,
        raw_query: Option<String>,
        allowed: &[Param],
        compute: F,
    ) -> Response
    where
        F: FnOnce(Cockpit, Filters) -> Fut,
        Fut: Future<Output = Answer>,
    {
        let result = async {
            let filters = params::parse(endpoint, raw_query.as_deref(), allowed, &*self.names)?;
            let key = format!("{endpoint}?{}", filters.cache_key());
            let ttl = Duration::from_millis(self.config.cache_ttl_ms);
            if let Some((at, value)) = self.lock().get(&key) {
                if at.elapsed() < ttl {
                    return Ok(value.clone());
                }
            }
            let timeout = Duration::from_millis(self.config.query_timeout_ms);
            let value = tokio::time::timeout(timeout, compute(self.clone(), filters))
                .await
                .map_err(|_| {
                    Problem(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("the analytics store did not answer within {timeout:?}; the page retries by itself"),
                    )
                })??;
            let mut cache = self.lock();
            cache.retain(|_, (at, _)| at.elapsed() < ttl);
            cache.insert(key, (Instant::now(), value.clone()));
            Ok(value)
        }
        .await;
        let status = match &result {
            Ok(_) => 200,
            Err(Problem(s, _)) => s.as_u16(),
        };
        metrics::counter!("cityops_cockpit_requests_total", "endpoint" => endpoint, "status" => status.to_string()).increment(1);
        match result {
            Ok(value) => {
                let max_age = self.config.cache_ttl_ms / 1000;
                (
                    [(header::CACHE_CONTROL, format!("public, max-age={max_age}"))],
                    Json(value),
                )
                    .into_response()
            }
            Err(problem) => problem.into_response(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Value)>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Open orders with a warning on a running clock, red first, each level by deadline.
    async fn overdue_rows(
        &self,
        f: &Filters,
        endpoint: &'static str,
    ) -> Result<Vec<Value>, Problem> {
        let rows = queries::warned_orders(&self.clickhouse, f, endpoint).await?;
        let mut out: Vec<(figures::Level, i64, Value)> = rows
            .into_iter()
            .filter_map(|r| {
                let (level, clock) = running_warning(
                    &r.status,
                    r.accept_warning.as_deref(),
                    r.resolve_warning.as_deref(),
                )?;
                let deadline = if clock == "accept" {
                    r.accept_deadline_ms
                } else {
                    r.resolve_deadline_ms
                };
                let view = json!({
                    "order_id": r.order_id,
                    "owner": r.owner,
                    "owner_name": self.names.department_name(&r.owner),
                    "category_name": self.names.category_name(&r.category),
                    "severity": r.severity,
                    "status": r.status,
                    "warning": level.as_str(),
                    "clock": clock,
                    "deadline_ms": deadline,
                    "street_key": r.street_key,
                });
                Some((level, deadline.unwrap_or(i64::MAX), view))
            })
            .collect();
        out.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(out.into_iter().map(|(_, _, v)| v).collect())
    }
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn not_found(method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return Problem(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed: the cockpit API is read-only (GET)"),
        )
        .into_response();
    }
    Problem(
        StatusCode::NOT_FOUND,
        format!(
            "no such endpoint: {}; the endpoints are listed at /openapi.json",
            uri.path()
        ),
    )
    .into_response()
}

async fn meta(State(c): State<Cockpit>, RawQuery(q): RawQuery) -> Response {
    c.answer("/api/v1/meta", q, &[], |c, _| async move {
        let names = &c.names;
        Ok(json!({
            "city": names.city,
            "catalogue_version": names.catalogue.version(),
            "scenarios": names.scenarios().into_iter().map(|(id, name)| json!({"id": id, "name": name})).collect::<Vec<_>>(),
            "severities": cityops_core::Severity::ALL.iter().map(|s| json!({"id": s.as_str(), "name": names.catalogue.severity_name(*s).unwrap_or(s.as_str())})).collect::<Vec<_>>(),
            "districts": names.districts.names.iter().map(|(code, name)| json!({"code": code, "name": name})).collect::<Vec<_>>(),
            "now_ms": chrono::Utc::now().timestamp_millis(),
        }))
    })
    .await
}

fn geojson(c: &Cockpit, q: Option<String>, endpoint: &'static str, body: Arc<str>) -> Response {
    if let Err(e) = params::parse(endpoint, q.as_deref(), &[], &*c.names) {
        return Problem::from(e).into_response();
    }
    geojson_answer(body)
}

fn geojson_answer(body: Arc<str>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/geo+json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn geo_districts(State(c): State<Cockpit>, RawQuery(q): RawQuery) -> Response {
    let body = c.names.districts.geojson.clone();
    geojson(&c, q, "/api/v1/geo/districts", body)
}

async fn geo_streets(State(c): State<Cockpit>, RawQuery(q): RawQuery) -> Response {
    let body = c.names.streets.geojson.clone();
    geojson(&c, q, "/api/v1/geo/streets", body)
}

/// The answer to a request without the street it needs.
fn street_required(endpoint: &str) -> Problem {
    Problem(
        StatusCode::BAD_REQUEST,
        format!("{endpoint} needs street: the 9-digit code of a street listed by /api/v1/geo/streets, e.g. street=210106001"),
    )
}

async fn geo_grids(State(c): State<Cockpit>, RawQuery(q): RawQuery) -> Response {
    const ENDPOINT: &str = "/api/v1/geo/grids";
    match params::parse(ENDPOINT, q.as_deref(), &[Param::Street], &*c.names) {
        Ok(Filters {
            street: Some(street),
            ..
        }) => geojson_answer(c.names.grids.of_street(&street)),
        Ok(_) => street_required(ENDPOINT).into_response(),
        Err(e) => Problem::from(e).into_response(),
    }
}

fn kpis(
    orders: u64,
    (accept_due, accepted_on_time): (u64, u64),
    (resolve_due, resolved): (u64, u64),
    (scored, satisfied): (u64, u64),
    (closed, closed_on_time): (u64, u64),
) -> Value {
    json!({
        "response_rate": rate(accepted_on_time, accept_due),
        "resolve_rate": rate(resolved, resolve_due),
        "satisfaction_rate": rate(satisfied, scored),
        "on_time_rate": rate(closed_on_time, closed),
        "orders": orders,
    })
}

async fn summary(State(c): State<Cockpit>, RawQuery(q): RawQuery) -> Response {
    c.answer(
        "/api/v1/summary",
        q,
        &[Param::District, Param::Scenario],
        |c, f| async move {
            let at = c.moments();
            let o = queries::order_counts(&c.clickhouse, &f, at).await?;
            let s = queries::callbacks(&c.clickhouse, &f, at).await?;
            let warned = c.overdue_rows(&f, "summary").await?;
            let count = |level: &str| warned.iter().filter(|v| v["warning"] == level).count();
            Ok(json!({
                "today": kpis(
                    o.orders_today,
                    (o.accept_due_today, o.accepted_on_time_today),
                    (o.resolve_due_today, o.resolved_today),
                    (s.scored_today, s.satisfied_today),
                    (o.closed_today, o.closed_on_time_today),
                ),
                "last_7_days": kpis(
                    o.orders_week,
                    (o.accept_due_week, o.accepted_on_time_week),
                    (o.resolve_due_week, o.resolved_week),
                    (s.scored_week, s.satisfied_week),
                    (o.closed_week, o.closed_on_time_week),
                ),
                "open_orders": o.open_orders,
                "warnings": {"yellow": count("yellow"), "red": count("red")},
                "as_of_ms": at.now_ms,
            }))
        },
    )
    .await
}

async fn scenarios(State(c): State<Cockpit>, RawQuery(q): RawQuery) -> Response {
    c.answer(
        "/api/v1/scenarios",
        q,
        &[Param::District],
        |c, f| async move {
            let at = c.moments();
            let rows = queries::scenario_counts(&c.clickhouse, &f, at).await?;
            let list: Vec<Value> = c
                .names
                .scenarios()
                .into_iter()
                .map(|(id, name)| {
                    let row = rows.iter().find(|r| r.scenario == id);
                    json!({
                        "scenario": id,
                        "name": name,
                        "last_hour": row.map_or(0, |r| r.last_hour),
                        "today": row.map_or(0, |r| r.today),
                        "same_hour_yesterday": row.map_or(0, |r| r.same_hour_yesterday),
                    })
                })
                .collect();
            Ok(json!({ "as_of_ms": at.now_ms, "scenarios": list }))
        },
    )
    .await
}

async fn grids(State(c): State<Cockpit>, RawQuery(q): RawQuery) -> Response {
    const ENDPOINT: &str = "/api/v1/grids";
    c.answer(
        ENDPOINT,
        q,
        &[Param::Street, Param::Scenario],
        |c, f| async move {
            let Some(street) = f.street.clone() else {
                return Err(street_required(ENDPOINT));
            };
            let rows = queries::grid_counts(&c.clickhouse, &f).await?;
            Ok(json!({ "street_code": street, "grids": rows }))
        },
    )
    .await
}

async fn streets(State(c): State<Cockpit>, RawQuery(q): RawQuery) -> Response {
    c.answer(
        "/api/v1/streets",
        q,
        &[Param::District, Param::Scenario],
        |c, f| async move {
            let rows = queries::street_counts(&c.clickhouse, &f).await?;
            Ok(json!({ "streets": rows }))
        },
    )
    .await
}

async fn incidents(State(c): State<Cockpit>, RawQuery(q): RawQuery) -> Response {
    c.answer(
        "/api/v1/incidents",
        q,
        &[Param::District, Param::Scenario, Param::Limit, Param::Hours],
        |c, f| async move {
            let at = c.moments();
            let since = match f.hours {
                Some(h) => at.now_ms - i64::from(h) * 3_600_000,
                None => at.today_ms,
            };
            let rows = queries::incidents(&c.clickhouse, &f, since, f.limit.unwrap_or(200)).await?;
            let list: Vec<Value> = rows
                .into_iter()
                .map(|r| {
                    incident_view(
                        &c.names,
                        &r.incident_id,
                        &r.scenario,
                        &r.category,
                        &json!(r.severity),
                        r.lat.zip(r.lon),
                        r.district_code.as_deref(),
                        r.street_code.as_deref(),
                        r.occurred_at_ms,
                        report_summary(
                            &c.names,
                            r.text.as_deref(),
                            r.device_type.as_deref(),
                            r.device_id.as_deref(),
                            r.address.as_deref(),
                        ),
                    )
                })
                .collect();
            Ok(json!({ "incidents": list }))
        },
    )
    .await
}

async fn overdue(State(c): State<Cockpit>, RawQuery(q): RawQuery) -> Response {
    c.answer(
        "/api/v1/orders/overdue",
        q,
        &[Param::District, Param::Scenario, Param::Limit],
        |c, f| async move {
            let mut rows = c.overdue_rows(&f, "overdue").await?;
            rows.truncate(f.limit.unwrap_or(100) as usize);
            Ok(json!({ "orders": rows }))
        },
    )
    .await
}

async fn triage(State(c): State<Cockpit>, RawQuery(q): RawQuery) -> Response {
    c.answer(
        "/api/v1/orders/triage",
        q,
        &[Param::Limit],
        |c, f| async move {
            let rows =
                queries::triage(&c.clickhouse, &c.command_center, f.limit.unwrap_or(50)).await?;
            let ids: Vec<String> = rows.iter().map(|r| r.first_incident.clone()).collect();
            let reports = queries::reports(&c.clickhouse, &ids).await?;
            let list: Vec<Value> = rows
                .into_iter()
                .map(|r| {
                    let summary = reports
                        .iter()
                        .find(|p| p.incident_id == r.first_incident)
                        .map(|p| {
                            report_summary(
                                &c.names,
                                p.text.as_deref(),
                                p.device_type.as_deref(),
                                p.device_id.as_deref(),
                                p.address.as_deref(),
                            )
                        })
                        .unwrap_or_default();
                    json!({
                        "order_id": r.order_id,
                        "category_name": c.names.category_name(&r.category),
                        "summary": summary,
                        "created_at_ms": r.created_at_ms,
                        "street_key": r.street_key,
                    })
                })
                .collect();
            Ok(json!({ "orders": list }))
        },
    )
    .await
}

/// One open live stream: its place among `max_streams`, counted while it is open.
struct StreamGuard(#[allow(dead_code)] OwnedSemaphorePermit);

impl StreamGuard {
    fn new(permit: OwnedSemaphorePermit) -> Self {
        metrics::gauge!("cityops_cockpit_live_streams").increment(1.0);
        Self(permit)
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        metrics::gauge!("cityops_cockpit_live_streams").decrement(1.0);
    }
}

fn sse_event(e: &LiveEvent) -> Event {
    Event::default()
        .event(e.kind)
        .id(e.id.clone())
        .data(e.data.clone())
}

async fn stream(State(c): State<Cockpit>, RawQuery(q): RawQuery) -> Response {
    if let Err(e) = params::parse("/api/v1/stream", q.as_deref(), &[], &*c.names) {
        return Problem::from(e).into_response();
    }
    let Ok(permit) = c.streams.clone().try_acquire_owned() else {
        return Problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{} live streams are open already; the page retries by itself",
                c.config.max_streams
            ),
        )
        .into_response();
    };
    let guard = StreamGuard::new(permit);
    let receiver = c.live.subscribe();
    let first = stream::once(async {
        Ok::<Event, Infallible>(
            Event::default()
                .retry(Duration::from_secs(3))
                .comment("live"),
        )
    });
    let events = stream::unfold((receiver, guard), |(mut rx, guard)| async move {
        loop {
            match rx.recv().await {
                Ok(e) => return Some((Ok(sse_event(&e)), (rx, guard))),
                // Too slow: the oldest events are gone; the page catches up from the API.
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(lost = n, "a slow live client lost events");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let body: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        Box::pin(first.chain(events));
    let mut response = Sse::new(body)
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_millis(c.config.keepalive_ms))
                .text("keepalive"),
        )
        .into_response();
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
