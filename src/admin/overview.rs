//! Typed queries behind `calproxy status` and `calproxy calendars`, and the
//! console's Connections and Status panels: both faces render the same
//! facts from these values ([`render_status`], [`render_calendars`] are the
//! CLI's text; the console renders HTML).
//!
//! A [`Scope`] says whose connections to read: a tenant user sees only the
//! connections attached to their tenant; a local admin sees every one.

use std::fmt::Write as _;

use crate::ids::{CalendarId, ConnectionId, TenantId, UserRef};
use crate::policy;
use crate::state::App;
use crate::store::{
    self, ConnectionRecord, ConnectionState, HeldDeletions, HoldReason, RemoteCalendarRecord,
    RemoteKind,
};
use crate::sync::{FailureKind, SyncProgress};
use crate::views::ViewsStatus;

/// Whose connections a query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every connection (local admins, the CLI).
    All,
    /// The connections attached to one tenant.
    Tenant(TenantId),
}

impl Scope {
    fn sees(&self, rec: &ConnectionRecord) -> bool {
        match self {
            Scope::All => true,
            Scope::Tenant(t) => rec.tenants.contains(t),
        }
    }
}

/// A connection's health, most pressing first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// iCloud refused the app-specific password after it had worked:
    /// reconnect required ([`super::RECONNECT_REQUIRED`]); polling stopped.
    AuthFailed {
        /// Unix seconds when it was marked.
        since: i64,
    },
    /// Safe sync held deletions back: they need confirmation.
    Held {
        /// How many.
        deletions: usize,
    },
    /// A sync is running now.
    Syncing,
    /// Upstream asked us to wait.
    Throttled {
        /// Unix seconds.
        until: i64,
    },
    /// The last sync could not reach upstream.
    Unreachable,
    /// The last sync failed otherwise (see `last_error`).
    Failing,
    /// Connected, not synced yet.
    NotSyncedYet,
    /// The last sync worked.
    Ok,
}

/// What a remote calendar is, for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarKind {
    /// An event calendar of the account.
    Events,
    /// An event calendar shared by or with the account.
    Shared,
    /// A reminders list (R6: not offered).
    Reminders,
    /// A subscribed webcal calendar (R6: refused; its URL can be added as an ICS source).
    Subscribed,
    /// The calendar of an ICS feed (read-only).
    Feed,
}

impl CalendarKind {
    /// The word `calproxy calendars` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            CalendarKind::Events => "events",
            CalendarKind::Shared => "shared",
            CalendarKind::Reminders => "reminders",
            CalendarKind::Subscribed => "subscribed",
            CalendarKind::Feed => "ics feed",
        }
    }
}

/// A remote calendar of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarView {
    /// Its connection.
    pub connection: ConnectionId,
    /// Its id (what `configure` takes; `connection/id` when ids repeat).
    pub id: CalendarId,
    /// Display name.
    pub name: String,
    /// Colour, if any.
    pub color: Option<String>,
    /// Kind.
    pub kind: CalendarKind,
    /// Read-only for this account (cannot be a primary calendar).
    pub read_only: bool,
    /// Why it cannot be connected (R6), if it cannot.
    pub refusal: Option<&'static str>,
    /// A subscribed calendar's feed URL (to add as an ICS source).
    pub source: Option<String>,
    /// Deletions held back for it by safe sync.
    pub held: Option<HeldView>,
}

/// Deletions safe sync held back for one calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldView {
    /// How many.
    pub deletions: usize,
    /// Copies the calendar has.
    pub copies: u64,
    /// Why.
    pub reason: HoldReason,
    /// Unix seconds since when.
    pub since: i64,
}

impl HeldView {
    fn of(h: &HeldDeletions) -> Self {
        Self {
            deletions: h.hrefs.len(),
            copies: h.copies,
            reason: h.reason,
            since: h.since,
        }
    }

    /// Why, in words.
    pub fn why(&self) -> String {
        match self.reason {
            HoldReason::EmptyListing => format!(
                "the server listed no event of a calendar with {} copies",
                self.copies
            ),
            HoldReason::TooMany => format!(
                "{} of its {} copies would go at once",
                self.deletions, self.copies
            ),
        }
    }
}

impl CalendarView {
    fn new(
        connection: &ConnectionId,
        feed: bool,
        id: CalendarId,
        c: RemoteCalendarRecord,
        held: Option<&HeldDeletions>,
    ) -> Self {
        let kind = match &c.kind {
            RemoteKind::Events if feed => CalendarKind::Feed,
            RemoteKind::Events if c.shared => CalendarKind::Shared,
            RemoteKind::Events => CalendarKind::Events,
            RemoteKind::Reminders => CalendarKind::Reminders,
            RemoteKind::Subscribed { .. } => CalendarKind::Subscribed,
        };
        let source = match &c.kind {
            RemoteKind::Subscribed { source } => source.clone(),
            _ => None,
        };
        Self {
            connection: connection.clone(),
            refusal: policy::calendars::refusal(&c.kind),
            source,
            held: held.map(HeldView::of),
            id,
            name: c.displayname,
            color: c.color,
            kind,
            read_only: c.read_only,
        }
    }

    /// The name `configure` resolves exactly: `connection/calendar`.
    pub fn qualified(&self) -> String {
        format!("{}/{}", self.connection, self.id)
    }
}

/// One connection as `status` and the console show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionView {
    /// Its id.
    pub id: ConnectionId,
    /// Apple ID (or user name); for an ICS feed, its name.
    pub apple_id: String,
    /// It is an ICS feed (read-only, no password).
    pub feed: bool,
    /// Upstream base URL (a feed's with its path hidden).
    pub upstream: String,
    /// Tenants it is attached to.
    pub tenants: Vec<TenantId>,
    /// Health.
    pub health: Health,
    /// The opaque label `/metrics` shows for it (issue 12 #6).
    pub metrics_label: String,
    /// Unix seconds of the last successful sync.
    pub last_sync: Option<i64>,
    /// The last error, one line (never a secret).
    pub last_error: Option<String>,
    /// Unix seconds until which upstream asked us to wait.
    pub throttled_until: Option<i64>,
    /// Calendars found in its home.
    pub calendars: Vec<CalendarView>,
    /// System events waiting to be delivered through it.
    pub outbox_depth: usize,
    /// The running (or last) sync's progress.
    pub progress: Option<SyncProgress>,
}

fn health(
    rec: &ConnectionRecord,
    held: usize,
    progress: Option<&SyncProgress>,
    now: i64,
) -> Health {
    if let ConnectionState::AuthFailed { since } = rec.state {
        return Health::AuthFailed { since };
    }
    if held > 0 {
        return Health::Held { deletions: held };
    }
    if progress.is_some_and(|p| p.running) {
        return Health::Syncing;
    }
    if let Some(until) = rec.throttled_until.filter(|u| *u > now) {
        return Health::Throttled { until };
    }
    if rec.last_error.is_some() {
        return match progress.and_then(|p| p.last_failure) {
            Some(FailureKind::Unreachable) => Health::Unreachable,
            _ => Health::Failing,
        };
    }
    match rec.last_sync {
        None => Health::NotSyncedYet,
        Some(_) => Health::Ok,
    }
}

/// Every user of every tenant, tenant by tenant (who an admin can add a
/// connection for).
pub fn users(app: &App) -> store::Result<Vec<UserRef>> {
    let mut out = Vec::new();
    for t in app.store.tenants()? {
        for u in app.store.users(&t)? {
            out.push(UserRef::new(&t, &u));
        }
    }
    Ok(out)
}

/// The connections a scope sees, by id.
pub fn connections(app: &App, scope: &Scope) -> store::Result<Vec<ConnectionView>> {
    let outbox = app.store.outbox()?;
    let now = chrono::Utc::now().timestamp();
    let mut out = Vec::new();
    for (id, rec) in app.store.connections()? {
        if !scope.sees(&rec) {
            continue;
        }
        let held: std::collections::HashMap<CalendarId, HeldDeletions> =
            app.store.held_deletions(&id)?.into_iter().collect();
        let feed = rec.feed().is_some();
        let calendars: Vec<CalendarView> = app
            .store
            .remote_calendars(&id)?
            .into_iter()
            .map(|(cal, c)| {
                let h = held.get(&cal);
                CalendarView::new(&id, feed, cal, c, h)
            })
            .collect();
        let held_total = held.values().map(|h| h.hrefs.len()).sum();
        let progress = app.engine.progress().get(&id);
        out.push(ConnectionView {
            health: health(&rec, held_total, progress.as_ref(), now),
            metrics_label: app.metrics.connection_label(id.as_str()),
            outbox_depth: outbox.iter().filter(|q| q.entry.connection == id).count(),
            apple_id: rec.label().to_string(),
            feed,
            upstream: rec.upstream,
            tenants: rec.tenants,
            last_sync: rec.last_sync,
            last_error: rec.last_error,
            throttled_until: rec.throttled_until,
            calendars,
            progress,
            id,
        });
    }
    Ok(out)
}

/// Everything `calproxy status` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusView {
    /// The connections in scope.
    pub connections: Vec<ConnectionView>,
    /// The derived views' health.
    pub views: ViewsStatus,
    /// Pending outbox entries (all connections).
    pub outbox_depth: u64,
    /// Bytes of the data directory.
    pub store_bytes: u64,
    /// Recorded traffic entries kept.
    pub traffic_entries: u64,
}

/// The status in a scope.
pub fn status(app: &App, scope: &Scope) -> store::Result<StatusView> {
    Ok(StatusView {
        connections: connections(app, scope)?,
        views: app.views.status(),
        outbox_depth: app.store.outbox_len() as u64,
        store_bytes: app.store.size_on_disk().unwrap_or(0),
        traffic_entries: app.store.traffic_size().entries,
    })
}

/// A unix time as `calproxy status` prints it (UTC), or "never".
pub fn ts(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "never".into())
}

/// `calproxy status` as text.
pub fn render_status(s: &StatusView) -> String {
    let mut out = String::new();
    if s.connections.is_empty() {
        out.push_str("no connections (add one with `calproxy connect`)\n");
    }
    for c in &s.connections {
        let state = match &c.health {
            Health::AuthFailed { since } => format!(
                "{} (iCloud answered 401 since {})\n                  {}",
                super::RECONNECT_REQUIRED,
                ts(Some(*since)),
                super::RECONNECT_HOW
            ),
            Health::Held { deletions } => format!(
                "held: {deletions} deletions need confirmation — nothing was deleted; \
                 if they are real, run `calproxy sync --confirm-deletions`"
            ),
            Health::Syncing => "active (syncing now)".to_string(),
            _ => "active".to_string(),
        };
        let tenants: Vec<&str> = c.tenants.iter().map(TenantId::as_str).collect();
        let kind = if c.feed { "ICS feed " } else { "" };
        let _ = writeln!(out, "{}: {kind}{} via {}", c.id, c.apple_id, c.upstream);
        let _ = writeln!(out, "  state           {state}");
        for cal in &c.calendars {
            if let Some(h) = &cal.held {
                let _ = writeln!(
                    out,
                    "  held            {} deletions in {} ({}) since {}: {}",
                    h.deletions,
                    cal.name,
                    cal.id,
                    ts(Some(h.since)),
                    h.why()
                );
            }
        }
        let _ = writeln!(out, "  metrics label   {}", c.metrics_label);
        let _ = writeln!(out, "  tenants         {}", tenants.join(", "));
        let _ = writeln!(out, "  calendars       {}", c.calendars.len());
        let _ = writeln!(out, "  last sync       {}", ts(c.last_sync));
        let _ = writeln!(
            out,
            "  last error      {}",
            c.last_error.as_deref().unwrap_or("none")
        );
        let _ = writeln!(
            out,
            "  throttled until {}",
            c.throttled_until.map_or("-".into(), |t| ts(Some(t)))
        );
        let _ = writeln!(out, "  outbox          {} waiting", c.outbox_depth);
    }
    let views = &s.views;
    if views.stale.is_empty() {
        let _ = writeln!(out, "views: all current ({} refreshes)", views.refreshed);
    } else {
        let _ = writeln!(
            out,
            "views: {} waiting for a retry ({} failed refreshes so far)",
            views.stale.len(),
            views.failures
        );
        for v in &views.stale {
            let _ = writeln!(
                out,
                "  {} availability/: {} (attempt {})",
                v.user, v.error, v.attempts
            );
        }
    }
    out
}

/// `calproxy calendars` as text: one line per remote calendar.
pub fn render_calendars(conns: &[ConnectionView]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<40} {:<24} {:<10} {:<9} {:<10} connectable",
        "connection", "id", "name", "colour", "kind", "access"
    );
    for c in conns.iter().flat_map(|c| c.calendars.iter()) {
        let can = match (c.refusal, &c.source) {
            (None, _) => "yes".to_string(),
            (Some(why), Some(src)) => format!("no: {why}; its URL: {src}"),
            (Some(why), None) => format!("no: {why}"),
        };
        let _ = writeln!(
            out,
            "{:<16} {:<40} {:<24} {:<10} {:<9} {:<10} {}",
            c.connection.as_str(),
            c.id.as_str(),
            c.name,
            c.color.as_deref().unwrap_or("-"),
            c.kind.as_str(),
            if c.read_only {
                "read-only"
            } else {
                "read-write"
            },
            can
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> ConnectionRecord {
        ConnectionRecord {
            apple_id: "a".into(),
            sealed_password: vec![],
            upstream: "u".into(),
            home_url: None,
            tenants: vec![],
            state: ConnectionState::Active,
            last_sync: None,
            last_error: None,
            throttled_until: None,
            source: store::SourceKind::CalDav,
            next_full_sync: None,
        }
    }

    #[test]
    fn health_most_pressing_first() {
        let mut r = rec();
        assert_eq!(health(&r, 0, None, 10), Health::NotSyncedYet);
        r.last_sync = Some(5);
        assert_eq!(health(&r, 0, None, 10), Health::Ok);
        r.last_error = Some("cannot reach x".into());
        assert_eq!(health(&r, 0, None, 10), Health::Failing);
        let failed = SyncProgress {
            last_failure: Some(FailureKind::Unreachable),
            ..Default::default()
        };
        assert_eq!(health(&r, 0, Some(&failed), 10), Health::Unreachable);
        r.throttled_until = Some(20);
        assert_eq!(health(&r, 0, None, 10), Health::Throttled { until: 20 });
        assert_eq!(health(&r, 0, None, 30), Health::Failing);
        let running = SyncProgress {
            running: true,
            ..Default::default()
        };
        assert_eq!(health(&r, 0, Some(&running), 10), Health::Syncing);
        assert_eq!(
            health(&r, 4, Some(&running), 10),
            Health::Held { deletions: 4 }
        );
        r.state = ConnectionState::AuthFailed { since: 3 };
        assert_eq!(
            health(&r, 4, Some(&running), 10),
            Health::AuthFailed { since: 3 }
        );
    }
}
