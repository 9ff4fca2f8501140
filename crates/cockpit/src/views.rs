//! The JSON shapes of the cockpit API (docs/cockpit.md), built from query rows and topic
//! values alike so the page gets one shape for one thing.

use serde_json::{json, Value};

use crate::names::Names;

/// An incident as `/api/v1/incidents` and the `incident` event show it.
#[allow(clippy::too_many_arguments)]
pub fn incident_view(
    names: &Names,
    incident_id: &str,
    scenario: &str,
    category: &str,
    severity: &Value,
    location: Option<(f64, f64)>,
    district_code: Option<&str>,
    street_code: Option<&str>,
    occurred_at_ms: i64,
    summary: String,
) -> Value {
    json!({
        "incident_id": incident_id,
        "scenario": scenario,
        "category": category,
        "category_name": names.category_name(category),
        "severity": severity,
        "lat": location.map(|(lat, _)| lat),
        "lon": location.map(|(_, lon)| lon),
        "district_code": district_code,
        "street_code": street_code,
        "occurred_at_ms": occurred_at_ms,
        "summary": summary,
    })
}

/// The one-line summary of a report (see [`crate::figures::summary`]), naming a device by its
/// type's name.
pub fn report_summary(
    names: &Names,
    text: Option<&str>,
    device_type: Option<&str>,
    device_id: Option<&str>,
    address: Option<&str>,
) -> String {
    let device = device_type
        .zip(device_id)
        .map(|(t, id)| (names.device_type_name(t), id));
    crate::figures::summary(text, device, address)
}
