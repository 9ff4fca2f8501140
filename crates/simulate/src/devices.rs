//! The device fleet: every device type of the catalogue placed across the city's streets,
//! readings with realistic baselines (a daily cycle and noise per metric), and threshold
//! crossings built from the catalogue's own rules — then checked with the catalogue's
//! evaluation, so an alarm really is one and a normal reading really is telemetry.

use cityops_core::catalogue::{
    Catalogue, CompareOp, Condition, DeviceRule, DeviceType, ReadingVerdict,
};
use cityops_geo::Geography;
use std::collections::BTreeMap;

use crate::rng::Rng;
use crate::time::{local_hour, Season};
use crate::world::{Places, Spot};

/// One device of the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: String,
    pub device_type: String,
    pub spot: Spot,
    /// Registry facts (`solitary_elder = "true"` for a lone elder's water meter).
    pub tags: BTreeMap<String, String>,
    /// A per-device offset of its baseline (no two devices read exactly alike).
    pub bias: f64,
}

/// The fleet and its indexes.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub devices: Vec<Device>,
    /// Device type → indices into `devices`.
    pub by_type: BTreeMap<String, Vec<usize>>,
    /// Streets (indices into `Places::streets`) prone to flooding; each has water-level
    /// sensors of its own.
    pub low_lying: Vec<usize>,
}

/// How the fleet is shared out by type (per mille), and the id abbreviation. A type the
/// catalogue adds later gets [`DEFAULT_SHARE`] and its id in capitals.
const TYPES: &[(&str, &str, f64)] = &[
    ("parking_sensor", "PARK", 200.0),
    ("smart_water_meter", "WM", 150.0),
    ("smoke_detector", "SMK", 120.0),
    ("gas_detector", "GAS", 100.0),
    ("streetlight_controller", "LAMP", 100.0),
    ("elderly_wearable", "WEAR", 60.0),
    ("manhole_sensor", "MH", 60.0),
    ("camera_ai", "CAM", 60.0),
    ("signal_controller", "SIG", 50.0),
    ("water_level", "WL", 30.0),
    ("air_monitor", "AIR", 30.0),
    ("noise_monitor", "NOISE", 20.0),
    ("structure_sensor", "STR", 20.0),
];
const DEFAULT_SHARE: f64 = 20.0;

/// How often each type raises an alarm, relative to the others (cameras see illegal parking
/// all day; a gas leak is rare).
const ALARM_WEIGHTS: &[(&str, f64)] = &[
    ("camera_ai", 30.0),
    ("streetlight_controller", 12.0),
    ("manhole_sensor", 8.0),
    ("elderly_wearable", 8.0),
    ("signal_controller", 6.0),
    ("smart_water_meter", 6.0),
    ("noise_monitor", 6.0),
    ("air_monitor", 4.0),
    ("smoke_detector", 3.0),
    ("gas_detector", 3.0),
    ("water_level", 2.0),
    ("structure_sensor", 1.0),
];
const DEFAULT_ALARM_WEIGHT: f64 = 3.0;

/// What a camera sees, by how often.
const CAMERA_EVENTS: &[(&str, f64)] = &[
    ("illegal_parking", 50.0),
    ("garbage", 20.0),
    ("street_vendor", 20.0),
    ("fire_lane_blocked", 10.0),
];

/// Share of a type's devices that carry the registry tags one of its rules asks for (a lone
/// elder's water meter).
const TAGGED_SHARE: f64 = 0.3;

/// Water-level sensors placed in each low-lying street.
pub const SENSORS_PER_LOW_STREET: usize = 3;

pub fn abbreviation(device_type: &str) -> String {
    TYPES
        .iter()
        .find(|(t, _, _)| *t == device_type)
        .map(|(_, a, _)| (*a).to_owned())
        .unwrap_or_else(|| device_type.to_uppercase())
}

fn share(device_type: &str) -> f64 {
    TYPES
        .iter()
        .find(|(t, _, _)| *t == device_type)
        .map_or(DEFAULT_SHARE, |(_, _, s)| *s)
}

pub fn alarm_weight(device_type: &str) -> f64 {
    ALARM_WEIGHTS
        .iter()
        .find(|(t, _)| *t == device_type)
        .map_or(DEFAULT_ALARM_WEIGHT, |(_, w)| *w)
}

/// Whether readings of this type are alarms by nature (a camera reports only what it sees).
pub fn reports_only_events(dt: &DeviceType) -> bool {
    !dt.events.is_empty()
}

/// Whether the type can raise an alarm at all.
pub fn can_alarm(dt: &DeviceType) -> bool {
    !dt.events.is_empty() || !dt.rules.is_empty()
}

impl Fleet {
    /// Places `size` devices (at least two of every catalogue type) in random places weighted
    /// by population, and `SENSORS_PER_LOW_STREET` water-level sensors in each of
    /// `low_lying` dense streets.
    pub fn place(
        catalogue: &Catalogue,
        geo: &Geography,
        places: &Places,
        prefix: &str,
        size: usize,
        low_lying: usize,
        rng: &mut Rng,
    ) -> Fleet {
        let types: Vec<&DeviceType> = catalogue.device_types().collect();
        let total: f64 = types.iter().map(|t| share(&t.id)).sum::<f64>().max(1.0);
        let mut devices = Vec::new();
        let mut by_type: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut seq: BTreeMap<String, usize> = BTreeMap::new();
        let mut add = |dt: &DeviceType, spot: Spot, rng: &mut Rng, devices: &mut Vec<Device>| {
            let n = seq.entry(dt.id.clone()).or_insert(0);
            *n += 1;
            let mut tags = BTreeMap::new();
            let tagged_rule = dt.rules.iter().find(|r| !r.required_tags.is_empty());
            if let Some(rule) = tagged_rule {
                if rng.chance(TAGGED_SHARE) {
                    tags.extend(rule.required_tags.clone());
                }
            }
            by_type
                .entry(dt.id.clone())
                .or_default()
                .push(devices.len());
            devices.push(Device {
                id: format!("{prefix}-{}-{:06}", abbreviation(&dt.id), n),
                device_type: dt.id.clone(),
                spot,
                tags,
                bias: rng.normal(0.0, 1.0),
            });
        };
        for dt in &types {
            let n = ((size as f64) * share(&dt.id) / total).round().max(2.0) as usize;
            for _ in 0..n {
                let spot = places.random_spot(geo, rng);
                add(dt, spot, rng, &mut devices);
            }
        }
        let mut low = Vec::new();
        if let Some(wl) = types.iter().find(|t| t.id == "water_level") {
            let mut dense = places.dense_streets();
            while low.len() < low_lying && !dense.is_empty() {
                let s = dense.swap_remove(rng.index(dense.len()));
                low.push(s);
                for _ in 0..SENSORS_PER_LOW_STREET {
                    let spot = places.spot_in_street(geo, s, rng);
                    add(wl, spot, rng, &mut devices);
                }
            }
        }
        Fleet {
            devices,
            by_type,
            low_lying: low,
        }
    }

    pub fn of_type(&self, device_type: &str) -> &[usize] {
        self.by_type.get(device_type).map_or(&[], Vec::as_slice)
    }
}

fn round_to(x: f64, step: f64) -> f64 {
    (x / step).round() * step
}

/// A daily cycle: 1 at `peak_hour`, -1 twelve hours away.
fn daily(hour: f64, peak_hour: f64) -> f64 {
    ((hour - peak_hour) / 24.0 * std::f64::consts::TAU).cos()
}

/// Morning and evening peaks (traffic, cooking, heating boilers): about 1 at 8 h and 19 h.
fn two_peaks(hour: f64) -> f64 {
    let bump = |h: f64, c: f64| (-((h - c) / 1.8).powi(2)).exp();
    bump(hour, 8.0) + bump(hour, 19.0)
}

/// A normal value of `metric` for a device at `at_ms`: realistic levels with a daily cycle and
/// noise. Unknown metrics read 0.
pub fn baseline_value(
    metric: &str,
    device: &Device,
    at_ms: i64,
    season: Season,
    rng: &mut Rng,
) -> f64 {
    let h = local_hour(at_ms);
    let b = device.bias;
    match metric {
        // A parking bay: busy by day, half empty at night.
        "occupied" => {
            let p = 0.55 + 0.3 * daily(h, 14.0) + 0.05 * b;
            f64::from(u8::from(rng.chance(p.clamp(0.05, 0.95))))
        }
        // Flags and fault codes: all clear.
        "alarm" | "fall" | "sos" | "open" | "lamp_fault" | "fault" => 0.0,
        // Methane, % LEL: background traces.
        "ch4_lel" => round_to(rng.normal(0.8 + 0.3 * b, 0.5).clamp(0.0, 6.0), 0.1),
        // Water on the road, cm: dry, a little after street washing.
        "depth_cm" => round_to(rng.normal(0.3, 0.6).clamp(0.0, 3.0), 0.1),
        "tilt_deg" => round_to(rng.normal(1.5 + 0.5 * b, 0.8).clamp(0.0, 9.0), 0.1),
        // Heart rate: lower asleep.
        "heart_rate" => round_to(
            (72.0 + 6.0 * b + 8.0 * daily(h, 15.0) + rng.normal(0.0, 4.0)).clamp(48.0, 115.0),
            1.0,
        ),
        // Litres in the last 24 h: a lone elder uses less than a family.
        "litres_24h" => {
            let elder = device.tags.values().any(|v| v == "true");
            let (mean, sd) = if elder { (110.0, 25.0) } else { (270.0, 60.0) };
            round_to(
                rng.normal(mean + sd * 0.5 * b, sd * 0.4)
                    .max(if elder { 25.0 } else { 40.0 }),
                1.0,
            )
        }
        // AQI: coal heating makes Shenyang's winter air worse; rush hours and cooking peaks.
        "aqi" => {
            let base = match season {
                Season::Heating => 95.0,
                Season::Spring => 75.0,
                Season::Summer => 50.0,
                Season::Autumn => 65.0,
            };
            round_to(
                (base * (1.0 + 0.25 * two_peaks(h)) + 8.0 * b + rng.normal(0.0, 10.0))
                    .clamp(15.0, 185.0),
                1.0,
            )
        }
        "pm25" => {
            let base = match season {
                Season::Heating => 65.0,
                Season::Spring => 45.0,
                Season::Summer => 25.0,
                Season::Autumn => 38.0,
            };
            round_to(
                (base * (1.0 + 0.3 * two_peaks(h)) + 5.0 * b + rng.normal(0.0, 6.0))
                    .clamp(5.0, 140.0),
                1.0,
            )
        }
        // Sound level, dB(A): city daytime, quiet nights.
        "db_a" => {
            let night = !(6.0..22.0).contains(&h);
            let (mean, cap) = if night { (46.0, 62.0) } else { (58.0, 68.0) };
            round_to(
                (mean + 2.0 * b + rng.normal(0.0, 3.5)).clamp(30.0, cap),
                0.1,
            )
        }
        // Strain as a share of the design limit: traffic by day, warmer afternoons.
        "strain_ratio" => round_to(
            (0.35
                + 0.04 * b
                + 0.05 * daily(h, 15.0)
                + 0.04 * two_peaks(h)
                + rng.normal(0.0, 0.015))
            .clamp(0.1, 0.7),
            0.001,
        ),
        _ => 0.0,
    }
}

/// A normal reading's metrics: every required and optional metric of the type.
pub fn baseline(
    dt: &DeviceType,
    device: &Device,
    at_ms: i64,
    season: Season,
    rng: &mut Rng,
) -> BTreeMap<String, f64> {
    dt.required_metrics
        .iter()
        .chain(dt.optional_metrics.iter())
        .map(|m| (m.clone(), baseline_value(m, device, at_ms, season, rng)))
        .collect()
}

/// A value that satisfies `cond` with a realistic overshoot (a flag is exactly its value; a
/// fault code is a small integer; a level goes 5–100% past its threshold).
pub fn satisfying(cond: &Condition, rng: &mut Rng) -> f64 {
    let v = cond.value;
    let integer = v.fract() == 0.0;
    let over = |rng: &mut Rng| {
        if v == 0.0 {
            if integer {
                rng.int(1, 9) as f64
            } else {
                rng.range(0.1, 1.0)
            }
        } else {
            v.abs() * rng.range(0.05, 1.0)
        }
    };
    let step = if integer && v.abs() >= 1.0 {
        1.0
    } else if v.abs() >= 1.0 {
        0.1
    } else {
        0.001
    };
    match cond.op {
        CompareOp::Eq => v,
        CompareOp::Ne => {
            if integer {
                v + rng.int(1, 9) as f64
            } else {
                v + over(rng)
            }
        }
        CompareOp::Ge | CompareOp::Gt => {
            let mut x = ((v + over(rng)) / step).ceil() * step;
            if x <= v && cond.op == CompareOp::Gt {
                x = v + step;
            }
            x.max(v)
        }
        CompareOp::Le | CompareOp::Lt => {
            let mut x = ((v - over(rng)) / step).floor() * step;
            if x >= v && cond.op == CompareOp::Lt {
                x = v - step;
            }
            x.min(v)
        }
    }
}

/// Whether `rule` can fire for `device` at `at_ms`: its tags are the device's, and `at_ms` is in
/// its local hours.
pub fn rule_applies(catalogue: &Catalogue, rule: &DeviceRule, device: &Device, at_ms: i64) -> bool {
    if !rule
        .required_tags
        .iter()
        .all(|(k, v)| device.tags.get(k) == Some(v))
    {
        return false;
    }
    match &rule.local_hours {
        None => true,
        Some(w) => {
            let t = crate::time::local(at_ms)
                .with_timezone(&catalogue.timezone())
                .time();
            w.contains(t)
        }
    }
}

/// An alarm of `device` at `at_ms`: a camera event, or metrics that satisfy one of its rules
/// (baseline for the others), confirmed with the catalogue. `None` when no rule of the type can
/// fire for this device now (a night-only noise rule by day, a tag the device lacks).
pub fn crossing(
    catalogue: &Catalogue,
    dt: &DeviceType,
    device: &Device,
    at_ms: i64,
    season: Season,
    rng: &mut Rng,
) -> Option<(BTreeMap<String, f64>, Option<String>, String)> {
    if !dt.events.is_empty() {
        let names: Vec<&String> = dt.events.keys().collect();
        let weights: Vec<f64> = names
            .iter()
            .map(|n| {
                CAMERA_EVENTS
                    .iter()
                    .find(|(e, _)| e == n)
                    .map_or(5.0, |(_, w)| *w)
            })
            .collect();
        let event = names[rng.weighted(&weights)?].clone();
        let category = dt.events.get(&event)?.to_string();
        return Some((BTreeMap::new(), Some(event), category));
    }
    let candidates: Vec<&DeviceRule> = dt
        .rules
        .iter()
        .filter(|r| rule_applies(catalogue, r, device, at_ms))
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let first = rng.index(candidates.len());
    for k in 0..candidates.len() {
        let rule = candidates[(first + k) % candidates.len()];
        let mut metrics = baseline(dt, device, at_ms, season, rng);
        for c in &rule.conditions {
            metrics.insert(c.metric.clone(), satisfying(c, rng));
        }
        if let Ok(ReadingVerdict::Incident { category, .. }) =
            catalogue.evaluate_reading(&dt.id, &metrics, None, &device.tags, at_ms)
        {
            return Some((metrics, None, category.to_string()));
        }
    }
    None
}

/// What the catalogue makes of a reading: its alarm category, or `None` for telemetry.
pub fn verdict(
    catalogue: &Catalogue,
    dt: &DeviceType,
    device: &Device,
    metrics: &BTreeMap<String, f64>,
    event: Option<&str>,
    at_ms: i64,
) -> Option<String> {
    match catalogue.evaluate_reading(&dt.id, metrics, event, &device.tags, at_ms) {
        Ok(ReadingVerdict::Incident { category, .. }) => Some(category.to_string()),
        _ => None,
    }
}

/// The threshold of the first `metric >= x` (or `>`) condition of the type's rules: what the
/// episodes rise past. `None` when the catalogue has no such rule.
pub fn rising_threshold(dt: &DeviceType, metric: &str) -> Option<f64> {
    dt.rules
        .iter()
        .filter(|r| r.required_tags.is_empty() && r.local_hours.is_none())
        .flat_map(|r| r.conditions.iter())
        .find(|c| c.metric == metric && matches!(c.op, CompareOp::Ge | CompareOp::Gt))
        .map(|c| c.value)
}
