//! The busy rules a user may switch (R4 variants, issue 13 #3): how
//! all-day events, tentative and unanswered invitations and Apple's
//! travel time count. Every default is the behaviour R4 fixes, so a user
//! who never switches anything gets exactly that.
//!
//! The rules are applied per instance where an object's busy time is
//! computed (`busy`, and so the answers `derive` stores). They belong to
//! the object's owner ([`super::BusySettings`]) and are part of its
//! fingerprint: stored answers made under other rules are recognised as
//! stale and made again. Buffers around busy blocks are not here: they
//! are the viewing user's and apply to the merged availability (`views`).

use serde::{Deserialize, Serialize};

use super::lines::Component;
use super::tz::parse_duration;

/// Longest travel time counted (longer values are ignored as implausible;
/// it also bounds how far outside a window expansion must look).
pub const MAX_TRAVEL_SECS: i64 = 86_400;

/// How all-day events count.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AllDay {
    /// Busy, like any event, unless `TRANSP:TRANSPARENT` (the default: R4
    /// respects what the event says).
    #[default]
    Busy,
    /// Free unless the event says `TRANSP:OPAQUE` explicitly (Apple writes
    /// birthdays and holidays as all-day events without TRANSP).
    FreeUnlessOpaque,
}

/// How tentative and unanswered invitations count: `STATUS:TENTATIVE`,
/// and the owner's `PARTSTAT` TENTATIVE or NEEDS-ACTION (or absent).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Tentative {
    /// `FBTYPE=BUSY-TENTATIVE` (the default; busy in `availability/` and the feed).
    #[default]
    BusyTentative,
    /// Plain busy (`FBTYPE=BUSY`).
    Busy,
    /// Free: they leave the time open.
    Free,
}

/// The switches of one user.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusyRules {
    /// All-day events.
    pub all_day: AllDay,
    /// Tentative and unanswered invitations.
    pub tentative: Tentative,
    /// Apple travel time (`X-APPLE-TRAVEL-DURATION` before the event,
    /// `X-APPLE-TRAVEL-RETURN-DURATION` after it) counts as busy.
    pub travel: bool,
}

impl Default for BusyRules {
    fn default() -> Self {
        Self {
            all_day: AllDay::Busy,
            tentative: Tentative::BusyTentative,
            travel: true,
        }
    }
}

impl BusyRules {
    /// Whether these are the defaults (R4 as written).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Bytes for a fingerprint; empty for the defaults, so that answers
    /// stored before the rules existed stay current.
    pub(crate) fn fingerprint_bytes(&self) -> Vec<u8> {
        if self.is_default() {
            return Vec::new();
        }
        vec![
            b'R',
            self.all_day as u8,
            self.tentative as u8,
            u8::from(self.travel),
        ]
    }
}

/// One travel property in seconds, if present and plausible (`0 <` and
/// `≤` [`MAX_TRAVEL_SECS`]).
pub(crate) fn travel_secs(c: &Component, name: &str) -> i64 {
    c.value(name)
        .and_then(parse_duration)
        .map(|d| d.days.saturating_mul(86_400).saturating_add(d.secs))
        .filter(|s| *s > 0 && *s <= MAX_TRAVEL_SECS)
        .unwrap_or(0)
}

/// Whether a component carries travel time (expansion then looks
/// [`MAX_TRAVEL_SECS`] beyond the window, so travel reaching into it counts).
pub(crate) fn has_travel(c: &Component) -> bool {
    c.prop("X-APPLE-TRAVEL-DURATION").is_some()
        || c.prop("X-APPLE-TRAVEL-RETURN-DURATION").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_r4_and_leave_the_fingerprint_alone() {
        let d = BusyRules::default();
        assert!(d.is_default());
        assert!(d.fingerprint_bytes().is_empty());
        let off = BusyRules { travel: false, ..d };
        assert!(!off.is_default());
        assert_ne!(
            off.fingerprint_bytes(),
            BusyRules {
                tentative: Tentative::Free,
                ..d
            }
            .fingerprint_bytes()
        );
    }
}
