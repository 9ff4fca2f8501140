//! The pure generator: given a simulated window and how many items to make in it, the tickets
//! and readings of that window (and every scripted episode item that falls in it), in time
//! order. No I/O; the same seed and plan give the same items.

use cityops_core::catalogue::DeviceType;
use std::collections::VecDeque;
use std::sync::Arc;

use crate::config::{EpisodesConfig, RunPlan, SimulateConfig};
use crate::devices::{self, Fleet};
use crate::episodes::{EpisodeReport, Scripted, Stage};
use crate::error::SimulateError;
use crate::item::{Item, Reading, Ticket};
use crate::rng::Rng;
use crate::tickets::{rhythm, TicketMaker};
use crate::time::Season;
use crate::world::{Places, World};

/// What the generator needs of the configuration.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    pub seed: u64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub ticket_share: f64,
    pub devices: usize,
    pub crossing_rate: f64,
    pub repeat_caller_share: f64,
    pub ticket_prefix: String,
    pub device_prefix: String,
    pub run_tag: String,
    pub episodes: EpisodesConfig,
}

impl GeneratorConfig {
    pub fn new(config: &SimulateConfig, plan: &RunPlan) -> Self {
        Self {
            seed: config.seed,
            start_ms: plan.start_ms,
            end_ms: plan.end_ms,
            ticket_share: config.ticket_share,
            devices: config.devices,
            crossing_rate: config.crossing_rate,
            repeat_caller_share: config.repeat_caller_share,
            ticket_prefix: config.ticket_prefix.clone(),
            device_prefix: config.device_prefix.clone(),
            run_tag: plan.run_tag.clone(),
            episodes: config.episodes.clone(),
        }
    }
}

/// Makes the day.
#[derive(Debug)]
pub struct Generator {
    world: Arc<World>,
    config: GeneratorConfig,
    places: Places,
    fleet: Fleet,
    tickets: TicketMaker,
    scripted: VecDeque<Item>,
    episodes: Vec<EpisodeReport>,
    busy: Vec<Option<(i64, i64)>>,
    last_ts: Vec<i64>,
    /// Devices with ordinary readings (not cameras, which report only what they see).
    reporting: Vec<usize>,
    /// Device types that can raise an alarm, with their relative alarm frequency.
    alarm_types: Vec<(String, f64)>,
    rng_when: Rng,
    rng_tickets: Rng,
    rng_readings: Rng,
}

impl Generator {
    pub fn new(world: Arc<World>, config: GeneratorConfig) -> Result<Self, SimulateError> {
        let places = Places::new(&world)?;
        let catalogue = &world.catalogue;
        if catalogue.device_types().next().is_none() {
            return Err(SimulateError::Unusable(
                "the catalogue has no [[device_type]]: add device types or set crossing_rate and ticket_share to 1 for tickets only".into(),
            ));
        }
        let mut rng_fleet = Rng::stream(config.seed, "fleet");
        let fleet = Fleet::place(
            catalogue,
            &world.geography,
            &places,
            &config.device_prefix,
            config.devices,
            config.episodes.low_lying_streets,
            &mut rng_fleet,
        );
        let mut tickets = TicketMaker::new(
            catalogue,
            config.repeat_caller_share,
            &config.ticket_prefix,
            &config.run_tag,
        );
        if !tickets.has_categories() {
            return Err(SimulateError::Unusable(
                "none of the catalogue's categories is one the simulator has words for (heating, garbage, noise…): see crates/simulate/src/vocab.rs".into(),
            ));
        }
        let mut rng_episodes = Rng::stream(config.seed, "episodes");
        let stage = Stage {
            catalogue,
            geo: &world.geography,
            places: &places,
            fleet: &fleet,
            start_ms: config.start_ms,
            end_ms: config.end_ms,
        };
        let scripted = Scripted::build(&stage, &config.episodes, &mut tickets, &mut rng_episodes);
        let mut busy = vec![None; fleet.devices.len()];
        for (&d, &w) in &scripted.busy {
            busy[d] = Some(w);
        }
        let reporting = (0..fleet.devices.len())
            .filter(|&d| {
                catalogue
                    .device_type(&fleet.devices[d].device_type)
                    .is_some_and(|dt| !devices::reports_only_events(dt))
            })
            .collect();
        let alarm_types = catalogue
            .device_types()
            .filter(|dt| devices::can_alarm(dt) && !fleet.of_type(&dt.id).is_empty())
            .map(|dt| (dt.id.clone(), devices::alarm_weight(&dt.id)))
            .collect();
        let last_ts = vec![i64::MIN; fleet.devices.len()];
        Ok(Self {
            rng_when: Rng::stream(config.seed, "when"),
            rng_tickets: Rng::stream(config.seed, "tickets"),
            rng_readings: Rng::stream(config.seed, "readings"),
            world,
            places,
            fleet,
            tickets,
            scripted: scripted.items.into(),
            episodes: scripted.reports,
            busy,
            last_ts,
            reporting,
            alarm_types,
            config,
        })
    }

    pub fn places(&self) -> &Places {
        &self.places
    }

    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    pub fn episodes(&self) -> &[EpisodeReport] {
        &self.episodes
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    /// Items of the simulated window `[from_ms, to_ms)`: `count` ordinary ones at uniform
    /// times in it (each a ticket with the hour's ticket share, else a reading), plus the
    /// scripted episode items of the window, in time order.
    pub fn window(&mut self, from_ms: i64, to_ms: i64, count: usize) -> Vec<Item> {
        let mut times: Vec<i64> = (0..count)
            .map(|_| from_ms + (self.rng_when.f64() * (to_ms - from_ms).max(1) as f64) as i64)
            .collect();
        times.sort_unstable();
        let mut out = Vec::with_capacity(count + 8);
        for at in times {
            let p_ticket = (self.config.ticket_share * rhythm(at)).min(0.95);
            let item = if self.rng_when.chance(p_ticket) {
                self.ticket(at).map(Item::Ticket)
            } else {
                self.reading(at).map(Item::Reading)
            };
            out.extend(item);
        }
        while self.scripted.front().is_some_and(|i| i.at_ms() < to_ms) {
            if let Some(i) = self.scripted.pop_front() {
                out.push(i);
            }
        }
        out.sort_by_key(Item::at_ms);
        out
    }

    /// Whether scripted items remain after `at_ms`.
    pub fn scripted_left(&self) -> usize {
        self.scripted.len()
    }

    /// An ordinary ticket at `at_ms`.
    pub fn ticket(&mut self, at_ms: i64) -> Option<Ticket> {
        let world = &self.world;
        self.tickets
            .ticket(&world.geography, &self.places, at_ms, &mut self.rng_tickets)
    }

    fn is_busy(&self, d: usize, at_ms: i64) -> bool {
        self.busy[d].is_some_and(|(a, b)| at_ms >= a && at_ms <= b)
    }

    fn stamp(&mut self, d: usize, at_ms: i64) -> i64 {
        let ts = (at_ms - at_ms.rem_euclid(1_000)).max(self.last_ts[d].saturating_add(1_000));
        self.last_ts[d] = ts;
        ts
    }

    fn make(
        &mut self,
        d: usize,
        dt: &DeviceType,
        at_ms: i64,
        crossing: Option<(
            std::collections::BTreeMap<String, f64>,
            Option<String>,
            String,
        )>,
    ) -> Reading {
        let season = Season::of(at_ms);
        let device = &self.fleet.devices[d];
        let (metrics, event, alarm) = match crossing {
            Some((m, e, c)) => (m, e, Some(c)),
            None => {
                let m = devices::baseline(dt, device, at_ms, season, &mut self.rng_readings);
                let alarm = devices::verdict(&self.world.catalogue, dt, device, &m, None, at_ms);
                (m, None, alarm)
            }
        };
        let street_code = self.places.streets[device.spot.street].code.clone();
        let (id, ty, point, tags) = (
            device.id.clone(),
            device.device_type.clone(),
            (device.spot.lat, device.spot.lon),
            device.tags.clone(),
        );
        let ts_ms = self.stamp(d, at_ms);
        Reading {
            device_id: id,
            device_type: ty,
            ts_ms,
            point,
            metrics,
            event,
            tags,
            alarm,
            street_code,
            episode: None,
        }
    }

    /// A reading at `at_ms`: an alarm with the crossing rate (a type drawn by how often it
    /// alarms, a device of it for which one of its rules can fire now), else an ordinary
    /// reading of a random device.
    pub fn reading(&mut self, at_ms: i64) -> Option<Reading> {
        let world = Arc::clone(&self.world);
        let catalogue = &world.catalogue;
        let season = Season::of(at_ms);
        if self.rng_readings.chance(self.config.crossing_rate) {
            let weights: Vec<f64> = self.alarm_types.iter().map(|(_, w)| *w).collect();
            if let Some(k) = self.rng_readings.weighted(&weights) {
                let ty = self.alarm_types[k].0.clone();
                if let Some(dt) = catalogue.device_type(&ty) {
                    let candidates = self.fleet.of_type(&ty).to_vec();
                    for _ in 0..12 {
                        let Some(&d) = self.rng_readings.pick(&candidates) else {
                            break;
                        };
                        if self.is_busy(d, at_ms) {
                            continue;
                        }
                        let device = &self.fleet.devices[d];
                        if let Some(c) = devices::crossing(
                            catalogue,
                            dt,
                            device,
                            at_ms,
                            season,
                            &mut self.rng_readings,
                        ) {
                            return Some(self.make(d, dt, at_ms, Some(c)));
                        }
                    }
                }
            }
        }
        for _ in 0..8 {
            let d = *self.rng_readings.pick(&self.reporting)?;
            if self.is_busy(d, at_ms) {
                continue;
            }
            let dt = catalogue.device_type(&self.fleet.devices[d].device_type)?;
            return Some(self.make(d, dt, at_ms, None));
        }
        None
    }
}
