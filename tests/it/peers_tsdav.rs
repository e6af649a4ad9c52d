//! tsdav, the CalDAV library scheduling tools such as cal.com use, drives
//! calproxy connected to the simulated iCloud: calendars, a time-range
//! fetch, a booking into primary that reaches iCloud, and a refused update
//! of a blocked slot.

use std::time::Duration;

use tokio::process::Command;

use crate::support::icloud::Icloud;
use crate::support::peers;

#[tokio::test]
async fn tsdav_books_into_primary_and_is_refused_on_blocked_slots() {
    let script = peers::node_script("tsdav_client.mjs");
    let ic = Icloud::start(true).await;
    let mut cmd = Command::new("node");
    cmd.arg(script).arg(ic.env.base()).args(["ann@demo", "pw"]);
    let out = peers::run(cmd, Duration::from_secs(60)).await;
    assert!(
        out.status.success(),
        "tsdav scenario failed\n{}",
        peers::show(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ALL OK"), "{}", peers::show(&out));

    // The summary names the UID tsdav created; it reached iCloud once, in `home`.
    let summary: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|v: &serde_json::Value| v.get("created").is_some())
        .unwrap_or_else(|| panic!("no JSON summary\n{}", peers::show(&out)));
    let uid = summary["created"]["uid"].as_str().expect("created.uid");
    let found = ic.sim.find_by_uid(uid);
    assert_eq!(found.len(), 1, "{uid} upstream: {found:?}");
    assert_eq!(found[0].0, "home", "{found:?}");
    assert!(found[0].1.ics.contains("Booked via tsdav"), "{found:?}");
    // The refused update left the blocked slot unchanged upstream.
    let dentist = ic.sim.find_by_uid("demo-dentist@calproxy");
    assert_eq!(dentist.len(), 1, "{dentist:?}");
    assert!(!dentist[0].1.ics.contains("Moved by tsdav"), "{dentist:?}");
}
