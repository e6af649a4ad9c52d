//! Target `upstream`: a response body from the upstream server (iCloud,
//! Radicale, Xandikos…) through the multistatus reader and every parser of
//! `upstream::parse` the sync engine applies to it: principal,
//! calendar-home-set, the home listing, sync-collection and ETag listings,
//! multiget answers; then what the engine does with the results (local
//! object names, the multiget request it builds from listed hrefs, the
//! lenient iCalendar parse of fetched data).
//!
//! Asserted: what the reader accepted renders back (`MultiStatus::to_xml`)
//! to a body the reader accepts again; the streaming listing reader
//! (`dav::listing`, what the sync reads listings with) accepts exactly
//! what the tree reader accepts and gives the same member rows; and the
//! multiget request built from listed hrefs is a REPORT body calproxy's
//! own request parser accepts with the same number of hrefs.

use calproxy::dav::{self, MultiStatus, Report};
use calproxy::ical;
use calproxy::ids::Href;
use calproxy::sync::materialize;
use calproxy::upstream::{parse, requests};

/// The upstream target (see the module docs).
pub fn upstream(data: &[u8]) {
    let streamed = dav::listing::read(data, &dav::XmlLimits::upstream());
    let Ok(ms) = MultiStatus::parse(data) else {
        assert!(
            streamed.is_err(),
            "the listing reader accepts what the tree reader refuses"
        );
        return;
    };
    let Ok(rows) = streamed else {
        panic!("the listing reader refuses what the tree reader accepts: {streamed:?}");
    };
    let tree_rows: Vec<(&Href, Option<u16>, Option<&str>)> = ms
        .responses
        .iter()
        .map(|r| (&r.href, r.bare_status(), r.prop_text(&dav::names::GETETAG)))
        .collect();
    let stream_rows: Vec<(&Href, Option<u16>, Option<&str>)> = rows
        .rows
        .iter()
        .map(|r| (&r.href, r.status, r.etag.as_deref()))
        .collect();
    assert_eq!(
        stream_rows, tree_rows,
        "listing rows differ from the tree's"
    );
    assert_eq!(rows.sync_token, ms.sync_token, "sync tokens differ");
    let again = MultiStatus::parse(&ms.to_xml());
    assert!(
        again.is_ok(),
        "a multistatus we read does not read back once rendered: {:?}\n{}",
        again.err(),
        String::from_utf8_lossy(&ms.to_xml())
    );

    let _ = parse::principal(&ms);
    let home = parse::home_set(&ms).unwrap_or_else(|_| Href::new("/"));
    let mut collections = vec![home.clone(), Href::new("/calendars/home/")];
    collections.extend(ms.responses.iter().take(4).map(|r| r.href.clone()));
    for c in parse::calendars(&ms, &home) {
        let _ = (c.segment(), c.refusal());
    }
    for calendar in &collections {
        let delta = parse::sync_delta(&rows, calendar);
        for (href, _) in &delta.present {
            let _ = materialize::object_name(href);
        }
        for href in &delta.deleted {
            let _ = materialize::object_name(href);
        }
        let hrefs: Vec<Href> = delta
            .present
            .iter()
            .map(|(h, _)| h.clone())
            .take(requests::MULTIGET_BATCH)
            .collect();
        if !hrefs.is_empty() {
            let call = requests::multiget(calendar.as_str(), &hrefs);
            match dav::parse_report(&call.body) {
                Ok(Report::CalendarMultiget(m)) => assert_eq!(
                    m.hrefs.len(),
                    hrefs.len(),
                    "multiget body lost hrefs: {hrefs:?}"
                ),
                other => panic!("multiget body for {hrefs:?} does not parse: {other:?}"),
            }
        }
        let _ = parse::listing(&rows, calendar);
        for f in parse::multiget(&ms, calendar).found {
            let _ = materialize::object_name(&f.href);
            let _ = ical::parse_lenient(&f.data);
        }
    }
}
