//! Reading work orders back: what the dispatch API answers a department's `GET` with.
//!
//! Current state is the highest version of each order. The queries never filter versions by a
//! column that changes between them (owner, status) before `FINAL` has picked the current one:
//! they select the orders by id (the same in every version) and filter the current rows here,
//! so a re-dispatched order never shows up in its former owner's list with a stale version.

use cityops_core::{CategoryId, DepartmentId, GeoPoint, ScenarioId, WorkOrder};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::rows::WorkOrderRow;

/// Why an order could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("ClickHouse query failed: {0}")]
    Query(#[from] clickhouse::error::Error),
    #[error("order {order_id} has an unreadable {field} {value:?} in ClickHouse")]
    Corrupt {
        order_id: String,
        field: &'static str,
        value: String,
    },
}

/// Which orders of a department a list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusFilter {
    /// Not closed.
    Open,
    /// Every status.
    All,
    /// One status (`dispatched`, `accepted`...).
    Only(String),
}

impl StatusFilter {
    fn admits(&self, status: &str) -> bool {
        match self {
            StatusFilter::Open => status != "closed",
            StatusFilter::All => true,
            StatusFilter::Only(s) => s == status,
        }
    }
}

fn enum_from_name<T: DeserializeOwned>(
    order_id: &str,
    field: &'static str,
    name: &str,
) -> Result<T, ReadError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|_| {
        ReadError::Corrupt {
            order_id: order_id.to_owned(),
            field,
            value: name.to_owned(),
        }
    })
}

impl TryFrom<WorkOrderRow> for WorkOrder {
    type Error = ReadError;

    fn try_from(r: WorkOrderRow) -> Result<Self, ReadError> {
        let id = r.order_id.as_str();
        let warning = |field, w: &Option<String>| {
            w.as_deref()
                .map(|w| enum_from_name(id, field, w))
                .transpose()
        };
        Ok(WorkOrder {
            severity: enum_from_name(id, "severity", &r.severity)?,
            status: enum_from_name(id, "status", &r.status)?,
            accept_warning: warning("accept_warning", &r.accept_warning)?,
            resolve_warning: warning("resolve_warning", &r.resolve_warning)?,
            location: r.lat.zip(r.lon).map(|(lat, lon)| GeoPoint { lat, lon }),
            owner: DepartmentId::new(r.owner),
            co_departments: r
                .co_departments
                .into_iter()
                .map(DepartmentId::new)
                .collect(),
            scenario: ScenarioId::new(r.scenario),
            category: CategoryId::new(r.category),
            version: i64::try_from(r.version).unwrap_or(i64::MAX),
            order_id: r.order_id,
            incident_ids: r.incident_ids,
            street_key: r.street_key,
            district_code: r.district_code,
            device_id: r.device_id,
            created_at_ms: r.created_at_ms,
            accept_deadline_ms: r.accept_deadline_ms,
            resolve_deadline_ms: r.resolve_deadline_ms,
            accepted_at_ms: r.accepted_at_ms,
            resolved_at_ms: r.resolved_at_ms,
            closed_at_ms: r.closed_at_ms,
            extension_requested: r.extension_requested,
            satisfaction: r.satisfaction,
            routing_reason: r.routing_reason,
            updated_at_ms: r.updated_at_ms,
        })
    }
}

/// The orders `department` owns or works on as a co-department, as they stand now, most
/// recently changed first, at most `limit`.
pub async fn department_orders(
    client: &clickhouse::Client,
    department: &str,
    status: &StatusFilter,
    limit: usize,
) -> Result<Vec<WorkOrder>, ReadError> {
    let rows = client
        .query(
            "SELECT ?fields FROM workorders FINAL \
             WHERE order_id IN (SELECT order_id FROM workorders \
                                WHERE owner = ? OR has(co_departments, ?)) \
             ORDER BY updated_at_ms DESC, order_id",
        )
        .bind(department)
        .bind(department)
        .fetch_all::<WorkOrderRow>()
        .await?;
    rows.into_iter()
        .filter(|r| {
            (r.owner == department || r.co_departments.iter().any(|d| d == department))
                && status.admits(&r.status)
        })
        .take(limit)
        .map(WorkOrder::try_from)
        .collect()
}

/// The orders of every department in `status` as they stand now, most recently changed
/// first, at most `limit`: the command centre's view (its queue of returned orders is
/// `StatusFilter::Only("returned")`).
pub async fn city_orders(
    client: &clickhouse::Client,
    status: &StatusFilter,
    limit: usize,
) -> Result<Vec<WorkOrder>, ReadError> {
    // With FINAL, WHERE filters the orders as they stand (each order's latest version).
    let filter = match status {
        StatusFilter::Open => "WHERE status != 'closed'",
        StatusFilter::All => "",
        StatusFilter::Only(_) => "WHERE status = ?",
    };
    let mut query = client.query(&format!(
        "SELECT ?fields FROM workorders FINAL {filter} ORDER BY updated_at_ms DESC, order_id LIMIT ?"
    ));
    if let StatusFilter::Only(s) = status {
        query = query.bind(s.as_str());
    }
    query
        .bind(limit as u64)
        .fetch_all::<WorkOrderRow>()
        .await?
        .into_iter()
        .map(WorkOrder::try_from)
        .collect()
}

/// One order as it stands now.
pub async fn order(
    client: &clickhouse::Client,
    order_id: &str,
) -> Result<Option<WorkOrder>, ReadError> {
    let row = client
        .query("SELECT ?fields FROM workorders FINAL WHERE order_id = ?")
        .bind(order_id)
        .fetch_optional::<WorkOrderRow>()
        .await?;
    row.map(WorkOrder::try_from).transpose()
}

/// One entry of an order's history, as the dispatch API shows it.
#[derive(Debug, Clone, PartialEq, clickhouse::Row, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub transition_id: String,
    pub seq: i64,
    pub kind: String,
    pub actor: String,
    pub at_ms: i64,
    pub status_before: Option<String>,
    pub status_after: String,
    pub reason: Option<String>,
    pub note: Option<String>,
    pub new_deadline_ms: Option<i64>,
    pub satisfaction: Option<i32>,
    pub rejected: bool,
    pub rejection_reason: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// Every transition of an order, rejected attempts included, in order.
pub async fn order_history(
    client: &clickhouse::Client,
    order_id: &str,
) -> Result<Vec<HistoryEntry>, ReadError> {
    Ok(client
        .query("SELECT ?fields FROM workorder_events FINAL WHERE order_id = ? ORDER BY seq")
        .bind(order_id)
        .fetch_all::<HistoryEntry>()
        .await?)
}
