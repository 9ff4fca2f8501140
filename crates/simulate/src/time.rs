//! The simulated clock's calendar: China Standard Time (UTC+8, no daylight saving), the
//! season, and the readable durations and start times of the configuration.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, TimeZone, Timelike};

const HOUR_MS: i64 = 3_600_000;

/// China Standard Time.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("8 h is a valid offset"))
}

/// `ms` (UTC milliseconds) as a local date-time; the epoch when out of range.
pub fn local(ms: i64) -> DateTime<FixedOffset> {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&cst())
}

/// The local hour of day as a fraction, `0.0..24.0`.
pub fn local_hour(ms: i64) -> f64 {
    let t = local(ms);
    f64::from(t.hour()) + f64::from(t.minute()) / 60.0 + f64::from(t.second()) / 3600.0
}

/// RFC 3339 in China Standard Time, whole seconds: `2026-11-21T08:15:00+08:00`.
pub fn rfc3339(ms: i64) -> String {
    local(ms).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// The local date as `yyyymmdd`, for ids.
pub fn yyyymmdd(ms: i64) -> String {
    local(ms).format("%Y%m%d").to_string()
}

/// Milliseconds since the epoch now, on the wall clock.
pub fn wall_now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The seasons that shape what the city reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Season {
    /// November to March: the heating season (供暖季), Shenyang's 1 Nov – 31 Mar.
    Heating,
    /// April and May: dry, windy, field burning.
    Spring,
    /// June to August: rainstorms, heat.
    Summer,
    /// September and October.
    Autumn,
}

impl Season {
    pub fn of(ms: i64) -> Season {
        match local(ms).month() {
            11 | 12 | 1..=3 => Season::Heating,
            4 | 5 => Season::Spring,
            6..=8 => Season::Summer,
            _ => Season::Autumn,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Season::Heating => "heating",
            Season::Spring => "spring",
            Season::Summer => "summer",
            Season::Autumn => "autumn",
        }
    }
}

/// Parses a readable duration: `90s`, `45m` (or `45min`), `2h`, `1d`, or combinations such as
/// `1h30m`. Returns milliseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("is empty: write e.g. \"24h\", \"90m\" or \"1h30m\"".to_owned());
    }
    let mut total: i64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "{text:?} is not a duration: write a number and a unit (s, m, h, d), e.g. \"24h\""
            ));
        }
        let amount: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{text:?}: {:?} is not a number", &rest[..digits]))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        rest = &rest[unit_len..];
        let ms = match unit {
            "ms" => 1.0,
            "s" | "sec" => 1_000.0,
            "m" | "min" => 60_000.0,
            "h" => HOUR_MS as f64,
            "d" | "day" | "days" => 24.0 * HOUR_MS as f64,
            "" => {
                return Err(format!(
                    "{text:?} has a number without a unit: add s, m, h or d (\"24h\")"
                ))
            }
            other => {
                return Err(format!(
                    "{text:?}: unknown unit {other:?}; use s, m (min), h or d"
                ))
            }
        };
        total += (amount * ms).round() as i64;
    }
    Ok(total)
}

/// Parses a start time: RFC 3339 (`2026-11-21T00:00:00+08:00`), or a local time without an
/// offset (`2026-11-21 06:00`, China Standard Time), or a date alone (its midnight, CST).
pub fn parse_start(text: &str) -> Result<i64, String> {
    let s = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            if let Some(t) = cst().from_local_datetime(&naive).single() {
                return Ok(t.timestamp_millis());
            }
        }
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = date
            .and_hms_opt(0, 0, 0)
            .and_then(|n| cst().from_local_datetime(&n).single())
        {
            return Ok(t.timestamp_millis());
        }
    }
    Err(format!(
        "{text:?} is not a start time: write RFC 3339 (2026-11-21T06:00:00+08:00), a local time \
         (2026-11-21 06:00, China Standard Time) or a date (2026-11-21)"
    ))
}

/// A duration in milliseconds as `1h30m`, `45s`.
pub fn show_duration(ms: i64) -> String {
    let s = ms / 1000;
    let (d, h, m, sec) = (s / 86_400, (s / 3600) % 24, (s / 60) % 60, s % 60);
    let mut out = String::new();
    for (v, u) in [(d, "d"), (h, "h"), (m, "m"), (sec, "s")] {
        if v > 0 {
            out.push_str(&format!("{v}{u}"));
        }
    }
    if out.is_empty() {
        format!("{ms}ms")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Ok(24 * HOUR_MS));
        assert_eq!(parse_duration("90m"), Ok(90 * 60_000));
        assert_eq!(parse_duration("1h30m"), Ok(90 * 60_000));
        assert_eq!(parse_duration("45min"), Ok(45 * 60_000));
        assert_eq!(parse_duration("1d"), Ok(24 * HOUR_MS));
        assert_eq!(parse_duration("30s"), Ok(30_000));
        assert!(parse_duration("24").unwrap_err().contains("unit"));
        assert!(parse_duration("3 weeks")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_duration("").is_err());
        assert_eq!(show_duration(90 * 60_000), "1h30m");
    }

    #[test]
    fn starts_and_local_time() {
        let a = parse_start("2026-11-21T08:15:00+08:00").unwrap();
        assert_eq!(parse_start("2026-11-21 08:15").unwrap(), a);
        assert_eq!(rfc3339(a), "2026-11-21T08:15:00+08:00");
        assert_eq!(yyyymmdd(a), "20261121");
        assert!((local_hour(a) - 8.25).abs() < 1e-9);
        assert_eq!(
            parse_start("2026-11-21").unwrap(),
            parse_start("2026-11-21T00:00:00+08:00").unwrap()
        );
        assert!(parse_start("tomorrow").unwrap_err().contains("RFC 3339"));
    }

    #[test]
    fn seasons() {
        let at = |s: &str| Season::of(parse_start(s).unwrap());
        assert_eq!(at("2026-11-01"), Season::Heating);
        assert_eq!(at("2027-03-31 23:00"), Season::Heating);
        assert_eq!(at("2026-04-01"), Season::Spring);
        assert_eq!(at("2026-07-15"), Season::Summer);
        assert_eq!(at("2026-10-10"), Season::Autumn);
    }
}
