//! One named function per iCloud quirk the sim reproduces. Each is tagged
//! `QUIRK(iCloud):`, cites its ICLOUD.md section, and has a test (here, or
//! in `sim::tests` when it needs the HTTP server).
//!
//! Pure functions only: no state, no I/O.

use base64::Engine as _;

use super::faults::TokenMode;
use super::state::Kind;
use super::xml::{self, PropGroup};
use super::Reply;
use crate::dav::report::CompFilter;

/// QUIRK(iCloud): every response carries `Server: AppleHttpServer/<hex>`
/// (ICLOUD.md §5.1, §7.7).
pub(crate) fn server_header() -> &'static str {
    "AppleHttpServer/b866cf47cb1f"
}

/// QUIRK(iCloud): a 401 has an empty body and **two** challenges, Basic
/// first and the proprietary `X-MobileMe-AuthToken` second, plus
/// `x-apple-user-partition` even on the front host (ICLOUD.md §1.2, §1.4, §5.1).
pub(crate) fn unauthorized_two_challenges() -> Reply {
    Reply::empty(401)
        .header("www-authenticate", "Basic realm=\"MMCalDav\"")
        .header(
            "www-authenticate",
            "X-MobileMe-AuthToken realm=\"MMCalDav\"",
        )
}

/// QUIRK(iCloud): malformed requests (`GET /`, `//`, leading whitespace in
/// XML) get a small HTML 400 naming AppleHttpServer, with
/// `Connection: close` (ICLOUD.md §1.1, §7.7).
pub(crate) fn bad_request_html() -> Reply {
    let body = format!(
        "<html><head><title>400 Bad Request</title></head><body>\
         <h1>Bad Request</h1><hr/><address>{}</address></body></html>\n",
        server_header()
    );
    Reply::bytes(400, body.into_bytes())
        .header("content-type", "text/html")
        .header("connection", "close")
}

/// QUIRK(iCloud): a path with an empty segment (`//`) is a 400 (ICLOUD.md §1.1,
/// lfos/calcurse#30).
pub(crate) fn path_has_empty_segment(path: &str) -> bool {
    path.contains("//")
}

/// QUIRK(iCloud): `PROPFIND /` with `Depth: 1` is a 400; only Depth 0 works on
/// the root (ICLOUD.md §1.1; a single 2026 report, see §9).
pub(crate) fn root_depth_one_rejected(depth: Option<&str>) -> bool {
    matches!(depth.map(str::trim), Some("1") | Some("infinity"))
}

/// QUIRK(iCloud): an XML request body must begin with `<?xml` (or at least
/// `<`): leading whitespace gives 400 (ICLOUD.md §1.5, KashCal).
pub(crate) fn xml_body_has_leading_junk(body: &[u8]) -> bool {
    !body.is_empty() && !body.starts_with(b"<")
}

/// QUIRK(iCloud): `calendar-home-set` is an absolute URL on the partition
/// host with an explicit port, unlike every other href (ICLOUD.md §1.2).
pub(crate) fn calendar_home_set_url(partition_url: &str, dsid: &str) -> String {
    format!("{partition_url}/{dsid}/calendars/")
}

/// QUIRK(iCloud): `PROPFIND` with `<allprop/>` (or an empty body) fails with
/// 400 (`propfind_allprop_failure`, ICLOUD.md §3.5).
pub(crate) fn allprop_rejected() -> Reply {
    Reply::empty(400)
}

/// How a calendar-query filter is treated.
#[derive(Debug, PartialEq)]
pub(crate) enum QueryVerdict {
    /// Run it; the VEVENT comp-filter (time range inside, if any).
    Run(CompFilter),
    /// Answer an empty multistatus.
    Empty,
    /// Answer 500.
    ServerError,
}

/// QUIRK(iCloud): calendar-query needs a nested `VEVENT` comp-filter; a bare
/// VCALENDAR filter, or VEVENT mixed with VTODO, yields nothing; VTODO or
/// VJOURNAL alone is a 500 (ICLOUD.md §3.1, calendar-cli#16).
pub(crate) fn calendar_query_verdict(filter: &CompFilter) -> QueryVerdict {
    if !filter.name.eq_ignore_ascii_case("VCALENDAR") {
        return QueryVerdict::Empty;
    }
    let has = |n: &str| {
        filter
            .comp_filters
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(n))
    };
    let other = has("VTODO") || has("VJOURNAL");
    match (
        filter
            .comp_filters
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case("VEVENT")),
        other,
    ) {
        (Some(_), true) => QueryVerdict::Empty,
        (Some(ev), false) => QueryVerdict::Run(ev.clone()),
        (None, true) => QueryVerdict::ServerError,
        (None, false) => QueryVerdict::Empty,
    }
}

/// QUIRK(iCloud): searching by UID (a `prop-filter` text-match) is not
/// supported; the sim answers such queries with an empty result
/// (ICLOUD.md §3.5, python-caldav `get_object_by_uid_is_broken`).
pub(crate) fn uid_text_match_unsupported(vevent: &CompFilter) -> bool {
    vevent
        .prop_filters
        .iter()
        .any(|p| p.name.eq_ignore_ascii_case("UID"))
}

/// QUIRK(iCloud): calendar-query results include a row for the collection
/// itself: 200 with `getetag` (when asked for, else an empty prop) and a 404
/// propstat with `calendar-data` (ICLOUD.md §3.1, §7.4).
pub(crate) fn calendar_query_self_row(collection_etag: Option<&str>) -> Vec<PropGroup> {
    vec![
        PropGroup {
            status: 200,
            props: collection_etag
                .map(|e| vec![xml::el(xml::DAV, "getetag", &xml::esc(e))])
                .unwrap_or_default(),
        },
        PropGroup {
            status: 404,
            props: vec![xml::el(xml::CALDAV, "calendar-data", "")],
        },
    ]
}

/// QUIRK(iCloud): `free-busy-query` is advertised but answers 400 with an
/// empty body (ICLOUD.md §3.4, python-caldav#325).
pub(crate) fn free_busy_query_rejected() -> Reply {
    Reply::empty(400)
}

/// QUIRK(iCloud): a subscribed (webcal) calendar holds no events on the
/// server; queries against it return an empty multistatus (ICLOUD.md §6.1).
pub(crate) fn subscribed_calendar_has_no_events(kind: Kind) -> bool {
    kind == Kind::Subscribed
}

const TOKEN_MAGIC: [u8; 5] = [0x1f, 0x0a, 0x10, 0x12, 0x0c];

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// QUIRK(iCloud): `getctag` is an opaque base64-looking string and
/// `DAV:sync-token` carries **the same string** (ICLOUD.md §2.1, §3.3).
pub(crate) fn sync_token_for(calendar: &str, epoch: u32, version: u64) -> String {
    let mut bytes = Vec::with_capacity(33);
    bytes.extend_from_slice(&TOKEN_MAGIC);
    bytes.extend_from_slice(&fnv(calendar).to_be_bytes());
    bytes.extend_from_slice(&epoch.to_be_bytes());
    bytes.extend_from_slice(&version.to_be_bytes());
    bytes.extend_from_slice(&[0x18, 0x02, 0x18, 0x00, 0x22, 0x16, 0x08, 0x00]);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The change-log version a token stands for, when it belongs to this
/// calendar and epoch (the inverse of [`sync_token_for`]).
pub(crate) fn parse_sync_token(calendar: &str, epoch: u32, token: &str) -> Option<u64> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    if bytes.len() != 33 || bytes[..5] != TOKEN_MAGIC {
        return None;
    }
    let hash = u64::from_be_bytes(bytes[5..13].try_into().ok()?);
    let ep = u32::from_be_bytes(bytes[13..17].try_into().ok()?);
    let version = u64::from_be_bytes(bytes[17..25].try_into().ok()?);
    (hash == fnv(calendar) && ep == epoch).then_some(version)
}

/// QUIRK(iCloud): an invalid or expired sync token is a 403 with
/// `<error xmlns='DAV:'><valid-sync-token/></error>`, or a bare 403, or it
/// is silently forgotten (full listing, `None` here) (ICLOUD.md §3.3, §7.6).
pub(crate) fn invalid_sync_token(mode: TokenMode) -> Option<Reply> {
    match mode {
        TokenMode::Forbidden403WithBody => Some(
            Reply::bytes(
                403,
                format!(
                    "{}<error xmlns='DAV:'><valid-sync-token/></error>",
                    xml::PROLOG
                )
                .into_bytes(),
            )
            .header("content-type", "text/xml; charset=utf-8"),
        ),
        TokenMode::Bare403 => Some(Reply::empty(403)),
        TokenMode::FullListing => None,
    }
}

/// QUIRK(iCloud): the same href may appear more than once in one
/// sync-collection answer (ICLOUD.md §3.3, KashCal `PullStrategy`).
pub(crate) fn repeat_sync_rows(names: Vec<String>, twice: bool) -> Vec<String> {
    if !twice {
        return names;
    }
    names.into_iter().flat_map(|n| [n.clone(), n]).collect()
}

/// Unfolds iCalendar content lines (RFC 5545 §3.1).
fn unfolded(ics: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in ics.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = line.strip_prefix([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.push_str(rest);
                continue;
            }
        }
        out.push(line.to_string());
    }
    out
}

fn prop_name(line: &str) -> String {
    line.split([':', ';'])
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

/// QUIRK(iCloud): a VEVENT with neither `DTEND` nor `DURATION` is refused
/// with **404** on PUT (ICLOUD.md §4, DAVx5#1859, vdirsyncer#1200).
pub(crate) fn vevent_without_end(ics: &str) -> bool {
    let mut stack: Vec<String> = Vec::new();
    let mut has_end = false;
    for line in unfolded(ics) {
        let name = prop_name(&line);
        let value = line
            .split_once(':')
            .map(|(_, v)| v.trim().to_ascii_uppercase());
        if name == "BEGIN" {
            if value.as_deref() == Some("VEVENT") {
                has_end = false;
            }
            stack.push(value.unwrap_or_default());
        } else if name == "END" {
            if stack.pop().as_deref() == Some("VEVENT") && !has_end {
                return true;
            }
        } else if stack.last().map(String::as_str) == Some("VEVENT")
            && (name == "DTEND" || name == "DURATION")
        {
            has_end = true;
        }
    }
    false
}

/// QUIRK(iCloud): stored objects must not carry `METHOD`; the sim refuses
/// it with 400. The exact iCloud answer is not captured — cal.com strips
/// METHOD because Apple rejects it (ICLOUD.md §4); 400 is our plausible choice.
pub(crate) fn has_method_property(ics: &str) -> bool {
    let mut depth = 0usize;
    for line in unfolded(ics) {
        match prop_name(&line).as_str() {
            "BEGIN" => depth += 1,
            "END" => depth = depth.saturating_sub(1),
            "METHOD" if depth == 1 => return true,
            _ => {}
        }
    }
    false
}

/// QUIRK(iCloud): one UID cannot live in two calendars of the account; the
/// PUT fails. iCloud's exact status is not captured (ICLOUD.md §4, §7.7,
/// §9); the sim answers **409 Conflict** (a guess). `holders` are the
/// (calendar, name) pairs already holding the UID.
pub(crate) fn uid_conflict(holders: &[(String, String)], calendar: &str, name: &str) -> bool {
    holders.iter().any(|(c, n)| c != calendar || n != name)
}

/// QUIRK(iCloud): collections hold one component type: event calendars only
/// VEVENT, Reminders lists only VTODO; anything else is a bare 403
/// (ICLOUD.md §4, §6.3).
pub(crate) fn component_not_allowed(kind: Kind, component: crate::ical::ComponentKind) -> bool {
    use crate::ical::ComponentKind as C;
    !matches!(
        (kind, component),
        (Kind::Events, C::Event) | (Kind::Tasks, C::Todo)
    )
}

/// QUIRK(iCloud): `MOVE` between calendars answers 412; clients PUT the new
/// copy and DELETE the old one (ICLOUD.md §4, KashCal `PushStrategy`).
pub(crate) fn move_refused() -> Reply {
    Reply::empty(412)
}

/// QUIRK(iCloud): ETags are short base-36 strings of a millisecond Unix
/// timestamp, e.g. `m3zrp1qg` (ICLOUD.md §4). Returned without quotes.
pub(crate) fn etag_from_millis(mut ms: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if ms == 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while ms > 0 {
        out.push(DIGITS[(ms % 36) as usize]);
        ms /= 36;
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// QUIRK(iCloud): some objects are served with the `DTSTAMP` line
/// duplicated in a VEVENT, the second value ≈ fetch time (ICLOUD.md §4,
/// home-assistant/core#153046). `now` is `YYYYMMDDTHHMMSSZ`.
pub(crate) fn duplicate_dtstamp(ics: &str, now: &str) -> String {
    let mut out = String::with_capacity(ics.len() + 64);
    let mut in_event = false;
    let mut done = false;
    for raw in ics.split_inclusive('\n') {
        out.push_str(raw);
        let line = raw.trim_end();
        let upper = line.to_ascii_uppercase();
        if upper == "BEGIN:VEVENT" {
            in_event = true;
            done = false;
        } else if upper.starts_with("BEGIN:") || upper == "END:VEVENT" {
            in_event = upper.starts_with("BEGIN:VEVENT");
        } else if in_event && !done && upper.starts_with("DTSTAMP") {
            out.push_str(&format!("DTSTAMP:{now}\r\n"));
            done = true;
        }
    }
    out
}

/// QUIRK(iCloud): the "full" privilege set in iCloud's order, and the
/// reduced sets of read-only, outbox and notification collections
/// (ICLOUD.md §2.1).
pub(crate) fn privilege_set(kind: Kind, read_only: bool) -> Vec<(&'static str, &'static str)> {
    use super::xml::{CALDAV, DAV};
    let read = [
        (DAV, "read"),
        (CALDAV, "read-free-busy"),
        (DAV, "read-current-user-privilege-set"),
    ];
    let write = [
        (DAV, "write"),
        (DAV, "write-properties"),
        (DAV, "write-content"),
        (DAV, "bind"),
        (DAV, "unbind"),
    ];
    match kind {
        Kind::Outbox => vec![
            (DAV, "read"),
            (CALDAV, "read-free-busy"),
            (DAV, "read-current-user-privilege-set"),
            (CALDAV, "schedule-send"),
        ],
        Kind::Notification => vec![
            (DAV, "read"),
            (DAV, "read-current-user-privilege-set"),
            (DAV, "unbind"),
        ],
        _ if read_only => read.to_vec(),
        Kind::Inbox => {
            let mut v = [read.as_slice(), write.as_slice()].concat();
            v.push((CALDAV, "schedule-deliver"));
            v
        }
        _ => [read.as_slice(), write.as_slice()].concat(),
    }
}

#[cfg(test)]
mod tests;
