//! Enrichment on the shipped configuration: catalogue, generated Shenyang geography, trained
//! model and life-safety rules.

use cityops_core::calendar::GovernmentCalendar;
use cityops_core::catalogue::Catalogue;
use cityops_core::*;
use cityops_enrich::{dry_run, EnrichConfig, Enriched, Enricher, OrderRoute};
use cityops_ingest::raw::IntakeRules;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

const NOW: i64 = 1_795_300_000_000;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn enricher() -> &'static Enricher {
    static E: OnceLock<Enricher> = OnceLock::new();
    E.get_or_init(|| {
        let catalogue =
            Arc::new(Catalogue::load(root().join("config/catalogue.toml")).expect("catalogue"));
        let config = EnrichConfig {
            model: root().join(cityops_classify::MODEL_PATH),
            rules: root().join(cityops_classify::RULES_PATH),
            ..EnrichConfig::default()
        };
        Enricher::load(catalogue, &root().join("config/geo"), &config).expect("enricher")
    })
}

fn ticket(id: &str, text: &str) -> CityEvent {
    cityops_testkit::samples::ticket(id, text, NOW - 60_000)
}

fn reading(device_type: &str, metrics: &[(&str, f64)], at: GeoPoint) -> CityEvent {
    let device = format!("SY-{device_type}-1");
    let mut e = cityops_testkit::samples::reading(&device, device_type, "", 0.0, at, NOW - 60_000);
    e.metrics = metrics.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
    e
}

fn incident(e: &CityEvent) -> Incident {
    match enricher().enrich(e, NOW).expect("enriched").0 {
        Enriched::Incident(i) => *i,
        Enriched::Telemetry(r) => panic!("expected an incident, got telemetry {r:?}"),
    }
}

/// A point in 铁西区 (the centre of its first grid's street).
const TIEXI: GeoPoint = GeoPoint {
    lat: 41.7962,
    lon: 123.3589,
};

#[test]
fn a_gas_alarm_is_a_critical_gas_leak_placed_to_its_grid() {
    let i = incident(&reading("gas_detector", &[("ch4_lel", 35.0)], TIEXI));
    assert_eq!(i.category, CategoryId::from("gas_leak"));
    assert_eq!(i.scenario, ScenarioId::from("emergency"));
    assert_eq!(i.severity, Severity::Critical);
    assert!(i.actionable);
    assert_eq!(i.classification.method, ClassifiedBy::IotRule);
    assert_eq!(
        i.classification.rule_id.as_deref(),
        Some("gas_detector.ch4_lel_ge_20")
    );
    assert_eq!(i.district_code.as_deref(), Some("210106"));
    assert_eq!(i.location_precision, LocationPrecision::Point);
    assert!(i.grid_code.is_some() && i.h3_cell.is_some());
    assert_eq!(i.partition_key(), i.street_code.as_deref().expect("street"));
    assert_eq!(i.catalogue_version, enricher().catalogue().version());
}

#[test]
fn a_reading_under_its_threshold_is_telemetry() {
    match enricher()
        .enrich(&reading("gas_detector", &[("ch4_lel", 3.0)], TIEXI), NOW)
        .expect("ok")
        .0
    {
        Enriched::Telemetry(r) => {
            assert_eq!(r.device_type, "gas_detector");
            assert_eq!(r.district_code.as_deref(), Some("210106"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_bad_reading_is_an_error_not_a_guess() {
    let e = enricher().enrich(&reading("gas_detector", &[("co_ppm", 3.0)], TIEXI), NOW);
    assert!(e.is_err(), "{e:?}");
}

#[test]
fn a_gas_smell_ticket_with_an_address_is_a_gas_leak_placed_to_its_street() {
    let mut t = ticket(
        "T-1",
        "楼道里一股很冲的煤气味，邻居家敲门没人应，担心出事。",
    );
    t.address = Some("铁西区兴华南街58号".into());
    t.district_hint = Some("铁西区".into());
    let i = incident(&t);
    assert_eq!(i.category, CategoryId::from("gas_leak"));
    assert_eq!(i.classification.method, ClassifiedBy::Rule);
    assert_eq!(i.location_precision, LocationPrecision::Street);
    assert_eq!(i.district_name.as_deref(), Some("铁西区"));
    assert!(i.street_code.is_some());
    assert!(i.classification.model_version.is_some());
}

#[test]
fn a_ticket_with_only_a_district_is_keyed_by_the_district() {
    let mut t = ticket("T-2", "小区供暖不热，室温只有十五度，老人孩子受不了。");
    t.district_hint = Some("大东区".into());
    let i = incident(&t);
    assert_eq!(i.location_precision, LocationPrecision::District);
    assert_eq!(i.street_code, None);
    assert_eq!(i.partition_key(), "210104");
}

#[test]
fn an_event_outside_every_district_is_unlocated_not_an_error() {
    let mut t = ticket("T-3", "路灯不亮");
    t.location = Some(GeoPoint {
        lat: 39.9,
        lon: 116.4,
    }); // Beijing
    let i = incident(&t);
    assert_eq!(i.location_precision, LocationPrecision::Unlocated);
    assert_eq!(i.district_code, None);
    assert_eq!(i.partition_key(), UNLOCATED_KEY);
}

#[test]
fn dry_run_prints_one_decision_per_line_and_goes_on_after_a_bad_one() {
    let input = [
        r#"{"ticket_id": "D1", "received_at": "2026-11-21T08:15:00+08:00", "content": "家里老人摔倒了起不来，叫不醒", "address": "铁西区重工街道勋望小区", "district": "铁西区"}"#,
        r#"{"device_id": "SY-WL-1", "device_type": "water_level", "ts": "2026-11-21T08:15:00+08:00", "lat": 41.7962, "lon": 123.3589, "metrics": {"depth_cm": 22}}"#,
        "{not json",
        r#"{"device_id": "SY-PK-1", "device_type": "parking_sensor", "ts": "2026-11-21T08:15:00+08:00", "metrics": {"occupied": 1}}"#,
        r#"{"device_id": "SY-WL-2", "device_type": "water_level", "ts": "2026-11-21T08:15:00+08:00", "lat": 41.7962, "lon": 123.3589, "metrics": {"depth_cm": 1}}"#,
    ]
    .join("\n");
    // Dispatch's own routing, as the `cityops dry-run` binary hands it in.
    let policy = cityops_dispatch::Policy::new(
        (*enricher().catalogue()).clone(),
        GovernmentCalendar::load(root().join("config/calendar.toml")).expect("calendar"),
        cityops_dispatch::MergeConfig::default(),
    );
    let route = |incident: &Incident| {
        cityops_dispatch::route_incident(&policy, incident).map(|r| OrderRoute {
            owner: r.owner.to_string(),
            co_departments: r.co_departments.iter().map(ToString::to_string).collect(),
            reason: r.reason,
        })
    };
    let mut out = Vec::new();
    let summary = dry_run(
        enricher(),
        &IntakeRules::default(),
        &route,
        input.as_bytes(),
        &mut out,
        NOW,
    )
    .expect("dry run");
    assert_eq!(
        (summary.lines, summary.decisions, summary.errors),
        (5, 4, 1)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines[0]["source_id"], "D1");
    assert_eq!(lines[0]["category"], "fall_alarm", "{}", lines[0]);
    assert_eq!(lines[0]["department"], "ems_120");
    assert_eq!(lines[0]["street"], "重工街道");
    assert!(
        lines[0]["reason"]
            .as_str()
            .expect("reason")
            .contains("联动 重工街道办事处"),
        "{}",
        lines[0]
    );
    // The street office is the one of the incident's street (重工街道), as dispatch assigns it.
    assert_eq!(
        lines[0]["co_departments"],
        serde_json::json!(["street_office.210106004"]),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1]["category"], "waterlogging");
    assert_eq!(lines[1]["department"], "water");
    assert_eq!(
        lines[1]["co_departments"],
        serde_json::json!(["emergency_mgmt"])
    );
    assert_eq!(lines[2]["line"], 3);
    assert!(lines[2]["error"]
        .as_str()
        .expect("error")
        .contains("not JSON"));
    assert_eq!(lines[3]["actionable"], false);
    // A reading that is only telemetry is placed by name, like an incident.
    assert_eq!(
        lines[4]["category"],
        serde_json::Value::Null,
        "{}",
        lines[4]
    );
    assert_eq!(lines[4]["district"], "铁西区", "{}", lines[4]);
    assert!(lines[4]["street"].is_string(), "{}", lines[4]);
    assert_eq!(lines[4]["street"], lines[1]["street"], "{}", lines[4]);
    for key in [
        "source_id",
        "scenario",
        "category",
        "severity",
        "actionable",
        "department",
        "co_departments",
        "district",
        "street",
        "grid",
        "confidence",
        "reason",
    ] {
        assert!(
            lines[0].get(key).is_some(),
            "decision lacks {key}: {}",
            lines[0]
        );
    }
}
