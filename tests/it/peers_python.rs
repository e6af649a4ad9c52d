//! Real clients: python `caldav` drives calproxy end to end, and
//! `caldav-server-tester` checks it (result recorded in the README).

use std::time::Duration;

use tokio::process::Command;

use crate::support::env::TestEnv;
use crate::support::peers;

#[tokio::test]
async fn python_caldav_client_round_trip() {
    let python = peers::venv_tool("python");
    let env = TestEnv::start().await;
    let mut cmd = Command::new(python);
    cmd.arg(peers::repo().join("tests/peers/caldav_client.py"))
        .arg(format!("{}/", env.base()))
        .args(["demo", "demo"]);
    let out = peers::run(cmd, Duration::from_secs(120)).await;
    assert!(
        out.status.success(),
        "python caldav scenario failed\n{}",
        peers::show(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ALL OK"), "{}", peers::show(&out));
}

#[tokio::test]
async fn python_caldav_one_way_contract_against_simulated_icloud() {
    let python = peers::venv_tool("python");
    let ic = crate::support::icloud::Icloud::start(true).await;
    let mut cmd = Command::new(python);
    cmd.arg(peers::repo().join("tests/peers/caldav_contract.py"))
        .arg(format!("{}/", ic.env.base()))
        .args(["ann@demo", "pw"]);
    let out = peers::run(cmd, Duration::from_secs(120)).await;
    assert!(
        out.status.success(),
        "python caldav contract scenario failed\n{}",
        peers::show(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ALL OK"), "{}", peers::show(&out));
    let ids: serde_json::Value = stdout
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .expect("uids line");
    let system = ids["system_uid"].as_str().unwrap();
    let blocked = ids["blocked_uid"].as_str().unwrap();
    // R1: the system event is in iCloud, once, in the primary calendar.
    let found = ic.sim.find_by_uid(system);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "home");
    // R3: the blocked slot never reached iCloud.
    ic.env.app.outbox.drain(true).await.unwrap();
    assert!(ic.sim.find_by_uid(blocked).is_empty());
    assert!(!ic.sim.requests().iter().any(|r| r.body.contains(blocked)));
}
