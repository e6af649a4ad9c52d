//! Rendered answers of repeatable reads (issue 10: reads are lookups).
//!
//! A REPORT on a collection (calendar-query, calendar-multiget,
//! sync-collection) is a pure function of the request and what it reads:
//! the collection's state (its sync token advances on every change), the
//! owner's expansion settings and the stored window. The handlers digest
//! all of that into a [`Key`]; a repeated request — scheduling tools and
//! CalDAV clients poll the same window again and again — is then answered
//! with the bytes rendered the first time, without reading an object. A
//! write makes a new token, hence new keys: nothing needs invalidating.
//! Each answer also names its *scope* (the collection) and the *version*
//! of the scope it was made from (token, settings, window); the first
//! answer kept for a newer version drops the older version's answers at
//! once, since no request can ask for them again, so memory holds live
//! answers only instead of growing to the bound under steady writes.
//!
//! Bounded by bytes (`limits.answer_cache_bytes`), least recently used
//! first out; one answer larger than half the bound is not kept.
//! Bytes are reference-counted: a hit copies nothing. Knows nothing of
//! DAV or the store (a leaf): keys are SHA-256 digests made by the caller,
//! so two different requests cannot share an entry.
//!
//! [`Bases`] keep the members of calendar-query answers, so the answer
//! for the collection's next state is patched from the previous one
//! instead of rendered again.

mod bases;

pub use bases::{Base, Bases};

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use bytes::Bytes;
use sha2::{Digest, Sha256};

/// The digest of everything an answer depends on (also used for a
/// scope and its version).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key([u8; 32]);

/// Where an answer belongs: its scope and the scope's version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    /// What the answer reads (a collection).
    pub of: Key,
    /// The state of it the answer was made from.
    pub version: Key,
    /// A number that grows with the scope's changes (the collection's
    /// change sequence): an answer from an older state than the newest
    /// seen is not kept.
    pub seq: u64,
}

/// Builds a [`Key`]: feed it every input of the answer, in a fixed order.
/// Implements [`std::hash::Hasher`], so any `Hash` value can be fed
/// (through SHA-256, not a 64-bit hash: distinct inputs never collide in
/// practice).
#[derive(Default)]
pub struct KeyBuilder(Sha256);

impl KeyBuilder {
    /// Starts a key for one kind of answer (`"calendar-query"`, …).
    pub fn new(kind: &str) -> Self {
        let mut b = Self::default();
        b.part(kind.as_bytes());
        b
    }

    /// Adds one input, length-prefixed (so `"ab","c"` ≠ `"a","bc"`).
    pub fn part(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// Adds a `Hash` value.
    pub fn hashed(&mut self, v: &impl std::hash::Hash) -> &mut Self {
        v.hash(self);
        self
    }

    /// The key.
    pub fn finish(self) -> Key {
        Key(self.0.finalize().into())
    }
}

impl std::hash::Hasher for KeyBuilder {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        // Not used for keys (see `KeyBuilder::finish`); a prefix of the
        // digest so far, for completeness.
        let d = self.0.clone().finalize();
        u64::from_le_bytes(d[..8].try_into().unwrap_or([0; 8]))
    }
}

struct Entry {
    body: Bytes,
    used: u64,
    scope: Key,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Entry>,
    /// Each scope's newest version (with its sequence) and the answers
    /// kept for it.
    scopes: HashMap<Key, ScopeState>,
    /// Last use → key, oldest first.
    order: BTreeMap<u64, Key>,
    bytes: usize,
    clock: u64,
}

struct ScopeState {
    version: Key,
    seq: u64,
    keys: Vec<Key>,
}

impl Inner {
    /// Forgets one answer (and its place in its scope's list).
    fn remove(&mut self, key: &Key) {
        let Some(e) = self.map.remove(key) else {
            return;
        };
        self.order.remove(&e.used);
        self.bytes -= e.body.len();
        let empty = match self.scopes.get_mut(&e.scope) {
            Some(s) => {
                s.keys.retain(|k| k != key);
                s.keys.is_empty()
            }
            None => false,
        };
        if empty {
            // Nothing kept for it: forget the scope too (memory follows
            // the answers kept, not every collection ever answered).
            self.scopes.remove(&e.scope);
        }
    }
}

/// The cache. Shared by every request (`state::App::answers`).
pub struct Answers {
    inner: Mutex<Inner>,
    max_bytes: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Counters, for `/metrics` and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Answers served from the cache.
    pub hits: u64,
    /// Answers rendered (not found, or not cacheable).
    pub misses: u64,
    /// Answers kept now.
    pub entries: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl Answers {
    /// A cache of at most `max_bytes` (0 keeps nothing).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            max_bytes,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves a consistent
        // map (every update below is completed before unlocking).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The answer kept for `key`, if any.
    pub fn get(&self, key: &Key) -> Option<Bytes> {
        let mut g = self.lock();
        g.clock += 1;
        let now = g.clock;
        let found = g.map.get_mut(key).map(|e| {
            let was = std::mem::replace(&mut e.used, now);
            (was, e.body.clone())
        });
        match found {
            Some((was, body)) => {
                g.order.remove(&was);
                g.order.insert(now, *key);
                drop(g);
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(body)
            }
            None => {
                drop(g);
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Keeps `body` as the answer for `key`, made from `scope`'s version:
    /// drops the answers of an older version of the scope, then the least
    /// recently used answers beyond the bound. An answer over half the
    /// bound is not kept; nor is one made from a version older than the
    /// newest seen (a slow request finishing after a write).
    pub fn put(&self, scope: Scope, key: Key, body: Bytes) {
        if body.len() > self.max_bytes / 2 {
            return;
        }
        let mut g = self.lock();
        let fresh = || ScopeState {
            version: scope.version,
            seq: scope.seq,
            keys: Vec::new(),
        };
        match g.scopes.get(&scope.of) {
            Some(s) if s.version == scope.version => {}
            Some(s) if s.seq > scope.seq => return,
            _ => {
                if let Some(old) = g.scopes.remove(&scope.of) {
                    for k in old.keys {
                        g.remove(&k);
                    }
                }
            }
        }
        g.clock += 1;
        let now = g.clock;
        g.remove(&key);
        g.map.insert(
            key,
            Entry {
                body: body.clone(),
                used: now,
                scope: scope.of,
            },
        );
        g.order.insert(now, key);
        g.bytes += body.len();
        g.scopes
            .entry(scope.of)
            .or_insert_with(fresh)
            .keys
            .push(key);
        while g.bytes > self.max_bytes {
            let Some((_, oldest)) = g.order.pop_first() else {
                break;
            };
            g.remove(&oldest);
        }
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        let g = self.lock();
        Stats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: g.map.len() as u64,
            bytes: g.bytes as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCOPE: Scope = Scope {
        of: Key([1; 32]),
        version: Key([1; 32]),
        seq: 1,
    };

    fn key(s: &str) -> Key {
        let mut b = KeyBuilder::new("t");
        b.part(s.as_bytes());
        b.finish()
    }

    #[test]
    fn parts_are_length_prefixed() {
        let a = {
            let mut b = KeyBuilder::new("t");
            b.part(b"ab").part(b"c");
            b.finish()
        };
        let b = {
            let mut b = KeyBuilder::new("t");
            b.part(b"a").part(b"bc");
            b.finish()
        };
        assert_ne!(a, b);
        assert_ne!(KeyBuilder::new("x").finish(), KeyBuilder::new("y").finish());
    }

    #[test]
    fn hit_miss_and_least_recently_used_out_first() {
        let c = Answers::new(400);
        assert_eq!(c.get(&key("a")), None);
        c.put(SCOPE, key("a"), Bytes::from(vec![1; 100]));
        c.put(SCOPE, key("b"), Bytes::from(vec![2; 100]));
        c.put(SCOPE, key("c"), Bytes::from(vec![3; 100]));
        assert_eq!(c.get(&key("a")).unwrap()[0], 1, "a is now the newest");
        c.put(SCOPE, key("d"), Bytes::from(vec![4; 100]));
        c.put(SCOPE, key("e"), Bytes::from(vec![5; 100]));
        // 500 bytes asked for, 400 kept: b (least recently used) went.
        assert_eq!(c.get(&key("b")), None);
        for k in ["a", "c", "d", "e"] {
            assert!(c.get(&key(k)).is_some(), "{k}");
        }
        let s = c.stats();
        assert_eq!((s.entries, s.bytes), (4, 400));
        assert_eq!((s.hits, s.misses), (5, 2));
    }

    #[test]
    fn replacing_an_entry_keeps_the_byte_count_right_and_large_answers_are_not_kept() {
        let c = Answers::new(400);
        c.put(SCOPE, key("a"), Bytes::from(vec![1; 100]));
        c.put(SCOPE, key("a"), Bytes::from(vec![2; 50]));
        assert_eq!(c.stats().bytes, 50);
        assert_eq!(c.get(&key("a")).unwrap().len(), 50);
        c.put(SCOPE, key("big"), Bytes::from(vec![0; 201]));
        assert_eq!(c.get(&key("big")), None, "over half the bound");
        let none = Answers::new(0);
        none.put(SCOPE, key("a"), Bytes::from_static(b"x"));
        assert_eq!(none.get(&key("a")), None);
    }

    #[test]
    fn a_newer_version_of_a_scope_drops_the_older_answers_and_a_late_old_one_is_refused() {
        let c = Answers::new(10_000);
        let v = |n: u8, seq| Scope {
            of: Key([7; 32]),
            version: Key([n; 32]),
            seq,
        };
        let other = Scope {
            of: Key([8; 32]),
            version: Key([0; 32]),
            seq: 1,
        };
        c.put(v(1, 1), key("a1"), Bytes::from_static(b"a1"));
        c.put(v(1, 1), key("b1"), Bytes::from_static(b"b1"));
        c.put(other, key("o"), Bytes::from_static(b"o"));
        // A write: the first answer of the new state drops both old ones.
        c.put(v(2, 2), key("a2"), Bytes::from_static(b"a2"));
        assert_eq!(c.get(&key("a1")), None);
        assert_eq!(c.get(&key("b1")), None);
        assert!(c.get(&key("a2")).is_some());
        assert!(c.get(&key("o")).is_some(), "another scope is left alone");
        // A slow request made from the old state finishes late: not kept,
        // and the new state's answers stay.
        c.put(v(1, 1), key("late"), Bytes::from_static(b"late"));
        assert_eq!(c.get(&key("late")), None);
        assert!(c.get(&key("a2")).is_some());
        // Same sequence, other settings (a zone change): replaced.
        c.put(v(3, 2), key("a3"), Bytes::from_static(b"a3"));
        assert_eq!(c.get(&key("a2")), None);
        assert_eq!(c.stats().bytes, 3, "o and a3");
    }
}
