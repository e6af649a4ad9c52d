//! Claims: at most one pusher per upstream object at a time. The request
//! path (`push_now`) and the worker (`drain`) both claim an object before
//! pushing it; whoever finds it claimed leaves it to the holder. In memory:
//! one process owns a data directory (sled), so this is the whole truth.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::ids::{ConnectionId, Href};

type Object = (ConnectionId, Href);

/// The set of upstream objects being pushed right now.
#[derive(Clone, Default)]
pub struct Claims {
    held: Arc<Mutex<HashSet<Object>>>,
}

/// Holds a claim until dropped.
pub struct Claim {
    held: Arc<Mutex<HashSet<Object>>>,
    object: Object,
}

impl Claims {
    /// Claims an object; `None` when someone else holds it.
    pub fn claim(&self, connection: &ConnectionId, href: &Href) -> Option<Claim> {
        let object = (connection.clone(), href.clone());
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if !held.insert(object.clone()) {
            return None;
        }
        Some(Claim {
            held: self.held.clone(),
            object,
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.object);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_released_on_drop() {
        let c = Claims::default();
        let conn = ConnectionId::new("c").unwrap();
        let href = Href::new("/c/a.ics");
        let first = c.claim(&conn, &href).unwrap();
        assert!(c.claim(&conn, &href).is_none());
        assert!(c.claim(&conn, &Href::new("/c/b.ics")).is_some());
        drop(first);
        assert!(c.claim(&conn, &href).is_some());
    }
}
