//! The dependencies of derived views, written down in one place (R7, R9):
//! which collections a user's busy time is made of, and which users'
//! views a change can touch.
//!
//! A user's view depends on
//! - their own collections except `availability/` (primary, blocked, each
//!   conflict calendar's copy — a shared connection's copies included, R8),
//! - the own collections of the users of the same tenant they chose as
//!   conflict users (not transitively, R7),
//! - their settings (time zone, addresses, busy rules, buffers, working
//!   hours) and links, and those of their conflict users (whose zone,
//!   addresses and rules shape those users' busy time).

use std::collections::BTreeSet;

use crate::ids::{CalendarId, CollectionKey, UserRef};
use crate::store::{self, Change, CollectionKind, CollectionRecord, Store};

use super::busy_cache::Settings;

/// The name of the derived collection.
pub const AVAILABILITY: &str = "availability";

/// One collection a user's busy time is made of, with the settings of the
/// user who owns it (their time zone for floating times, their addresses
/// for PARTSTAT).
#[derive(Debug, Clone)]
pub struct Source {
    /// The collection.
    pub key: CollectionKey,
    /// Its record as read now.
    pub record: CollectionRecord,
    /// Its owner's expansion settings.
    pub settings: Settings,
}

/// The expansion settings of a user: zone, addresses and busy rules (UTC,
/// none and the defaults when unknown).
pub fn settings(store: &Store, who: &UserRef) -> Settings {
    store.busy_settings(who)
}

/// The users whose busy time blocks `who`'s: `who` first, then their
/// conflict users (R7), each once.
pub fn blocking_users(store: &Store, who: &UserRef) -> store::Result<Vec<UserRef>> {
    let mut users = vec![who.clone()];
    for other in store.links(&who.tenant, &who.user)?.conflict_users {
        let other = UserRef::new(&who.tenant, &other);
        if !users.contains(&other) {
            users.push(other);
        }
    }
    Ok(users)
}

/// Every collection whose busy time blocks `who` (R9, R7).
pub fn sources(store: &Store, who: &UserRef) -> store::Result<Vec<Source>> {
    let mut out = Vec::new();
    for owner in blocking_users(store, who)? {
        let s = settings(store, &owner);
        for (key, record) in store.collections(&owner.tenant, &owner.user)? {
            if record.kind != CollectionKind::Availability {
                out.push(Source {
                    key,
                    record,
                    settings: s.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// The `availability/` collection of a user.
pub fn availability_of(who: &UserRef) -> Option<CollectionKey> {
    CalendarId::new(AVAILABILITY)
        .ok()
        .map(|c| CollectionKey::of(who, &c))
}

/// The users whose views a change can touch: the changed user or the
/// collection's owner, and every user of the same tenant who chose them as
/// a conflict user. Changes of an `availability/` collection (the views'
/// own output) touch nobody.
pub fn dependents(store: &Store, change: &Change) -> store::Result<BTreeSet<UserRef>> {
    let owner = match change {
        Change::Collection(k) if k.calendar.as_str() == AVAILABILITY => return Ok(BTreeSet::new()),
        Change::Collection(k) => k.owner(),
        Change::User(u) => u.clone(),
    };
    let mut out = BTreeSet::new();
    for u in store.users(&owner.tenant)? {
        if u == owner.user
            || store
                .links(&owner.tenant, &u)?
                .conflict_users
                .contains(&owner.user)
        {
            out.insert(UserRef::new(&owner.tenant, &u));
        }
    }
    // The owner may not be a user (yet): their collections still count.
    out.insert(owner);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{TenantId, UserId};
    use crate::store::UserLinks;

    fn user(store: &Store, t: &str, u: &str) -> UserRef {
        let r = UserRef::new(&TenantId::new(t).unwrap(), &UserId::new(u).unwrap());
        crate::accounts::add_user(
            store,
            &r.tenant,
            &r.user,
            &crate::secret::Secret::new("pw-long-enough".into()),
        )
        .unwrap();
        r
    }

    #[test]
    fn r7_a_conflict_users_change_reaches_the_dependent_user_only() {
        let s = Store::temporary().unwrap();
        let bob = user(&s, "acme", "bob");
        let carol = user(&s, "acme", "carol");
        let dave = user(&s, "acme", "dave");
        let eve = user(&s, "other", "carol");
        s.put_links(
            &bob.tenant,
            &bob.user,
            &UserLinks {
                conflict_users: vec![carol.user.clone()],
                ..UserLinks::default()
            },
        )
        .unwrap();
        let blocked = CollectionKey::of(&carol, &CalendarId::new("blocked").unwrap());
        let got = dependents(&s, &Change::Collection(blocked)).unwrap();
        assert_eq!(got, [bob.clone(), carol.clone()].into_iter().collect());
        assert!(!got.contains(&dave) && !got.contains(&eve));
        // Sources of bob: his own and carol's collections, never availability/.
        let src = sources(&s, &bob).unwrap();
        assert!(src.iter().any(|x| x.key.user == carol.user));
        assert!(src.iter().all(|x| x.key.calendar.as_str() != AVAILABILITY));
        // The views' own output touches nobody.
        let own = availability_of(&bob).unwrap();
        assert!(dependents(&s, &Change::Collection(own)).unwrap().is_empty());
    }
}
