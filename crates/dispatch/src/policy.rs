//! What dispatch decides by: the catalogue (owners, co-departments, time limits), the
//! government calendar (working time) and the merge settings; and the deadline arithmetic of
//! the two clocks built on them.

use crate::merge::MergeConfig;
use cityops_core::calendar::GovernmentCalendar;
use cityops_core::catalogue::{Catalogue, Category, Clock as LimitClock, TimeLimit};
use cityops_core::{CategoryId, DeadlineKind, DepartmentId, WarningLevel};

/// The yellow warning comes at this fraction of a clock's time; red at 1.0 (the deadline).
pub const YELLOW_FRACTION: f64 = 0.75;

/// Separates a place-resolved department from its place: `street_office.210106001` is the
/// street office of street 210106001 (`.` keeps `city.dept.<id>.orders.v1` a legal topic
/// name).
pub const PLACE_SEPARATOR: char = '.';

/// Everything dispatch decides by. Shared (behind an `Arc`) by every partition's state.
#[derive(Debug, Clone)]
pub struct Policy {
    pub catalogue: Catalogue,
    pub calendar: GovernmentCalendar,
    pub merge: MergeConfig,
    /// The command centre's department id: the owner of the triage category.
    pub command_center: DepartmentId,
}

/// The accept and resolve deadlines of a clock started at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deadlines {
    pub accept_ms: Option<i64>,
    pub resolve_ms: Option<i64>,
}

impl Policy {
    pub fn new(catalogue: Catalogue, calendar: GovernmentCalendar, merge: MergeConfig) -> Self {
        let command_center = catalogue
            .triage_category()
            .owner
            .clone()
            .unwrap_or_else(|| DepartmentId::new("command_center"));
        Self {
            catalogue,
            calendar,
            merge,
            command_center,
        }
    }

    /// The manual-triage category (`unclassified`).
    pub fn triage_category(&self) -> &Category {
        self.catalogue.triage_category()
    }

    /// Whether `category` is the manual-triage queue.
    pub fn is_triage(&self, category: &CategoryId) -> bool {
        self.triage_category().id == *category
    }

    /// The accept and resolve limits of `category` (none when the catalogue no longer knows it).
    pub fn limits(&self, category: &CategoryId) -> (Option<TimeLimit>, Option<TimeLimit>) {
        self.catalogue
            .category(category)
            .map_or((None, None), |c| (c.accept, c.resolve))
    }

    /// The limit of one clock of `category`.
    pub fn limit(&self, category: &CategoryId, kind: DeadlineKind) -> Option<TimeLimit> {
        let (accept, resolve) = self.limits(category);
        match kind {
            DeadlineKind::Accept => accept,
            DeadlineKind::Resolve => resolve,
        }
    }

    /// The deadlines of an order of `category` dispatched at `start_ms`: both clocks start at
    /// the dispatch (see docs/dispatch.md), on the calendar for working limits.
    pub fn deadlines(&self, category: &CategoryId, start_ms: i64) -> Deadlines {
        let (accept, resolve) = self.limits(category);
        Deadlines {
            accept_ms: accept.map(|l| self.calendar.deadline(start_ms, &l).at_ms),
            resolve_ms: resolve.map(|l| self.calendar.deadline(start_ms, &l).at_ms),
        }
    }

    /// When `level` is due on a clock that started at `start_ms` and runs out at
    /// `deadline_ms`, under `limit` (the category's limit, when known).
    ///
    /// Red is the deadline. Yellow is 75% of the clock's time: for the catalogue's own deadline
    /// it is [`GovernmentCalendar::deadline_at_fraction`]; for a moved (extended) deadline it
    /// is the instant at which 75% of the time between start and the new deadline has run —
    /// working time when the limit is a working one, wall-clock time otherwise.
    pub fn warning_at(
        &self,
        limit: Option<&TimeLimit>,
        start_ms: i64,
        deadline_ms: i64,
        level: WarningLevel,
    ) -> i64 {
        if level == WarningLevel::Red {
            return deadline_ms;
        }
        if let Some(limit) = limit {
            if self.calendar.deadline(start_ms, limit).at_ms == deadline_ms {
                return self
                    .calendar
                    .deadline_at_fraction(start_ms, limit, YELLOW_FRACTION)
                    .at_ms;
            }
            if limit.clock == LimitClock::Working {
                return self.working_fraction_of_span(start_ms, deadline_ms, YELLOW_FRACTION);
            }
        }
        let span = deadline_ms.saturating_sub(start_ms).max(0);
        start_ms.saturating_add((span as f64 * YELLOW_FRACTION).round() as i64)
    }

    /// The first instant at which `fraction` of the working time between `start_ms` and
    /// `end_ms` has run (binary search on the calendar's working time).
    fn working_fraction_of_span(&self, start_ms: i64, end_ms: i64, fraction: f64) -> i64 {
        if end_ms <= start_ms {
            return end_ms;
        }
        let total = self
            .calendar
            .working_time_between(start_ms, end_ms)
            .as_millis() as f64;
        let target = (total * fraction).round() as u128;
        let (mut lo, mut hi) = (start_ms, end_ms);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self
                .calendar
                .working_time_between(start_ms, mid)
                .as_millis()
                >= target
            {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }

    /// Whether `id` may own an order: a department of the catalogue that is not
    /// place-resolved, or a place-resolved one with its place (`street_office.210106001`).
    pub fn is_assignable(&self, id: &DepartmentId) -> bool {
        match id.as_str().split_once(PLACE_SEPARATOR) {
            Some((base, place)) => {
                !place.is_empty()
                    && self
                        .catalogue
                        .department(&DepartmentId::from(base))
                        .is_some_and(|d| d.place_resolved)
            }
            None => self
                .catalogue
                .department(id)
                .is_some_and(|d| !d.place_resolved),
        }
    }

    /// A department's name for reasons: the catalogue's, with the place for a place-resolved
    /// one (`属地街道办事处 210106001`).
    pub fn department_label(&self, id: &DepartmentId) -> String {
        let (base, place) = match id.as_str().split_once(PLACE_SEPARATOR) {
            Some((b, p)) => (DepartmentId::from(b), Some(p)),
            None => (id.clone(), None),
        };
        match (self.catalogue.department(&base), place) {
            (Some(d), Some(p)) => format!("{} {p}", d.name),
            (Some(d), None) => d.name.clone(),
            (None, _) => id.to_string(),
        }
    }

    /// A local time for reasons and notes (`2026-10-08 09:30:00`, calendar time zone).
    pub fn local_time(&self, at_ms: i64) -> String {
        match chrono::DateTime::from_timestamp_millis(at_ms) {
            Some(t) => t
                .with_timezone(&self.calendar.timezone())
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
            None => format!("{at_ms} ms"),
        }
    }
}

/// The concrete department of a place-resolved one: `street_office` of street `210106001` is
/// `street_office.210106001`.
pub fn place_department(base: &DepartmentId, place: &str) -> DepartmentId {
    DepartmentId::new(format!("{base}{PLACE_SEPARATOR}{place}"))
}

/// The catalogue department an owner id stands for (`street_office.210106001` →
/// `street_office`).
pub fn base_department(id: &DepartmentId) -> &str {
    id.as_str()
        .split_once(PLACE_SEPARATOR)
        .map_or(id.as_str(), |(b, _)| b)
}
