//! Issue 12 #11, #13, #14: protocol conformance found by independent
//! clients (libdav, vstorage, litmus, cadaver, ical.js), as raw HTTP:
//! statuses, `Allow`, DAV error bodies, privileges, DTSTAMPs.

use crate::support::env::TestEnv;
use crate::support::ics;

const BLOCKED: &str = "/dav/demo/demo/blocked/";

fn event(uid: &str, start: &str, end: &str) -> String {
    ics::event(uid, start, end, "conformance")
}

/// The DTSTAMP and DTSTART of each VEVENT in `ics`, as text.
fn stamps(ics: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let (mut stamp, mut start) = (String::new(), String::new());
    for l in ics.lines() {
        if let Some(v) = l.strip_prefix("DTSTAMP:") {
            stamp = v.trim().to_string();
        } else if let Some(v) = l.strip_prefix("DTSTART:") {
            start = v.trim().to_string();
        } else if l.starts_with("END:VEVENT") {
            out.push((stamp.clone(), start.clone()));
        }
    }
    out
}

async fn feed_path(env: &TestEnv) -> String {
    let who = calproxy::admin::UserArgs {
        tenant: calproxy::ids::TenantId::new("demo").unwrap(),
        user: calproxy::ids::UserId::new("demo").unwrap(),
    };
    let r = calproxy::admin::execute(
        &env.app,
        calproxy::admin::Request::Feed(calproxy::admin::FeedCommand::Show(who)),
    )
    .await;
    assert!(r.ok, "{}", r.output);
    r.output.trim().to_string()
}

#[tokio::test]
async fn issue12_14_busy_blocks_dtstamp_is_when_computed_and_etags_stay_stable() {
    let env = TestEnv::start().await;
    let c = env.client();
    let feed = feed_path(&env).await;
    let first = env.anonymous().get(&feed).await.status(200);
    let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let blocks = stamps(&first.text());
    assert!(!blocks.is_empty(), "{}", first.text());
    for (stamp, start) in &blocks {
        // Computed, not the block's start (which lies in the future).
        assert_ne!(stamp, start);
        assert!(
            stamp.as_str() <= now.as_str(),
            "DTSTAMP {stamp} after {now}"
        );
    }
    let view = c
        .propfind("/dav/demo/demo/availability/", "1", "")
        .await
        .status(207);
    let names: Vec<String> = view
        .hrefs()
        .into_iter()
        .filter(|h| h.ends_with(".ics"))
        .collect();
    let some = names.first().expect("a block").clone();
    let object = c.get(&some).await.status(200);
    let (stamp, start) = stamps(&object.text())[0].clone();
    assert_ne!(stamp, start);
    assert!(
        blocks.contains(&(stamp.clone(), start.clone())),
        "the feed and availability/ give a block the same DTSTAMP"
    );
    // A change that leaves busy time as it was (a FREE event) rebuilds
    // both views but changes neither bytes nor ETags.
    let free = ics::event("free-1", "20261215T100000Z", "20261215T110000Z", "free")
        .replace("END:VEVENT", "TRANSP:TRANSPARENT\r\nEND:VEVENT");
    c.put(&format!("{BLOCKED}free.ics"), &free, &[])
        .await
        .status(201);
    let again = env.anonymous().get(&feed).await.status(200);
    assert_eq!(again.etag(), first.etag());
    assert_eq!(again.text(), first.text());
    let object_again = c.get(&some).await.status(200);
    assert_eq!(object_again.etag(), object.etag());
    // A new busy block changes the feed; the block's DTSTAMP is no later than now.
    c.put(
        &format!("{BLOCKED}busy.ics"),
        &event("busy-1", "20261216T100000Z", "20261216T110000Z"),
        &[],
    )
    .await
    .status(201);
    let changed = env.anonymous().get(&feed).await.status(200);
    assert_ne!(changed.etag(), first.etag());
    let later = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let new_block = stamps(&changed.text())
        .into_iter()
        .find(|(_, s)| s == "20261216T100000Z")
        .expect("the new block");
    assert!(new_block.0 <= later && new_block.0 >= now, "{new_block:?}");
}
