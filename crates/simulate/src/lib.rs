//! `cityops simulate`: a realistic Shenyang day for the operations centre, at a configurable
//! speed-up and rate, sent through the real stack.
//!
//! - [`Generator`] (pure, seeded): a fleet of devices of every catalogue type placed across
//!   the streets, with realistic baselines (daily cycle, noise) and occasional threshold
//!   crossings built from — and checked against — the catalogue's rules; 12345 tickets in
//!   Chinese from the simulator's own templates ([`vocab`]), the category mix by season and
//!   hour (heating dominant from November to March), the hotline's daily rhythm, addresses on
//!   real roads with made-up house numbers, repeat callers; scripted episodes (rainstorm,
//!   heating outage, gas alarm) at fixed simulated times.
//! - [`run`]: paces the generator on the simulated clock, sends over HTTP to ingest or to the
//!   raw topics, counts what was accepted (keeping the ids, so a test can find each one in
//!   ClickHouse), and runs department bots and a command-centre bot over the dispatch API.
//!
//! docs/simulator.md describes the knobs, the episodes and the bots.

mod bots;
mod config;
mod devices;
mod episodes;
mod error;
mod generator;
mod item;
mod rng;
mod runner;
mod send;
mod tickets;
mod time;
pub mod vocab;
mod world;

pub use bots::{
    decide_command_center, decide_department, plan as bot_plan, Action, BotSummary, Intent,
    OrderView, Plan, Track,
};
pub use config::{token_sha256, BotsConfig, EpisodesConfig, RunPlan, SimulateConfig, Target};
pub use devices::{baseline as baseline_metrics, crossing, Device, Fleet};
pub use episodes::EpisodeReport;
pub use error::SimulateError;
pub use generator::{Generator, GeneratorConfig};
pub use item::{Item, Reading, Ticket};
pub use rng::Rng;
pub use runner::{owner_of, run, Summary};
pub use tickets::{category_weights, hour_tilt, rhythm};
pub use time::Season;
pub use world::{owner_departments, Places, Spot, Street, World};
