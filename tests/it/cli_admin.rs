//! Every CLI command works whether or not `calproxy serve` runs on the same
//! data directory: through the admin socket when it does, by opening the
//! store when it does not (sled allows one process).

use crate::support::process::{self, cli as run};

async fn cli(args: &[&str], stdin: &str) -> (bool, String) {
    run(args, stdin, &[]).await
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
        "pw-a-long\n",
    )
    .await;
    assert!(ok, "{out}");
    assert!(out.contains("created user a@t"), "{out}");
    let (ok, out) = cli(&["status", "--data", data], "").await;
    assert!(ok && out.contains("no connections"), "{out}");

    // With a server: the same commands go through the admin socket.
    let (serve, _base) = process::serve(data, &[]).await;
    let (ok, out) = cli(
        &[
            "user", "add", "--tenant", "t", "--user", "b", "--data", data,
        ],
        "pw-b-long\n",
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
    process::kill(serve).await;

    // After the server is gone, the user it created is in the store.
    let (ok, out) = cli(
        &[
            "user", "add", "--tenant", "t", "--user", "b", "--data", data,
        ],
        "pw-b2-long\n",
    )
    .await;
    assert!(ok && out.contains("updated password of user b@t"), "{out}");
}
