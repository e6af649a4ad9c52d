//! Issue 10: a calendar-query asked again after its collection changed is
//! patched from its previous answer (the members the change log names
//! since are tested again, the rest reused), and the patched answer is
//! byte for byte what a server keeping nothing renders — over random
//! writes, moves, deletions and several kinds of query.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::client::DavClient;
use crate::support::env::TestEnv;
use crate::support::icloud;

const COL: &str = "/dav/demo/ann/blocked/";

/// `calproxy_report_answers_total` by source: (cached, patched, rendered).
async fn answers(env: &TestEnv) -> (u64, u64, u64) {
    let text = env.anonymous().get("/metrics").await.status(200).text();
    let count = |source: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(&format!(
                    "calproxy_report_answers_total{{source=\"{source}\"}} "
                ))
            })
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("calproxy_report_answers_total {source} on /metrics"))
    };
    (count("cached"), count("patched"), count("rendered"))
}

fn query(prop: &str, filter: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>{prop}</D:prop><C:filter><C:comp-filter name="VCALENDAR">{filter}</C:comp-filter></C:filter></C:calendar-query>"#
    )
}

/// Four kinds of query: a window with calendar-data, privileges and an
/// unknown property; the same window expanded; a text match (no time
/// range: every member is a candidate); recurring events only.
fn queries() -> Vec<String> {
    let window = r#"<C:comp-filter name="VEVENT"><C:time-range start="20270305T000000Z" end="20270321T000000Z"/></C:comp-filter>"#;
    vec![
        query(
            r#"<D:getetag/><C:calendar-data/><D:current-user-privilege-set/><X:nope xmlns:X="urn:x-test"/>"#,
            window,
        ),
        query(
            r#"<D:getetag/><C:calendar-data><C:expand start="20270305T000000Z" end="20270321T000000Z"/></C:calendar-data>"#,
            window,
        ),
        query(
            "<D:getetag/>",
            r#"<C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match collation="i;ascii-casemap">moved</C:text-match></C:prop-filter></C:comp-filter>"#,
        ),
        query(
            "<D:getetag/><C:calendar-data/>",
            r#"<C:comp-filter name="VEVENT"><C:prop-filter name="RRULE"/></C:comp-filter>"#,
        ),
    ]
}

/// A random event named `uid` in February–April 2027: one-off, weekly,
/// floating or all-day.
fn object(rng: &mut StdRng, uid: &str) -> String {
    let day = rng.gen_range(0..80);
    let date =
        chrono::NaiveDate::from_ymd_opt(2027, 2, 1).expect("date") + chrono::Duration::days(day);
    let d = date.format("%Y%m%d");
    let summary = ["Standup", "moved on", "Review", "MOVED"][rng.gen_range(0..4)];
    let body = match rng.gen_range(0..5) {
        0 => format!("BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:{d}\r\nDTEND;VALUE=DATE:{}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n", (date + chrono::Duration::days(1)).format("%Y%m%d")),
        1 => format!("BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{d}T090000Z\r\nDTEND:{d}T100000Z\r\nRRULE:FREQ=WEEKLY;COUNT={}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n", rng.gen_range(1..5)),
        2 => format!("BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{d}T090000\r\nDTEND:{d}T100000\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n"),
        _ => format!("BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{d}T090000Z\r\nDTEND:{d}T100000Z\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n"),
    };
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calproxy tests//EN\r\n{body}END:VCALENDAR\r\n"
    )
}

/// Every query on both servers: the same bytes.
async fn same_answers(kept: &DavClient, none: &DavClient, step: &str) {
    for (i, q) in queries().iter().enumerate() {
        let a = kept.report(COL, "1", q).await.status(207).text();
        let b = none.report(COL, "1", q).await.status(207).text();
        assert_eq!(a, b, "query {i} after {step}");
    }
}

#[tokio::test]
async fn issue_10_a_query_after_a_change_is_patched_and_answers_what_a_fresh_listing_does() {
    let kept = TestEnv::start().await;
    let none = TestEnv::start_with(|c| {
        c.limits.response_cache_bytes = 0;
        c.limits.answer_cache_bytes = 0;
    })
    .await;
    let (k, n) = (
        icloud::add_user(&kept, "demo", "ann"),
        icloud::add_user(&none, "demo", "ann"),
    );
    let mut rng = StdRng::seed_from_u64(10);
    let mut live: Vec<String> = Vec::new();
    for i in 0..30 {
        let uid = format!("o{i:02}");
        let body = object(&mut rng, &uid);
        for c in [&k, &n] {
            c.put(&format!("{COL}{uid}.ics"), &body, &[])
                .await
                .status(201);
        }
        live.push(uid);
    }
    same_answers(&k, &n, "the first listing").await;
    let (_, p0, r0) = answers(&kept).await;
    let steps = 40;
    for step in 0..steps {
        let what = match rng.gen_range(0..4) {
            // A new object.
            0 => {
                let uid = format!("new{step:02}");
                let body = object(&mut rng, &uid);
                for c in [&k, &n] {
                    c.put(&format!("{COL}{uid}.ics"), &body, &[])
                        .await
                        .status(201);
                }
                live.push(uid.clone());
                format!("adding {uid}")
            }
            // One deleted.
            1 if live.len() > 5 => {
                let uid = live.swap_remove(rng.gen_range(0..live.len()));
                for c in [&k, &n] {
                    c.delete(&format!("{COL}{uid}.ics"), &[]).await.status(204);
                }
                format!("deleting {uid}")
            }
            // One changed: moved, retitled, made recurring or all-day.
            _ => {
                let uid = live[rng.gen_range(0..live.len())].clone();
                let body = object(&mut rng, &uid);
                for c in [&k, &n] {
                    c.put(&format!("{COL}{uid}.ics"), &body, &[])
                        .await
                        .status(204);
                }
                format!("changing {uid}")
            }
        };
        same_answers(&k, &n, &format!("step {step}, {what}")).await;
    }
    let (_, p1, r1) = answers(&kept).await;
    assert_eq!(
        (p1 - p0, r1 - r0),
        (steps * queries().len() as u64, 0),
        "after each change every query was patched, none rendered afresh"
    );
    assert_eq!(answers(&none).await.1, 0, "nothing kept, nothing patched");

    // Many changes at once: rendered afresh, the same bytes.
    for i in 0..40 {
        let uid = format!("bulk{i:02}");
        let body = object(&mut rng, &uid);
        for c in [&k, &n] {
            c.put(&format!("{COL}{uid}.ics"), &body, &[])
                .await
                .status(201);
        }
    }
    same_answers(&k, &n, "40 new objects").await;
    let (_, p2, r2) = answers(&kept).await;
    assert_eq!((p2 - p1, r2 - r1), (0, queries().len() as u64));

    // Asked again with nothing changed: served as kept.
    let (c3, _, _) = answers(&kept).await;
    same_answers(&k, &n, "nothing").await;
    assert_eq!(answers(&kept).await.0, c3 + queries().len() as u64);
}
