//! HTTP/1.1 conformance and request smuggling over raw sockets, with nginx as the reference.
//!
//! Each test starts nginx, configured as the benchmark configures it, and the gateway, each in
//! front of its own [`RecordingUpstream`] (a raw TCP server that keeps every request it is sent,
//! byte for byte). It sends every [`Case`] (hostile or unusual bytes) on a fresh connection to
//! both, and compares what came back and what reached each upstream. The rules, checked on the
//! gateway only, nginx being the reference:
//! - the gateway never forwards a request that nginx refuses (when the fault is in the body, which
//!   a streaming proxy finds only after forwarding the head, only a complete request counts);
//! - no upstream sees more requests than the client sent (nothing smuggled);
//! - the gateway answers every case within [`ANSWER_DEADLINE`], keeps serving after it, never
//!   forwards a request without exactly one `Host`, and is still running at the end;
//! - some cases expect particular answers, e.g. both pipelined requests answered in order.
//!
//! A table (case → nginx → gateway) goes to stderr; see it with `--nocapture`. All the gateway's
//! failures are listed at once, after the table. A last test, without any proxy, shows that the
//! rules do catch a smuggled request.

use std::{
    fmt::Write as _,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    time::{Instant, timeout_at},
};

use crate::helpers::{Gateway, Nginx, nginx_binary};

/// How long a proxy may take to answer the requests of a case (or close the connection).
const ANSWER_DEADLINE: Duration = Duration::from_secs(3);

/// How long a proxy may take to answer the sentinel request sent after a case's answers.
const SENTINEL_DEADLINE: Duration = Duration::from_secs(2);

/// The header by which a [`RecordingUpstream`] names the request target it answered.
const TARGET_HEADER: &str = "x-recorded-target";

// ---------------------------------------------------------------------------------------------
// The recording upstream
// ---------------------------------------------------------------------------------------------

/// One request as an upstream received it.
#[derive(Clone, Debug)]
struct Record {
    /// The case the test was running when the head arrived (see [`RecordingUpstream::set_case`]).
    stamp: usize,
    /// The head, up to and including its blank line; or, for bytes that never formed a head
    /// before the connection closed, those bytes.
    head: Vec<u8>,
    /// The body bytes received (all of it when `complete`).
    body: Vec<u8>,
    /// Whether the whole request arrived, body included, by its own framing.
    complete: bool,
}

impl Record {
    fn request_line(&self) -> String {
        let line = self.head.split(|&byte| byte == b'\n').next().unwrap_or(&[]);
        printable(line.strip_suffix(b"\r").unwrap_or(line), 60)
    }

    /// The head (escaped, shortened) and what came of the body, for a failure message.
    fn describe(&self) -> String {
        let state = if self.complete { "complete" } else { "partial" };
        let head: String = self
            .head
            .iter()
            .take(400)
            .flat_map(|&byte| std::ascii::escape_default(byte))
            .map(char::from)
            .collect();
        format!("\"{head}\" + {} body bytes ({state})", self.body.len())
    }

    fn is_http11(&self) -> bool {
        ParsedHead::parse(&self.head)
            .first_line
            .ends_with(" HTTP/1.1")
    }

    /// The values of header `name` (lower case), in order.
    fn header(&self, name: &str) -> Vec<String> {
        ParsedHead::parse(&self.head)
            .headers
            .into_iter()
            .filter(|(header, _)| header == name)
            .map(|(_, value)| value)
            .collect()
    }
}

/// A raw HTTP/1.1 server on 127.0.0.1 that records every request and answers
/// `200 OK` with the body `ok` (plus an `X-Recorded-Target` header naming the request target),
/// keeping the connection alive. Requests are framed by `Transfer-Encoding: chunked` when present
/// (as RFC 9112 says), else by `Content-Length`, else bodiless; a request it cannot frame gets a
/// `400` and the connection is closed. Two targets behave differently:
/// - `…close-mid-response`: a head promising 100 bytes, 7 of them, then the connection closes;
/// - `…early-answer`: answered as soon as the head arrives, the body read afterwards.
#[derive(Clone)]
struct RecordingUpstream {
    addr: SocketAddr,
    records: Arc<Mutex<Vec<Record>>>,
    case: Arc<AtomicUsize>,
}

/// How a request's body is delimited.
enum Framing {
    None,
    Length(usize),
    Chunked,
    Invalid,
}

/// A head split into its request (or status) line and lower-cased header names with values.
struct ParsedHead {
    first_line: String,
    headers: Vec<(String, String)>,
}

impl ParsedHead {
    /// Lenient on purpose: lines may end in CRLF or bare LF; a line without a colon is skipped.
    fn parse(head: &[u8]) -> Self {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split('\n').map(|line| line.trim_end_matches('\r'));
        let first_line = lines.next().unwrap_or_default().to_owned();
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        Self {
            first_line,
            headers,
        }
    }

    fn values(&self, name: &str) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(move |(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }

    /// The framing of the message this head starts.
    fn framing(&self) -> Framing {
        if self
            .values("transfer-encoding")
            .any(|value| value.to_ascii_lowercase().contains("chunked"))
        {
            return Framing::Chunked;
        }
        // Repeated or listed lengths are accepted when they all agree (RFC 9110 §8.6 allows it).
        let lengths: Vec<Option<usize>> = self
            .values("content-length")
            .flat_map(|value| value.split(','))
            .map(|length| length.trim().parse().ok())
            .collect();
        match lengths.first() {
            None => Framing::None,
            Some(&Some(length)) if lengths.iter().all(|other| *other == Some(length)) => {
                Framing::Length(length)
            }
            Some(_) => Framing::Invalid,
        }
    }

    /// Whether the message asks for the connection to close after it.
    fn closes(&self) -> bool {
        self.values("connection")
            .any(|value| value.to_ascii_lowercase().contains("close"))
    }

    /// The request target (second word of a request line).
    fn target(&self) -> &str {
        self.first_line.split(' ').nth(1).unwrap_or_default()
    }
}

/// Where a chunked body ends, judged from the bytes received so far.
enum ChunkedEnd {
    /// The body, last chunk and trailers included, is this many bytes.
    At(usize),
    /// More bytes are needed.
    NotYet,
    /// A chunk size is not hex, too large, or a chunk is not followed by CRLF.
    Malformed,
}

/// Where the chunked body at the start of `bytes` ends.
fn chunked_end(bytes: &[u8]) -> ChunkedEnd {
    let mut at = 0;
    loop {
        let Some(line_len) = find(&bytes[at..], b"\r\n") else {
            return ChunkedEnd::NotYet;
        };
        let line = &bytes[at..at + line_len];
        let size = line.split(|&byte| byte == b';').next().unwrap_or_default();
        let size = std::str::from_utf8(size)
            .ok()
            .filter(|size| !size.is_empty() && size.len() <= 15)
            .and_then(|size| usize::from_str_radix(size, 16).ok())
            .filter(|_| size.iter().all(u8::is_ascii_hexdigit));
        let Some(size) = size else {
            return ChunkedEnd::Malformed;
        };
        at += line_len + 2;
        if size == 0 {
            // Trailer lines, up to an empty one.
            loop {
                let Some(len) = find(&bytes[at..], b"\r\n") else {
                    return ChunkedEnd::NotYet;
                };
                at += len + 2;
                if len == 0 {
                    return ChunkedEnd::At(at);
                }
            }
        }
        if bytes.len() < at + size + 2 {
            return ChunkedEnd::NotYet;
        }
        if &bytes[at + size..at + size + 2] != b"\r\n" {
            return ChunkedEnd::Malformed;
        }
        at += size + 2;
    }
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// `bytes` as text for a table: printable ASCII kept, anything else `?`, at most `max` characters.
fn printable(bytes: &[u8], max: usize) -> String {
    let mut text: String = bytes
        .iter()
        .take(max)
        .map(|&byte| {
            if byte.is_ascii_graphic() || byte == b' ' {
                char::from(byte)
            } else {
                '?'
            }
        })
        .collect();
    if bytes.len() > max {
        text.push_str("...");
    }
    text
}

/// Reads more bytes into `buffer`; false on EOF or error.
async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> bool {
    matches!(stream.read_buf(buffer).await, Ok(read) if read > 0)
}

impl RecordingUpstream {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = Self {
            addr: listener.local_addr().unwrap(),
            records: Arc::default(),
            case: Arc::default(),
        };
        let server = upstream.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(server.clone().serve(stream));
            }
        });
        upstream
    }

    /// Stamps the requests that arrive from now on with case `index`.
    fn set_case(&self, index: usize) {
        self.case.store(index, Ordering::SeqCst);
    }

    fn records(&self) -> Vec<Record> {
        self.records.lock().unwrap().clone()
    }

    /// Records a new request; its index in the records.
    fn push(&self, head: Vec<u8>) -> usize {
        let mut records = self.records.lock().unwrap();
        records.push(Record {
            stamp: self.case.load(Ordering::SeqCst),
            head,
            body: Vec::new(),
            complete: false,
        });
        records.len() - 1
    }

    fn finish(&self, index: usize, body: &[u8], complete: bool) {
        let mut records = self.records.lock().unwrap();
        records[index].body = body.to_vec();
        records[index].complete = complete;
    }

    /// Serves one connection: request after request until it closes.
    async fn serve(self, mut stream: TcpStream) {
        let mut buffer = Vec::new();
        loop {
            let head_len = loop {
                if let Some(at) = find(&buffer, b"\r\n\r\n") {
                    break at + 4;
                }
                if !read_more(&mut stream, &mut buffer).await {
                    if !buffer.is_empty() {
                        // Bytes that never became a head still reached the upstream.
                        self.push(std::mem::take(&mut buffer));
                    }
                    return;
                }
            };
            let head: Vec<u8> = buffer.drain(..head_len).collect();
            let parsed = ParsedHead::parse(&head);
            let index = self.push(head);
            let target = parsed.target().to_owned();
            let early = target.contains("early-answer");
            if early && stream.write_all(&ok_answer(&target)).await.is_err() {
                return;
            }
            let body_len = loop {
                let end = match parsed.framing() {
                    Framing::None => ChunkedEnd::At(0),
                    Framing::Length(length) if buffer.len() >= length => ChunkedEnd::At(length),
                    Framing::Length(_) => ChunkedEnd::NotYet,
                    Framing::Chunked => chunked_end(&buffer),
                    Framing::Invalid => ChunkedEnd::Malformed,
                };
                match end {
                    ChunkedEnd::At(length) => break length,
                    ChunkedEnd::Malformed => {
                        self.finish(index, &buffer, false);
                        let _ = stream
                            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                    ChunkedEnd::NotYet => {
                        if !read_more(&mut stream, &mut buffer).await {
                            self.finish(index, &buffer, false);
                            return;
                        }
                    }
                }
            };
            let body: Vec<u8> = buffer.drain(..body_len).collect();
            self.finish(index, &body, true);
            if target.contains("close-mid-response") {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
                    .await;
                return;
            }
            if !early && stream.write_all(&ok_answer(&target)).await.is_err() {
                return;
            }
            if parsed.closes() {
                return;
            }
        }
    }
}

/// The upstream's answer to a request for `target`.
fn ok_answer(target: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Recorded-Target: {}\r\n\r\nok",
        printable(target.as_bytes(), 100)
    )
    .into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// Where a case's fault lies, which decides what counts as forwarding it.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    /// In the head: a proxy knows before it forwards anything, so even a head that reaches the
    /// upstream counts as forwarded.
    Head,
    /// In the body: a streaming proxy has forwarded the head by the time it finds out, so only a
    /// complete request at the upstream counts as forwarded (an aborted one is fine).
    Body,
}

/// One exchange: bytes the client sends on a fresh connection, and what is expected of them.
struct Case {
    name: &'static str,
    /// The bytes, built from the case's token (`k07`). Every request line a case writes, smuggled
    /// ones included, carries `/<token>-`, so that whatever reaches an upstream is traced back to
    /// its case whatever connection or order it arrives on (targets without a path, `*` and
    /// `CONNECT`'s, are traced by the time they arrive instead).
    bytes: fn(&str) -> Vec<u8>,
    /// Requests the client means to send: no upstream may see more.
    requests: usize,
    fault: Fault,
    /// Whether the client half-closes its connection right after writing (abandoning its body).
    client_closes: bool,
    /// The answers the gateway must give, in order: status and a part of the upstream target.
    gateway_must_answer: &'static [(u16, &'static str)],
    /// Headers of the forwarded request to show in the table.
    show_headers: &'static [&'static str],
}

impl Case {
    fn new(name: &'static str, bytes: fn(&str) -> Vec<u8>) -> Self {
        Self {
            name,
            bytes,
            requests: 1,
            fault: Fault::Head,
            client_closes: false,
            gateway_must_answer: &[],
            show_headers: &[],
        }
    }

    fn body_fault(self) -> Self {
        Self {
            fault: Fault::Body,
            ..self
        }
    }

    fn requests(self, requests: usize) -> Self {
        Self { requests, ..self }
    }

    fn client_closes(self) -> Self {
        Self {
            client_closes: true,
            ..self
        }
    }

    fn gateway_must_answer(self, answers: &'static [(u16, &'static str)]) -> Self {
        Self {
            gateway_must_answer: answers,
            ..self
        }
    }

    fn show_headers(self, headers: &'static [&'static str]) -> Self {
        Self {
            show_headers: headers,
            ..self
        }
    }
}

/// The request a smuggling case hides in its body, as a complete request of its own.
fn smuggled(token: &str) -> String {
    format!("GET /svc/{token}-smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

/// A chunked POST whose first chunk size line is `size`, followed by `rest`.
fn chunked_post(token: &str, size: &str, rest: &str) -> Vec<u8> {
    format!(
        "POST /svc/{token}-chunks HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\n{rest}"
    )
    .into_bytes()
}

/// Ambiguous message framing: each hides a second request where a proxy that reads the framing
/// differently from the next hop would forward it (or keep the connection for it).
fn framing_cases() -> Vec<Case> {
    vec![
        Case::new("CL + TE (CL.TE)", |t| {
            let body = format!("0\r\n\r\n{}", smuggled(t));
            format!(
                "POST /svc/{t}-cl-te HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }),
        Case::new("TE + short CL (TE.CL)", |t| {
            let request = smuggled(t);
            format!(
                "POST /svc/{t}-te-cl HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n{:x}\r\n{request}\r\n0\r\n\r\n",
                request.len()
            )
            .into_bytes()
        }),
        Case::new("two different CLs", |t| {
            let request = smuggled(t);
            format!(
                "POST /svc/{t}-two-cl HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nContent-Length: {}\r\n\r\n{request}",
                request.len()
            )
            .into_bytes()
        }),
        Case::new("Content-Length: 5, 5", |t| {
            format!("POST /svc/{t}-cl-list HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5, 5\r\n\r\nhello")
                .into_bytes()
        }),
        Case::new("TE: chunked, identity", |t| {
            format!(
                "POST /svc/{t}-te-identity HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n{}",
                smuggled(t)
            )
            .into_bytes()
        }),
        Case::new("TE with space before colon + CL", |t| {
            let body = format!("0\r\n\r\n{}", smuggled(t));
            format!(
                "POST /svc/{t}-te-space HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nTransfer-Encoding : chunked\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }),
        Case::new("chunk size zz", |t| {
            chunked_post(t, "zz", "hello\r\n0\r\n\r\n")
        })
        .body_fault(),
        Case::new("chunk size -5", |t| {
            chunked_post(t, "-5", "hello\r\n0\r\n\r\n")
        })
        .body_fault(),
        Case::new("chunk size ffffffffffffffffff", |t| {
            chunked_post(t, "ffffffffffffffffff", "hello\r\n0\r\n\r\n")
        })
        .body_fault(),
        Case::new("chunk size 2^64 (wraps to 0)", |t| {
            chunked_post(t, "10000000000000000", &format!("\r\n{}", smuggled(t)))
        })
        .body_fault(),
    ]
}

/// Heads that break the message syntax, or a proxy's limits.
fn head_cases() -> Vec<Case> {
    vec![
        Case::new("obs-fold", |t| {
            format!("GET /svc/{t}-fold HTTP/1.1\r\nHost: localhost\r\nX-Folded: a\r\n b\r\n\r\n")
                .into_bytes()
        }),
        Case::new("obs-fold hiding TE + CL", |t| {
            let body = format!("0\r\n\r\n{}", smuggled(t));
            format!(
                "POST /svc/{t}-fold-te HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nTransfer-Encoding:\r\n chunked\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }),
        Case::new("bare LF line endings", |t| {
            format!("GET /svc/{t}-lf HTTP/1.1\nHost: localhost\n\n").into_bytes()
        }),
        Case::new("NUL in a header value", |t| {
            format!("GET /svc/{t}-nul HTTP/1.1\r\nHost: localhost\r\nX-Nul: a\0b\r\n\r\n")
                .into_bytes()
        }),
        Case::new("CR in a header value", |t| {
            format!("GET /svc/{t}-cr HTTP/1.1\r\nHost: localhost\r\nX-Cr: a\rb\r\n\r\n")
                .into_bytes()
        }),
        Case::new("request line over 8 KiB", |t| {
            format!(
                "GET /svc/{t}-{} HTTP/1.1\r\nHost: localhost\r\n\r\n",
                "a".repeat(9 * 1024)
            )
            .into_bytes()
        }),
        Case::new("100 KiB of headers", |t| {
            let headers: String = (0..100)
                .map(|i| format!("X-Pad-{i}: {}\r\n", "a".repeat(1000)))
                .collect();
            format!("GET /svc/{t}-big-head HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n")
                .into_bytes()
        }),
    ]
}

/// Request targets other than a path, and headers nominated as hop-by-hop by `Connection`.
fn target_and_nomination_cases() -> Vec<Case> {
    vec![
        Case::new("absolute-form target", |t| {
            format!("GET http://localhost/svc/{t}-absolute HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .into_bytes()
        }),
        Case::new("asterisk-form (OPTIONS *)", |_| {
            b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec()
        }),
        Case::new("CONNECT localhost:443", |_| {
            b"CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n".to_vec()
        }),
        Case::new("Connection: close, X-Forwarded-For", |t| {
            format!(
                "GET /svc/{t}-nominate-xff HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: close, X-Forwarded-For\r\n\r\n"
            )
            .into_bytes()
        })
        .show_headers(&["x-forwarded-for", "connection"]),
        Case::new("Connection: Host", |t| {
            format!("GET /svc/{t}-nominate-host HTTP/1.1\r\nHost: localhost\r\nConnection: Host\r\n\r\n")
                .into_bytes()
        })
        .show_headers(&["host", "connection"]),
    ]
}

/// Connections that do more than one request and one answer.
fn lifecycle_cases() -> Vec<Case> {
    vec![
        Case::new("pipelined GETs", |t| {
            format!(
                "GET /svc/{t}-first HTTP/1.1\r\nHost: localhost\r\n\r\nGET /svc/{t}-second HTTP/1.1\r\nHost: localhost\r\n\r\n"
            )
            .into_bytes()
        })
        .requests(2)
        .gateway_must_answer(&[(200, "-first"), (200, "-second")]),
        Case::new("client closes mid-body", |t| {
            format!(
                "POST /svc/{t}-mid-body HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123456789"
            )
            .into_bytes()
        })
        .body_fault()
        .client_closes(),
        Case::new("upstream closes mid-response", |t| {
            format!("GET /svc/{t}-close-mid-response HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .into_bytes()
        }),
        Case::new("upstream answers before the body", |t| {
            let body = "x".repeat(64 * 1024);
            format!(
                "POST /svc/{t}-early-answer HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        })
        .gateway_must_answer(&[(200, "-early-answer")]),
    ]
}

// ---------------------------------------------------------------------------------------------
// The client side
// ---------------------------------------------------------------------------------------------

/// One answer read off a client connection.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// The recording upstream's `X-Recorded-Target`, when the answer came from it.
    target: Option<String>,
    /// Whether the whole body arrived by the answer's own framing.
    complete: bool,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status)?;
        if !self.complete {
            write!(f, " truncated")?;
        }
        Ok(())
    }
}

/// A client connection with the bytes read but not yet consumed.
struct ClientConnection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl ClientConnection {
    /// The next final answer (interim `1xx` ones skipped); `None` if the connection closes (or
    /// is reset) before a whole head.
    async fn read_answer(&mut self) -> Option<Answer> {
        loop {
            let head_len = loop {
                if let Some(at) = find(&self.buffer, b"\r\n\r\n") {
                    break at + 4;
                }
                if !read_more(&mut self.stream, &mut self.buffer).await {
                    return None;
                }
            };
            let head: Vec<u8> = self.buffer.drain(..head_len).collect();
            let parsed = ParsedHead::parse(&head);
            let status: u16 = parsed
                .first_line
                .split(' ')
                .nth(1)
                .and_then(|code| code.parse().ok())
                .unwrap_or(0);
            if (100..200).contains(&status) && status != 101 {
                continue;
            }
            let target = parsed.values(TARGET_HEADER).next().map(str::to_owned);
            let bodiless = status == 204 || status == 304;
            let framing = parsed.framing();
            // Without a length or chunks, the body runs to the end of the connection.
            let until_close = !bodiless && matches!(framing, Framing::None | Framing::Invalid);
            let complete = loop {
                let end = match framing {
                    _ if bodiless => ChunkedEnd::At(0),
                    Framing::Length(length) if self.buffer.len() >= length => {
                        ChunkedEnd::At(length)
                    }
                    Framing::Chunked => chunked_end(&self.buffer),
                    Framing::Length(_) | Framing::None | Framing::Invalid => ChunkedEnd::NotYet,
                };
                match end {
                    ChunkedEnd::At(length) => {
                        self.buffer.drain(..length);
                        break true;
                    }
                    ChunkedEnd::Malformed => break false,
                    ChunkedEnd::NotYet => {
                        if !read_more(&mut self.stream, &mut self.buffer).await {
                            break until_close;
                        }
                    }
                }
            };
            return Some(Answer {
                status,
                target,
                complete,
            });
        }
    }
}

/// What the client saw of one case.
#[derive(Debug, Default)]
struct ClientOutcome {
    /// Answers to the case's own requests, in order.
    answers: Vec<Answer>,
    /// No answer (or close) to the case's requests within [`ANSWER_DEADLINE`].
    hung: bool,
    /// Answers after those, before the sentinel's: answers to requests the client never sent.
    extra: Vec<Answer>,
    /// The sentinel sent on the same connection after the answers was neither answered nor
    /// closed within [`SENTINEL_DEADLINE`]: the proxy is still waiting for the rest of something.
    sentinel_stuck: bool,
}

impl std::fmt::Display for ClientOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let answers: Vec<String> = self.answers.iter().map(ToString::to_string).collect();
        match (answers.is_empty(), self.hung) {
            (true, true) => write!(f, "HANG")?,
            (true, false) => write!(f, "closed")?,
            (false, hung) => {
                write!(f, "{}", answers.join(","))?;
                if hung {
                    write!(f, ",HANG")?;
                }
            }
        }
        if !self.extra.is_empty() {
            write!(f, " +{} extra", self.extra.len())?;
        }
        if self.sentinel_stuck {
            write!(f, " stuck")?;
        }
        Ok(())
    }
}

/// Sends `case`'s bytes on a fresh connection to `port` and reads what comes back. When the
/// connection is still open after the case's answers, a sentinel request follows on it: any answer
/// before the sentinel's is an extra one (the proxy found a request the client did not send), and
/// reading up to the sentinel's answer also makes sure the proxy is done with the case.
async fn exchange(port: u16, case: &Case, bytes: &[u8]) -> ClientOutcome {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut connection = ClientConnection {
        stream,
        buffer: Vec::new(),
    };
    let mut outcome = ClientOutcome::default();
    let deadline = Instant::now() + ANSWER_DEADLINE;
    let answered = timeout_at(deadline, async {
        // A proxy may answer and close before reading everything: a failed write is fine.
        let _ = connection.stream.write_all(bytes).await;
        if case.client_closes {
            let _ = connection.stream.shutdown().await;
        }
        while outcome.answers.len() < case.requests {
            match connection.read_answer().await {
                Some(answer) => outcome.answers.push(answer),
                None => return false,
            }
        }
        !case.client_closes
    })
    .await;
    let still_open = match answered {
        Ok(still_open) => still_open,
        Err(_) => {
            outcome.hung = true;
            false
        }
    };
    if !still_open {
        return outcome;
    }
    let sentinel = b"GET /svc/__sentinel HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let deadline = Instant::now() + SENTINEL_DEADLINE;
    let finished = timeout_at(deadline, async {
        let _ = connection.stream.write_all(sentinel).await;
        while let Some(answer) = connection.read_answer().await {
            if answer.target.as_deref() == Some("/__sentinel") {
                return;
            }
            outcome.extra.push(answer);
        }
    })
    .await;
    outcome.sentinel_stuck = finished.is_err();
    outcome
}

/// Whether `GET /svc/__alive` on a fresh connection is answered `200` by the upstream, for
/// that very target (not an answer meant for another request).
async fn still_serving(port: u16) -> bool {
    let probe = async {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let mut connection = ClientConnection {
            stream,
            buffer: Vec::new(),
        };
        connection
            .stream
            .write_all(b"GET /svc/__alive HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        connection.read_answer().await
    };
    let answer = tokio::time::timeout(ANSWER_DEADLINE, probe)
        .await
        .ok()
        .flatten();
    answer
        .is_some_and(|answer| answer.status == 200 && answer.target.as_deref() == Some("/__alive"))
}

// ---------------------------------------------------------------------------------------------
// Both proxies, side by side
// ---------------------------------------------------------------------------------------------

/// What reached the upstream for one case.
#[derive(Debug, Default)]
struct Forwarded {
    records: Vec<Record>,
}

impl Forwarded {
    /// Requests that count as forwarded for a case whose fault is `fault`.
    fn count(&self, fault: Fault) -> usize {
        match fault {
            Fault::Head => self.records.len(),
            Fault::Body => self.records.iter().filter(|record| record.complete).count(),
        }
    }

    fn summary(&self, show_headers: &[&str]) -> String {
        let partial = self
            .records
            .iter()
            .filter(|record| !record.complete)
            .count();
        let mut text = format!("fwd {}", self.records.len());
        if partial > 0 {
            let _ = write!(text, " ({partial} partial)");
        }
        for record in &self.records {
            for name in show_headers {
                let _ = write!(text, " {name}={:?}", record.header(name));
            }
        }
        text
    }
}

/// The case a request belongs to: the token in its head, else (targets without a path) the case
/// that was running when it arrived; `None` for the sentinel and liveness probes.
fn case_of(record: &Record) -> Option<usize> {
    let token = record.head.windows(5).find_map(|window| {
        let is_token = window[0] == b'/'
            && window[1] == b'k'
            && window[2].is_ascii_digit()
            && window[3].is_ascii_digit()
            && window[4] == b'-';
        is_token.then(|| usize::from(window[2] - b'0') * 10 + usize::from(window[3] - b'0'))
    });
    if token.is_some() {
        return token;
    }
    let line = record.request_line();
    if line.contains("/__sentinel") || line.contains("/__alive") {
        return None;
    }
    Some(record.stamp)
}

/// A proxy under test with its own recording upstream.
struct Proxy {
    port: u16,
    upstream: RecordingUpstream,
}

/// What happened to one case through one proxy.
struct Outcome {
    client: ClientOutcome,
    serving_after: bool,
}

impl Proxy {
    async fn run(&self, index: usize, case: &Case) -> Outcome {
        self.upstream.set_case(index);
        let bytes = (case.bytes)(&format!("k{index:02}"));
        let client = exchange(self.port, case, &bytes).await;
        let serving_after = still_serving(self.port).await;
        Outcome {
            client,
            serving_after,
        }
    }

    /// What reached the upstream, case by case (read once every case has run, so that nothing
    /// arriving late is missed).
    fn forwarded(&self, cases: usize) -> Vec<Forwarded> {
        let mut forwarded: Vec<Forwarded> = (0..cases).map(|_| Forwarded::default()).collect();
        for record in self.upstream.records() {
            if let Some(case) = case_of(&record).filter(|&case| case < cases) {
                forwarded[case].records.push(record);
            }
        }
        forwarded
    }
}

/// nginx and the gateway, each in front of its own recording upstream.
struct SideBySide {
    nginx: Proxy,
    gateway: Proxy,
    nginx_process: Nginx,
    gateway_process: Gateway,
}

impl SideBySide {
    /// Starts both; `None` (after saying so) when nginx is not installed.
    async fn start() -> Option<Self> {
        let Some(binary) = nginx_binary() else {
            eprintln!("skipped: nginx not installed (apt-get install -y nginx-light)");
            return None;
        };
        let nginx_upstream = RecordingUpstream::start().await;
        let gateway_upstream = RecordingUpstream::start().await;
        let nginx_process = Nginx::start(&binary, nginx_upstream.addr);
        let gateway_process = Gateway::start(&format!(
            "_format_version: \"3.0\"\nservices:\n  - name: svc\n    url: http://{}\n    routes: [{{name: svc, paths: [/svc], strip_path: true}}]\n",
            gateway_upstream.addr
        ));
        Some(Self {
            nginx: Proxy {
                port: nginx_process.port,
                upstream: nginx_upstream,
            },
            gateway: Proxy {
                port: gateway_process.port,
                upstream: gateway_upstream,
            },
            nginx_process,
            gateway_process,
        })
    }

    /// Runs `cases` through both proxies, prints the table and fails with every broken rule.
    async fn check(mut self, group: &str, cases: &[Case]) {
        assert!(cases.len() < 100, "case tokens have two digits");
        let mut outcomes = Vec::new();
        for (index, case) in cases.iter().enumerate() {
            let (nginx, gateway) =
                tokio::join!(self.nginx.run(index, case), self.gateway.run(index, case));
            outcomes.push((nginx, gateway));
        }
        let nginx_forwarded = self.nginx.forwarded(cases.len());
        let gateway_forwarded = self.gateway.forwarded(cases.len());

        let mut table = format!(
            "\n{group}: nginx vs gateway (answers to the client / requests at the upstream)\n{:<36} | {:<38} | {:<38}\n",
            "case", "nginx", "gateway"
        );
        let mut failures = Vec::new();
        for (index, case) in cases.iter().enumerate() {
            let (nginx, gateway) = &outcomes[index];
            let (nginx_up, gateway_up) = (&nginx_forwarded[index], &gateway_forwarded[index]);
            let nginx_column =
                format!("{} / {}", nginx.client, nginx_up.summary(case.show_headers));
            let gateway_column = format!(
                "{} / {}",
                gateway.client,
                gateway_up.summary(case.show_headers)
            );
            let _ = writeln!(
                table,
                "{:<36} | {nginx_column:<38} | {gateway_column:<38}",
                case.name
            );
            for failure in broken_rules(case, nginx_up, gateway, gateway_up) {
                failures.push(format!("{}: {failure}", case.name));
            }
            if !nginx.serving_after {
                failures.push(format!(
                    "{}: the reference broke, nginx stopped serving\n{}",
                    case.name,
                    self.nginx_process.error_log()
                ));
            }
        }
        for record in self.gateway.upstream.records() {
            let hosts = record.header("host").len();
            if record.is_http11() && hosts != 1 {
                failures.push(format!(
                    "the gateway forwarded `{}` with {hosts} Host headers",
                    record.request_line()
                ));
            }
        }
        if let Some(status) = self.nginx_process.process.try_exit_status() {
            failures.push(format!("the reference broke, nginx exited: {status}"));
        }
        if let Some(status) = self.gateway_process.process.try_exit_status() {
            failures.push(format!("the gateway exited: {status}"));
        }
        let logs = self.gateway_process.process.logs();
        if logs.contains("panicked") {
            failures.push("the gateway logged a panic".to_owned());
        }
        eprintln!("{table}");
        assert!(
            failures.is_empty(),
            "{} rule(s) broken by the gateway (its log follows):\n- {}",
            failures.len(),
            failures.join("\n- ")
        );
    }
}

/// The rules the gateway breaks on one case, given what nginx did.
fn broken_rules(
    case: &Case,
    nginx_up: &Forwarded,
    gateway: &Outcome,
    gateway_up: &Forwarded,
) -> Vec<String> {
    let mut broken = Vec::new();
    if nginx_up.count(case.fault) == 0 && gateway_up.count(case.fault) > 0 {
        broken.push(format!(
            "nginx refused it, the gateway forwarded {}",
            gateway_up
                .records
                .iter()
                .map(Record::describe)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if gateway_up.records.len() > case.requests {
        broken.push(format!(
            "the client sent {} request(s), the upstream saw {}: {}",
            case.requests,
            gateway_up.records.len(),
            gateway_up
                .records
                .iter()
                .map(Record::describe)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if gateway.client.hung {
        broken.push(format!("no answer (nor close) within {ANSWER_DEADLINE:?}"));
    }
    if !gateway.client.extra.is_empty() {
        broken.push(format!(
            "answers to requests the client never sent: {:?}",
            gateway.client.extra
        ));
    }
    if !gateway.serving_after {
        broken.push("the gateway did not serve the next request".to_owned());
    }
    if !case.gateway_must_answer.is_empty() {
        let answered: Vec<(u16, String)> = gateway
            .client
            .answers
            .iter()
            .map(|answer| (answer.status, answer.target.clone().unwrap_or_default()))
            .collect();
        let expected = case.gateway_must_answer;
        let matches = answered.len() == expected.len()
            && answered.iter().zip(expected).all(
                |((status, target), (want_status, want_target))| {
                    status == want_status && target.ends_with(want_target)
                },
            );
        if !matches {
            broken.push(format!("expected answers {expected:?}, got {answered:?}"));
        }
    }
    broken
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_framing_is_never_forwarded_as_two_requests() {
    let Some(proxies) = SideBySide::start().await else {
        return;
    };
    proxies.check("framing", &framing_cases()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_heads_nginx_refuses_are_refused_by_the_gateway() {
    let Some(proxies) = SideBySide::start().await else {
        return;
    };
    proxies.check("heads", &head_cases()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusual_targets_and_connection_nominations_are_handled_as_nginx_does() {
    let Some(proxies) = SideBySide::start().await else {
        return;
    };
    proxies
        .check("targets and nominations", &target_and_nomination_cases())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_lifecycles_are_answered_without_hanging() {
    let Some(proxies) = SideBySide::start().await else {
        return;
    };
    proxies.check("lifecycle", &lifecycle_cases()).await;
}

/// A control for the harness: with no proxy in between, the CL.TE case's hidden request reaches
/// the upstream as a second request, and the rules say so; they can fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rules_catch_a_smuggled_request_when_nothing_stands_in_the_way() {
    let upstream = RecordingUpstream::start().await;
    let direct = Proxy {
        port: upstream.addr.port(),
        upstream,
    };
    let cases = framing_cases();
    let cl_te = &cases[0];
    let outcome = direct.run(0, cl_te).await;
    let forwarded = direct.forwarded(1);
    let lines: Vec<String> = forwarded[0]
        .records
        .iter()
        .map(Record::request_line)
        .collect();
    assert_eq!(
        lines,
        [
            "POST /svc/k00-cl-te HTTP/1.1",
            "GET /svc/k00-smuggled HTTP/1.1"
        ]
    );
    let broken = broken_rules(cl_te, &Forwarded::default(), &outcome, &forwarded[0]);
    assert!(
        broken
            .iter()
            .any(|rule| rule.contains("the client sent 1 request(s), the upstream saw 2")),
        "{broken:?}"
    );
}
