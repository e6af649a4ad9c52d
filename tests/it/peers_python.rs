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
