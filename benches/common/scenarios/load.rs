//! Scenario 6: 50 concurrent clients (`BENCH_LOAD_CLIENTS`), each on its
//! own keep-alive connection, for 60 s (`BENCH_LOAD_SECS`) against each
//! server in turn, on the 10,000-object calendar: 70 % one-month
//! calendar-query (getetag + calendar-data), 20 % GET of a random object,
//! 10 % PUT replacing a random object (same times, new SUMMARY, so answers
//! keep their size), after one warm-up query. Reports p50/p99 per kind, errors, requests/s, and the
//! server's memory sampled every second from /proc/PID/status. Targets
//! (issue 10): calproxy p99 <= 20 ms per kind, 0 errors, RSS stable after
//! the first 10 s. `BENCH_LOAD_ONLY_CALPROXY=1` drives calproxy alone (for
//! long runs that watch its memory; the peers' answers take minutes each).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::common::data::{Event, TEN_K};
use crate::common::dav;
use crate::common::env_usize;
use crate::common::fixtures::{Access, Trio};
use crate::common::floor;
use crate::common::http::{Conn, Req};
use crate::common::process::{self, Memory};
use crate::common::report::{Report, Section};
use crate::common::servers::{Endpoint, Server};
use crate::common::stats::{fmt_ms, group, mib, Stats};

use super::{month, verdict};

/// A request still running this long after it was sent counts as an error.
const LOAD_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Query,
    Get,
    Put,
}

const OPS: [(Op, &str); 3] = [
    (Op::Query, "calendar-query"),
    (Op::Get, "GET"),
    (Op::Put, "PUT"),
];

struct Done {
    op: Op,
    took: Duration,
    ok: bool,
    in_window: bool,
}

#[derive(Default)]
struct Shared {
    done: Vec<Done>,
    errors: Vec<String>,
    reconnects: usize,
}

/// Runs scenario 6.
pub async fn run(report: &mut Report) {
    let clients = env_usize("BENCH_LOAD_CLIENTS", 50);
    let secs = env_usize("BENCH_LOAD_SECS", 60);
    let trio = Trio::load(TEN_K, Access::Write).await;
    report.add(trio.load_section("Loading the 10k-object calendar"));
    let events: Rc<[Event]> = trio.events.clone().into();
    let mut tables = Tables::new(clients, secs);
    let only_calproxy = env_usize("BENCH_LOAD_ONLY_CALPROXY", 0) == 1;
    for s in &trio.servers {
        if only_calproxy && s.kind != crate::common::servers::Kind::Calproxy {
            continue;
        }
        let label = s.kind.label();
        println!("  {label}: {clients} clients for {secs} s");
        let calproxy = s.kind == crate::common::servers::Kind::Calproxy;
        let ep = s.collection(trio.collection);
        let before = if calproxy {
            answer_sources(ep.port).await
        } else {
            Vec::new()
        };
        let r = drive(
            ep.clone(),
            s.pid(),
            label,
            events.clone(),
            clients,
            Duration::from_secs(secs as u64),
            None,
        )
        .await;
        if calproxy {
            let after = answer_sources(ep.port).await;
            let made: Vec<String> = after
                .iter()
                .map(|(source, n)| {
                    let was = before
                        .iter()
                        .find(|(s, _)| s == source)
                        .map_or(0, |(_, n)| *n);
                    format!("{source} {}", n.saturating_sub(was))
                })
                .collect();
            tables.kinds.notes.push(format!(
                "calproxy's REPORT answers during the run, by how they were made (calproxy_report_answers_total on /metrics): {}",
                if made.is_empty() { "not found".to_string() } else { made.join(", ") }
            ));
        }
        tables.add(label, &r, calproxy, secs);
        if calproxy {
            // The floor right after calproxy, with the same clients and mix
            // (stopped when it goes out of scope).
            let floor = floor::start(&r.warm, events[0].text.as_bytes()).await;
            println!("  floor: {clients} clients for {secs} s");
            let r = drive(
                ep.at_port(floor.port),
                floor.proc.pid(),
                "floor",
                events.clone(),
                clients,
                Duration::from_secs(secs as u64),
                None,
            )
            .await;
            tables.add("floor (no logic)", &r, false, secs);
        }
    }
    tables.finish(report);
    if let Some(s) = trio
        .servers
        .iter()
        .find(|s| s.kind == crate::common::servers::Kind::Calproxy)
    {
        report.add(paced(s, trio.collection, events, clients, secs).await);
    }
}

/// The closed-loop tables: latency per kind, throughput and memory.
struct Tables {
    kinds: Section,
    totals: Section,
    data: Vec<serde_json::Value>,
    clients: usize,
}

impl Tables {
    fn new(clients: usize, secs: usize) -> Self {
        Self {
            kinds: Section::new(
                &format!("load: {clients} clients for {secs} s, 70 % calendar-query / 20 % GET / 10 % PUT, 10k objects"),
                &["server", "kind", "requests", "errors", "p50 ms", "p99 ms", "max ms"],
            ),
            totals: Section::new(
                "load: throughput and memory (VmRSS sampled every second)",
                &[
                    "server",
                    "requests/s",
                    "errors",
                    "RSS MiB at 10 s",
                    "RSS MiB at end",
                    "VmHWM MiB",
                    "reconnects",
                ],
            ),
            data: Vec::new(),
            clients,
        }
    }

    /// One server's run; `target`: check the targets against it.
    fn add(&mut self, label: &str, r: &Run, target: bool, secs: usize) {
        let mut per_kind = Vec::new();
        for (op, name) in OPS {
            let k = KindStats::of(r, op);
            let mut row = vec![label.to_string(), name.to_string()];
            row.extend(k.cells());
            self.kinds.rows.push(row);
            if target {
                if let Some(st) = &k.stats {
                    self.kinds.notes.push(format!(
                        "target calproxy {name} p99 <= 20 ms: {} ({} ms)",
                        verdict(st.p99 <= 20.0),
                        fmt_ms(st.p99)
                    ));
                }
            }
            per_kind.push(k.json(name));
        }
        let in_window = r.shared.done.iter().filter(|d| d.ok && d.in_window).count();
        let errors = r.shared.done.iter().filter(|d| !d.ok).count();
        let at10 = r.memory.iter().find(|(t, _)| *t >= 10.0).map(|(_, m)| *m);
        let end = r.memory.last().map(|(_, m)| *m).unwrap_or_default();
        self.totals.rows.push(vec![
            label.to_string(),
            format!("{:.1}", in_window as f64 / secs as f64),
            errors.to_string(),
            at10.map_or("–".to_string(), |m| mib(m.rss_mib())),
            mib(end.rss_mib()),
            mib(end.hwm_mib()),
            r.shared.reconnects.to_string(),
        ]);
        self.totals.notes.push(format!(
            "{label} RSS MiB, the mean of each 30 s: {}",
            window_means(&r.memory, 30.0)
        ));
        for e in r.shared.errors.iter().take(3) {
            self.totals.notes.push(format!("{label} error: {e}"));
        }
        self.data.push(json!({
            "server": label,
            "kinds": per_kind,
            "requests_per_s": in_window as f64 / secs as f64,
            "errors": errors,
            "memory_every_second": r.memory.iter().map(|(t, m)| json!({"t": t, "rss_kib": m.rss_kib, "hwm_kib": m.hwm_kib})).collect::<Vec<_>>(),
            "reconnects": r.shared.reconnects,
        }));
    }

    fn finish(mut self, report: &mut Report) {
        self.totals.notes.push("requests/s counts answers received within the window; requests still running at its end are waited for and appear in the latencies".into());
        self.totals.notes.push(format!(
            "the clients wait for each answer and send the next at once (a closed loop): by Little's law the mean latency is {} / throughput, so p99 <= 20 ms needs more than {} requests/s, each query answer being about 1.2 MB, with the clients on the same 2 cores",
            self.clients,
            self.clients * 1000 / 20
        ));
        self.kinds.notes.push("floor (no logic): a server in the harness's binary that answers every REPORT with calproxy's answer bytes, every GET with one object and every PUT with 204 (common/floor.rs), driven right after calproxy by the same clients: what moving these answers through loopback costs on this machine, with no server logic at all".into());
        self.kinds.data = json!(self.data);
        report.add(self.kinds);
        report.add(self.totals);
    }
}

/// The mean RSS (MiB) of each `width`-second window of the samples, e.g.
/// `0–30 s 61.2, 30–60 s 63.0`: whether memory still grows after warm-up.
fn window_means(memory: &[(f64, Memory)], width: f64) -> String {
    let mut out = Vec::new();
    let mut start = 0.0;
    loop {
        let xs: Vec<f64> = memory
            .iter()
            .filter(|(t, _)| *t >= start && *t < start + width)
            .map(|(_, m)| m.rss_mib())
            .collect();
        if xs.is_empty() {
            break;
        }
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        out.push(format!("{start:.0}–{:.0} s {}", start + width, mib(mean)));
        start += width;
    }
    out.join(", ")
}

/// calproxy's REPORT answers so far by how they were made (`cached`,
/// `patched`, `rendered`: `calproxy_report_answers_total` on /metrics).
async fn answer_sources(port: u16) -> Vec<(String, u64)> {
    let Ok((a, _)) = Conn::new(port).send(&Req::get("/metrics")).await else {
        return Vec::new();
    };
    String::from_utf8_lossy(&a.body)
        .lines()
        .filter_map(|l| l.strip_prefix("calproxy_report_answers_total{source=\""))
        .filter_map(|rest| {
            let (source, n) = rest.split_once("\"} ")?;
            Some((source.to_string(), n.trim().parse().ok()?))
        })
        .collect()
}

/// The same mix at a fixed offered rate (calproxy only): each client sends
/// one request every `BENCH_LOAD_PACE_MS` (500) on its own schedule, and
/// latency counts from when the request was due, so a late answer also
/// charges the requests it held up (no coordinated omission).
async fn paced(
    s: &Server,
    collection: &str,
    events: Rc<[Event]>,
    clients: usize,
    secs: usize,
) -> Section {
    let every = Duration::from_millis(env_usize("BENCH_LOAD_PACE_MS", 500) as u64);
    let offered = clients as f64 / every.as_secs_f64();
    println!("  calproxy: {clients} clients, one request each every {every:?}, for {secs} s");
    let r = drive(
        s.collection(collection),
        s.pid(),
        s.kind.label(),
        events,
        clients,
        Duration::from_secs(secs as u64),
        Some(every),
    )
    .await;
    let mut section = Section::new(
        &format!(
            "load at a fixed rate: {clients} clients, each one request every {} ms ({offered:.0} requests/s offered), 70 % calendar-query / 20 % GET / 10 % PUT, {secs} s, calproxy",
            every.as_millis()
        ),
        &["kind", "requests", "errors", "p50 ms", "p99 ms", "max ms"],
    );
    let mut data = Vec::new();
    for (op, name) in OPS {
        let k = KindStats::of(&r, op);
        let mut row = vec![name.to_string()];
        row.extend(k.cells());
        section.rows.push(row);
        data.push(k.json(name));
    }
    let end = r.memory.last().map(|(_, m)| *m).unwrap_or_default();
    section.notes.push(format!(
        "latency counted from when each request was due; RSS at end {} MiB",
        mib(end.rss_mib())
    ));
    section.notes.push(
        "not the issue's target (that is the closed loop above); how the same mix behaves at a rate real clients send"
            .into(),
    );
    section.data = json!({ "offered_per_s": offered, "kinds": data });
    section
}

/// One kind's answered requests, errors and latency figures in a run.
struct KindStats {
    ok: usize,
    errors: usize,
    stats: Option<Stats>,
}

impl KindStats {
    fn of(r: &Run, op: Op) -> Self {
        let ok: Vec<Duration> = r
            .shared
            .done
            .iter()
            .filter(|d| d.op == op && d.ok)
            .map(|d| d.took)
            .collect();
        Self {
            ok: ok.len(),
            errors: r.shared.done.iter().filter(|d| d.op == op && !d.ok).count(),
            stats: (!ok.is_empty()).then(|| Stats::of(&ok)),
        }
    }

    /// requests, errors, p50, p99, max.
    fn cells(&self) -> Vec<String> {
        let cell = |f: fn(&Stats) -> f64| {
            self.stats
                .as_ref()
                .map_or("–".to_string(), |s| fmt_ms(f(s)))
        };
        vec![
            group(self.ok as u64),
            self.errors.to_string(),
            cell(|s| s.p50),
            cell(|s| s.p99),
            cell(|s| s.max),
        ]
    }

    fn json(&self, kind: &str) -> serde_json::Value {
        json!({ "kind": kind, "ok": self.ok, "errors": self.errors, "stats_ms": self.stats })
    }
}

struct Run {
    shared: Shared,
    /// (seconds since start, memory) every second.
    memory: Vec<(f64, Memory)>,
    /// The warm-up query's answer.
    warm: bytes::Bytes,
}

async fn drive(
    ep: Endpoint,
    pid: u32,
    label: &str,
    events: Rc<[Event]>,
    clients: usize,
    length: Duration,
    pace: Option<Duration>,
) -> Run {
    // Warm-up outside the window (Radicale builds its item cache on the
    // first query: about a minute at 10,000 objects).
    let t = Instant::now();
    let (warm, _) = Conn::new(ep.port)
        .expect(
            &ep.report(dav::calendar_query(month(), true), Some("1")),
            &[207],
        )
        .await;
    println!(
        "  {label}: warm-up query {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let shared = Rc::new(RefCell::new(Shared::default()));
    let start = Instant::now();
    let deadline = start + length;
    let local = tokio::task::LocalSet::new();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (ep, events, shared) = (ep.clone(), events.clone(), shared.clone());
        // Paced clients start spread over one interval.
        let pace = pace.map(|every| (start + every * c as u32 / clients as u32, every));
        let query_len = warm.len;
        tasks.push(local.spawn_local(client(
            ep, events, c as u64, deadline, shared, pace, query_len,
        )));
    }
    let sampler = local.spawn_local(async move {
        let mut out = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        while Instant::now() <= deadline {
            tick.tick().await;
            if let Some(m) = process::memory(pid) {
                out.push((start.elapsed().as_secs_f64(), m));
            }
        }
        out
    });
    let memory = local
        .run_until(async {
            for t in tasks {
                if let Err(e) = t.await {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
            sampler.await.unwrap_or_default()
        })
        .await;
    let shared = Rc::try_unwrap(shared)
        .map(RefCell::into_inner)
        .unwrap_or_else(|_| panic!("load clients still hold their results"));
    Run {
        shared,
        memory,
        warm: warm.body,
    }
}

async fn client(
    ep: Endpoint,
    events: Rc<[Event]>,
    seed: u64,
    deadline: Instant,
    shared: Rc<RefCell<Shared>>,
    pace: Option<(Instant, Duration)>,
    query_len: usize,
) {
    let mut rng = StdRng::seed_from_u64(1000 + seed);
    // Bodies are counted, not kept: the harness's one thread must not be
    // what limits the servers (each query answer is ~1.2 MB).
    let mut conn = Conn::discarding(ep.port, LOAD_TIMEOUT);
    let query = dav::calendar_query(month(), true);
    let mut i: u32 = 0;
    while Instant::now() < deadline {
        i += 1;
        // When this request is due (paced), else now.
        let due = match pace {
            Some((first, every)) => {
                let due = first + every * (i - 1);
                if due >= deadline {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                Some(due)
            }
            None => None,
        };
        let e = &events[rng.gen_range(0..events.len())];
        let roll = rng.gen_range(0..100);
        let (op, req, ok): (Op, _, &[u16]) = if roll < 70 {
            (Op::Query, ep.report(query.clone(), Some("1")), &[207])
        } else if roll < 90 {
            (Op::Get, ep.get(&e.name), &[200])
        } else {
            let text = e
                .text
                .replace("SUMMARY:Event ", &format!("SUMMARY:Load {seed}-{i} "));
            (Op::Put, ep.put(&e.name, &text, false), &[201, 204])
        };
        let r = conn.send(&req).await;
        let now = Instant::now();
        let r = r.map(|(a, d)| (a, due.map_or(d, |due| now - due)));
        let mut sh = shared.borrow_mut();
        let (took, good) = match r {
            // A query answer keeps its size through the run (the PUTs
            // change a summary by a few bytes): a much shorter or longer
            // one is wrong, whatever its status.
            Ok((a, d)) if op == Op::Query && a.len.abs_diff(query_len) > query_len / 10 => {
                sh.errors.push(format!(
                    "{} {} -> {}: {} bytes, the warm-up answer had {query_len}",
                    req.method, req.path, a.status, a.len
                ));
                (d, false)
            }
            Ok((a, d)) if ok.contains(&a.status) => (d, true),
            Ok((a, d)) => {
                let text = String::from_utf8_lossy(&a.body[..a.body.len().min(200)]).into_owned();
                sh.errors.push(format!(
                    "{} {} -> {}: {text}",
                    req.method, req.path, a.status
                ));
                (d, false)
            }
            Err(e) => {
                sh.errors.push(format!("{} {}: {e}", req.method, req.path));
                (LOAD_TIMEOUT, false)
            }
        };
        sh.done.push(Done {
            op,
            took,
            ok: good,
            in_window: now <= deadline,
        });
    }
    shared.borrow_mut().reconnects += conn.reconnects;
}
