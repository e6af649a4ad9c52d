//! Hrefs of local resources: building them, and resolving an href a client
//! sent (multiget) back to an object of a collection.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

use crate::ids::{Href, ObjectName, TenantId, UserId};
use crate::store::CollectionKey;

/// Characters escaped in a path segment (RFC 3986 pchar complement).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// `/dav/`
pub fn root() -> Href {
    Href::new("/dav/")
}

/// `/dav/{tenant}/{user}/` — principal and calendar home.
pub fn home(t: &TenantId, u: &UserId) -> Href {
    Href::new(format!("/dav/{t}/{u}/"))
}

/// `/dav/{tenant}/{user}/{calendar}/`
pub fn collection(key: &CollectionKey) -> Href {
    Href::new(format!(
        "/dav/{}/{}/{}/",
        key.tenant, key.user, key.calendar
    ))
}

/// `/dav/{tenant}/{user}/{calendar}/{name}` with the name percent-encoded.
pub fn object(key: &CollectionKey, name: &ObjectName) -> Href {
    Href::new(format!(
        "{}{}",
        collection(key),
        utf8_percent_encode(name.as_str(), SEGMENT)
    ))
}

/// Resolves a client href (path or absolute URL) to an object name of
/// `key`'s collection. `None` when it points elsewhere.
pub fn object_in(key: &CollectionKey, href: &Href) -> Option<ObjectName> {
    let raw = href.as_str().trim();
    let path = match raw.find("://") {
        Some(i) => {
            let after = &raw[i + 3..];
            &after[after.find('/')?..]
        }
        None => raw,
    };
    let base = collection(key);
    let rest = path.strip_prefix(base.as_str()).or_else(|| {
        // Tolerate a different percent-encoding of the collection part.
        let decoded = percent_decode_str(path).decode_utf8().ok()?;
        let idx = decoded.strip_prefix(base.as_str())?.len();
        Some(&path[path.len() - idx..])
    })?;
    let name = percent_decode_str(rest).decode_utf8().ok()?;
    ObjectName::new(name.into_owned()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::CalendarId;

    fn key() -> CollectionKey {
        CollectionKey::new(
            &TenantId::new("t").unwrap(),
            &UserId::new("u").unwrap(),
            &CalendarId::new("primary").unwrap(),
        )
    }

    #[test]
    fn object_href_round_trips() {
        let n = ObjectName::new("a b@c.ics").unwrap();
        let h = object(&key(), &n);
        assert_eq!(h.as_str(), "/dav/t/u/primary/a%20b@c.ics");
        assert_eq!(object_in(&key(), &h), Some(n.clone()));
        let abs = Href::new(format!("http://localhost:5233{h}"));
        assert_eq!(object_in(&key(), &abs), Some(n));
    }

    #[test]
    fn foreign_hrefs_do_not_resolve() {
        assert_eq!(
            object_in(&key(), &Href::new("/dav/t/u/blocked/x.ics")),
            None
        );
        assert_eq!(object_in(&key(), &Href::new("/dav/t/u/primary/")), None);
        assert_eq!(object_in(&key(), &Href::new("/dav/t/u/primary/a/b")), None);
    }
}
