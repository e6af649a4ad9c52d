//! In-memory account of the simulated iCloud: principal data, the calendar
//! home, calendars with their objects, per-calendar change logs (for
//! sync-collection) and the millisecond clock behind ETags.
//!
//! Loaded from `fixtures/sim/account.json` plus one directory of `*.ics`
//! files per calendar. Knows nothing about HTTP or XML.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::quirks;

/// What kind of collection a home member is (ICLOUD.md §2.1, §6.1, §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// A VEVENT calendar.
    Events,
    /// A legacy Reminders list (VTODO only).
    Tasks,
    /// A webcal subscription (`CS:subscribed`), holds no events.
    Subscribed,
    /// `C:schedule-inbox`.
    Inbox,
    /// `C:schedule-outbox`.
    Outbox,
    /// `CS:notification`.
    Notification,
}

/// One calendar as described in `account.json`.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct CalendarSpec {
    pub id: String,
    pub kind: Kind,
    #[serde(default)]
    pub displayname: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub order: Option<i32>,
    #[serde(default)]
    pub shared_owner: bool,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AccountFile {
    owner_name: String,
    #[serde(default)]
    aliases: Vec<String>,
    calendars: Vec<CalendarSpec>,
}

/// A stored object: bytes as iCloud serves them (CRLF) and its ETag.
#[derive(Clone, Debug)]
pub(crate) struct Object {
    /// ETag without quotes (base-36 milliseconds, ICLOUD.md §4).
    pub etag: String,
    pub ics: String,
    pub uid: String,
}

/// One entry of a calendar's change log.
#[derive(Clone, Debug)]
struct Change {
    version: u64,
    name: String,
}

/// A calendar with its objects and change log.
#[derive(Debug)]
pub(crate) struct Calendar {
    pub spec: CalendarSpec,
    pub objects: BTreeMap<String, Object>,
    /// Bumped on every change; part of ctag and sync token.
    pub version: u64,
    /// Millisecond stamp of the last change (the collection's getetag).
    pub modified_ms: u64,
    changes: Vec<Change>,
}

/// What changed since a token.
#[derive(Debug, Default)]
pub(crate) struct Delta {
    pub changed: Vec<String>,
    pub deleted: Vec<String>,
}

/// The whole account.
#[derive(Debug)]
pub(crate) struct Account {
    pub owner_name: String,
    pub aliases: Vec<String>,
    pub calendars: Vec<Calendar>,
    /// Bumped by `invalidate_sync_tokens`; tokens of an older epoch are refused.
    pub epoch: u32,
    last_ms: u64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// LF or CRLF text to CRLF line endings.
pub(crate) fn to_crlf(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 64);
    for line in s.lines() {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out
}

fn invalid(path: &Path, what: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{}: {what}", path.display()),
    )
}

impl Account {
    /// Loads `account.json` and the `*.ics` files under `<fixtures>/<calendar id>/`.
    pub(crate) fn load(fixtures: &Path) -> std::io::Result<Account> {
        let file = fixtures.join("account.json");
        let text = std::fs::read_to_string(&file)?;
        let parsed: AccountFile = serde_json::from_str(&text).map_err(|e| invalid(&file, e))?;
        let mut account = Account {
            owner_name: parsed.owner_name,
            aliases: parsed.aliases,
            calendars: Vec::new(),
            epoch: 1,
            last_ms: 0,
        };
        for spec in parsed.calendars {
            let dir = fixtures.join(&spec.id);
            let mut files = Vec::new();
            if dir.is_dir() {
                for entry in std::fs::read_dir(&dir)? {
                    let path = entry?.path();
                    if path.extension().is_some_and(|e| e == "ics") {
                        files.push(path);
                    }
                }
            }
            files.sort();
            let id = spec.id.clone();
            let modified_ms = account.tick();
            account.calendars.push(Calendar {
                spec,
                objects: BTreeMap::new(),
                version: 1,
                modified_ms,
                changes: Vec::new(),
            });
            for path in files {
                let ics = std::fs::read_to_string(&path)?;
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .ok_or_else(|| invalid(&path, "file name is not UTF-8"))?
                    .to_string();
                let uid = crate::ical::parse_lenient(ics.as_bytes())
                    .map_err(|e| invalid(&path, e))?
                    .uid
                    .as_str()
                    .to_string();
                account.store(&id, &name, to_crlf(&ics), uid);
            }
        }
        Ok(account)
    }

    /// The next strictly increasing millisecond stamp.
    pub(crate) fn tick(&mut self) -> u64 {
        let next = now_ms().max(self.last_ms + 1);
        self.last_ms = next;
        next
    }

    pub(crate) fn calendar(&self, id: &str) -> Option<&Calendar> {
        self.calendars.iter().find(|c| c.spec.id == id)
    }

    fn calendar_mut(&mut self, id: &str) -> Option<&mut Calendar> {
        self.calendars.iter_mut().find(|c| c.spec.id == id)
    }

    fn record(&mut self, calendar: &str, name: &str) -> Option<u64> {
        let ms = self.tick();
        let cal = self.calendar_mut(calendar)?;
        cal.version += 1;
        cal.modified_ms = ms;
        let version = cal.version;
        cal.changes.push(Change {
            version,
            name: name.to_string(),
        });
        Some(ms)
    }

    /// Creates or replaces an object; returns (unquoted etag, created).
    /// `None` when the calendar does not exist.
    pub(crate) fn store(
        &mut self,
        calendar: &str,
        name: &str,
        ics: String,
        uid: String,
    ) -> Option<(String, bool)> {
        let ms = self.record(calendar, name)?;
        let etag = quirks::etag_from_millis(ms);
        let cal = self.calendar_mut(calendar)?;
        let created = cal
            .objects
            .insert(
                name.to_string(),
                Object {
                    etag: etag.clone(),
                    ics,
                    uid,
                },
            )
            .is_none();
        Some((etag, created))
    }

    /// Replaces an object without a change-log entry or a new ctag: a
    /// change sync-collection does not report (what a full reconciliation
    /// repairs). Returns the new unquoted etag, `None` when the object is
    /// not there.
    pub(crate) fn store_unlogged(
        &mut self,
        calendar: &str,
        name: &str,
        ics: String,
    ) -> Option<String> {
        let ms = self.tick();
        let obj = self.calendar_mut(calendar)?.objects.get_mut(name)?;
        obj.etag = quirks::etag_from_millis(ms);
        obj.ics = ics;
        Some(obj.etag.clone())
    }

    /// Removes an object; false when it was not there.
    pub(crate) fn remove(&mut self, calendar: &str, name: &str) -> bool {
        let present = self
            .calendar(calendar)
            .is_some_and(|c| c.objects.contains_key(name));
        if !present {
            return false;
        }
        self.record(calendar, name);
        self.calendar_mut(calendar)
            .and_then(|c| c.objects.remove(name))
            .is_some()
    }

    /// New ETag, same content ("iCloud housekeeping", ICLOUD.md §4).
    pub(crate) fn touch(&mut self, calendar: &str, name: &str) -> bool {
        let present = self
            .calendar(calendar)
            .is_some_and(|c| c.objects.contains_key(name));
        if !present {
            return false;
        }
        let Some(ms) = self.record(calendar, name) else {
            return false;
        };
        if let Some(obj) = self
            .calendar_mut(calendar)
            .and_then(|c| c.objects.get_mut(name))
        {
            obj.etag = quirks::etag_from_millis(ms);
        }
        true
    }

    /// Other resources holding `uid` (calendar id, name), excluding `(calendar, name)`.
    pub(crate) fn uid_holders(&self, uid: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for c in &self.calendars {
            for (name, o) in &c.objects {
                if o.uid == uid {
                    out.push((c.spec.id.clone(), name.clone()));
                }
            }
        }
        out
    }

    /// The ctag / sync-token of a calendar (ICLOUD.md §2.1: the same string).
    pub(crate) fn token(&self, cal: &Calendar) -> String {
        quirks::sync_token_for(&cal.spec.id, self.epoch, cal.version)
    }

    /// The home's own ctag: changes whenever any calendar changes.
    pub(crate) fn home_token(&self) -> String {
        let sum: u64 = self.calendars.iter().map(|c| c.version).sum();
        quirks::sync_token_for("", self.epoch, sum)
    }

    /// Names changed and deleted after `version` (deduplicated, log order).
    pub(crate) fn delta(&self, cal: &Calendar, version: u64) -> Delta {
        let mut delta = Delta::default();
        let mut seen = std::collections::HashSet::new();
        for ch in cal.changes.iter().rev().filter(|c| c.version > version) {
            if !seen.insert(ch.name.clone()) {
                continue;
            }
            if cal.objects.contains_key(&ch.name) {
                delta.changed.push(ch.name.clone());
            } else {
                delta.deleted.push(ch.name.clone());
            }
        }
        delta.changed.reverse();
        delta.deleted.reverse();
        delta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sim")
    }

    #[test]
    fn fixtures_load_with_demo_calendars() {
        let a = Account::load(&fixtures()).expect("fixtures load");
        let home = a.calendar("home").expect("home");
        assert_eq!(home.spec.displayname.as_deref(), Some("Home"));
        assert!(home.objects.contains_key("dentist.ics"));
        let work = a.calendar("work").expect("work");
        assert!(work.objects.contains_key("weekly-review.ics"));
        assert!(a.calendars.iter().any(|c| c.spec.kind == Kind::Subscribed));
    }

    #[test]
    fn delta_reports_changes_and_deletions_once() {
        let mut a = Account::load(&fixtures()).expect("fixtures load");
        let v = a.calendar("home").map(|c| c.version).unwrap_or(0);
        a.store("home", "x.ics", "BEGIN:VCALENDAR\r\n".into(), "x".into());
        a.store("home", "x.ics", "BEGIN:VCALENDAR\r\n".into(), "x".into());
        assert!(a.remove("home", "dentist.ics"));
        let cal = a.calendar("home").expect("home");
        let d = a.delta(cal, v);
        assert_eq!(d.changed, vec!["x.ics".to_string()]);
        assert_eq!(d.deleted, vec!["dentist.ics".to_string()]);
    }

    #[test]
    fn crlf_normalisation() {
        assert_eq!(to_crlf("A\nB\r\n"), "A\r\nB\r\n");
    }
}
