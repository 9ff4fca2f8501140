//! A service request as GeoReport v2 shows it: its status is its work order's.

use chrono::{FixedOffset, TimeZone};
use serde_json::{json, Value};

/// What is known of a filed request: the event, and its work order once dispatch opened (or
/// merged it into) one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestFacts {
    pub service_request_id: String,
    pub service_code: String,
    pub service_name: String,
    pub description: Option<String>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub media_url: Option<String>,
    pub requested_ms: i64,
    /// `Some(false)` once enrichment found it needs no work order.
    pub actionable: Option<bool>,
    pub order: Option<OrderFacts>,
}

/// The work order a request joined.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrderFacts {
    pub status: String,
    /// The owning department's name.
    pub agency: String,
    pub resolve_deadline_ms: Option<i64>,
    pub updated_ms: i64,
}

/// A time as the specification writes it (W3C, with its offset), in China Standard Time.
pub fn w3c(ms: i64) -> String {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    cst.timestamp_millis_opt(ms)
        .single()
        .map_or_else(String::new, |t| {
            t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
        })
}

/// `open` or `closed`, and a note in words a citizen understands.
pub fn status_of(f: &RequestFacts) -> (&'static str, String) {
    let Some(o) = &f.order else {
        return match f.actionable {
            Some(false) => ("closed", "已记录，无需派单处置".to_owned()),
            _ => ("open", "已受理，正在分派".to_owned()),
        };
    };
    let agency = &o.agency;
    match o.status.as_str() {
        "closed" => ("closed", "已办结并核查结案".to_owned()),
        "created" | "dispatched" => ("open", format!("已派遣至{agency}")),
        "accepted" => ("open", format!("{agency}已签收")),
        "in_progress" => ("open", format!("{agency}正在处置")),
        "resolved" => ("open", format!("{agency}已办结，待核查")),
        "returned" => ("open", "正在重新分派".to_owned()),
        "reopened" => ("open", format!("{agency}重新办理中")),
        _ => ("open", "处理中".to_owned()),
    }
}

/// The request object of `GET requests` and `GET requests/{id}`.
pub fn request_view(f: &RequestFacts) -> Value {
    let (status, notes) = status_of(f);
    let order = f.order.as_ref();
    json!({
        "service_request_id": f.service_request_id,
        "status": status,
        "status_notes": notes,
        "service_name": f.service_name,
        "service_code": f.service_code,
        "description": f.description,
        "agency_responsible": order.map(|o| o.agency.clone()),
        "service_notice": Value::Null,
        "requested_datetime": w3c(f.requested_ms),
        "updated_datetime": w3c(order.map_or(f.requested_ms, |o| o.updated_ms)),
        "expected_datetime": order.and_then(|o| o.resolve_deadline_ms).map(w3c),
        "address": f.address,
        "address_id": Value::Null,
        "zipcode": Value::Null,
        "lat": f.lat,
        "long": f.lon,
        "media_url": f.media_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_is_the_work_orders() {
        let mut f = RequestFacts {
            service_request_id: "SY311-1".into(),
            requested_ms: 1_795_334_400_000,
            ..RequestFacts::default()
        };
        assert_eq!(status_of(&f).0, "open");
        f.order = Some(OrderFacts {
            status: "in_progress".into(),
            agency: "市城市管理行政执法局".into(),
            resolve_deadline_ms: Some(1_795_420_800_000),
            updated_ms: 1_795_338_000_000,
        });
        let v = request_view(&f);
        assert_eq!(v["status"], "open");
        assert_eq!(v["status_notes"], "市城市管理行政执法局正在处置");
        assert_eq!(v["agency_responsible"], "市城市管理行政执法局");
        assert_eq!(v["requested_datetime"], "2026-11-22T16:00:00+08:00");
        assert_eq!(v["expected_datetime"], "2026-11-23T16:00:00+08:00");
        f.order.as_mut().unwrap().status = "closed".into();
        assert_eq!(request_view(&f)["status"], "closed");
        f.order = None;
        f.actionable = Some(false);
        assert_eq!(status_of(&f).0, "closed");
    }
}
