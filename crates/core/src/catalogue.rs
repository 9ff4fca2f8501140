//! The governance catalogue (治理目录): scenarios, categories, departments, severities, time
//! limits and the IoT device rules, loaded from a TOML data file (`config/catalogue.toml`).
//!
//! A city changes its catalogue in configuration, never in code: this module only parses,
//! validates and evaluates it. Loading checks every cross-reference and reports *all* problems
//! at once, each naming the bad entry and saying what to do ([`CatalogueError`]).
//!
//! ```
//! # use cityops_core::catalogue::{Catalogue, ReadingVerdict};
//! # use std::collections::BTreeMap;
//! let catalogue = Catalogue::from_toml_str(include_str!("../../../config/catalogue.toml"))?;
//! let metrics = BTreeMap::from([("ch4_lel".to_owned(), 35.0)]);
//! let verdict = catalogue
//!     .evaluate_reading("gas_detector", &metrics, None, &BTreeMap::new(), 0)
//!     .expect("a valid reading");
//! assert!(matches!(verdict, ReadingVerdict::Incident { ref category, .. } if category.as_str() == "gas_leak"));
//! # Ok::<(), cityops_core::catalogue::CatalogueError>(())
//! ```

use crate::model::Severity;
use crate::{CategoryId, DepartmentId, ScenarioId};
use chrono::{DateTime, NaiveTime};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

// ---------------------------------------------------------------------------------------------
// Time limits
// ---------------------------------------------------------------------------------------------

/// The unit of a [`TimeLimit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Minutes,
    Hours,
    /// On a natural clock 24 h; on a working clock one full working day of working time.
    Days,
}

/// Which clock a [`TimeLimit`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Wall-clock time, 24×7.
    Natural,
    /// Working time on the government calendar ([`crate::calendar::GovernmentCalendar`]).
    Working,
}

/// A time limit (时限) of a work order, e.g. "30 min natural" or "5 working days".
///
/// Parsed from and displayed as readable text ([`FromStr`], [`fmt::Display`]); serialised as
/// that text too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeLimit {
    pub amount: u32,
    pub unit: TimeUnit,
    pub clock: Clock,
}

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

impl TimeLimit {
    pub const fn new(amount: u32, unit: TimeUnit, clock: Clock) -> Self {
        Self {
            amount,
            unit,
            clock,
        }
    }

    /// The limit's length in milliseconds of wall-clock time, a day counting 24 h. This is its
    /// real length for a natural clock.
    pub fn natural_ms(&self) -> i64 {
        i64::from(self.amount)
            * match self.unit {
                TimeUnit::Minutes => MINUTE_MS,
                TimeUnit::Hours => HOUR_MS,
                TimeUnit::Days => DAY_MS,
            }
    }

    /// The limit's length in milliseconds of working time, a day counting `working_day_ms`
    /// (one full working day of the calendar). Meaningful for a working clock.
    pub fn working_ms(&self, working_day_ms: i64) -> i64 {
        match self.unit {
            TimeUnit::Days => i64::from(self.amount).saturating_mul(working_day_ms),
            TimeUnit::Minutes | TimeUnit::Hours => self.natural_ms(),
        }
    }
}

/// Text that is not a time limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "bad time limit {text:?}: {reason}; write e.g. \"30 min natural\", \"2 h natural\", \
     \"1 working day\" or \"2 working hours\""
)]
pub struct TimeLimitParseError {
    pub text: String,
    pub reason: String,
}

impl FromStr for TimeLimit {
    type Err = TimeLimitParseError;

    /// Accepts `<n> <unit> natural`, `<n> natural <unit>`, `<n> working <unit>` and
    /// `<n> <unit> working`, case-insensitive, where unit is one of min/mins/minute(s),
    /// h/hr/hrs/hour(s), d/day(s) and `n` ≥ 1.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| TimeLimitParseError {
            text: s.to_owned(),
            reason: reason.to_owned(),
        };
        let lower = s.to_lowercase();
        let mut tokens = lower.split_whitespace();
        let amount: u32 = match tokens.next() {
            None => return Err(err("it is empty")),
            Some(n) => n
                .parse()
                .map_err(|_| err("it must start with a whole number"))?,
        };
        if amount == 0 {
            return Err(err("the amount must be at least 1"));
        }
        let mut unit = None;
        let mut clock = None;
        for token in tokens {
            let (is_unit, u, c) = match token {
                "min" | "mins" | "minute" | "minutes" => (true, Some(TimeUnit::Minutes), None),
                "h" | "hr" | "hrs" | "hour" | "hours" => (true, Some(TimeUnit::Hours), None),
                "d" | "day" | "days" => (true, Some(TimeUnit::Days), None),
                "natural" => (false, None, Some(Clock::Natural)),
                "working" => (false, None, Some(Clock::Working)),
                _ => return Err(err(&format!("unknown word {token:?}"))),
            };
            if is_unit {
                if unit.is_some() {
                    return Err(err("it names more than one unit"));
                }
                unit = u;
            } else {
                if clock.is_some() {
                    return Err(err("it names more than one clock"));
                }
                clock = c;
            }
        }
        let unit = unit.ok_or_else(|| err("it names no unit (min, h or day)"))?;
        let clock = clock.ok_or_else(|| err("it names no clock (natural or working)"))?;
        Ok(TimeLimit::new(amount, unit, clock))
    }
}

impl fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.amount;
        let plural = if n == 1 { "" } else { "s" };
        match (self.clock, self.unit) {
            (Clock::Natural, TimeUnit::Minutes) => write!(f, "{n} min natural"),
            (Clock::Natural, TimeUnit::Hours) => write!(f, "{n} h natural"),
            (Clock::Natural, TimeUnit::Days) => write!(f, "{n} day{plural} natural"),
            (Clock::Working, TimeUnit::Minutes) => write!(f, "{n} working minute{plural}"),
            (Clock::Working, TimeUnit::Hours) => write!(f, "{n} working hour{plural}"),
            (Clock::Working, TimeUnit::Days) => write!(f, "{n} working day{plural}"),
        }
    }
}

impl TryFrom<String> for TimeLimit {
    type Error = TimeLimitParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<TimeLimit> for String {
    fn from(t: TimeLimit) -> Self {
        t.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Catalogue entries
// ---------------------------------------------------------------------------------------------

/// A governance scenario (治理场景).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scenario {
    pub id: ScenarioId,
    /// Chinese name, e.g. 好停车.
    pub name: String,
}

/// A department (委办局) that owns or co-handles work orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Department {
    pub id: DepartmentId,
    pub name: String,
    /// The id stands for "the one of the event's place" (`street_office`: the street office of
    /// the street that contains the event); routing resolves it to a concrete office.
    pub place_resolved: bool,
}

/// A category of event inside a scenario, with its owner and deadlines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    pub scenario: ScenarioId,
    pub severity: Severity,
    /// `None` only for a category without deadlines (cockpit only).
    pub owner: Option<DepartmentId>,
    pub co_departments: Vec<DepartmentId>,
    /// Accept (签收) limit; `None` means the category opens no work order.
    pub accept: Option<TimeLimit>,
    /// Resolve (办结) limit; `None` with an accept limit means the order has no resolve clock
    /// (the triage queue).
    pub resolve: Option<TimeLimit>,
}

impl Category {
    /// Whether someone must act: the category has an accept limit, so an incident of it opens
    /// (or joins) a work order.
    pub fn is_actionable(&self) -> bool {
        self.accept.is_some()
    }
}

/// A comparison operator of a device rule condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
}

impl CompareOp {
    /// Longest symbols first, so that `>=` is not read as `>`.
    const SYMBOLS: [(&'static str, CompareOp); 6] = [
        (">=", CompareOp::Ge),
        ("<=", CompareOp::Le),
        ("==", CompareOp::Eq),
        ("!=", CompareOp::Ne),
        (">", CompareOp::Gt),
        ("<", CompareOp::Lt),
    ];

    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Ge => ">=",
            CompareOp::Gt => ">",
            CompareOp::Le => "<=",
            CompareOp::Lt => "<",
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
        }
    }

    /// `lhs op rhs`. Exact comparison: metrics such as 0/1 flags and fault codes are integers.
    #[allow(clippy::float_cmp)]
    pub fn apply(self, lhs: f64, rhs: f64) -> bool {
        match self {
            CompareOp::Ge => lhs >= rhs,
            CompareOp::Gt => lhs > rhs,
            CompareOp::Le => lhs <= rhs,
            CompareOp::Lt => lhs < rhs,
            CompareOp::Eq => lhs == rhs,
            CompareOp::Ne => lhs != rhs,
        }
    }
}

/// One condition of a device rule: `metric op value`, e.g. `ch4_lel >= 20`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    pub metric: String,
    pub op: CompareOp,
    pub value: f64,
}

impl Condition {
    /// Whether `metrics` satisfy the condition (false when the metric is absent).
    pub fn holds(&self, metrics: &BTreeMap<String, f64>) -> bool {
        metrics
            .get(&self.metric)
            .is_some_and(|v| self.op.apply(*v, self.value))
    }
}

impl FromStr for Condition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (pos, sym, op) = CompareOp::SYMBOLS
            .iter()
            .filter_map(|(sym, op)| s.find(sym).map(|pos| (pos, *sym, *op)))
            .min_by_key(|(pos, sym, _)| (*pos, std::cmp::Reverse(sym.len())))
            .ok_or("it has no operator (one of >= > <= < == !=)")?;
        let metric = s[..pos].trim();
        let value = s[pos + sym.len()..].trim();
        if !is_snake_id(metric) {
            return Err(format!(
                "{metric:?} is not a metric name (lowercase letters, digits, _)"
            ));
        }
        let value: f64 = value
            .parse()
            .map_err(|_| format!("{value:?} is not a number"))?;
        if !value.is_finite() {
            return Err(format!("{value} is not a finite number"));
        }
        Ok(Condition {
            metric: metric.to_owned(),
            op,
            value,
        })
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.metric, self.op.symbol(), self.value)
    }
}

/// A window of local time of day, start inclusive, end exclusive; wraps midnight when the start
/// is after the end (22:00–06:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LocalHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl LocalHours {
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start <= self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

impl FromStr for LocalHours {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s
            .split_once('-')
            .ok_or("write it as \"HH:MM-HH:MM\", e.g. \"22:00-06:00\"")?;
        let parse = |t: &str| {
            NaiveTime::parse_from_str(t.trim(), "%H:%M")
                .map_err(|_| format!("{:?} is not a time HH:MM", t.trim()))
        };
        let (start, end) = (parse(a)?, parse(b)?);
        if start == end {
            return Err("start and end are equal, so the window is empty".to_owned());
        }
        Ok(LocalHours { start, end })
    }
}

impl fmt::Display for LocalHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

/// A device threshold rule: when all its conditions hold (and its tags and hours match), the
/// reading is an incident of `category`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceRule {
    /// Stable id recorded on the incident, `<device type>.<name>`.
    pub id: String,
    /// All of them must hold.
    pub conditions: Vec<Condition>,
    /// Registry tags the reading must carry with exactly these values.
    pub required_tags: BTreeMap<String, String>,
    /// Local time window (in the catalogue's time zone) the reading must fall in.
    pub local_hours: Option<LocalHours>,
    pub category: CategoryId,
}

/// An IoT device type and what its readings mean.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceType {
    pub id: String,
    pub name: String,
    /// Metrics every reading must carry (a reading without one is bad input).
    pub required_metrics: Vec<String>,
    /// Metrics the device may report, for documentation; never required.
    pub optional_metrics: Vec<String>,
    /// Threshold rules, tried in order; the first that matches decides.
    pub rules: Vec<DeviceRule>,
    /// Camera-AI event name → category. When not empty, every reading must carry an event from
    /// it, and the event alone decides.
    pub events: BTreeMap<String, CategoryId>,
    /// The category whose cockpit counts this device's telemetry feeds (parking occupancy).
    pub telemetry_category: Option<CategoryId>,
}

/// What a device reading means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadingVerdict {
    /// An incident of `category`, decided by the rule `rule_id` (a threshold rule's id, or
    /// `<device type>.event.<event>` for a camera event).
    Incident {
        category: CategoryId,
        rule_id: String,
    },
    /// Below every threshold: stored for the cockpit and analysts, never a work order.
    Telemetry,
}

/// Why a device reading is bad input (dead-lettered with this reason).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadingError {
    #[error("unknown device type {device_type:?}: not in the catalogue's [[device_type]] list")]
    UnknownDeviceType { device_type: String },
    #[error("{device_type} reading lacks its required metric {metric:?}")]
    MissingMetric { device_type: String, metric: String },
    #[error("{device_type} reading has metric {metric:?} = {value}, which is not a finite number")]
    NonFiniteMetric {
        device_type: String,
        metric: String,
        value: f64,
    },
    #[error("{device_type} reading carries no event; expected one of: {}", allowed.join(", "))]
    MissingEvent {
        device_type: String,
        allowed: Vec<String>,
    },
    #[error(
        "{device_type} event {event:?} is not in the catalogue; expected one of: {}",
        allowed.join(", ")
    )]
    EventNotAllowed {
        device_type: String,
        event: String,
        allowed: Vec<String>,
    },
    #[error("reading time {at_ms} ms is outside the representable range of dates")]
    TimestampOutOfRange { at_ms: i64 },
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a catalogue could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("cannot read catalogue {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("catalogue is not valid TOML or has a misspelt/missing field: {0}")]
    Parse(#[from] toml::de::Error),
    #[error(
        "catalogue has {} problem(s); fix them and reload:\n  - {}",
        problems.len(),
        problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  - ")
    )]
    Invalid { problems: Vec<CatalogueProblem> },
}

impl CatalogueError {
    /// The validation problems, empty for a read or parse error.
    pub fn problems(&self) -> &[CatalogueProblem] {
        match self {
            CatalogueError::Invalid { problems } => problems,
            _ => &[],
        }
    }
}

/// One thing wrong in a catalogue file. Every message names the entry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogueProblem {
    #[error("`version` is empty: give the catalogue a version string and bump it on every change")]
    EmptyVersion,
    #[error("timezone {timezone:?} is not an IANA time zone name (use e.g. \"Asia/Shanghai\")")]
    BadTimezone { timezone: String },
    #[error("{kind} id {id:?} is not ASCII snake_case (lowercase letters, digits, _, starting with a letter)")]
    BadId { kind: &'static str, id: String },
    #[error("{kind} {id:?} is defined more than once: keep one entry")]
    Duplicate { kind: &'static str, id: String },
    #[error("{kind} {id:?} has an empty name: give it its Chinese name")]
    EmptyName { kind: &'static str, id: String },
    #[error(
        "severity {id:?} is not one of critical, urgent, normal, info: the four ids are fixed"
    )]
    UnknownSeverityId { id: String },
    #[error("category {category:?} names scenario {scenario:?}, which is not defined: add a [[scenario]] or fix the name")]
    UnknownScenario { category: String, scenario: String },
    #[error(
        "category {category:?} names severity {severity:?}, which is not defined in [[severity]]"
    )]
    UnknownSeverity { category: String, severity: String },
    #[error("category {category:?} names department {department:?} as {role}, which is not defined: add a [[department]] or fix the name")]
    UnknownDepartment {
        category: String,
        department: String,
        role: &'static str,
    },
    #[error("category {category:?} lists co-department {department:?} twice or also as its owner: list it once")]
    RepeatedCoDepartment {
        category: String,
        department: String,
    },
    #[error("category {category:?} has a bad {field} limit: {error}")]
    BadTimeLimit {
        category: String,
        field: &'static str,
        error: TimeLimitParseError,
    },
    #[error("category {category:?} has a resolve limit but no accept limit: add `accept` (or remove `resolve` for a cockpit-only category)")]
    ResolveWithoutAccept { category: String },
    #[error("category {category:?} has deadlines but no owner: add `owner`")]
    ActionableWithoutOwner { category: String },
    #[error("triage category {category:?} is not defined: the command centre's manual-triage queue is required (add it, normally other/unclassified, or fix `triage_category`)")]
    MissingTriageCategory { category: String },
    #[error("triage category {category:?} has no accept limit: the manual-triage queue must be actionable")]
    TriageNotActionable { category: String },
    #[error("device type {device_type:?} lists metric {metric:?} more than once (required and optional metrics must be distinct)")]
    RepeatedMetric { device_type: String, metric: String },
    #[error("device type {device_type:?} metric {metric:?} is not a metric name (lowercase letters, digits, _)")]
    BadMetric { device_type: String, metric: String },
    #[error("device type {device_type:?} has both `events` and rules: a device maps either camera events or metric thresholds")]
    EventsAndRules { device_type: String },
    #[error("device type {device_type:?} event {event:?} is not an event name (lowercase letters, digits, _)")]
    BadEvent { device_type: String, event: String },
    #[error(
        "device type {device_type:?} names category {category:?} ({role}), which is not defined"
    )]
    DeviceUnknownCategory {
        device_type: String,
        category: String,
        role: String,
    },
    #[error("rule {rule:?} of device type {device_type:?} must have an id starting with \"{device_type}.\"")]
    RuleIdPrefix { device_type: String, rule: String },
    #[error("rule {rule:?} has no conditions: give it at least one in `when`")]
    RuleWithoutConditions { rule: String },
    #[error("rule {rule:?} has a bad condition {text:?}: {reason}")]
    BadCondition {
        rule: String,
        text: String,
        reason: String,
    },
    #[error("rule {rule:?} reads metric {metric:?}, which is not in {device_type:?} required_metrics: add it there")]
    RuleMetricNotRequired {
        rule: String,
        device_type: String,
        metric: String,
    },
    #[error("rule {rule:?} names category {category:?}, which is not defined")]
    RuleUnknownCategory { rule: String, category: String },
    #[error("rule {rule:?} has bad local_hours {text:?}: {reason}")]
    BadLocalHours {
        rule: String,
        text: String,
        reason: String,
    },
}

// ---------------------------------------------------------------------------------------------
// The file format
// ---------------------------------------------------------------------------------------------

fn default_timezone() -> String {
    "Asia/Shanghai".to_owned()
}

fn default_triage() -> String {
    "unclassified".to_owned()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    version: String,
    #[serde(default = "default_timezone")]
    timezone: String,
    #[serde(default = "default_triage")]
    triage_category: String,
    #[serde(default)]
    severity: Vec<RawNamed>,
    #[serde(default)]
    department: Vec<RawDepartment>,
    #[serde(default)]
    scenario: Vec<RawNamed>,
    #[serde(default)]
    category: Vec<RawCategory>,
    #[serde(default)]
    device_type: Vec<RawDeviceType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNamed {
    id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDepartment {
    id: String,
    name: String,
    #[serde(default)]
    place_resolved: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    id: String,
    name: String,
    scenario: String,
    severity: String,
    owner: Option<String>,
    #[serde(default)]
    co_departments: Vec<String>,
    accept: Option<String>,
    resolve: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeviceType {
    id: String,
    name: String,
    #[serde(default)]
    required_metrics: Vec<String>,
    #[serde(default)]
    optional_metrics: Vec<String>,
    telemetry_category: Option<String>,
    #[serde(default)]
    events: BTreeMap<String, String>,
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(default)]
    when: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    local_hours: Option<String>,
    category: String,
}

/// ASCII snake_case: a lowercase letter, then lowercase letters, digits and underscores.
fn is_snake_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn severity_from_id(id: &str) -> Option<Severity> {
    Severity::ALL.into_iter().find(|s| s.as_str() == id)
}

// ---------------------------------------------------------------------------------------------
// The catalogue
// ---------------------------------------------------------------------------------------------

/// A loaded, validated governance catalogue. Every reference in it resolves.
#[derive(Debug, Clone)]
pub struct Catalogue {
    version: String,
    timezone: Tz,
    severity_names: BTreeMap<Severity, String>,
    scenarios: Vec<Scenario>,
    departments: Vec<Department>,
    categories: Vec<Category>,
    device_types: Vec<DeviceType>,
    scenario_index: HashMap<String, usize>,
    department_index: HashMap<String, usize>,
    category_index: HashMap<String, usize>,
    device_index: HashMap<String, usize>,
    triage_index: usize,
}

impl Catalogue {
    /// Reads and validates the catalogue file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, CatalogueError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml_str(&text)
    }

    /// Parses and validates a catalogue from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, CatalogueError> {
        let raw: RawCatalogue = toml::from_str(text)?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawCatalogue) -> Result<Self, CatalogueError> {
        let mut problems = Vec::new();

        let version = raw.version.trim().to_owned();
        if version.is_empty() {
            problems.push(CatalogueProblem::EmptyVersion);
        }
        let timezone = match raw.timezone.parse::<Tz>() {
            Ok(tz) => tz,
            Err(_) => {
                problems.push(CatalogueProblem::BadTimezone {
                    timezone: raw.timezone.clone(),
                });
                chrono_tz::Asia::Shanghai
            }
        };

        // Severities.
        let mut seen = HashSet::new();
        let mut severity_names = BTreeMap::new();
        for s in &raw.severity {
            check_entry(&mut problems, "severity", &s.id, &s.name, &mut seen);
            match severity_from_id(&s.id) {
                Some(sev) => {
                    severity_names.insert(sev, s.name.trim().to_owned());
                }
                None => problems.push(CatalogueProblem::UnknownSeverityId { id: s.id.clone() }),
            }
        }

        // Departments and scenarios.
        let mut seen = HashSet::new();
        let departments: Vec<Department> = raw
            .department
            .iter()
            .map(|d| {
                check_entry(&mut problems, "department", &d.id, &d.name, &mut seen);
                Department {
                    id: DepartmentId::new(d.id.clone()),
                    name: d.name.trim().to_owned(),
                    place_resolved: d.place_resolved,
                }
            })
            .collect();
        let mut seen = HashSet::new();
        let scenarios: Vec<Scenario> = raw
            .scenario
            .iter()
            .map(|s| {
                check_entry(&mut problems, "scenario", &s.id, &s.name, &mut seen);
                Scenario {
                    id: ScenarioId::new(s.id.clone()),
                    name: s.name.trim().to_owned(),
                }
            })
            .collect();
        let department_index = index_of(departments.iter().map(|d| d.id.as_str()));
        let scenario_index = index_of(scenarios.iter().map(|s| s.id.as_str()));

        // Categories.
        let mut seen = HashSet::new();
        let mut categories = Vec::with_capacity(raw.category.len());
        for c in &raw.category {
            check_entry(&mut problems, "category", &c.id, &c.name, &mut seen);
            if !scenario_index.contains_key(&c.scenario) {
                problems.push(CatalogueProblem::UnknownScenario {
                    category: c.id.clone(),
                    scenario: c.scenario.clone(),
                });
            }
            let severity = match severity_from_id(&c.severity) {
                Some(s) if severity_names.contains_key(&s) => s,
                _ => {
                    problems.push(CatalogueProblem::UnknownSeverity {
                        category: c.id.clone(),
                        severity: c.severity.clone(),
                    });
                    Severity::Normal
                }
            };
            if let Some(owner) = &c.owner {
                if !department_index.contains_key(owner) {
                    problems.push(CatalogueProblem::UnknownDepartment {
                        category: c.id.clone(),
                        department: owner.clone(),
                        role: "owner",
                    });
                }
            }
            let mut listed: HashSet<&str> = c.owner.iter().map(String::as_str).collect();
            for co in &c.co_departments {
                if !department_index.contains_key(co) {
                    problems.push(CatalogueProblem::UnknownDepartment {
                        category: c.id.clone(),
                        department: co.clone(),
                        role: "co-department",
                    });
                }
                if !listed.insert(co) {
                    problems.push(CatalogueProblem::RepeatedCoDepartment {
                        category: c.id.clone(),
                        department: co.clone(),
                    });
                }
            }
            let mut limit = |field: &'static str, text: &Option<String>| {
                text.as_deref().and_then(|t| match t.parse::<TimeLimit>() {
                    Ok(l) => Some(l),
                    Err(error) => {
                        problems.push(CatalogueProblem::BadTimeLimit {
                            category: c.id.clone(),
                            field,
                            error,
                        });
                        None
                    }
                })
            };
            let accept = limit("accept", &c.accept);
            let resolve = limit("resolve", &c.resolve);
            if c.resolve.is_some() && c.accept.is_none() {
                problems.push(CatalogueProblem::ResolveWithoutAccept {
                    category: c.id.clone(),
                });
            }
            if c.accept.is_some() && c.owner.is_none() {
                problems.push(CatalogueProblem::ActionableWithoutOwner {
                    category: c.id.clone(),
                });
            }
            categories.push(Category {
                id: CategoryId::new(c.id.clone()),
                name: c.name.trim().to_owned(),
                scenario: ScenarioId::new(c.scenario.clone()),
                severity,
                owner: c.owner.clone().map(DepartmentId::new),
                co_departments: c
                    .co_departments
                    .iter()
                    .cloned()
                    .map(DepartmentId::new)
                    .collect(),
                accept,
                resolve,
            });
        }
        let category_index = index_of(categories.iter().map(|c| c.id.as_str()));

        let triage_index = match category_index.get(&raw.triage_category) {
            Some(&i) => {
                if raw.category[i].accept.is_none() {
                    problems.push(CatalogueProblem::TriageNotActionable {
                        category: raw.triage_category.clone(),
                    });
                }
                i
            }
            None => {
                problems.push(CatalogueProblem::MissingTriageCategory {
                    category: raw.triage_category.clone(),
                });
                0
            }
        };

        // Device types.
        let mut seen = HashSet::new();
        let mut seen_rules = HashSet::new();
        let mut device_types = Vec::with_capacity(raw.device_type.len());
        for d in &raw.device_type {
            check_entry(&mut problems, "device type", &d.id, &d.name, &mut seen);
            let dt = d.id.clone();
            let mut metrics_seen = HashSet::new();
            for m in d.required_metrics.iter().chain(&d.optional_metrics) {
                if !is_snake_id(m) {
                    problems.push(CatalogueProblem::BadMetric {
                        device_type: dt.clone(),
                        metric: m.clone(),
                    });
                }
                if !metrics_seen.insert(m.as_str()) {
                    problems.push(CatalogueProblem::RepeatedMetric {
                        device_type: dt.clone(),
                        metric: m.clone(),
                    });
                }
            }
            if let Some(tc) = &d.telemetry_category {
                if !category_index.contains_key(tc) {
                    problems.push(CatalogueProblem::DeviceUnknownCategory {
                        device_type: dt.clone(),
                        category: tc.clone(),
                        role: "telemetry_category".to_owned(),
                    });
                }
            }
            if !d.events.is_empty() && !d.rules.is_empty() {
                problems.push(CatalogueProblem::EventsAndRules {
                    device_type: dt.clone(),
                });
            }
            let mut events = BTreeMap::new();
            for (event, category) in &d.events {
                if !is_snake_id(event) {
                    problems.push(CatalogueProblem::BadEvent {
                        device_type: dt.clone(),
                        event: event.clone(),
                    });
                }
                if !category_index.contains_key(category) {
                    problems.push(CatalogueProblem::DeviceUnknownCategory {
                        device_type: dt.clone(),
                        category: category.clone(),
                        role: format!("event {event:?}"),
                    });
                }
                events.insert(event.clone(), CategoryId::new(category.clone()));
            }
            let mut rules = Vec::with_capacity(d.rules.len());
            for r in &d.rules {
                if !r.id.starts_with(&format!("{dt}.")) || r.id.len() <= dt.len() + 1 {
                    problems.push(CatalogueProblem::RuleIdPrefix {
                        device_type: dt.clone(),
                        rule: r.id.clone(),
                    });
                }
                if !seen_rules.insert(r.id.clone()) {
                    problems.push(CatalogueProblem::Duplicate {
                        kind: "rule",
                        id: r.id.clone(),
                    });
                }
                if r.when.is_empty() {
                    problems.push(CatalogueProblem::RuleWithoutConditions { rule: r.id.clone() });
                }
                let mut conditions = Vec::with_capacity(r.when.len());
                for text in &r.when {
                    match text.parse::<Condition>() {
                        Ok(c) => {
                            if !d.required_metrics.contains(&c.metric) {
                                problems.push(CatalogueProblem::RuleMetricNotRequired {
                                    rule: r.id.clone(),
                                    device_type: dt.clone(),
                                    metric: c.metric.clone(),
                                });
                            }
                            conditions.push(c);
                        }
                        Err(reason) => problems.push(CatalogueProblem::BadCondition {
                            rule: r.id.clone(),
                            text: text.clone(),
                            reason,
                        }),
                    }
                }
                let local_hours = r.local_hours.as_deref().and_then(|text| {
                    text.parse::<LocalHours>()
                        .map_err(|reason| {
                            problems.push(CatalogueProblem::BadLocalHours {
                                rule: r.id.clone(),
                                text: text.to_owned(),
                                reason,
                            })
                        })
                        .ok()
                });
                if !category_index.contains_key(&r.category) {
                    problems.push(CatalogueProblem::RuleUnknownCategory {
                        rule: r.id.clone(),
                        category: r.category.clone(),
                    });
                }
                rules.push(DeviceRule {
                    id: r.id.clone(),
                    conditions,
                    required_tags: r.tags.clone(),
                    local_hours,
                    category: CategoryId::new(r.category.clone()),
                });
            }
            device_types.push(DeviceType {
                id: dt,
                name: d.name.trim().to_owned(),
                required_metrics: d.required_metrics.clone(),
                optional_metrics: d.optional_metrics.clone(),
                rules,
                events,
                telemetry_category: d.telemetry_category.clone().map(CategoryId::new),
            });
        }
        let device_index = index_of(device_types.iter().map(|d| d.id.as_str()));

        if !problems.is_empty() {
            return Err(CatalogueError::Invalid { problems });
        }
        Ok(Catalogue {
            version,
            timezone,
            severity_names,
            scenarios,
            departments,
            categories,
            device_types,
            scenario_index,
            department_index,
            category_index,
            device_index,
            triage_index,
        })
    }

    /// The catalogue's version string, recorded on every incident.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Local time zone of the device rules' hour windows.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// The command centre's manual-triage category (normally `other/unclassified`).
    pub fn triage_category(&self) -> &Category {
        &self.categories[self.triage_index]
    }

    /// The Chinese name of a severity (特急, 紧急, ...), when the catalogue names it.
    pub fn severity_name(&self, severity: Severity) -> Option<&str> {
        self.severity_names.get(&severity).map(String::as_str)
    }

    pub fn scenario(&self, id: &ScenarioId) -> Option<&Scenario> {
        self.scenario_index
            .get(id.as_str())
            .map(|&i| &self.scenarios[i])
    }

    pub fn category(&self, id: &CategoryId) -> Option<&Category> {
        self.category_index
            .get(id.as_str())
            .map(|&i| &self.categories[i])
    }

    pub fn department(&self, id: &DepartmentId) -> Option<&Department> {
        self.department_index
            .get(id.as_str())
            .map(|&i| &self.departments[i])
    }

    pub fn device_type(&self, id: &str) -> Option<&DeviceType> {
        self.device_index.get(id).map(|&i| &self.device_types[i])
    }

    /// Scenarios in file order.
    pub fn scenarios(&self) -> impl Iterator<Item = &Scenario> {
        self.scenarios.iter()
    }

    /// Categories in file order.
    pub fn categories(&self) -> impl Iterator<Item = &Category> {
        self.categories.iter()
    }

    /// The categories of one scenario, in file order.
    pub fn categories_in(&self, scenario: &ScenarioId) -> impl Iterator<Item = &Category> + '_ {
        let scenario = scenario.clone();
        self.categories
            .iter()
            .filter(move |c| c.scenario == scenario)
    }

    /// Departments in file order.
    pub fn departments(&self) -> impl Iterator<Item = &Department> {
        self.departments.iter()
    }

    /// Device types in file order.
    pub fn device_types(&self) -> impl Iterator<Item = &DeviceType> {
        self.device_types.iter()
    }

    /// What a device reading means: an incident (with the rule that decided) or telemetry.
    ///
    /// `metrics` must hold every required metric of the device type, as finite numbers;
    /// a camera-AI type needs an `event` from its list. `tags` are the device registry's facts
    /// (e.g. `solitary_elder=true`). `at_ms` is the reading's time (UTC ms); hour windows are
    /// judged in the catalogue's local time zone, whatever offset the device reported.
    pub fn evaluate_reading(
        &self,
        device_type: &str,
        metrics: &BTreeMap<String, f64>,
        event: Option<&str>,
        tags: &BTreeMap<String, String>,
        at_ms: i64,
    ) -> Result<ReadingVerdict, ReadingError> {
        let dt = self
            .device_type(device_type)
            .ok_or_else(|| ReadingError::UnknownDeviceType {
                device_type: device_type.to_owned(),
            })?;
        for metric in &dt.required_metrics {
            match metrics.get(metric) {
                None => {
                    return Err(ReadingError::MissingMetric {
                        device_type: dt.id.clone(),
                        metric: metric.clone(),
                    })
                }
                Some(v) if !v.is_finite() => {
                    return Err(ReadingError::NonFiniteMetric {
                        device_type: dt.id.clone(),
                        metric: metric.clone(),
                        value: *v,
                    })
                }
                Some(_) => {}
            }
        }

        if !dt.events.is_empty() {
            let allowed = || dt.events.keys().cloned().collect::<Vec<_>>();
            let event = event.ok_or_else(|| ReadingError::MissingEvent {
                device_type: dt.id.clone(),
                allowed: allowed(),
            })?;
            let category = dt
                .events
                .get(event)
                .ok_or_else(|| ReadingError::EventNotAllowed {
                    device_type: dt.id.clone(),
                    event: event.to_owned(),
                    allowed: allowed(),
                })?;
            return Ok(ReadingVerdict::Incident {
                category: category.clone(),
                rule_id: format!("{}.event.{event}", dt.id),
            });
        }

        let mut local_time = None;
        for rule in &dt.rules {
            if !rule.conditions.iter().all(|c| c.holds(metrics)) {
                continue;
            }
            if !rule
                .required_tags
                .iter()
                .all(|(k, v)| tags.get(k).is_some_and(|t| t == v))
            {
                continue;
            }
            if let Some(window) = &rule.local_hours {
                let t = match local_time {
                    Some(t) => t,
                    None => {
                        let t = DateTime::from_timestamp_millis(at_ms)
                            .ok_or(ReadingError::TimestampOutOfRange { at_ms })?
                            .with_timezone(&self.timezone)
                            .time();
                        local_time = Some(t);
                        t
                    }
                };
                if !window.contains(t) {
                    continue;
                }
            }
            return Ok(ReadingVerdict::Incident {
                category: rule.category.clone(),
                rule_id: rule.id.clone(),
            });
        }
        Ok(ReadingVerdict::Telemetry)
    }
}

/// Checks an entry's id (snake_case, not seen before) and name (not empty).
fn check_entry(
    problems: &mut Vec<CatalogueProblem>,
    kind: &'static str,
    id: &str,
    name: &str,
    seen: &mut HashSet<String>,
) {
    if !is_snake_id(id) {
        problems.push(CatalogueProblem::BadId {
            kind,
            id: id.to_owned(),
        });
    }
    if !seen.insert(id.to_owned()) {
        problems.push(CatalogueProblem::Duplicate {
            kind,
            id: id.to_owned(),
        });
    }
    if name.trim().is_empty() {
        problems.push(CatalogueProblem::EmptyName {
            kind,
            id: id.to_owned(),
        });
    }
}

/// Index of the first entry with each id (duplicates are reported by validation).
fn index_of<'a>(ids: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
    let mut index = HashMap::new();
    for (i, id) in ids.enumerate() {
        index.entry(id.to_owned()).or_insert(i);
    }
    index
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../config/catalogue.toml");

    fn shipped() -> Catalogue {
        Catalogue::from_toml_str(SHIPPED).expect("the shipped catalogue is valid")
    }

    // ----- the shipped catalogue ------------------------------------------------------------

    /// Every row of shared/catalogue.md's table:
    /// (scenario, category, severity, owner, co-departments, accept, resolve).
    /// (scenario, category, severity, owner, co-departments, accept, resolve).
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static str,
        &'static str,
    );

    const EXPECTED: [Row; 36] = [
        (
            "parking",
            "illegal_parking",
            "normal",
            "traffic_police",
            &[],
            "30 min natural",
            "2 h natural",
        ),
        (
            "parking",
            "fire_lane_blocked",
            "urgent",
            "fire_rescue",
            &["traffic_police"],
            "10 min natural",
            "1 h natural",
        ),
        (
            "parking",
            "parking_facility",
            "normal",
            "city_mgmt",
            &[],
            "1 working day",
            "5 working days",
        ),
        ("parking", "occupancy", "info", "", &[], "", ""),
        (
            "medical",
            "medical_emergency",
            "critical",
            "ems_120",
            &[],
            "3 min natural",
            "30 min natural",
        ),
        (
            "medical",
            "hospital_service",
            "normal",
            "health",
            &[],
            "1 working day",
            "10 working days",
        ),
        (
            "medical",
            "medicine_supply",
            "normal",
            "health",
            &[],
            "1 working day",
            "5 working days",
        ),
        (
            "elderly_care",
            "fall_alarm",
            "critical",
            "ems_120",
            &["street_office"],
            "3 min natural",
            "30 min natural",
        ),
        (
            "elderly_care",
            "inactivity_alarm",
            "urgent",
            "street_office",
            &["civil_affairs"],
            "30 min natural",
            "2 h natural",
        ),
        (
            "elderly_care",
            "elderly_service",
            "normal",
            "civil_affairs",
            &[],
            "1 working day",
            "10 working days",
        ),
        (
            "emergency",
            "fire",
            "critical",
            "fire_rescue",
            &["emergency_mgmt"],
            "1 min natural",
            "30 min natural",
        ),
        (
            "emergency",
            "gas_leak",
            "critical",
            "gas",
            &["fire_rescue"],
            "3 min natural",
            "1 h natural",
        ),
        (
            "emergency",
            "waterlogging",
            "urgent",
            "water",
            &["emergency_mgmt"],
            "10 min natural",
            "4 h natural",
        ),
        (
            "emergency",
            "manhole_missing",
            "urgent",
            "city_mgmt",
            &[],
            "30 min natural",
            "4 h natural",
        ),
        (
            "emergency",
            "structural_risk",
            "urgent",
            "housing",
            &["emergency_mgmt"],
            "30 min natural",
            "24 h natural",
        ),
        (
            "city_management",
            "garbage",
            "normal",
            "city_mgmt",
            &[],
            "1 working day",
            "1 working day",
        ),
        (
            "city_management",
            "street_vendor",
            "normal",
            "city_mgmt",
            &[],
            "2 working hours",
            "1 working day",
        ),
        (
            "city_management",
            "illegal_construction",
            "normal",
            "city_mgmt",
            &["housing"],
            "1 working day",
            "15 working days",
        ),
        (
            "city_management",
            "streetlight",
            "normal",
            "city_mgmt",
            &[],
            "1 working day",
            "3 working days",
        ),
        (
            "city_management",
            "road_damage",
            "normal",
            "housing",
            &[],
            "1 working day",
            "5 working days",
        ),
        (
            "city_management",
            "noise",
            "normal",
            "ecology_env",
            &["city_mgmt"],
            "2 working hours",
            "3 working days",
        ),
        (
            "traffic",
            "signal_fault",
            "urgent",
            "traffic_police",
            &[],
            "30 min natural",
            "4 h natural",
        ),
        (
            "traffic",
            "congestion",
            "info",
            "traffic_police",
            &[],
            "",
            "",
        ),
        (
            "traffic",
            "public_transport",
            "normal",
            "transport",
            &[],
            "1 working day",
            "5 working days",
        ),
        (
            "environment",
            "air_pollution",
            "normal",
            "ecology_env",
            &[],
            "2 working hours",
            "3 working days",
        ),
        (
            "environment",
            "water_pollution",
            "urgent",
            "ecology_env",
            &["water"],
            "1 h natural",
            "3 working days",
        ),
        (
            "environment",
            "straw_burning",
            "urgent",
            "ecology_env",
            &["street_office"],
            "30 min natural",
            "4 h natural",
        ),
        (
            "utilities",
            "heating",
            "normal",
            "heating",
            &[],
            "2 h natural",
            "24 h natural",
        ),
        (
            "utilities",
            "water_supply",
            "normal",
            "water",
            &[],
            "1 h natural",
            "24 h natural",
        ),
        (
            "utilities",
            "power_supply",
            "normal",
            "power",
            &[],
            "1 h natural",
            "24 h natural",
        ),
        (
            "public_health",
            "epidemic",
            "urgent",
            "cdc",
            &["health"],
            "1 h natural",
            "24 h natural",
        ),
        (
            "public_health",
            "food_safety",
            "normal",
            "market_regulation",
            &[],
            "1 working day",
            "10 working days",
        ),
        (
            "tourism",
            "tourism_service",
            "normal",
            "culture_tourism",
            &[],
            "1 working day",
            "10 working days",
        ),
        (
            "business",
            "enterprise_service",
            "normal",
            "business_env",
            &[],
            "1 working day",
            "5 working days",
        ),
        (
            "business",
            "consultation",
            "info",
            "business_env",
            &[],
            "1 working day",
            "3 working days",
        ),
        (
            "other",
            "unclassified",
            "normal",
            "command_center",
            &[],
            "30 min natural",
            "",
        ),
    ];

    const DEPARTMENTS: [&str; 20] = [
        "command_center",
        "traffic_police",
        "fire_rescue",
        "ems_120",
        "emergency_mgmt",
        "health",
        "civil_affairs",
        "street_office",
        "city_mgmt",
        "housing",
        "ecology_env",
        "water",
        "gas",
        "heating",
        "power",
        "transport",
        "cdc",
        "market_regulation",
        "culture_tourism",
        "business_env",
    ];

    #[test]
    fn shipped_catalogue_matches_the_domain_reference() {
        let cat = shipped();
        assert!(!cat.version().is_empty());
        assert_eq!(cat.timezone(), chrono_tz::Asia::Shanghai);
        assert_eq!(cat.categories().count(), 36);
        assert_eq!(cat.scenarios().count(), 12);
        for (scenario, id, severity, owner, co, accept, resolve) in EXPECTED {
            let c = cat
                .category(&CategoryId::from(id))
                .unwrap_or_else(|| panic!("category {id} missing"));
            assert_eq!(c.scenario.as_str(), scenario, "{id}");
            assert!(cat.scenario(&c.scenario).is_some(), "{id}");
            assert_eq!(c.severity.as_str(), severity, "{id}");
            assert_eq!(
                c.owner.as_ref().map(|d| d.as_str()).unwrap_or(""),
                owner,
                "{id}"
            );
            let co_got: Vec<&str> = c.co_departments.iter().map(|d| d.as_str()).collect();
            assert_eq!(co_got, co, "{id}");
            let show = |l: Option<TimeLimit>| l.map(|l| l.to_string()).unwrap_or_default();
            assert_eq!(show(c.accept), accept, "{id}");
            assert_eq!(show(c.resolve), resolve, "{id}");
            assert_eq!(c.is_actionable(), !accept.is_empty(), "{id}");
            assert!(!c.name.is_empty());
        }
        let deps: Vec<&str> = cat.departments().map(|d| d.id.as_str()).collect();
        assert_eq!(deps, DEPARTMENTS);
    }

    #[test]
    fn shipped_catalogue_spot_checks() {
        let cat = shipped();
        let gas = cat.category(&"gas_leak".into()).unwrap();
        assert_eq!(gas.name, "燃气泄漏");
        assert_eq!(gas.owner, Some(DepartmentId::from("gas")));
        assert_eq!(gas.co_departments, vec![DepartmentId::from("fire_rescue")]);
        assert_eq!(
            gas.accept,
            Some(TimeLimit::new(3, TimeUnit::Minutes, Clock::Natural))
        );
        assert_eq!(
            gas.resolve,
            Some(TimeLimit::new(1, TimeUnit::Hours, Clock::Natural))
        );
        assert_eq!(gas.severity, Severity::Critical);

        let street = cat.department(&"street_office".into()).unwrap();
        assert!(street.place_resolved);
        assert_eq!(street.name, "属地街道办事处");
        assert_eq!(
            cat.departments().filter(|d| d.place_resolved).count(),
            1,
            "only the street office is place-resolved"
        );

        let triage = cat.triage_category();
        assert_eq!(triage.id.as_str(), "unclassified");
        assert_eq!(triage.scenario.as_str(), "other");
        assert!(triage.is_actionable());
        assert_eq!(triage.resolve, None);
        assert!(!cat.category(&"occupancy".into()).unwrap().is_actionable());
        assert!(!cat.category(&"congestion".into()).unwrap().is_actionable());
        assert_eq!(cat.category(&"occupancy".into()).unwrap().owner, None);

        assert_eq!(cat.severity_name(Severity::Critical), Some("特急"));
        assert_eq!(cat.severity_name(Severity::Urgent), Some("紧急"));
        assert_eq!(cat.severity_name(Severity::Normal), Some("一般"));
        assert_eq!(cat.severity_name(Severity::Info), Some("咨询/信息"));

        assert_eq!(cat.scenario(&"parking".into()).unwrap().name, "好停车");
        let emergency: Vec<&str> = cat
            .categories_in(&"emergency".into())
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(
            emergency,
            [
                "fire",
                "gas_leak",
                "waterlogging",
                "manhole_missing",
                "structural_risk"
            ]
        );
        assert!(cat.category(&"nope".into()).is_none());
        assert!(cat.department(&"nope".into()).is_none());
        assert!(cat.scenario(&"nope".into()).is_none());

        let types: Vec<&str> = cat.device_types().map(|d| d.id.as_str()).collect();
        assert_eq!(types.len(), 13);
        assert_eq!(
            cat.device_type("parking_sensor")
                .unwrap()
                .telemetry_category,
            Some(CategoryId::from("occupancy"))
        );
    }

    // ----- time limits ----------------------------------------------------------------------

    #[test]
    fn time_limits_parse_and_round_trip() {
        use Clock::*;
        use TimeUnit::*;
        let cases = [
            ("30 min natural", TimeLimit::new(30, Minutes, Natural)),
            ("2 h natural", TimeLimit::new(2, Hours, Natural)),
            ("24 h natural", TimeLimit::new(24, Hours, Natural)),
            ("1 working day", TimeLimit::new(1, Days, Working)),
            ("5 working days", TimeLimit::new(5, Days, Working)),
            ("2 working hours", TimeLimit::new(2, Hours, Working)),
            ("1 working hour", TimeLimit::new(1, Hours, Working)),
            ("90 working minutes", TimeLimit::new(90, Minutes, Working)),
            ("3 days natural", TimeLimit::new(3, Days, Natural)),
        ];
        for (text, limit) in cases {
            assert_eq!(text.parse::<TimeLimit>().unwrap(), limit, "{text}");
            assert_eq!(limit.to_string(), text);
        }
        // Other spellings.
        assert_eq!(
            "  2 HOURS   natural ".parse::<TimeLimit>().unwrap(),
            TimeLimit::new(2, Hours, Natural)
        );
        assert_eq!(
            "1 day working".parse::<TimeLimit>().unwrap(),
            TimeLimit::new(1, Days, Working)
        );
        assert_eq!(
            "10 natural minutes".parse::<TimeLimit>().unwrap(),
            TimeLimit::new(10, Minutes, Natural)
        );
        assert_eq!(TimeLimit::new(2, Hours, Natural).natural_ms(), 7_200_000);
        assert_eq!(
            TimeLimit::new(3, Days, Working).working_ms(7 * HOUR_MS),
            21 * HOUR_MS
        );
        assert_eq!(
            TimeLimit::new(90, Minutes, Working).working_ms(7 * HOUR_MS),
            90 * MINUTE_MS
        );
    }

    #[test]
    fn bad_time_limits_say_why() {
        for (text, why) in [
            ("", "empty"),
            ("thirty min natural", "whole number"),
            ("-1 h natural", "whole number"),
            ("0 min natural", "at least 1"),
            ("30 min", "no clock"),
            ("30 natural", "no unit"),
            ("30 min natural working", "more than one clock"),
            ("30 min h natural", "more than one unit"),
            ("30 weeks natural", "unknown word"),
        ] {
            let err = text.parse::<TimeLimit>().unwrap_err();
            assert!(err.reason.contains(why), "{text}: {err}");
            assert!(
                err.to_string().contains("30 min natural"),
                "the message shows an example"
            );
        }
    }

    #[test]
    fn conditions_and_hour_windows_parse() {
        let c: Condition = "ch4_lel >= 20".parse().unwrap();
        assert_eq!(
            (c.metric.as_str(), c.op, c.value),
            ("ch4_lel", CompareOp::Ge, 20.0)
        );
        let c: Condition = "fault!=0".parse().unwrap();
        assert_eq!(
            (c.metric.as_str(), c.op, c.value),
            ("fault", CompareOp::Ne, 0.0)
        );
        let c: Condition = "x < -1.5".parse().unwrap();
        assert_eq!((c.op, c.value), (CompareOp::Lt, -1.5));
        let c: Condition = "x > 2".parse().unwrap();
        assert_eq!(c.op, CompareOp::Gt);
        let c: Condition = "x <= 2".parse().unwrap();
        assert_eq!(c.op, CompareOp::Le);
        let c: Condition = "x == 1".parse().unwrap();
        assert_eq!(c.to_string(), "x == 1");
        assert!("x = 1".parse::<Condition>().is_err());
        assert!("X >= 1".parse::<Condition>().is_err());
        assert!("x >= lots".parse::<Condition>().is_err());
        assert!("x >= inf".parse::<Condition>().is_err());

        let w: LocalHours = "22:00-06:00".parse().unwrap();
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(w.contains(t(22, 0)) && w.contains(t(23, 59)) && w.contains(t(0, 0)));
        assert!(w.contains(t(5, 59)) && !w.contains(t(6, 0)) && !w.contains(t(21, 59)));
        let day: LocalHours = "08:00-18:00".parse().unwrap();
        assert!(day.contains(t(8, 0)) && !day.contains(t(18, 0)) && !day.contains(t(7, 59)));
        assert_eq!(w.to_string(), "22:00-06:00");
        assert!("22:00".parse::<LocalHours>().is_err());
        assert!("25:00-06:00".parse::<LocalHours>().is_err());
        assert!("06:00-06:00".parse::<LocalHours>().is_err());
    }

    // ----- validation -----------------------------------------------------------------------

    const MINIMAL: &str = r#"
version = "test-1"

[[severity]]
id = "normal"
name = "一般"

[[severity]]
id = "critical"
name = "特急"

[[department]]
id = "command_center"
name = "指挥中心"

[[department]]
id = "gas"
name = "燃气"

[[scenario]]
id = "other"
name = "其他"

[[category]]
id = "unclassified"
name = "待人工分拨"
scenario = "other"
severity = "normal"
owner = "command_center"
accept = "30 min natural"

[[category]]
id = "gas_leak"
name = "燃气泄漏"
scenario = "other"
severity = "critical"
owner = "gas"
accept = "3 min natural"
resolve = "1 h natural"
"#;

    fn problems_of(extra: &str) -> Vec<CatalogueProblem> {
        let text = format!("{MINIMAL}\n{extra}");
        match Catalogue::from_toml_str(&text) {
            Ok(_) => Vec::new(),
            Err(e) => {
                assert!(matches!(e, CatalogueError::Invalid { .. }), "{e}");
                e.problems().to_vec()
            }
        }
    }

    #[test]
    fn minimal_catalogue_is_valid() {
        let cat = Catalogue::from_toml_str(MINIMAL).unwrap();
        assert_eq!(cat.version(), "test-1");
        assert_eq!(cat.categories().count(), 2);
        assert_eq!(cat.severity_name(Severity::Urgent), None);
        assert!(problems_of("").is_empty());
    }

    #[test]
    fn category_reference_errors_name_the_entry() {
        let p = problems_of(
            r#"
[[category]]
id = "x"
name = "X"
scenario = "nowhere"
severity = "urgent"
owner = "nobody"
co_departments = ["gas", "gas", "ghost"]
accept = "1 working day"
"#,
        );
        assert!(p.contains(&CatalogueProblem::UnknownScenario {
            category: "x".into(),
            scenario: "nowhere".into()
        }));
        // `urgent` is a real severity but not declared in this file's [[severity]].
        assert!(p.contains(&CatalogueProblem::UnknownSeverity {
            category: "x".into(),
            severity: "urgent".into()
        }));
        assert!(p.contains(&CatalogueProblem::UnknownDepartment {
            category: "x".into(),
            department: "nobody".into(),
            role: "owner"
        }));
        assert!(p.contains(&CatalogueProblem::UnknownDepartment {
            category: "x".into(),
            department: "ghost".into(),
            role: "co-department"
        }));
        assert!(p.contains(&CatalogueProblem::RepeatedCoDepartment {
            category: "x".into(),
            department: "gas".into()
        }));
        assert_eq!(p.len(), 5, "{p:?}");
        // The whole error lists every problem, each naming category "x".
        let text = format!("{MINIMAL}\n[[category]]\nid = \"x\"\nname = \"X\"\nscenario = \"nowhere\"\nseverity = \"normal\"\n");
        let msg = Catalogue::from_toml_str(&text).unwrap_err().to_string();
        assert!(
            msg.contains("category \"x\" names scenario \"nowhere\""),
            "{msg}"
        );
        assert!(msg.contains("add a [[scenario]]"), "{msg}");
    }

    #[test]
    fn unknown_severity_id_is_rejected() {
        let p = problems_of("[[severity]]\nid = \"severe\"\nname = \"严重\"\n");
        assert_eq!(
            p,
            vec![CatalogueProblem::UnknownSeverityId {
                id: "severe".into()
            }]
        );
    }

    #[test]
    fn duplicates_bad_ids_and_empty_names_are_rejected() {
        let p = problems_of(
            r#"
[[department]]
id = "gas"
name = "又一个燃气"

[[scenario]]
id = "Other-2"
name = " "

[[category]]
id = "gas_leak"
name = "重复"
scenario = "other"
severity = "normal"
"#,
        );
        assert!(p.contains(&CatalogueProblem::Duplicate {
            kind: "department",
            id: "gas".into()
        }));
        assert!(p.contains(&CatalogueProblem::Duplicate {
            kind: "category",
            id: "gas_leak".into()
        }));
        assert!(p.contains(&CatalogueProblem::BadId {
            kind: "scenario",
            id: "Other-2".into()
        }));
        assert!(p.contains(&CatalogueProblem::EmptyName {
            kind: "scenario",
            id: "Other-2".into()
        }));
        assert_eq!(p.len(), 4, "{p:?}");
    }

    #[test]
    fn deadline_shape_errors() {
        let p = problems_of(
            r#"
[[category]]
id = "a"
name = "A"
scenario = "other"
severity = "normal"
owner = "gas"
resolve = "1 h natural"

[[category]]
id = "b"
name = "B"
scenario = "other"
severity = "normal"
accept = "1 h natural"

[[category]]
id = "c"
name = "C"
scenario = "other"
severity = "normal"
owner = "gas"
accept = "1 fortnight natural"
resolve = "3 working"
"#,
        );
        assert!(p.contains(&CatalogueProblem::ResolveWithoutAccept {
            category: "a".into()
        }));
        assert!(p.contains(&CatalogueProblem::ActionableWithoutOwner {
            category: "b".into()
        }));
        assert!(p.iter().any(|x| matches!(x,
            CatalogueProblem::BadTimeLimit { category, field: "accept", error }
                if category == "c" && error.text == "1 fortnight natural")));
        assert!(p.iter().any(|x| matches!(x,
            CatalogueProblem::BadTimeLimit { category, field: "resolve", .. } if category == "c")));
        assert_eq!(p.len(), 4, "{p:?}");
        let msg = p[0].to_string();
        assert!(
            msg.contains("\"a\"") && msg.contains("add `accept`"),
            "{msg}"
        );
    }

    #[test]
    fn triage_category_is_required_and_actionable() {
        let without = MINIMAL.replace("id = \"unclassified\"", "id = \"manual\"");
        let err = Catalogue::from_toml_str(&without).unwrap_err();
        assert_eq!(
            err.problems(),
            [CatalogueProblem::MissingTriageCategory {
                category: "unclassified".into()
            }]
        );
        assert!(err.to_string().contains("manual-triage queue is required"));

        // Renamed explicitly: fine.
        let renamed = format!("triage_category = \"manual\"\n{without}");
        assert_eq!(
            Catalogue::from_toml_str(&renamed)
                .unwrap()
                .triage_category()
                .id
                .as_str(),
            "manual"
        );

        let inert = MINIMAL.replace("accept = \"30 min natural\"", "");
        assert_eq!(
            Catalogue::from_toml_str(&inert).unwrap_err().problems(),
            [CatalogueProblem::TriageNotActionable {
                category: "unclassified".into()
            }]
        );
    }

    #[test]
    fn header_errors() {
        let text = MINIMAL.replace(
            "version = \"test-1\"",
            "version = \" \"\ntimezone = \"Mars/Olympus\"",
        );
        let err = Catalogue::from_toml_str(&text).unwrap_err();
        assert_eq!(
            err.problems(),
            [
                CatalogueProblem::EmptyVersion,
                CatalogueProblem::BadTimezone {
                    timezone: "Mars/Olympus".into()
                }
            ]
        );
        // Misspelt field: a TOML error with the position.
        let err = Catalogue::from_toml_str(&format!(
            "{MINIMAL}\n[[scenario]]\nid = \"y\"\nnmae = \"Y\"\n"
        ))
        .unwrap_err();
        assert!(matches!(err, CatalogueError::Parse(_)), "{err}");
        assert!(err.to_string().contains("nmae"), "{err}");
        // Missing file.
        let err = Catalogue::load("/nonexistent/catalogue.toml").unwrap_err();
        assert!(matches!(err, CatalogueError::Read { .. }));
        assert!(err.to_string().contains("/nonexistent/catalogue.toml"));
    }

    #[test]
    fn device_rule_errors() {
        let p = problems_of(
            r#"
[[device_type]]
id = "gas_detector"
name = "可燃气体探测器"
required_metrics = ["ch4_lel", "ch4_lel", "Bad-Metric"]
telemetry_category = "ghost"

[[device_type.rule]]
id = "gas_detector.high"
when = ["ch4_lel >= 20", "co_ppm > 50", "ch4_lel => 3"]
local_hours = "22:00-6am"
category = "gas_explosion"

[[device_type.rule]]
id = "gas_detector.high"
when = []
category = "gas_leak"

[[device_type.rule]]
id = "smoke.alarm"
when = ["ch4_lel >= 1"]
category = "gas_leak"

[[device_type]]
id = "camera_ai"
name = "摄像头"

[device_type.events]
gas_leak = "gas_leak"
"Fire!" = "fire"

[[device_type.rule]]
id = "camera_ai.x"
when = ["x >= 1"]
category = "gas_leak"
"#,
        );
        let expect = [
            CatalogueProblem::RepeatedMetric {
                device_type: "gas_detector".into(),
                metric: "ch4_lel".into(),
            },
            CatalogueProblem::BadMetric {
                device_type: "gas_detector".into(),
                metric: "Bad-Metric".into(),
            },
            CatalogueProblem::DeviceUnknownCategory {
                device_type: "gas_detector".into(),
                category: "ghost".into(),
                role: "telemetry_category".into(),
            },
            CatalogueProblem::RuleMetricNotRequired {
                rule: "gas_detector.high".into(),
                device_type: "gas_detector".into(),
                metric: "co_ppm".into(),
            },
            CatalogueProblem::RuleUnknownCategory {
                rule: "gas_detector.high".into(),
                category: "gas_explosion".into(),
            },
            CatalogueProblem::Duplicate {
                kind: "rule",
                id: "gas_detector.high".into(),
            },
            CatalogueProblem::RuleWithoutConditions {
                rule: "gas_detector.high".into(),
            },
            CatalogueProblem::RuleIdPrefix {
                device_type: "gas_detector".into(),
                rule: "smoke.alarm".into(),
            },
            CatalogueProblem::EventsAndRules {
                device_type: "camera_ai".into(),
            },
            CatalogueProblem::BadEvent {
                device_type: "camera_ai".into(),
                event: "Fire!".into(),
            },
            CatalogueProblem::DeviceUnknownCategory {
                device_type: "camera_ai".into(),
                category: "fire".into(),
                role: "event \"Fire!\"".into(),
            },
            CatalogueProblem::RuleMetricNotRequired {
                rule: "camera_ai.x".into(),
                device_type: "camera_ai".into(),
                metric: "x".into(),
            },
        ];
        for e in &expect {
            assert!(p.contains(e), "missing {e:?} in {p:#?}");
        }
        assert!(p.iter().any(|x| matches!(x,
            CatalogueProblem::BadCondition { rule, text, .. } if rule == "gas_detector.high" && text == "ch4_lel => 3")));
        assert!(p.iter().any(|x| matches!(x,
            CatalogueProblem::BadLocalHours { rule, text, .. } if rule == "gas_detector.high" && text == "22:00-6am")));
        assert_eq!(p.len(), expect.len() + 2, "{p:#?}");
        let msg = CatalogueProblem::RuleMetricNotRequired {
            rule: "gas_detector.high".into(),
            device_type: "gas_detector".into(),
            metric: "co_ppm".into(),
        }
        .to_string();
        assert!(msg.contains("add it there"), "{msg}");
    }

    // ----- device readings ------------------------------------------------------------------

    /// 2026-11-21 12:00 China Standard Time, in UTC ms.
    const NOON_CST: i64 = 1_795_233_600_000;
    const HOUR: i64 = 3_600_000;

    fn eval(
        cat: &Catalogue,
        device: &str,
        metrics: &[(&str, f64)],
        tags: &[(&str, &str)],
        at_ms: i64,
    ) -> Result<ReadingVerdict, ReadingError> {
        let metrics = metrics.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
        let tags = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        cat.evaluate_reading(device, &metrics, None, &tags, at_ms)
    }

    fn incident(category: &str, rule_id: &str) -> Result<ReadingVerdict, ReadingError> {
        Ok(ReadingVerdict::Incident {
            category: category.into(),
            rule_id: rule_id.to_owned(),
        })
    }

    const TELEMETRY: Result<ReadingVerdict, ReadingError> = Ok(ReadingVerdict::Telemetry);

    #[test]
    fn noon_constant_is_noon_in_shanghai() {
        let t = DateTime::from_timestamp_millis(NOON_CST)
            .unwrap()
            .with_timezone(&chrono_tz::Asia::Shanghai);
        assert_eq!(t.to_rfc3339(), "2026-11-21T12:00:00+08:00");
    }

    #[test]
    fn every_threshold_on_both_sides() {
        let cat = shipped();
        let at = NOON_CST;
        type Case = (
            &'static str,
            &'static [(&'static str, f64)],
            Result<ReadingVerdict, ReadingError>,
        );
        let cases: &[Case] = &[
            ("smoke_detector", &[("alarm", 0.0)], TELEMETRY),
            (
                "smoke_detector",
                &[("alarm", 1.0)],
                incident("fire", "smoke_detector.alarm_eq_1"),
            ),
            ("gas_detector", &[("ch4_lel", 19.9)], TELEMETRY),
            (
                "gas_detector",
                &[("ch4_lel", 20.0)],
                incident("gas_leak", "gas_detector.ch4_lel_ge_20"),
            ),
            (
                "gas_detector",
                &[("ch4_lel", 35.0)],
                incident("gas_leak", "gas_detector.ch4_lel_ge_20"),
            ),
            ("water_level", &[("depth_cm", 14.9)], TELEMETRY),
            (
                "water_level",
                &[("depth_cm", 15.0)],
                incident("waterlogging", "water_level.depth_cm_ge_15"),
            ),
            (
                "manhole_sensor",
                &[("open", 0.0), ("tilt_deg", 29.9)],
                TELEMETRY,
            ),
            (
                "manhole_sensor",
                &[("open", 1.0), ("tilt_deg", 0.0)],
                incident("manhole_missing", "manhole_sensor.open_eq_1"),
            ),
            (
                "manhole_sensor",
                &[("open", 0.0), ("tilt_deg", 30.0)],
                incident("manhole_missing", "manhole_sensor.tilt_deg_ge_30"),
            ),
            (
                "elderly_wearable",
                &[("fall", 0.0), ("sos", 0.0), ("heart_rate", 80.0)],
                TELEMETRY,
            ),
            (
                "elderly_wearable",
                &[("fall", 1.0), ("sos", 0.0)],
                incident("fall_alarm", "elderly_wearable.fall_eq_1"),
            ),
            (
                "elderly_wearable",
                &[("fall", 0.0), ("sos", 1.0)],
                incident("fall_alarm", "elderly_wearable.sos_eq_1"),
            ),
            ("air_monitor", &[("aqi", 199.0), ("pm25", 150.0)], TELEMETRY),
            (
                "air_monitor",
                &[("aqi", 200.0)],
                incident("air_pollution", "air_monitor.aqi_ge_200"),
            ),
            ("signal_controller", &[("fault", 0.0)], TELEMETRY),
            (
                "signal_controller",
                &[("fault", 17.0)],
                incident("signal_fault", "signal_controller.fault_ne_0"),
            ),
            (
                "signal_controller",
                &[("fault", -1.0)],
                incident("signal_fault", "signal_controller.fault_ne_0"),
            ),
            ("streetlight_controller", &[("lamp_fault", 0.0)], TELEMETRY),
            (
                "streetlight_controller",
                &[("lamp_fault", 1.0)],
                incident("streetlight", "streetlight_controller.lamp_fault_eq_1"),
            ),
            ("structure_sensor", &[("strain_ratio", 0.89)], TELEMETRY),
            (
                "structure_sensor",
                &[("strain_ratio", 0.9)],
                incident("structural_risk", "structure_sensor.strain_ratio_ge_0_9"),
            ),
            ("parking_sensor", &[("occupied", 0.0)], TELEMETRY),
            ("parking_sensor", &[("occupied", 1.0)], TELEMETRY),
        ];
        for (device, metrics, expected) in cases {
            assert_eq!(
                &eval(&cat, device, metrics, &[], at),
                expected,
                "{device} {metrics:?}"
            );
        }
    }

    #[test]
    fn water_meter_needs_the_solitary_elder_tag() {
        let cat = shipped();
        let elder = [("solitary_elder", "true")];
        let rule = "smart_water_meter.solitary_elder_no_water_24h";
        assert_eq!(
            eval(
                &cat,
                "smart_water_meter",
                &[("litres_24h", 0.0)],
                &elder,
                NOON_CST
            ),
            incident("inactivity_alarm", rule)
        );
        assert_eq!(
            eval(
                &cat,
                "smart_water_meter",
                &[("litres_24h", 0.1)],
                &elder,
                NOON_CST
            ),
            TELEMETRY
        );
        assert_eq!(
            eval(
                &cat,
                "smart_water_meter",
                &[("litres_24h", 0.0)],
                &[],
                NOON_CST
            ),
            TELEMETRY
        );
        assert_eq!(
            eval(
                &cat,
                "smart_water_meter",
                &[("litres_24h", 0.0)],
                &[("solitary_elder", "false")],
                NOON_CST
            ),
            TELEMETRY
        );
    }

    #[test]
    fn noise_counts_only_at_night_in_china_standard_time() {
        let cat = shipped();
        let rule = "noise_monitor.night_db_a_ge_70";
        let night = NOON_CST + 11 * HOUR; // 23:00 CST
        assert_eq!(
            eval(&cat, "noise_monitor", &[("db_a", 75.0)], &[], night),
            incident("noise", rule)
        );
        assert_eq!(
            eval(&cat, "noise_monitor", &[("db_a", 69.9)], &[], night),
            TELEMETRY
        );
        assert_eq!(
            eval(&cat, "noise_monitor", &[("db_a", 75.0)], &[], NOON_CST),
            TELEMETRY
        );
        // Window edges: 22:00 inclusive, 06:00 exclusive; 05:59 still night.
        assert_eq!(
            eval(
                &cat,
                "noise_monitor",
                &[("db_a", 70.0)],
                &[],
                NOON_CST + 10 * HOUR
            ),
            incident("noise", rule)
        );
        assert_eq!(
            eval(
                &cat,
                "noise_monitor",
                &[("db_a", 70.0)],
                &[],
                NOON_CST + 10 * HOUR - 60_000
            ),
            TELEMETRY
        );
        assert_eq!(
            eval(
                &cat,
                "noise_monitor",
                &[("db_a", 70.0)],
                &[],
                NOON_CST + 18 * HOUR - 60_000
            ),
            incident("noise", rule)
        );
        assert_eq!(
            eval(
                &cat,
                "noise_monitor",
                &[("db_a", 70.0)],
                &[],
                NOON_CST + 18 * HOUR
            ),
            TELEMETRY
        );
        // A reading stamped 15:30Z is 23:30 in Shanghai: night, whatever the device's offset.
        let utc_1530 = DateTime::parse_from_rfc3339("2026-11-21T15:30:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            eval(&cat, "noise_monitor", &[("db_a", 75.0)], &[], utc_1530),
            incident("noise", rule)
        );
        // 12:00Z is 20:00 in Shanghai: day.
        let utc_noon = DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            eval(&cat, "noise_monitor", &[("db_a", 75.0)], &[], utc_noon),
            TELEMETRY
        );
    }

    #[test]
    fn camera_events_map_to_their_categories() {
        let cat = shipped();
        let none = BTreeMap::new();
        let tags = BTreeMap::new();
        for event in [
            "illegal_parking",
            "fire_lane_blocked",
            "street_vendor",
            "garbage",
        ] {
            assert_eq!(
                cat.evaluate_reading("camera_ai", &none, Some(event), &tags, NOON_CST),
                incident(event, &format!("camera_ai.event.{event}"))
            );
        }
        let err = cat
            .evaluate_reading("camera_ai", &none, Some("ufo"), &tags, NOON_CST)
            .unwrap_err();
        assert!(
            matches!(&err, ReadingError::EventNotAllowed { event, allowed, .. }
            if event == "ufo" && allowed.len() == 4)
        );
        assert!(err.to_string().contains("fire_lane_blocked"), "{err}");
        let err = cat
            .evaluate_reading("camera_ai", &none, None, &tags, NOON_CST)
            .unwrap_err();
        assert!(matches!(err, ReadingError::MissingEvent { .. }), "{err}");
    }

    #[test]
    fn bad_readings_are_errors() {
        let cat = shipped();
        assert_eq!(
            eval(&cat, "toaster", &[("temp", 1.0)], &[], NOON_CST),
            Err(ReadingError::UnknownDeviceType {
                device_type: "toaster".into()
            })
        );
        assert_eq!(
            eval(&cat, "gas_detector", &[("co_ppm", 1.0)], &[], NOON_CST),
            Err(ReadingError::MissingMetric {
                device_type: "gas_detector".into(),
                metric: "ch4_lel".into()
            })
        );
        // Any-of rules still need every required metric.
        let err = eval(&cat, "manhole_sensor", &[("open", 1.0)], &[], NOON_CST).unwrap_err();
        assert!(err.to_string().contains("\"tilt_deg\""), "{err}");
        // An optional metric may be absent; a non-finite one is rejected.
        assert!(matches!(
            eval(
                &cat,
                "gas_detector",
                &[("ch4_lel", f64::NAN)],
                &[],
                NOON_CST
            ),
            Err(ReadingError::NonFiniteMetric { .. })
        ));
        // A time out of range only matters to a rule with an hour window.
        assert!(matches!(
            eval(&cat, "noise_monitor", &[("db_a", 80.0)], &[], i64::MAX),
            Err(ReadingError::TimestampOutOfRange { .. })
        ));
        assert_eq!(
            eval(&cat, "noise_monitor", &[("db_a", 10.0)], &[], i64::MAX),
            TELEMETRY
        );
    }

    #[test]
    fn thresholds_are_data() {
        // A city lowers the gas threshold in its file; no code changes.
        let text = SHIPPED.replace("\"ch4_lel >= 20\"", "\"ch4_lel >= 10\"");
        let cat = Catalogue::from_toml_str(&text).unwrap();
        assert_eq!(
            eval(&cat, "gas_detector", &[("ch4_lel", 10.0)], &[], NOON_CST),
            incident("gas_leak", "gas_detector.ch4_lel_ge_20")
        );
    }
}
