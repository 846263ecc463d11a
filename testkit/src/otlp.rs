//! [`OtlpReceiver`]: an OTLP/HTTP traces receiver on a free port, as a collector would be. It
//! decodes the real protobuf (`opentelemetry-proto`) of every `POST /v1/traces` and keeps the
//! spans, so a test can wait for the spans it expects and check their ids and parents. It can be
//! made to refuse (`503`) to play a collector that is down.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use opentelemetry_proto::tonic::{
    collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
    common::v1::any_value::Value as AnyValue,
};
use prost::Message;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use crate::wait_until_async;

/// One span as the receiver got it; ids in lowercase hex, empty parent as `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// The resource's `service.name`.
    pub service: String,
    /// The span's name.
    pub name: String,
    /// 32 hex characters.
    pub trace_id: String,
    /// 16 hex characters.
    pub span_id: String,
    /// The parent's id, when the span has one.
    pub parent_span_id: Option<String>,
    /// Attributes, their values as text.
    pub attributes: HashMap<String, String>,
}

#[derive(Default)]
struct Received {
    spans: Mutex<Vec<ReceivedSpan>>,
    refusing: AtomicBool,
    exports: Mutex<usize>,
}

/// An OTLP/HTTP receiver; see the module doc. Stops with the test's runtime.
pub struct OtlpReceiver {
    addr: SocketAddr,
    received: Arc<Received>,
}

impl OtlpReceiver {
    /// Starts a receiver on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the OTLP receiver");
        let addr = listener.local_addr().expect("the receiver's address");
        let received = Arc::new(Received::default());
        let shared = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        Self { addr, received }
    }

    /// The traces URL to configure (`http://127.0.0.1:<port>/v1/traces`).
    pub fn traces_url(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    /// The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.received.spans.lock().expect("spans lock").clone()
    }

    /// How many export requests arrived (refused ones included).
    pub fn exports(&self) -> usize {
        *self.received.exports.lock().expect("exports lock")
    }

    /// While `refusing`, exports are answered 503 and their spans are not kept.
    pub fn refuse(&self, refusing: bool) {
        self.received.refusing.store(refusing, Ordering::Relaxed);
    }

    /// The received spans once `done` holds for them, or an error naming what arrived.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> anyhow::Result<Vec<ReceivedSpan>> {
        wait_until_async("the expected spans", timeout, || async {
            done(&self.spans())
        })
        .await
        .map_err(|_| anyhow::anyhow!("spans received: {:#?}", self.spans()))?;
        Ok(self.spans())
    }
}

/// One connection: HTTP/1.1 requests with a `Content-Length` body, answered in turn.
async fn serve(mut stream: TcpStream, received: Arc<Received>) {
    let mut buffer = Vec::new();
    loop {
        let Some(head_end) = read_until_head(&mut stream, &mut buffer).await else {
            return;
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while buffer.len() < head_end + length {
            let mut chunk = [0u8; 16 * 1024];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(read) => buffer.extend_from_slice(&chunk[..read]),
            }
        }
        let body: Vec<u8> = buffer.drain(..head_end + length).skip(head_end).collect();
        *received.exports.lock().expect("exports lock") += 1;
        let answer = if received.refusing.load(Ordering::Relaxed) {
            response(503, &[])
        } else if head.starts_with("post /v1/traces ") {
            match ExportTraceServiceRequest::decode(body.as_slice()) {
                Ok(request) => {
                    received
                        .spans
                        .lock()
                        .expect("spans lock")
                        .extend(spans_of(request));
                    response(200, &ExportTraceServiceResponse::default().encode_to_vec())
                }
                Err(_) => response(400, &[]),
            }
        } else {
            response(404, &[])
        };
        if stream.write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// Reads into `buffer` until it holds a whole request head; the head's length.
async fn read_until_head(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            return Some(end + 4);
        }
        let mut chunk = [0u8; 16 * 1024];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    }
}

fn response(status: u16, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn spans_of(request: ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut out = Vec::new();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|resource| resource.attributes.iter())
            .find(|attribute| attribute.key == "service.name")
            .and_then(|attribute| attribute.value.as_ref())
            .map(|value| text(value.value.as_ref()))
            .unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                out.push(ReceivedSpan {
                    service: service.clone(),
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: (!span.parent_span_id.is_empty())
                        .then(|| hex(&span.parent_span_id)),
                    attributes: span
                        .attributes
                        .into_iter()
                        .map(|attribute| {
                            let value = attribute.value.as_ref().and_then(|v| v.value.as_ref());
                            (attribute.key, text(value))
                        })
                        .collect(),
                });
            }
        }
    }
    out
}

fn text(value: Option<&AnyValue>) -> String {
    match value {
        Some(AnyValue::StringValue(text)) => text.clone(),
        Some(AnyValue::IntValue(number)) => number.to_string(),
        Some(AnyValue::DoubleValue(number)) => number.to_string(),
        Some(AnyValue::BoolValue(flag)) => flag.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
