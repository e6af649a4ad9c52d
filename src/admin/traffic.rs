//! `traffic list|show|tail|export` and `probe`: reading the recorded
//! upstream traffic (through `traffic`), and sending one raw request.

use bytes::Bytes;

use crate::state::App;
use crate::traffic::{self, query, Trigger};
use crate::upstream::requests::DavCall;

use super::{ProbeArgs, Response, TrafficCommand};

/// Methods `probe` sends without `--allow-write`.
pub const READ_ONLY_METHODS: &[&str] = &["PROPFIND", "REPORT", "GET", "HEAD", "OPTIONS"];

fn storage(e: crate::store::Error) -> Response {
    Response::fail(format!("storage failed: {e}\n"))
}

pub(super) fn execute(app: &App, cmd: TrafficCommand) -> Response {
    match cmd {
        TrafficCommand::List(f) => match query::select(&app.store, &f) {
            Ok(hits) if hits.is_empty() => Response::ok("no recorded exchanges\n".into()),
            Ok(hits) => Response::ok(query::lines(&hits)),
            Err(e) => storage(e),
        },
        TrafficCommand::Show { id } => match query::one(&app.store, id) {
            Ok(Some(e)) => Response::ok(query::show(id, &e)),
            Ok(None) => Response::fail(format!("no recorded exchange {id}\n")),
            Err(e) => storage(e),
        },
        TrafficCommand::Tail => since(app, 0),
        TrafficCommand::Since { after } => since(app, after),
        TrafficCommand::Export(f) => match query::select(&app.store, &f) {
            Ok(hits) => {
                let doc = traffic::har::document(hits.iter().map(|r| &r.entry));
                Response::ok(format!("{doc:#}\n"))
            }
            Err(e) => storage(e),
        },
    }
}

/// Lines after `after` (what `traffic tail` polls), with the last id seen.
fn since(app: &App, after: u64) -> Response {
    match query::after(&app.store, after, 1_000) {
        Ok(hits) => Response {
            ok: true,
            cursor: Some(hits.last().map_or(after, |r| r.id)),
            output: query::lines(&hits),
        },
        Err(e) => storage(e),
    }
}

/// Sends one raw request with the connection's credentials; recorded like
/// everything else. Answers the status, headers and pretty body.
pub(super) async fn probe(app: &App, p: &ProbeArgs) -> Response {
    match probe_text(app, p).await {
        Ok(t) => Response::ok(t),
        Err(e) => Response::fail(format!("{e}\n")),
    }
}

async fn probe_text(app: &App, p: &ProbeArgs) -> Result<String, String> {
    use std::fmt::Write as _;
    let method = p.method.to_ascii_uppercase();
    if !p.allow_write && !READ_ONLY_METHODS.contains(&method.as_str()) {
        return Err(format!(
            "{method} may change data upstream; add --allow-write to send it"
        ));
    }
    let rec = app
        .store
        .connection(&p.connection)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no connection {}", p.connection))?;
    let client = app
        .clients
        .get(&p.connection, &rec, Trigger::Probe)
        .map_err(|e| crate::sync::describe(&e))?;
    let depth: Option<&'static str> = match p.depth.as_deref() {
        None => None,
        Some("0") => Some("0"),
        Some("1") => Some("1"),
        Some("infinity") => Some("infinity"),
        Some(other) => return Err(format!("depth must be 0, 1 or infinity, not {other}")),
    };
    let call = DavCall {
        method: http::Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("bad method {method}"))?,
        target: p.path.clone(),
        depth,
        body: Bytes::from(p.body.clone().unwrap_or_default()),
        content_type: p.body.as_ref().map(|_| "application/xml; charset=utf-8"),
        ..DavCall::default()
    };
    let ex = client
        .send_raw(&call)
        .await
        .map_err(|e| crate::sync::describe(&crate::sync::Error::Upstream(e)))?;
    let mut out = format!("< {}\n", ex.status);
    for (n, v) in ex.headers.iter() {
        let _ = writeln!(out, "{n}: {}", String::from_utf8_lossy(v.as_bytes()));
    }
    out.push('\n');
    out.push_str(&query::pretty_body(&String::from_utf8_lossy(&ex.body)));
    out.push('\n');
    Ok(out)
}
