//! The simulator's settings (`[simulate]` or a file of its own): every knob has a default that
//! runs against the local stack of `make run`.

use cityops_bus::KafkaConfig;
use cityops_core::settings::Secret;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use crate::error::SimulateError;
use crate::time;

/// Ingest refuses times further in the future than this (ingest's `max_future_skew_s`, 300 s);
/// the simulator keeps a minute of margin.
const FUTURE_ALLOWANCE_MS: i64 = 240_000;

/// Where the simulator sends what it generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// `POST` batches to the ingest service's `/v1/hotline/tickets` and `/v1/iot/readings`.
    Http,
    /// Produce to the raw topics `city.raw.hotline.v1` and `city.raw.iot.v1`.
    Kafka,
}

/// Everything `cityops simulate` can be told.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulateConfig {
    /// One seed, one day: the same seed and start replay the same tickets and readings.
    pub seed: u64,
    /// Simulated seconds per real second (60: a simulated hour per real minute).
    pub speedup: f64,
    /// Tickets and readings per real second, on average (episodes come on top).
    pub rate: f64,
    /// The simulated clock's start: RFC 3339, a CST local time or a date. Default: the latest
    /// start that never runs ahead of the wall clock (ingest refuses the future), i.e. now for
    /// a speed-up of 1, else now − duration × (1 − 1/speedup), so the simulated day ends as the
    /// run ends.
    pub start: Option<String>,
    /// Never run the simulated clock ahead of the wall clock: a start in the past is played at
    /// `speedup` until the simulated clock reaches now, then in real time, with as many items
    /// per simulated second as before. `make run` starts at today's 00:00 CST this way, so
    /// the wall's "today" fills at once whatever the hour.
    pub live: bool,
    /// Simulated time to run: `24h`, `90m`, `1h30m`.
    pub duration: String,
    /// Mean share of the items that are 12345 tickets (the rest are IoT readings). The hour of
    /// day shapes it: quiet at night, peaks in the morning and evening.
    pub ticket_share: f64,
    /// Devices placed across the city (every catalogue device type).
    pub devices: usize,
    /// Share of readings that cross one of their type's thresholds (an alarm).
    pub crossing_rate: f64,
    /// Share of tickets that are a repeat call about an earlier caller's issue (催办).
    pub repeat_caller_share: f64,
    /// Ticket ids: `<ticket_prefix>-<yyyymmdd>-<run_tag>-<seq>`.
    pub ticket_prefix: String,
    /// Tag of this run in ticket ids; default: derived from the wall clock at start.
    pub run_tag: Option<String>,
    /// Device ids: `<device_prefix>-<TYPE>-<nnnnnn>`.
    pub device_prefix: String,
    /// `http` (default) or `kafka`.
    pub target: Target,
    /// The ingest service (`ingest.listen`), for `target = "http"`.
    pub ingest_url: String,
    /// Brokers and topic names, for `target = "kafka"` (the `[kafka]` section of cityops).
    pub kafka: KafkaConfig,
    /// Most items in one HTTP request.
    pub batch_max: usize,
    /// How often progress is logged, in real seconds.
    pub report_interval_s: f64,
    /// How long to wait at start for ingest and dispatch to listen, in real seconds (cityops
    /// opens its listeners a few seconds after it starts).
    pub startup_wait_s: f64,
    pub episodes: EpisodesConfig,
    pub bots: BotsConfig,
}

impl Default for SimulateConfig {
    fn default() -> Self {
        Self {
            seed: 20_261_121,
            speedup: 60.0,
            rate: 20.0,
            start: None,
            live: false,
            duration: "24h".to_owned(),
            ticket_share: 0.25,
            devices: 3_000,
            crossing_rate: 0.01,
            repeat_caller_share: 0.12,
            ticket_prefix: "SIM12345".to_owned(),
            run_tag: None,
            device_prefix: "SIM".to_owned(),
            target: Target::Http,
            ingest_url: "http://127.0.0.1:8081".to_owned(),
            kafka: KafkaConfig::default(),
            batch_max: 500,
            report_interval_s: 10.0,
            startup_wait_s: 60.0,
            episodes: EpisodesConfig::default(),
            bots: BotsConfig::default(),
        }
    }
}

/// The scripted episodes. Each happens at a fixed simulated time, given as a fraction of the
/// duration (0.25: a quarter into the run), so a short run has them too.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EpisodesConfig {
    /// All episodes on or off.
    pub enabled: bool,
    /// 暴雨内涝: water-level sensors of low-lying streets cross their threshold, and citizens
    /// call about waterlogging there.
    pub rainstorm: bool,
    pub rainstorm_at: f64,
    /// How many low-lying streets flood (each gets its own water-level sensors).
    pub low_lying_streets: usize,
    /// 集中停暖: many heating tickets from one community within an hour (heating season only).
    pub heating_outage: bool,
    pub heating_outage_at: f64,
    pub outage_tickets: usize,
    /// 燃气报警: a gas detector crosses its threshold, and a neighbour calls about the smell.
    pub gas_alarm: bool,
    pub gas_alarm_at: f64,
}

impl Default for EpisodesConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            rainstorm: true,
            rainstorm_at: 0.25,
            low_lying_streets: 4,
            heating_outage: true,
            heating_outage_at: 0.5,
            outage_tickets: 24,
            gas_alarm: true,
            gas_alarm_at: 0.75,
        }
    }
}

/// The department bots and the command-centre bot.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotsConfig {
    pub enabled: bool,
    /// The dispatch API (`dispatch.listen`).
    pub dispatch_url: String,
    /// The command centre's bearer token, in clear (cityops holds only its SHA-256); never
    /// shown by `cityops config` or in logs.
    pub command_center_token: Option<Secret>,
    /// Department id → its bearer token, in clear. A department without a token has no bot
    /// (its orders wait). Street offices are `street_office.<street code>`. Never shown.
    pub tokens: BTreeMap<String, Secret>,
    /// How often (real milliseconds) each bot reads its open orders.
    pub poll_interval_ms: u64,
    /// Simulated minutes a department takes to accept an order, uniform in `[min, max]`;
    /// critical orders take a tenth of it, urgent ones 40%.
    pub accept_minutes: [f64; 2],
    /// Simulated minutes from acceptance to resolution, as above.
    pub resolve_minutes: [f64; 2],
    /// Share of orders a department returns (退单) although they were its own.
    pub return_probability: f64,
    /// Share of orders a department lets run past the accept deadline (on the real clock).
    pub late_probability: f64,
    /// Share of accepted orders for which a department asks for more time (延期申请).
    pub extension_probability: f64,
    /// Share of orders that get a progress report before the resolution.
    pub progress_probability: f64,
    /// Weights of the callback scores 1..=5 (回访满意度).
    pub satisfaction_weights: [f64; 5],
    /// Share of dissatisfied callbacks (score 1–2) that reopen the order (重办).
    pub reopen_probability: f64,
    /// Most commands in flight at once.
    pub max_concurrent: usize,
    /// Real seconds the bots go on after the last item was sent (0: stop with the items).
    pub linger_s: f64,
}

impl Default for BotsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dispatch_url: "http://127.0.0.1:8083".to_owned(),
            command_center_token: None,
            tokens: BTreeMap::new(),
            poll_interval_ms: 2_000,
            accept_minutes: [2.0, 30.0],
            resolve_minutes: [20.0, 240.0],
            return_probability: 0.05,
            late_probability: 0.10,
            extension_probability: 0.03,
            progress_probability: 0.6,
            satisfaction_weights: [3.0, 2.0, 5.0, 20.0, 70.0],
            reopen_probability: 0.3,
            max_concurrent: 8,
            linger_s: 0.0,
        }
    }
}

/// The SHA-256 (hex) of a token, as `[dispatch.tokens]` holds it.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl BotsConfig {
    /// Demo tokens (`sim-<dept>-token`) for the command centre and every department in
    /// `departments` (see [`crate::owner_departments`]; `command_center` among them gets
    /// `command_center_token`): for a local try or a test, with
    /// [`BotsConfig::dispatch_settings`] to configure cityops to match.
    pub fn with_demo_tokens<'a>(mut self, departments: impl IntoIterator<Item = &'a str>) -> Self {
        self.command_center_token = Some(Secret::new("sim-command_center-token"));
        for d in departments {
            if d != crate::bots::COMMAND_CENTER {
                self.tokens
                    .insert(d.to_owned(), Secret::new(format!("sim-{d}-token")));
            }
        }
        self
    }

    /// The `cityops --set` lines that make dispatch accept these tokens:
    /// `dispatch.tokens.command_center_sha256="…"` and one
    /// `dispatch.tokens.departments={ gas = "…", "street_office.210106001" = "…" }` (an inline
    /// table, because a street office's id contains a dot).
    pub fn dispatch_settings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(t) = &self.command_center_token {
            out.push(format!(
                "dispatch.tokens.command_center_sha256=\"{}\"",
                token_sha256(t.expose())
            ));
        }
        if !self.tokens.is_empty() {
            let entries: Vec<String> = self
                .tokens
                .iter()
                .map(|(d, t)| format!("\"{d}\" = \"{}\"", token_sha256(t.expose())))
                .collect();
            out.push(format!(
                "dispatch.tokens.departments={{ {} }}",
                entries.join(", ")
            ));
        }
        out
    }
}

/// The settings resolved against the wall clock at start.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    pub start_ms: i64,
    pub duration_ms: i64,
    pub end_ms: i64,
    pub run_tag: String,
}

fn check_share(name: &str, v: f64) -> Result<(), SimulateError> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(SimulateError::config(format!(
            "{name} = {v} must be a share between 0 and 1"
        )))
    }
}

impl SimulateConfig {
    /// Checks every setting and resolves the start against the wall clock `now_ms`.
    pub fn plan(&self, now_ms: i64) -> Result<RunPlan, SimulateError> {
        if !(self.speedup.is_finite() && self.speedup >= 1.0 && self.speedup <= 100_000.0) {
            return Err(SimulateError::config(format!(
                "speedup = {} must be between 1 (real time) and 100000 simulated seconds per real second",
                self.speedup
            )));
        }
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= 20_000.0) {
            return Err(SimulateError::config(format!(
                "rate = {} must be more than 0 and at most 20000 items per real second",
                self.rate
            )));
        }
        let duration_ms = time::parse_duration(&self.duration)
            .map_err(|e| SimulateError::config(format!("duration {e}")))?;
        if duration_ms < 1_000 {
            return Err(SimulateError::config(format!(
                "duration = {:?} must be at least one second",
                self.duration
            )));
        }
        check_share("ticket_share", self.ticket_share)?;
        check_share("crossing_rate", self.crossing_rate)?;
        check_share("repeat_caller_share", self.repeat_caller_share)?;
        let b = &self.bots;
        for (name, v) in [
            ("bots.return_probability", b.return_probability),
            ("bots.late_probability", b.late_probability),
            ("bots.extension_probability", b.extension_probability),
            ("bots.progress_probability", b.progress_probability),
            ("bots.reopen_probability", b.reopen_probability),
        ] {
            check_share(name, v)?;
        }
        for (name, [lo, hi]) in [
            ("bots.accept_minutes", b.accept_minutes),
            ("bots.resolve_minutes", b.resolve_minutes),
        ] {
            if !(lo.is_finite() && hi.is_finite() && lo >= 0.0 && lo <= hi) {
                return Err(SimulateError::config(format!(
                    "{name} = [{lo}, {hi}] must be [min, max] simulated minutes with 0 <= min <= max"
                )));
            }
        }
        if b.satisfaction_weights
            .iter()
            .any(|w| !w.is_finite() || *w < 0.0)
            || b.satisfaction_weights.iter().sum::<f64>() <= 0.0
        {
            return Err(SimulateError::config(
                "bots.satisfaction_weights must be five non-negative weights (scores 1..5), not all 0",
            ));
        }
        if b.poll_interval_ms < 100 {
            return Err(SimulateError::config(format!(
                "bots.poll_interval_ms = {} is too short: at least 100 ms, a few seconds is realistic",
                b.poll_interval_ms
            )));
        }
        if b.max_concurrent == 0 {
            return Err(SimulateError::config(
                "bots.max_concurrent must be at least 1",
            ));
        }
        if !(self.startup_wait_s.is_finite() && (0.0..=3600.0).contains(&self.startup_wait_s)) {
            return Err(SimulateError::config(format!(
                "startup_wait_s = {} must be between 0 and 3600 seconds",
                self.startup_wait_s
            )));
        }
        if !(b.linger_s.is_finite() && b.linger_s >= 0.0) {
            return Err(SimulateError::config(
                "bots.linger_s must be 0 or more seconds",
            ));
        }
        if !(1..=10_000).contains(&self.batch_max) {
            return Err(SimulateError::config(format!(
                "batch_max = {} must be 1–10000 (ingest.max_items)",
                self.batch_max
            )));
        }
        if !(self.report_interval_s.is_finite() && self.report_interval_s > 0.0) {
            return Err(SimulateError::config(
                "report_interval_s must be more than 0",
            ));
        }
        if self.devices < 20 || self.devices > 2_000_000 {
            return Err(SimulateError::config(format!(
                "devices = {} must be 20–2000000 (enough for one of every device type)",
                self.devices
            )));
        }
        let e = &self.episodes;
        for (name, at) in [
            ("episodes.rainstorm_at", e.rainstorm_at),
            ("episodes.heating_outage_at", e.heating_outage_at),
            ("episodes.gas_alarm_at", e.gas_alarm_at),
        ] {
            if !(0.0..1.0).contains(&at) {
                return Err(SimulateError::config(format!(
                    "{name} = {at} must be a fraction of the duration, 0 <= at < 1"
                )));
            }
        }
        for (name, v) in [
            ("ticket_prefix", &self.ticket_prefix),
            ("device_prefix", &self.device_prefix),
        ] {
            if v.is_empty()
                || v.len() > 40
                || !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(SimulateError::config(format!(
                    "{name} = {v:?} must be 1–40 ASCII letters, digits, - or _"
                )));
            }
        }
        // The simulated clock at real second τ is start + τ·speedup; the wall clock is now + τ.
        // The largest gap is at the end (τ = duration / speedup).
        let latest = now_ms + (duration_ms as f64 / self.speedup) as i64 - duration_ms;
        let start_ms = match &self.start {
            None => latest - latest.rem_euclid(1_000),
            Some(text) => {
                let s = time::parse_start(text)
                    .map_err(|e| SimulateError::config(format!("start {e}")))?;
                if self.live && s > now_ms + FUTURE_ALLOWANCE_MS {
                    return Err(SimulateError::config(format!(
                        "start = {text:?} is in the future: a live run starts at or before now ({})",
                        time::rfc3339(now_ms)
                    )));
                }
                if !self.live && s > latest + FUTURE_ALLOWANCE_MS {
                    return Err(SimulateError::config(format!(
                        "start = {text:?} would run the simulated clock ahead of the wall clock \
                         (by {} at the end of the run), and ingest refuses times more than 5 minutes \
                         in the future: start at or before {} (or leave start out), or shorten the \
                         duration or raise the speed-up",
                        time::show_duration(s - latest),
                        time::rfc3339(latest)
                    )));
                }
                s
            }
        };
        let run_tag = match &self.run_tag {
            Some(t)
                if !t.is_empty()
                    && t.len() <= 16
                    && t.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                t.clone()
            }
            Some(t) => {
                return Err(SimulateError::config(format!(
                    "run_tag = {t:?} must be 1–16 ASCII letters or digits"
                )))
            }
            None => base36((now_ms / 1000).rem_euclid(36_i64.pow(6))),
        };
        Ok(RunPlan {
            start_ms,
            duration_ms,
            end_ms: start_ms + duration_ms,
            run_tag,
        })
    }
}

fn base36(mut n: i64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_300_000_000; // 2026-11-22

    #[test]
    fn bot_tokens_are_never_shown() {
        let bots = BotsConfig::default().with_demo_tokens(["gas", "command_center"]);
        let shown = format!("{bots:?}");
        assert!(!shown.contains("-token"), "{shown}");
        assert!(shown.contains("gas"), "{shown}");
        // dispatch gets their hashes.
        let settings = bots.dispatch_settings().join(" ");
        assert!(
            settings.contains(&token_sha256("sim-gas-token")),
            "{settings}"
        );
        assert!(
            settings.contains(&token_sha256("sim-command_center-token")),
            "{settings}"
        );
    }

    #[test]
    fn defaults_are_valid_and_end_at_the_wall_clock() {
        let c = SimulateConfig::default();
        let p = c.plan(NOW).unwrap();
        assert_eq!(p.duration_ms, 24 * 3_600_000);
        // 24 simulated hours at 60× take 24 real minutes: the day ends as the run ends.
        assert!((p.end_ms - (NOW + 24 * 60_000)).abs() <= 1_000, "{p:?}");
        assert!(!p.run_tag.is_empty());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_the_fix() {
        let e = toml::from_str::<SimulateConfig>("speed = 3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field"), "{e}");
        let c: SimulateConfig = toml::from_str(
            "seed = 1\nspeedup = 120.0\nrate = 5.0\nduration = \"2h\"\ntarget = \"kafka\"\n\
             [kafka]\nbrokers = \"127.0.0.1:19092\"\n[kafka.topics]\nraw_iot = \"x.raw.iot\"\n\
             [bots]\ntokens = { gas = \"t\" }\nlinger_s = 5.0\n[episodes]\ngas_alarm = false\n",
        )
        .unwrap();
        assert_eq!(c.target, Target::Kafka);
        assert_eq!(c.kafka.topics.raw_iot, "x.raw.iot");
        assert!(c.plan(NOW).is_ok());
        let mut bad = c.clone();
        bad.start = Some("2030-01-01".into());
        let e = bad.plan(NOW).unwrap_err().to_string();
        assert!(
            e.contains("ahead of the wall clock") && e.contains("start at or before"),
            "{e}"
        );
        let mut bad = c.clone();
        bad.speedup = 0.5;
        assert!(bad.plan(NOW).unwrap_err().to_string().contains("speedup"));
        let mut bad = c.clone();
        bad.bots.accept_minutes = [5.0, 1.0];
        assert!(bad
            .plan(NOW)
            .unwrap_err()
            .to_string()
            .contains("bots.accept_minutes"));
        let mut bad = c;
        bad.duration = "2".into();
        assert!(bad.plan(NOW).unwrap_err().to_string().contains("unit"));
    }

    #[test]
    fn a_live_run_may_start_this_morning_but_not_in_the_future() {
        // NOW is 2026-11-22 06:26 CST: a day from 00:00 at 60× would outrun the wall clock.
        let mut c = SimulateConfig {
            start: Some("2026-11-22".into()),
            ..SimulateConfig::default()
        };
        assert!(c
            .plan(NOW)
            .unwrap_err()
            .to_string()
            .contains("ahead of the wall clock"));
        c.live = true;
        assert_eq!(c.plan(NOW).unwrap().start_ms, 1_795_276_800_000);
        c.start = Some("2026-11-23".into());
        assert!(c
            .plan(NOW)
            .unwrap_err()
            .to_string()
            .contains("in the future"));
    }

    #[test]
    fn a_past_start_is_fine_and_real_time_may_start_now() {
        let mut c = SimulateConfig {
            start: Some("2026-11-21T00:00:00+08:00".into()),
            ..SimulateConfig::default()
        };
        assert!(c.plan(NOW).is_ok());
        c.speedup = 1.0;
        c.start = None;
        let p = c.plan(NOW).unwrap();
        assert!((p.start_ms - NOW).abs() <= 1_000);
    }

    #[test]
    fn dispatch_settings_match_the_tokens() {
        let b = BotsConfig::default().with_demo_tokens(["gas", "street_office.210106001"]);
        let sets = b.dispatch_settings();
        assert_eq!(sets.len(), 2);
        assert_eq!(
            sets[0],
            format!(
                "dispatch.tokens.command_center_sha256=\"{}\"",
                token_sha256("sim-command_center-token")
            )
        );
        assert!(sets[1].starts_with("dispatch.tokens.departments={ "));
        assert!(sets[1].contains(&format!(
            "\"street_office.210106001\" = \"{}\"",
            token_sha256("sim-street_office.210106001-token")
        )));
        // The value parses as the inline TOML table cityops's --set reads.
        let value = sets[1].split_once('=').unwrap().1;
        let t: toml::Table = format!("v = {value}").parse().unwrap();
        assert_eq!(t["v"].as_table().unwrap().len(), 2);
        assert_eq!(token_sha256("gas-demo-token").len(), 64, "hex SHA-256");
    }
}
