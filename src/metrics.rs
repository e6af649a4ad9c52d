//! Counters, a sync-duration summary and gauges, rendered in the
//! Prometheus text exposition format (0.0.4). Depends on nothing.
//!
//! No label carries personal data (issue 12 #6): connection ids are often
//! made from Apple IDs (`ann.smith@icloud.com` -> `ann-smith`), so a
//! connection appears as an opaque label, a keyed hash of its id
//! ([`Metrics::connection_label`]; the key comes from the store, so labels
//! are stable across restarts; `calproxy status` shows each connection's).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Totals of one connection's syncs.
#[derive(Default, Clone, Copy)]
struct SyncStats {
    ok: u64,
    failed: u64,
    seconds: f64,
}

/// Process-wide metrics.
#[derive(Default)]
pub struct Metrics {
    /// Key of the connection labels.
    label_key: [u8; 32],
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    upstream: Mutex<BTreeMap<(String, String), u64>>,
    syncs: Mutex<BTreeMap<String, SyncStats>>,
    /// Full reconciliations by connection label: (runs, objects repaired).
    full: Mutex<BTreeMap<String, (u64, u64)>>,
    views_refreshed: std::sync::atomic::AtomicU64,
    view_failures: std::sync::atomic::AtomicU64,
    password_hashes: std::sync::atomic::AtomicU64,
}

/// Point-in-time values read when `/metrics` is scraped.
#[derive(Debug, Default, Clone, Copy)]
pub struct Gauges {
    /// Pending outbox entries.
    pub outbox_depth: u64,
    /// Bytes of the data directory.
    pub store_bytes: u64,
    /// Recorded traffic entries kept.
    pub traffic_entries: u64,
    /// Derived views waiting for a retry after a failed refresh.
    pub views_stale: u64,
    /// Objects expanded into stored time answers since the process started
    /// (writes, window moves, settings changes; never reads or restarts).
    pub object_expansions: u64,
    /// Deletions held back by safe sync, waiting for confirmation.
    pub held_deletions: u64,
    /// REPORT answers served from the answer cache / patched from the
    /// previous answer's members / rendered.
    pub answers: [u64; 3],
    /// Objects' `<response>`s in REPORT answers reused / rendered.
    pub responses: (u64, u64),
}

/// A counter with a `source` label (`cached`, `rendered`, …).
fn by_source(out: &mut String, name: &str, help: &str, sources: &[(&str, u64)]) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (source, v) in sources {
        let _ = write!(out, "\n{name}{{source=\"{source}\"}} {v}");
    }
    out.push('\n');
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Metrics whose connection labels are keyed with `label_key`.
    pub fn with_label_key(label_key: [u8; 32]) -> Self {
        Self {
            label_key,
            ..Self::default()
        }
    }

    /// The opaque label that stands for a connection in every metric:
    /// `c` and 12 hex digits of SHA-256(key ‖ id).
    pub fn connection_label(&self, connection: &str) -> String {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        h.update(self.label_key);
        h.update(connection.as_bytes());
        let digest = h.finalize();
        format!("c{}", hex::encode(&digest[..6]))
    }

    /// Counts one served request by route kind and status.
    pub fn record(&self, route: &'static str, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route, status)).or_default() += 1;
        }
    }

    /// Counts one upstream request by connection (labelled opaquely) and
    /// status ("error" when none came).
    pub fn record_upstream(&self, connection: &str, status: Option<u16>) {
        let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
        let label = self.connection_label(connection);
        if let Ok(mut m) = self.upstream.lock() {
            *m.entry((label, status)).or_default() += 1;
        }
    }

    /// Records one sync's outcome and duration.
    pub fn observe_sync(&self, connection: &str, ok: bool, took: Duration) {
        let label = self.connection_label(connection);
        if let Ok(mut m) = self.syncs.lock() {
            let s = m.entry(label).or_default();
            if ok {
                s.ok += 1;
            } else {
                s.failed += 1;
            }
            s.seconds += took.as_secs_f64();
        }
    }

    /// Counts one full reconciliation of a connection and the objects it
    /// fetched or removed (what the incremental syncs had missed, or changed
    /// since).
    pub fn observe_full_reconciliation(&self, connection: &str, repaired: usize) {
        let label = self.connection_label(connection);
        if let Ok(mut m) = self.full.lock() {
            let e = m.entry(label).or_default();
            e.0 += 1;
            e.1 += repaired as u64;
        }
    }

    /// Counts one refresh of a derived view.
    pub fn record_view_refresh(&self, ok: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        if ok {
            self.views_refreshed.fetch_add(1, Relaxed);
        } else {
            self.view_failures.fetch_add(1, Relaxed);
        }
    }

    /// Counts one password hash computed (argon2, local sign-in).
    pub fn record_password_hash(&self) {
        self.password_hashes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The text exposition.
    pub fn render(&self, g: &Gauges) -> String {
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
        out.push_str("# HELP calproxy_upstream_requests_total Requests sent upstream, by connection and status.\n");
        out.push_str("# TYPE calproxy_upstream_requests_total counter\n");
        if let Ok(m) = self.upstream.lock() {
            for ((conn, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "calproxy_upstream_requests_total{{connection=\"{}\",status=\"{status}\"}} {n}",
                    escape(conn)
                );
            }
        }
        out.push_str("# HELP calproxy_sync_duration_seconds Time spent syncing, by connection.\n");
        out.push_str("# TYPE calproxy_sync_duration_seconds summary\n");
        let mut outcomes = String::new();
        if let Ok(m) = self.syncs.lock() {
            for (conn, s) in m.iter() {
                let c = escape(conn);
                let _ = writeln!(
                    out,
                    "calproxy_sync_duration_seconds_sum{{connection=\"{c}\"}} {}",
                    s.seconds
                );
                let _ = writeln!(
                    out,
                    "calproxy_sync_duration_seconds_count{{connection=\"{c}\"}} {}",
                    s.ok + s.failed
                );
                let _ = writeln!(
                    outcomes,
                    "calproxy_syncs_total{{connection=\"{c}\",outcome=\"ok\"}} {}",
                    s.ok
                );
                let _ = writeln!(
                    outcomes,
                    "calproxy_syncs_total{{connection=\"{c}\",outcome=\"failed\"}} {}",
                    s.failed
                );
            }
        }
        out.push_str("# HELP calproxy_syncs_total Syncs by connection and outcome.\n");
        out.push_str("# TYPE calproxy_syncs_total counter\n");
        out.push_str(&outcomes);
        out.push_str("# HELP calproxy_full_reconciliations_total Full listings of every calendar of a connection (daily, jittered).\n");
        out.push_str("# TYPE calproxy_full_reconciliations_total counter\n");
        let mut repairs = String::new();
        if let Ok(m) = self.full.lock() {
            for (conn, (runs, repaired)) in m.iter() {
                let c = escape(conn);
                let _ = writeln!(
                    out,
                    "calproxy_full_reconciliations_total{{connection=\"{c}\"}} {runs}"
                );
                let _ = writeln!(
                    repairs,
                    "calproxy_full_reconciliation_repairs_total{{connection=\"{c}\"}} {repaired}"
                );
            }
        }
        out.push_str("# HELP calproxy_full_reconciliation_repairs_total Objects fetched or removed by full reconciliations.\n");
        out.push_str("# TYPE calproxy_full_reconciliation_repairs_total counter\n");
        out.push_str(&repairs);
        {
            use std::sync::atomic::Ordering::Relaxed;
            out.push_str("# HELP calproxy_view_refreshes_total Refreshes of derived views (availability/), by outcome.\n");
            out.push_str("# TYPE calproxy_view_refreshes_total counter\n");
            let _ = writeln!(
                out,
                "calproxy_view_refreshes_total{{outcome=\"ok\"}} {}",
                self.views_refreshed.load(Relaxed)
            );
            let _ = writeln!(
                out,
                "calproxy_view_refreshes_total{{outcome=\"failed\"}} {}",
                self.view_failures.load(Relaxed)
            );
            out.push_str("# HELP calproxy_password_hashes_total Password hashes computed for local sign-ins.\n");
            out.push_str("# TYPE calproxy_password_hashes_total counter\n");
            let _ = writeln!(
                out,
                "calproxy_password_hashes_total {}",
                self.password_hashes.load(Relaxed)
            );
        }
        for (name, help, v) in [
            (
                "calproxy_outbox_depth",
                "Writes waiting to be pushed upstream.",
                g.outbox_depth,
            ),
            (
                "calproxy_store_bytes",
                "Size of the data directory on disk.",
                g.store_bytes,
            ),
            (
                "calproxy_traffic_entries",
                "Recorded upstream exchanges kept.",
                g.traffic_entries,
            ),
            (
                "calproxy_views_stale",
                "Derived views waiting for a retry after a failed refresh.",
                g.views_stale,
            ),
            (
                "calproxy_held_deletions",
                "Deletions held back by safe sync until confirmed (calproxy sync --confirm-deletions).",
                g.held_deletions,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP calproxy_object_expansions_total Objects expanded into stored time answers (writes, window moves, settings changes; reads never expand).\n\
             # TYPE calproxy_object_expansions_total counter\n\
             calproxy_object_expansions_total {}",
            g.object_expansions
        );
        let [cached, patched, rendered] = g.answers;
        by_source(
            &mut out,
            "calproxy_report_answers_total",
            "REPORT answers by how they were made (cached: the bytes rendered for the same request and collection state; patched: a calendar-query's previous answer with the members changed since re-tested).",
            &[("cached", cached), ("patched", patched), ("rendered", rendered)],
        );
        by_source(
            &mut out,
            "calproxy_object_responses_total",
            "Objects' responses in rendered REPORT answers by how they were made (cached: the bytes rendered for the same object version and properties).",
            &[("cached", g.responses.0), ("rendered", g.responses.1)],
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_with_help_and_type() {
        let m = Metrics::default();
        m.record("object", 200);
        m.record_upstream("icloud", Some(207));
        m.record_upstream("icloud", None);
        m.observe_sync("icloud", true, Duration::from_millis(250));
        m.observe_full_reconciliation("icloud", 2);
        let t = m.render(&Gauges::default());
        for family in [
            "calproxy_full_reconciliations_total",
            "calproxy_full_reconciliation_repairs_total",
            "calproxy_held_deletions",
            "calproxy_requests_total",
            "calproxy_upstream_requests_total",
            "calproxy_sync_duration_seconds",
            "calproxy_syncs_total",
            "calproxy_outbox_depth",
        ] {
            assert!(t.contains(&format!("# TYPE {family}")), "{family}\n{t}");
        }
        assert!(t.contains("status=\"error\""));
    }

    #[test]
    fn connections_appear_only_as_keyed_labels() {
        let m = Metrics::with_label_key([7; 32]);
        m.record_upstream("ann-smith", Some(207));
        m.observe_sync("ann-smith", true, Duration::from_millis(5));
        let t = m.render(&Gauges::default());
        assert!(!t.contains("ann"), "{t}");
        let label = m.connection_label("ann-smith");
        assert!(t.contains(&format!("connection=\"{label}\"")), "{t}");
        assert_eq!(label, m.connection_label("ann-smith"), "stable");
        assert_ne!(
            label,
            Metrics::with_label_key([8; 32]).connection_label("ann-smith")
        );
    }
}
