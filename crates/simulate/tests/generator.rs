//! The pure generators against the shipped catalogue and geography: the fleet, the readings
//! and their crossings, the tickets, the episodes — and that what they make passes ingest's
//! own validation with the source ids the runner records.

#![allow(clippy::unwrap_used)]

use cityops_core::catalogue::ReadingVerdict;
use cityops_core::Source;
use cityops_ingest::pii::ReporterKey;
use cityops_ingest::raw::{reading_to_event, ticket_to_event, IntakeRules};
use cityops_simulate::{
    EpisodesConfig, Generator, GeneratorConfig, Item, Reading, Rng, SimulateConfig, Ticket,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

mod common;

use common::{world, ROOT};
const HOUR: i64 = 3_600_000;

fn ms(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

fn config(start: &str, hours: i64, episodes: bool) -> GeneratorConfig {
    let start_ms = ms(start);
    GeneratorConfig {
        seed: 42,
        start_ms,
        end_ms: start_ms + hours * HOUR,
        ticket_share: 0.25,
        devices: 1_500,
        crossing_rate: 0.02,
        repeat_caller_share: 0.12,
        ticket_prefix: "SIM12345".into(),
        device_prefix: "SIM".into(),
        run_tag: "t1".into(),
        episodes: EpisodesConfig {
            enabled: episodes,
            ..EpisodesConfig::default()
        },
    }
}

fn generator(start: &str, hours: i64, episodes: bool) -> Generator {
    Generator::new(world(), config(start, hours, episodes)).expect("generator")
}

/// A whole simulated span in 10-minute windows, `per_hour` ordinary items an hour.
fn day(g: &mut Generator, start: &str, hours: i64, per_hour: usize) -> Vec<Item> {
    let s = ms(start);
    let step = HOUR / 6;
    let mut out = Vec::new();
    let mut t = s;
    while t < s + hours * HOUR {
        out.extend(g.window(t, t + step, per_hour / 6));
        t += step;
    }
    out
}

fn tickets(items: &[Item]) -> Vec<&Ticket> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Ticket(t) => Some(t),
            Item::Reading(_) => None,
        })
        .collect()
}

fn readings(items: &[Item]) -> Vec<&Reading> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Reading(r) => Some(r),
            Item::Ticket(_) => None,
        })
        .collect()
}

#[test]
fn every_device_type_is_placed_inside_its_street() {
    let w = world();
    let g = generator("2026-11-21T00:00:00+08:00", 24, false);
    let fleet = g.fleet();
    for dt in w.catalogue.device_types() {
        assert!(
            fleet.of_type(&dt.id).len() >= 2,
            "no {} in the fleet",
            dt.id
        );
    }
    assert!(fleet.devices.len() >= 1_400);
    let ids: BTreeSet<&str> = fleet.devices.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids.len(), fleet.devices.len(), "device ids are unique");
    for d in fleet.devices.iter().step_by(7) {
        let street = &g.places().streets[d.spot.street];
        let place = w
            .geography
            .locate_quiet(d.spot.lat, d.spot.lon)
            .expect("inside the city");
        assert_eq!(
            place.street_code(),
            Some(street.code.as_str()),
            "{} is not in {}",
            d.id,
            street.name
        );
    }
    // Low-lying streets each have their water-level sensors; some meters belong to lone elders.
    assert_eq!(fleet.low_lying.len(), 4);
    for &s in &fleet.low_lying {
        let n = fleet
            .of_type("water_level")
            .iter()
            .filter(|&&d| fleet.devices[d].spot.street == s)
            .count();
        assert!(n >= 3);
    }
    let elders = fleet
        .of_type("smart_water_meter")
        .iter()
        .filter(|&&d| {
            fleet.devices[d]
                .tags
                .get("solitary_elder")
                .map(String::as_str)
                == Some("true")
        })
        .count();
    assert!(elders > 10, "{elders}");
}

#[test]
fn normal_readings_are_telemetry_and_crossings_really_cross() {
    let w = world();
    let mut g = generator("2026-07-10T00:00:00+08:00", 24, false);
    let items = day(&mut g, "2026-07-10T00:00:00+08:00", 24, 1_200);
    let rs = readings(&items);
    assert!(rs.len() > 15_000, "{}", rs.len());
    let mut alarms: BTreeMap<String, u64> = BTreeMap::new();
    let mut types = BTreeSet::new();
    for r in &rs {
        types.insert(r.device_type.clone());
        let verdict = w
            .catalogue
            .evaluate_reading(
                &r.device_type,
                &r.metrics,
                r.event.as_deref(),
                &r.tags,
                r.ts_ms,
            )
            .expect("a valid reading");
        match (&r.alarm, verdict) {
            (Some(c), ReadingVerdict::Incident { category, .. }) => {
                assert_eq!(c, category.as_str());
                *alarms.entry(r.device_type.clone()).or_insert(0) += 1;
            }
            (None, ReadingVerdict::Telemetry) => {}
            (a, v) => panic!("{} said {a:?}, the catalogue {v:?}: {r:?}", r.device_type),
        }
        assert_eq!(
            r.ts_ms % 1_000,
            0,
            "whole seconds, so the source id is exact"
        );
    }
    // Every type reports; every type with rules or events raises alarms at about the rate.
    for dt in w.catalogue.device_types() {
        assert!(types.contains(&dt.id), "no reading of {}", dt.id);
        if !dt.rules.is_empty() || !dt.events.is_empty() {
            assert!(
                alarms.get(&dt.id).copied().unwrap_or(0) > 0,
                "no alarm of {} in {alarms:?}",
                dt.id
            );
        }
    }
    let total: u64 = alarms.values().sum();
    let share = total as f64 / rs.len() as f64;
    assert!((0.01..0.035).contains(&share), "alarm share {share}");
    // The noise rule holds only at night: its alarms are all at night.
    for r in rs
        .iter()
        .filter(|r| r.device_type == "noise_monitor" && r.alarm.is_some())
    {
        let hour = chrono::DateTime::from_timestamp_millis(r.ts_ms)
            .unwrap()
            .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
            .format("%H")
            .to_string()
            .parse::<u32>()
            .unwrap();
        assert!(!(6..22).contains(&hour), "noise alarm at {hour}h");
    }
    // One device never reports twice at the same millisecond (the source id is unique).
    let ids: BTreeSet<String> = rs.iter().map(|r| r.source_id()).collect();
    assert_eq!(ids.len(), rs.len());
}

#[test]
fn baselines_follow_the_day_and_the_season() {
    let w = world();
    let g = generator("2026-01-15T00:00:00+08:00", 24, false);
    let fleet = g.fleet();
    let air = &fleet.devices[fleet.of_type("air_monitor")[0]];
    let dt = w.catalogue.device_type("air_monitor").unwrap();
    let mut rng = Rng::new(3);
    let mean = |at: i64, rng: &mut Rng| {
        (0..400)
            .map(|_| cityops_simulate_baseline(dt, air, at, rng))
            .sum::<f64>()
            / 400.0
    };
    let winter_rush = mean(ms("2026-01-15T08:00:00+08:00"), &mut rng);
    let winter_night = mean(ms("2026-01-15T03:00:00+08:00"), &mut rng);
    let summer_rush = mean(ms("2026-07-15T08:00:00+08:00"), &mut rng);
    assert!(
        winter_rush > winter_night + 10.0,
        "{winter_rush} vs {winter_night}"
    );
    assert!(
        winter_rush > summer_rush + 25.0,
        "{winter_rush} vs {summer_rush}"
    );
}

/// The AQI of one normal reading (through the public generator path: a reading of `device`).
fn cityops_simulate_baseline(
    dt: &cityops_core::catalogue::DeviceType,
    device: &cityops_simulate::Device,
    at: i64,
    rng: &mut Rng,
) -> f64 {
    let m =
        cityops_simulate::baseline_metrics(dt, device, at, cityops_simulate::Season::of(at), rng);
    m["aqi"]
}

#[test]
fn tickets_are_chinese_placed_and_follow_the_season_and_the_hour() {
    let w = world();
    let mut g = generator("2026-12-02T00:00:00+08:00", 24, false);
    let items = day(&mut g, "2026-12-02T00:00:00+08:00", 24, 2_400);
    let ts = tickets(&items);
    assert!(ts.len() > 1_000, "{}", ts.len());
    let ids: BTreeSet<&str> = ts.iter().map(|t| t.ticket_id.as_str()).collect();
    assert_eq!(ids.len(), ts.len(), "ticket ids are unique");
    let mut by_cat: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_hour = [0usize; 24];
    let mut phones: HashMap<&str, usize> = HashMap::new();
    for t in &ts {
        *by_cat.entry(t.category.as_str()).or_insert(0) += 1;
        let hour = ((t.received_at_ms / HOUR + 8) % 24) as usize;
        by_hour[hour] += 1;
        *phones.entry(t.caller_phone.as_str()).or_insert(0) += 1;
        assert!(
            t.ticket_id.starts_with("SIM12345-20261202-t1-"),
            "{}",
            t.ticket_id
        );
        assert!(
            t.content
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{}",
            t.content
        );
        assert!(!t.content.contains('{'), "an unfilled slot: {}", t.content);
        assert!(t.caller_phone.starts_with("1390000") && t.caller_phone.len() == 11);
        let street = g
            .places()
            .streets
            .iter()
            .find(|s| s.code == t.street_code)
            .expect("a street of the geography");
        if let Some(a) = &t.address {
            assert!(a.starts_with(&street.district_name), "{a}");
            assert!(
                a.contains(&street.name) || street.roads.iter().any(|r| a.contains(r.as_str())),
                "{a} names neither {} nor one of its roads",
                street.name
            );
            // The gazetteer places the address in the ticket's street (or at least district).
            let m = w
                .gazetteer
                .geocode(a, t.district.as_deref())
                .expect("geocodes");
            assert_eq!(m.district_name, street.district_name);
        }
        if let Some((lat, lon)) = t.point {
            let place = w.geography.locate_quiet(lat, lon).expect("inside the city");
            assert_eq!(place.street_code(), Some(street.code.as_str()));
        }
        assert!(t.address.is_some() || t.point.is_some());
    }
    // Heating dominates a December day.
    let (top, _) = by_cat.iter().max_by_key(|(_, n)| **n).unwrap();
    assert_eq!(*top, "heating", "{by_cat:?}");
    assert!(
        by_cat["heating"] as f64 / ts.len() as f64 > 0.25,
        "{by_cat:?}"
    );
    assert!(by_cat.len() >= 25, "a broad mix: {by_cat:?}");
    // Quiet nights, busy mornings and evenings.
    let night: usize = by_hour[1..5].iter().sum();
    let morning: usize = by_hour[8..12].iter().sum();
    let evening: usize = by_hour[18..22].iter().sum();
    assert!(morning > 5 * night, "{by_hour:?}");
    assert!(evening > 3 * night, "{by_hour:?}");
    // Repeat callers: some numbers call several times, and repeat calls say so.
    assert!(phones.values().any(|&n| n >= 3));
    let repeats: Vec<&&Ticket> = ts.iter().filter(|t| t.repeat).collect();
    let share = repeats.len() as f64 / ts.len() as f64;
    assert!((0.07..0.18).contains(&share), "repeat share {share}");
    for r in &repeats {
        // The same caller, about the same issue (same category and street), earlier.
        assert!(
            ts.iter().any(|t| !t.repeat
                && t.caller_phone == r.caller_phone
                && t.category == r.category
                && t.street_code == r.street_code
                && t.received_at_ms <= r.received_at_ms),
            "{r:?}"
        );
    }
}

#[test]
fn summer_has_little_heating_and_more_waterlogging() {
    let mut g = generator("2026-07-20T00:00:00+08:00", 24, false);
    let items = day(&mut g, "2026-07-20T00:00:00+08:00", 24, 2_400);
    let ts = tickets(&items);
    let n = |c: &str| ts.iter().filter(|t| t.category == c).count();
    assert!(
        n("heating") * 50 < ts.len(),
        "heating {} of {}",
        n("heating"),
        ts.len()
    );
    assert!(n("waterlogging") > n("heating"));
}

#[test]
fn episodes_flood_streets_cut_heating_and_raise_a_gas_alarm() {
    let w = world();
    let start = "2026-11-21T00:00:00+08:00";
    let mut g = generator(start, 24, true);
    let reports = g.episodes().to_vec();
    assert_eq!(reports.len(), 3, "{reports:?}");
    assert!(reports.iter().all(|r| r.skipped.is_none()), "{reports:?}");
    let items = day(&mut g, start, 24, 600);
    let episode =
        |name: &str| -> Vec<&Item> { items.iter().filter(|i| i.episode() == Some(name)).collect() };

    // Rainstorm: several streets' water-level sensors cross the threshold; waterlogging calls.
    let rain = episode("rainstorm");
    let flooded: BTreeSet<&str> = rain
        .iter()
        .filter_map(|i| match i {
            Item::Reading(r) if r.alarm.as_deref() == Some("waterlogging") => {
                Some(r.street_code.as_str())
            }
            _ => None,
        })
        .collect();
    assert!(flooded.len() >= 3, "{flooded:?}");
    let rain_calls: Vec<&Ticket> = rain
        .iter()
        .filter_map(|i| match i {
            Item::Ticket(t) => Some(t),
            Item::Reading(_) => None,
        })
        .collect();
    assert!(rain_calls.len() >= 9 && rain_calls.iter().all(|t| t.category == "waterlogging"));
    let rain_at = reports
        .iter()
        .find(|r| r.name == "rainstorm")
        .unwrap()
        .at_ms;
    assert_eq!(rain_at, ms(start) + 6 * HOUR, "a quarter into the day");

    // Heating outage: many heating calls from one grid within an hour.
    let outage: Vec<&Ticket> = episode("heating_outage")
        .into_iter()
        .filter_map(|i| match i {
            Item::Ticket(t) => Some(t),
            Item::Reading(_) => None,
        })
        .collect();
    assert_eq!(outage.len(), 24);
    let first = outage.iter().map(|t| t.received_at_ms).min().unwrap();
    let last = outage.iter().map(|t| t.received_at_ms).max().unwrap();
    assert!(last - first <= HOUR);
    let grids: BTreeSet<String> = outage
        .iter()
        .filter_map(|t| t.point)
        .filter_map(|(lat, lon)| {
            w.geography
                .locate_quiet(lat, lon)
                .and_then(|p| p.grid_code().map(str::to_owned))
        })
        .collect();
    assert_eq!(grids.len(), 1, "one community: {grids:?}");
    assert!(outage.iter().all(|t| t.category == "heating"));
    let callers: BTreeSet<&str> = outage.iter().map(|t| t.caller_phone.as_str()).collect();
    assert!(callers.len() < outage.len(), "some residents call twice");

    // Gas alarm: the detector crosses; a neighbour calls within a few hundred metres.
    let gas = episode("gas_alarm");
    let alarm = gas
        .iter()
        .find_map(|i| match i {
            Item::Reading(r) if r.alarm.as_deref() == Some("gas_leak") => Some(r),
            _ => None,
        })
        .expect("a gas alarm");
    let call = gas
        .iter()
        .find_map(|i| match i {
            Item::Ticket(t) => Some(t),
            Item::Reading(_) => None,
        })
        .expect("a neighbour's call");
    assert_eq!(call.category, "gas_leak");
    let (lat, lon) = call.point.unwrap_or(alarm.point);
    let d = ((lat - alarm.point.0) * 111_320.0).hypot((lon - alarm.point.1) * 111_320.0 * 0.75);
    assert!(d < 300.0, "{d} m");
    assert!(call.received_at_ms > alarm.ts_ms);
}

#[test]
fn the_outage_needs_the_heating_season() {
    let g = generator("2026-06-01T00:00:00+08:00", 24, true);
    let outage = g
        .episodes()
        .iter()
        .find(|e| e.name == "heating_outage")
        .unwrap();
    assert!(outage
        .skipped
        .as_deref()
        .unwrap_or("")
        .contains("heating season"));
}

#[test]
fn the_same_seed_makes_the_same_day() {
    let a = day(
        &mut generator("2026-11-21T00:00:00+08:00", 3, true),
        "2026-11-21T00:00:00+08:00",
        3,
        600,
    );
    let b = day(
        &mut generator("2026-11-21T00:00:00+08:00", 3, true),
        "2026-11-21T00:00:00+08:00",
        3,
        600,
    );
    assert_eq!(a, b);
    let mut c = config("2026-11-21T00:00:00+08:00", 3, true);
    c.seed = 43;
    let other = day(
        &mut Generator::new(world(), c).unwrap(),
        "2026-11-21T00:00:00+08:00",
        3,
        600,
    );
    assert_ne!(a, other);
}

#[test]
fn ingest_accepts_every_item_with_the_source_id_the_runner_records() {
    let w = world();
    let mut g = generator("2026-11-21T00:00:00+08:00", 6, true);
    let items = day(&mut g, "2026-11-21T00:00:00+08:00", 6, 1_200);
    let rules = IntakeRules::default();
    let key = ReporterKey::new("k");
    let now = ms("2026-11-22T00:00:00+08:00");
    for item in &items {
        let json = item.to_json();
        let event = match item {
            Item::Ticket(_) => ticket_to_event(&json, Source::Hotline, &rules, &key, now),
            Item::Reading(_) => reading_to_event(&json, &rules, &w.catalogue, now),
        }
        .unwrap_or_else(|e| panic!("ingest rejects {json}: {e}"));
        assert_eq!(event.source_id, item.source_id());
        assert_eq!(event.event_id, item.event_id());
    }
}

/// The simulator writes its own words: no stretch of ten characters of any template is in
/// the classifier's corpus (training or held-out).
#[test]
fn templates_are_not_taken_from_the_corpus() {
    let mut corpus = String::new();
    let mut files = vec![
        format!("{ROOT}/data/classify/hotline_corpus.jsonl"),
        format!("{ROOT}/data/classify/generality.jsonl"),
    ];
    for e in std::fs::read_dir(format!("{ROOT}/data/classify/train")).unwrap() {
        files.push(e.unwrap().path().display().to_string());
    }
    for f in files {
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
                corpus.push_str(v["text"].as_str().unwrap_or(""));
                corpus.push('\n');
            }
        }
    }
    assert!(corpus.len() > 10_000);
    let mut templates: Vec<&str> = Vec::new();
    for c in cityops_simulate::vocab::CATEGORIES {
        templates.extend(c.texts.iter());
    }
    templates.extend(cityops_simulate::vocab::OUTAGE_TEXTS);
    templates.extend(cityops_simulate::vocab::RAIN_TEXTS);
    templates.extend(cityops_simulate::vocab::GAS_TEXTS);
    let mut shared = Vec::new();
    for t in templates {
        for fragment in t.split(['{', '}']) {
            let chars: Vec<char> = fragment.chars().collect();
            for w in chars.windows(10) {
                let s: String = w.iter().collect();
                if corpus.contains(&s) {
                    shared.push(format!("{t:?} shares {s:?}"));
                }
            }
        }
    }
    assert!(
        shared.is_empty(),
        "templates share text with the corpus:\n{}",
        shared.join("\n")
    );
}

#[test]
fn the_default_config_plans_and_builds() {
    let c = SimulateConfig::default();
    let plan = c.plan(ms("2026-11-22T08:00:00+08:00")).unwrap();
    let g = Generator::new(world(), GeneratorConfig::new(&c, &plan)).unwrap();
    assert!(g.fleet().devices.len() >= 3_000);
}
