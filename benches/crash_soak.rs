//! `cargo bench --bench crash_soak`: the repeatable crash soak of issue 12
//! (R10: nothing acknowledged is lost, every system event reaches iCloud
//! exactly once).
//!
//! The simulated iCloud runs in this process and answers every request
//! 503 (`fail_all`). `calproxy serve` runs as a child on a data directory
//! connected to it (`home` is the primary calendar). Each round starts the
//! server, checks every write acknowledged so far byte for byte (GET), lets
//! four writers PUT new and changed events into `primary/` (system events,
//! queued for iCloud) and `blocked/` (local only) for a random 0.5–2.5 s,
//! then kills the server with SIGKILL mid-write. A write answered 2xx is
//! "acknowledged" and must be served exactly as sent after every restart;
//! a write in flight at the kill may be found in its old or new version.
//! After the last round iCloud comes back: every acknowledged system event
//! must arrive exactly once, in its last acknowledged version, and no
//! blocked slot may arrive at all.
//!
//! `CRASH_SOAK_ROUNDS` (default 20) and `CRASH_SOAK_SEED` (default 12) vary
//! it. `cargo test --all-targets` runs this binary without `--bench`: it
//! then only checks that it starts. Every wait is bounded.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use calproxy::sim::{self, SimConfig, SimHandle};

const BIN: &str = env!("CARGO_BIN_EXE_calproxy");
const WRITERS: usize = 4;
const PASSWORD: &str = "soak-password-1";
const APP_PASSWORD: &str = "abcd-efgh-ijkl-mnop";

type Http = Client<HttpConnector, Full<Bytes>>;

/// One object as the writers left it.
#[derive(Debug, Clone)]
struct Object {
    collection: &'static str,
    uid: String,
    /// The last acknowledged text and its ETag (`None`: never acknowledged).
    acked: Option<(String, String)>,
    /// A write sent but not answered when the server died.
    pending: Option<String>,
    /// The last version written (an unanswered one may skip a number).
    version: u32,
}

#[derive(Default)]
struct Ledger {
    objects: BTreeMap<String, Object>,
    /// The next new object's number: never reused, even after a create
    /// that never landed is forgotten (reusing `objects.len()` once named
    /// a new object after an existing one: a 412 and a false mismatch).
    next: u64,
    creates: u64,
    updates: u64,
    in_flight_at_kill: u64,
    refused: u64,
}

#[derive(Default, Debug)]
struct Check {
    verified: u64,
    mismatched: u64,
    lost: u64,
}

fn event(uid: &str, version: u32, writer: usize) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calproxy crash soak//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261214T{:02}0000Z\r\nDURATION:PT30M\r\n\
         SUMMARY:{uid} v{version} (writer {writer})\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        8 + version % 10
    )
}

fn auth() -> String {
    let raw = format!("ann@demo:{PASSWORD}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

async fn send(
    http: &Http,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: String,
) -> Result<(u16, Option<String>, Bytes), String> {
    let mut b = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", auth());
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(Full::new(Bytes::from(body))).unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(30), http.request(req))
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let etag = resp
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, etag, body))
}

async fn cli(args: &[&str], stdin: &str) {
    use tokio::io::AsyncWriteExt;
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .await
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("cli timed out")
        .unwrap();
    assert!(
        out.status.success(),
        "calproxy {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts `calproxy serve`; returns the child and its base URL.
async fn serve(data: &str) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data", data])
        .args(["--sync-interval", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("server did not start")
        .unwrap()
        .unwrap();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let base = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches("/dav/")
        .to_string();
    (child, base)
}

fn client() -> Http {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// One writer: creates (70 %) and changes (30 %) its own events until
/// stopped or until the server stops answering.
async fn writer(
    id: usize,
    base: String,
    ledger: Arc<Mutex<Ledger>>,
    stop: CancellationToken,
    seed: u64,
) {
    let http = client();
    let mut rng = StdRng::seed_from_u64(seed);
    while !stop.is_cancelled() {
        let mine: Vec<String> = {
            let l = ledger.lock().unwrap();
            l.objects
                .iter()
                .filter(|(k, o)| k.starts_with(&format!("w{id}-")) && o.acked.is_some())
                .map(|(k, _)| k.clone())
                .collect()
        };
        let (key, text, cond, update) = {
            let mut l = ledger.lock().unwrap();
            if !mine.is_empty() && rng.gen_bool(0.3) {
                let key = mine[rng.gen_range(0..mine.len())].clone();
                let o = l.objects.get_mut(&key).unwrap();
                o.version += 1;
                let text = event(&o.uid, o.version, id);
                o.pending = Some(text.clone());
                let etag = o.acked.as_ref().map(|a| a.1.clone()).unwrap();
                (key, text, ("if-match", etag), true)
            } else {
                let n = l.next;
                l.next += 1;
                let key = format!("w{id}-{n}");
                let collection = if rng.gen_bool(0.5) {
                    "primary"
                } else {
                    "blocked"
                };
                let uid = format!("soak-{key}");
                let text = event(&uid, 1, id);
                l.objects.insert(
                    key.clone(),
                    Object {
                        collection,
                        uid,
                        acked: None,
                        pending: Some(text.clone()),
                        version: 1,
                    },
                );
                (key, text, ("if-none-match", "*".to_string()), false)
            }
        };
        let collection = ledger.lock().unwrap().objects[&key].collection;
        let url = format!("{base}/dav/demo/ann/{collection}/{key}.ics");
        let headers = [("content-type", "text/calendar"), (cond.0, cond.1.as_str())];
        match send(&http, "PUT", &url, &headers, text.clone()).await {
            Ok((201 | 204, etag, _)) => {
                let mut l = ledger.lock().unwrap();
                let o = l.objects.get_mut(&key).unwrap();
                o.acked = Some((text, etag.unwrap_or_default()));
                o.pending = None;
                if update {
                    l.updates += 1;
                } else {
                    l.creates += 1;
                }
            }
            Ok((status, _, body)) => {
                let mut l = ledger.lock().unwrap();
                l.refused += 1;
                l.objects.get_mut(&key).unwrap().pending = None;
                eprintln!(
                    "writer {id}: PUT {key} refused {status}: {}",
                    String::from_utf8_lossy(&body)
                );
            }
            Err(_) => return, // the server was killed: this write stays pending
        }
    }
}

/// GETs every object and compares it with what was acknowledged.
async fn verify(base: &str, ledger: &Mutex<Ledger>) -> Check {
    let http = client();
    let objects: Vec<(String, Object)> =
        ledger.lock().unwrap().objects.clone().into_iter().collect();
    let mut check = Check::default();
    for (key, o) in objects {
        let url = format!("{base}/dav/demo/ann/{}/{key}.ics", o.collection);
        let (status, etag, body) = send(&http, "GET", &url, &[], String::new()).await.unwrap();
        let got = (status == 200).then(|| String::from_utf8_lossy(&body).into_owned());
        let mut l = ledger.lock().unwrap();
        let entry = l.objects.get_mut(&key).unwrap();
        match (&got, &entry.acked, &entry.pending) {
            (Some(g), _, Some(p)) if g == p => {
                // The write in flight at the kill landed: it is acknowledged now.
                entry.acked = Some((g.clone(), etag.unwrap_or_default()));
                check.verified += 1;
            }
            (Some(g), Some((a, _)), _) if g == a => check.verified += 1,
            (None, None, Some(_)) => {
                // A create that never landed: it never existed.
                l.objects.remove(&key);
                continue;
            }
            (None, Some(_), _) => {
                check.lost += 1;
                eprintln!("LOST {key}");
            }
            _ => {
                check.mismatched += 1;
                eprintln!("MISMATCH {key}: {got:?}");
            }
        }
        entry.pending = None;
    }
    check
}

async fn set_up(sim: &SimHandle, data: &str) {
    cli(
        &[
            "user", "add", "--tenant", "demo", "--user", "ann", "--data", data,
        ],
        &format!("{PASSWORD}\n"),
    )
    .await;
    let front = sim.front_url();
    cli(
        &[
            "connect",
            "--tenant",
            "demo",
            "--user",
            "ann",
            "--apple-id",
            "demo@icloud.example",
            "--upstream",
            &front,
            "--id",
            "icloud",
            "--data",
            data,
        ],
        &format!("{APP_PASSWORD}\n"),
    )
    .await;
    cli(
        &[
            "configure",
            "--tenant",
            "demo",
            "--user",
            "ann",
            "--primary",
            "home",
            "--data",
            data,
        ],
        "",
    )
    .await;
    cli(&["sync", "--data", data], "").await;
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("crash soak: run it with `cargo bench --bench crash_soak`");
        return;
    }
    let rounds: usize = std::env::var("CRASH_SOAK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("CRASH_SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let started = Instant::now();
    let stop_sim = CancellationToken::new();
    let fixtures = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/sim");
    let sim = sim::start(SimConfig::demo(fixtures), stop_sim.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_string();
    set_up(&sim, &data).await;
    sim.faults().fail_all(Some((503, Some(1))));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut total = Check::default();
    for round in 1..=rounds {
        let (mut server, base) = serve(&data).await;
        let c = verify(&base, &ledger).await;
        total.verified += c.verified;
        total.mismatched += c.mismatched;
        total.lost += c.lost;
        let stop = CancellationToken::new();
        let tasks: Vec<_> = (0..WRITERS)
            .map(|id| {
                let s = rng.gen();
                tokio::spawn(writer(id, base.clone(), ledger.clone(), stop.clone(), s))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(500..2500))).await;
        server.start_kill().unwrap(); // SIGKILL: no shutdown code runs
        let _ = tokio::time::timeout(Duration::from_secs(10), server.wait()).await;
        stop.cancel();
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(40), t).await;
        }
        let mut l = ledger.lock().unwrap();
        let pending = l.objects.values().filter(|o| o.pending.is_some()).count() as u64;
        l.in_flight_at_kill += pending;
        println!(
            "round {round:>2}: {} objects, {} acknowledged writes so far, {pending} in flight at the kill; checked {} (mismatched {}, lost {})",
            l.objects.len(),
            l.creates + l.updates,
            c.verified,
            c.mismatched,
            c.lost
        );
    }
    // iCloud comes back; one more start checks the last round and delivers.
    sim.faults().fail_all(None);
    let (server, base) = serve(&data).await;
    let c = verify(&base, &ledger).await;
    total.verified += c.verified;
    total.mismatched += c.mismatched;
    total.lost += c.lost;
    let l = ledger.lock().unwrap();
    let system: Vec<&Object> = l
        .objects
        .values()
        .filter(|o| o.collection == "primary" && o.acked.is_some())
        .collect();
    let blocked: Vec<&Object> = l
        .objects
        .values()
        .filter(|o| o.collection == "blocked")
        .collect();
    let delivered_as_acked = |o: &Object| {
        let found = sim.find_by_uid(&o.uid);
        let want = o.acked.as_ref().map(|(t, _)| {
            t.lines()
                .find(|l| l.starts_with("SUMMARY:"))
                .unwrap_or("")
                .to_string()
        });
        found.len() == 1 && want.is_some_and(|w| found[0].1.ics.contains(&w))
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline && !system.iter().all(|o| delivered_as_acked(o)) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let arrived = system.iter().filter(|o| delivered_as_acked(o)).count();
    let duplicates: usize = system
        .iter()
        .map(|o| sim.find_by_uid(&o.uid).len().saturating_sub(1))
        .sum();
    let leaked = blocked
        .iter()
        .filter(|o| !sim.find_by_uid(&o.uid).is_empty())
        .count();
    drop(server);
    let secs = started.elapsed().as_secs_f64();
    println!();
    println!("| rounds | writers | acknowledged writes (new / changed) | in flight at a kill | checks byte for byte | mismatched | lost | system events | arrived once, last version | duplicates | blocked slots sent | time |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    println!(
        "| {rounds} | {WRITERS} | {} ({} / {}) | {} | {} | {} | {} | {} | {arrived} | {duplicates} | {leaked} | {secs:.0} s |",
        l.creates + l.updates,
        l.creates,
        l.updates,
        l.in_flight_at_kill,
        total.verified,
        total.mismatched,
        total.lost,
        system.len(),
    );
    let ok = total.mismatched == 0
        && total.lost == 0
        && arrived == system.len()
        && duplicates == 0
        && leaked == 0
        && l.refused == 0;
    stop_sim.cancel();
    if !ok {
        eprintln!("crash soak FAILED (refused writes: {})", l.refused);
        std::process::exit(1);
    }
    println!("crash soak passed (seed {seed})");
}
