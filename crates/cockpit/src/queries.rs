//! The cockpit's ClickHouse queries. Every value from a request is validated first
//! ([`crate::params`]) and then bound (`?`), never spliced into SQL text; the rest are the
//! server's own clock and constants. Each query reads the current state with `FINAL` and runs on
//! ClickHouse 18.16 and current releases.

use clickhouse::Client;
use serde::Deserialize;

use crate::params::Filters;

/// Times the queries need, all in milliseconds since the epoch.
#[derive(Debug, Clone, Copy)]
pub struct Moments {
    pub now_ms: i64,
    /// Today's local midnight.
    pub today_ms: i64,
    /// The local midnight six days before today's: the start of the last 7 days.
    pub week_ms: i64,
}

fn counted(endpoint: &'static str) {
    metrics::counter!("cityops_cockpit_queries_total", "endpoint" => endpoint).increment(1);
}

fn district(f: &Filters) -> &str {
    f.district.as_deref().unwrap_or_default()
}

fn scenario(f: &Filters) -> &str {
    f.scenario.as_deref().unwrap_or_default()
}

/// Work-order counts behind the KPI tiles (see docs/cockpit.md for each definition).
#[derive(Debug, Clone, Default, PartialEq, clickhouse::Row, Deserialize)]
pub struct OrderCounts {
    pub orders_today: u64,
    pub orders_week: u64,
    pub open_orders: u64,
    pub accept_due_today: u64,
    pub accepted_on_time_today: u64,
    pub accept_due_week: u64,
    pub accepted_on_time_week: u64,
    pub resolve_due_today: u64,
    pub resolved_today: u64,
    pub resolve_due_week: u64,
    pub resolved_week: u64,
    pub closed_today: u64,
    pub closed_on_time_today: u64,
    pub closed_week: u64,
    pub closed_on_time_week: u64,
}

pub async fn order_counts(
    client: &Client,
    f: &Filters,
    at: Moments,
) -> Result<OrderCounts, clickhouse::error::Error> {
    counted("summary");
    client
        .query(
            "WITH ? AS f_district, ? AS f_scenario, ? AS t0, ? AS w0, ? AS now_ms
             SELECT
                 countIf(created_at_ms >= t0),
                 countIf(created_at_ms >= w0),
                 countIf(status NOT IN ('resolved', 'closed')),
                 countIf(ifNull(accept_deadline_ms >= t0 AND accept_deadline_ms <= now_ms, 0) AND status != 'returned'),
                 countIf(ifNull(accept_deadline_ms >= t0 AND accept_deadline_ms <= now_ms AND accepted_at_ms <= accept_deadline_ms, 0) AND status != 'returned'),
                 countIf(ifNull(accept_deadline_ms >= w0 AND accept_deadline_ms <= now_ms, 0) AND status != 'returned'),
                 countIf(ifNull(accept_deadline_ms >= w0 AND accept_deadline_ms <= now_ms AND accepted_at_ms <= accept_deadline_ms, 0) AND status != 'returned'),
                 countIf(ifNull(resolve_deadline_ms >= t0 AND resolve_deadline_ms <= now_ms, 0) AND status != 'returned'),
                 countIf(ifNull(resolve_deadline_ms >= t0 AND resolve_deadline_ms <= now_ms, 0) AND status IN ('resolved', 'closed')),
                 countIf(ifNull(resolve_deadline_ms >= w0 AND resolve_deadline_ms <= now_ms, 0) AND status != 'returned'),
                 countIf(ifNull(resolve_deadline_ms >= w0 AND resolve_deadline_ms <= now_ms, 0) AND status IN ('resolved', 'closed')),
                 countIf(status = 'closed' AND ifNull(closed_at_ms >= t0, 0) AND isNotNull(resolve_deadline_ms)),
                 countIf(status = 'closed' AND ifNull(closed_at_ms >= t0 AND ifNull(resolved_at_ms, closed_at_ms) <= resolve_deadline_ms, 0)),
                 countIf(status = 'closed' AND ifNull(closed_at_ms >= w0, 0) AND isNotNull(resolve_deadline_ms)),
                 countIf(status = 'closed' AND ifNull(closed_at_ms >= w0 AND ifNull(resolved_at_ms, closed_at_ms) <= resolve_deadline_ms, 0))
             FROM workorders FINAL
             WHERE (f_district = '' OR ifNull(district_code, '') = f_district)
               AND (f_scenario = '' OR scenario = f_scenario)",
        )
        .bind(district(f))
        .bind(scenario(f))
        .bind(at.today_ms)
        .bind(at.week_ms)
        .bind(at.now_ms)
        .fetch_one()
        .await
}

/// Scored callbacks (回访) today and in the last 7 days, and how many scored 4 or 5.
#[derive(Debug, Clone, Default, PartialEq, clickhouse::Row, Deserialize)]
pub struct Callbacks {
    pub scored_today: u64,
    pub satisfied_today: u64,
    pub scored_week: u64,
    pub satisfied_week: u64,
}

pub async fn callbacks(
    client: &Client,
    f: &Filters,
    at: Moments,
) -> Result<Callbacks, clickhouse::error::Error> {
    counted("summary");
    client
        .query(
            "WITH ? AS f_district, ? AS f_scenario, ? AS t0, ? AS w0
             SELECT
                 countIf(at_ms >= t0),
                 countIf(at_ms >= t0 AND ifNull(satisfaction, 0) >= 4),
                 count(),
                 countIf(ifNull(satisfaction, 0) >= 4)
             FROM workorder_events FINAL
             WHERE kind = 'satisfaction_recorded' AND rejected = 0 AND isNotNull(satisfaction)
               AND at_ms >= w0
               AND (f_district = '' OR ifNull(district_code, '') = f_district)
               AND (f_scenario = '' OR scenario = f_scenario)",
        )
        .bind(district(f))
        .bind(scenario(f))
        .bind(at.today_ms)
        .bind(at.week_ms)
        .fetch_one()
        .await
}

/// An open order with a warning on one of its clocks (whether that clock still runs is
/// decided by [`crate::figures::running_warning`]).
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct WarnedOrder {
    pub order_id: String,
    pub owner: String,
    pub category: String,
    pub severity: String,
    pub status: String,
    pub accept_warning: Option<String>,
    pub resolve_warning: Option<String>,
    pub accept_deadline_ms: Option<i64>,
    pub resolve_deadline_ms: Option<i64>,
    pub street_key: String,
}

pub async fn warned_orders(
    client: &Client,
    f: &Filters,
    endpoint: &'static str,
) -> Result<Vec<WarnedOrder>, clickhouse::error::Error> {
    counted(endpoint);
    client
        .query(
            "WITH ? AS f_district, ? AS f_scenario
             SELECT order_id, owner, category, severity, status, accept_warning, resolve_warning,
                    accept_deadline_ms, resolve_deadline_ms, street_key
             FROM workorders FINAL
             WHERE status IN ('dispatched', 'accepted', 'in_progress', 'reopened')
               AND (isNotNull(accept_warning) OR isNotNull(resolve_warning))
               AND (f_district = '' OR ifNull(district_code, '') = f_district)
               AND (f_scenario = '' OR scenario = f_scenario)",
        )
        .bind(district(f))
        .bind(scenario(f))
        .fetch_all()
        .await
}

/// Incidents per scenario in the last hour, today and the same hour yesterday.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct ScenarioCount {
    pub scenario: String,
    pub last_hour: u64,
    pub today: u64,
    pub same_hour_yesterday: u64,
}

pub async fn scenario_counts(
    client: &Client,
    f: &Filters,
    at: Moments,
) -> Result<Vec<ScenarioCount>, clickhouse::error::Error> {
    counted("scenarios");
    let minute = |ms: i64| u32::try_from(ms.div_euclid(60_000) * 60).unwrap_or(0);
    let hour_start = minute(at.now_ms) - 59 * 60;
    let yesterday = hour_start - 86_400;
    client
        .query(
            "WITH ? AS f_district, toDateTime(?) AS hour_start, toDateTime(?) AS today_start,
                  toDateTime(?) AS yh_start, toDateTime(?) AS yh_end
             SELECT scenario,
                    uniqExactMergeIf(incidents, minute >= hour_start),
                    uniqExactMergeIf(incidents, minute >= today_start),
                    uniqExactMergeIf(incidents, minute >= yh_start AND minute < yh_end)
             FROM incidents_per_minute
             WHERE minute >= least(today_start, yh_start)
               AND (f_district = '' OR district = f_district)
             GROUP BY scenario",
        )
        .bind(district(f))
        .bind(hour_start)
        .bind(u32::try_from(at.today_ms / 1000).unwrap_or(0))
        .bind(yesterday)
        .bind(yesterday + 3600)
        .fetch_all()
        .await
}

/// Open incidents (of open work orders) per street.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize, serde::Serialize)]
pub struct StreetCount {
    pub street_code: String,
    pub open_incidents: u64,
}

pub async fn street_counts(
    client: &Client,
    f: &Filters,
) -> Result<Vec<StreetCount>, clickhouse::error::Error> {
    counted("streets");
    client
        .query(
            "WITH ? AS f_district, ? AS f_scenario
             SELECT street_key, toUInt64(sum(length(incident_ids)))
             FROM workorders FINAL
             WHERE status NOT IN ('resolved', 'closed')
               AND match(street_key, '^[0-9]{9}$')
               AND (f_district = '' OR ifNull(district_code, '') = f_district)
               AND (f_scenario = '' OR scenario = f_scenario)
             GROUP BY street_key
             ORDER BY street_key",
        )
        .bind(district(f))
        .bind(scenario(f))
        .fetch_all()
        .await
}

/// Open incidents (of open work orders) per grid of one street.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize, serde::Serialize)]
pub struct GridCount {
    pub grid_code: String,
    pub open_incidents: u64,
}

/// How long before its order was created an incident may have happened (a late report), at
/// most: the grid counts look that far back.
const LATE_REPORT_MS: i64 = 7 * 86_400_000;

/// The open work orders of one street: how many, and when the first was created.
#[derive(Debug, Clone, Copy, PartialEq, clickhouse::Row, Deserialize)]
struct OpenOrders {
    orders: u64,
    first_created_ms: i64,
}

/// The incidents of the open work orders on `f.street` (merged duplicates included, as for
/// the streets), counted by the grid each was placed in; an incident placed in no grid (an
/// address known only to its street) is on none. The incidents are read from the first open
/// order's creation on (less [`LATE_REPORT_MS`]), so the scan is bounded by the street's own
/// orders, not by the table.
pub async fn grid_counts(
    client: &Client,
    f: &Filters,
) -> Result<Vec<GridCount>, clickhouse::error::Error> {
    counted("grids");
    let street = f.street.as_deref().unwrap_or_default();
    let open: OpenOrders = client
        .query(
            "SELECT count(), min(created_at_ms)
             FROM workorders FINAL
             WHERE status NOT IN ('resolved', 'closed')
               AND street_key = ?
               AND (? = '' OR scenario = ?)",
        )
        .bind(street)
        .bind(scenario(f))
        .bind(scenario(f))
        .fetch_one()
        .await?;
    if open.orders == 0 {
        return Ok(Vec::new());
    }
    let since_s = (open.first_created_ms - LATE_REPORT_MS).max(0) / 1000;
    client
        .query(
            "SELECT assumeNotNull(grid_code), count()
             FROM incidents FINAL
             WHERE occurred_at >= toDateTime(?)
               AND isNotNull(grid_code)
               AND incident_id IN (
                   SELECT arrayJoin(incident_ids) FROM workorders FINAL
                   WHERE status NOT IN ('resolved', 'closed')
                     AND street_key = ?
                     AND (? = '' OR scenario = ?))
             GROUP BY grid_code
             ORDER BY grid_code",
        )
        .bind(since_s)
        .bind(street)
        .bind(scenario(f))
        .bind(scenario(f))
        .fetch_all()
        .await
}

/// An incident as the map and the feed show it.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct IncidentRow {
    pub incident_id: String,
    pub scenario: String,
    pub category: String,
    pub severity: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub district_code: Option<String>,
    pub street_code: Option<String>,
    pub occurred_at_ms: i64,
    pub text: Option<String>,
    pub device_type: Option<String>,
    pub device_id: Option<String>,
    pub address: Option<String>,
}

pub async fn incidents(
    client: &Client,
    f: &Filters,
    since_ms: i64,
    limit: u32,
) -> Result<Vec<IncidentRow>, clickhouse::error::Error> {
    counted("incidents");
    client
        .query(
            "WITH ? AS f_district, ? AS f_scenario, ? AS since_ms
             SELECT incident_id, scenario, category, severity, lat, lon, district_code,
                    street_code, occurred_at_ms, text, device_type, device_id, address
             FROM incidents FINAL
             WHERE occurred_at >= toDateTime(intDiv(since_ms, 1000)) AND occurred_at_ms >= since_ms
               AND (f_district = '' OR ifNull(district_code, '') = f_district)
               AND (f_scenario = '' OR scenario = f_scenario)
             ORDER BY occurred_at_ms DESC, incident_id
             LIMIT ?",
        )
        .bind(district(f))
        .bind(scenario(f))
        .bind(since_ms)
        .bind(limit)
        .fetch_all()
        .await
}

/// An order of the manual-triage queue.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct TriageRow {
    pub order_id: String,
    pub category: String,
    pub created_at_ms: i64,
    pub street_key: String,
    pub first_incident: String,
}

pub async fn triage(
    client: &Client,
    command_center: &str,
    limit: u32,
) -> Result<Vec<TriageRow>, clickhouse::error::Error> {
    counted("triage");
    client
        .query(
            "WITH ? AS cc
             SELECT order_id, category, created_at_ms, street_key, incident_ids[1]
             FROM workorders FINAL
             WHERE owner = cc AND status NOT IN ('resolved', 'closed', 'returned')
             ORDER BY created_at_ms, order_id
             LIMIT ?",
        )
        .bind(command_center)
        .bind(limit)
        .fetch_all()
        .await
}

/// What a summary is made of, per incident.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Deserialize)]
pub struct ReportRow {
    pub incident_id: String,
    pub text: Option<String>,
    pub device_type: Option<String>,
    pub device_id: Option<String>,
    pub address: Option<String>,
}

pub async fn reports(
    client: &Client,
    incident_ids: &[String],
) -> Result<Vec<ReportRow>, clickhouse::error::Error> {
    if incident_ids.is_empty() {
        return Ok(Vec::new());
    }
    counted("triage");
    client
        .query(
            "SELECT incident_id, text, device_type, device_id, address
             FROM incidents FINAL
             WHERE has(?, incident_id)",
        )
        .bind(incident_ids)
        .fetch_all()
        .await
}
