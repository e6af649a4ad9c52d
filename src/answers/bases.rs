//! The members of kept calendar-query answers, for patching (issue 10).
//!
//! Under steady writes a repeated query misses the answer cache after
//! every change of its collection (the key holds the sync token). Its
//! previous answer is then still almost right: only the members the
//! collection's change log names since differ. A [`Base`] keeps that
//! answer — its bytes, and each member's name and where its rendered
//! `<response>` lies in them, in name order — and the state it was listed
//! at; the handler re-tests the changed members only and copies the rest
//! from the previous bytes (`handlers::report::query::patched`).
//!
//! Kept by the query's *identity*: everything its answer depends on but
//! the collection's state (collection, owner's settings, window, the
//! parsed request). Bounded by bytes, least recently used first out; a
//! newer state replaces an older one, never the reverse. The bytes are
//! reference-counted and, while the answer is also in the answer cache,
//! the same bytes: the bound over-counts what a base costs. Knows nothing
//! of DAV or the store (a leaf): names and the state mark are the
//! caller's strings.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::Key;

/// One query's members at one state of its collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    /// The caller's mark of the state the members were listed at (a sync
    /// token).
    pub state: String,
    /// A number that grows with the state (the collection's change
    /// sequence).
    pub seq: u64,
    /// The answer's bytes.
    pub body: Bytes,
    /// Each member's name and where its part lies in `body`, in name
    /// order.
    pub members: Vec<(Arc<str>, Range<usize>)>,
}

impl Base {
    /// The bytes of a member's part (empty for a range outside the body,
    /// which the caller never makes).
    pub fn part(&self, at: &Range<usize>) -> &[u8] {
        self.body.get(at.clone()).unwrap_or_default()
    }

    /// What the bound counts for it.
    fn weight(&self) -> usize {
        const PER_MEMBER: usize = 40;
        self.state.len()
            + self.body.len()
            + self
                .members
                .iter()
                .map(|(n, _)| n.len() + PER_MEMBER)
                .sum::<usize>()
    }
}

struct Slot {
    base: Arc<Base>,
    weight: usize,
    used: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Slot>,
    bytes: usize,
    clock: u64,
}

/// The kept bases, shared by every request (`state::App::bases`).
pub struct Bases {
    inner: Mutex<Inner>,
    max_bytes: usize,
    patched: AtomicU64,
}

impl Bases {
    /// At most `max_bytes` of bases (0 keeps none).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            max_bytes,
            patched: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every update below completes before unlocking.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The base kept for a query's identity.
    pub fn get(&self, identity: &Key) -> Option<Arc<Base>> {
        let mut g = self.lock();
        g.clock += 1;
        let now = g.clock;
        g.map.get_mut(identity).map(|s| {
            s.used = now;
            s.base.clone()
        })
    }

    /// Keeps `base` for `identity` unless a base of a newer state is kept
    /// already; then drops the least recently used bases beyond the
    /// bound. A base over half the bound is not kept.
    pub fn put(&self, identity: Key, base: Arc<Base>) {
        let weight = base.weight();
        if weight > self.max_bytes / 2 {
            return;
        }
        let mut g = self.lock();
        if g.map.get(&identity).is_some_and(|s| s.base.seq > base.seq) {
            return;
        }
        g.clock += 1;
        let used = g.clock;
        if let Some(old) = g.map.insert(identity, Slot { base, weight, used }) {
            g.bytes -= old.weight;
        }
        g.bytes += weight;
        while g.bytes > self.max_bytes {
            // Few bases are kept (one per query shape polled): a scan
            // finds the oldest.
            let Some(oldest) = g.map.iter().min_by_key(|(_, s)| s.used).map(|(k, _)| *k) else {
                break;
            };
            if let Some(s) = g.map.remove(&oldest) {
                g.bytes -= s.weight;
            }
        }
    }

    /// Counts one answer made by patching a base.
    pub fn note_patched(&self) {
        self.patched.fetch_add(1, Ordering::Relaxed);
    }

    /// Answers made by patching a base since the start.
    pub fn patched(&self) -> u64 {
        self.patched.load(Ordering::Relaxed)
    }

    /// Bases kept now, and the bytes the bound counts for them.
    pub fn kept(&self) -> (usize, usize) {
        let g = self.lock();
        (g.map.len(), g.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::KeyBuilder;

    fn key(s: &str) -> Key {
        let mut b = KeyBuilder::new("t");
        b.part(s.as_bytes());
        b.finish()
    }

    /// A base of one part per member, `len` bytes each.
    fn base(seq: u64, members: &[(&str, usize)]) -> Arc<Base> {
        let mut body = Vec::new();
        let mut at = Vec::new();
        for (n, len) in members {
            let start = body.len();
            body.extend(std::iter::repeat_n(b'x', *len));
            at.push((Arc::from(*n), start..body.len()));
        }
        Arc::new(Base {
            state: format!("s{seq}"),
            seq,
            body: Bytes::from(body),
            members: at,
        })
    }

    #[test]
    fn a_newer_state_replaces_an_older_one_never_the_reverse() {
        let b = Bases::new(10_000);
        b.put(key("q"), base(2, &[("a", 10)]));
        b.put(key("q"), base(1, &[("a", 10), ("b", 10)]));
        assert_eq!(b.get(&key("q")).map(|x| x.seq), Some(2));
        b.put(key("q"), base(3, &[]));
        assert_eq!(b.get(&key("q")).map(|x| x.seq), Some(3));
        assert_eq!(b.kept(), (1, 2));
        assert!(b.get(&key("other")).is_none());
    }

    #[test]
    fn a_part_is_its_range_of_the_body() {
        let x = base(1, &[("a", 3), ("b", 5)]);
        assert_eq!(x.members[1].1, 3..8);
        assert_eq!(x.part(&x.members[1].1), b"xxxxx");
        assert_eq!(x.part(&(100..200)), b"", "outside: empty, no panic");
    }

    #[test]
    fn the_bound_drops_the_least_recently_used_and_refuses_large_bases() {
        // Each base weighs 2 (state) + 200 (body) + 2 + 40 = 244 bytes.
        let b = Bases::new(600);
        b.put(key("a"), base(1, &[("aa", 200)]));
        b.put(key("b"), base(1, &[("bb", 200)]));
        assert!(b.get(&key("a")).is_some(), "a used after b");
        b.put(key("c"), base(1, &[("cc", 200)]));
        assert!(b.get(&key("b")).is_none(), "b was the least recently used");
        assert!(b.get(&key("a")).is_some() && b.get(&key("c")).is_some());
        assert_eq!(b.kept(), (2, 488));
        b.put(key("big"), base(1, &[("x", 300)]));
        assert!(b.get(&key("big")).is_none(), "over half the bound");
        let none = Bases::new(0);
        none.put(key("a"), base(1, &[]));
        assert!(none.get(&key("a")).is_none(), "0 keeps none");
    }
}
