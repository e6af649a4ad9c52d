//! A connection's byte stream as hyper sees it ([`Guarded`]): the first
//! byte must arrive within the header timeout counted from accept.
//!
//! hyper starts its header timer only when it begins to parse a request,
//! and the HTTP/1–HTTP/2 detection before that waits for bytes without a
//! limit, so a connection that never sends anything stayed open for ever
//! (issue 12 #2). Later requests on a kept-alive connection are timed by
//! hyper itself (`header_read_timeout` from the end of the last answer).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// A stream whose first byte has a deadline.
pub struct Guarded<S> {
    inner: S,
    /// Until the first byte: when the connection gives up.
    first_byte: Option<Pin<Box<Sleep>>>,
}

impl<S> Guarded<S> {
    /// Wraps `inner`; the first byte must arrive before `deadline`.
    pub fn new(inner: S, deadline: Instant) -> Self {
        Self {
            inner,
            first_byte: Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.first_byte = None;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let expired = this
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

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
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

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
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
        let mut g = Guarded::new(server, Instant::now() + SHORT);
        let mut buf = [0u8; 8];
        let e = g.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        drop(client);

        let (mut client, server) = tokio::io::duplex(64);
        let mut g = Guarded::new(server, Instant::now() + SHORT);
        client.write_all(b"G").await.unwrap();
        assert_eq!(g.read(&mut buf).await.unwrap(), 1);
        // After the first byte the deadline is gone: hyper times requests.
        tokio::time::sleep(SHORT * 3).await;
        client.write_all(b"ET").await.unwrap();
        assert_eq!(g.read(&mut buf).await.unwrap(), 2);
    }
}
