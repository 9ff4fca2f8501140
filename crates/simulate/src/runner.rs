//! The runner: paces the generator on the simulated clock, sends what it makes, counts what
//! was accepted, runs the bots beside it, and logs progress every report interval.

use cityops_core::catalogue::Catalogue;
use cityops_core::CategoryId;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

use crate::bots::{Board, BotSummary, Bots, Intent};
use crate::config::{SimulateConfig, Target};
use crate::episodes::EpisodeReport;
use crate::error::SimulateError;
use crate::generator::{Generator, GeneratorConfig};
use crate::item::Item;
use crate::send::{Outcome, Sender};
use crate::time::{rfc3339, wall_now_ms, Season};
use crate::world::World;

/// How often the runner wakes up to generate and send, in real time.
const TICK: Duration = Duration::from_millis(200);

/// What a run did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Summary {
    pub seed: u64,
    /// The tag in this run's ticket ids.
    pub run_tag: String,
    /// `http <url>` or `kafka <brokers> (<topics>)`.
    pub target: String,
    /// `heating`, `spring`, `summer`, `autumn`: from the start date.
    pub season: String,
    /// The simulated span covered (RFC 3339, CST).
    pub simulated_from: String,
    pub simulated_to: String,
    pub simulated_s: f64,
    pub real_s: f64,
    /// Stopped by the shutdown signal before the end of the duration.
    pub interrupted: bool,
    pub devices: usize,
    /// Items generated.
    pub tickets: u64,
    pub readings: u64,
    /// Readings that cross a threshold (an incident by the catalogue's rules).
    pub alarms: u64,
    /// Tickets that are repeat calls about an earlier issue.
    pub repeat_calls: u64,
    /// Items sent, and how ingest (or the broker) answered.
    pub sent: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Sent, but the run stopped before the answer came: may or may not be in.
    pub unconfirmed: u64,
    pub tickets_by_category: BTreeMap<String, u64>,
    pub readings_by_device_type: BTreeMap<String, u64>,
    pub alarms_by_category: BTreeMap<String, u64>,
    pub episodes: Vec<EpisodeReport>,
    /// The first rejections, with their reasons (none expected).
    pub rejections: Vec<String>,
    /// `source_id` of every accepted ticket (its ticket id) — in ClickHouse `events` with
    /// `source = 'hotline'`.
    pub accepted_ticket_ids: Vec<String>,
    /// `source_id` of every accepted reading (`<device_id>@<ts ms>`) — in `events` with
    /// `source = 'iot'`.
    pub accepted_reading_ids: Vec<String>,
    /// The accepted readings that are alarms — in `incidents` (the others in `telemetry`).
    pub accepted_alarm_ids: Vec<String>,
    pub bots: BotSummary,
}

/// The department that owns `category` for an event in `street_code` (a street office named
/// after the street), as dispatch routes it.
pub fn owner_of(catalogue: &Catalogue, category: &str, street_code: &str) -> Option<String> {
    let owner = catalogue
        .category(&CategoryId::from(category))?
        .owner
        .clone()?;
    Some(match catalogue.department(&owner) {
        Some(d) if d.place_resolved => format!("{owner}.{street_code}"),
        _ => owner.to_string(),
    })
}

struct Tally<'a> {
    summary: Summary,
    catalogue: &'a Catalogue,
    board: Arc<Mutex<Board>>,
    bots: bool,
}

impl Tally<'_> {
    fn generated(&mut self, items: &[Item]) {
        let s = &mut self.summary;
        for item in items {
            match item {
                Item::Ticket(t) => {
                    s.tickets += 1;
                    s.repeat_calls += u64::from(t.repeat);
                    *s.tickets_by_category.entry(t.category.clone()).or_insert(0) += 1;
                }
                Item::Reading(r) => {
                    s.readings += 1;
                    *s.readings_by_device_type
                        .entry(r.device_type.clone())
                        .or_insert(0) += 1;
                    if let Some(c) = &r.alarm {
                        s.alarms += 1;
                        *s.alarms_by_category.entry(c.clone()).or_insert(0) += 1;
                    }
                }
            }
        }
    }

    fn answered(&mut self, items: &[Item], outcome: Outcome) {
        let s = &mut self.summary;
        s.sent += items.len() as u64;
        s.accepted += outcome.accepted.len() as u64;
        s.rejected += outcome.rejected.len() as u64;
        let mut board = self.board.lock().unwrap_or_else(|e| e.into_inner());
        for (pos, event_id) in outcome.accepted {
            let Some(item) = items.get(pos) else { continue };
            let (category, street) = match item {
                Item::Ticket(t) => {
                    s.accepted_ticket_ids.push(t.ticket_id.clone());
                    (Some(t.category.as_str()), t.street_code.as_str())
                }
                Item::Reading(r) => {
                    let id = r.source_id();
                    if r.alarm.is_some() {
                        s.accepted_alarm_ids.push(id.clone());
                    }
                    s.accepted_reading_ids.push(id);
                    (r.alarm.as_deref(), r.street_code.as_str())
                }
            };
            if !self.bots {
                continue;
            }
            let Some(category) = category else { continue };
            let Some(owner) = owner_of(self.catalogue, category, street) else {
                continue;
            };
            if owner.contains('.') {
                board.in_play.insert(owner.clone());
            }
            if matches!(item, Item::Ticket(_)) {
                board.intents.insert(
                    event_id,
                    Intent {
                        category: category.to_owned(),
                        owner,
                    },
                );
            }
        }
        for (pos, why) in outcome.rejected {
            if s.rejections.len() < 20 {
                let id = items.get(pos).map(Item::source_id).unwrap_or_default();
                s.rejections.push(format!("{id}: {why}"));
            }
        }
    }
}

fn top(counts: &BTreeMap<String, u64>, n: usize) -> String {
    let mut v: Vec<(&String, &u64)> = counts.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .take(n)
        .map(|(k, c)| format!("{k}={c}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn log_progress(s: &Summary, bots: &BotSummary, sim_ms: i64, final_report: bool) {
    let actions = bots
        .actions
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    let message = if final_report {
        "simulate: done"
    } else {
        "simulate: progress"
    };
    tracing::info!(
        simulated = %rfc3339(sim_ms),
        tickets = s.tickets,
        readings = s.readings,
        alarms = s.alarms,
        sent = s.sent,
        accepted = s.accepted,
        rejected = s.rejected,
        orders_seen = bots.orders_seen,
        orders_closed = bots.closed_order_ids.len(),
        actions = %actions,
        top_categories = %top(&s.tickets_by_category, 6),
        "{message}"
    );
    if final_report {
        tracing::info!(
            tickets_by_category = %top(&s.tickets_by_category, usize::MAX),
            alarms_by_category = %top(&s.alarms_by_category, usize::MAX),
            readings_by_device_type = %top(&s.readings_by_device_type, usize::MAX),
            repeat_calls = s.repeat_calls,
            orders_closed = bots.orders_closed,
            late = bots.late,
            scores = ?bots.scores,
            returned = bots.actions.get("return").copied().unwrap_or(0),
            redispatched = bots.actions.get("redispatch").copied().unwrap_or(0),
            "simulate: summary"
        );
        for e in &s.episodes {
            tracing::info!(
                episode = e.name,
                at = %e.at,
                place = %e.place,
                tickets = e.tickets,
                readings = e.readings,
                alarms = e.alarms,
                skipped = e.skipped.as_deref().unwrap_or(""),
                "simulate: episode"
            );
        }
    }
}

/// Runs the simulation: from the configured start for the configured duration (simulated), at
/// the speed-up and rate, sending to the configured target, with the bots beside it. Returns
/// at the end of the duration (plus `bots.linger_s`), or soon after `shutdown` completes.
pub async fn run(
    config: &SimulateConfig,
    world: Arc<World>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<Summary, SimulateError> {
    let plan = config.plan(wall_now_ms())?;
    let mut generator = Generator::new(Arc::clone(&world), GeneratorConfig::new(config, &plan))?;
    let sender = Sender::connect(config).await?;
    let board = Arc::new(Mutex::new(Board::default()));
    let bot_stats = Arc::new(Mutex::new(BotSummary::default()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let bots = if config.bots.enabled {
        let b = Bots::start(
            &config.bots,
            config.seed,
            config.speedup,
            &plan.run_tag,
            Arc::clone(&board),
            Arc::clone(&bot_stats),
            Duration::from_secs_f64(config.startup_wait_s),
        )
        .await?;
        Some(tokio::spawn(b.run(stop_rx)))
    } else {
        None
    };
    let mut tally = Tally {
        summary: Summary {
            seed: config.seed,
            run_tag: plan.run_tag.clone(),
            target: sender.describe(),
            season: Season::of(plan.start_ms).as_str().to_owned(),
            simulated_from: rfc3339(plan.start_ms),
            devices: generator.fleet().devices.len(),
            ..Summary::default()
        },
        catalogue: &world.catalogue,
        board,
        bots: config.bots.enabled,
    };
    tracing::info!(
        target = %tally.summary.target,
        from = %rfc3339(plan.start_ms),
        to = %rfc3339(plan.end_ms),
        speedup = config.speedup,
        rate = config.rate,
        devices = tally.summary.devices,
        season = %tally.summary.season,
        episodes = %generator.episodes().iter().map(|e| format!("{}@{}{}", e.name, e.at, if e.skipped.is_some() { "(skipped)" } else { "" })).collect::<Vec<_>>().join(", "),
        "simulate: starting"
    );
    let bot_snapshot =
        |stats: &Arc<Mutex<BotSummary>>| stats.lock().map(|s| s.clone()).unwrap_or_default();

    tokio::pin!(shutdown);
    let started = Instant::now();
    let total = (config.rate * plan.duration_ms as f64 / 1000.0 / config.speedup).round() as u64;
    let cap = (config.batch_max * 4) as u64;
    let mut made: u64 = 0;
    let mut sim_done = plan.start_ms;
    let mut interrupted = false;
    let report_every = Duration::from_secs_f64(config.report_interval_s);
    let mut next_report = started + report_every;
    let mut behind_warned = false;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => { interrupted = true; break; }
            _ = tick.tick() => {}
        }
        let elapsed = started.elapsed().as_secs_f64();
        let mut sim_now =
            (plan.start_ms + (elapsed * config.speedup * 1000.0) as i64).min(plan.end_ms);
        if config.live {
            // Caught up with the wall clock: on in real time.
            sim_now = sim_now.min(wall_now_ms());
        }
        // Items follow the simulated clock: `rate` per real second at `speedup`.
        let simulated_s = (sim_now - plan.start_ms).max(0) as f64 / 1000.0;
        let due_total = ((config.rate * simulated_s / config.speedup) as u64).min(total);
        let due = due_total.saturating_sub(made).min(cap);
        if due_total.saturating_sub(made) > cap * 4 && !behind_warned {
            behind_warned = true;
            tracing::warn!(
                behind = due_total - made,
                "the target takes items slower than the configured rate; the run will take longer"
            );
        }
        let items = generator.window(sim_done, sim_now.max(sim_done), due as usize);
        made += due;
        sim_done = sim_now.max(sim_done);
        if !items.is_empty() {
            tally.generated(&items);
            tokio::select! {
                () = &mut shutdown => {
                    tally.summary.sent += items.len() as u64;
                    tally.summary.unconfirmed += items.len() as u64;
                    interrupted = true;
                    break;
                }
                outcome = sender.send(&items) => {
                    let outcome = outcome?;
                    tally.answered(&items, outcome);
                }
            }
        }
        if Instant::now() >= next_report {
            next_report += report_every;
            log_progress(&tally.summary, &bot_snapshot(&bot_stats), sim_done, false);
        }
        if sim_done >= plan.end_ms && made >= total {
            break;
        }
    }
    if let Some(handle) = bots {
        if !interrupted && config.bots.linger_s > 0.0 {
            tracing::info!(
                seconds = config.bots.linger_s,
                "simulate: every item is sent; the bots go on a while"
            );
            tokio::select! {
                () = &mut shutdown => { interrupted = true; }
                () = tokio::time::sleep(Duration::from_secs_f64(config.bots.linger_s)) => {}
            }
        }
        let _ = stop_tx.send(true);
        let _ = handle.await;
    }
    let mut summary = tally.summary;
    summary.simulated_to = rfc3339(sim_done);
    summary.simulated_s = (sim_done - plan.start_ms) as f64 / 1000.0;
    summary.real_s = started.elapsed().as_secs_f64();
    summary.interrupted = interrupted;
    summary.episodes = generator
        .episodes()
        .iter()
        .filter(|e| e.skipped.is_some() || e.at_ms < sim_done)
        .cloned()
        .collect();
    summary.bots = bot_snapshot(&bot_stats);
    if config.target == Target::Kafka {
        tracing::debug!("items went to the raw topics: ingest validates them asynchronously (rejections land on the dead-letter topic)");
    }
    log_progress(&summary, &summary.bots, sim_done, true);
    Ok(summary)
}
