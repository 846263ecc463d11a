//! One request's trace, as the `opentelemetry` plugin starts it and the engine finishes it: the
//! gateway's span ids and sampling decision ([`RequestTrace`]), the spans of calls the plugins
//! make on the way ([`ChildSpan`]: the API-key check), and where finished spans go
//! ([`SpanSink`], the plugin's exporter). Requests on routes without the plugin carry none.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::SystemTime,
};

use http::HeaderValue;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

use crate::hex::{hex, write_hex};

/// A trace's id: 16 bytes, never all zeros.
pub type TraceId = [u8; 16];
/// A span's id: 8 bytes, never all zeros.
pub type SpanId = [u8; 8];

/// A value of a span attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A number.
    Float(f64),
    /// An IP address, written as text when exported (off the request path).
    Ip(IpAddr),
    /// An address with its port, written as text when exported.
    SocketAddress(SocketAddr),
}

/// Whether a span serves a request or makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// The gateway's span of a client's request.
    Server,
    /// A call the gateway makes (the API-key check).
    Client,
}

/// A finished span, ready to export.
#[derive(Debug, Clone)]
pub struct FinishedSpan {
    /// Its name (`kong`, `kong.apikey.verify`).
    pub name: &'static str,
    /// Server or client.
    pub kind: SpanKind,
    /// The trace.
    pub trace_id: TraceId,
    /// The span.
    pub span_id: SpanId,
    /// Its parent, when it has one.
    pub parent_span_id: Option<SpanId>,
    /// When it started.
    pub start: SystemTime,
    /// When it ended.
    pub end: SystemTime,
    /// What it records.
    pub attributes: Vec<(&'static str, AttributeValue)>,
    /// Point events (a retry of another target), with their time.
    pub events: Vec<(SystemTime, &'static str)>,
    /// Whether it failed (a 5xx, a failed check).
    pub error: bool,
}

/// A call a plugin made for the request, as a child of the gateway's span.
#[derive(Debug, Clone)]
pub struct ChildSpan {
    /// Its name.
    pub name: &'static str,
    /// Its id (sent with the call, so that the callee's spans are its children).
    pub span_id: SpanId,
    /// When the call started.
    pub start: SystemTime,
    /// When it ended.
    pub end: SystemTime,
    /// What it records.
    pub attributes: Vec<(&'static str, AttributeValue)>,
    /// Whether it failed.
    pub error: bool,
}

/// Where finished spans go. Never blocks: a sink that cannot keep up drops spans and counts them.
pub trait SpanSink: std::fmt::Debug + Send + Sync {
    /// Hands `spans` over for export.
    fn submit(&self, spans: Vec<FinishedSpan>);
}

/// The trace of one request.
#[derive(Debug, Clone)]
pub struct RequestTrace {
    /// The trace (the client's, or a new one).
    pub trace_id: TraceId,
    /// The gateway's span.
    pub span_id: SpanId,
    /// The client's span, when it sent a context.
    pub parent_span_id: Option<SpanId>,
    /// Whether the spans are recorded and exported (else only the context goes on).
    pub sampled: bool,
    /// When the request started.
    pub start: SystemTime,
    /// Calls made by plugins.
    pub children: Vec<ChildSpan>,
    /// Where the spans go.
    pub sink: Arc<dyn SpanSink>,
}

impl RequestTrace {
    /// A new span id (the OpenTelemetry SDK's generator: a fast per-thread random source).
    pub fn new_span_id() -> SpanId {
        loop {
            let id = RandomIdGenerator::default().new_span_id().to_bytes();
            if id != [0; 8] {
                return id;
            }
        }
    }

    /// A new trace id (as [`RequestTrace::new_span_id`]).
    pub fn new_trace_id() -> TraceId {
        loop {
            let id = RandomIdGenerator::default().new_trace_id().to_bytes();
            if id != [0; 16] {
                return id;
            }
        }
    }

    /// The `traceparent` that makes a callee's spans children of `span_id`.
    pub fn traceparent(&self, span_id: &SpanId) -> String {
        traceparent(&self.trace_id, span_id, self.sampled)
    }

    /// The trace id as 32 lowercase hex characters (logs, response header).
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }
}

/// W3C's `traceparent` value: version 00, the trace, the span, the sampled flag.
fn traceparent(trace_id: &TraceId, span_id: &SpanId, sampled: bool) -> String {
    ascii_text(&traceparent_bytes(trace_id, span_id, sampled))
}

/// [`traceparent`] as a header value, written straight into its bytes (it goes on every request
/// of a traced route).
pub fn traceparent_header(trace_id: &TraceId, span_id: &SpanId, sampled: bool) -> HeaderValue {
    HeaderValue::from_bytes(&traceparent_bytes(trace_id, span_id, sampled))
        .expect("BUG: hex digits and dashes make a header value")
}

/// The 55 bytes of a `traceparent` value.
fn traceparent_bytes(trace_id: &TraceId, span_id: &SpanId, sampled: bool) -> [u8; 55] {
    let mut value = [0u8; 55];
    value[..3].copy_from_slice(b"00-");
    write_hex(&mut value[3..35], trace_id);
    value[35] = b'-';
    write_hex(&mut value[36..52], span_id);
    value[52..].copy_from_slice(if sampled { b"-01" } else { b"-00" });
    value
}

/// ASCII bytes as text.
fn ascii_text(bytes: &[u8]) -> String {
    bytes.iter().copied().map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_version_trace_span_and_flags() {
        let trace_id: TraceId = [0xab; 16];
        let span_id: SpanId = [0x01; 8];
        assert_eq!(
            traceparent_header(&trace_id, &span_id, true),
            "00-abababababababababababababababab-0101010101010101-01"
        );
        assert_eq!(
            traceparent_header(&trace_id, &span_id, false),
            "00-abababababababababababababababab-0101010101010101-00"
        );
    }
}
