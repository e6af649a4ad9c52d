//! The request-head screen: reads each HTTP/1 request head *before* hyper
//! does, with calproxy's limits, and follows the body framing to find the
//! next head. Pure: bytes in, a [`Step`] out; `conn` does the I/O.
//!
//! Why: hyper answers a head it cannot parse (414, 431, 400) by itself,
//! with an empty body and no way to change it, while every other error of
//! calproxy carries a `<D:error>` body (issue 12 #8). Refusing here first
//! lets `conn` hand hyper a stand-in request instead, which the one edge
//! (`response`) answers like any other failure. The screen is at least as
//! strict as hyper (the same parser, httparse, with the same defaults),
//! so hyper never refuses a head that passed it.
//!
//! HTTP/2 (the client preface, or ALPN `h2`) is not screened.

/// The HTTP/2 client connection preface (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Longest chunk-size or trailer line followed; a longer one ends the
/// screening of the connection (hyper then judges the body).
const MAX_LINE: usize = 4096;

/// The limits a head is screened with.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// Largest request head (request line and header fields).
    pub max_head: usize,
    /// Longest request target.
    pub max_uri: usize,
    /// Most header fields.
    pub max_headers: usize,
}

/// Why a head was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request target exceeds `max_uri` (414).
    UriTooLong,
    /// The head exceeds `max_head`, or has more than `max_headers` fields (431).
    HeadTooLarge,
    /// Not an HTTP/1 request head (400).
    Malformed,
    /// `Content-Length` repeated, not a number, or next to `Transfer-Encoding` (400).
    BadContentLength,
    /// A `Transfer-Encoding` other than `chunked`, or one on HTTP/1.0 (400).
    BadTransferEncoding,
}

impl Refusal {
    /// Every refusal, for the stand-in request's code (its index).
    pub const ALL: [Refusal; 5] = [
        Refusal::UriTooLong,
        Refusal::HeadTooLarge,
        Refusal::Malformed,
        Refusal::BadContentLength,
        Refusal::BadTransferEncoding,
    ];
}

/// What to do with the unread bytes at the front of the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// The first `n` bytes may go to hyper.
    Pass(usize),
    /// Nothing can be decided before more bytes arrive.
    More,
    /// The head at the front is refused.
    Refuse(Refusal),
    /// Stop screening this connection: everything goes to hyper as is.
    Untracked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Fixed(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkEnd,
    Trailers,
    Untracked,
}

/// Where a connection's byte stream is: in a head, or in a body.
#[derive(Debug)]
pub struct Screen {
    limits: HeadLimits,
    state: State,
}

/// The first line of `buf`, with its line ending, if complete.
fn line(buf: &[u8]) -> Option<&[u8]> {
    buf.iter().position(|b| *b == b'\n').map(|i| &buf[..=i])
}

impl Screen {
    /// A screen at the start of a connection.
    pub fn new(limits: HeadLimits) -> Self {
        Self {
            limits,
            state: State::Head,
        }
    }

    /// Decides about the front of `buf` (the bytes not yet handed on).
    pub fn step(&mut self, buf: &[u8]) -> Step {
        if buf.is_empty() {
            return Step::More;
        }
        match self.state {
            State::Untracked => Step::Untracked,
            State::Head => self.head(buf),
            State::Fixed(n) | State::ChunkData(n) => {
                let take = n.min(buf.len() as u64);
                let left = n - take;
                self.state = match self.state {
                    State::Fixed(_) if left == 0 => State::Head,
                    State::Fixed(_) => State::Fixed(left),
                    _ if left == 0 => State::ChunkEnd,
                    _ => State::ChunkData(left),
                };
                // `take` is at most buf.len(), a usize.
                Step::Pass(take as usize)
            }
            State::ChunkEnd => match buf {
                [b'\r', b'\n', ..] => self.pass(2, State::ChunkSize),
                [b'\n', ..] => self.pass(1, State::ChunkSize),
                [b'\r'] => Step::More,
                _ => self.untrack(),
            },
            State::ChunkSize => match line(buf) {
                None if buf.len() > MAX_LINE => self.untrack(),
                None => Step::More,
                Some(l) => {
                    let text = std::str::from_utf8(l).unwrap_or("");
                    let size = text.split([';', '\r', '\n']).next().unwrap_or("").trim();
                    match u64::from_str_radix(size, 16) {
                        Ok(0) => self.pass(l.len(), State::Trailers),
                        Ok(n) => self.pass(l.len(), State::ChunkData(n)),
                        Err(_) => self.untrack(),
                    }
                }
            },
            State::Trailers => match line(buf) {
                None if buf.len() > MAX_LINE => self.untrack(),
                None => Step::More,
                Some(l) if l == b"\r\n" || l == b"\n" => self.pass(l.len(), State::Head),
                Some(l) => self.pass(l.len(), State::Trailers),
            },
        }
    }

    fn pass(&mut self, n: usize, next: State) -> Step {
        self.state = next;
        Step::Pass(n)
    }

    fn untrack(&mut self) -> Step {
        self.state = State::Untracked;
        Step::Untracked
    }

    fn head(&mut self, buf: &[u8]) -> Step {
        let probe = buf.len().min(H2_PREFACE.len());
        if buf[..probe] == H2_PREFACE[..probe] {
            return if probe == H2_PREFACE.len() {
                self.untrack()
            } else {
                Step::More
            };
        }
        let mut fields = vec![httparse::EMPTY_HEADER; self.limits.max_headers];
        let mut req = httparse::Request::new(&mut fields);
        let len = match req.parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => {
                return if buf.len() <= self.limits.max_head {
                    Step::More
                } else if line(buf).is_none_or(|l| l.len() > self.limits.max_uri) {
                    Step::Refuse(Refusal::UriTooLong)
                } else {
                    Step::Refuse(Refusal::HeadTooLarge)
                };
            }
            Err(httparse::Error::TooManyHeaders) => return Step::Refuse(Refusal::HeadTooLarge),
            Err(_) => return Step::Refuse(Refusal::Malformed),
        };
        let path = req.path.unwrap_or("");
        if path.len() > self.limits.max_uri {
            return Step::Refuse(Refusal::UriTooLong);
        }
        if len > self.limits.max_head {
            return Step::Refuse(Refusal::HeadTooLarge);
        }
        if http::Uri::try_from(path).is_err() {
            return Step::Refuse(Refusal::Malformed);
        }
        match framing(&req) {
            Ok(next) => {
                let connect = req.method == Some("CONNECT");
                self.state = if connect { State::Untracked } else { next };
                Step::Pass(len)
            }
            Err(r) => Step::Refuse(r),
        }
    }
}

/// How the body of a parsed head is framed (RFC 9112 §6), or why not.
fn framing(req: &httparse::Request<'_, '_>) -> Result<State, Refusal> {
    let mut length = None;
    let mut chunked = None;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value).map_err(|_| Refusal::BadContentLength)?;
            let v = v.trim();
            let ok = !v.is_empty() && v.len() <= 19 && v.bytes().all(|b| b.is_ascii_digit());
            let n: u64 = ok
                .then(|| v.parse().ok())
                .flatten()
                .ok_or(Refusal::BadContentLength)?;
            if length.replace(n).is_some() {
                return Err(Refusal::BadContentLength);
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            let v = std::str::from_utf8(h.value).map_err(|_| Refusal::BadTransferEncoding)?;
            if chunked.is_some() || !v.trim().eq_ignore_ascii_case("chunked") {
                return Err(Refusal::BadTransferEncoding);
            }
            chunked = Some(());
        }
    }
    match (length, chunked) {
        (Some(_), Some(())) => Err(Refusal::BadContentLength),
        (None, Some(())) if req.version == Some(0) => Err(Refusal::BadTransferEncoding),
        (None, Some(())) => Ok(State::ChunkSize),
        (Some(n), None) if n > 0 => Ok(State::Fixed(n)),
        _ => Ok(State::Head),
    }
}

#[cfg(test)]
mod tests;
