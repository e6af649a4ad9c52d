//! REPORTs of the simulated iCloud: `calendar-query` (ICLOUD.md §3.1),
//! `calendar-multiget` (§3.2), `sync-collection` (§3.3) and the refused
//! `free-busy-query` (§3.4).
//!
//! Reads the account; writes nothing except one-shot fault switches.

use chrono::{DateTime, Utc};

use super::handler::{collection_etag, groups, object_href, object_prop, Ctx, Req};
use super::quirks::{self, QueryVerdict};
use super::state::{Account, Calendar};
use super::xml::{self, Multistatus, PropGroup};
use super::Reply;
use crate::dav::report::{CalendarMultiget, CalendarQuery, SyncCollection};
use crate::dav::{parse_report, PropRequest, QName, Report};
use crate::ical::{ExpandOptions, TimeRange};

/// A REPORT on something that is not a calendar.
pub(crate) fn report_elsewhere(req: &Req) -> Reply {
    match parse_report(req.body) {
        Ok(Report::FreeBusyQuery(_)) => quirks::free_busy_query_rejected(),
        _ => Reply::empty(400),
    }
}

/// A REPORT on calendar `cal_id`.
pub(crate) fn report(acc: &Account, ctx: &Ctx, req: &Req, cal_id: &str) -> Reply {
    let Some(cal) = acc.calendar(cal_id) else {
        return Reply::empty(404);
    };
    match parse_report(req.body) {
        Ok(Report::CalendarQuery(q)) => calendar_query(ctx, cal, &q),
        Ok(Report::CalendarMultiget(m)) => multiget(ctx, cal, &m),
        Ok(Report::SyncCollection(s)) => sync_collection(acc, ctx, cal, &s),
        Ok(Report::FreeBusyQuery(_)) => quirks::free_busy_query_rejected(),
        Err(_) => Reply::empty(400),
    }
}

fn names(p: &PropRequest) -> Vec<QName> {
    match p {
        PropRequest::Prop(n) => n.clone(),
        // iCloud rejects allprop in PROPFIND; in REPORTs the sim treats it as getetag.
        PropRequest::AllProp | PropRequest::PropName => vec![QName::dav("getetag")],
    }
}

fn object_row(ms: &mut Multistatus, ctx: &Ctx, cal: &Calendar, name: &str, props: &[QName]) {
    if let Some(obj) = cal.objects.get(name) {
        ms.response(
            &object_href(ctx.dsid, &cal.spec.id, name),
            &groups(props, |n| object_prop(ctx, obj, n)),
        );
    }
}

fn far(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn calendar_query(ctx: &Ctx, cal: &Calendar, q: &CalendarQuery) -> Reply {
    let mut ms = Multistatus::new();
    if quirks::subscribed_calendar_has_no_events(cal.spec.kind)
        || ctx.faults.lists_empty(&cal.spec.id)
    {
        return Reply::xml(207, ms.finish());
    }
    let vevent = match quirks::calendar_query_verdict(&q.filter) {
        QueryVerdict::Run(v) => v,
        QueryVerdict::Empty => return Reply::xml(207, ms.finish()),
        QueryVerdict::ServerError => return Reply::empty(500),
    };
    if quirks::uid_text_match_unsupported(&vevent) {
        return Reply::xml(207, ms.finish());
    }
    let props = names(&q.props);
    let wants_etag = props.iter().any(|n| n == &QName::dav("getetag"));
    let etag = collection_etag(cal);
    ms.response(
        &super::handler::calendar_href(ctx.dsid, &cal.spec.id),
        &quirks::calendar_query_self_row(wants_etag.then_some(etag.as_str())),
    );
    let window = vevent.time_range.as_ref().map(|t| TimeRange {
        start: t.start.unwrap_or_else(|| far(-2_208_988_800)),
        end: t.end.unwrap_or_else(|| far(7_258_118_400)),
    });
    let opts = ExpandOptions::new(chrono_tz::UTC, 1);
    for (name, obj) in &cal.objects {
        let is_event = crate::ical::parse_lenient(obj.ics.as_bytes())
            .is_ok_and(|i| i.component == crate::ical::ComponentKind::Event);
        if !is_event {
            continue;
        }
        // QUIRK(iCloud) (§3.1): the unexpanded resource comes back whenever
        // any instance overlaps.
        let hit = match window {
            Some(w) => crate::ical::overlaps(obj.ics.as_bytes(), w, &opts).unwrap_or(false),
            None => true,
        };
        if hit {
            object_row(&mut ms, ctx, cal, name, &props);
        }
    }
    Reply::xml(207, ms.finish())
}

/// An href as a path (a full URL loses scheme and authority).
fn href_path(h: &str) -> &str {
    for scheme in ["http://", "https://"] {
        if let Some(rest) = h.strip_prefix(scheme) {
            return rest.find('/').map_or("/", |i| &rest[i..]);
        }
    }
    h
}

fn multiget(ctx: &Ctx, cal: &Calendar, m: &CalendarMultiget) -> Reply {
    let props = names(&m.props);
    let mut ms = Multistatus::new();
    let prefix = super::handler::calendar_href(ctx.dsid, &cal.spec.id);
    for h in &m.hrefs {
        let path = href_path(h.as_str());
        // QUIRK(iCloud) (§3.2): one listed href can come back 404 once.
        if ctx.faults.take_multiget_404(path) {
            ms.status_response(h.as_str(), 404);
            continue;
        }
        let obj = path
            .strip_prefix(prefix.as_str())
            .and_then(|name| cal.objects.get(name).map(|o| (name, o)));
        match obj {
            Some((name, o)) => ms.response(
                &object_href(ctx.dsid, &cal.spec.id, name),
                &groups(&props, |n| object_prop(ctx, o, n)),
            ),
            None => ms.status_response(h.as_str(), 404),
        }
    }
    Reply::xml(207, ms.finish())
}

fn sync_collection(acc: &Account, ctx: &Ctx, cal: &Calendar, s: &SyncCollection) -> Reply {
    let props = names(&s.props);
    let since = match &s.token {
        None => None,
        Some(t) => match quirks::parse_sync_token(&cal.spec.id, acc.epoch, t.as_str()) {
            Some(v) if v <= cal.version => Some(v),
            _ => match quirks::invalid_sync_token(ctx.faults.token_mode()) {
                Some(reply) => return reply,
                None => None,
            },
        },
    };
    let mut ms = Multistatus::new();
    let twice = ctx.faults.sync_rows_twice();
    if ctx.faults.lists_empty(&cal.spec.id) {
        // A bad listing: no member at all (a valid token gets an empty
        // delta, no token an empty full listing), with a fresh token.
        ms.sync_token(&acc.token(cal));
        return Reply::xml(207, ms.finish());
    }
    match since {
        None => {
            let all: Vec<String> = cal.objects.keys().cloned().collect();
            for name in quirks::repeat_sync_rows(all, twice) {
                object_row(&mut ms, ctx, cal, &name, &props);
            }
        }
        Some(v) => {
            let delta = acc.delta(cal, v);
            if !delta.changed.is_empty() || !delta.deleted.is_empty() {
                // QUIRK(iCloud) (§3.3): the collection itself is listed with an etag.
                ms.response(
                    &super::handler::calendar_href(ctx.dsid, &cal.spec.id),
                    &[PropGroup {
                        status: 200,
                        props: vec![xml::el(
                            xml::DAV,
                            "getetag",
                            &xml::esc(&collection_etag(cal)),
                        )],
                    }],
                );
                for name in quirks::repeat_sync_rows(delta.changed, twice) {
                    object_row(&mut ms, ctx, cal, &name, &props);
                }
                // QUIRK(iCloud) (§3.3): deletions are response-level 404s.
                for name in quirks::repeat_sync_rows(delta.deleted, twice) {
                    ms.status_response(&object_href(ctx.dsid, &cal.spec.id, &name), 404);
                }
            }
        }
    }
    ms.sync_token(&acc.token(cal));
    Reply::xml(207, ms.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn href_paths() {
        assert_eq!(href_path("http://h:1/a/b.ics"), "/a/b.ics");
        assert_eq!(href_path("/a/b.ics"), "/a/b.ics");
        assert_eq!(href_path("https://h"), "/");
    }
}
