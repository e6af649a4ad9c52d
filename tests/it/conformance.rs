//! Issue 12 #11, #13, #14: protocol conformance found by independent
//! clients (libdav, vstorage, litmus, cadaver, ical.js), as raw HTTP:
//! statuses, `Allow`, DAV error bodies, privileges, DTSTAMPs.

use crate::support::client::{Answer, DavClient};
use crate::support::env::TestEnv;
use crate::support::icloud::Icloud;
use crate::support::ics;

const HOME: &str = "/dav/demo/demo/";
const PRIMARY: &str = "/dav/demo/demo/primary/";
const BLOCKED: &str = "/dav/demo/demo/blocked/";
const WORK_OBJ: &str = "/dav/demo/demo/work/weekly-review.ics";
const OWN_OBJ: &str = "/dav/demo/demo/primary/dentist.ics";

const ALLOW_PRINCIPAL: &str = "OPTIONS, GET, HEAD, PROPFIND";
const ALLOW_COLLECTION: &str = "OPTIONS, GET, HEAD, PROPFIND, PROPPATCH, REPORT";
const ALLOW_OBJECT: &str = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, COPY, MOVE";

const PRIV: &str = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:current-user-privilege-set/></d:prop></d:propfind>"#;
const PROPPATCH: &str = r#"<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>x</d:displayname></d:prop></d:set></d:propertyupdate>"#;

fn event(uid: &str, start: &str, end: &str) -> String {
    ics::event(uid, start, end, "conformance")
}

async fn send(c: &DavClient, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    c.request(method, path, headers, "").await
}

async fn copy(c: &DavClient, method: &str, from: &str, to: &str, extra: &[(&str, &str)]) -> Answer {
    let mut h = vec![("destination", to)];
    h.extend_from_slice(extra);
    send(c, method, from, &h).await
}

/// The `DAV:privilege` names in a `current-user-privilege-set`.
fn privileges(a: &Answer) -> Vec<String> {
    let t = a.text();
    let mut out = Vec::new();
    for part in t.split("<d:privilege>").skip(1) {
        let inner = part.split("</d:privilege>").next().unwrap_or_default();
        let name = inner
            .trim()
            .trim_start_matches('<')
            .split(['/', ' ', '>'])
            .next()
            .unwrap_or_default();
        out.push(name.rsplit(':').next().unwrap_or_default().to_string());
    }
    out
}

// ---- #11: GET/HEAD on DAV collections, Allow ----

#[tokio::test]
async fn issue12_11_rfc6764_well_known_then_get_of_the_context_path_is_2xx() {
    let env = TestEnv::start().await;
    let anon = env.anonymous();
    let a = anon.get("/.well-known/caldav").await.status(301);
    let location = a.header("location").expect("Location");
    assert_eq!(location, "/dav/");
    // Discovery GETs the context path before it knows any credentials.
    let a = anon.get(&location).await.status(200);
    assert!(a
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/plain"));
    assert!(a.text().contains("CalDAV"), "{}", a.text());
    env.client().get(&location).await.status(200);
}

#[tokio::test]
async fn issue12_11_get_and_head_of_home_and_calendars_answer_200() {
    let env = TestEnv::start().await;
    let c = env.client();
    let home = c.get(HOME).await.status(200).text();
    for cal in ["primary", "blocked", "availability", "work"] {
        assert!(home.contains(&format!("/dav/demo/demo/{cal}/")), "{home}");
    }
    for path in [
        "/dav/",
        HOME,
        PRIMARY,
        "/dav/demo/demo/work/",
        "/dav/demo/demo/availability/",
    ] {
        let get = c.get(path).await.status(200);
        assert!(!get.body.is_empty(), "{path}");
        let head = send(&c, "HEAD", path, &[]).await.status(200);
        assert!(head.body.is_empty(), "{path}");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "{path}"
        );
    }
    // A home or calendar still needs credentials.
    env.anonymous().get(PRIMARY).await.status(401);
}

#[tokio::test]
async fn issue12_11_options_allow_is_exactly_what_each_resource_serves() {
    let env = TestEnv::start().await;
    let c = env.client();
    let missing = "/dav/demo/demo/primary/no-such-object.ics";
    let cases = [
        ("/dav/", ALLOW_PRINCIPAL),
        (HOME, ALLOW_PRINCIPAL),
        (PRIMARY, ALLOW_COLLECTION),
        ("/dav/demo/demo/work/", ALLOW_COLLECTION),
        (missing, ALLOW_OBJECT),
    ];
    let every = [
        "GET",
        "HEAD",
        "PUT",
        "DELETE",
        "PROPFIND",
        "PROPPATCH",
        "REPORT",
        "COPY",
        "MOVE",
        "POST",
        "LOCK",
        "UNLOCK",
        "ACL",
    ];
    for (path, allow) in cases {
        let o = send(&c, "OPTIONS", path, &[]).await.status(200);
        assert_eq!(o.header("allow").as_deref(), Some(allow), "OPTIONS {path}");
        assert!(o
            .header("dav")
            .unwrap_or_default()
            .contains("calendar-access"));
        for m in every {
            let a = send(
                &c,
                m,
                path,
                &[("destination", "/dav/demo/demo/blocked/x.ics")],
            )
            .await;
            let listed = allow.split(", ").any(|x| x == m);
            if listed {
                assert!(
                    a.status != 405 && a.status != 501,
                    "{m} {path} is advertised but got {}",
                    a.status
                );
            } else {
                assert_eq!(a.status, 405, "{m} {path}: {}", a.text());
                assert_eq!(
                    a.header("allow").as_deref(),
                    Some(allow),
                    "405 Allow of {m} {path}"
                );
                assert!(a.text().contains(":error"), "{}", a.text());
            }
        }
    }
}

// ---- #13: COPY/MOVE, privileges ----

#[tokio::test]
async fn issue12_13_rfc4918_9_8_copy_and_9_9_move_between_writable_calendars() {
    let env = TestEnv::start().await;
    let c = env.client();
    let a = format!("{BLOCKED}a.ics");
    c.put(
        &a,
        &event("cm-1", "20261210T100000Z", "20261210T110000Z"),
        &[],
    )
    .await
    .status(201);
    let before = c.get(&a).await.status(200).text();
    // COPY into the same calendar: the UID is taken (RFC 4791 §5.3.2.1).
    copy(&c, "COPY", &a, &format!("{BLOCKED}b.ics"), &[])
        .await
        .status(403)
        .dav_error("no-uid-conflict");
    // COPY into another calendar: 201, both there, same data.
    let p = format!("{PRIMARY}a-copy.ics");
    copy(&c, "COPY", &a, &p, &[]).await.status(201);
    assert_eq!(c.get(&p).await.status(200).text(), before);
    c.get(&a).await.status(200);
    // Overwrite: F onto an existing object: 412; T (default): 204.
    copy(&c, "COPY", &a, &p, &[("overwrite", "F")])
        .await
        .status(412);
    copy(&c, "COPY", &a, &p, &[]).await.status(204);
    // MOVE within a calendar renames it (same UID, no conflict).
    let renamed = format!("{BLOCKED}renamed.ics");
    copy(&c, "MOVE", &a, &renamed, &[]).await.status(201);
    c.get(&a).await.status(404);
    assert_eq!(c.get(&renamed).await.status(200).text(), before);
    // The source's UID is free again in blocked/ after a MOVE out of it.
    c.request("DELETE", &p, &[], "").await.status(204);
    let back = format!("{PRIMARY}moved.ics");
    copy(&c, "MOVE", &renamed, &back, &[]).await.status(201);
    c.get(&renamed).await.status(404);
    c.put(
        &a,
        &event("cm-1", "20261210T100000Z", "20261210T110000Z"),
        &[],
    )
    .await
    .status(201);
}

#[tokio::test]
async fn issue12_13_copy_and_move_refusals_name_the_right_condition() {
    let env = TestEnv::start().await;
    let c = env.client();
    // R2: an iCloud event cannot be moved away (unbind) or written over.
    copy(&c, "MOVE", WORK_OBJ, &format!("{BLOCKED}w.ics"), &[])
        .await
        .status(403)
        .dav_error("unbind");
    copy(&c, "COPY", OWN_OBJ, WORK_OBJ, &[])
        .await
        .status(403)
        .dav_error("write-content");
    // Read-only calendars take no new members (bind).
    for cal in ["work", "availability"] {
        copy(
            &c,
            "COPY",
            OWN_OBJ,
            &format!("/dav/demo/demo/{cal}/new.ics"),
            &[],
        )
        .await
        .status(403)
        .dav_error("bind");
    }
    // RFC 4918 §9.8.5: onto itself 403; no parent collection 409; no Destination 400.
    copy(&c, "MOVE", OWN_OBJ, OWN_OBJ, &[])
        .await
        .status(403)
        .dav_error("error");
    copy(&c, "COPY", OWN_OBJ, "/dav/demo/demo/nosuch/x.ics", &[])
        .await
        .status(409)
        .dav_error("error");
    copy(
        &c,
        "COPY",
        OWN_OBJ,
        "http://elsewhere.example/dav/acme/bob/primary/x.ics",
        &[],
    )
    .await
    .status(409);
    send(&c, "MOVE", OWN_OBJ, &[])
        .await
        .status(400)
        .dav_error("error");
    // Nothing moved.
    c.get(OWN_OBJ).await.status(200);
    c.get(WORK_OBJ).await.status(200);
    // A copy of an iCloud event is the user's own, local object.
    let mine = format!("{BLOCKED}copied-from-icloud.ics");
    copy(&c, "COPY", WORK_OBJ, &mine, &[]).await.status(201);
    let privs = privileges(&c.propfind(&mine, "0", PRIV).await.status(207));
    assert!(privs.contains(&"write-content".to_string()), "{privs:?}");
}

#[tokio::test]
async fn issue12_13_privileges_list_only_what_is_allowed() {
    let env = TestEnv::start().await;
    let c = env.client();
    // An own object: its content can change; PROPPATCH is refused, so
    // neither write-properties nor the write aggregate is listed.
    let own = privileges(&c.propfind(OWN_OBJ, "0", PRIV).await.status(207));
    assert!(own.contains(&"write-content".to_string()), "{own:?}");
    assert!(!own.contains(&"write-properties".to_string()), "{own:?}");
    assert!(!own.contains(&"write".to_string()), "{own:?}");
    c.request("PROPPATCH", OWN_OBJ, &[], PROPPATCH)
        .await
        .status(403)
        .dav_error("write-properties");
    // A writable calendar lists bind and unbind, and both work (PUT, DELETE, MOVE).
    let col = privileges(&c.propfind(BLOCKED, "0", PRIV).await.status(207));
    for p in ["bind", "unbind", "write-properties"] {
        assert!(col.contains(&p.to_string()), "{p} missing: {col:?}");
    }
    c.request("PROPPATCH", BLOCKED, &[], PROPPATCH)
        .await
        .status(207);
    // The home and the root list read only, and refuse writes with 405.
    for path in ["/dav/", HOME] {
        let privs = privileges(&c.propfind(path, "0", PRIV).await.status(207));
        assert!(
            privs.iter().all(|p| p.starts_with("read")),
            "{path}: {privs:?}"
        );
        let a = c
            .request("PROPPATCH", path, &[], PROPPATCH)
            .await
            .status(405);
        assert_eq!(a.header("allow").as_deref(), Some(ALLOW_PRINCIPAL));
    }
}

#[tokio::test]
async fn issue12_13_r1_move_into_primary_goes_to_icloud_and_out_of_it_is_deleted_there() {
    let ic = Icloud::start(true).await;
    let blocked = "/dav/demo/ann/blocked";
    let primary = "/dav/demo/ann/primary";
    let c = &ic.ann;
    c.put(
        &format!("{blocked}/m.ics"),
        &event("cm-r1", "20261214T100000Z", "20261214T110000Z"),
        &[],
    )
    .await
    .status(201);
    assert!(
        ic.sim.find_by_uid("cm-r1").is_empty(),
        "R3: blocked/ stays local"
    );
    // Into primary/: a system event, delivered once.
    copy(
        c,
        "MOVE",
        &format!("{blocked}/m.ics"),
        &format!("{primary}/m.ics"),
        &[],
    )
    .await
    .status(201);
    assert_eq!(ic.sim.find_by_uid("cm-r1").len(), 1);
    // Renamed within primary/: still one copy in iCloud, never deleted there.
    ic.sim.clear_requests();
    copy(
        c,
        "MOVE",
        &format!("{primary}/m.ics"),
        &format!("{primary}/n.ics"),
        &[],
    )
    .await
    .status(201);
    assert_eq!(ic.sim.find_by_uid("cm-r1").len(), 1);
    assert!(
        !ic.sim.requests().iter().any(|r| r.method == "DELETE"),
        "{:?}",
        ic.sim.requests()
    );
    ic.sync().await;
    assert_eq!(
        ic.names("primary")
            .await
            .iter()
            .filter(|n| n.contains("cm-r1") || *n == "n.ics")
            .count(),
        1,
        "a sync neither duplicates nor loses the renamed event"
    );
    // COPY into blocked/ leaves iCloud alone; MOVE out of primary/ deletes it there.
    copy(
        c,
        "COPY",
        &format!("{primary}/n.ics"),
        &format!("{blocked}/kept.ics"),
        &[],
    )
    .await
    .status(201);
    assert_eq!(ic.sim.find_by_uid("cm-r1").len(), 1);
    c.request("DELETE", &format!("{blocked}/kept.ics"), &[], "")
        .await
        .status(204);
    copy(
        c,
        "MOVE",
        &format!("{primary}/n.ics"),
        &format!("{blocked}/out.ics"),
        &[],
    )
    .await
    .status(201);
    assert!(ic.sim.find_by_uid("cm-r1").is_empty(), "deleted in iCloud");
    c.get(&format!("{blocked}/out.ics")).await.status(200);
    assert!(ic.env.app.store.outbox_len() == 0, "nothing left to push");
}

// ---- #14: smaller deviations ----

#[tokio::test]
async fn issue12_14_rfc4918_9_7_1_put_and_9_3_1_mkcol_under_a_missing_collection_are_409() {
    let env = TestEnv::start().await;
    let c = env.client();
    let body = event("nowhere", "20261210T100000Z", "20261210T110000Z");
    c.put("/dav/demo/demo/nosuch/x.ics", &body, &[])
        .await
        .status(409)
        .dav_error("error");
    c.put("/dav/demo/demo/primary/sub/x.ics", &body, &[])
        .await
        .status(409);
    for path in ["/dav/demo/demo/nosuch/sub/", "/dav/demo/demo/primary/a/b/"] {
        send(&c, "MKCOL", path, &[])
            .await
            .status(409)
            .dav_error("error");
    }
}

#[tokio::test]
async fn issue12_14_mkcol_inside_a_calendar_is_403_and_on_existing_resources_405() {
    let env = TestEnv::start().await;
    let c = env.client();
    for path in ["/dav/demo/demo/primary/sub/", "/dav/demo/demo/primary/sub"] {
        send(&c, "MKCOL", path, &[])
            .await
            .status(403)
            .dav_error("error");
        send(&c, "MKCALENDAR", path, &[])
            .await
            .status(403)
            .dav_error("calendar-collection-location-ok");
    }
    for (path, allow) in [
        (PRIMARY, ALLOW_COLLECTION),
        (HOME, ALLOW_PRINCIPAL),
        (OWN_OBJ, ALLOW_OBJECT),
    ] {
        let a = send(&c, "MKCOL", path, &[]).await.status(405);
        assert_eq!(a.header("allow").as_deref(), Some(allow), "{path}");
    }
    // Nothing was made.
    c.propfind("/dav/demo/demo/primary/sub/", "0", "")
        .await
        .status(404);
}

#[tokio::test]
async fn issue12_14_rfc4918_9_1_depth_infinity_is_403_propfind_finite_depth() {
    let env = TestEnv::start().await;
    let c = env.client();
    for path in ["/dav/", HOME, PRIMARY] {
        c.propfind(path, "infinity", "")
            .await
            .status(403)
            .dav_error("propfind-finite-depth");
    }
    // On an object depth means nothing.
    c.propfind(OWN_OBJ, "infinity", "").await.status(207);
}

#[tokio::test]
async fn issue12_14_allprop_has_no_404_propstat_for_properties_nobody_asked_for() {
    let env = TestEnv::start().await;
    let c = env.client();
    for path in [HOME, PRIMARY, BLOCKED, OWN_OBJ] {
        for body in [
            "",
            r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>"#,
            r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:propname/></d:propfind>"#,
        ] {
            let a = c.propfind(path, "1", body).await.status(207);
            // The status line, not any "404" inside an ETag or a sync token.
            assert!(
                !a.text().contains("HTTP/1.1 404"),
                "{path} {body}:\n{}",
                a.text()
            );
            assert!(a.text().contains("resourcetype"), "{}", a.text());
        }
    }
    // allprop with include: its own properties plus the included one,
    // which (unset on blocked/) is the only 404.
    let include = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:i="http://apple.com/ns/ical/"><d:allprop/><d:include><i:calendar-color/></d:include></d:propfind>"#;
    let t = c.propfind(BLOCKED, "0", include).await.status(207).text();
    assert!(t.contains("resourcetype") && t.contains("getctag"), "{t}");
    assert_eq!(t.matches("HTTP/1.1 404").count(), 1, "{t}");
    assert!(t.contains("calendar-color"), "{t}");
    assert!(!t.contains("calendar-description"), "{t}");
}

#[tokio::test]
async fn issue12_14_get_content_type_and_getcontenttype_are_one_value() {
    let env = TestEnv::start().await;
    let c = env.client();
    let q = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getcontenttype/></d:prop></d:propfind>"#;
    for path in [OWN_OBJ, WORK_OBJ] {
        let get = c.get(path).await.status(200);
        let ct = get.header("content-type").expect("Content-Type");
        let prop = c.propfind(path, "0", q).await.status(207).text();
        assert!(
            prop.contains(&format!(">{ct}<")),
            "GET says {ct}, PROPFIND:\n{prop}"
        );
        assert!(ct.starts_with("text/calendar"), "{ct}");
    }
}

#[tokio::test]
async fn issue12_14_unknown_dav_paths_ask_for_credentials_before_404() {
    let env = TestEnv::start().await;
    let anon = env.anonymous();
    for path in [
        "/dav/nobody",
        "/dav/demo/nobody/",
        "/dav/demo/demo/nosuch/",
        "/dav/demo/demo/primary/a/b.ics",
        "/dav/demo/demo/primary/%FF.ics",
        "/dav",
    ] {
        for m in ["PROPFIND", "GET", "PUT", "DELETE"] {
            let a = send(&anon, m, path, &[]).await;
            if path == "/dav" && m == "GET" {
                continue; // `/dav` is the public context path.
            }
            assert_eq!(a.status, 401, "{m} {path}: {}", a.text());
            assert!(
                a.header("www-authenticate")
                    .unwrap_or_default()
                    .starts_with("Basic"),
                "{m} {path}"
            );
        }
        let known = env.client().propfind(path, "0", "").await;
        if path != "/dav" {
            assert_eq!(known.status, 404, "{path}");
        }
    }
    // Outside /dav/ a path that names nothing is still a plain 404.
    anon.get("/nowhere/at/all").await.status(404);
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
