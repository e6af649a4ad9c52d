//! A connection's byte stream as hyper sees it ([`Guarded`]): the first
//! byte must arrive within the header timeout counted from accept, and
//! every HTTP/1 request head passes the `screen` before hyper reads it.
//!
//! hyper starts its header timer only when it begins to parse a request,
//! and the HTTP/1–HTTP/2 detection before that waits for bytes without a
//! limit, so a connection that never sends anything stayed open for ever
//! (issue 12 #2). Later requests on a kept-alive connection are timed by
//! hyper itself (`header_read_timeout` from the end of the last answer).
//!
//! A head the screen refuses never reaches hyper: in its place hyper reads
//! a stand-in request (`GET /`, `Connection: close`) whose
//! [`REFUSAL_HEADER`] carries a per-process secret and the refusal, and
//! the stream ends after it. `request::serve` turns the stand-in into
//! `server::Error::Refused`, so the refusal is answered, logged and counted
//! at the one edge like every other error, after any answer still in
//! progress on the connection (issue 12 #8).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::screen::{HeadLimits, Refusal, Screen, Step};

/// The header of the stand-in request: `<secret> <refusal index>`.
pub const REFUSAL_HEADER: &str = "x-calproxy-refusal";

/// The per-process secret that marks a stand-in request as ours.
fn secret() -> &'static str {
    static SECRET: OnceLock<String> = OnceLock::new();
    SECRET.get_or_init(|| hex::encode(rand::random::<[u8; 16]>()))
}

/// The refusal a stand-in request carries (`None` for a client's own
/// header, whatever it says).
pub fn refusal_of(header: &str) -> Option<Refusal> {
    use subtle::ConstantTimeEq as _;
    let (mark, index) = header.split_once(' ')?;
    if !bool::from(mark.as_bytes().ct_eq(secret().as_bytes())) {
        return None;
    }
    Refusal::ALL.get(index.parse::<usize>().ok()?).copied()
}

fn stand_in(r: Refusal) -> Vec<u8> {
    let index = Refusal::ALL.iter().position(|x| *x == r).unwrap_or(0);
    format!(
        "GET / HTTP/1.1\r\nhost: calproxy\r\n{REFUSAL_HEADER}: {} {index}\r\nconnection: close\r\n\r\n",
        secret()
    )
    .into_bytes()
}

/// How much is read from the socket at a time while screening.
const READ_CHUNK: usize = 8192;

/// After the server closes its side, how long and how much it still reads
/// and drops: closing with unread bytes makes the kernel send a reset,
/// which can destroy the answer (a 413 or 414) before the client reads it.
const LINGER_TIME: std::time::Duration = std::time::Duration::from_secs(1);
/// See [`LINGER_TIME`].
const LINGER_BYTES: usize = 1024 * 1024;

/// A stream whose first byte has a deadline and whose request heads are screened.
pub struct Guarded<S> {
    inner: S,
    /// Until the first byte: when the connection gives up.
    first_byte: Option<Pin<Box<Sleep>>>,
    /// `None` once screening stopped (HTTP/2, or a body it cannot follow).
    screen: Option<Screen>,
    /// Bytes read from `inner` and not yet handed to hyper.
    buf: Vec<u8>,
    /// How many of `buf` passed the screen.
    ready: usize,
    /// `inner` reached its end.
    eof: bool,
    /// The stand-in request for a refused head, and how much of it hyper read.
    stand_in: Option<(Vec<u8>, usize)>,
    /// Closing: our side is shut; reading and dropping until this ends.
    linger: Option<(Pin<Box<Sleep>>, usize)>,
}

impl<S> Guarded<S> {
    /// Wraps `inner`; the first byte must arrive before `deadline`; heads
    /// are screened with `limits` (`None`: an HTTP/2 connection).
    pub fn new(inner: S, deadline: Instant, limits: Option<HeadLimits>) -> Self {
        Self {
            inner,
            first_byte: Some(Box::pin(tokio::time::sleep_until(deadline))),
            screen: limits.map(Screen::new),
            buf: Vec::new(),
            ready: 0,
            eof: false,
            stand_in: None,
            linger: None,
        }
    }
}

impl<S: AsyncRead + Unpin> Guarded<S> {
    /// Reads from `inner` into `buf` (or straight into `out` once
    /// screening stopped and nothing is buffered).
    fn fill(&mut self, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<bool>> {
        let direct = self.screen.is_none();
        let mut chunk = [0u8; READ_CHUNK];
        let read = if direct {
            let before = out.filled().len();
            Pin::new(&mut self.inner)
                .poll_read(cx, out)
                .map_ok(|()| out.filled().len() - before)
        } else {
            let mut tmp = ReadBuf::new(&mut chunk);
            let r = Pin::new(&mut self.inner).poll_read(cx, &mut tmp);
            let n = tmp.filled().len();
            self.buf.extend_from_slice(&chunk[..n]);
            r.map_ok(|()| n)
        };
        match read {
            Poll::Ready(Ok(n)) => {
                if n == 0 {
                    self.eof = true;
                } else {
                    self.first_byte = None;
                }
                Poll::Ready(Ok(direct))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let expired = self
                    .first_byte
                    .as_mut()
                    .is_some_and(|sleep| sleep.as_mut().poll(cx).is_ready());
                if expired {
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no request within the header timeout",
                    )))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if let Some((bytes, at)) = &mut this.stand_in {
                // After the stand-in nothing more is read: the refused head
                // never reaches hyper. Not an end of stream either, which
                // hyper would take for a client gone before its answer; the
                // stand-in says `Connection: close`, so hyper ends the
                // connection itself once it has answered.
                if *at == bytes.len() {
                    return Poll::Pending;
                }
                let n = (bytes.len() - *at).min(out.remaining());
                out.put_slice(&bytes[*at..*at + n]);
                *at += n;
                return Poll::Ready(Ok(()));
            }
            if this.ready > 0 {
                let n = this.ready.min(out.remaining());
                out.put_slice(&this.buf[..n]);
                this.buf.drain(..n);
                this.ready -= n;
                return Poll::Ready(Ok(()));
            }
            if let Some(screen) = &mut this.screen {
                match screen.step(&this.buf) {
                    Step::Pass(n) => {
                        this.ready = n;
                        continue;
                    }
                    Step::Untracked => {
                        this.screen = None;
                        this.ready = this.buf.len();
                        continue;
                    }
                    Step::Refuse(r) => {
                        this.buf.clear();
                        this.stand_in = Some((stand_in(r), 0));
                        continue;
                    }
                    Step::More => {}
                }
            }
            if this.eof {
                // A partial head or body, then the end: hyper sees both as they are.
                this.ready = this.buf.len();
                if this.ready == 0 {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            match this.fill(cx, out) {
                Poll::Ready(Ok(true)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(false)) => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    /// Shuts our side, then reads and drops what the client still sends
    /// (bounded by [`LINGER_TIME`] and [`LINGER_BYTES`]) so that the close
    /// does not reset the connection under the last answer.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.linger.is_none() {
            if let Err(e) = ready!(Pin::new(&mut this.inner).poll_shutdown(cx)) {
                return Poll::Ready(Err(e));
            }
            let until = tokio::time::sleep(LINGER_TIME);
            this.linger = Some((Box::pin(until), 0));
        }
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            let Some((until, dropped)) = &mut this.linger else {
                return Poll::Ready(Ok(()));
            };
            if this.eof || *dropped > LINGER_BYTES {
                return Poll::Ready(Ok(()));
            }
            let mut tmp = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.inner).poll_read(cx, &mut tmp) {
                Poll::Ready(Ok(())) if !tmp.filled().is_empty() => *dropped += tmp.filled().len(),
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending if until.as_mut().poll(cx).is_ready() => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const SHORT: std::time::Duration = std::time::Duration::from_millis(50);

    #[tokio::test]
    async fn a_silent_peer_times_out_and_a_talking_one_does_not() {
        let (client, server) = tokio::io::duplex(64);
        let mut g = Guarded::new(server, Instant::now() + SHORT, None);
        let mut buf = [0u8; 8];
        let e = g.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        drop(client);

        let (mut client, server) = tokio::io::duplex(64);
        let mut g = Guarded::new(server, Instant::now() + SHORT, None);
        client.write_all(b"G").await.unwrap();
        assert_eq!(g.read(&mut buf).await.unwrap(), 1);
        // After the first byte the deadline is gone: hyper times requests.
        tokio::time::sleep(SHORT * 3).await;
        client.write_all(b"ET").await.unwrap();
        assert_eq!(g.read(&mut buf).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_refused_head_becomes_the_stand_in_and_the_stream_ends() {
        let limits = HeadLimits {
            max_head: 1024,
            max_uri: 256,
            max_headers: 8,
        };
        let (mut client, server) = tokio::io::duplex(4096);
        let mut g = Guarded::new(server, Instant::now() + SHORT * 100, Some(limits));
        client
            .write_all(b"GET /ok HTTP/1.1\r\n\r\nGARBAGE\r\n\r\nGET /never HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 64];
        while let Ok(Ok(n)) = tokio::time::timeout(SHORT, g.read(&mut buf)).await {
            assert!(n > 0, "no end of stream after the stand-in");
            seen.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8(seen).unwrap();
        assert!(
            text.starts_with("GET /ok HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n"),
            "{text}"
        );
        assert!(
            !text.contains("GARBAGE") && !text.contains("/never"),
            "{text}"
        );
        let header = text
            .lines()
            .find_map(|l| l.strip_prefix("x-calproxy-refusal: "))
            .unwrap();
        assert_eq!(refusal_of(header), Some(Refusal::Malformed));
        assert_eq!(refusal_of("guess 2"), None);
    }
}
