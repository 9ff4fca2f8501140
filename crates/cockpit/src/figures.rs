//! The cockpit's figures that are computed, not queried: which warning of an order counts now,
//! what a report's one-line summary is, where the local day starts. Pure, so the tests pin them.

use chrono::{Days, TimeZone};
use chrono_tz::Tz;

/// How long a summary on the wall may be, in characters.
pub const SUMMARY_CHARS: usize = 80;

/// The level of a warning, ordered (red is worse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Yellow,
    Red,
}

impl Level {
    pub fn parse(name: Option<&str>) -> Option<Level> {
        match name? {
            "yellow" => Some(Level::Yellow),
            "red" => Some(Level::Red),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Yellow => "yellow",
            Level::Red => "red",
        }
    }
}

/// The warning of an order that counts now, and the clock that carries it: a clock's warning
/// counts only while that clock runs (accept: while `dispatched`; resolve: while dispatched,
/// accepted, in progress or reopened). The higher level wins; at the same level, `accept`.
pub fn running_warning(
    status: &str,
    accept_warning: Option<&str>,
    resolve_warning: Option<&str>,
) -> Option<(Level, &'static str)> {
    let accept = (status == "dispatched")
        .then(|| Level::parse(accept_warning))
        .flatten();
    let resolve = matches!(
        status,
        "dispatched" | "accepted" | "in_progress" | "reopened"
    )
    .then(|| Level::parse(resolve_warning))
    .flatten();
    match (accept, resolve) {
        (Some(a), Some(r)) if r > a => Some((r, "resolve")),
        (Some(a), _) => Some((a, "accept")),
        (None, Some(r)) => Some((r, "resolve")),
        (None, None) => None,
    }
}

/// A report on one line for the wall: its text (already masked by ingest), else its device
/// (`可燃气体探测器 GD-0042`), else its address; at most [`SUMMARY_CHARS`] characters.
pub fn summary(
    text: Option<&str>,
    device: Option<(String, &str)>,
    address: Option<&str>,
) -> String {
    let line = match (text.map(str::trim).filter(|t| !t.is_empty()), device) {
        (Some(t), _) => t.split_whitespace().collect::<Vec<_>>().join(" "),
        (None, Some((kind, id))) => format!("{kind} {id}"),
        (None, None) => address.unwrap_or_default().trim().to_owned(),
    };
    if line.chars().count() <= SUMMARY_CHARS {
        line
    } else {
        let mut cut: String = line.chars().take(SUMMARY_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

/// `num / den`, or `None` when there was nothing to judge.
pub fn rate(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// The start (ms since the epoch) of the local day `days_back` days before the one holding
/// `now_ms`, in `tz`.
pub fn local_day_start_ms(now_ms: i64, tz: Tz, days_back: u64) -> i64 {
    let Some(now) = tz.timestamp_millis_opt(now_ms).single() else {
        return now_ms;
    };
    let day = now.date_naive() - Days::new(days_back);
    day.and_hms_opt(0, 0, 0)
        .and_then(|midnight| tz.from_local_datetime(&midnight).earliest())
        .map_or(now_ms, |t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_running_clocks_warn() {
        assert_eq!(
            running_warning("dispatched", Some("yellow"), None),
            Some((Level::Yellow, "accept"))
        );
        // Accepted: the accept clock stopped, its red no longer counts.
        assert_eq!(running_warning("accepted", Some("red"), None), None);
        assert_eq!(
            running_warning("accepted", Some("red"), Some("yellow")),
            Some((Level::Yellow, "resolve"))
        );
        assert_eq!(
            running_warning("dispatched", Some("yellow"), Some("red")),
            Some((Level::Red, "resolve"))
        );
        assert_eq!(
            running_warning("dispatched", Some("red"), Some("red")),
            Some((Level::Red, "accept"))
        );
        for stopped in ["resolved", "closed", "returned", "created"] {
            assert_eq!(
                running_warning(stopped, Some("red"), Some("red")),
                None,
                "{stopped}"
            );
        }
    }

    #[test]
    fn summaries_fit_the_wall() {
        assert_eq!(
            summary(Some("  楼道 有\n煤气味 "), None, Some("x")),
            "楼道 有 煤气味"
        );
        assert_eq!(
            summary(None, Some(("可燃气体探测器".into(), "GD-0042")), Some("x")),
            "可燃气体探测器 GD-0042"
        );
        assert_eq!(
            summary(Some(" "), None, Some("铁西区兴华南街")),
            "铁西区兴华南街"
        );
        let long = "很".repeat(200);
        let s = summary(Some(&long), None, None);
        assert_eq!(s.chars().count(), SUMMARY_CHARS);
        assert!(s.ends_with('…'));
    }

    #[test]
    fn local_days_start_at_midnight_in_shanghai() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        // 2026-11-22 01:30 in Shanghai is 2026-11-21 17:30 UTC.
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-22T01:30:00+08:00")
            .unwrap()
            .timestamp_millis();
        let today = chrono::DateTime::parse_from_rfc3339("2026-11-22T00:00:00+08:00")
            .unwrap()
            .timestamp_millis();
        assert_eq!(local_day_start_ms(now, tz, 0), today);
        assert_eq!(local_day_start_ms(now, tz, 6), today - 6 * 86_400_000);
        assert_eq!(rate(1, 0), None);
        assert_eq!(rate(3, 4), Some(0.75));
    }
}
