//! Shared fixtures: the shipped catalogue and calendar, incidents, local times.
#![allow(dead_code, clippy::unwrap_used)]

use chrono::{NaiveDateTime, TimeZone};
use cityops_core::calendar::GovernmentCalendar;
use cityops_core::catalogue::Catalogue;
use cityops_core::{
    CategoryId, CityEvent, Classification, ClassifiedBy, GeoPoint, Incident, LocationPrecision,
    ScenarioId, Severity, Source,
};
use cityops_dispatch::{
    decide, Actor, ChainHead, Command, Context, Decision, ManualClock, MergeConfig, PartitionState,
    Policy,
};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 60 * MIN;
pub const DAY: i64 = 24 * HOUR;

pub const STREET: &str = "210106001";
pub const STREET_NAME: &str = "兴华街道";
pub const DISTRICT: &str = "210106";

pub fn catalogue() -> Catalogue {
    Catalogue::from_toml_str(include_str!("../../../../config/catalogue.toml")).unwrap()
}

pub fn calendar() -> GovernmentCalendar {
    GovernmentCalendar::from_toml_str(include_str!("../../../../config/calendar.toml")).unwrap()
}

pub fn policy() -> Arc<Policy> {
    Arc::new(Policy::new(catalogue(), calendar(), MergeConfig::default()))
}

/// UTC ms of a China Standard Time local time "YYYY-MM-DD HH:MM[:SS]".
pub fn cst(text: &str) -> i64 {
    let fmt = if text.len() > 16 {
        "%Y-%m-%d %H:%M:%S"
    } else {
        "%Y-%m-%d %H:%M"
    };
    let naive = NaiveDateTime::parse_from_str(text, fmt).unwrap();
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .from_local_datetime(&naive)
        .unwrap()
        .timestamp_millis()
}

/// "YYYY-MM-DD HH:MM:SS" in China Standard Time.
pub fn show(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

pub const HERE: GeoPoint = GeoPoint {
    lat: 41.7962,
    lon: 123.3589,
};

/// A point `north_m` metres north of [`HERE`].
pub fn north_of_here(north_m: f64) -> GeoPoint {
    GeoPoint {
        lat: HERE.lat + north_m / 111_195.0,
        lon: HERE.lon,
    }
}

/// An incident of `category` (scenario, severity and actionable flag from the catalogue) on
/// [`STREET`] at [`HERE`], occurred at `at`.
pub fn incident(id: &str, category: &str, at: i64) -> Incident {
    let cat = catalogue();
    let c = cat.category(&CategoryId::from(category));
    Incident {
        incident_id: id.to_owned(),
        event: CityEvent {
            event_id: id.to_owned(),
            source: Source::Hotline,
            source_id: id.to_owned(),
            occurred_at_ms: at,
            received_at_ms: at,
            location: Some(HERE),
            address: None,
            district_hint: None,
            text: Some("市民来电".to_owned()),
            channel: Some("phone".to_owned()),
            request_type: Some("投诉".to_owned()),
            device_id: None,
            device_type: None,
            metrics: BTreeMap::new(),
            device_event: None,
            tags: BTreeMap::new(),
            reporter_hash: None,
            attachments: Vec::new(),
        },
        district_code: Some(DISTRICT.to_owned()),
        district_name: Some("铁西区".to_owned()),
        street_code: Some(STREET.to_owned()),
        street_name: Some(STREET_NAME.to_owned()),
        grid_code: None,
        location_precision: LocationPrecision::Point,
        h3_cell: None,
        scenario: c.map_or(ScenarioId::from("other"), |c| c.scenario.clone()),
        category: CategoryId::from(category),
        severity: c.map_or(Severity::Normal, |c| c.severity),
        actionable: c.is_none_or(|c| c.is_actionable()),
        classification: Classification {
            method: ClassifiedBy::Rule,
            rule_id: Some("test".to_owned()),
            confidence: 1.0,
            model_version: None,
        },
        catalogue_version: "test".to_owned(),
        enriched_at_ms: at,
    }
}

/// The same, from an IoT device.
pub fn device_incident(id: &str, category: &str, device: &str, at: i64) -> Incident {
    let mut i = incident(id, category, at);
    i.event.source = Source::Iot;
    i.event.device_id = Some(device.to_owned());
    i.event.device_type = Some("gas_detector".to_owned());
    i.classification.method = ClassifiedBy::IotRule;
    i
}

pub fn at(mut i: Incident, location: Option<GeoPoint>) -> Incident {
    i.event.location = location;
    i
}

pub fn state(policy: &Arc<Policy>, clock: &ManualClock) -> PartitionState {
    PartitionState::new(policy.clone(), Arc::new(clock.clone()))
}

pub fn gas() -> Actor {
    Actor::Department("gas".into())
}

pub fn cc() -> Actor {
    Actor::CommandCenter
}

/// Applies `command` to `head` at `now`; panics unless applied.
pub fn step(
    policy: &Policy,
    head: &ChainHead,
    actor: &Actor,
    command: Command,
    now: i64,
) -> ChainHead {
    let ctx = Context {
        now_ms: now,
        actor,
        policy,
        command_id: None,
    };
    match decide(Some(head), &command, &ctx) {
        Decision::Applied(e) => ChainHead::from_event(&e),
        other => panic!("{command:?} by {actor:?} not applied: {other:?}"),
    }
}

/// A created order (not yet dispatched) for `incident`, at `now`.
pub fn created(policy: &Policy, incident: &Incident, now: i64) -> ChainHead {
    let ctx = Context {
        now_ms: now,
        actor: &Actor::Dispatch,
        policy,
        command_id: None,
    };
    match decide(
        None,
        &Command::Create {
            incident: Box::new(incident.clone()),
        },
        &ctx,
    ) {
        Decision::Applied(e) => ChainHead::from_event(&e),
        other => panic!("create not applied: {other:?}"),
    }
}

pub fn note(text: &str) -> Option<String> {
    Some(text.to_owned())
}
