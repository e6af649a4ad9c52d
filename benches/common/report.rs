//! What a bench run writes: sections (a titled table plus a note and the
//! raw figures as JSON), printed as they are finished and written at the
//! end to `target/bench-results/<target>.md` and `<target>.json`, with the
//! machine they were measured on. Owns no measurement.

use std::io::Write as _;
use std::time::Instant;

use serde_json::{json, Value};

/// One titled result table.
pub struct Section {
    /// Heading.
    pub title: String,
    /// Column names.
    pub header: Vec<String>,
    /// Rows of already formatted cells.
    pub rows: Vec<Vec<String>>,
    /// Lines printed under the table (targets, caveats).
    pub notes: Vec<String>,
    /// The raw figures.
    pub data: Value,
}

impl Section {
    /// An empty section with these columns.
    pub fn new(title: &str, header: &[&str]) -> Section {
        Section {
            title: title.to_string(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
            data: json!({}),
        }
    }

    /// Whether every cell of column `i` is a figure (right-aligned).
    fn numeric(&self, i: usize) -> bool {
        self.rows.iter().all(|r| {
            r.get(i).is_some_and(|c| {
                c.chars()
                    .all(|ch| ch.is_ascii_digit() || ",.×–- ".contains(ch))
            })
        })
    }

    fn markdown(&self) -> String {
        let mut s = format!("### {}\n\n", self.title);
        if !self.header.is_empty() {
            s += &format!("| {} |\n", self.header.join(" | "));
            let align: Vec<&str> = (0..self.header.len())
                .map(|i| if self.numeric(i) { "---:" } else { "---" })
                .collect();
            s += &format!("| {} |\n", align.join(" | "));
            for r in &self.rows {
                s += &format!("| {} |\n", r.join(" | "));
            }
            s += "\n";
        }
        for n in &self.notes {
            s += &format!("- {n}\n");
        }
        s
    }
}

/// The results of one bench target.
pub struct Report {
    target: String,
    started: chrono::DateTime<chrono::Utc>,
    clock: Instant,
    machine: Value,
    sections: Vec<Section>,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The 1, 5 and 15 minute load averages (other work on the machine).
fn loadavg() -> String {
    read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn machine() -> Value {
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_default();
    let mem_kib: u64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let commit = std::process::Command::new("git")
        .arg("-C")
        .arg(super::repo())
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "memory_gib": (mem_kib as f64 / 1048576.0 * 10.0).round() / 10.0,
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "commit": commit,
        "loadavg_at_start": loadavg(),
        "calproxy_limits": super::calproxy::limits(),
    })
}

impl Report {
    /// A report for bench target `target`.
    pub fn new(target: &str) -> Report {
        let machine = machine();
        println!("calproxy bench `{target}` on {machine}");
        Report {
            target: target.to_string(),
            started: chrono::Utc::now(),
            clock: Instant::now(),
            machine,
            sections: Vec::new(),
        }
    }

    /// Adds a finished section and prints it.
    pub fn add(&mut self, s: Section) {
        println!("\n{}", s.markdown());
        self.sections.push(s);
    }

    /// Writes `<target>.md` and `<target>.json` under `target/bench-results/`.
    pub fn write(&self) {
        let dir = super::target_dir().join("bench-results");
        std::fs::create_dir_all(&dir).expect("create target/bench-results");
        let took = self.clock.elapsed().as_secs_f64();
        let m = &self.machine;
        let load_end = loadavg();
        let mut md = format!(
            "## calproxy bench `{}`\n\n{} UTC, {:.0} s; {} ({} cores, {} GiB), Linux {}, commit {}, load average at start {}, at end {}\n\n",
            self.target,
            self.started.format("%Y-%m-%d %H:%M"),
            took,
            m["cpu"].as_str().unwrap_or(""),
            m["cores"],
            m["memory_gib"],
            m["kernel"].as_str().unwrap_or(""),
            m["commit"].as_str().unwrap_or(""),
            m["loadavg_at_start"].as_str().unwrap_or(""),
            load_end,
        );
        let limits = super::calproxy::limits();
        if !limits.is_empty() {
            md += &format!(
                "calproxy ran with `--limit {}`\n\n",
                limits.join("` `--limit ")
            );
        }
        for s in &self.sections {
            md += &s.markdown();
            md += "\n";
        }
        let data = json!({
            "target": self.target,
            "started": self.started.to_rfc3339(),
            "seconds": took,
            "machine": self.machine,
            "loadavg_at_end": load_end,
            "sections": self.sections.iter().map(|s| json!({
                "title": s.title,
                "header": s.header,
                "rows": s.rows,
                "notes": s.notes,
                "data": s.data,
            })).collect::<Vec<_>>(),
        });
        let write = |name: String, text: &str| {
            let p = dir.join(name);
            let mut f = std::fs::File::create(&p).expect("create result file");
            f.write_all(text.as_bytes()).expect("write result file");
            println!("wrote {}", p.display());
        };
        write(format!("{}.md", self.target), &md);
        write(
            format!("{}.json", self.target),
            &serde_json::to_string_pretty(&data).expect("JSON"),
        );
        println!("`{}` took {took:.0} s", self.target);
    }
}
