//! The harness's HTTP client: one explicit HTTP/1.1 keep-alive connection
//! per `Conn` (hyper's connection-level client, TCP_NODELAY), reopened
//! only when the server closes it (counted), every request bounded by a
//! timeout. A load client can read answers without keeping them
//! (`Conn::discarding`), as load generators do, so that the harness's one
//! thread spends what it must (receiving the bytes) and no more. Knows
//! nothing about DAV or the servers.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// The longest a request may take by default before it counts as failed.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// A request to send: method, path (origin form), headers, body.
#[derive(Clone, Debug)]
pub struct Req {
    /// HTTP method (`REPORT`, `PUT`, …).
    pub method: &'static str,
    /// Absolute path on the server.
    pub path: String,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Bytes,
}

impl Req {
    /// An unauthenticated GET of `path` (`/healthz`, `/metrics`).
    pub fn get(path: &str) -> Self {
        Self {
            method: "GET",
            path: path.to_string(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }
}

/// A response: status and collected body.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// The body (of a discarding connection: its first bytes only).
    pub body: Bytes,
    /// The body's length in bytes, all of it.
    pub len: usize,
}

/// How much of a body a discarding connection keeps (for error messages).
const KEPT_PREFIX: usize = 2048;

/// One keep-alive connection to 127.0.0.1:port.
pub struct Conn {
    port: u16,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// How many times the connection had to be (re)opened after the first.
    pub reconnects: usize,
    opened: usize,
    timeout: Duration,
    /// Keep only the first `KEPT_PREFIX` bytes of each body.
    discard: bool,
}

impl Conn {
    /// A connection to 127.0.0.1:`port` (opened lazily).
    pub fn new(port: u16) -> Conn {
        Conn {
            port,
            sender: None,
            reconnects: 0,
            opened: 0,
            timeout: REQUEST_TIMEOUT,
            discard: false,
        }
    }

    /// The same with another per-request timeout.
    pub fn with_timeout(port: u16, timeout: Duration) -> Conn {
        Conn {
            timeout,
            ..Conn::new(port)
        }
    }

    /// A connection with a per-request timeout that reads each body frame
    /// by frame and keeps only its first bytes and its length: no copy of
    /// a 1 MB answer into one buffer per request (the load scenario).
    pub fn discarding(port: u16, timeout: Duration) -> Conn {
        Conn {
            discard: true,
            ..Conn::with_timeout(port, timeout)
        }
    }

    async fn open(&mut self) -> Result<(), String> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .map_err(|e| format!("connect {}: {e}", self.port))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        if self.opened > 0 {
            self.reconnects += 1;
        }
        self.opened += 1;
        self.sender = Some(sender);
        Ok(())
    }

    async fn ready(&mut self) -> Result<(), String> {
        if let Some(s) = &mut self.sender {
            if !s.is_closed() && s.ready().await.is_ok() {
                return Ok(());
            }
        }
        self.open().await
    }

    async fn send_once(&mut self, req: &Req) -> Result<Answer, String> {
        self.ready().await?;
        let mut b = hyper::Request::builder()
            .method(req.method)
            .uri(&req.path)
            .header("host", format!("127.0.0.1:{}", self.port));
        for (k, v) in &req.headers {
            b = b.header(*k, v);
        }
        let request = b
            .body(Full::new(req.body.clone()))
            .map_err(|e| e.to_string())?;
        let sender = self.sender.as_mut().ok_or("no connection")?;
        let resp = sender.send_request(request).await.map_err(|e| {
            self.sender = None;
            format!("send: {e}")
        })?;
        let status = resp.status().as_u16();
        let mut incoming = resp.into_body();
        if !self.discard {
            let body = incoming
                .collect()
                .await
                .map_err(|e| format!("body: {e}"))?
                .to_bytes();
            let len = body.len();
            return Ok(Answer { status, body, len });
        }
        let (mut kept, mut len) = (Vec::new(), 0);
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|e| format!("body: {e}"))?;
            if let Ok(data) = frame.into_data() {
                len += data.len();
                let room = KEPT_PREFIX.saturating_sub(kept.len()).min(data.len());
                kept.extend_from_slice(&data[..room]);
            }
        }
        Ok(Answer {
            status,
            body: kept.into(),
            len,
        })
    }

    /// Sends `req` (retried once on a fresh connection if the server had
    /// closed the old one) and returns the answer and the time it took.
    pub async fn send(&mut self, req: &Req) -> Result<(Answer, Duration), String> {
        let t = Instant::now();
        let r = tokio::time::timeout(self.timeout, async {
            match self.send_once(req).await {
                Ok(a) => Ok(a),
                Err(_) => self.send_once(req).await,
            }
        })
        .await
        .map_err(|_| format!("{} {} timed out", req.method, req.path))?;
        r.map(|a| (a, t.elapsed()))
    }

    /// `send`, panicking on a transport error or a status not in `ok`.
    pub async fn expect(&mut self, req: &Req, ok: &[u16]) -> (Answer, Duration) {
        let (a, d) = self
            .send(req)
            .await
            .unwrap_or_else(|e| panic!("{} {}: {e}", req.method, req.path));
        assert!(
            ok.contains(&a.status),
            "{} {} answered {}: {}\n--- request body ---\n{}",
            req.method,
            req.path,
            a.status,
            String::from_utf8_lossy(&a.body[..a.body.len().min(2000)]),
            String::from_utf8_lossy(&req.body[..req.body.len().min(2000)])
        );
        (a, d)
    }
}
