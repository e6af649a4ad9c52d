//! Admission to the blocking pool for request work: at most `total` jobs
//! run at once, and one user holds at most a quarter of them (at least
//! one), so a user sending many expensive requests waits behind their own
//! requests while other users' requests and tenants go on (issue 12 #3).
//!
//! A user's share is a semaphore kept only while some of their requests
//! hold or wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ids::UserRef;

/// Users' shares kept before dead entries are swept.
const SWEEP_AT: usize = 1024;

/// The admission control. Cheap to share (`Arc`).
pub struct Jobs {
    all: Arc<Semaphore>,
    share: usize,
    users: Mutex<HashMap<UserRef, Weak<Semaphore>>>,
}

/// Held while a job runs; dropping it lets the next one in.
pub struct Permit {
    _user: Option<OwnedSemaphorePermit>,
    _all: OwnedSemaphorePermit,
}

impl Jobs {
    /// `total` jobs at once, a quarter of them (at least one) per user.
    pub fn new(total: usize) -> Self {
        let total = total.max(1);
        Self {
            all: Arc::new(Semaphore::new(total)),
            share: (total / 4).max(1),
            users: Mutex::default(),
        }
    }

    /// Jobs one user may run at once.
    pub fn share(&self) -> usize {
        self.share
    }

    /// Waits for a place for a job of `user` (or of nobody in particular:
    /// only the total applies). `None` once the pool is closed.
    pub async fn admit(&self, user: Option<&UserRef>) -> Option<Permit> {
        let mine = match user {
            Some(u) => Some(self.of(u).acquire_owned().await.ok()?),
            None => None,
        };
        let all = self.all.clone().acquire_owned().await.ok()?;
        Some(Permit {
            _user: mine,
            _all: all,
        })
    }

    /// `user`'s share, made when they have none in use.
    fn of(&self, user: &UserRef) -> Arc<Semaphore> {
        let Ok(mut users) = self.users.lock() else {
            // A poisoned map: fall back to a share of one's own.
            return Arc::new(Semaphore::new(self.share));
        };
        if let Some(s) = users.get(user).and_then(Weak::upgrade) {
            return s;
        }
        if users.len() >= SWEEP_AT {
            users.retain(|_, w| w.strong_count() > 0);
        }
        let s = Arc::new(Semaphore::new(self.share));
        users.insert(user.clone(), Arc::downgrade(&s));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{TenantId, UserId};

    fn user(t: &str, u: &str) -> UserRef {
        UserRef::new(&TenantId::new(t).unwrap(), &UserId::new(u).unwrap())
    }

    #[tokio::test]
    async fn one_user_takes_at_most_a_share_and_others_still_get_in() {
        let jobs = Jobs::new(8);
        assert_eq!(jobs.share(), 2);
        let ann = user("a", "ann");
        let held: Vec<Permit> = vec![
            jobs.admit(Some(&ann)).await.unwrap(),
            jobs.admit(Some(&ann)).await.unwrap(),
        ];
        // Ann's third job waits...
        let third =
            tokio::time::timeout(std::time::Duration::from_millis(50), jobs.admit(Some(&ann)))
                .await;
        assert!(third.is_err(), "a third job of one user must wait");
        // ...while another tenant's user and unowned work get in at once.
        let bob = user("b", "bob");
        let _b = jobs.admit(Some(&bob)).await.unwrap();
        let _n = jobs.admit(None).await.unwrap();
        drop(held);
        let _again = jobs.admit(Some(&ann)).await.unwrap();
    }

    #[test]
    fn idle_users_leave_no_state_behind() {
        let jobs = Jobs::new(4);
        for i in 0..(SWEEP_AT + 10) {
            drop(jobs.of(&user("t", &format!("u{i}"))));
        }
        assert!(jobs.users.lock().unwrap().len() <= SWEEP_AT);
    }
}
