//! Every CLI command works whether or not `calproxy serve` runs on the same
//! data directory: through the admin socket when it does, by opening the
//! store when it does not (sled allows one process).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_calproxy");

async fn cli(args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .await
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("cli timed out")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn cli_commands_work_with_and_without_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();

    // No server: the CLI opens the store itself.
    let (ok, out) = cli(
        &[
            "user", "add", "--tenant", "t", "--user", "a", "--data", data,
        ],
        "pw-a\n",
    )
    .await;
    assert!(ok, "{out}");
    assert!(out.contains("created user a@t"), "{out}");
    let (ok, out) = cli(&["status", "--data", data], "").await;
    assert!(ok && out.contains("no connections"), "{out}");

    // With a server: the same commands go through the admin socket.
    let mut serve = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data", data])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(serve.stdout.take().unwrap()).lines();
    tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("server did not start")
        .unwrap();
    // The socket appears right after the listener; wait for it (bounded).
    for _ in 0..100 {
        if dir.path().join("admin.sock").exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (ok, out) = cli(
        &[
            "user", "add", "--tenant", "t", "--user", "b", "--data", data,
        ],
        "pw-b\n",
    )
    .await;
    assert!(ok, "{out}");
    assert!(out.contains("created user b@t"), "{out}");
    let (ok, out) = cli(&["status", "--data", data], "").await;
    assert!(ok && out.contains("no connections"), "{out}");
    let (ok, out) = cli(&["calendars", "--data", data], "").await;
    assert!(ok, "{out}");
    let (ok, out) = cli(
        &[
            "configure",
            "--tenant",
            "t",
            "--user",
            "b",
            "--primary",
            "nope",
            "--data",
            data,
        ],
        "",
    )
    .await;
    assert!(!ok && out.contains("no calendar"), "{out}");
    serve.start_kill().unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(10), serve.wait()).await;

    // After the server is gone, the user it created is in the store.
    let (ok, out) = cli(
        &[
            "user", "add", "--tenant", "t", "--user", "b", "--data", data,
        ],
        "pw-b2\n",
    )
    .await;
    assert!(ok && out.contains("updated password of user b@t"), "{out}");
}
