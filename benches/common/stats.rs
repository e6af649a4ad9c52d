//! Latency statistics from sorted samples (nearest-rank percentiles) and
//! the number formats the tables use. Pure.

use std::time::Duration;

/// Summary of a set of latency samples, in milliseconds.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Stats {
    /// Number of samples.
    pub n: usize,
    /// Median (nearest rank).
    pub p50: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

/// Nearest-rank percentile `q` (0 < q <= 1) of sorted `v`.
fn rank(v: &[f64], q: f64) -> f64 {
    let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[i - 1]
}

impl Stats {
    /// Statistics of `samples`; panics on an empty set.
    pub fn of(samples: &[Duration]) -> Stats {
        assert!(!samples.is_empty(), "no samples");
        let mut v: Vec<f64> = samples.iter().map(|d| ms(*d)).collect();
        v.sort_by(f64::total_cmp);
        Stats {
            n: v.len(),
            p50: rank(&v, 0.50),
            p99: rank(&v, 0.99),
            min: v[0],
            max: v[v.len() - 1],
            mean: v.iter().sum::<f64>() / v.len() as f64,
        }
    }
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Milliseconds for a table: two decimals below 10, one below 100, none above.
pub fn fmt_ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        group(v.round() as u64)
    }
}

/// `other / calproxy` as a ratio for a table ("15.2×").
pub fn ratio(other: f64, calproxy: f64) -> String {
    if calproxy <= 0.0 {
        return "–".to_string();
    }
    let r = other / calproxy;
    if r < 10.0 {
        format!("{r:.2}×")
    } else {
        format!("{r:.0}×")
    }
}

/// An integer with thousands separators ("12,345").
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Mebibytes with one decimal.
pub fn mib(v: f64) -> String {
    format!("{v:.1}")
}
