//! calendar-query (RFC 4791 §7.8) on a collection: which objects match
//! (`select`: the time index's candidates, each tested on what the store
//! parsed and expanded when it was written) and the answer, listed afresh
//! or patched from the members of the previous answer (`patched`).

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::answers;
use crate::dav::report::{CalendarQuery, CompFilter};
use crate::dav::{multistatus, Precondition};
use crate::ical::{self, ExpandOptions, Occupied, TimeRange};
use crate::ids::{ObjectName, SyncToken};
use crate::store::{CollectionKey, CollectionKind, CollectionRecord, ObjectMeta, Store};

use super::super::{filter, Ctx, Error, Reply, Result};
use super::{budget, object_part, Listing};

/// The objects a query must look at, with their metadata: the time
/// index's candidates when the filter requires a window, else all.
fn members(
    store: &Store,
    key: &CollectionKey,
    filter: &CompFilter,
) -> Result<Vec<(ObjectName, ObjectMeta)>> {
    let Some(w) = filter::required_window(filter) else {
        return Ok(store.metas(key)?);
    };
    let mut out = Vec::new();
    for name in store.candidates(key, w)? {
        if let Some(meta) = store.object_meta(key, &name)? {
            out.push((name, meta));
        }
    }
    Ok(out)
}

/// calendar-query: candidates from the time index; each one tested on
/// what the store parsed and expanded when it was written (its names or
/// tree, its time answers). Only an object whose answers cannot tell (a
/// window outside the kept one, too many instances) is expanded here.
/// With the answer, whether it may be kept under the request's key: not
/// when it was patched up to a state newer than the one the key names (a
/// write landed after the request read the collection). `fingerprint` is
/// the owner's settings' (`BusySettings::fingerprint`), read once by the
/// caller for the answer's key.
pub(super) fn query(
    ctx: &Ctx<'_>,
    key: &CollectionKey,
    col: &CollectionRecord,
    q: &CalendarQuery,
    opts: &ExpandOptions,
    fingerprint: u64,
    identity: answers::Key,
) -> Result<(Reply, bool)> {
    if !q.filter.name.eq_ignore_ascii_case("VCALENDAR") {
        return Err(Error::Invalid {
            reason: "the top-level comp-filter must name VCALENDAR",
            precondition: Some(Precondition::ValidFilter),
        });
    }
    if col.kind == CollectionKind::Availability {
        let mut ranges = Vec::new();
        time_ranges(&q.filter, &mut ranges);
        if let Some((start, end)) = q.data.as_ref().and_then(|d| d.expand) {
            ranges.push((Some(start), Some(end)));
        }
        check_window(ctx, &ranges)?;
    }
    let l = Listing::new(key, col, &q.props, q.data.as_ref(), opts);
    let base = ctx.app.bases.get(&identity);
    let members = match base.as_deref() {
        Some(b) => patched(ctx, &l, &q.filter, fingerprint, b)?,
        None => None,
    };
    let read = (Store::sync_token(col), col.seq);
    let (members, state) = match members {
        Some(patched) => {
            ctx.app.bases.note_patched();
            patched
        }
        None => {
            let mut m = Vec::new();
            for (name, meta) in select(&ctx.app.store, key, &q.filter, opts, fingerprint)? {
                let part = object_part(ctx, &l, name.clone(), meta)?;
                m.push((Arc::from(name.as_str()), Part::New(part)));
            }
            // Listed at the state this request read; a write that landed
            // while it listed is in the change log after that state, so
            // the next patch tests its object again.
            (m, read.clone())
        }
    };
    let previous = base.as_deref();
    let (body, at) = multistatus::assemble_indexed(
        members.iter().map(|(_, p)| match p {
            Part::Kept(r) => previous.map_or(&[][..], |b| b.part(r)),
            Part::New(bytes) => bytes.as_ref(),
        }),
        None,
    );
    let body = Bytes::from(body);
    let keep = state == read;
    let base = answers::Base {
        state: state.0.as_str().to_owned(),
        seq: state.1,
        body: body.clone(),
        members: members.into_iter().map(|(n, _)| n).zip(at).collect(),
    };
    ctx.app.bases.put(identity, Arc::new(base));
    Ok((Reply::multistatus_bytes(body), keep))
}

/// One member's part in an answer being made: where it lies in the
/// previous answer's bytes, or rendered now.
enum Part {
    Kept(Range<usize>),
    New(Bytes),
}

/// An answer's members (name, part), in name order.
type Members = Vec<(Arc<str>, Part)>;

/// A collection's state: its sync token and change sequence.
type State = (SyncToken, u64);

/// The members of a calendar-query's answer made from the members of its
/// answer at an earlier state of the collection (`base`): those less
/// every object the change log names since, plus the ones of them that
/// exist and match now, in name order — what [`select`] lists, since
/// whether an object matches depends on nothing but the object and what
/// the base's identity holds (the request, the owner's settings, the
/// window). With them, the state they are of: the collection's newest,
/// which may be newer than the one the request read (a write landed
/// since). `None` when the log cannot tell (the base's state is older
/// than the log keeps, or of an earlier incarnation), or when so much
/// changed that listing afresh costs less.
fn patched(
    ctx: &Ctx<'_>,
    l: &Listing<'_>,
    filter: &CompFilter,
    fingerprint: u64,
    base: &answers::Base,
) -> Result<Option<(Members, State)>> {
    let store = &ctx.app.store;
    let since = SyncToken::new(base.state.clone());
    let delta = match store.changes_since(l.key, Some(&since)) {
        Ok(d) => d,
        Err(crate::store::Error::InvalidSyncToken) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(token) = delta.token.clone() else {
        return Ok(None);
    };
    let touched = delta.changed.len() + delta.deleted.len();
    if touched * 4 > base.members.len() + 64 {
        return Ok(None);
    }
    // Sorted, searched by halving: a few names against every member, and
    // no hash of each member's name (SipHash was 3 % of the server's CPU
    // under load).
    let mut gone: Vec<&str> = delta
        .changed
        .iter()
        .chain(&delta.deleted)
        .map(ObjectName::as_str)
        .collect();
    gone.sort_unstable();
    let mut fresh = Vec::new();
    let test = Test::new(store, l.key, filter, l.opts, fingerprint);
    for (name, meta) in select_among(&test, &delta.changed)? {
        let part = object_part(ctx, l, name.clone(), meta)?;
        fresh.push((Arc::<str>::from(name.as_str()), Part::New(part)));
    }
    // Both lists are in name order (the log's names are sorted): merge.
    let kept = base
        .members
        .iter()
        .filter(|(n, _)| gone.binary_search(&&**n).is_err());
    let mut out = Vec::with_capacity(base.members.len() + fresh.len());
    let mut fresh = fresh.into_iter().peekable();
    for (name, at) in kept {
        while let Some(f) = fresh.next_if(|f| f.0 < *name) {
            out.push(f);
        }
        out.push((name.clone(), Part::Kept(at.clone())));
    }
    out.extend(fresh);
    Ok(Some((out, (token, delta.seq))))
}

/// A time range's start and end (`None` = open).
type Span = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Every time range a comp-filter tree names.
fn time_ranges(f: &CompFilter, out: &mut Vec<Span>) {
    if let Some(tr) = &f.time_range {
        out.push((tr.start, tr.end));
    }
    for c in &f.comp_filters {
        time_ranges(c, out);
    }
}

/// `availability/` holds busy blocks inside the sync window only (`[sync]
/// past_days`, `future_days`). A time range whose start or end lies
/// outside it is refused with `C:min-date-time` or `C:max-date-time` (RFC
/// 4791 §7.8; the collection advertises both, §5.2.6–7), never answered
/// with a silently empty or partial list. free-busy-query and the other
/// collections expand outside the window and need no such limit.
fn check_window(ctx: &Ctx<'_>, ranges: &[Span]) -> Result<()> {
    let w = ctx.app.views.window_at(Utc::now());
    let day = |t: DateTime<Utc>| t.format("%Y-%m-%d").to_string();
    for (start, end) in ranges {
        let values = start.iter().chain(end.iter());
        for t in values {
            let precondition = if *t < w.start {
                Precondition::MinDateTime
            } else if *t > w.end {
                Precondition::MaxDateTime
            } else {
                continue;
            };
            return Err(Error::Forbidden {
                reason: format!(
                    "the time range reaches outside the sync window: availability/ holds busy time \
                     from {} to {} only (serve --past-days / --future-days); use free-busy-query \
                     for other times",
                    day(w.start),
                    day(w.end)
                ),
                precondition,
            });
        }
    }
    Ok(())
}

/// The objects of a collection a calendar-query filter matches, in name
/// order: the time index's candidates, each tested on what the store
/// parsed and expanded when it was written. Equal to evaluating
/// [`filter::matches`] on every object (the property test checks it).
/// `fingerprint`: the owner's settings' (see [`query`]).
pub(crate) fn select(
    store: &Store,
    key: &CollectionKey,
    filter: &CompFilter,
    opts: &ExpandOptions,
    fingerprint: u64,
) -> Result<Vec<(ObjectName, ObjectMeta)>> {
    let test = Test::new(store, key, filter, opts, fingerprint);
    let mut out = Vec::new();
    for (name, meta) in members(store, key, filter)? {
        if test.matches(&name, &meta)? {
            out.push((name, meta));
        }
    }
    Ok(out)
}

/// Of `names`, the objects that exist now and pass `test`, in the order
/// given (no time index: the names are few).
fn select_among(test: &Test<'_>, names: &[ObjectName]) -> Result<Vec<(ObjectName, ObjectMeta)>> {
    let mut out = Vec::new();
    for name in names {
        if let Some(meta) = test.store.object_meta(test.key, name)? {
            if test.matches(name, &meta)? {
                out.push((name.clone(), meta));
            }
        }
    }
    Ok(out)
}

/// One calendar-query filter, tested object by object on what the store
/// parsed and expanded when each was written.
struct Test<'a> {
    store: &'a Store,
    key: &'a CollectionKey,
    filter: &'a CompFilter,
    opts: &'a ExpandOptions,
    /// The owner's settings the stored time answers must have been made
    /// with to be used.
    fingerprint: u64,
    tree_needed: bool,
}

impl<'a> Test<'a> {
    fn new(
        store: &'a Store,
        key: &'a CollectionKey,
        filter: &'a CompFilter,
        opts: &'a ExpandOptions,
        fingerprint: u64,
    ) -> Self {
        Self {
            store,
            key,
            filter,
            opts,
            fingerprint,
            tree_needed: filter::needs_tree(filter),
        }
    }

    fn matches(&self, name: &ObjectName, meta: &ObjectMeta) -> Result<bool> {
        let (store, key) = (self.store, self.key);
        let mut derived: Option<Option<Occupied>> = None;
        let mut time = |w: TimeRange| -> ical::Result<bool> {
            let d = derived.get_or_insert_with(|| store.occupied(key, name).ok().flatten());
            if let Some(answer) = d
                .as_ref()
                .filter(|d| d.settings == self.fingerprint)
                .and_then(|d| d.overlaps(w))
            {
                return Ok(answer);
            }
            match store.object_body(key, name) {
                Ok(Some(body)) => ical::overlaps(&body, w, self.opts),
                _ => Ok(false),
            }
        };
        let hit = if self.tree_needed {
            let tree = store.parsed(key, name)?.unwrap_or_default();
            filter::matches_tree(tree.roots(), self.filter, &mut time)
        } else {
            filter::matches_shape(&meta.shape, self.filter, &mut time)
        };
        hit.map_err(budget)
    }
}
