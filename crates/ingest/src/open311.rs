//! Open311 GeoReport v2 under `/open311/v2/` (docs/open311.md). A filed request becomes a
//! ticket of source `open311` and flows through the same pipeline as a 12345 ticket (the
//! same validation, phone hashing and masking); its status is its work order's, read back
//! from ClickHouse.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cityops_core::catalogue::Catalogue;
use cityops_core::{DepartmentId, Source, OPEN311_SERVICE_TAG};
use cityops_open311::render::render;
use cityops_open311::status::{w3c, OrderFacts};
use cityops_open311::{
    errors, parse_filed, request_view, Format, Open311Config, RequestFacts, Services,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::intake::Intake;

/// The most requests one `GET requests` answers, and its default window.
const MAX_ROWS: u64 = 1000;
const WINDOW_MS: i64 = 90 * 86_400_000;
/// How many filed requests an instance remembers until ClickHouse has them.
const REMEMBERED: usize = 10_000;

/// Requests filed here, by id, and their order of filing (to forget the oldest).
type Recent = (HashMap<String, RequestFacts>, VecDeque<String>);

/// What the Open311 handlers share.
#[derive(Clone)]
pub struct Open311 {
    intake: Arc<Intake>,
    config: Arc<Open311Config>,
    services: Arc<Services>,
    catalogue: Arc<Catalogue>,
    clickhouse: clickhouse::Client,
    /// Requests filed here, until the sink has written them (a second or two).
    recent: Arc<Mutex<Recent>>,
}

struct Answer(StatusCode, Format, String);

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (
            self.0,
            [(header::CONTENT_TYPE, self.1.content_type())],
            self.2,
        )
            .into_response()
    }
}

fn problem(format: Format, status: u16, description: &str) -> Answer {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    metrics::counter!("cityops_open311_requests_total", "status" => status.to_string())
        .increment(1);
    Answer(code, format, errors(format, status, description))
}

fn ok(format: Format, root: &str, value: &Value) -> Answer {
    metrics::counter!("cityops_open311_requests_total", "status" => "200").increment(1);
    Answer(StatusCode::OK, format, render(format, root, value))
}

/// The format of `file`, or a 404 in JSON when it names none.
fn split(file: &str) -> Result<(&str, Format), Answer> {
    Format::split(file).ok_or_else(|| {
        problem(
            Format::Json,
            404,
            &format!("{file}: add .json or .xml to choose the format"),
        )
    })
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct EventRow {
    source_id: String,
    event_id: String,
    occurred_at_ms: i64,
    text: Option<String>,
    address: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    service_code: String,
    media_url: String,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct IncidentRow {
    incident_id: String,
    actionable: u8,
    street_name: Option<String>,
}

#[derive(Debug, Clone, clickhouse::Row, Deserialize)]
struct OrderRow {
    incident_ids: Vec<String>,
    owner: String,
    status: String,
    resolve_deadline_ms: Option<i64>,
    updated_at_ms: i64,
}

impl Open311 {
    pub fn new(
        intake: Arc<Intake>,
        config: Open311Config,
        services: Services,
        catalogue: Arc<Catalogue>,
        clickhouse: clickhouse::Client,
    ) -> Self {
        Self {
            intake,
            config: Arc::new(config),
            services: Arc::new(services),
            catalogue,
            clickhouse,
            recent: Arc::new(Mutex::new((HashMap::new(), VecDeque::new()))),
        }
    }

    pub fn router(self) -> Router {
        Router::new()
            .route("/open311/v2/{file}", get(get_file).post(post_file))
            .route("/open311/v2/services/{file}", get(get_service))
            .route("/open311/v2/requests/{file}", get(get_request))
            .route("/open311/v2/tokens/{file}", get(get_token))
            .with_state(self)
    }

    fn remember(&self, facts: RequestFacts) {
        let mut guard = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let (map, order) = &mut *guard;
        order.push_back(facts.service_request_id.clone());
        map.insert(facts.service_request_id.clone(), facts);
        while order.len() > REMEMBERED {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    fn remembered(&self, id: &str) -> Option<RequestFacts> {
        let guard = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        guard.0.get(id).cloned()
    }

    fn agency(&self, owner: &str, street_name: Option<&str>) -> String {
        if owner.starts_with("street_office.") {
            if let Some(street) = street_name {
                return format!("{street}办事处");
            }
        }
        self.catalogue
            .department(&DepartmentId::new(owner))
            .map_or_else(|| owner.to_owned(), |d| d.name.clone())
    }

    fn service_name(&self, code: &str) -> String {
        self.catalogue
            .category(&cityops_core::CategoryId::new(code))
            .map_or_else(|| code.to_owned(), |c| c.name.clone())
    }

    /// The filed requests that match, with their work orders, newest first.
    async fn lookup(
        &self,
        ids: Option<&[String]>,
        service_codes: &[String],
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<RequestFacts>, clickhouse::error::Error> {
        let none = [String::new()];
        let events: Vec<EventRow> = self
            .clickhouse
            .query(
                "WITH ? AS by_id, ? AS ids, ? AS by_code, ? AS codes, ? AS from_ms, ? AS to_ms
                 SELECT source_id, event_id, occurred_at_ms, text, address, lat, lon,
                        tag_values[indexOf(tag_keys, 'open311.service_code')] AS service_code,
                        attachments[1] AS media_url
                 FROM events FINAL
                 WHERE source = 'open311'
                   AND (by_id = 1 AND has(ids, source_id)
                        OR by_id = 0 AND occurred_at_ms >= from_ms AND occurred_at_ms <= to_ms
                           AND (by_code = 0 OR has(codes, tag_values[indexOf(tag_keys, 'open311.service_code')])))
                 ORDER BY occurred_at_ms DESC, source_id
                 LIMIT ?",
            )
            // Never an empty array: 18.16 cannot type `has([], x)`.
            .bind(u8::from(ids.is_some()))
            .bind(ids.filter(|i| !i.is_empty()).unwrap_or(&none))
            .bind(u8::from(!service_codes.is_empty()))
            .bind(if service_codes.is_empty() { &none[..] } else { service_codes })
            .bind(from_ms)
            .bind(to_ms)
            .bind(MAX_ROWS)
            .fetch_all()
            .await?;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let event_ids: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
        let incidents: Vec<IncidentRow> = self
            .clickhouse
            .query(
                "SELECT incident_id, actionable, street_name FROM incidents FINAL
                 WHERE has(?, incident_id)",
            )
            .bind(&event_ids)
            .fetch_all()
            .await?;
        let orders: Vec<OrderRow> = self
            .clickhouse
            .query(
                "SELECT incident_ids, owner, status, resolve_deadline_ms, updated_at_ms
                 FROM workorders FINAL
                 WHERE hasAny(incident_ids, ?)",
            )
            .bind(&event_ids)
            .fetch_all()
            .await?;
        let incidents: BTreeMap<&str, &IncidentRow> = incidents
            .iter()
            .map(|i| (i.incident_id.as_str(), i))
            .collect();
        Ok(events
            .into_iter()
            .map(|e| {
                let incident = incidents.get(e.event_id.as_str());
                let order = orders
                    .iter()
                    .find(|o| o.incident_ids.contains(&e.event_id))
                    .map(|o| OrderFacts {
                        status: o.status.clone(),
                        agency: self
                            .agency(&o.owner, incident.and_then(|i| i.street_name.as_deref())),
                        resolve_deadline_ms: o.resolve_deadline_ms,
                        updated_ms: o.updated_at_ms,
                    });
                RequestFacts {
                    service_name: self.service_name(&e.service_code),
                    service_code: e.service_code,
                    service_request_id: e.source_id,
                    description: e.text,
                    address: e.address,
                    lat: e.lat,
                    lon: e.lon,
                    media_url: (!e.media_url.is_empty()).then_some(e.media_url),
                    requested_ms: e.occurred_at_ms,
                    actionable: incident.map(|i| i.actionable == 1),
                    order,
                }
            })
            .collect())
    }

    fn discovery(&self) -> Value {
        json!({
            "changeset": "2026-11-22T00:00:00+08:00",
            "contact": self.config.contact,
            "key_service": self.config.key_service,
            "endpoints": [{
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": self.config.public_url,
                "changeset": "2026-11-22T00:00:00+08:00",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }],
        })
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Query parameters as a map; a parameter given empty is absent (as the specification says).
fn query_map(raw: Option<&str>) -> BTreeMap<String, String> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.into_owned(), v.trim().to_owned()))
        .collect()
}

/// A `jurisdiction_id` other than this server's is a 404.
fn check_jurisdiction(
    o: &Open311,
    q: &BTreeMap<String, String>,
    format: Format,
) -> Result<(), Answer> {
    match q.get("jurisdiction_id") {
        Some(j) if *j != o.config.jurisdiction_id => Err(problem(
            format,
            404,
            &format!(
                "jurisdiction_id {j} is not served here (this server is {})",
                o.config.jurisdiction_id
            ),
        )),
        _ => Ok(()),
    }
}

fn list(values: Option<&String>) -> Vec<String> {
    values
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn unavailable(format: Format, e: impl std::fmt::Display) -> Answer {
    tracing::warn!(error = %e, "Open311 lookup failed");
    problem(
        format,
        503,
        "the request store is unavailable for a moment; retry shortly",
    )
}

async fn get_file(
    State(o): State<Open311>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (name, format) = match split(&file) {
        Ok(x) => x,
        Err(a) => return a.into_response(),
    };
    let q = query_map(q.as_deref());
    if let Err(a) = check_jurisdiction(&o, &q, format) {
        return a.into_response();
    }
    match name {
        "discovery" => ok(format, "discovery", &o.discovery()),
        "services" => ok(format, "services", &o.services.list()),
        "requests" => match requests(&o, &q, format).await {
            Ok(a) | Err(a) => a,
        },
        other => problem(
            format,
            404,
            &format!("no resource {other}: see discovery.{}", ext(format)),
        ),
    }
    .into_response()
}

fn ext(format: Format) -> &'static str {
    match format {
        Format::Json => "json",
        Format::Xml => "xml",
    }
}

/// `GET requests` with the specification's filters and defaults (the last 90 days, at most
/// 1,000 requests).
async fn requests(
    o: &Open311,
    q: &BTreeMap<String, String>,
    format: Format,
) -> Result<Answer, Answer> {
    let ids = list(q.get("service_request_id"));
    let codes = list(q.get("service_code"));
    let statuses = list(q.get("status"));
    if let Some(bad) = statuses.iter().find(|s| *s != "open" && *s != "closed") {
        return Err(problem(
            format,
            400,
            &format!("status {bad} is not open or closed"),
        ));
    }
    let time = |name: &str| -> Result<Option<i64>, Answer> {
        q.get(name)
            .map(|t| {
                chrono::DateTime::parse_from_rfc3339(t)
                    .map(|d| d.timestamp_millis())
                    .map_err(|_| {
                        problem(
                            format,
                            400,
                            &format!("{name} {t:?} is not a W3C date-time with its time zone, e.g. 2026-11-22T08:00:00+08:00"),
                        )
                    })
            })
            .transpose()
    };
    let now = now_ms();
    let (start, end) = (time("start_date")?, time("end_date")?);
    let (from, to) = match (start, end) {
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, (s + WINDOW_MS).min(now)),
        (None, Some(e)) => (e - WINDOW_MS, e),
        (None, None) => (now - WINDOW_MS, now),
    };
    if to < from {
        return Err(problem(format, 400, "end_date is before start_date"));
    }
    if ids.is_empty() && to - from > WINDOW_MS {
        return Err(problem(
            format,
            400,
            "start_date to end_date spans more than 90 days: ask for 90 days at most",
        ));
    }
    let found = o
        .lookup(
            (!ids.is_empty()).then_some(ids.as_slice()),
            &codes,
            from,
            to,
        )
        .await
        .map_err(|e| unavailable(format, e))?;
    let mut views: Vec<Value> = Vec::new();
    for f in &found {
        let view = request_view(f);
        // The service_request_id filter overrides every other.
        if ids.is_empty() && !statuses.is_empty() && !statuses.iter().any(|s| view["status"] == **s)
        {
            continue;
        }
        views.push(view);
    }
    for id in &ids {
        if !found.iter().any(|f| &f.service_request_id == id) {
            if let Some(f) = o.remembered(id) {
                views.push(request_view(&f));
            }
        }
    }
    Ok(ok(format, "service_requests", &Value::Array(views)))
}

async fn post_file(State(o): State<Open311>, Path(file): Path<String>, body: Bytes) -> Response {
    let (name, format) = match split(&file) {
        Ok(x) => x,
        Err(a) => return a.into_response(),
    };
    if name != "requests" {
        return problem(
            format,
            404,
            &format!(
                "{file} takes no POST: file a request with requests.{}",
                ext(format)
            ),
        )
        .into_response();
    }
    let filed = match parse_filed(&body, &o.config, &o.services) {
        Ok(f) => f,
        Err(e) => return problem(format, e.status(), &e.to_string()).into_response(),
    };
    let now = now_ms();
    let id = format!(
        "SY311-{}-{}",
        w3c(now).get(..10).unwrap_or_default().replace('-', ""),
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let service_name = o.service_name(&filed.service_code);
    let ticket = filed.to_ticket(&id, &w3c(now), &service_name);
    let mut event = match o.intake.ticket_event(Source::Open311, &ticket, now) {
        Ok(e) => e,
        Err(rejection) => {
            // Checked above already; what is left is the ticket's own rules (lengths).
            let text = rejection
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect::<Vec<_>>()
                .join("; ");
            return problem(format, 400, &text).into_response();
        }
    };
    event
        .tags
        .insert(OPEN311_SERVICE_TAG.into(), filed.service_code.clone());
    for (code, values) in &filed.attributes {
        event
            .tags
            .insert(format!("open311.attribute.{code}"), values.join(","));
    }
    if let Err(e) = o.intake.file(&event).await {
        tracing::warn!(error = %e, "Open311 request not delivered to the broker");
        return problem(
            format,
            503,
            "the request could not be recorded right now: nothing was filed, send it again shortly",
        )
        .into_response();
    }
    o.remember(RequestFacts {
        service_request_id: id.clone(),
        service_code: filed.service_code.clone(),
        service_name,
        description: event.text.clone(),
        address: event.address.clone(),
        lat: event.location.map(|p| p.lat),
        lon: event.location.map(|p| p.lon),
        media_url: event.attachments.first().cloned(),
        requested_ms: event.occurred_at_ms,
        actionable: None,
        order: None,
    });
    tracing::info!(service_request_id = %id, service_code = %filed.service_code, "Open311 request filed");
    let answer = json!([{
        "service_request_id": id,
        "service_notice": "已受理。紧急情况请拨打 110、119 或 120。",
        "account_id": Value::Null,
    }]);
    ok(format, "service_requests", &answer).into_response()
}

async fn get_service(
    State(o): State<Open311>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (code, format) = match split(&file) {
        Ok(x) => x,
        Err(a) => return a.into_response(),
    };
    if let Err(a) = check_jurisdiction(&o, &query_map(q.as_deref()), format) {
        return a.into_response();
    }
    match o.services.definition(code) {
        Some(d) => ok(format, "service_definition", &d),
        None => problem(
            format,
            404,
            &format!(
                "service_code {code} is not a service of this city: see services.{}",
                ext(format)
            ),
        ),
    }
    .into_response()
}

async fn get_request(
    State(o): State<Open311>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (id, format) = match split(&file) {
        Ok(x) => x,
        Err(a) => return a.into_response(),
    };
    if let Err(a) = check_jurisdiction(&o, &query_map(q.as_deref()), format) {
        return a.into_response();
    }
    let ids = [id.to_owned()];
    let found = match o.lookup(Some(&ids), &[], 0, 0).await {
        Ok(f) => f,
        Err(e) => return unavailable(format, e).into_response(),
    };
    match found.first().cloned().or_else(|| o.remembered(id)) {
        Some(f) => ok(format, "service_requests", &json!([request_view(&f)])),
        None => problem(format, 404, &format!("no service request {id}")),
    }
    .into_response()
}

/// Tokens: this server answers every request with its id at once, so a token is the id itself.
async fn get_token(
    State(o): State<Open311>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (token, format) = match split(&file) {
        Ok(x) => x,
        Err(a) => return a.into_response(),
    };
    if let Err(a) = check_jurisdiction(&o, &query_map(q.as_deref()), format) {
        return a.into_response();
    }
    let ids = [token.to_owned()];
    let known = match o.lookup(Some(&ids), &[], 0, 0).await {
        Ok(f) => !f.is_empty() || o.remembered(token).is_some(),
        Err(e) => return unavailable(format, e).into_response(),
    };
    if known {
        ok(
            format,
            "service_requests",
            &json!([{"service_request_id": token, "token": token}]),
        )
    } else {
        problem(format, 404, &format!("no token {token}"))
    }
    .into_response()
}
