//! Progress of long admin commands on a terminal: `sync` shows a bar
//! (calendars done / total, events fetched) from the engine's progress,
//! polled every 200 ms while the command runs (through the admin socket's
//! hidden `progress` request when `calproxy serve` runs, else from the
//! in-process engine); `connect` shows a spinner while discovery runs.
//! Not on a terminal nothing is drawn: the command's own summary is the
//! output.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::admin;
use crate::ids::ConnectionId;
use crate::sync::SyncProgress;

use super::dispatch::{admin_call_on, Target};

const TICK: Duration = Duration::from_millis(200);

fn bar(request: &admin::Request) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    let style = match request {
        admin::Request::Connect(_) => "{spinner} {msg}",
        _ => "{spinner} {msg} [{bar:30}] {pos}/{len} calendars",
    };
    if let Ok(s) = ProgressStyle::with_template(style) {
        pb.set_style(s.progress_chars("=> "));
    }
    match request {
        admin::Request::Connect(c) if c.options.ics.is_some() => {
            pb.set_message("fetching the ICS feed")
        }
        admin::Request::Connect(c) => {
            pb.set_message(format!("discovering the calendars of {}", c.apple_id))
        }
        _ => pb.set_message("syncing"),
    }
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

fn show(pb: &ProgressBar, progress: &[(ConnectionId, SyncProgress)]) {
    let running: Vec<_> = progress.iter().filter(|(_, p)| p.running).collect();
    if running.is_empty() {
        return;
    }
    let total: usize = running.iter().map(|(_, p)| p.calendars_total).sum();
    let done: usize = running.iter().map(|(_, p)| p.calendars_done).sum();
    let events: usize = running.iter().map(|(_, p)| p.events_fetched).sum();
    let names: Vec<&str> = running.iter().map(|(id, _)| id.as_str()).collect();
    pb.set_length(total as u64);
    pb.set_position(done as u64);
    pb.set_message(format!(
        "syncing {}: {events} events fetched",
        names.join(", ")
    ));
}

/// Runs `sync` or `connect` with a progress display, then prints the output.
pub(super) async fn run(data: &Path, req: admin::Request) -> Result<()> {
    let pb = bar(&req);
    let target = Target::open(data).await?;
    let t2 = target.clone();
    let mut task = tokio::spawn(async move { admin_call_on(&t2, req).await });
    let resp = loop {
        tokio::select! {
            r = &mut task => break r??,
            _ = tokio::time::sleep(TICK) => {
                if pb.is_hidden() {
                    continue;
                }
                if let Ok(p) = admin_call_on(&target, admin::Request::Progress).await {
                    if let Ok(list) = serde_json::from_str::<Vec<(ConnectionId, SyncProgress)>>(&p.output) {
                        show(&pb, &list);
                    }
                }
            }
        }
    };
    pb.finish_and_clear();
    target.close().await?;
    print!("{}", resp.output);
    if resp.ok {
        Ok(())
    } else {
        bail!("the command failed")
    }
}
