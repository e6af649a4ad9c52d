//! Real headless browsers driving the web console: `Engine` (Debian's
//! Chromium with chromium-driver, Debian's Firefox ESR with geckodriver
//! built into target/tools by .ci/setup-peers), `Scenario` (one run of
//! tests/peers/console_browser.py through selenium, its `RESULT` lines
//! and its screenshot under target/console-screenshots/<browser>/), and
//! `per_browser!`, which makes one test per browser so that a failure
//! names it. A missing browser or driver fails the test and names what to
//! install; it is never skipped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::peers;

/// One browser at a time: the machine has two cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A browser the console is tested in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Debian's `chromium` with `chromium-driver`.
    Chromium,
    /// Debian's `firefox-esr` with geckodriver (crates.io, built by .ci/setup-peers).
    Firefox,
}

impl Engine {
    /// Its name in arguments and screenshot folders.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
        }
    }

    fn binary(self) -> PathBuf {
        PathBuf::from(match self {
            Engine::Chromium => "/usr/bin/chromium",
            Engine::Firefox => "/usr/bin/firefox-esr",
        })
    }

    fn driver(self) -> PathBuf {
        match self {
            Engine::Chromium => PathBuf::from("/usr/bin/chromedriver"),
            Engine::Firefox => peers::repo().join("target/tools/bin/geckodriver"),
        }
    }

    /// Fails, naming what to install, when the browser or its driver is missing.
    #[track_caller]
    fn require(self) {
        let (browser, driver) = match self {
            Engine::Chromium => (
                "the Debian package chromium",
                "the Debian package chromium-driver",
            ),
            Engine::Firefox => (
                "the Debian package firefox-esr",
                "the crate geckodriver (cargo install geckodriver --root target/tools)",
            ),
        };
        for (path, what) in [(self.binary(), browser), (self.driver(), driver)] {
            assert!(
                path.exists(),
                "{} is missing: install {what} (.ci/setup-peers does it)",
                path.display()
            );
        }
    }

    /// Where its screenshots go.
    pub fn screenshots(self) -> PathBuf {
        peers::repo()
            .join("target/console-screenshots")
            .join(self.name())
    }
}

/// One test per browser: `per_browser!(f)` for `async fn f(engine: Engine)`
/// makes the tests `f::chromium` and `f::firefox`.
macro_rules! per_browser {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            use crate::support::real_browser::Engine;

            #[tokio::test]
            async fn chromium() {
                super::$test(Engine::Chromium).await
            }

            #[tokio::test]
            async fn firefox() {
                super::$test(Engine::Firefox).await
            }
        }
    )*};
}
pub(crate) use per_browser;

/// What one scenario printed.
pub struct Outcome {
    /// Its `RESULT` lines, parsed.
    pub results: Vec<serde_json::Value>,
    /// The screenshots it saved (this run's, by name without `.png`).
    pub shots: Vec<String>,
    /// Where the browser saved downloads (removed with the outcome).
    _downloads: tempfile::TempDir,
}

/// Run when the script prints `READY`.
pub type Trigger = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// One run of a scenario of tests/peers/console_browser.py.
pub struct Scenario {
    engine: Engine,
    name: String,
    base: String,
    args: Vec<(String, String)>,
    tz: String,
    on_ready: Option<Trigger>,
}

impl Scenario {
    /// Scenario `name` against the console at `base`, signed in as `login`.
    pub fn new(engine: Engine, name: &str, base: &str, login: &str, password: &str) -> Self {
        Self {
            engine,
            name: name.to_string(),
            base: base.to_string(),
            args: vec![
                ("login".into(), login.into()),
                ("password".into(), password.into()),
            ],
            tz: "UTC".into(),
            on_ready: None,
        }
    }

    /// A `--key value` argument of the scenario.
    pub fn arg(mut self, key: &str, value: &str) -> Self {
        self.args.push((key.into(), value.into()));
        self
    }

    /// The browser's time zone (`TZ`; UTC unless set).
    pub fn tz(mut self, tz: &str) -> Self {
        self.tz = tz.into();
        self
    }

    /// Runs `t` when the script prints `READY`.
    pub fn on_ready(mut self, t: Trigger) -> Self {
        self.on_ready = Some(t);
        self
    }

    /// Runs it; fails the test unless it printed `ALL OK` and saved its
    /// screenshot `<name>.png`.
    pub async fn run(self) -> Outcome {
        let Scenario {
            engine,
            name,
            base,
            args,
            tz,
            mut on_ready,
        } = self;
        engine.require();
        let python = peers::venv_tool("python");
        let shots = engine.screenshots();
        let shot = shots.join(format!("{name}.png"));
        let _one = ONE_BROWSER.lock().await;
        let profile = tempfile::tempdir().unwrap();
        let downloads = tempfile::tempdir().unwrap();
        let mut cmd = tokio::process::Command::new(python);
        cmd.arg(peers::repo().join("tests/peers/console_browser.py"))
            .args(["--browser", engine.name()])
            .arg("--binary")
            .arg(engine.binary())
            .arg("--driver")
            .arg(engine.driver())
            .args(["--base", &base, "--scenario", &name])
            .arg("--screens")
            .arg(&shots)
            .arg("--downloads")
            .arg(downloads.path())
            .arg("--profile")
            .arg(profile.path())
            .env("TZ", &tz)
            // Selenium is given both paths; never let it fetch a driver.
            .env("SE_OFFLINE", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in &args {
            cmd.arg(format!("--{k}")).arg(v);
        }
        let mut child = cmd.spawn().expect("python starts");
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let err_task = tokio::spawn(async move {
            let mut s = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut s).await;
            s
        });
        let mut lines = BufReader::new(stdout).lines();
        let mut out = String::new();
        let mut results = Vec::new();
        let mut saved = Vec::new();
        let read = async {
            while let Some(line) = lines.next_line().await.unwrap() {
                out.push_str(&line);
                out.push('\n');
                if line == "READY" {
                    if let Some(t) = on_ready.take() {
                        t.await;
                    }
                }
                if let Some(json) = line.strip_prefix("RESULT ") {
                    results.push(serde_json::from_str(json).unwrap());
                }
                if let Some(path) = line.strip_prefix("screenshot ") {
                    saved.push(PathBuf::from(path));
                }
            }
        };
        let timed_out = tokio::time::timeout(Duration::from_secs(300), read)
            .await
            .is_err();
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
        let err = err_task.await.unwrap_or_default();
        let browser = engine.name();
        assert!(
            !timed_out,
            "{browser}: scenario {name} timed out\n{out}\n{err}"
        );
        let ok = matches!(status, Ok(Ok(s)) if s.success());
        assert!(
            ok && out.contains("ALL OK"),
            "{browser}: browser scenario {name} failed\n--- stdout ---\n{out}\n--- stderr ---\n{err}"
        );
        assert!(
            saved.contains(&shot) && shot.exists(),
            "{browser}: scenario {name} saved no {}",
            shot.display()
        );
        let shots = saved
            .iter()
            .filter(|p| p.exists())
            .filter_map(|p| p.file_stem()?.to_str().map(str::to_string))
            .collect();
        Outcome {
            results,
            shots,
            _downloads: downloads,
        }
    }
}
