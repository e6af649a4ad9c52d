//! Issue 12, the command line and the process: quiet exit on a closed pipe
//! (#9), plain log lines off a terminal (#9), the VTODO refusal's wording
//! (#9), the warning for clear text beyond loopback (#7), private modes of
//! the data directory (#4) and the minimum password length (#5).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

use crate::support::client::DavClient;
use crate::support::env::TestEnv;
use crate::support::process::{self, BIN};

/// Runs `calproxy ARGS` with its standard output closed before it writes.
async fn with_closed_stdout(args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("calproxy starts");
    drop(child.stdout.take()); // the reader is gone: every write gets EPIPE
    let mut err = String::new();
    let mut stderr = child.stderr.take().expect("stderr");
    let status = tokio::time::timeout(Duration::from_secs(60), async {
        let _ = stderr.read_to_string(&mut err).await;
        child.wait().await.expect("wait")
    })
    .await
    .expect("calproxy finished");
    (status, err)
}

#[tokio::test]
async fn issue_12_9_commands_exit_quietly_when_the_reader_of_their_output_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    for args in [
        &["traffic", "list", "--data", data][..],
        &["status", "--data", data][..],
        &["calendars", "--data", data][..],
    ] {
        let (status, err) = with_closed_stdout(args).await;
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "calproxy {args:?} on a closed pipe:\n{err}"
        );
        // Success, or ended by SIGPIPE like any Unix filter: never a panic (101).
        assert_ne!(status.code(), Some(101), "calproxy {args:?}: {status:?}");
    }
}

/// The base URL from a server's banner (its first line of output).
async fn banner_base(child: &mut tokio::process::Child) -> String {
    let mut out = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), out.next_line())
        .await
        .expect("server did not start")
        .expect("read banner")
        .expect("no banner");
    // Keep reading (and dropping) the rest so the server never blocks on it.
    tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
    first
        .split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .expect("address in banner")
        .trim_end_matches("/dav/")
        .to_string()
}

#[tokio::test]
async fn issue_12_9_log_lines_to_a_pipe_carry_no_colour() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    for no_color in [None, Some("1")] {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data", data])
            .env("RUST_LOG", "info,calproxy::access=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let mut child = cmd.spawn().expect("serve starts");
        let base = banner_base(&mut child).await;
        // One request: one access line on standard error.
        DavClient::new(base, None).get("/healthz").await.status(200);
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("a log line")
            .expect("read")
            .expect("a log line");
        process::kill(child).await;
        assert!(
            !line.contains('\u{1b}'),
            "ANSI escape in a piped log line (NO_COLOR={no_color:?}): {line:?}"
        );
    }
}

#[tokio::test]
async fn issue_12_9_a_vtodo_is_refused_in_words_a_user_understands() {
    let env = TestEnv::start().await;
    let todo = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VTODO\r\nUID:todo-1\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:buy milk\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    let body = env
        .client()
        .put("/dav/demo/demo/blocked/todo-1.ics", todo, &[])
        .await
        .status(403)
        .text();
    assert!(
        body.contains("VTODO is not supported (this server stores events)"),
        "{body}"
    );
}

/// Starts `serve --listen LISTEN` and returns what it writes to standard
/// error in its first seconds.
async fn serve_stderr(listen: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", listen])
        .arg("--data")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("serve starts");
    let _base = banner_base(&mut child).await;
    let mut err = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut text = String::new();
    // The warning comes before the banner; anything later is not it.
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_millis(500), err.next_line()).await
    {
        text.push_str(&line);
        text.push('\n');
    }
    process::kill(child).await;
    text
}

#[tokio::test]
async fn issue_12_7_listening_beyond_loopback_without_tls_warns_what_crosses_in_clear() {
    let text = serve_stderr("0.0.0.0:0").await;
    assert!(text.contains("warning"), "no warning:\n{text}");
    for named in ["clear text", "Basic", "feed"] {
        assert!(
            text.contains(named),
            "the warning does not name {named}:\n{text}"
        );
    }
    let quiet = serve_stderr("127.0.0.1:0").await;
    assert!(!quiet.contains("clear text"), "{quiet}");
}

#[tokio::test]
async fn issue_12_5_user_add_and_admin_add_refuse_a_short_password() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    for args in [
        &[
            "user", "add", "--tenant", "t", "--user", "u", "--data", data,
        ][..],
        &["admin", "add", "--name", "root", "--data", data][..],
    ] {
        let (ok, out) = process::cli(args, "x\n", &[]).await;
        assert!(
            !ok,
            "calproxy {args:?} took a one-character password:\n{out}"
        );
        assert!(out.contains("at least 8 characters"), "{out}");
        let (ok, out) = process::cli(args, "long-enough-1\n", &[]).await;
        assert!(ok, "{out}");
    }
}

/// Every directory under `dir` (itself included) and every file, with its
/// mode, that anyone but the owner may read, write or enter.
fn wider_than_private(dir: &std::path::Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            out.push(format!("{} {mode:o}", p.display()));
        }
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                todo.push(e.unwrap().path());
            }
        }
    }
    out
}

/// Runs `calproxy ARGS` under `umask 022`: a server until its first line of
/// output and 2 s more (then killed), anything else to its end (returns
/// its standard error).
async fn under_umask_022(args: &[&str], stdin: &str, server: bool) -> String {
    let line = std::iter::once(BIN.to_string())
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("umask 022 && exec {line}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("calproxy starts");
    {
        use tokio::io::AsyncWriteExt;
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
    }
    if server {
        let mut out = BufReader::new(child.stdout.take().expect("stdout")).lines();
        tokio::time::timeout(Duration::from_secs(60), out.next_line())
            .await
            .expect("the server did not start")
            .expect("read banner")
            .expect("no banner");
        // Let it settle (snapshots, the admin socket), then stop it hard.
        tokio::time::sleep(Duration::from_secs(2)).await;
        process::kill(child).await;
        String::new()
    } else {
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("finished")
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

#[tokio::test]
async fn issue_12_4_a_fresh_data_directory_is_private_whatever_the_umask() {
    let root = tempfile::tempdir().unwrap();
    for (what, args, stdin, server) in [
        (
            "user add",
            vec!["user", "add", "--tenant", "t", "--user", "u"],
            "long-enough-1\n",
            false,
        ),
        ("serve", vec!["serve", "--listen", "127.0.0.1:0"], "", true),
        ("demo", vec!["demo", "--listen", "127.0.0.1:0"], "", true),
    ] {
        let data = root.path().join(what.replace(' ', "-")).join("data");
        let data_arg = data.to_str().unwrap().to_string();
        let mut all = args.clone();
        all.extend(["--data", &data_arg]);
        under_umask_022(&all, stdin, server).await;
        let wide = wider_than_private(&data);
        assert!(wide.is_empty(), "after {what} under umask 022: {wide:#?}");
    }
}

#[tokio::test]
async fn issue_12_4_an_open_data_directory_is_made_private_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    under_umask_022(
        &[
            "user", "add", "--tenant", "t", "--user", "u", "--data", data_arg,
        ],
        "long-enough-1\n",
        false,
    )
    .await;
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(data.join("db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = under_umask_022(&["status", "--data", data_arg], "", false).await;
    assert!(
        err.contains("warning") && err.contains("0700"),
        "no warning:\n{err}"
    );
    assert!(
        wider_than_private(&data).is_empty(),
        "{:#?}",
        wider_than_private(&data)
    );
}

#[tokio::test]
async fn issue_12_4_feed_tokens_are_not_stored_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    process::cli_ok(
        &[
            "user", "add", "--tenant", "t", "--user", "u", "--data", data,
        ],
        "long-enough-1\n",
    )
    .await;
    let show = [
        "feed", "show", "--tenant", "t", "--user", "u", "--data", data,
    ];
    let url = process::cli_ok(&show, "").await;
    let token = url
        .trim()
        .strip_prefix("/feeds/")
        .and_then(|r| r.strip_suffix("/availability.ics"))
        .unwrap_or_else(|| panic!("{url}"))
        .to_string();
    assert_eq!(
        process::cli_ok(&show, "").await,
        url,
        "feed show prints the same URL again"
    );
    let mut todo = vec![dir.path().to_path_buf()];
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            todo.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if let Ok(bytes) = std::fs::read(&p) {
            let found = bytes.windows(token.len()).any(|w| w == token.as_bytes());
            assert!(!found, "the feed token is in {} in clear", p.display());
        }
    }
    // It still opens the feed.
    let (serve, base) = process::serve(data, &[]).await;
    crate::support::client::DavClient::new(base, None)
        .get(url.trim())
        .await
        .status(200);
    process::kill(serve).await;
}

#[tokio::test]
async fn issue_12_9_serve_and_demo_keep_running_when_their_output_is_gone() {
    for cmd in ["serve", "demo"] {
        // A data directory with wide modes: one more warning nobody reads.
        let dir = tempfile::tempdir().unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut child = Command::new(BIN)
            .args([cmd, "--listen", "0.0.0.0:0", "--data"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("calproxy starts");
        // Nobody reads the banner or the clear-text warning.
        drop(child.stdout.take());
        drop(child.stderr.take());
        tokio::time::sleep(Duration::from_secs(3)).await;
        let status = child.try_wait().expect("wait");
        assert!(status.is_none(), "calproxy {cmd} ended: {status:?}");
        process::kill(child).await;
    }
}
