//! Per-user settings that shape busy time and free slots (issue 13 #2,
//! #3): the busy rules (all-day, tentative, travel time), buffers around
//! busy blocks, working hours, and whether the feed counts time outside
//! working hours as busy.
//!
//! They live in their own tree, `user_settings`, keyed like `users`; a
//! missing value means the defaults (R4 as written, no buffers, no
//! working hours), so no existing record changed shape. Storing them
//! announces `Change::User`: the views' worker makes the owner's stored
//! time answers again when their rules changed and refreshes every view
//! that depends on the user, as after a change of time zone.

use serde::{Deserialize, Serialize};

use super::{codec, keys, Change, Result, Store};
use crate::ical::{BusyRules, BusySettings, WorkingHours};
use crate::ids::{TenantId, UserId, UserRef};

/// Tree name.
const TREE: &str = "user_settings";

/// Longest buffer around a busy block.
pub const MAX_BUFFER_SECS: u32 = 24 * 3600;

/// Time kept free around every busy block of a user's availability.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Buffers {
    /// Seconds before each block.
    pub before: u32,
    /// Seconds after each block.
    pub after: u32,
}

impl Buffers {
    /// No buffers (the default).
    pub fn is_none(&self) -> bool {
        self.before == 0 && self.after == 0
    }
}

/// One user's settings; `Default` is what a user who set nothing gets.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct UserSettings {
    /// How the user's own events count (applied to their objects' stored
    /// time answers).
    pub rules: BusyRules,
    /// Buffers around every block of the user's merged availability.
    pub buffers: Buffers,
    /// Working hours in the user's zone (None: every hour is working time).
    pub hours: Option<WorkingHours>,
    /// The feed shows time outside working hours as busy (opt-in; the
    /// availability collection and free-busy stay pure busy time).
    pub feed_outside_hours_busy: bool,
}

impl Store {
    fn settings_tree(&self) -> &sled::Tree {
        &self.user_settings
    }

    /// A user's settings (the defaults when none were stored).
    pub fn user_settings(&self, t: &TenantId, u: &UserId) -> Result<UserSettings> {
        Ok(self
            .settings_tree()
            .get(keys::user(t, u))?
            .map(|v| codec::decode(TREE, &v))
            .transpose()?
            .unwrap_or_default())
    }

    /// Stores a user's settings (the defaults remove the value) and
    /// announces the change.
    pub fn put_user_settings(&self, t: &TenantId, u: &UserId, s: &UserSettings) -> Result<()> {
        let key = keys::user(t, u);
        if *s == UserSettings::default() {
            self.settings_tree().remove(key)?;
        } else {
            self.settings_tree().insert(key, codec::encode(s)?)?;
        }
        self.changed(Change::User(UserRef::new(t, u)));
        Ok(())
    }

    /// The owner's settings that shape busy time: their zone, addresses
    /// and rules (UTC, none and the defaults without a user record).
    pub fn busy_settings(&self, owner: &UserRef) -> BusySettings {
        let rec = self.user(&owner.tenant, &owner.user).ok().flatten();
        BusySettings {
            tz: rec
                .as_ref()
                .and_then(|r| r.timezone.parse::<chrono_tz::Tz>().ok())
                .unwrap_or(chrono_tz::UTC),
            owners: rec.map(|r| r.addresses).unwrap_or_default(),
            rules: self
                .user_settings(&owner.tenant, &owner.user)
                .map(|s| s.rules)
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ical::{AllDay, Tentative};

    #[test]
    fn absent_is_default_and_a_change_is_announced() {
        let s = Store::temporary().unwrap();
        let (t, u) = (TenantId::new("t").unwrap(), UserId::new("u").unwrap());
        assert_eq!(s.user_settings(&t, &u).unwrap(), UserSettings::default());
        let _ = s.take_changes();
        let mine = UserSettings {
            rules: BusyRules {
                all_day: AllDay::FreeUnlessOpaque,
                tentative: Tentative::Free,
                travel: false,
            },
            buffers: Buffers {
                before: 600,
                after: 300,
            },
            hours: Some(WorkingHours {
                weekly: WorkingHours::parse_weekly("Mon-Fri 09:00-17:00").unwrap(),
                ..Default::default()
            }),
            feed_outside_hours_busy: true,
        };
        s.put_user_settings(&t, &u, &mine).unwrap();
        assert_eq!(s.user_settings(&t, &u).unwrap(), mine);
        assert_eq!(s.take_changes(), vec![Change::User(UserRef::new(&t, &u))]);
        let who = UserRef::new(&t, &u);
        assert_eq!(s.busy_settings(&who).rules, mine.rules);
        // Back to the defaults: the value goes, the defaults are read.
        s.put_user_settings(&t, &u, &UserSettings::default())
            .unwrap();
        assert!(s.user_settings.is_empty());
        assert!(s.busy_settings(&who).rules.is_default());
    }
}
