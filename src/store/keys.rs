//! Key layouts of every sled tree. The only file that knows them.
//!
//! Keys are segments joined by `0x00`; no identifier may contain a NUL
//! (`ids` guarantees it), so prefixes never collide. Change-log sequence
//! numbers are big-endian so that byte order is numeric order.

#[cfg(test)]
use crate::ids::CalendarId;
use crate::ids::{CollectionKey, ConnectionId, EventUid, Href, ObjectName, TenantId, UserId};

/// Separator between key segments.
const SEP: u8 = 0;

fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(SEP);
        }
        out.extend_from_slice(p);
    }
    out
}

/// Two segments joined.
pub(crate) fn pair(a: &str, b: &str) -> Vec<u8> {
    join(&[a.as_bytes(), b.as_bytes()])
}

pub(crate) fn tenant(t: &TenantId) -> Vec<u8> {
    t.as_str().as_bytes().to_vec()
}

pub(crate) fn user(t: &TenantId, u: &UserId) -> Vec<u8> {
    join(&[t.as_str().as_bytes(), u.as_str().as_bytes()])
}

/// Prefix of every user key of a tenant.
pub(crate) fn users_of(t: &TenantId) -> Vec<u8> {
    let mut k = tenant(t);
    k.push(SEP);
    k
}

pub(crate) fn collection(c: &CollectionKey) -> Vec<u8> {
    join(&[
        c.tenant.as_str().as_bytes(),
        c.user.as_str().as_bytes(),
        c.calendar.as_str().as_bytes(),
    ])
}

/// The collection a `collections` key names.
pub(crate) fn parse_collection(k: &[u8]) -> Option<CollectionKey> {
    let mut parts = k.split(|b| *b == SEP);
    let (t, u, c) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let s = |b| std::str::from_utf8(b).ok();
    Some(CollectionKey::new(
        &TenantId::new(s(t)?).ok()?,
        &UserId::new(s(u)?).ok()?,
        &crate::ids::CalendarId::new(s(c)?).ok()?,
    ))
}

/// The collection and name an `objects` key names.
pub(crate) fn parse_object(k: &[u8]) -> Option<(CollectionKey, ObjectName)> {
    let mut parts = k.splitn(4, |b| *b == SEP);
    let (t, u, c, n) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let mut ck = t.to_vec();
    for p in [u, c] {
        ck.push(SEP);
        ck.extend_from_slice(p);
    }
    let name = ObjectName::new(std::str::from_utf8(n).ok()?).ok()?;
    Some((parse_collection(&ck)?, name))
}

/// Prefix of every collection key of a user.
pub(crate) fn collections_of(t: &TenantId, u: &UserId) -> Vec<u8> {
    let mut k = user(t, u);
    k.push(SEP);
    k
}

/// Prefix of every object (or uid, or change) key of a collection.
pub(crate) fn members_of(c: &CollectionKey) -> Vec<u8> {
    let mut k = collection(c);
    k.push(SEP);
    k
}

pub(crate) fn object(c: &CollectionKey, name: &ObjectName) -> Vec<u8> {
    let mut k = members_of(c);
    k.extend_from_slice(name.as_str().as_bytes());
    k
}

pub(crate) fn uid(c: &CollectionKey, uid: &EventUid) -> Vec<u8> {
    let mut k = members_of(c);
    k.extend_from_slice(uid.as_str().as_bytes());
    k
}

pub(crate) fn change(c: &CollectionKey, seq: u64) -> Vec<u8> {
    let mut k = members_of(c);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Prefix of the outbox index entries of one upstream object.
pub(crate) fn outbox_object(c: &ConnectionId, href: &Href) -> Vec<u8> {
    let mut k = join(&[c.as_str().as_bytes(), href.as_str().as_bytes()]);
    k.push(SEP);
    k
}

/// An outbox index entry: the object's prefix, then the queue id (big-endian).
pub(crate) fn outbox_object_entry(c: &ConnectionId, href: &Href, id: u64) -> Vec<u8> {
    let mut k = outbox_object(c, href);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Prefix of a collection's time-index entries in one bucket (see `rows`).
pub(crate) fn time_bucket(c: &CollectionKey, bucket: u32) -> Vec<u8> {
    let mut k = members_of(c);
    k.extend_from_slice(&bucket.to_be_bytes());
    k
}

/// One time-index entry: the bucket's prefix, then the object's name.
pub(crate) fn time_entry(c: &CollectionKey, bucket: u32, name: &ObjectName) -> Vec<u8> {
    let mut k = time_bucket(c, bucket);
    k.extend_from_slice(name.as_str().as_bytes());
    k
}

/// The last segment of a key under `prefix`, as UTF-8.
pub(crate) fn suffix<'a>(key: &'a [u8], prefix: &[u8]) -> Option<&'a str> {
    key.strip_prefix(prefix)
        .and_then(|rest| std::str::from_utf8(rest).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ck(c: &str) -> CollectionKey {
        CollectionKey::new(
            &TenantId::new("t").unwrap(),
            &UserId::new("u").unwrap(),
            &CalendarId::new(c).unwrap(),
        )
    }

    #[test]
    fn collection_prefixes_do_not_overlap() {
        // "primary" must not be a prefix match of "primary2"'s members.
        let a = members_of(&ck("primary"));
        let b = object(&ck("primary2"), &ObjectName::new("x.ics").unwrap());
        assert!(!b.starts_with(&a));
    }

    #[test]
    fn change_keys_sort_numerically() {
        let c = ck("primary");
        assert!(change(&c, 2) < change(&c, 256));
        assert!(change(&c, 255) < change(&c, 65_536));
    }
}
