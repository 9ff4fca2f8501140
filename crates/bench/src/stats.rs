//! Percentiles, ratios and the number formats of the report.

use std::time::Duration;

/// The `p`-th percentile (0..=100) of `values` by nearest rank; `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

/// `a / b`, formatted with two significant decimals, or `n/a`.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() => {
            let r = a / b;
            if r >= 100.0 {
                format!("{r:.0}")
            } else if r >= 10.0 {
                format!("{r:.1}")
            } else {
                format!("{r:.2}")
            }
        }
        _ => "n/a".to_owned(),
    }
}

/// A count with thousands separators: `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).unwrap_or_default())
        .collect();
    groups.join(",")
}

/// A rate per second, rounded: `12,345/s`, or `n/a`.
pub fn rate(r: Option<f64>) -> String {
    match r {
        Some(r) if r.is_finite() && r >= 10.0 => format!("{}/s", thousands(r.round() as u64)),
        Some(r) if r.is_finite() => format!("{r:.2}/s"),
        _ => "n/a".to_owned(),
    }
}

/// A rate per second of `unit`s: `12,345 rows/s`, or `n/a`.
pub fn rate_of(r: Option<f64>, unit: &str) -> String {
    match r {
        Some(r) if r.is_finite() => format!("{} {unit}/s", thousands(r.round() as u64)),
        _ => "n/a".to_owned(),
    }
}

/// Milliseconds, with one decimal under 10 ms.
pub fn millis(ms: Option<f64>) -> String {
    match ms {
        Some(ms) if ms < 10.0 => format!("{ms:.1} ms"),
        Some(ms) => format!("{} ms", thousands(ms.round() as u64)),
        None => "n/a".to_owned(),
    }
}

/// `n / elapsed` in items per second.
pub fn per_second(n: u64, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// The most items per second a process can carry when it needs `cpu_s_per_1000` CPU-seconds
/// per 1,000 items and has all of `cores` to itself: a ceiling that holds whatever the other
/// processes on the machine do.
pub fn cpu_bound_rate(cpu_s_per_1000: f64, cores: usize) -> Option<f64> {
    (cpu_s_per_1000 > 0.0).then(|| cores as f64 * 1000.0 / cpu_s_per_1000)
}

/// How many cores a process needs at `rate` items per second, at `cpu_s_per_1000`
/// CPU-seconds per 1,000 items.
pub fn cores_needed(cpu_s_per_1000: f64, rate: f64) -> f64 {
    cpu_s_per_1000 * rate / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ceilings() {
        // 1.5 CPU-s per 1,000 on 2 cores: 1,333 per second at most; 2,000/s would need 3 cores.
        assert_eq!(cpu_bound_rate(1.5, 2).map(f64::round), Some(1_333.0));
        assert_eq!(cpu_bound_rate(0.0, 2), None);
        assert_eq!(cores_needed(1.5, 2_000.0), 3.0);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn formats() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(rate(Some(12_345.4)), "12,345/s");
        assert_eq!(rate_of(Some(3_585.2), "rows"), "3,585 rows/s");
        assert_eq!(ratio(Some(1.0), Some(4.0)), "0.25");
        assert_eq!(ratio(Some(1.0), None), "n/a");
        assert_eq!(millis(Some(3.25)), "3.2 ms");
        assert_eq!(millis(Some(1234.0)), "1,234 ms");
    }
}
