//! Request dispatch of the simulated iCloud: path → route, then PROPFIND,
//! GET, PUT, DELETE and friends over the in-memory [`Account`]. REPORTs
//! live in `sim::report`.
//!
//! Pure over its inputs (account, faults, request); the HTTP shell in
//! `sim::mod` owns sockets, auth and fault-driven failures.

use super::faults::Faults;
use super::quirks;
use super::state::{Account, Calendar, Kind, Object};
use super::xml::{self, PropGroup, CALDAV, CS, DAV, ICAL};
use super::Reply;
use crate::dav::{parse_propfind, PropFind, QName};
use crate::ids::ETag;

/// What the handler needs to know about the server it runs in.
pub(crate) struct Ctx<'a> {
    pub dsid: &'a str,
    pub apple_id: &'a str,
    pub partition_url: &'a str,
    pub faults: &'a Faults,
}

/// One request, already collected.
pub(crate) struct Req<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub depth: Option<&'a str>,
    pub body: &'a [u8],
    pub if_match: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
}

/// The resource a path names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    Root,
    WellKnown,
    Principal,
    Home,
    Calendar(&'a str),
    Object(&'a str, &'a str),
    Unknown,
}

/// Maps a request path (query already removed) to a [`Route`].
pub(crate) fn route<'a>(dsid: &str, path: &'a str) -> Route<'a> {
    if path == "/" {
        return Route::Root;
    }
    if path.starts_with("/.well-known/caldav") {
        return Route::WellKnown;
    }
    let Some(rest) = path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(dsid))
        .and_then(|p| p.strip_prefix('/'))
    else {
        return Route::Unknown;
    };
    if rest == "principal" || rest == "principal/" {
        return Route::Principal;
    }
    let Some(cals) = rest.strip_prefix("calendars") else {
        return Route::Unknown;
    };
    let cals = match cals {
        "" | "/" => return Route::Home,
        c => match c.strip_prefix('/') {
            Some(c) => c,
            None => return Route::Unknown,
        },
    };
    let mut parts = cals.splitn(2, '/');
    let cal = parts.next().unwrap_or("");
    match parts.next() {
        None | Some("") => Route::Calendar(cal),
        Some(name) if !name.contains('/') => Route::Object(cal, name),
        Some(_) => Route::Unknown,
    }
}

/// Answers one authenticated request.
pub(crate) fn handle(acc: &mut Account, ctx: &Ctx, req: &Req) -> Reply {
    if quirks::path_has_empty_segment(req.path) {
        return quirks::bad_request_html();
    }
    let xml_method = matches!(req.method, "PROPFIND" | "REPORT");
    if xml_method && ctx.faults.whitespace_rejected() && quirks::xml_body_has_leading_junk(req.body)
    {
        return quirks::bad_request_html();
    }
    let r = route(ctx.dsid, req.path);
    match (req.method, &r) {
        ("OPTIONS", _) => options(),
        ("PROPFIND", _) => propfind(acc, ctx, req, &r),
        ("REPORT", Route::Calendar(cal)) => super::report::report(acc, ctx, req, cal),
        ("REPORT", _) => super::report::report_elsewhere(req),
        ("GET" | "HEAD", Route::Root) => quirks::bad_request_html(),
        ("GET" | "HEAD", Route::Object(cal, name)) => get(acc, ctx, cal, name),
        ("PUT", Route::Object(cal, name)) => put(acc, ctx, req, cal, name),
        ("DELETE", Route::Object(cal, name)) => delete(acc, req, cal, name),
        ("MOVE", Route::Object(..)) => quirks::move_refused(),
        (_, Route::WellKnown) => {
            Reply::empty(301).header("location", format!("/{}/principal/", ctx.dsid))
        }
        (_, Route::Unknown) => Reply::empty(404),
        (_, Route::Root) => quirks::bad_request_html(),
        // DAV methods iCloud knows but the sim does not support on this
        // resource (MKCALENDAR, PROPPATCH, COPY, collection DELETE/PUT, …).
        (
            "GET" | "HEAD" | "PUT" | "DELETE" | "MOVE" | "COPY" | "MKCALENDAR" | "MKCOL"
            | "PROPPATCH" | "ACL" | "LOCK" | "UNLOCK" | "POST",
            _,
        ) => Reply::empty(403),
        _ => Reply::empty(501),
    }
}

fn options() -> Reply {
    Reply::empty(200)
        .header(
            "dav",
            "1, 3, access-control, calendar-access, calendar-schedule, calendar-auto-schedule, \
             calendarserver-sharing, calendarserver-subscribed, calendarserver-home-sync",
        )
        .header(
            "allow",
            "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, REPORT, MOVE, MKCALENDAR, PROPPATCH",
        )
}

pub(crate) fn principal_path(dsid: &str) -> String {
    format!("/{dsid}/principal/")
}

pub(crate) fn calendar_href(dsid: &str, cal: &str) -> String {
    format!("/{dsid}/calendars/{cal}/")
}

pub(crate) fn object_href(dsid: &str, cal: &str, name: &str) -> String {
    format!("/{dsid}/calendars/{cal}/{name}")
}

/// Quoted ETag of a collection: base-36 milliseconds of its last change.
pub(crate) fn collection_etag(cal: &Calendar) -> String {
    format!("\"{}\"", quirks::etag_from_millis(cal.modified_ms))
}

/// Splits requested names into a 200 group (values) and a 404 group.
pub(crate) fn groups(
    names: &[QName],
    mut value: impl FnMut(&QName) -> Option<String>,
) -> Vec<PropGroup> {
    let mut ok = Vec::new();
    let mut missing = Vec::new();
    for n in names {
        match value(n) {
            Some(inner) => ok.push(xml::prop_el(n, &inner)),
            None => missing.push(xml::prop_el(n, "")),
        }
    }
    vec![
        PropGroup {
            status: 200,
            props: ok,
        },
        PropGroup {
            status: 404,
            props: missing,
        },
    ]
}

fn is(n: &QName, ns: &str, local: &str) -> bool {
    n.ns == ns && n.local == local
}

/// Object data as served (with the duplicated DTSTAMP when that fault is on).
pub(crate) fn served_ics(ctx: &Ctx, obj: &Object) -> String {
    if ctx.faults.dtstamp_twice() {
        let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        quirks::duplicate_dtstamp(&obj.ics, &now)
    } else {
        obj.ics.clone()
    }
}

/// Inner XML of an object property; `None` = 404.
pub(crate) fn object_prop(ctx: &Ctx, obj: &Object, n: &QName) -> Option<String> {
    if is(n, DAV, "getetag") {
        Some(xml::esc(&format!("\"{}\"", obj.etag)))
    } else if is(n, DAV, "getcontenttype") {
        Some("text/calendar; charset=utf-8".into())
    } else if is(n, CALDAV, "calendar-data") {
        Some(xml::cdata(&served_ics(ctx, obj)))
    } else {
        None
    }
}

fn common_prop(ctx: &Ctx, n: &QName) -> Option<String> {
    if is(n, DAV, "current-user-principal") {
        Some(xml::href(&principal_path(ctx.dsid)))
    } else {
        None
    }
}

fn principal_prop(acc: &Account, ctx: &Ctx, n: &QName) -> Option<String> {
    let principal = principal_path(ctx.dsid);
    if is(n, DAV, "principal-URL") {
        Some(xml::href(&principal))
    } else if is(n, DAV, "displayname") {
        Some(xml::esc(&acc.owner_name))
    } else if is(n, DAV, "resourcetype") {
        Some("<principal/>".into())
    } else if is(n, CALDAV, "calendar-home-set") {
        Some(xml::href(&quirks::calendar_home_set_url(
            ctx.partition_url,
            ctx.dsid,
        )))
    } else if is(n, CALDAV, "calendar-user-address-set") {
        // ICLOUD.md §2.1: several hrefs, the preferred mailto not first.
        let mut s = xml::href(&format!("/{}/principal", ctx.dsid));
        s.push_str(&xml::href(&format!("urn:uuid:{}", ctx.dsid)));
        for a in &acc.aliases {
            s.push_str(&xml::href(&format!("mailto:{a}")));
        }
        s.push_str(&format!(
            "<href xmlns=\"DAV:\" preferred=\"1\">mailto:{}</href>",
            xml::esc(ctx.apple_id)
        ));
        Some(s)
    } else if is(n, CALDAV, "schedule-inbox-URL") {
        Some(xml::href(&calendar_href(ctx.dsid, "inbox")))
    } else if is(n, CALDAV, "schedule-outbox-URL") {
        Some(xml::href(&calendar_href(ctx.dsid, "outbox")))
    } else {
        common_prop(ctx, n)
    }
}

fn privileges(kind: Kind, read_only: bool) -> String {
    quirks::privilege_set(kind, read_only)
        .into_iter()
        .map(|(ns, l)| xml::privilege(ns, l))
        .collect()
}

fn home_prop(acc: &Account, ctx: &Ctx, n: &QName) -> Option<String> {
    if is(n, DAV, "displayname") {
        Some(xml::esc(&acc.owner_name))
    } else if is(n, DAV, "resourcetype") {
        Some("<collection/>".into())
    } else if is(n, CALDAV, "supported-calendar-component-set") {
        Some(["VEVENT", "VTODO", "VFREEBUSY"].map(xml::comp).concat())
    } else if is(n, CS, "getctag") || is(n, DAV, "sync-token") {
        Some(xml::esc(&acc.home_token()))
    } else if is(n, DAV, "current-user-privilege-set") {
        Some(privileges(Kind::Events, false))
    } else {
        common_prop(ctx, n)
    }
}

fn report_set() -> String {
    let reports = [
        (DAV, "acl-principal-prop-set"),
        (DAV, "principal-match"),
        (DAV, "principal-property-search"),
        (DAV, "sync-collection"),
        (CALDAV, "calendar-query"),
        (CALDAV, "calendar-multiget"),
        (CALDAV, "free-busy-query"),
        (CS, "calendar-search"),
    ];
    reports
        .iter()
        .map(|(ns, l)| {
            let inner = if *ns == DAV {
                format!("<{l}/>")
            } else {
                xml::el(ns, l, "")
            };
            format!("<supported-report xmlns=\"DAV:\"><report>{inner}</report></supported-report>")
        })
        .collect()
}

/// Inner XML of a calendar (home member) property; `None` = 404.
pub(crate) fn calendar_prop(acc: &Account, ctx: &Ctx, cal: &Calendar, n: &QName) -> Option<String> {
    let kind = cal.spec.kind;
    let calendarish = matches!(kind, Kind::Events | Kind::Tasks | Kind::Subscribed);
    if is(n, DAV, "displayname") {
        calendarish
            .then(|| cal.spec.displayname.as_deref().map(xml::esc))
            .flatten()
    } else if is(n, DAV, "resourcetype") {
        let mut s = String::from("<collection/>");
        s.push_str(&match kind {
            Kind::Events | Kind::Tasks => xml::el(CALDAV, "calendar", ""),
            Kind::Subscribed => xml::el(CS, "subscribed", ""),
            Kind::Inbox => xml::el(CALDAV, "schedule-inbox", ""),
            Kind::Outbox => xml::el(CALDAV, "schedule-outbox", ""),
            Kind::Notification => xml::el(CS, "notification", ""),
        });
        if cal.spec.shared_owner {
            s.push_str(&xml::el(CS, "shared-owner", ""));
        }
        Some(s)
    } else if is(n, CALDAV, "supported-calendar-component-set") {
        match kind {
            Kind::Events | Kind::Subscribed | Kind::Inbox => Some(xml::comp("VEVENT")),
            Kind::Tasks => Some(xml::comp("VTODO")),
            Kind::Outbox => Some([xml::comp("VEVENT"), xml::comp("VTODO")].concat()),
            Kind::Notification => None,
        }
    } else if is(n, CS, "getctag") || is(n, DAV, "sync-token") {
        (kind != Kind::Outbox).then(|| xml::esc(&acc.token(cal)))
    } else if is(n, DAV, "getetag") {
        Some(xml::esc(&collection_etag(cal)))
    } else if is(n, ICAL, "calendar-color") {
        calendarish
            .then(|| cal.spec.color.as_deref().map(xml::esc))
            .flatten()
    } else if is(n, ICAL, "calendar-order") {
        cal.spec.order.map(|o| o.to_string())
    } else if is(n, DAV, "current-user-privilege-set") {
        Some(privileges(kind, cal.spec.read_only))
    } else if is(n, DAV, "supported-report-set") {
        calendarish.then(report_set)
    } else if is(n, CS, "source") {
        cal.spec
            .source
            .as_deref()
            .map(|s| xml::href(&super::published::source_url(s, ctx.partition_url)))
    } else if is(n, DAV, "owner") {
        Some(xml::href(&principal_path(ctx.dsid)))
    } else {
        common_prop(ctx, n)
    }
}

fn propfind(acc: &Account, ctx: &Ctx, req: &Req, r: &Route) -> Reply {
    let names = match parse_propfind(req.body) {
        Ok(PropFind::Prop(n)) => n,
        Ok(PropFind::AllProp { .. }) | Ok(PropFind::PropName) => return quirks::allprop_rejected(),
        Err(_) => return Reply::empty(400),
    };
    let depth = req.depth.map(str::trim).unwrap_or("infinity");
    let mut ms = xml::Multistatus::new();
    match r {
        Route::Root => {
            if quirks::root_depth_one_rejected(Some(depth)) {
                return Reply::empty(400);
            }
            ms.response("/", &groups(&names, |n| common_prop(ctx, n)));
        }
        Route::Principal => {
            ms.response(
                &principal_path(ctx.dsid),
                &groups(&names, |n| principal_prop(acc, ctx, n)),
            );
        }
        Route::Home => {
            if depth == "infinity" {
                return Reply::empty(403);
            }
            ms.response(
                &format!("/{}/calendars/", ctx.dsid),
                &groups(&names, |n| home_prop(acc, ctx, n)),
            );
            if depth == "1" {
                for cal in &acc.calendars {
                    ms.response(
                        &calendar_href(ctx.dsid, &cal.spec.id),
                        &groups(&names, |n| calendar_prop(acc, ctx, cal, n)),
                    );
                }
            }
        }
        Route::Calendar(id) => {
            let Some(cal) = acc.calendar(id) else {
                return Reply::empty(404);
            };
            if depth == "infinity" {
                return Reply::empty(403);
            }
            ms.response(
                &calendar_href(ctx.dsid, id),
                &groups(&names, |n| calendar_prop(acc, ctx, cal, n)),
            );
            if depth == "1" && !ctx.faults.lists_empty(id) {
                for (name, obj) in &cal.objects {
                    ms.response(
                        &object_href(ctx.dsid, id, name),
                        &groups(&names, |n| object_prop(ctx, obj, n)),
                    );
                }
            }
        }
        Route::Object(cal, name) => {
            let Some(obj) = acc.calendar(cal).and_then(|c| c.objects.get(*name)) else {
                return Reply::empty(404);
            };
            ms.response(
                &object_href(ctx.dsid, cal, name),
                &groups(&names, |n| object_prop(ctx, obj, n)),
            );
        }
        Route::WellKnown => {
            return Reply::empty(301).header("location", principal_path(ctx.dsid));
        }
        Route::Unknown => return Reply::empty(404),
    }
    Reply::xml(207, ms.finish())
}

fn get(acc: &Account, ctx: &Ctx, cal: &str, name: &str) -> Reply {
    match acc.calendar(cal).and_then(|c| c.objects.get(name)) {
        Some(obj) => Reply::bytes(200, served_ics(ctx, obj).into_bytes())
            .header("content-type", "text/calendar; charset=utf-8")
            .header("etag", format!("\"{}\"", obj.etag)),
        None => Reply::empty(404),
    }
}

/// `If-Match` against the current etag (`None` = resource absent).
fn if_match_fails(header: Option<&str>, current: Option<&str>) -> bool {
    let Some(h) = header else {
        return false;
    };
    let Some(cur) = current else {
        return true;
    };
    !h.split(',')
        .any(|t| t.trim() == "*" || ETag::new(t.trim()).as_str() == cur)
}

fn put(acc: &mut Account, ctx: &Ctx, req: &Req, cal_id: &str, name: &str) -> Reply {
    let Some(cal) = acc.calendar(cal_id) else {
        return Reply::empty(404);
    };
    let kind = cal.spec.kind;
    if cal.spec.read_only || !matches!(kind, Kind::Events | Kind::Tasks) {
        return Reply::empty(403);
    }
    let current = cal.objects.get(name).map(|o| o.etag.clone());
    if req.if_none_match.is_some_and(|v| v.trim() == "*") && current.is_some() {
        return Reply::empty(412);
    }
    if if_match_fails(req.if_match, current.as_deref()) {
        return Reply::empty(412);
    }
    let Ok(text) = std::str::from_utf8(req.body) else {
        return Reply::empty(403);
    };
    if quirks::has_method_property(text) {
        return Reply::empty(400);
    }
    // ICLOUD.md §4: invalid data can produce a bare 403.
    let Ok(index) = crate::ical::parse_lenient(req.body) else {
        return Reply::empty(403);
    };
    if quirks::component_not_allowed(kind, index.component) {
        return Reply::empty(403);
    }
    if index.component == crate::ical::ComponentKind::Event && quirks::vevent_without_end(text) {
        return Reply::empty(404);
    }
    let uid = index.uid.as_str().to_string();
    if quirks::uid_conflict(&acc.uid_holders(&uid), cal_id, name) {
        return Reply::empty(409);
    }
    let Some((etag, created)) = acc.store(cal_id, name, super::state::to_crlf(text), uid) else {
        return Reply::empty(404);
    };
    let reply = Reply::empty(if created { 201 } else { 204 });
    if ctx.faults.etag_on_put() {
        reply.header("etag", format!("\"{etag}\""))
    } else {
        reply
    }
}

fn delete(acc: &mut Account, req: &Req, cal: &str, name: &str) -> Reply {
    let current = acc
        .calendar(cal)
        .and_then(|c| c.objects.get(name))
        .map(|o| o.etag.clone());
    let Some(cur) = current else {
        return Reply::empty(404);
    };
    if if_match_fails(req.if_match, Some(&cur)) {
        return Reply::empty(412);
    }
    acc.remove(cal, name);
    Reply::empty(204)
}

#[cfg(test)]
mod tests;
