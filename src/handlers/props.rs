//! Live properties of the root, home, collections and objects: which exist,
//! and their values. Rendering is `dav::multistatus`'s job.

use chrono::{TimeZone, Utc};

use crate::dav::names::{self as n, QName};
use crate::dav::{PropStat, PropValue, Property, Response, ResponseBody};
use crate::ical::ComponentKind;
use crate::ids::Href;
use crate::store::{CollectionKind, ObjectMeta, Origin, Store};

use super::{Ctx, Resource};
use crate::route;

/// Status lines used in propstats.
const OK: u16 = 200;
const NOT_FOUND: u16 = 404;

fn http_date(unix: i64) -> String {
    Utc.timestamp_opt(unix, 0)
        .single()
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// An RFC 5545 UTC DATE-TIME (`20261201T000000Z`).
fn utc(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn privileges_full() -> Vec<QName> {
    vec![
        n::READ,
        n::READ_FREE_BUSY,
        n::READ_CURRENT_USER_PRIVILEGE_SET,
        n::WRITE,
        n::WRITE_PROPERTIES,
        n::WRITE_CONTENT,
        n::BIND,
        n::UNBIND,
    ]
}

/// What a client may do to an object it may change: replace its content
/// and (through the collection's `unbind`) delete it. Not
/// `write-properties`: PROPPATCH on objects is refused, so neither that
/// nor the `write` aggregate that contains it is shown (issue 12 #13).
fn privileges_object_write() -> Vec<QName> {
    vec![
        n::READ,
        n::READ_FREE_BUSY,
        n::READ_CURRENT_USER_PRIVILEGE_SET,
        n::WRITE_CONTENT,
    ]
}

fn privileges_read() -> Vec<QName> {
    vec![
        n::READ,
        n::READ_FREE_BUSY,
        n::READ_CURRENT_USER_PRIVILEGE_SET,
    ]
}

/// Whether a client may modify this object: local objects and system
/// events yes, iCloud events no (R2) — the policy decides.
pub(crate) fn object_writable(kind: &CollectionKind, origin: &Origin) -> bool {
    crate::policy::writes::object_denial(kind, origin).is_none()
}

/// An object's media type: the `Content-Type` of its GET and its
/// `getcontenttype`, one value (RFC 4791 §4.1 names the component).
pub(crate) fn content_type(meta: &ObjectMeta) -> &'static str {
    match meta.index.component {
        ComponentKind::Event => "text/calendar; charset=utf-8; component=vevent",
        ComponentKind::Todo => "text/calendar; charset=utf-8; component=vtodo",
        ComponentKind::Journal => "text/calendar; charset=utf-8; component=vjournal",
        ComponentKind::Other => "text/calendar; charset=utf-8",
    }
}

/// The properties `allprop` returns for a resource (RFC 4918 §9.1: live
/// properties that are cheap; calendar-data is never included).
pub(crate) fn allprop_names(res: &Resource) -> Vec<QName> {
    let mut v = vec![n::RESOURCETYPE, n::DISPLAYNAME];
    match res {
        Resource::Root | Resource::Home(_) => {
            v.push(n::CURRENT_USER_PRINCIPAL);
        }
        Resource::Collection { .. } => {
            v.extend([
                n::GETCTAG,
                n::SYNC_TOKEN,
                n::SUPPORTED_CALENDAR_COMPONENT_SET,
                n::CALENDAR_COLOR,
                n::CALENDAR_DESCRIPTION,
                n::GETLASTMODIFIED,
            ]);
        }
        Resource::Object { .. } => {
            v = vec![
                n::RESOURCETYPE,
                n::GETETAG,
                n::GETCONTENTTYPE,
                n::GETCONTENTLENGTH,
                n::GETLASTMODIFIED,
            ];
        }
    }
    v
}

/// Value of one property of a resource; `None` = not defined here (404).
pub(crate) fn value(ctx: &Ctx<'_>, res: &Resource, name: &QName) -> Option<PropValue> {
    let home = route::home(ctx.principal);
    // Properties every resource answers.
    if *name == n::CURRENT_USER_PRINCIPAL {
        return Some(PropValue::Hrefs(vec![home]));
    }
    if *name == n::PRINCIPAL_COLLECTION_SET {
        return Some(PropValue::Hrefs(vec![route::root()]));
    }
    match res {
        Resource::Root => match name {
            x if *x == n::RESOURCETYPE => Some(PropValue::ResourceType(vec![n::COLLECTION])),
            x if *x == n::DISPLAYNAME => Some(PropValue::Text("calproxy".into())),
            x if *x == n::CALENDAR_HOME_SET => Some(PropValue::Hrefs(vec![home])),
            x if *x == n::CURRENT_USER_PRIVILEGE_SET => Some(PropValue::Privileges(vec![
                n::READ,
                n::READ_CURRENT_USER_PRIVILEGE_SET,
            ])),
            _ => None,
        },
        Resource::Home(owner) => {
            let rec = ctx
                .app
                .store
                .user(&owner.tenant, &owner.user)
                .ok()
                .flatten();
            match name {
                x if *x == n::RESOURCETYPE => {
                    Some(PropValue::ResourceType(vec![n::COLLECTION, n::PRINCIPAL]))
                }
                x if *x == n::DISPLAYNAME => Some(PropValue::Text(
                    rec.map(|r| r.display_name)
                        .unwrap_or_else(|| owner.user.to_string()),
                )),
                x if *x == n::PRINCIPAL_URL => Some(PropValue::Hrefs(vec![home])),
                x if *x == n::CALENDAR_HOME_SET => Some(PropValue::Hrefs(vec![home])),
                x if *x == n::CALENDAR_USER_ADDRESS_SET => Some(PropValue::Hrefs(
                    rec.map(|r| r.addresses.into_iter().map(Href::new).collect())
                        .unwrap_or_default(),
                )),
                x if *x == n::CURRENT_USER_PRIVILEGE_SET => Some(PropValue::Privileges(vec![
                    n::READ,
                    n::READ_CURRENT_USER_PRIVILEGE_SET,
                ])),
                x if *x == n::SUPPORTED_REPORT_SET => Some(PropValue::ReportSet(vec![])),
                _ => None,
            }
        }
        Resource::Collection { rec, .. } => match name {
            x if *x == n::RESOURCETYPE => {
                Some(PropValue::ResourceType(vec![n::COLLECTION, n::CALENDAR]))
            }
            x if *x == n::DISPLAYNAME => Some(PropValue::Text(rec.displayname.clone())),
            x if *x == n::GETCTAG => Some(PropValue::Text(Store::ctag(rec).to_string())),
            x if *x == n::SYNC_TOKEN => Some(PropValue::Text(Store::sync_token(rec).to_string())),
            x if *x == n::GETETAG => Some(PropValue::Text(format!("\"{}\"", Store::ctag(rec)))),
            x if *x == n::GETLASTMODIFIED => Some(PropValue::Text(http_date(rec.modified))),
            x if *x == n::OWNER => Some(PropValue::Hrefs(vec![home])),
            x if *x == n::SUPPORTED_CALENDAR_COMPONENT_SET => {
                Some(PropValue::CompSet(vec!["VEVENT".into()]))
            }
            x if *x == n::SUPPORTED_CALENDAR_DATA => None,
            x if *x == n::SUPPORTED_REPORT_SET => Some(PropValue::ReportSet(vec![
                n::CALENDAR_QUERY,
                n::CALENDAR_MULTIGET,
                n::SYNC_COLLECTION,
                n::FREE_BUSY_QUERY,
            ])),
            x if *x == n::CURRENT_USER_PRIVILEGE_SET => Some(PropValue::Privileges(
                if crate::policy::writes::collection_denial(&rec.kind).is_none() {
                    privileges_full()
                } else {
                    privileges_read()
                },
            )),
            x if *x == n::CALENDAR_COLOR => rec.color.clone().map(PropValue::Text),
            x if *x == n::CALENDAR_DESCRIPTION => rec.description.clone().map(PropValue::Text),
            x if *x == n::MAX_RESOURCE_SIZE => Some(PropValue::Text(
                ctx.app.config.limits.max_resource_bytes.to_string(),
            )),
            x if *x == n::SCHEDULE_CALENDAR_TRANSP => {
                Some(PropValue::Xml(vec![crate::dav::Element::new(n::OPAQUE)]))
            }
            // RFC 4791 §5.2.6–7: availability/ holds the sync window only.
            x if *x == n::MIN_DATE_TIME && rec.kind == CollectionKind::Availability => {
                Some(PropValue::Text(utc(ctx
                    .app
                    .views
                    .window_at(Utc::now())
                    .start)))
            }
            x if *x == n::MAX_DATE_TIME && rec.kind == CollectionKind::Availability => {
                Some(PropValue::Text(utc(ctx
                    .app
                    .views
                    .window_at(Utc::now())
                    .end)))
            }
            other => rec
                .dead
                .iter()
                .find(|d| d.ns == other.ns && d.local == other.local)
                .map(|d| PropValue::Text(d.value.clone())),
        },
        Resource::Object {
            key,
            col,
            name: object,
            meta: rec,
        } => match name {
            x if *x == n::RESOURCETYPE => Some(PropValue::ResourceType(vec![])),
            x if *x == n::GETETAG => Some(PropValue::Text(rec.etag.quoted())),
            x if *x == n::GETCONTENTTYPE => Some(PropValue::Text(content_type(rec).into())),
            x if *x == n::GETCONTENTLENGTH => Some(PropValue::Text(rec.size.to_string())),
            x if *x == n::GETLASTMODIFIED => Some(PropValue::Text(http_date(rec.modified))),
            x if *x == n::OWNER => Some(PropValue::Hrefs(vec![home])),
            x if *x == n::DISPLAYNAME => rec.index.summary.clone().map(PropValue::Text),
            x if *x == n::CURRENT_USER_PRIVILEGE_SET => Some(PropValue::Privileges(
                if object_writable(&col.kind, &rec.origin) {
                    privileges_object_write()
                } else {
                    privileges_read()
                },
            )),
            x if *x == n::CALENDAR_DATA => ctx
                .app
                .store
                .object_body(key, object)
                .ok()
                .flatten()
                .map(|b| PropValue::CalendarData(b.into_bytes())),
            _ => None,
        },
    }
}

/// One `<response>` for `href` with the requested properties split into a
/// 200 and a 404 propstat. `allprop` and `propname` list only the
/// properties the resource has (RFC 4918 §9.1: no 404 for properties
/// nobody asked for); named properties it lacks are 404.
pub(crate) fn response(
    ctx: &Ctx<'_>,
    res: &Resource,
    href: Href,
    req: &crate::dav::PropRequest,
) -> Response {
    use crate::dav::PropRequest;
    match req {
        PropRequest::AllProp => answer(ctx, res, href, &[], false),
        PropRequest::PropName => answer(ctx, res, href, &[], true),
        PropRequest::Prop(asked) => answer_named(ctx, res, href, asked),
    }
}

/// `allprop` with `DAV:include` (RFC 4918 §14.8): the resource's own
/// properties plus the included ones, 404 for an included one it lacks.
pub(crate) fn allprop_including(
    ctx: &Ctx<'_>,
    res: &Resource,
    href: Href,
    include: &[QName],
) -> Response {
    answer(ctx, res, href, include, false)
}

fn answer(
    ctx: &Ctx<'_>,
    res: &Resource,
    href: Href,
    asked: &[QName],
    names_only: bool,
) -> Response {
    let mut found = Vec::new();
    for name in allprop_names(res) {
        if asked.contains(&name) {
            continue;
        }
        if let Some(v) = value(ctx, res, &name) {
            let value = if names_only { PropValue::Empty } else { v };
            found.push(Property { name, value });
        }
    }
    let mut named = answer_named(ctx, res, href, asked);
    if let ResponseBody::PropStats(stats) = &mut named.body {
        match stats.iter_mut().find(|s| s.status == OK) {
            Some(ok) => {
                found.append(&mut ok.props);
                ok.props = found;
            }
            None if !found.is_empty() => stats.insert(
                0,
                PropStat {
                    props: found,
                    status: OK,
                },
            ),
            None => {}
        }
    }
    named
}

fn answer_named(ctx: &Ctx<'_>, res: &Resource, href: Href, asked: &[QName]) -> Response {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in asked {
        match value(ctx, res, name) {
            Some(value) => found.push(Property {
                name: name.clone(),
                value,
            }),
            None => missing.push(Property {
                name: name.clone(),
                value: PropValue::Empty,
            }),
        }
    }
    let mut propstats = Vec::new();
    if !found.is_empty() || missing.is_empty() {
        propstats.push(PropStat {
            props: found,
            status: OK,
        });
    }
    if !missing.is_empty() {
        propstats.push(PropStat {
            props: missing,
            status: NOT_FOUND,
        });
    }
    Response {
        href,
        body: ResponseBody::PropStats(propstats),
    }
}
