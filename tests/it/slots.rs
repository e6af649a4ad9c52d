//! Issue 13 #1: the free-slots API (`GET /api/{t}/{u}/slots`) and
//! `calproxy slots` — hand-checked cases (a busy block with buffers, DST
//! changes in Europe/Berlin and America/New_York, an all-day event under
//! both switch settings, travel time), the limits (400 naming them),
//! authentication (Basic or a console session, own user only), and the
//! sources summary (stale and failing calendars are reported).

use std::time::Duration;

use calproxy::admin::{ConfigureArgs, Request, SettingsArgs, UserArgs};
use calproxy::ical::AllDay;
use calproxy::ids::{
    CalendarId, CollectionKey, ConnectionId, ObjectName, TenantId, UserId, UserRef,
};
use serde_json::Value;

use crate::support::client::DavClient;
use crate::support::console::Browser;
use crate::support::env::TestEnv;
use crate::support::icloud::{self, admin_ok, Icloud};
use crate::support::{ics, process};

/// `configure` for demo/`user` with only settings.
pub fn settings(user: &str, f: impl FnOnce(&mut SettingsArgs)) -> Request {
    let mut s = SettingsArgs::default();
    f(&mut s);
    Request::Configure(ConfigureArgs {
        who: UserArgs {
            tenant: TenantId::new("demo").unwrap(),
            user: UserId::new(user).unwrap(),
        },
        primary: None,
        conflicts: vec![],
        conflict_users: vec![],
        privacy: None,
        settings: s,
    })
}

/// A new user of tenant demo with working hours (and a zone).
async fn user_with_hours(env: &TestEnv, name: &str, tz: &str, hours: &str) -> DavClient {
    let c = icloud::add_user(env, "demo", name);
    admin_ok(
        env,
        settings(name, |s| {
            s.timezone = Some(tz.into());
            s.hours = Some(hours.into());
        }),
    )
    .await;
    c
}

async fn slots(c: &DavClient, user: &str, query: &str) -> Value {
    let a = c
        .get(&format!("/api/demo/{user}/slots?{query}"))
        .await
        .status(200);
    assert_eq!(
        a.header("content-type").as_deref(),
        Some("application/json")
    );
    serde_json::from_slice(&a.body).unwrap()
}

fn starts(v: &Value) -> Vec<String> {
    v["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap().to_string())
        .collect()
}

fn locals(v: &Value) -> Vec<String> {
    v["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start_local"].as_str().unwrap().to_string())
        .collect()
}

fn at(day: &str, times: &[&str]) -> Vec<String> {
    times.iter().map(|t| format!("{day}T{t}:00Z")).collect()
}

const TUESDAY: &str = "start=2027-03-02T00:00:00Z&end=2027-03-03T00:00:00Z";

#[tokio::test]
async fn issue_13_slots_around_a_busy_block_with_buffers() {
    let env = TestEnv::start().await;
    let c = user_with_hours(&env, "ann", "UTC", "Mon-Fri 09:00-17:00").await;
    c.put(
        "/dav/demo/ann/blocked/m.ics",
        &ics::event("m-1", "20270302T120000Z", "20270302T130000Z", "Meeting"),
        &[],
    )
    .await
    .status(201);
    let v = slots(
        &c,
        "ann",
        &format!("{TUESDAY}&duration=PT30M&buffer_before=PT10M&buffer_after=PT10M"),
    )
    .await;
    // 11:30 would end at the meeting with no 10 minutes after it, 13:00
    // start right after it; the 30-minute grid resumes at 13:30.
    assert_eq!(
        starts(&v),
        at(
            "2027-03-02",
            &[
                "09:00", "09:30", "10:00", "10:30", "11:00", "13:30", "14:00", "14:30", "15:00",
                "15:30", "16:00", "16:30"
            ]
        ),
        "{v}"
    );
    assert_eq!(v["slots"][0]["end"], "2027-03-02T09:30:00Z");
    assert_eq!(v["slots"][0]["start_local"], "2027-03-02T09:00:00Z");
    assert_eq!(v["duration"], "PT30M");
    assert_eq!(v["interval"], "PT30M");
    assert_eq!(v["buffer_before"], "PT10M");
    assert_eq!(v["working_hours"]["weekly"], "Mon-Fri 09:00-17:00");
    assert_eq!(v["complete"], true);
    let cals: Vec<&str> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["calendar"].as_str().unwrap())
        .collect();
    assert!(
        cals.contains(&"blocked") && cals.contains(&"primary"),
        "{v}"
    );
    // The user's own buffer around every busy block (15 minutes after):
    // 13:00 is now busy time, 11:30 is free again without the query's buffers.
    admin_ok(
        &env,
        settings("ann", |s| s.buffer_after = Some("PT15M".into())),
    )
    .await;
    let v = slots(&c, "ann", &format!("{TUESDAY}&duration=PT30M")).await;
    assert_eq!(
        starts(&v),
        at(
            "2027-03-02",
            &[
                "09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "13:30", "14:00", "14:30",
                "15:00", "15:30", "16:00", "16:30"
            ]
        )
    );
}

#[tokio::test]
async fn issue_13_slots_keep_wall_clock_across_dst_in_berlin_and_new_york() {
    let env = TestEnv::start().await;
    // Europe/Berlin springs forward on Sunday 2027-03-28.
    let c = user_with_hours(&env, "ann", "Europe/Berlin", "Sat-Sun 09:00-11:00").await;
    // Sunday 09:00-10:00 CEST is busy.
    c.put(
        "/dav/demo/ann/blocked/sun.ics",
        &ics::event("sun-1", "20270328T070000Z", "20270328T080000Z", "Brunch"),
        &[],
    )
    .await
    .status(201);
    let v = slots(
        &c,
        "ann",
        "start=2027-03-27T00:00:00Z&end=2027-03-29T00:00:00Z&duration=PT1H",
    )
    .await;
    assert_eq!(
        starts(&v),
        [
            "2027-03-27T08:00:00Z",
            "2027-03-27T09:00:00Z",
            "2027-03-28T08:00:00Z"
        ]
    );
    assert_eq!(
        locals(&v),
        [
            "2027-03-27T09:00:00+01:00",
            "2027-03-27T10:00:00+01:00",
            "2027-03-28T10:00:00+02:00"
        ]
    );
    assert_eq!(v["tz"], "Europe/Berlin");
    // America/New_York falls back on Sunday 2027-11-07; asked in Berlin time.
    let b = user_with_hours(&env, "bob", "America/New_York", "Sat-Sun 09:00-10:00").await;
    let v = slots(
        &b,
        "bob",
        "start=2027-11-06T00:00:00Z&end=2027-11-08T06:00:00Z&duration=PT30M&tz=Europe%2FBerlin",
    )
    .await;
    assert_eq!(
        starts(&v),
        [
            "2027-11-06T13:00:00Z",
            "2027-11-06T13:30:00Z",
            "2027-11-07T14:00:00Z",
            "2027-11-07T14:30:00Z"
        ]
    );
    assert_eq!(
        locals(&v),
        [
            "2027-11-06T14:00:00+01:00",
            "2027-11-06T14:30:00+01:00",
            "2027-11-07T15:00:00+01:00",
            "2027-11-07T15:30:00+01:00"
        ]
    );
    assert_eq!(v["working_hours"]["zone"], "America/New_York");
}

fn all_day(uid: &str, date: &str, extra: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20270101T000000Z\r\nDTSTART;VALUE=DATE:{date}\r\nSUMMARY:Holiday\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// Waits (bounded) until the views' worker has made the object's stored
/// time answers again for its owner's current settings.
async fn rederived(env: &TestEnv, key: &CollectionKey, name: &str) {
    let name = ObjectName::new(name).unwrap();
    let want = env.app.store.busy_settings(&key.owner()).fingerprint();
    for _ in 0..200 {
        if env.app.store.derived(key, &name).unwrap().unwrap().settings == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("stored answers of {name} not made again for the new settings");
}

#[tokio::test]
async fn issue_13_all_day_event_under_both_switch_settings() {
    let env = TestEnv::start().await;
    let c = user_with_hours(&env, "ann", "UTC", "Mon-Fri 09:00-17:00").await;
    c.put(
        "/dav/demo/ann/blocked/wed.ics",
        &all_day("wed", "20270303", ""),
        &[],
    )
    .await
    .status(201);
    c.put(
        "/dav/demo/ann/blocked/thu.ics",
        &all_day("thu", "20270304", "TRANSP:OPAQUE\r\n"),
        &[],
    )
    .await
    .status(201);
    let q = "start=2027-03-03T00:00:00Z&end=2027-03-05T00:00:00Z&duration=PT1H";
    assert_eq!(starts(&slots(&c, "ann", q).await), Vec::<String>::new());
    admin_ok(
        &env,
        settings("ann", |s| s.all_day = Some(AllDay::FreeUnlessOpaque)),
    )
    .await;
    let hours = [
        "09:00", "10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00",
    ];
    assert_eq!(
        starts(&slots(&c, "ann", q).await),
        at("2027-03-03", &hours),
        "Wednesday's holiday without TRANSP is free; Thursday's OPAQUE one stays busy"
    );
    // The switch is in the stored answers, not a computation on the side.
    let who = UserRef::new(
        &TenantId::new("demo").unwrap(),
        &UserId::new("ann").unwrap(),
    );
    let blocked = CollectionKey::of(&who, &CalendarId::new("blocked").unwrap());
    rederived(&env, &blocked, "wed.ics").await;
    let d = env
        .app
        .store
        .derived(&blocked, &ObjectName::new("wed.ics").unwrap())
        .unwrap()
        .unwrap();
    assert!(d.busy.is_empty(), "{d:?}");
    assert_eq!(starts(&slots(&c, "ann", q).await), at("2027-03-03", &hours));
    // Back to the default: busy again.
    admin_ok(&env, settings("ann", |s| s.all_day = Some(AllDay::Busy))).await;
    assert!(starts(&slots(&c, "ann", q).await).is_empty());
}

#[tokio::test]
async fn issue_13_apple_travel_time_is_not_offered() {
    let env = TestEnv::start().await;
    let c = user_with_hours(&env, "ann", "UTC", "Mon-Fri 09:00-12:00").await;
    let ev = ics::event("drive", "20270302T100000Z", "20270302T110000Z", "Offsite").replace(
        "SUMMARY:Offsite\r\n",
        "SUMMARY:Offsite\r\nX-APPLE-TRAVEL-DURATION;VALUE=DURATION:PT30M\r\nX-APPLE-TRAVEL-RETURN-DURATION;VALUE=DURATION:PT30M\r\n",
    );
    c.put("/dav/demo/ann/blocked/drive.ics", &ev, &[])
        .await
        .status(201);
    let q = format!("{TUESDAY}&duration=PT30M");
    assert_eq!(
        starts(&slots(&c, "ann", &q).await),
        at("2027-03-02", &["09:00", "11:30"]),
        "the drive there (09:30) and back (11:00) are busy"
    );
    let why = c
        .get("/api/demo/ann/busy?start=2027-03-02T00:00:00Z&end=2027-03-03T00:00:00Z")
        .await
        .status(200);
    let why: Value = serde_json::from_slice(&why.body).unwrap();
    assert_eq!(why[0]["start"], "2027-03-02T09:30:00Z", "{why}");
    assert_eq!(why[0]["end"], "2027-03-02T11:30:00Z", "{why}");
    admin_ok(
        &env,
        settings("ann", |s| s.travel_time = Some(calproxy::admin::OnOff::Off)),
    )
    .await;
    assert_eq!(
        starts(&slots(&c, "ann", &q).await),
        at("2027-03-02", &["09:00", "09:30", "11:00", "11:30"])
    );
}

#[tokio::test]
async fn issue_13_limits_are_400_with_the_limit_named() {
    let env = TestEnv::start().await;
    let c = env.client();
    for (query, want) in [
        (
            "start=2027-03-01T00:00:00Z&end=2027-05-02T00:00:01Z&duration=PT30M",
            "at most 62 days",
        ),
        (
            &format!("{TUESDAY}&duration=PT4M") as &str,
            "between 5 minutes and 24 hours",
        ),
        (
            &format!("{TUESDAY}&duration=PT24H5M"),
            "between 5 minutes and 24 hours",
        ),
        (
            &format!("{TUESDAY}&duration=PT30M&interval=PT2M"),
            "interval must be between 5 minutes and 24 hours",
        ),
        (
            &format!("{TUESDAY}&duration=PT30M&buffer_after=P2D"),
            "buffer_after must be between 0 and 24 hours",
        ),
        (TUESDAY, "duration must be an ISO 8601 duration"),
        (
            &format!("{TUESDAY}&duration=PT30M&tz=Nowhere"),
            "IANA time zone",
        ),
        (
            "start=2027-03-02T00:00:00Z&duration=PT30M",
            "start and end are required",
        ),
        (
            "start=2027-03-03T00:00:00Z&end=2027-03-02T00:00:00Z&duration=PT30M",
            "end after start",
        ),
    ] {
        let a = c
            .get(&format!("/api/demo/demo/slots?{query}"))
            .await
            .status(400);
        let v: Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(v["status"], 400);
        let msg = v["error"].as_str().unwrap();
        assert!(msg.contains(want), "{query}: {msg}");
    }
    // At the limits it answers.
    c.get("/api/demo/demo/slots?start=2027-03-01T00:00:00Z&end=2027-05-02T00:00:00Z&duration=PT5M")
        .await
        .status(200);
}

#[tokio::test]
async fn issue_13_slots_are_the_signed_in_users_own_only() {
    let env = TestEnv::start().await;
    icloud::add_user(&env, "demo", "ann");
    icloud::add_user(&env, "other", "ann");
    let path = format!("/api/demo/demo/slots?{TUESDAY}&duration=PT30M");
    // Without credentials: 401 with the Basic challenge.
    let a = env.anonymous().get(&path).await.status(401);
    assert!(a.header("www-authenticate").unwrap().starts_with("Basic"));
    // Another user of the tenant, another tenant's user with the same name.
    let ann = DavClient::new(env.base(), Some(("ann@demo", "pw")));
    ann.get(&path).await.status(404);
    let other = DavClient::new(env.base(), Some(("ann@other", "pw")));
    other.get(&path).await.status(404);
    other
        .get(&format!("/api/demo/ann/slots?{TUESDAY}&duration=PT30M"))
        .await
        .status(404);
    env.client()
        .get(&format!("/api/demo/ann/slots?{TUESDAY}&duration=PT30M"))
        .await
        .status(404);
    env.client().get(&path).await.status(200);
    // A wrong password is still 401.
    DavClient::new(env.base(), Some(("demo", "wrong")))
        .get(&path)
        .await
        .status(401);
    // A console session stands in for Basic auth: own user only.
    let mut b = Browser::signed_in(&env.base(), "demo", "demo").await;
    let a = b.get(&path).await;
    assert_eq!(a.status.as_u16(), 200, "{}", a.text());
    let v: Value = serde_json::from_slice(&a.body).unwrap();
    assert!(v["slots"].is_array());
    let a = b
        .get(&format!("/api/demo/ann/slots?{TUESDAY}&duration=PT30M"))
        .await;
    assert_eq!(a.status.as_u16(), 404);
    // The busy API takes the session too.
    let a = b
        .get("/api/demo/demo/busy?start=2026-11-30T00:00:00Z&end=2026-12-01T00:00:00Z")
        .await;
    assert_eq!(a.status.as_u16(), 200);
    // A signed-out (unknown) session is 401.
    b.session = Some("0".repeat(64));
    assert_eq!(b.get(&path).await.status.as_u16(), 401);
}

fn source<'a>(v: &'a Value, calendar: &str) -> &'a Value {
    v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["calendar"] == calendar)
        .unwrap_or_else(|| panic!("no source {calendar} in {v}"))
}

#[tokio::test]
async fn issue_13_stale_and_failing_sources_are_reported_never_silent() {
    let ic = Icloud::start(true).await;
    let q = "start=2026-11-30T00:00:00Z&end=2026-12-01T00:00:00Z&duration=PT30M";
    let v = slots(&ic.ann, "ann", q).await;
    assert_eq!(v["complete"], true, "{v}");
    for cal in ["primary", "work"] {
        let s = source(&v, cal);
        assert_eq!(s["status"], "ok", "{v}");
        assert_eq!(s["connection"], "icloud");
        assert!(s["last_sync"].is_string());
    }
    assert_eq!(source(&v, "blocked")["status"], "ok");
    assert!(source(&v, "blocked").get("connection").is_none());
    // No sync for a day (more than 3 sync intervals): stale.
    let id = ConnectionId::new("icloud").unwrap();
    let day_ago = chrono::Utc::now().timestamp() - 86_400;
    ic.env
        .app
        .store
        .update_connection(&id, |c| c.last_sync = Some(day_ago))
        .unwrap();
    let v = slots(&ic.ann, "ann", q).await;
    assert_eq!(v["complete"], false, "{v}");
    let work = source(&v, "work");
    assert_eq!(work["status"], "stale");
    assert!(
        work["reason"]
            .as_str()
            .unwrap()
            .contains("last synced 24 hours ago"),
        "{work}"
    );
    assert!(v["slots"].is_array(), "the slots are still given, marked");
    // The last sync failed: failing, with the error.
    ic.sim.faults().fail_all(Some((500, None)));
    let _ = icloud::admin(&ic.env, Request::Sync(Default::default())).await;
    let v = slots(&ic.ann, "ann", q).await;
    assert_eq!(v["complete"], false);
    assert_eq!(source(&v, "primary")["status"], "failing", "{v}");
    assert!(source(&v, "primary")["reason"]
        .as_str()
        .unwrap()
        .starts_with("the last sync failed"));
    // iCloud refuses the password: failing, with what to do.
    ic.sim.faults().fail_all(Some((401, None)));
    let _ = ic.env.app.engine.sync_and_record(&id, Duration::ZERO).await;
    let v = slots(&ic.ann, "ann", q).await;
    assert!(
        source(&v, "work")["reason"]
            .as_str()
            .unwrap()
            .contains("app-specific password"),
        "{v}"
    );
    assert_eq!(
        source(&v, "blocked")["status"],
        "ok",
        "local is never stale"
    );
}

#[tokio::test]
async fn issue_13_cli_configure_hours_and_slots_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let with = |args: &[&'static str]| {
        let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        v.extend(["--data".to_string(), data.to_string()]);
        v
    };
    let run = |v: Vec<String>| async move {
        let args: Vec<&str> = v.iter().map(String::as_str).collect();
        process::cli_ok(&args, "pw-long-enough\n").await
    };
    run(with(&["user", "add", "--tenant", "t", "--user", "a"])).await;
    let out = run(with(&[
        "configure",
        "--tenant",
        "t",
        "--user",
        "a",
        "--timezone",
        "Europe/Berlin",
        "--hours",
        "Mon-Fri 09:00-12:00,13:00-17:00",
        "--hours-exception",
        "2027-03-03 off",
        "--tentative",
        "busy",
    ]))
    .await;
    for line in [
        "time zone Europe/Berlin",
        "working hours Mon-Fri 09:00-12:00,13:00-17:00",
        "except 2027-03-03 off",
        "tentative and unanswered invitations busy",
        "all-day events busy",
        "travel time busy",
    ] {
        assert!(out.contains(line), "{line:?} in\n{out}");
    }
    let (ok, bad) = process::cli(
        &with(&[
            "configure",
            "--tenant",
            "t",
            "--user",
            "a",
            "--hours",
            "Mo 9-5",
        ])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
        "",
        &[],
    )
    .await;
    assert!(!ok && bad.contains("--hours"), "{bad}");
    let slots = with(&[
        "slots",
        "--tenant",
        "t",
        "--user",
        "a",
        "--from",
        "2027-03-02T00:00:00Z",
        "--to",
        "2027-03-04T00:00:00Z",
        "--duration",
        "PT2H",
    ]);
    let text = run(slots.clone()).await;
    assert!(
        text.starts_with("3 slots of PT2H every PT2H in Europe/Berlin; working hours Mon-Fri 09:00-12:00,13:00-17:00 (Europe/Berlin)\n2027-03-02 09:00 13:00 15:00\n"),
        "{text}"
    );
    let mut json = slots;
    json.push("--json".into());
    let v: Value = serde_json::from_str(&run(json).await).unwrap();
    assert_eq!(v["slots"][0]["start"], "2027-03-02T08:00:00Z");
    assert_eq!(v["working_hours"]["exceptions"][0], "2027-03-03 off");
    let (ok, out) = process::cli(
        &with(&[
            "slots",
            "--tenant",
            "t",
            "--user",
            "a",
            "--from",
            "2027-03-02T00:00:00Z",
            "--to",
            "2027-06-02T00:00:00Z",
            "--duration",
            "PT2H",
        ])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
        "",
        &[],
    )
    .await;
    assert!(!ok && out.contains("at most 62 days"), "{out}");
}
