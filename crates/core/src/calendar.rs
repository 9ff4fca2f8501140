//! The government calendar (政务日历): which days are working days and when working time runs,
//! loaded from a TOML data file (`config/calendar.toml`), and the deadline arithmetic of work
//! orders on it.
//!
//! Working time is the calendar's daily periods (default 08:30–11:30 and 13:00–17:00, local time
//! Asia/Shanghai) on working days: the working weekdays, minus public holidays, plus make-up
//! working days (调休上班). One *working day* of a time limit is one full day of working time
//! (7 h by default): 1 working day from Friday 10:00 is Monday 10:00. A start outside working
//! time counts from the next working moment.
//!
//! Years the file lists are *arranged* (official or provisional). For a year it does not list,
//! the calendar falls back to the working weekdays minus the fixed-date statutory holidays of
//! its `[fallback]` table (元旦, 劳动节, 国庆): the computation never fails, but the result is
//! flagged ([`Deadline::used_fallback`]) so that the caller can export a warning metric.
//!
//! ```
//! # use cityops_core::calendar::GovernmentCalendar;
//! # use cityops_core::catalogue::TimeLimit;
//! let cal = GovernmentCalendar::from_toml_str(include_str!("../../../config/calendar.toml"))?;
//! let start = 1_795_233_600_000; // Sat 2026-11-21 12:00 CST
//! let limit: TimeLimit = "2 working hours".parse().expect("a limit");
//! let due = cal.deadline(start, &limit);
//! assert_eq!(due.at_ms, start + 2 * 86_400_000 - 5_400_000); // Mon 2026-11-23 10:30
//! assert!(!due.used_fallback);
//! # Ok::<(), cityops_core::calendar::CalendarError>(())
//! ```

use crate::catalogue::{Clock, TimeLimit};
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Timelike};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

const DAY_MS: i64 = 86_400_000;

/// How far deadline and working-time computations walk the calendar (about 100 years). Longer
/// spans are clamped there; no real time limit comes near it.
const MAX_DAYS: u32 = 36_600;

/// Holiday dates may lie this many days outside their year (元旦 may begin on Dec 30).
const YEAR_SLACK_DAYS: i64 = 31;

/// A holiday longer than this is taken for a typo.
const MAX_HOLIDAY_DAYS: i64 = 31;

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A daily period of working time, local time, start inclusive, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingPeriod {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl WorkingPeriod {
    fn start_ms(&self) -> i64 {
        time_ms(self.start)
    }
    fn end_ms(&self) -> i64 {
        time_ms(self.end)
    }
}

/// One holiday of a year's arrangement: its days off and its make-up working days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    /// Chinese name, e.g. 国庆节.
    pub name: String,
    /// First day off.
    pub from: NaiveDate,
    /// Last day off (inclusive).
    pub to: NaiveDate,
    /// Weekend days worked instead (调休上班).
    pub makeup_working_days: Vec<NaiveDate>,
}

/// One year's holiday arrangement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearArrangement {
    pub year: i32,
    /// Not the official arrangement yet (statutory days only, awaiting the State Council notice).
    pub provisional: bool,
    /// Where the arrangement comes from (the notice's title and date).
    pub source: String,
    pub holidays: Vec<Holiday>,
}

/// How well the calendar knows a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum YearStatus {
    /// Listed with the official arrangement.
    Official,
    /// Listed, marked provisional.
    Provisional,
    /// Not listed: weekends plus fixed-date statutory holidays only.
    Fallback,
}

/// A computed deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// When it falls, UTC ms.
    pub at_ms: i64,
    /// The computation counted on a day of a year the calendar does not list (or on a time
    /// outside the representable range): the result is an estimate; export a warning metric.
    pub used_fallback: bool,
    /// The computation counted on a day of a provisional year.
    pub used_provisional: bool,
}

/// Why a calendar could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("cannot read calendar {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("calendar is not valid TOML or has a misspelt/missing field: {0}")]
    Parse(#[from] toml::de::Error),
    #[error(
        "calendar has {} problem(s); fix them and reload:\n  - {}",
        problems.len(),
        problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  - ")
    )]
    Invalid { problems: Vec<CalendarProblem> },
}

impl CalendarError {
    /// The validation problems, empty for a read or parse error.
    pub fn problems(&self) -> &[CalendarProblem] {
        match self {
            CalendarError::Invalid { problems } => problems,
            _ => &[],
        }
    }
}

/// One thing wrong in a calendar file. Every message names the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarProblem {
    #[error("timezone {timezone:?} is not an IANA time zone name (use e.g. \"Asia/Shanghai\")")]
    BadTimezone { timezone: String },
    #[error(
        "working_time.weekdays: {text:?} is not a weekday (use mon, tue, wed, thu, fri, sat, sun)"
    )]
    BadWeekday { text: String },
    #[error("working_time.weekdays is empty: list at least one working weekday")]
    NoWorkingWeekday,
    #[error("working_time.periods: {text:?} {reason}; write e.g. \"08:30-11:30\"")]
    BadPeriod { text: String, reason: String },
    #[error("working_time.periods is empty: list at least one period, e.g. \"08:30-11:30\"")]
    NoPeriods,
    #[error("working_time.periods: {first:?} and {second:?} overlap or are out of order: list them in time order without overlap")]
    PeriodsOverlap { first: String, second: String },
    #[error("fallback.holidays: {text:?} is not a month-day \"MM-DD\" (e.g. \"10-01\")")]
    BadFallbackDate { text: String },
    #[error("year {year} is listed more than once: keep one [[year]] block per year")]
    DuplicateYear { year: i32 },
    #[error("year {year}, holiday {holiday:?}: {field} {text:?} is not a date \"YYYY-MM-DD\"")]
    BadDate {
        year: i32,
        holiday: String,
        field: &'static str,
        text: String,
    },
    #[error("year {year}, holiday {holiday:?}: {date} is not in or next to {year}: check the year of the date")]
    DateOutsideYear {
        year: i32,
        holiday: String,
        date: NaiveDate,
    },
    #[error("year {year}, holiday {holiday:?}: ends ({to}) before it starts ({from}): swap or fix the dates")]
    EndBeforeStart {
        year: i32,
        holiday: String,
        from: NaiveDate,
        to: NaiveDate,
    },
    #[error(
        "year {year}, holiday {holiday:?}: {days} days off from {from} is too long: check `to`"
    )]
    HolidayTooLong {
        year: i32,
        holiday: String,
        from: NaiveDate,
        days: i64,
    },
    #[error("year {year}: a holiday has an empty name: give it its Chinese name")]
    EmptyHolidayName { year: i32 },
    #[error("{date} is both a day off of {holiday:?} and a make-up working day of {makeup_of:?}: remove one")]
    HolidayAndMakeup {
        date: NaiveDate,
        holiday: String,
        makeup_of: String,
    },
    #[error("{date} is a day off of both {first:?} and {second:?}: holidays must not overlap (merge them into one entry)")]
    HolidaysOverlap {
        date: NaiveDate,
        first: String,
        second: String,
    },
    #[error(
        "{date} is listed as a make-up working day of both {first:?} and {second:?}: list it once"
    )]
    RepeatedMakeup {
        date: NaiveDate,
        first: String,
        second: String,
    },
    #[error("{date} (make-up day of {holiday:?}) is a {weekday}, already a working weekday: make-up days fall on rest days; check the date")]
    MakeupOnWorkingWeekday {
        date: NaiveDate,
        holiday: String,
        weekday: &'static str,
    },
}

// ---------------------------------------------------------------------------------------------
// The file format
// ---------------------------------------------------------------------------------------------

fn default_timezone() -> String {
    "Asia/Shanghai".to_owned()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    #[serde(default = "default_timezone")]
    timezone: String,
    working_time: RawWorkingTime,
    #[serde(default)]
    fallback: RawFallback,
    #[serde(default)]
    year: Vec<RawYear>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkingTime {
    weekdays: Vec<String>,
    periods: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFallback {
    #[serde(default)]
    holidays: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: i32,
    #[serde(default)]
    provisional: bool,
    #[serde(default)]
    source: String,
    #[serde(default, rename = "holiday")]
    holidays: Vec<RawHoliday>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    name: String,
    from: DateText,
    to: DateText,
    #[serde(default)]
    makeup_working_days: Vec<DateText>,
}

/// A date written as a string ("2026-10-01") or as a bare TOML date (2026-10-01).
#[derive(Deserialize)]
#[serde(untagged)]
enum DateText {
    Text(String),
    Toml(toml::value::Datetime),
}

impl DateText {
    fn text(&self) -> String {
        match self {
            DateText::Text(s) => s.trim().to_owned(),
            DateText::Toml(d) => d.to_string(),
        }
    }
}

fn parse_period(text: &str) -> Result<WorkingPeriod, String> {
    let (a, b) = text
        .split_once('-')
        .ok_or_else(|| "is not \"HH:MM-HH:MM\"".to_owned())?;
    let parse = |t: &str| {
        NaiveTime::parse_from_str(t.trim(), "%H:%M")
            .map_err(|_| format!("has {:?}, not a time HH:MM", t.trim()))
    };
    let (start, end) = (parse(a)?, parse(b)?);
    if start >= end {
        return Err("ends before it starts (a period cannot cross midnight)".to_owned());
    }
    Ok(WorkingPeriod { start, end })
}

fn time_ms(t: NaiveTime) -> i64 {
    i64::from(t.num_seconds_from_midnight()) * 1000 + i64::from(t.nanosecond() / 1_000_000).min(999)
}

// ---------------------------------------------------------------------------------------------
// The calendar
// ---------------------------------------------------------------------------------------------

/// A loaded, validated government calendar.
#[derive(Debug, Clone)]
pub struct GovernmentCalendar {
    timezone: Tz,
    /// Indexed by `Weekday::num_days_from_monday`.
    working_weekdays: [bool; 7],
    periods: Vec<WorkingPeriod>,
    working_day_ms: i64,
    years: BTreeMap<i32, YearArrangement>,
    /// Day off → holiday name, over every listed year.
    days_off: BTreeMap<NaiveDate, String>,
    /// Make-up working day → holiday name.
    makeup_days: BTreeMap<NaiveDate, String>,
    /// (month, day) of the fixed-date statutory holidays used for unlisted years.
    fallback_holidays: BTreeSet<(u32, u32)>,
}

/// What the walk over the calendar met.
#[derive(Debug, Default, Clone, Copy)]
struct Flags {
    fallback: bool,
    provisional: bool,
}

impl GovernmentCalendar {
    /// Reads and validates the calendar file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, CalendarError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| CalendarError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml_str(&text)
    }

    /// Parses and validates a calendar from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, CalendarError> {
        let raw: RawCalendar = toml::from_str(text)?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawCalendar) -> Result<Self, CalendarError> {
        let mut problems = Vec::new();

        let timezone = raw.timezone.parse::<Tz>().unwrap_or_else(|_| {
            problems.push(CalendarProblem::BadTimezone {
                timezone: raw.timezone.clone(),
            });
            chrono_tz::Asia::Shanghai
        });

        let mut working_weekdays = [false; 7];
        for text in &raw.working_time.weekdays {
            let lower = text.trim().to_lowercase();
            match WEEKDAYS.iter().position(|w| *w == lower) {
                Some(i) => working_weekdays[i] = true,
                None => problems.push(CalendarProblem::BadWeekday { text: text.clone() }),
            }
        }
        if raw.working_time.weekdays.is_empty() {
            problems.push(CalendarProblem::NoWorkingWeekday);
        }

        let mut periods: Vec<(WorkingPeriod, &str)> = Vec::new();
        for text in &raw.working_time.periods {
            match parse_period(text) {
                Ok(p) => periods.push((p, text)),
                Err(reason) => problems.push(CalendarProblem::BadPeriod {
                    text: text.clone(),
                    reason,
                }),
            }
        }
        if raw.working_time.periods.is_empty() {
            problems.push(CalendarProblem::NoPeriods);
        }
        for pair in periods.windows(2) {
            if pair[1].0.start < pair[0].0.end {
                problems.push(CalendarProblem::PeriodsOverlap {
                    first: pair[0].1.to_owned(),
                    second: pair[1].1.to_owned(),
                });
            }
        }
        let periods: Vec<WorkingPeriod> = periods.into_iter().map(|(p, _)| p).collect();
        let working_day_ms = periods.iter().map(|p| p.end_ms() - p.start_ms()).sum();

        let mut fallback_holidays = BTreeSet::new();
        for text in &raw.fallback.holidays {
            // Validate against a leap year so that 02-29 is accepted.
            match NaiveDate::parse_from_str(&format!("2000-{}", text.trim()), "%Y-%m-%d") {
                Ok(d) => {
                    fallback_holidays.insert((d.month(), d.day()));
                }
                Err(_) => problems.push(CalendarProblem::BadFallbackDate { text: text.clone() }),
            }
        }

        let mut years = BTreeMap::new();
        let mut days_off: BTreeMap<NaiveDate, String> = BTreeMap::new();
        let mut makeup_days: BTreeMap<NaiveDate, String> = BTreeMap::new();
        for y in &raw.year {
            if years.contains_key(&y.year) {
                problems.push(CalendarProblem::DuplicateYear { year: y.year });
                continue;
            }
            let near_year = |d: NaiveDate| {
                let lo = NaiveDate::from_ymd_opt(y.year, 1, 1)
                    .map(|d| d - TimeDelta::days(YEAR_SLACK_DAYS));
                let hi = NaiveDate::from_ymd_opt(y.year, 12, 31)
                    .map(|d| d + TimeDelta::days(YEAR_SLACK_DAYS));
                matches!((lo, hi), (Some(lo), Some(hi)) if lo <= d && d <= hi)
            };
            let mut holidays = Vec::new();
            for h in &y.holidays {
                let name = h.name.trim().to_owned();
                if name.is_empty() {
                    problems.push(CalendarProblem::EmptyHolidayName { year: y.year });
                }
                let mut date = |field: &'static str, text: &DateText| {
                    let text = text.text();
                    match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
                        Ok(d) if near_year(d) => Some(d),
                        Ok(d) => {
                            problems.push(CalendarProblem::DateOutsideYear {
                                year: y.year,
                                holiday: name.clone(),
                                date: d,
                            });
                            None
                        }
                        Err(_) => {
                            problems.push(CalendarProblem::BadDate {
                                year: y.year,
                                holiday: name.clone(),
                                field,
                                text,
                            });
                            None
                        }
                    }
                };
                let from = date("from", &h.from);
                let to = date("to", &h.to);
                let makeups: Vec<NaiveDate> = h
                    .makeup_working_days
                    .iter()
                    .filter_map(|d| date("makeup_working_days", d))
                    .collect();
                let (Some(from), Some(to)) = (from, to) else {
                    continue;
                };
                if to < from {
                    problems.push(CalendarProblem::EndBeforeStart {
                        year: y.year,
                        holiday: name.clone(),
                        from,
                        to,
                    });
                    continue;
                }
                let days = (to - from).num_days() + 1;
                if days > MAX_HOLIDAY_DAYS {
                    problems.push(CalendarProblem::HolidayTooLong {
                        year: y.year,
                        holiday: name.clone(),
                        from,
                        days,
                    });
                    continue;
                }
                for day in from.iter_days().take_while(|d| *d <= to) {
                    if let Some(first) = days_off.insert(day, name.clone()) {
                        problems.push(CalendarProblem::HolidaysOverlap {
                            date: day,
                            first,
                            second: name.clone(),
                        });
                    }
                }
                for &day in &makeups {
                    if let Some(first) = makeup_days.insert(day, name.clone()) {
                        problems.push(CalendarProblem::RepeatedMakeup {
                            date: day,
                            first,
                            second: name.clone(),
                        });
                    }
                    let wd = day.weekday().num_days_from_monday() as usize;
                    if working_weekdays[wd] {
                        problems.push(CalendarProblem::MakeupOnWorkingWeekday {
                            date: day,
                            holiday: name.clone(),
                            weekday: WEEKDAYS[wd],
                        });
                    }
                }
                holidays.push(Holiday {
                    name,
                    from,
                    to,
                    makeup_working_days: makeups,
                });
            }
            years.insert(
                y.year,
                YearArrangement {
                    year: y.year,
                    provisional: y.provisional,
                    source: y.source.trim().to_owned(),
                    holidays,
                },
            );
        }
        for (date, makeup_of) in &makeup_days {
            if let Some(holiday) = days_off.get(date) {
                problems.push(CalendarProblem::HolidayAndMakeup {
                    date: *date,
                    holiday: holiday.clone(),
                    makeup_of: makeup_of.clone(),
                });
            }
        }

        if !problems.is_empty() {
            return Err(CalendarError::Invalid { problems });
        }
        Ok(GovernmentCalendar {
            timezone,
            working_weekdays,
            periods,
            working_day_ms,
            years,
            days_off,
            makeup_days,
            fallback_holidays,
        })
    }

    /// The local time zone of working hours and dates.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// The daily working periods, in order.
    pub fn periods(&self) -> &[WorkingPeriod] {
        &self.periods
    }

    /// The working time of one full working day (what "1 working day" means): 7 h by default.
    pub fn working_day_length(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.working_day_ms).unwrap_or(0))
    }

    /// The listed years' arrangements, in year order.
    pub fn years(&self) -> impl Iterator<Item = &YearArrangement> {
        self.years.values()
    }

    /// How well the calendar knows `year`.
    pub fn year_status(&self, year: i32) -> YearStatus {
        match self.years.get(&year) {
            Some(y) if y.provisional => YearStatus::Provisional,
            Some(_) => YearStatus::Official,
            None => YearStatus::Fallback,
        }
    }

    /// The holiday `date` is a day off of, if any (a fixed-date fallback holiday of an unlisted
    /// year is named "statutory holiday").
    pub fn holiday_name(&self, date: NaiveDate) -> Option<&str> {
        if let Some(name) = self.days_off.get(&date) {
            return Some(name);
        }
        (self.year_status(date.year()) == YearStatus::Fallback
            && self.fallback_holidays.contains(&(date.month(), date.day())))
        .then_some("statutory holiday")
    }

    /// Whether `date` is a make-up working day (调休上班).
    pub fn is_makeup_day(&self, date: NaiveDate) -> bool {
        self.makeup_days.contains_key(&date)
    }

    /// Whether `date` (a local date) is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.working_day_flagged(date, &mut Flags::default())
    }

    fn working_day_flagged(&self, date: NaiveDate, flags: &mut Flags) -> bool {
        match self.year_status(date.year()) {
            YearStatus::Fallback => flags.fallback = true,
            YearStatus::Provisional => flags.provisional = true,
            YearStatus::Official => {}
        }
        if self.makeup_days.contains_key(&date) {
            return true;
        }
        if self.holiday_name(date).is_some() {
            return false;
        }
        self.working_weekdays[date.weekday().num_days_from_monday() as usize]
    }

    /// Whether the instant `at_ms` (UTC ms) falls in working time.
    pub fn is_working_time(&self, at_ms: i64) -> bool {
        let Some((date, tod)) = self.local(at_ms) else {
            return false;
        };
        self.is_working_day(date)
            && self
                .periods
                .iter()
                .any(|p| p.start_ms() <= tod && tod < p.end_ms())
    }

    /// When a time limit started at `start_ms` (UTC ms) runs out.
    ///
    /// A natural limit is plain wall-clock addition. A working limit counts working time from
    /// `start_ms` (or from the next working moment when it starts outside working time); a
    /// working day counts one full day of working time. Never fails: years the calendar does
    /// not list use the fallback rules, and the result says so.
    pub fn deadline(&self, start_ms: i64, limit: &TimeLimit) -> Deadline {
        self.deadline_at_fraction(start_ms, limit, 1.0)
    }

    /// When `fraction` of a time limit started at `start_ms` has run: e.g. 0.75 for the yellow
    /// warning. For a working limit it is that fraction of the *working* time, not of the wall
    /// time between start and deadline. A fraction that is negative or not a number counts as 0;
    /// one above 1 runs past the deadline.
    pub fn deadline_at_fraction(
        &self,
        start_ms: i64,
        limit: &TimeLimit,
        fraction: f64,
    ) -> Deadline {
        let fraction = if fraction.is_finite() && fraction > 0.0 {
            fraction
        } else {
            0.0
        };
        let scale = |ms: i64| (ms as f64 * fraction).round() as i64;
        match limit.clock {
            Clock::Natural => Deadline {
                at_ms: start_ms.saturating_add(scale(limit.natural_ms())),
                used_fallback: false,
                used_provisional: false,
            },
            Clock::Working => {
                let d = self.add_working_ms(start_ms, scale(limit.working_ms(self.working_day_ms)));
                if d.used_fallback {
                    // A year with no arrangement in the calendar file: an operator must add it.
                    metrics::counter!("cityops_calendar_fallback_deadlines_total").increment(1);
                }
                if d.used_provisional {
                    metrics::counter!("cityops_calendar_provisional_deadlines_total").increment(1);
                }
                d
            }
        }
    }

    /// The working time between two instants (UTC ms); zero when `to_ms <= from_ms`.
    pub fn working_time_between(&self, from_ms: i64, to_ms: i64) -> Duration {
        let (ms, _) = self.working_ms_between(from_ms, to_ms);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    /// How much of a time limit started at `start_ms` has run at `now_ms`: 0.0 at the start,
    /// 1.0 at the deadline (working time for a working limit). Compare with 0.75 and 1.0 for the
    /// yellow and red warnings.
    pub fn elapsed_fraction(&self, start_ms: i64, limit: &TimeLimit, now_ms: i64) -> f64 {
        let (elapsed, total) = match limit.clock {
            Clock::Natural => (now_ms.saturating_sub(start_ms).max(0), limit.natural_ms()),
            Clock::Working => (
                self.working_ms_between(start_ms, now_ms).0,
                limit.working_ms(self.working_day_ms),
            ),
        };
        if total <= 0 {
            return 0.0;
        }
        elapsed as f64 / total as f64
    }

    /// Local date and milliseconds since local midnight of an instant.
    fn local(&self, at_ms: i64) -> Option<(NaiveDate, i64)> {
        let local = DateTime::from_timestamp_millis(at_ms)?
            .with_timezone(&self.timezone)
            .naive_local();
        Some((local.date(), time_ms(local.time())))
    }

    /// The UTC ms of a local date and time of day. A local time that does not exist (a DST gap,
    /// never in China) is read with the offset in force at that instant.
    fn to_utc_ms(&self, date: NaiveDate, tod_ms: i64) -> Option<i64> {
        let local = date
            .and_time(NaiveTime::MIN)
            .checked_add_signed(TimeDelta::try_milliseconds(tod_ms)?)?;
        let utc = match self.timezone.from_local_datetime(&local).earliest() {
            Some(dt) => dt.timestamp_millis(),
            None => {
                let offset = self.timezone.offset_from_utc_datetime(&local).fix();
                (local - TimeDelta::seconds(i64::from(offset.local_minus_utc())))
                    .and_utc()
                    .timestamp_millis()
            }
        };
        Some(utc)
    }

    /// Adds `work_ms` of working time to the instant `start_ms`, walking day by day (each day
    /// costs one look-up and at most one step per period).
    fn add_working_ms(&self, start_ms: i64, work_ms: i64) -> Deadline {
        let Some((mut date, mut from_tod)) = self.local(start_ms) else {
            return Deadline {
                at_ms: start_ms.saturating_add(work_ms.max(0)),
                used_fallback: true,
                used_provisional: false,
            };
        };
        let mut remaining = work_ms.max(0);
        let mut flags = Flags::default();
        let done = |date: NaiveDate, tod: i64, flags: Flags| Deadline {
            at_ms: self
                .to_utc_ms(date, tod)
                .unwrap_or_else(|| start_ms.saturating_add(work_ms.max(0))),
            used_fallback: flags.fallback,
            used_provisional: flags.provisional,
        };
        for _ in 0..MAX_DAYS {
            if self.working_day_flagged(date, &mut flags) {
                if from_tod == 0 && remaining > self.working_day_ms {
                    // A whole working day.
                    remaining -= self.working_day_ms;
                } else {
                    for p in &self.periods {
                        let begin = p.start_ms().max(from_tod);
                        if begin >= p.end_ms() {
                            continue;
                        }
                        let available = p.end_ms() - begin;
                        if remaining <= available {
                            return done(date, begin + remaining, flags);
                        }
                        remaining -= available;
                    }
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
            from_tod = 0;
        }
        // Clamped (a limit of about a century) or the end of representable dates.
        flags.fallback = true;
        done(date, 0, flags)
    }

    /// Working milliseconds in `[from_ms, to_ms)`, and what the walk met.
    fn working_ms_between(&self, from_ms: i64, to_ms: i64) -> (i64, Flags) {
        let mut flags = Flags::default();
        if to_ms <= from_ms {
            return (0, flags);
        }
        let (Some((from_date, from_tod)), Some((to_date, to_tod))) =
            (self.local(from_ms), self.local(to_ms))
        else {
            flags.fallback = true;
            return (0, flags);
        };
        let mut total = 0;
        for (i, date) in from_date.iter_days().take(MAX_DAYS as usize).enumerate() {
            if date > to_date {
                break;
            }
            if !self.working_day_flagged(date, &mut flags) {
                continue;
            }
            let lo = if i == 0 { from_tod } else { 0 };
            let hi = if date == to_date { to_tod } else { DAY_MS };
            if lo == 0 && hi == DAY_MS {
                total += self.working_day_ms;
                continue;
            }
            for p in &self.periods {
                let (a, b) = (p.start_ms().max(lo), p.end_ms().min(hi));
                if b > a {
                    total += b - a;
                }
            }
        }
        (total, flags)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::catalogue::TimeUnit;

    const SHIPPED: &str = include_str!("../../../config/calendar.toml");

    fn cal() -> GovernmentCalendar {
        GovernmentCalendar::from_toml_str(SHIPPED).expect("the shipped calendar is valid")
    }

    /// UTC ms of a Shanghai local time "YYYY-MM-DD HH:MM".
    fn cst(s: &str) -> i64 {
        let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        chrono_tz::Asia::Shanghai
            .from_local_datetime(&naive)
            .single()
            .unwrap()
            .timestamp_millis()
    }

    /// Shanghai local time of UTC ms, "YYYY-MM-DD HH:MM" (seconds shown when not zero).
    fn show(ms: i64) -> String {
        let t = DateTime::from_timestamp_millis(ms)
            .unwrap()
            .with_timezone(&chrono_tz::Asia::Shanghai);
        if t.second() == 0 && t.nanosecond() == 0 {
            t.format("%Y-%m-%d %H:%M").to_string()
        } else {
            t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
        }
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn limit(s: &str) -> TimeLimit {
        s.parse().unwrap()
    }

    /// The deadline of `limit` from local `start`, as local text.
    fn due(c: &GovernmentCalendar, start: &str, l: &str) -> String {
        show(c.deadline(cst(start), &limit(l)).at_ms)
    }

    #[test]
    fn shipped_calendar_loads() {
        let c = cal();
        assert_eq!(c.timezone(), chrono_tz::Asia::Shanghai);
        assert_eq!(c.working_day_length(), Duration::from_secs(7 * 3600));
        assert_eq!(c.periods().len(), 2);
        assert_eq!(c.year_status(2026), YearStatus::Official);
        assert_eq!(c.year_status(2027), YearStatus::Provisional);
        assert_eq!(c.year_status(2028), YearStatus::Fallback);
        let years: Vec<i32> = c.years().map(|y| y.year).collect();
        assert_eq!(years, [2026, 2027]);
        assert_eq!(c.years().next().unwrap().holidays.len(), 7);
    }

    #[test]
    fn the_2026_arrangement_is_exact() {
        let c = cal();
        // (holiday, first, last, make-up days) from the State Council notice.
        let table: [(&str, &str, &str, &[&str]); 7] = [
            ("元旦", "2026-01-01", "2026-01-03", &["2026-01-04"]),
            (
                "春节",
                "2026-02-15",
                "2026-02-23",
                &["2026-02-14", "2026-02-28"],
            ),
            ("清明节", "2026-04-04", "2026-04-06", &[]),
            ("劳动节", "2026-05-01", "2026-05-05", &["2026-05-09"]),
            ("端午节", "2026-06-19", "2026-06-21", &[]),
            ("中秋节", "2026-09-25", "2026-09-27", &[]),
            (
                "国庆节",
                "2026-10-01",
                "2026-10-07",
                &["2026-09-20", "2026-10-10"],
            ),
        ];
        let mut off = BTreeSet::new();
        let mut makeup = BTreeSet::new();
        for (name, from, to, makeups) in table {
            for d in date(from).iter_days().take_while(|d| *d <= date(to)) {
                assert!(!c.is_working_day(d), "{d} off ({name})");
                assert_eq!(c.holiday_name(d), Some(name));
                off.insert(d);
            }
            for m in makeups {
                assert!(c.is_working_day(date(m)), "{m} make-up ({name})");
                assert!(c.is_makeup_day(date(m)));
                makeup.insert(date(m));
            }
        }
        // Every other day of 2026 follows the weekday rule.
        for d in date("2026-01-01")
            .iter_days()
            .take_while(|d| d.year() == 2026)
        {
            if off.contains(&d) || makeup.contains(&d) {
                continue;
            }
            let weekend = d.weekday().num_days_from_monday() >= 5;
            assert_eq!(c.is_working_day(d), !weekend, "{d}");
        }
        // 2026 has 261 weekdays - 19 weekday days off + 6 make-up days = 248 working days.
        let working = date("2026-01-01")
            .iter_days()
            .take_while(|d| d.year() == 2026)
            .filter(|d| c.is_working_day(*d))
            .count();
        assert_eq!(working, 248);
    }

    #[test]
    fn the_2027_provisional_days_are_the_computed_statutory_days() {
        let c = cal();
        let y = c.years().find(|y| y.year == 2027).unwrap();
        assert!(y.provisional);
        let got: Vec<(String, String, String)> = y
            .holidays
            .iter()
            .map(|h| (h.name.clone(), h.from.to_string(), h.to.to_string()))
            .collect();
        let want = [
            ("元旦", "2027-01-01", "2027-01-01"),
            ("春节", "2027-02-05", "2027-02-08"), // 除夕 Feb 5 .. 初三 Feb 8 (春节 Feb 6)
            ("清明节", "2027-04-05", "2027-04-05"),
            ("劳动节", "2027-05-01", "2027-05-02"),
            ("端午节", "2027-06-09", "2027-06-09"),
            ("中秋节", "2027-09-15", "2027-09-15"),
            ("国庆节", "2027-10-01", "2027-10-03"),
        ];
        let want: Vec<(String, String, String)> = want
            .iter()
            .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
            .collect();
        assert_eq!(got, want);
        assert!(y.holidays.iter().all(|h| h.makeup_working_days.is_empty()));
        assert!(!c.is_working_day(date("2027-02-08"))); // Monday, 初三
        assert!(c.is_working_day(date("2027-02-09")));
        // A deadline across it is flagged provisional, not fallback.
        let d = c.deadline(cst("2027-02-04 10:00"), &limit("2 working days"));
        assert_eq!(show(d.at_ms), "2027-02-10 10:00");
        assert!(d.used_provisional && !d.used_fallback);
    }

    #[test]
    fn weekends_and_working_days() {
        let c = cal();
        assert_eq!(
            due(&c, "2026-11-20 10:00", "1 working day"),
            "2026-11-23 10:00"
        ); // Fri → Mon
        assert_eq!(
            due(&c, "2026-11-18 09:00", "1 working day"),
            "2026-11-19 09:00"
        );
        assert_eq!(
            due(&c, "2026-11-18 09:00", "5 working days"),
            "2026-11-25 09:00"
        );
        assert_eq!(
            due(&c, "2026-11-16 08:30", "1 working day"),
            "2026-11-16 17:00"
        );
        // 15 working days from Monday 2026-11-02 08:30: three weeks, ending Friday 17:00.
        assert_eq!(
            due(&c, "2026-11-02 08:30", "15 working days"),
            "2026-11-20 17:00"
        );
        assert_eq!(
            due(&c, "2026-11-02 10:00", "15 working days"),
            "2026-11-23 10:00"
        );
        assert!(!c.is_working_day(date("2026-11-21")));
        assert!(!c.is_working_day(date("2026-11-22")));
    }

    #[test]
    fn lunch_breaks_and_starts_outside_working_time() {
        let c = cal();
        // During the lunch break: counts from 13:00.
        assert_eq!(
            due(&c, "2026-11-18 12:00", "1 working hour"),
            "2026-11-18 14:00"
        );
        // Across the lunch break.
        assert_eq!(
            due(&c, "2026-11-18 11:00", "1 working hour"),
            "2026-11-18 13:30"
        );
        assert_eq!(
            due(&c, "2026-11-18 11:00", "30 working minutes"),
            "2026-11-18 11:30"
        );
        // Friday 22:00 → Monday from 08:30.
        assert_eq!(
            due(&c, "2026-11-20 22:00", "2 working hours"),
            "2026-11-23 10:30"
        );
        // Before opening.
        assert_eq!(
            due(&c, "2026-11-18 06:00", "2 working hours"),
            "2026-11-18 10:30"
        );
        // A weekend start with 1 working day: all of Monday.
        assert_eq!(
            due(&c, "2026-11-21 15:00", "1 working day"),
            "2026-11-23 17:00"
        );
        // Ending exactly at the close of a period stays on that day.
        assert_eq!(
            due(&c, "2026-11-18 16:00", "1 working hour"),
            "2026-11-18 17:00"
        );
        assert!(c.is_working_time(cst("2026-11-18 08:30")));
        assert!(!c.is_working_time(cst("2026-11-18 11:30")));
        assert!(!c.is_working_time(cst("2026-11-18 12:59")));
        assert!(c.is_working_time(cst("2026-11-18 16:59")));
        assert!(!c.is_working_time(cst("2026-11-21 10:00")));
    }

    #[test]
    fn friday_afternoon_runs_into_monday() {
        let c = cal();
        // 30 minutes on Friday (16:30–17:00), the remaining 1.5 h from Monday 08:30.
        assert_eq!(
            due(&c, "2026-11-20 16:30", "2 working hours"),
            "2026-11-23 10:00"
        );
        assert_eq!(
            due(&c, "2026-11-20 16:30", "1 working hour"),
            "2026-11-23 09:00"
        );
    }

    #[test]
    fn a_monday_holiday_pushes_to_tuesday() {
        let c = cal();
        // 清明 2026: Sat Apr 4 – Mon Apr 6.
        assert_eq!(
            due(&c, "2026-04-03 16:30", "2 working hours"),
            "2026-04-07 10:00"
        );
        assert_eq!(
            due(&c, "2026-04-03 10:00", "1 working day"),
            "2026-04-07 10:00"
        );
        // 2027 provisional 清明 is on Monday Apr 5.
        let d = c.deadline(cst("2027-04-02 16:30"), &limit("1 working hour"));
        assert_eq!(show(d.at_ms), "2027-04-06 09:00");
        assert!(d.used_provisional);
    }

    #[test]
    fn national_day_golden_week_and_its_make_up_days() {
        let c = cal();
        // Sun Sep 20 is a make-up working day.
        assert!(c.is_working_day(date("2026-09-20")));
        assert_eq!(
            due(&c, "2026-09-19 10:00", "2 working hours"),
            "2026-09-20 10:30"
        );
        // Wed Sep 30 10:00 + 1 working day: Oct 1–7 off, Thu Oct 8 10:00.
        assert_eq!(
            due(&c, "2026-09-30 10:00", "1 working day"),
            "2026-10-08 10:00"
        );
        // Fri Oct 9 10:00 + 1 working day: Sat Oct 10 is a make-up working day.
        assert_eq!(
            due(&c, "2026-10-09 10:00", "1 working day"),
            "2026-10-10 10:00"
        );
        assert!(c.is_working_day(date("2026-10-10")));
        assert!(!c.is_working_day(date("2026-10-11")));
        // 3 working days from Tue Sep 29 10:00: Sep 29 (5.5 h) + Sep 30 (7 h) + Oct 8 (7 h)
        // + Oct 9 1.5 h.
        assert_eq!(
            due(&c, "2026-09-29 10:00", "3 working days"),
            "2026-10-09 10:00"
        );
        // 中秋 Sep 25–27 then make-up Sunday Sep 20 before it: 5 working days from Fri Sep 18.
        assert_eq!(
            due(&c, "2026-09-18 09:00", "5 working days"),
            "2026-09-24 09:00"
        );
        assert_eq!(
            c.working_time_between(cst("2026-09-30 17:00"), cst("2026-10-08 08:30")),
            Duration::ZERO
        );
    }

    #[test]
    fn spring_festival_make_up_saturdays() {
        let c = cal();
        assert!(c.is_working_day(date("2026-02-14"))); // Sat make-up
        assert!(c.is_working_day(date("2026-02-28"))); // Sat make-up
                                                       // Fri Feb 13 16:00 + 2 working hours: 1 h Friday, 1 h Saturday Feb 14.
        assert_eq!(
            due(&c, "2026-02-13 16:00", "2 working hours"),
            "2026-02-14 09:30"
        );
        // Sat Feb 14 16:00 + 2 working hours: 1 h Saturday, then Feb 15–23 off → Tue Feb 24.
        assert_eq!(
            due(&c, "2026-02-14 16:00", "2 working hours"),
            "2026-02-24 09:30"
        );
    }

    #[test]
    fn fractions_are_of_working_time() {
        let c = cal();
        let start = cst("2026-11-20 16:30"); // Friday
        let l = limit("2 working hours");
        // 75% of 2 working hours = 90 min: 30 on Friday, 60 on Monday.
        let yellow = c.deadline_at_fraction(start, &l, 0.75);
        assert_eq!(show(yellow.at_ms), "2026-11-23 09:30");
        assert_eq!(
            show(c.deadline_at_fraction(start, &l, 1.0).at_ms),
            "2026-11-23 10:00"
        );
        // 75% of 1 working day (5 h 15 min) from Friday 10:00: 5.5 h left on Friday, so Friday.
        let d = c.deadline_at_fraction(cst("2026-11-20 10:00"), &limit("1 working day"), 0.75);
        assert_eq!(show(d.at_ms), "2026-11-20 16:45");
        // Natural: 75% of wall time.
        let d = c.deadline_at_fraction(cst("2026-11-20 16:30"), &limit("2 h natural"), 0.75);
        assert_eq!(show(d.at_ms), "2026-11-20 18:00");
        // Degenerate fractions never panic.
        assert_eq!(
            c.deadline_at_fraction(start, &limit("2 h natural"), f64::NAN)
                .at_ms,
            start
        );
        assert_eq!(
            c.deadline_at_fraction(start, &limit("2 h natural"), -1.0)
                .at_ms,
            start
        );
        assert_eq!(
            show(c.deadline_at_fraction(start, &l, 0.0).at_ms),
            "2026-11-20 16:30",
            "0% of a working limit is the next working moment"
        );
        assert_eq!(
            show(c.deadline_at_fraction(start, &l, 1.5).at_ms),
            "2026-11-23 11:00"
        );
        // elapsed_fraction is the inverse.
        let f = c.elapsed_fraction(start, &l, yellow.at_ms);
        assert!((f - 0.75).abs() < 1e-9, "{f}");
        assert!((c.elapsed_fraction(start, &l, cst("2026-11-22 12:00")) - 0.25).abs() < 1e-9);
        let f = c.elapsed_fraction(start, &limit("2 h natural"), start + 3_600_000);
        assert!((f - 0.5).abs() < 1e-9);
        assert_eq!(c.elapsed_fraction(start, &l, start - 1), 0.0);
    }

    #[test]
    fn natural_limits_are_wall_clock() {
        let c = cal();
        let start = cst("2026-10-01 23:50"); // a holiday night
        assert_eq!(
            c.deadline(start, &limit("30 min natural")).at_ms,
            start + 30 * 60_000
        );
        assert_eq!(
            c.deadline(start, &limit("24 h natural")).at_ms,
            start + 86_400_000
        );
        assert_eq!(
            c.deadline(start, &limit("2 days natural")).at_ms,
            start + 2 * 86_400_000
        );
        let d = c.deadline(cst("2030-01-01 00:00"), &limit("1 h natural"));
        assert!(!d.used_fallback, "natural limits need no calendar");
        assert_eq!(
            c.deadline(i64::MAX - 10, &limit("1 h natural")).at_ms,
            i64::MAX,
            "saturates"
        );
    }

    #[test]
    fn unlisted_years_fall_back_and_are_flagged() {
        let c = cal();
        // 2028: weekends plus 元旦/劳动节/国庆 fixed days; no panic, flagged.
        assert!(!c.is_working_day(date("2028-01-01")));
        assert!(!c.is_working_day(date("2028-05-01"))); // Monday, 劳动节
        assert!(!c.is_working_day(date("2028-05-02"))); // Tuesday
        assert!(c.is_working_day(date("2028-05-03")));
        assert!(!c.is_working_day(date("2028-10-03")));
        assert_eq!(
            c.holiday_name(date("2028-10-02")),
            Some("statutory holiday")
        );
        assert!(
            c.is_working_day(date("2028-01-26")),
            "lunar holidays are unknown"
        );
        let d = c.deadline(cst("2028-04-28 10:00"), &limit("1 working day")); // Friday
        assert_eq!(show(d.at_ms), "2028-05-03 10:00");
        assert!(d.used_fallback);
        // Crossing from a listed year into an unlisted one is flagged too.
        let d = c.deadline(cst("2027-12-31 16:00"), &limit("2 working hours"));
        assert_eq!(show(d.at_ms), "2028-01-03 09:30");
        assert!(d.used_fallback);
        // An official-only computation is not.
        let d = c.deadline(cst("2026-11-18 10:00"), &limit("15 working days"));
        assert!(!d.used_fallback && !d.used_provisional);
        // Far away and absurd inputs: no panic.
        let d = c.deadline(cst("2100-06-01 10:00"), &limit("15 working days"));
        assert!(d.used_fallback);
        let d = c.deadline(i64::MAX, &limit("1 working day"));
        assert!(d.used_fallback);
        let d = c.deadline(i64::MIN, &limit("1 working day"));
        assert!(d.used_fallback);
        let huge = TimeLimit::new(u32::MAX, TimeUnit::Days, Clock::Working);
        let d = c.deadline(cst("2026-11-18 10:00"), &huge);
        assert!(d.used_fallback, "clamped at about a century");
        assert_eq!(c.working_time_between(i64::MIN, i64::MAX), Duration::ZERO);
    }

    #[test]
    fn working_time_between_counts_only_working_time() {
        let c = cal();
        let h = |n: u64| Duration::from_secs(n * 3600);
        assert_eq!(
            c.working_time_between(cst("2026-11-18 08:30"), cst("2026-11-18 17:00")),
            h(7)
        );
        assert_eq!(
            c.working_time_between(cst("2026-11-18 11:00"), cst("2026-11-18 13:30")),
            h(1)
        );
        assert_eq!(
            c.working_time_between(cst("2026-11-20 16:30"), cst("2026-11-23 10:00")),
            h(2)
        );
        assert_eq!(
            c.working_time_between(cst("2026-11-02 00:00"), cst("2026-11-28 00:00")),
            h(7 * 20)
        );
        assert_eq!(
            c.working_time_between(cst("2026-11-18 12:00"), cst("2026-11-18 10:00")),
            Duration::ZERO
        );
        // Consistent with deadline() for every start hour of a week.
        let l = limit("3 working days");
        for hour in 0..(24 * 7) {
            let start = cst("2026-09-28 00:00") + i64::from(hour) * 3_600_000;
            let d = c.deadline(start, &l);
            assert_eq!(
                c.working_time_between(start, d.at_ms),
                h(21),
                "start +{hour} h"
            );
        }
    }

    #[test]
    fn long_deadlines_are_fast() {
        let c = cal();
        let l = limit("15 working days");
        let t = std::time::Instant::now();
        let mut sum = 0i64;
        for i in 0..2_000 {
            sum = sum.wrapping_add(
                c.deadline(cst("2026-01-01 00:00") + i * 3_600_000, &l)
                    .at_ms,
            );
        }
        assert!(sum != 0);
        // Generous bound (unoptimised build on a busy machine): only catches minute-stepping.
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }

    // ----- validation -----------------------------------------------------------------------

    const HEADER: &str = r#"
[working_time]
weekdays = ["mon", "tue", "wed", "thu", "fri"]
periods = ["08:30-11:30", "13:00-17:00"]
"#;

    fn problems_of(body: &str) -> Vec<CalendarProblem> {
        match GovernmentCalendar::from_toml_str(&format!("{HEADER}\n{body}")) {
            Ok(_) => Vec::new(),
            Err(e) => {
                assert!(matches!(e, CalendarError::Invalid { .. }), "{e}");
                e.problems().to_vec()
            }
        }
    }

    #[test]
    fn minimal_calendar_is_all_fallback() {
        let c = GovernmentCalendar::from_toml_str(HEADER).unwrap();
        assert_eq!(c.year_status(2026), YearStatus::Fallback);
        assert!(
            c.is_working_day(date("2026-10-01")),
            "no fallback holidays configured"
        );
        let d = c.deadline(cst("2026-11-20 16:30"), &limit("2 working hours"));
        assert_eq!(show(d.at_ms), "2026-11-23 10:00");
        assert!(d.used_fallback);
        // Bare TOML dates work as well as strings.
        let c = GovernmentCalendar::from_toml_str(&format!(
            "{HEADER}\n[[year]]\nyear = 2026\n[[year.holiday]]\nname = \"国庆节\"\nfrom = 2026-10-01\nto = 2026-10-07\nmakeup_working_days = [2026-10-10]\n"
        ))
        .unwrap();
        assert!(!c.is_working_day(date("2026-10-07")));
        assert!(c.is_working_day(date("2026-10-10")));
    }

    #[test]
    fn bad_dates_are_named() {
        let p = problems_of(
            r#"
[[year]]
year = 2026

[[year.holiday]]
name = "国庆节"
from = "2026-10-01"
to = "2026-10-32"
makeup_working_days = ["2026/10/10"]

[[year.holiday]]
name = "劳动节"
from = "2025-05-01"
to = "2025-05-05"
"#,
        );
        assert_eq!(
            p,
            vec![
                CalendarProblem::BadDate {
                    year: 2026,
                    holiday: "国庆节".into(),
                    field: "to",
                    text: "2026-10-32".into()
                },
                CalendarProblem::BadDate {
                    year: 2026,
                    holiday: "国庆节".into(),
                    field: "makeup_working_days",
                    text: "2026/10/10".into()
                },
                CalendarProblem::DateOutsideYear {
                    year: 2026,
                    holiday: "劳动节".into(),
                    date: date("2025-05-01")
                },
                CalendarProblem::DateOutsideYear {
                    year: 2026,
                    holiday: "劳动节".into(),
                    date: date("2025-05-05")
                },
            ]
        );
        let msg = p[0].to_string();
        assert!(
            msg.contains("国庆节") && msg.contains("2026-10-32") && msg.contains("YYYY-MM-DD"),
            "{msg}"
        );
    }

    #[test]
    fn end_before_start_and_too_long() {
        let p = problems_of(
            r#"
[[year]]
year = 2026

[[year.holiday]]
name = "国庆节"
from = "2026-10-07"
to = "2026-10-01"

[[year.holiday]]
name = "元旦"
from = "2026-01-01"
to = "2026-12-03"
"#,
        );
        assert_eq!(
            p,
            vec![
                CalendarProblem::EndBeforeStart {
                    year: 2026,
                    holiday: "国庆节".into(),
                    from: date("2026-10-07"),
                    to: date("2026-10-01")
                },
                CalendarProblem::HolidayTooLong {
                    year: 2026,
                    holiday: "元旦".into(),
                    from: date("2026-01-01"),
                    days: 337
                },
            ]
        );
    }

    #[test]
    fn a_day_cannot_be_both_off_and_make_up() {
        let p = problems_of(
            r#"
[[year]]
year = 2026

[[year.holiday]]
name = "中秋节"
from = "2026-09-25"
to = "2026-09-27"

[[year.holiday]]
name = "国庆节"
from = "2026-10-01"
to = "2026-10-07"
makeup_working_days = ["2026-09-26", "2026-10-10"]
"#,
        );
        assert_eq!(
            p,
            vec![CalendarProblem::HolidayAndMakeup {
                date: date("2026-09-26"),
                holiday: "中秋节".into(),
                makeup_of: "国庆节".into()
            }]
        );
        assert!(p[0].to_string().contains("remove one"));
    }

    #[test]
    fn overlaps_repeats_and_weekday_make_ups() {
        let p = problems_of(
            r#"
[[year]]
year = 2026

[[year.holiday]]
name = "中秋节"
from = "2026-09-25"
to = "2026-10-01"
makeup_working_days = ["2026-09-20"]

[[year.holiday]]
name = "国庆节"
from = "2026-10-01"
to = "2026-10-07"
makeup_working_days = ["2026-09-20", "2026-10-09"]

[[year]]
year = 2026
"#,
        );
        assert_eq!(
            p,
            vec![
                CalendarProblem::HolidaysOverlap {
                    date: date("2026-10-01"),
                    first: "中秋节".into(),
                    second: "国庆节".into()
                },
                CalendarProblem::RepeatedMakeup {
                    date: date("2026-09-20"),
                    first: "中秋节".into(),
                    second: "国庆节".into()
                },
                CalendarProblem::MakeupOnWorkingWeekday {
                    date: date("2026-10-09"),
                    holiday: "国庆节".into(),
                    weekday: "fri"
                },
                CalendarProblem::DuplicateYear { year: 2026 },
            ]
        );
    }

    #[test]
    fn working_time_errors() {
        let text = r#"
timezone = "Asia/Nowhere"

[working_time]
weekdays = ["mon", "funday"]
periods = ["13:00-17:00", "08:30-13:30", "9-10", "17:00-08:00"]

[fallback]
holidays = ["10-01", "13-01"]
"#;
        let err = GovernmentCalendar::from_toml_str(text).unwrap_err();
        let p = err.problems();
        assert_eq!(
            p[0],
            CalendarProblem::BadTimezone {
                timezone: "Asia/Nowhere".into()
            }
        );
        assert_eq!(
            p[1],
            CalendarProblem::BadWeekday {
                text: "funday".into()
            }
        );
        assert!(matches!(&p[2], CalendarProblem::BadPeriod { text, .. } if text == "9-10"));
        assert!(
            matches!(&p[3], CalendarProblem::BadPeriod { text, reason } if text == "17:00-08:00" && reason.contains("midnight"))
        );
        assert_eq!(
            p[4],
            CalendarProblem::PeriodsOverlap {
                first: "13:00-17:00".into(),
                second: "08:30-13:30".into()
            }
        );
        assert_eq!(
            p[5],
            CalendarProblem::BadFallbackDate {
                text: "13-01".into()
            }
        );
        assert_eq!(p.len(), 6);
        assert!(err.to_string().starts_with("calendar has 6 problem(s)"));

        let empty = "[working_time]\nweekdays = []\nperiods = []\n";
        assert_eq!(
            GovernmentCalendar::from_toml_str(empty)
                .unwrap_err()
                .problems(),
            [
                CalendarProblem::NoWorkingWeekday,
                CalendarProblem::NoPeriods
            ]
        );
        let err = GovernmentCalendar::from_toml_str("[working_time]\nweekdays = [\"mon\"]\n")
            .unwrap_err();
        assert!(matches!(err, CalendarError::Parse(_)), "{err}");
        let err = GovernmentCalendar::load("/nonexistent/calendar.toml").unwrap_err();
        assert!(matches!(err, CalendarError::Read { .. }));
    }

    #[test]
    fn a_holiday_may_start_in_the_previous_december() {
        // e.g. the 2024 元旦: Dec 30, 2023 – Jan 1, 2024.
        let c = GovernmentCalendar::from_toml_str(&format!(
            "{HEADER}\n[[year]]\nyear = 2024\n[[year.holiday]]\nname = \"元旦\"\nfrom = \"2023-12-30\"\nto = \"2024-01-01\"\n"
        ))
        .unwrap();
        assert!(!c.is_working_day(date("2024-01-01")));
        assert_eq!(c.holiday_name(date("2023-12-30")), Some("元旦"));
    }
}
