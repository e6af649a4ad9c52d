//! Child processes of the harness (calproxy, Radicale, Xandikos): started
//! so that they die with the harness, stopped by their own id with a
//! bounded grace period, and their memory read from `/proc/PID/status`.
//! Also loopback ports and bounded waits. Knows nothing about DAV.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running child process; killed (SIGKILL) when dropped, also on panic.
pub struct Proc {
    name: String,
    child: Child,
}

/// Resident memory of a process, from `/proc/PID/status`.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Memory {
    /// `VmRSS` in KiB.
    pub rss_kib: u64,
    /// `VmHWM` (peak resident) in KiB.
    pub hwm_kib: u64,
}

impl Memory {
    /// `VmRSS` in MiB.
    pub fn rss_mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }
    /// `VmHWM` in MiB.
    pub fn hwm_mib(&self) -> f64 {
        self.hwm_kib as f64 / 1024.0
    }
}

impl Proc {
    /// Starts `cmd` with stdout and stderr appended to `log`. The child gets
    /// SIGKILL if the harness thread that started it dies (PR_SET_PDEATHSIG).
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Proc {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("{name}: cannot open log {}: {e}", log.display()));
        let err = out.try_clone().expect("log file handle clones");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        // SAFETY: prctl is async-signal-safe and touches no memory of the
        // parent; it only asks the kernel to kill this child with its parent.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start {cmd:?}: {e}"));
        Proc {
            name: name.to_string(),
            child,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Panics with `context` if the process has already exited.
    pub fn assert_running(&mut self, context: &str) {
        if let Ok(Some(st)) = self.child.try_wait() {
            panic!("{} exited ({st}) {context}", self.name);
        }
    }

    /// Current memory; panics if the process is gone.
    pub fn memory(&self) -> Memory {
        memory(self.pid()).unwrap_or_else(|| panic!("{}: no /proc status", self.name))
    }

    /// SIGINT (a graceful stop), then SIGKILL after `grace`. Returns how
    /// long the process took to exit.
    pub async fn stop(mut self, grace: Duration) -> Duration {
        let t = Instant::now();
        // SAFETY: kill(2) on our own child's pid, which we have not reaped.
        unsafe {
            libc::kill(self.pid() as libc::pid_t, libc::SIGINT);
        }
        while t.elapsed() < grace {
            if let Ok(Some(_)) = self.child.try_wait() {
                return t.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        eprintln!("{} did not stop within {grace:?}: killing it", self.name);
        t.elapsed()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Memory of any process, or `None` if it is gone.
pub fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Some(Memory {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
    })
}

/// CPU time (user + system) a process has used, in clock ticks, or
/// `None` if it is gone.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at ")".
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line (1-based),
    // so 11 and 12 after the state field here (0-based).
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Waits until a process has used at most 2 % of one core over one second
/// (its background work is done), at most `limit`. Returns how long it
/// waited and whether it went idle.
pub async fn wait_idle(pid: u32, limit: Duration) -> (Duration, bool) {
    let t = Instant::now();
    let mut last = cpu_ticks(pid);
    while t.elapsed() < limit {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = cpu_ticks(pid);
        match (last, now) {
            // 100 ticks a second on Linux: 2 ticks is 2 % of a core.
            (Some(a), Some(b)) if b.saturating_sub(a) <= 2 => return (t.elapsed(), true),
            (_, None) => return (t.elapsed(), false),
            _ => last = now,
        }
    }
    (t.elapsed(), false)
}

/// A port that was free a moment ago on 127.0.0.1 (the servers bind it
/// themselves, so there is a small window for a clash).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Waits until something accepts TCP connections on `port`.
pub async fn wait_port(port: u16, limit: Duration) {
    let t = Instant::now();
    while t.elapsed() < limit {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("nothing listens on 127.0.0.1:{port} after {limit:?}");
}

/// Runs a short command to completion within `limit`, feeding `stdin`;
/// panics with its output if it fails.
pub async fn run(mut cmd: tokio::process::Command, stdin: &str, limit: Duration) -> String {
    use tokio::io::AsyncWriteExt as _;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    if let Some(mut i) = child.stdin.take() {
        i.write_all(stdin.as_bytes()).await.expect("write stdin");
    }
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{shown} did not finish within {limit:?}"))
        .expect("wait for command");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{shown} failed ({}):\n{text}",
        out.status
    );
    text
}
