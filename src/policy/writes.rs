//! R1–R3: may a client write here, and does the write go to iCloud?

use crate::store::{CollectionKind, Origin};

/// Why a write is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// R2: the object came from iCloud; it is a read-only blocked slot.
    BlockedSlotFromIcloud,
    /// R9: the availability calendar is derived.
    DerivedAvailability,
    /// R2/R7: conflict calendars are read-only copies.
    ConflictCalendar,
}

impl Denial {
    /// A sentence for the client, citing the rule.
    pub fn reason(self) -> &'static str {
        match self {
            Denial::BlockedSlotFromIcloud => "blocked slot from iCloud is read-only (R2)",
            Denial::DerivedAvailability => {
                "the availability calendar is derived and read-only (R9)"
            }
            Denial::ConflictCalendar => "conflict calendars are read-only copies (R2)",
        }
    }
}

/// Where an allowed write goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    /// Stays local: a blocked slot (R3), or `primary/` without a linked calendar.
    LocalOnly,
    /// A system event: stored, then forwarded to the primary iCloud calendar (R1).
    ToPrimary,
}

/// The decision on a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed; forwarded or not.
    Allow(Forward),
    /// Refused.
    Deny(Denial),
}

/// Why a collection refuses writes (its own properties or new members), if it does.
pub fn collection_denial(kind: &CollectionKind) -> Option<Denial> {
    match kind {
        CollectionKind::Availability => Some(Denial::DerivedAvailability),
        CollectionKind::Source => Some(Denial::ConflictCalendar),
        CollectionKind::Primary | CollectionKind::Blocked => None,
    }
}

/// A PUT or DELETE of an object (`existing` = the object's origin if it
/// exists) in a collection of `kind`; `primary_linked` = the user has a
/// primary iCloud calendar.
pub fn object_write(
    kind: &CollectionKind,
    existing: Option<&Origin>,
    primary_linked: bool,
) -> Verdict {
    if let Some(d) = collection_denial(kind) {
        return Verdict::Deny(d);
    }
    if matches!(existing, Some(Origin::Upstream { .. })) {
        return Verdict::Deny(Denial::BlockedSlotFromIcloud);
    }
    match kind {
        CollectionKind::Primary if primary_linked => Verdict::Allow(Forward::ToPrimary),
        // An existing system event stays one even if the link was removed:
        // its upstream copy must still be updated or deleted.
        CollectionKind::Primary if matches!(existing, Some(Origin::System { .. })) => {
            Verdict::Allow(Forward::ToPrimary)
        }
        _ => Verdict::Allow(Forward::LocalOnly),
    }
}

/// Why writes to an existing object are refused (R2, R9), if they are.
/// Whether the write would be forwarded does not matter here.
pub fn object_denial(kind: &CollectionKind, origin: &Origin) -> Option<Denial> {
    match object_write(kind, Some(origin), false) {
        Verdict::Deny(d) => Some(d),
        Verdict::Allow(_) => None,
    }
}

/// The upstream resource name of a system event: `<uid>.ics`, with
/// characters iCloud rejects (ICLOUD.md §4: spaces, `@`, non-ASCII)
/// replaced; a hash keeps different UIDs apart.
pub fn upstream_name(uid: &str) -> String {
    let clean: String = uid
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect();
    if clean == uid {
        format!("{clean}.ics")
    } else {
        use sha2::{Digest, Sha256};
        let h = Sha256::digest(uid.as_bytes());
        format!("{clean}-{}.ics", hex::encode(&h[..4]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ConnectionId, ETag, Href};

    fn upstream() -> Origin {
        Origin::Upstream {
            connection: ConnectionId::new("c").unwrap(),
            href: Href::new("/x.ics"),
            etag: ETag::new("1"),
        }
    }

    #[test]
    fn r1_new_event_in_linked_primary_is_forwarded() {
        assert_eq!(
            object_write(&CollectionKind::Primary, None, true),
            Verdict::Allow(Forward::ToPrimary)
        );
        assert_eq!(
            object_write(&CollectionKind::Primary, None, false),
            Verdict::Allow(Forward::LocalOnly)
        );
    }

    #[test]
    fn r2_icloud_events_are_read_only_everywhere() {
        for kind in [CollectionKind::Primary, CollectionKind::Blocked] {
            assert_eq!(
                object_write(&kind, Some(&upstream()), true),
                Verdict::Deny(Denial::BlockedSlotFromIcloud)
            );
        }
        assert_eq!(
            object_write(&CollectionKind::Source, None, true),
            Verdict::Deny(Denial::ConflictCalendar)
        );
        assert_eq!(
            object_write(&CollectionKind::Availability, None, true),
            Verdict::Deny(Denial::DerivedAvailability)
        );
    }

    #[test]
    fn r3_blocked_slots_never_go_upstream() {
        assert_eq!(
            object_write(&CollectionKind::Blocked, None, true),
            Verdict::Allow(Forward::LocalOnly)
        );
    }

    #[test]
    fn upstream_names_are_safe_and_distinct() {
        assert_eq!(upstream_name("ABC-123"), "ABC-123.ics");
        let a = upstream_name("a@b.com");
        let b = upstream_name("a_b.com");
        assert!(a.starts_with("a-b-com-") && a != b, "{a} {b}");
        assert!(upstream_name("ümlaut").is_ascii());
    }
}
