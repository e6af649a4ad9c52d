//! The floor of the load scenario: a server with no logic at all, run as a
//! child process of the harness (its own binary, started with
//! `--floor-server`), on a multi-threaded tokio runtime with one worker
//! per core and hyper's HTTP/1.1 server with TCP_NODELAY, as calproxy
//! runs. It answers every REPORT with the same bytes (calproxy's answer to
//! the load query), every GET with one object and every PUT with 204,
//! after reading each request body. Driven by the same clients with the
//! same mix, it measures what any server must spend on this machine to
//! move these answers: copying them through loopback TCP and waking the
//! threads that do it. If the floor cannot meet a latency target, no
//! server can here.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::process::{self, Proc};

/// The argument that makes a bench binary the floor server.
const FLAG: &str = "--floor-server";

/// A running floor server.
pub struct Floor {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its process.
    pub proc: Proc,
    _dir: tempfile::TempDir,
}

/// Starts the floor on a free port, answering REPORTs with `query` and
/// GETs with `object`.
pub async fn start(query: &[u8], object: &[u8]) -> Floor {
    let dir = super::work_dir("floor");
    let (q, o) = (dir.path().join("query"), dir.path().join("object"));
    std::fs::write(&q, query).expect("write the floor's query answer");
    std::fs::write(&o, object).expect("write the floor's object");
    let port = process::free_port();
    let exe = std::env::current_exe().expect("the harness's own path");
    let mut cmd = Command::new(exe);
    cmd.arg(FLAG).arg(port.to_string()).arg(&q).arg(&o);
    let proc = Proc::spawn("floor", cmd, &dir.path().join("floor.log"));
    process::wait_port(port, Duration::from_secs(30)).await;
    Floor {
        port,
        proc,
        _dir: dir,
    }
}

/// Serves as the floor and exits if the process was started as one
/// (`--floor-server PORT QUERY_FILE OBJECT_FILE`); else returns.
pub fn serve_if_asked() {
    let args: Vec<String> = std::env::args().collect();
    let Some(at) = args.iter().position(|a| a == FLAG) else {
        return;
    };
    let usage = || -> ! { panic!("usage: {FLAG} PORT QUERY_FILE OBJECT_FILE") };
    let (Some(port), Some(query), Some(object)) =
        (args.get(at + 1), args.get(at + 2), args.get(at + 3))
    else {
        usage()
    };
    let port: u16 = port.parse().unwrap_or_else(|_| usage());
    let read = |p: &str| {
        Bytes::from(std::fs::read(PathBuf::from(p)).unwrap_or_else(|e| panic!("{p}: {e}")))
    };
    let answers = (read(query), read(object));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(serve(port, answers));
    std::process::exit(0);
}

/// Cloning the answers per connection and request only counts references.
async fn serve(port: u16, answers: (Bytes, Bytes)) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("floor: bind 127.0.0.1:{port}: {e}"));
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let answers = answers.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let answers = answers.clone();
                async move {
                    let method = req.method().clone();
                    // Read the whole request, as a server must.
                    let _ = req.into_body().collect().await?;
                    let (status, body) = match method.as_str() {
                        "REPORT" => (207, answers.0.clone()),
                        "GET" => (200, answers.1.clone()),
                        "PUT" => (204, Bytes::new()),
                        _ => (405, Bytes::new()),
                    };
                    let mut resp = hyper::Response::new(Full::new(body));
                    *resp.status_mut() =
                        hyper::StatusCode::from_u16(status).expect("a valid status");
                    resp.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static("application/xml; charset=utf-8"),
                    );
                    Ok::<_, hyper::Error>(resp)
                }
            });
            let mut b = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            b.http1().max_buf_size(400 * 1024);
            let _ = b.serve_connection(TokioIo::new(tcp), service).await;
        });
    }
}
