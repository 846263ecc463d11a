//! The `opentelemetry` plugin's exporter ([`OtlpSink`]): finished spans wait in a bounded queue,
//! and a thread of its own sends them in batches to the collector over OTLP/HTTP (protobuf) with
//! `opentelemetry-otlp`'s exporter. Nothing here runs on the request path but the queue push: a
//! full queue drops the spans and counts them (`gateway_tracing_spans_dropped_total`), and so
//! does a failed export; a slow or dead collector never holds a request. The thread starts with
//! the first span and ends once the instance is replaced (its queue closes) and drained.

use std::{
    borrow::Cow,
    collections::HashMap,
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};

use opentelemetry::{
    InstrumentationScope, KeyValue, Value,
    trace::{
        Event, SpanContext, SpanId, SpanKind as OtelSpanKind, Status, TraceFlags, TraceId,
        TraceState,
    },
};
use opentelemetry_otlp::{RetryPolicy, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::{
    Resource,
    trace::{SpanData, SpanEvents, SpanExporter, SpanLinks},
};
use tokio::sync::mpsc;

use crate::{
    forwarding,
    metrics::metrics,
    plugins::trace::{AttributeValue, FinishedSpan, SpanKind, SpanSink},
};

/// Where and how spans are sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSettings {
    /// The collector's OTLP/HTTP traces URL (`http://collector:4318/v1/traces`).
    pub endpoint: String,
    /// Headers sent with every export (an API key of a hosted collector).
    pub headers: Vec<(String, String)>,
    /// The resource's attributes (`service.name` defaults to `kong`, as Kong's plugin).
    pub resource_attributes: Vec<(String, String)>,
    /// Most spans per export.
    pub max_batch_size: usize,
    /// Longest a span waits for its batch to fill.
    pub flush_delay: Duration,
    /// Most spans waiting; more are dropped.
    pub max_queued: usize,
    /// Deadline of one export, connecting included.
    pub timeout: Duration,
}

/// The queue in front of the exporter; see the module doc.
pub struct OtlpSink {
    settings: ExportSettings,
    queue: mpsc::Sender<FinishedSpan>,
    /// Taken by the export task when it starts.
    waiting: Mutex<Option<mpsc::Receiver<FinishedSpan>>>,
    started: OnceLock<()>,
}

impl std::fmt::Debug for OtlpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpSink")
            .field("endpoint", &self.settings.endpoint)
            .finish_non_exhaustive()
    }
}

impl OtlpSink {
    /// A sink for `settings`; its task starts with the first span.
    pub fn new(settings: ExportSettings) -> Self {
        let (queue, waiting) = mpsc::channel(settings.max_queued.max(1));
        Self {
            settings,
            queue,
            waiting: Mutex::new(Some(waiting)),
            started: OnceLock::new(),
        }
    }

    /// Whether this sink exports as `settings` say (a reload keeps it then).
    pub fn exports_as(&self, settings: &ExportSettings) -> bool {
        self.settings == *settings
    }

    /// Starts the export thread, once.
    fn start(&self) {
        self.started.get_or_init(|| {
            let waiting = self.waiting.lock().ok().and_then(|mut waiting| waiting.take());
            let Some(receiver) = waiting else {
                return;
            };
            let settings = self.settings.clone();
            let spawned = std::thread::Builder::new()
                .name("otel-export".into())
                .spawn(move || export_thread(receiver, settings));
            if let Err(err) = spawned {
                tracing::error!(error.message = %err, "opentelemetry: cannot start the export thread; spans are dropped");
            }
        });
    }
}

impl SpanSink for OtlpSink {
    fn submit(&self, spans: Vec<FinishedSpan>) {
        self.start();
        for span in spans {
            if self.queue.try_send(span).is_err() {
                metrics().spans_dropped(1);
            }
        }
    }
}

/// The OTLP/HTTP exporter of `settings`: no retries (a batch that fails is counted as dropped),
/// one deadline per export.
fn exporter(
    settings: &ExportSettings,
) -> Result<opentelemetry_otlp::SpanExporter, opentelemetry_otlp::ExporterBuildError> {
    let client =
        opentelemetry_http::hyper::HyperClient::with_default_connector(settings.timeout, None);
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(settings.endpoint.clone())
        .with_timeout(settings.timeout)
        .with_headers(settings.headers.iter().cloned().collect::<HashMap<_, _>>())
        .with_retry_policy(RetryPolicy::disabled())
        .with_http_client(client)
        .build()?;
    // Configured attributes come after the default name, so a configured `service.name` wins.
    let resource = Resource::builder()
        .with_service_name("kong")
        .with_attributes(
            (settings.resource_attributes.iter())
                .map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
        )
        .build();
    exporter.set_resource(&resource);
    Ok(exporter)
}

/// The export thread's body: a runtime of its own for the exporter's HTTP client, so that
/// turning spans into protobuf and sending them never takes a worker's time from requests (the
/// OpenTelemetry SDK's batch processor has a thread of its own too). Returns once the queue is
/// closed (the instance was replaced) and drained.
fn export_thread(receiver: mpsc::Receiver<FinishedSpan>, settings: ExportSettings) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(error.message = %err, "opentelemetry: cannot start the export runtime; spans are dropped");
            return;
        }
    };
    runtime.block_on(async move {
        match exporter(&settings) {
            Ok(exporter) => export_loop(receiver, exporter, settings).await,
            Err(err) => {
                tracing::error!(endpoint = %settings.endpoint, error.message = %err, "opentelemetry: cannot build the exporter; spans are dropped");
            }
        }
    });
}

/// Sends what `receiver` gets, in batches of at most `max_batch_size`, each sent when full or
/// `flush_delay` after its first span (see [`fill_batch`]).
async fn export_loop(
    mut receiver: mpsc::Receiver<FinishedSpan>,
    exporter: opentelemetry_otlp::SpanExporter,
    settings: ExportSettings,
) {
    let scope = InstrumentationScope::builder("gateway")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let mut batch = Vec::with_capacity(settings.max_batch_size);
    let mut last_warning: Option<Instant> = None;
    while let Some(first) = receiver.recv().await {
        batch.push(first);
        fill_batch(&mut receiver, &mut batch, &settings).await;
        let spans: Vec<SpanData> = batch
            .drain(..)
            .map(|span| span_data(span, &scope))
            .collect();
        let count = spans.len();
        match exporter.export(spans).await {
            Ok(()) => metrics().spans_exported(count),
            Err(err) => {
                metrics().spans_dropped(count);
                // One line a minute at most while the collector stays away.
                if last_warning.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                    last_warning = Some(Instant::now());
                    tracing::warn!(endpoint = %settings.endpoint, spans = count, error.message = %err, "opentelemetry: export failed; spans dropped");
                }
            }
        }
    }
}

/// How often a batch that is neither full nor due looks at the queue again: the loop takes what
/// queued meanwhile in one go instead of waking for every span (at tens of thousands of requests a
/// second, a wake per span cost more than the export itself).
const BATCH_POLL: Duration = Duration::from_millis(5);

/// Adds queued spans to `batch` until it holds `max_batch_size`, `flush_delay` has passed since its
/// first span, or the queue is closed.
async fn fill_batch(
    receiver: &mut mpsc::Receiver<FinishedSpan>,
    batch: &mut Vec<FinishedSpan>,
    settings: &ExportSettings,
) {
    let deadline = tokio::time::Instant::now() + settings.flush_delay;
    loop {
        while batch.len() < settings.max_batch_size {
            match receiver.try_recv() {
                Ok(span) => batch.push(span),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return,
            }
        }
        let now = tokio::time::Instant::now();
        if batch.len() >= settings.max_batch_size || now >= deadline {
            return;
        }
        tokio::time::sleep_until(deadline.min(now + BATCH_POLL)).await;
    }
}

/// `span` as the SDK's exporters take it.
fn span_data(span: FinishedSpan, scope: &InstrumentationScope) -> SpanData {
    let kind = match span.kind {
        SpanKind::Server => OtelSpanKind::Server,
        SpanKind::Client => OtelSpanKind::Client,
    };
    let mut events = SpanEvents::default();
    events.events = (span.events.into_iter())
        .map(|(at, name)| Event::new(name, at, Vec::new(), 0))
        .collect();
    SpanData {
        span_context: SpanContext::new(
            TraceId::from_bytes(span.trace_id),
            SpanId::from_bytes(span.span_id),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: span
            .parent_span_id
            .map_or(SpanId::INVALID, SpanId::from_bytes),
        parent_span_is_remote: span.kind == SpanKind::Server && span.parent_span_id.is_some(),
        span_kind: kind,
        name: Cow::Borrowed(span.name),
        start_time: span.start,
        end_time: span.end,
        attributes: (span.attributes.into_iter())
            .map(|(key, value)| KeyValue::new(key, attribute(value)))
            .collect(),
        dropped_attributes_count: 0,
        events,
        links: SpanLinks::default(),
        status: if span.error {
            Status::error("")
        } else {
            Status::Unset
        },
        instrumentation_scope: scope.clone(),
    }
}

fn attribute(value: AttributeValue) -> Value {
    match value {
        AttributeValue::Text(text) => Value::from(text),
        AttributeValue::Int(number) => Value::from(number),
        AttributeValue::Float(number) => Value::from(number),
        AttributeValue::Ip(ip) => Value::from(forwarding::ip_text(ip)),
        AttributeValue::SocketAddress(address) => {
            Value::from(forwarding::socket_address_text(address))
        }
    }
}
