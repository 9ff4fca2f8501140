//! The scripted episodes, each at a fixed simulated time:
//!
//! - **Rainstorm (暴雨内涝)**: in each low-lying street, the water-level sensors climb past
//!   the catalogue's threshold over an hour, stay flooded half an hour and drain; citizens
//!   call about waterlogging next to them.
//! - **Heating outage (集中停暖)**, heating season only: one community (a grid) loses its
//!   heating; within an hour many of its residents call, some twice.
//! - **Gas alarm (燃气报警)**: a gas detector's methane rises past the threshold for a few
//!   minutes; a neighbour calls about the smell.
//!
//! Everything is decided up front from the seed, so the same seed replays the same episodes.

use cityops_core::catalogue::Catalogue;
use cityops_geo::Geography;
use serde::Serialize;
use std::collections::BTreeMap;

use crate::config::EpisodesConfig;
use crate::devices::{self, Fleet};
use crate::item::{Item, Reading, Ticket};
use crate::rng::Rng;
use crate::tickets::{phone, Call, TicketMaker};
use crate::time::{rfc3339, Season};
use crate::vocab;
use crate::world::{Address, Places};

const MINUTE: i64 = 60_000;

/// What an episode did, for the summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EpisodeReport {
    /// `rainstorm`, `heating_outage`, `gas_alarm`.
    pub name: &'static str,
    /// When it starts (simulated), RFC 3339.
    pub at: String,
    #[serde(skip)]
    pub at_ms: i64,
    /// Where, in words: `铁西区 兴华街道 阳光家园`.
    pub place: String,
    /// Street codes concerned.
    pub streets: Vec<String>,
    pub tickets: usize,
    pub readings: usize,
    /// Readings above a threshold.
    pub alarms: usize,
    /// Why it did not happen, when it did not.
    pub skipped: Option<String>,
}

/// The episodes' items in time order, and the devices they script (which then send no
/// ordinary readings while the episode runs).
#[derive(Debug, Default)]
pub struct Scripted {
    pub items: Vec<Item>,
    pub reports: Vec<EpisodeReport>,
    /// Device index → the simulated window it is scripted for.
    pub busy: BTreeMap<usize, (i64, i64)>,
}

/// What the episodes are built from.
pub struct Stage<'a> {
    pub catalogue: &'a Catalogue,
    pub geo: &'a Geography,
    pub places: &'a Places,
    pub fleet: &'a Fleet,
    pub start_ms: i64,
    pub end_ms: i64,
}

fn report(name: &'static str, at_ms: i64) -> EpisodeReport {
    EpisodeReport {
        name,
        at: rfc3339(at_ms),
        at_ms,
        place: String::new(),
        streets: Vec::new(),
        tickets: 0,
        readings: 0,
        alarms: 0,
        skipped: None,
    }
}

fn whole_second(ms: i64) -> i64 {
    ms - ms.rem_euclid(1_000)
}

impl Scripted {
    pub fn build(
        stage: &Stage<'_>,
        config: &EpisodesConfig,
        tickets: &mut TicketMaker,
        rng: &mut Rng,
    ) -> Scripted {
        let mut s = Scripted::default();
        if !config.enabled {
            return s;
        }
        let at =
            |frac: f64| stage.start_ms + ((stage.end_ms - stage.start_ms) as f64 * frac) as i64;
        if config.rainstorm {
            s.rainstorm(stage, at(config.rainstorm_at), tickets, rng);
        }
        if config.heating_outage {
            s.heating_outage(
                stage,
                at(config.heating_outage_at),
                config.outage_tickets,
                tickets,
                rng,
            );
        }
        if config.gas_alarm {
            s.gas_alarm(stage, at(config.gas_alarm_at), tickets, rng);
        }
        s.items.retain(|i| i.at_ms() < stage.end_ms);
        s.items.sort_by_key(Item::at_ms);
        for r in &mut s.reports {
            r.tickets = 0;
            r.readings = 0;
            r.alarms = 0;
        }
        for item in &s.items {
            let Some(r) = s
                .reports
                .iter_mut()
                .find(|r| Some(r.name) == item.episode())
            else {
                continue;
            };
            match item {
                Item::Ticket(_) => r.tickets += 1,
                Item::Reading(x) => {
                    r.readings += 1;
                    r.alarms += usize::from(x.alarm.is_some());
                }
            }
        }
        s
    }

    fn reading(
        &mut self,
        stage: &Stage<'_>,
        device: usize,
        ts_ms: i64,
        metrics: BTreeMap<String, f64>,
        episode: &'static str,
    ) {
        let d = &stage.fleet.devices[device];
        let Some(dt) = stage.catalogue.device_type(&d.device_type) else {
            return;
        };
        let alarm = devices::verdict(stage.catalogue, dt, d, &metrics, None, ts_ms);
        self.items.push(Item::Reading(Reading {
            device_id: d.id.clone(),
            device_type: d.device_type.clone(),
            ts_ms: whole_second(ts_ms),
            point: (d.spot.lat, d.spot.lon),
            metrics,
            event: None,
            tags: d.tags.clone(),
            alarm,
            street_code: stage.places.streets[d.spot.street].code.clone(),
            episode: Some(episode),
        }));
    }

    fn rainstorm(&mut self, stage: &Stage<'_>, t0: i64, tickets: &mut TicketMaker, rng: &mut Rng) {
        const NAME: &str = "rainstorm";
        let mut rep = report(NAME, t0);
        let wl = stage.catalogue.device_type("water_level");
        let threshold = wl.and_then(|dt| devices::rising_threshold(dt, "depth_cm"));
        let category = tickets.knows("waterlogging");
        let mut streets = stage.fleet.low_lying.clone();
        if streets.is_empty() {
            let dense = stage.places.dense_streets();
            for _ in 0..3 {
                if let Some(&s) = rng.pick(&dense) {
                    if !streets.contains(&s) {
                        streets.push(s);
                    }
                }
            }
        }
        if threshold.is_none() && category.is_none() {
            rep.skipped = Some(
                "the catalogue has neither a water_level depth_cm rule nor a waterlogging category"
                    .into(),
            );
            self.reports.push(rep);
            return;
        }
        let mut names = Vec::new();
        for &s in &streets {
            let street = &stage.places.streets[s];
            names.push(format!("{} {}", street.district_name, street.name));
            rep.streets.push(street.code.clone());
            let sensors: Vec<usize> = stage
                .fleet
                .of_type("water_level")
                .iter()
                .copied()
                .filter(|&d| stage.fleet.devices[d].spot.street == s)
                .collect();
            if let Some(th) = threshold {
                for &d in &sensors {
                    let peak = th * rng.range(1.4, 2.6);
                    let onset = t0 + rng.int(0, 20) * MINUTE;
                    let end = onset + 150 * MINUTE;
                    self.busy.insert(d, (t0, end + MINUTE));
                    let mut tau: i32 = 0;
                    while tau <= 150 {
                        let base = 0.5;
                        let level = if tau < 60 {
                            base + (peak - base) * (f64::from(tau) / 60.0).powf(1.5)
                        } else if tau < 90 {
                            peak + rng.normal(0.0, th * 0.05)
                        } else {
                            peak - (peak - 2.0) * f64::from(tau - 90) / 60.0
                        };
                        let level = (level.max(0.0) * 10.0).round() / 10.0;
                        self.reading(
                            stage,
                            d,
                            onset + i64::from(tau) * MINUTE,
                            BTreeMap::from([("depth_cm".to_owned(), level)]),
                            NAME,
                        );
                        tau += 5;
                    }
                }
            }
            if let Some(c) = category {
                for _ in 0..rng.int(3, 5) {
                    let anchor = match rng.pick(&sensors) {
                        Some(&d) => stage.fleet.devices[d].spot.clone(),
                        None => stage.places.spot_in_street(stage.geo, s, rng),
                    };
                    let spot = stage.places.near(stage.geo, &anchor, 150.0, rng);
                    let call = Call {
                        category: c,
                        templates: vocab::RAIN_TEXTS,
                        spot: &spot,
                        address: None,
                        phone: phone(rng),
                        at_ms: t0 + rng.int(30, 110) * MINUTE + rng.int(0, 59) * 1_000,
                        remember: false,
                    };
                    let mut t: Ticket = tickets.new_call(stage.geo, stage.places, call, rng);
                    t.episode = Some(NAME);
                    self.items.push(Item::Ticket(t));
                }
            }
        }
        rep.place = names.join("、");
        self.reports.push(rep);
    }

    fn heating_outage(
        &mut self,
        stage: &Stage<'_>,
        t0: i64,
        n: usize,
        tickets: &mut TicketMaker,
        rng: &mut Rng,
    ) {
        const NAME: &str = "heating_outage";
        let mut rep = report(NAME, t0);
        if Season::of(t0) != Season::Heating {
            rep.skipped = Some("not the heating season (November to March)".into());
            self.reports.push(rep);
            return;
        }
        let Some(c) = tickets.knows("heating") else {
            rep.skipped = Some("the catalogue has no heating category".into());
            self.reports.push(rep);
            return;
        };
        let dense = stage.places.dense_streets();
        let s = dense[rng.index(dense.len())];
        let street = &stage.places.streets[s];
        let grid = rng.pick(&street.grids).copied();
        let first = match grid {
            Some(g) => stage.places.spot_in_grid(stage.geo, s, g, rng),
            None => stage.places.spot_in_street(stage.geo, s, rng),
        };
        let community = stage.places.community(stage.geo, &first);
        rep.place = format!("{} {} {community}", street.district_name, street.name);
        rep.streets.push(street.code.clone());
        let mut callers: Vec<String> = Vec::new();
        let mut times: Vec<i64> = (0..n)
            .map(|_| t0 + rng.int(2 * 60, 60 * 60) * 1_000)
            .collect();
        times.sort_unstable();
        for at_ms in times {
            let spot = match grid {
                Some(g) => stage.places.spot_in_grid(stage.geo, s, g, rng),
                None => stage.places.near(stage.geo, &first, 120.0, rng),
            };
            let caller = if !callers.is_empty() && rng.chance(0.25) {
                callers[rng.index(callers.len())].clone()
            } else {
                let p = phone(rng);
                callers.push(p.clone());
                p
            };
            let building = rng.int(1, 16);
            let local = format!("{}{community}{building}号楼", street.name);
            let address = Address {
                full: format!("{}{local}", street.district_name),
                local,
                road: street
                    .roads
                    .first()
                    .cloned()
                    .unwrap_or_else(|| street.name.clone()),
                community: community.clone(),
            };
            let call = Call {
                category: c,
                templates: vocab::OUTAGE_TEXTS,
                spot: &spot,
                address: Some(address),
                phone: caller,
                at_ms,
                remember: false,
            };
            let mut t = tickets.new_call(stage.geo, stage.places, call, rng);
            t.episode = Some(NAME);
            self.items.push(Item::Ticket(t));
        }
        self.reports.push(rep);
    }

    fn gas_alarm(&mut self, stage: &Stage<'_>, t0: i64, tickets: &mut TicketMaker, rng: &mut Rng) {
        const NAME: &str = "gas_alarm";
        let mut rep = report(NAME, t0);
        let threshold = stage
            .catalogue
            .device_type("gas_detector")
            .and_then(|dt| devices::rising_threshold(dt, "ch4_lel"));
        let detectors = stage.fleet.of_type("gas_detector");
        let (Some(th), Some(&d)) = (threshold, rng.pick(detectors)) else {
            rep.skipped = Some(
                "the catalogue has no gas_detector ch4_lel rule, or the fleet no gas detector"
                    .into(),
            );
            self.reports.push(rep);
            return;
        };
        let device = &stage.fleet.devices[d];
        let street = &stage.places.streets[device.spot.street];
        rep.place = format!("{} {} {}", street.district_name, street.name, device.id);
        rep.streets.push(street.code.clone());
        const CURVE: [f64; 12] = [0.2, 0.6, 1.3, 2.0, 2.6, 2.3, 1.8, 1.2, 0.7, 0.4, 0.2, 0.1];
        self.busy.insert(d, (t0, t0 + 13 * MINUTE));
        for (i, f) in CURVE.iter().enumerate() {
            let v = ((th * f + rng.normal(0.0, th * 0.03)).max(0.0) * 10.0).round() / 10.0;
            self.reading(
                stage,
                d,
                t0 + i as i64 * MINUTE,
                BTreeMap::from([("ch4_lel".to_owned(), v)]),
                NAME,
            );
        }
        if let Some(c) = tickets.knows("gas_leak") {
            for k in 0..rng.int(1, 2) {
                let spot = stage.places.near(stage.geo, &device.spot, 100.0, rng);
                let call = Call {
                    category: c,
                    templates: vocab::GAS_TEXTS,
                    spot: &spot,
                    address: None,
                    phone: phone(rng),
                    at_ms: t0 + (3 + 4 * k) * MINUTE + rng.int(0, 59) * 1_000,
                    remember: false,
                };
                let mut t = tickets.new_call(stage.geo, stage.places, call, rng);
                t.episode = Some(NAME);
                self.items.push(Item::Ticket(t));
            }
        }
        self.reports.push(rep);
    }
}
