//! Fixture-driven tests for the whole `dav` layer. Each submodule says what
//! belongs in it; shared helpers live here.

/// Malformed and hostile input: always an error, never a panic.
mod bad_input;
/// The streaming listing reader against the tree reader (its oracle).
mod listing;
/// Multistatus writer round trips and upstream bodies (iCloud, Radicale, Xandikos).
mod multistatus;
/// RFC request examples from fixtures/dav/requests (PROPFIND, PROPPATCH, REPORT).
mod requests;

use chrono::{DateTime, TimeZone, Utc};

use crate::dav::names;
use crate::dav::report::*;

pub(super) fn fixture(rel: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

pub(super) fn req(name: &str) -> Vec<u8> {
    fixture(&format!("dav/requests/{name}"))
}

pub(super) fn utc(y: i32, mo: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("bad test date"))
}

pub(super) fn query(name: &str) -> CalendarQuery {
    match parse_report(&req(name)) {
        Ok(Report::CalendarQuery(q)) => q,
        other => panic!("{name}: {other:?}"),
    }
}

pub(super) fn comp(name: &str) -> CompFilter {
    CompFilter {
        name: name.into(),
        ..CompFilter::default()
    }
}

pub(super) fn range(s: DateTime<Utc>, e: DateTime<Utc>) -> Option<TimeRangeFilter> {
    Some(TimeRangeFilter {
        start: Some(s),
        end: Some(e),
    })
}

pub(super) fn etag_and_data() -> PropRequest {
    PropRequest::Prop(vec![names::GETETAG, names::CALENDAR_DATA])
}

pub(super) fn vcal(inner: CompFilter) -> CompFilter {
    CompFilter {
        comp_filters: vec![inner],
        ..comp("VCALENDAR")
    }
}

pub(super) fn text_match(text: &str, collation: &str, negate: bool) -> Option<TextMatch> {
    Some(TextMatch {
        text: text.into(),
        collation: collation.into(),
        negate,
        match_type: MatchType::Contains,
    })
}
