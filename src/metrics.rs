//! Request counters and their Prometheus text rendering. Depends on nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Counters of served requests.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
}

impl Metrics {
    /// Counts one request by route kind and status.
    pub fn record(&self, route: &'static str, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route, status)).or_default() += 1;
        }
    }

    /// Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP calproxy_requests_total HTTP requests served, by route kind and status.\n",
        );
        out.push_str("# TYPE calproxy_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "calproxy_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out
    }
}
