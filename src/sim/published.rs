//! Published calendar feeds of the simulated iCloud (ICLOUD.md §6.1): a
//! subscribed calendar's `CS:source` names a `webcal://pNN-caldav.icloud.com
//! /published/2/<token>` feed whose events iCloud does not hold; the feed
//! itself is a plain `GET`, without authentication, of one iCalendar file,
//! answered with an `ETag` and a `Last-Modified` and 304 to a matching
//! conditional request.
//!
//! Loaded from `fixtures/sim/published/<token>.ics` (served at
//! `/published/2/<token>`); tests replace a feed's text at run time.

use std::collections::BTreeMap;
use std::path::Path;

use super::quirks;
use super::{Reply, SimHandle};

/// Where published feeds live on the partition hosts.
pub(crate) const PREFIX: &str = "/published/2/";

/// One published feed.
#[derive(Debug, Clone)]
pub(crate) struct Feed {
    ics: String,
    modified_ms: u64,
}

/// Every published feed, by path.
#[derive(Debug, Default)]
pub(crate) struct Feeds {
    by_path: BTreeMap<String, Feed>,
    last_ms: u64,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn http_date(ms: u64) -> String {
    chrono::DateTime::from_timestamp((ms / 1000) as i64, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

impl Feeds {
    /// Loads `<fixtures>/published/*.ics` (none is fine).
    pub(crate) fn load(fixtures: &Path) -> std::io::Result<Self> {
        let mut feeds = Feeds::default();
        let dir = fixtures.join("published");
        if !dir.is_dir() {
            return Ok(feeds);
        }
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "ics") {
                continue;
            }
            let Some(token) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let ics = std::fs::read_to_string(&path)?;
            feeds.set(&format!("{PREFIX}{token}"), &ics);
        }
        Ok(feeds)
    }

    /// Creates or replaces the feed at `path`, as its owner editing the
    /// calendar would (new ETag and Last-Modified).
    pub(crate) fn set(&mut self, path: &str, ics: &str) {
        // Last-Modified has second precision: keep every change a second apart.
        let ms = now_ms().max(self.last_ms + 1000);
        self.last_ms = ms;
        self.by_path.insert(
            path.to_string(),
            Feed {
                ics: super::state::to_crlf(ics),
                modified_ms: ms,
            },
        );
    }

    /// `GET` (or `HEAD`) of a published feed, honouring `If-None-Match`
    /// and `If-Modified-Since`.
    pub(crate) fn get(
        &self,
        path: &str,
        if_none_match: Option<&str>,
        if_modified_since: Option<&str>,
    ) -> Reply {
        let Some(feed) = self.by_path.get(path) else {
            return Reply::empty(404);
        };
        let etag = format!("\"{}\"", quirks::etag_from_millis(feed.modified_ms));
        let modified = http_date(feed.modified_ms);
        let unchanged = match (if_none_match, if_modified_since) {
            (Some(inm), _) => inm.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
            (None, Some(ims)) => chrono::DateTime::parse_from_rfc2822(ims)
                .is_ok_and(|t| t.timestamp() >= (feed.modified_ms / 1000) as i64),
            (None, None) => false,
        };
        let reply = if unchanged {
            Reply::empty(304)
        } else {
            Reply::bytes(200, feed.ics.clone().into_bytes())
                .header("content-type", "text/calendar; charset=utf-8")
        };
        reply.header("etag", etag).header("last-modified", modified)
    }
}

/// A subscribed calendar's `CS:source` as this sim serves it: a published
/// feed URL of iCloud's partition hosts is pointed at the sim's partition
/// listener (like the calendar-home-set, ICLOUD.md §1.2, §8.1); any other
/// URL is left as it is.
pub(crate) fn source_url(source: &str, partition_url: &str) -> String {
    let Some((_, rest)) = source.split_once("://") else {
        return source.to_string();
    };
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let icloud = host.ends_with("caldav.icloud.com") || host.ends_with("caldav.icloud.com:443");
    if !icloud || !path.starts_with(PREFIX) {
        return source.to_string();
    }
    let listener = partition_url
        .strip_prefix("http://")
        .unwrap_or(partition_url);
    format!("webcal://{listener}{path}")
}

impl SimHandle {
    /// Replaces the text of the published feed at `path` (e.g. the path
    /// of a subscribed calendar's `CS:source`), or publishes a new one.
    pub fn publish(&self, path: &str, ics: &str) {
        self.shared.published().set(path, ics);
    }

    /// The URL a subscribed calendar's `CS:source` names, as served.
    pub fn subscription_url(&self, calendar: &str) -> Option<String> {
        let acc = self.shared.account();
        let source = acc.calendar(calendar)?.spec.source.clone()?;
        Some(source_url(&source, &self.partition_url()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icloud_published_feeds_point_at_the_sim() {
        assert_eq!(
            source_url(
                "webcal://p42-caldav.icloud.com/published/2/TOKEN",
                "http://127.0.0.1:9"
            ),
            "webcal://127.0.0.1:9/published/2/TOKEN"
        );
        assert_eq!(
            source_url("https://example.org/feed.ics", "http://127.0.0.1:9"),
            "https://example.org/feed.ics"
        );
    }

    #[test]
    fn icloud_published_feeds_answer_304_to_their_validators() {
        let mut f = Feeds::default();
        f.set("/published/2/x", "BEGIN:VCALENDAR\nEND:VCALENDAR\n");
        let first = f.get("/published/2/x", None, None);
        assert_eq!(first.status, 200);
        let etag = first
            .headers
            .iter()
            .find(|(n, _)| *n == "etag")
            .map(|(_, v)| v.clone())
            .unwrap();
        let modified = first
            .headers
            .iter()
            .find(|(n, _)| *n == "last-modified")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(f.get("/published/2/x", Some(&etag), None).status, 304);
        assert_eq!(f.get("/published/2/x", None, Some(&modified)).status, 304);
        f.set("/published/2/x", "BEGIN:VCALENDAR\nEND:VCALENDAR\n");
        assert_eq!(f.get("/published/2/x", Some(&etag), None).status, 200);
        assert_eq!(f.get("/published/2/y", None, None).status, 404);
    }
}
