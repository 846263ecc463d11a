//! `opentelemetry` (Kong's): one span per request, exported over OTLP/HTTP.
//!
//! The access phase reads the client's trace context ([`propagation`]: W3C, B3, B3 single,
//! Jaeger; none with `header_type: ignore`), decides sampling (the client's decision when it sent
//! one, else `sampling_rate` of trace ids by the OpenTelemetry SDK's ratio sampler; Kong's
//! default 0.01), makes the gateway's span id and sends the context upstream in the `header_type`
//! format (`preserve`: the client's format, W3C when it sent none), replacing any other format's
//! headers. The engine ends the span when the request
//! is done (route, service, target, status, tries, upstream and gateway latency; a retry of
//! another target is an event) and hands it to the exporter ([`export`]) with the spans of calls
//! the plugins made meanwhile (the API-key check). It runs first: Kong starts its request span
//! before any plugin runs (its `PRIORITY` 14 orders only its log phase).
//!
//! Config: `traces_endpoint` (or the older `endpoint`), `headers`, `resource_attributes`,
//! `sampling_rate`, `header_type`, `http_response_header_for_traceid`, the queue's
//! `max_batch_size`, `max_coalescing_delay` and `max_entries` (or the older `batch_span_count` and
//! `batch_flush_delay`), `connect_timeout`/`send_timeout`/`read_timeout` (the longest is the
//! export deadline).

mod export;
mod propagation;

use std::{collections::BTreeMap, sync::Arc, time::Duration, time::SystemTime};

use http::{HeaderName, HeaderValue};
use opentelemetry::trace::{SpanKind as OtelSpanKind, TraceId as OtelTraceId};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample};
use serde::Deserialize;
use serde_yaml::Value;

use self::{
    export::{ExportSettings, OtlpSink},
    propagation::Format,
};
use super::{
    effects::Effects,
    plugin::{AccessRequest, BuildContext, Flow, ParseContext, Plugin},
    trace::{RequestTrace, TraceId},
};
use crate::{address::parse_url, validator::Validator};

/// Kong's `tracing_sampling_rate` default.
const DEFAULT_SAMPLING_RATE: f64 = 0.01;

/// `config` of `opentelemetry`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOpenTelemetryConfig {
    endpoint: Option<String>,
    traces_endpoint: Option<String>,
    logs_endpoint: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    resource_attributes: Option<BTreeMap<String, String>>,
    sampling_rate: Option<f64>,
    header_type: Option<String>,
    http_response_header_for_traceid: Option<String>,
    batch_span_count: Option<u64>,
    batch_flush_delay: Option<u64>,
    queue: Option<RawQueue>,
    connect_timeout: Option<u64>,
    send_timeout: Option<u64>,
    read_timeout: Option<u64>,
    propagation: Option<Value>,
}

/// Kong's `queue` block (3.3+); the retry fields are accepted: a failed batch is dropped.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    max_batch_size: Option<u64>,
    max_coalescing_delay: Option<f64>,
    max_entries: Option<u64>,
    #[serde(rename = "max_bytes")]
    _max_bytes: Option<u64>,
    #[serde(rename = "max_retry_time")]
    _max_retry_time: Option<f64>,
    #[serde(rename = "initial_retry_delay")]
    _initial_retry_delay: Option<f64>,
    #[serde(rename = "max_retry_delay")]
    _max_retry_delay: Option<f64>,
    #[serde(rename = "concurrency_limit")]
    _concurrency_limit: Option<i64>,
}

/// Which format carries the context upstream (`header_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderType {
    /// The client's format; W3C when it sent none.
    Preserve,
    /// Ignore the client's context; W3C upstream.
    Ignore,
    /// This format, whatever the client sent.
    Fixed(Format),
}

/// `opentelemetry` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenTelemetryConfig {
    /// Where and how spans go.
    pub export: ExportSettings,
    /// Probability that a request without a client's decision is recorded.
    pub sampling_rate: f64,
    /// The upstream format.
    pub header_type: HeaderType,
    /// A response header carrying the trace id, when set.
    pub response_header: Option<String>,
}

impl Validator {
    fn opentelemetry_config(&mut self, value: &Value, path: &str) -> Option<OpenTelemetryConfig> {
        let raw = self.de::<RawOpenTelemetryConfig>(value, path)?;
        let errors_before = self.errors.len();
        let endpoint = self.traces_endpoint(&raw, path);
        if raw.logs_endpoint.is_some() {
            self.error(
                format!("{path}.logs_endpoint"),
                "logs are not exported by this gateway: leave logs_endpoint out",
            );
        }
        if raw.propagation.is_some() {
            self.error(
                format!("{path}.propagation"),
                "propagation is not supported: use header_type",
            );
        }
        let sampling_rate = raw.sampling_rate.unwrap_or(DEFAULT_SAMPLING_RATE);
        if !(0.0..=1.0).contains(&sampling_rate) {
            self.error(
                format!("{path}.sampling_rate"),
                format!("{sampling_rate} is out of range 0..1"),
            );
        }
        let header_type = self.header_type(raw.header_type.as_deref(), path);
        let response_header = raw
            .http_response_header_for_traceid
            .as_deref()
            .and_then(|name| {
                self.header_name(name, &format!("{path}.http_response_header_for_traceid"))
            });
        let export = self.export_settings(&raw, endpoint, path);
        (self.errors.len() == errors_before).then_some(OpenTelemetryConfig {
            export,
            sampling_rate,
            header_type,
            response_header,
        })
    }

    /// `traces_endpoint`, or `endpoint` as older files name it: an http(s) URL.
    fn traces_endpoint(&mut self, raw: &RawOpenTelemetryConfig, path: &str) -> String {
        let (field, endpoint) = match (&raw.traces_endpoint, &raw.endpoint) {
            (Some(url), _) => ("traces_endpoint", url.clone()),
            (None, Some(url)) => ("endpoint", url.clone()),
            (None, None) => {
                self.error(
                    format!("{path}.traces_endpoint"),
                    "required field missing (the collector's OTLP/HTTP traces URL)",
                );
                return String::new();
            }
        };
        if parse_url(&endpoint).is_none() {
            self.error(
                format!("{path}.{field}"),
                format!("invalid URL {endpoint:?}: expected http(s)://host[:port]/path"),
            );
        }
        endpoint
    }

    fn header_type(&mut self, raw: Option<&str>, path: &str) -> HeaderType {
        match raw {
            None | Some("preserve") => HeaderType::Preserve,
            Some("ignore") => HeaderType::Ignore,
            Some("w3c") => HeaderType::Fixed(Format::W3c),
            Some("b3") => HeaderType::Fixed(Format::B3),
            Some("b3-single") => HeaderType::Fixed(Format::B3Single),
            Some("jaeger") => HeaderType::Fixed(Format::Jaeger),
            Some(other) => {
                self.error(
                    format!("{path}.header_type"),
                    format!(
                        "{other:?} is not supported: expected preserve, ignore, w3c, b3, b3-single or jaeger"
                    ),
                );
                HeaderType::Preserve
            }
        }
    }

    /// The queue and the exporter: Kong's `queue` block, else the older batch fields.
    fn export_settings(
        &mut self,
        raw: &RawOpenTelemetryConfig,
        endpoint: String,
        path: &str,
    ) -> ExportSettings {
        let queue = raw.queue.as_ref();
        let max_batch_size = queue
            .and_then(|queue| queue.max_batch_size)
            .or(raw.batch_span_count)
            .unwrap_or(200);
        let flush_delay = queue
            .and_then(|queue| queue.max_coalescing_delay)
            .or(raw.batch_flush_delay.map(|seconds| seconds as f64))
            .unwrap_or(1.0);
        let max_queued = queue.and_then(|queue| queue.max_entries).unwrap_or(10_000);
        for (field, value) in [
            ("queue.max_batch_size", max_batch_size),
            ("queue.max_entries", max_queued),
        ] {
            if value == 0 || value > 1_000_000 {
                self.error(
                    format!("{path}.{field}"),
                    format!("{value} is out of range 1..1000000"),
                );
            }
        }
        if !(0.0..=3600.0).contains(&flush_delay) {
            self.error(
                format!("{path}.queue.max_coalescing_delay"),
                format!("{flush_delay} is out of range 0..3600 (seconds)"),
            );
        }
        let timeout_ms = [raw.connect_timeout, raw.send_timeout, raw.read_timeout]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(5000);
        ExportSettings {
            endpoint,
            headers: raw
                .headers
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            resource_attributes: raw
                .resource_attributes
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            max_batch_size: usize::try_from(max_batch_size).unwrap_or(200),
            flush_delay: Duration::from_secs_f64(flush_delay.clamp(0.0, 3600.0)),
            max_queued: usize::try_from(max_queued).unwrap_or(10_000),
            timeout: Duration::from_millis(timeout_ms.max(1)),
        }
    }
}

/// One configured `opentelemetry` instance.
#[derive(Debug)]
pub struct OpenTelemetry {
    config: OpenTelemetryConfig,
    /// `sampling_rate` as the OpenTelemetry SDK's trace-id ratio sampler: the same trace id gets
    /// the same decision here and in services sampling at the same ratio.
    sampler: Sampler,
    response_header: Option<HeaderName>,
    sink: Arc<OtlpSink>,
}

impl Plugin for OpenTelemetry {
    type Config = OpenTelemetryConfig;

    fn parse(
        validator: &mut Validator,
        value: &Value,
        path: &str,
        _context: &ParseContext<'_>,
    ) -> Option<OpenTelemetryConfig> {
        validator.opentelemetry_config(value, path)
    }

    fn build(config: &OpenTelemetryConfig, _context: &BuildContext<'_>) -> Self {
        Self {
            response_header: (config.response_header.as_deref())
                .and_then(|name| HeaderName::from_bytes(name.as_bytes()).ok()),
            sink: Arc::new(OtlpSink::new(config.export.clone())),
            sampler: Sampler::TraceIdRatioBased(config.sampling_rate),
            config: config.clone(),
        }
    }

    /// The exporter (and its queue) stays while the settings do.
    fn keeps(previous: &Self, config: &OpenTelemetryConfig, _context: &BuildContext<'_>) -> bool {
        previous.config == *config && previous.sink.exports_as(&config.export)
    }

    /// The access phase: starts the request's trace and sends its context upstream.
    fn access_now(&self, request: &AccessRequest<'_>, effects: &mut Effects) -> Flow {
        let carried = propagation::carries_context(&request.header.headers);
        let incoming = match self.config.header_type {
            HeaderType::Ignore => None,
            _ if !carried => None,
            _ => propagation::extract(&request.header.headers),
        };
        let trace_id =
            incoming.map_or_else(RequestTrace::new_trace_id, |incoming| incoming.trace_id);
        let sampled = incoming
            .and_then(|incoming| incoming.sampled)
            .unwrap_or_else(|| self.samples(&trace_id));
        let trace = RequestTrace {
            trace_id,
            span_id: RequestTrace::new_span_id(),
            parent_span_id: incoming.map(|incoming| incoming.parent_span_id),
            sampled,
            start: SystemTime::now(),
            children: Vec::new(),
            sink: self.sink.clone(),
        };
        let format = match self.config.header_type {
            HeaderType::Fixed(format) => format,
            HeaderType::Preserve => incoming.map_or(Format::W3c, |incoming| incoming.format),
            HeaderType::Ignore => Format::W3c,
        };
        // The client's context headers of other formats would contradict the one sent on.
        if carried {
            for name in &propagation::ALL_HEADERS {
                effects.remove_upstream_header(name.clone());
            }
        }
        for (name, value) in propagation::inject(
            format,
            &trace.trace_id,
            &trace.span_id,
            trace.parent_span_id.as_ref(),
            sampled,
        ) {
            effects.set_upstream_header(name, value);
        }
        if let Some(name) = &self.response_header
            && let Ok(value) = HeaderValue::from_str(&trace.trace_id_hex())
        {
            effects.set_response_header(name.clone(), value);
        }
        effects.trace = Some(trace);
        Flow::Continue
    }
}

impl OpenTelemetry {
    /// Whether a trace the client did not decide on is sampled.
    fn samples(&self, trace_id: &TraceId) -> bool {
        let decision = self.sampler.should_sample(
            None,
            OtelTraceId::from_bytes(*trace_id),
            "kong",
            &OtelSpanKind::Server,
            &[],
            &[],
        );
        decision.decision == SamplingDecision::RecordAndSample
    }
}

#[cfg(test)]
mod tests;
