//! The availability feed (`/feeds/{token}/availability.ics`): the user's
//! merged busy time in the materialised window as one iCalendar document,
//! with a content ETag. Kept per user with the [`ViewStamp`] it was built
//! from, so an unchanged feed is a lookup and a conditional GET a 304.
//! Each block's DTSTAMP is that of the same block in `availability/` (when
//! it was computed), so rebuilding a feed whose busy time did not change
//! (another source changed, or the server restarted) gives the same bytes
//! and ETag.
//!
//! A user who opts in (`configure --feed-outside-hours busy`) also sees
//! the time outside their working hours as busy here, and only here: the
//! `availability/` collection and free-busy stay pure busy time (RFC 4791).

use std::sync::Arc;

use chrono::Utc;

use crate::ical::{self, BusyInterval, BusyKind};
use crate::ids::{ETag, UserRef};

use super::{flatten, Views};

/// A rendered feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedDoc {
    /// The iCalendar text.
    pub body: String,
    /// Its content ETag.
    pub etag: ETag,
}

impl Views {
    /// The current feed of `who`.
    pub fn feed(&self, who: &UserRef) -> Result<Arc<FeedDoc>, super::Error> {
        let (stamp, _) = self.stamp_now(who)?;
        if let Some((s, doc)) = self
            .inner
            .feeds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(who)
        {
            if s == &stamp {
                return Ok(doc.clone());
            }
        }
        let now = Utc::now();
        let stamps = self.block_stamps(who)?;
        let window = self.window_at(now);
        let mut busy = self.busy_for_user(who, window, None)?;
        let own = self.store().user_settings(&who.tenant, &who.user)?;
        if let (true, Some(hours)) = (own.feed_outside_hours_busy, &own.hours) {
            let zone = self.store().busy_settings(who).tz;
            busy.extend(
                hours
                    .closed(zone, window)
                    .into_iter()
                    .map(|r| BusyInterval {
                        start: r.start,
                        end: r.end,
                        kind: BusyKind::Busy,
                    }),
            );
        }
        let blocks: Vec<_> = flatten(&busy)
            .into_iter()
            .map(|iv| {
                let dtstamp = stamps.get(&ical::busy_uid(&iv)).copied().unwrap_or(now);
                (iv, dtstamp)
            })
            .collect();
        let body = ical::busy_calendar("Availability", &blocks);
        let doc = Arc::new(FeedDoc {
            etag: ETag::of_content(body.as_bytes()),
            body,
        });
        self.inner
            .feeds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(who.clone(), (stamp, doc.clone()));
        Ok(doc)
    }
}
