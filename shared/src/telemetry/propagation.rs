//! The trace context across processes: W3C `traceparent`/`tracestate` read from HTTP requests and
//! NATS messages ([`continue_trace`]) and written on outgoing NATS requests ([`nats_headers`]).

use opentelemetry::{
    global,
    propagation::{Extractor, Injector},
    trace::TraceContextExt,
};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::exporting;

/// Makes W3C trace context the process's propagator (called once the exporter is up).
pub(super) fn install() {
    global::set_text_map_propagator(TraceContextPropagator::new());
}

pub use opentelemetry_http::HeaderExtractor as HttpHeaders;

/// A NATS message's headers as a trace-context carrier.
#[derive(Debug)]
pub struct NatsHeaders<'a>(pub &'a async_nats::HeaderMap);

impl Extractor for NatsHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(async_nats::HeaderValue::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}

struct NatsHeadersMut<'a>(&'a mut async_nats::HeaderMap);

impl Injector for NatsHeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

/// Makes `span` continue the trace `carrier` carries (a new trace when it carries none) and
/// records the trace id in the span's `trace_id` field, which the span must declare (empty). Not
/// exporting, only the caller's trace id is recorded, if it sent one, so the log still leads to the
/// trace the gateway exported.
pub fn continue_trace(span: &Span, carrier: &dyn Extractor) {
    if exporting() {
        let parent = global::get_text_map_propagator(|propagator| propagator.extract(carrier));
        // an error means the span is disabled by the filter: nothing to continue
        let _ = span.set_parent(parent);
        let context = span.context();
        let span_context = context.span().span_context().clone();
        if span_context.is_valid() {
            span.record("trace_id", tracing::field::display(span_context.trace_id()));
        }
    } else if let Some(trace_id) = carrier.get("traceparent").and_then(traceparent_trace_id) {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}

/// The headers that carry `span`'s context on a NATS request; `None` when not exporting.
pub fn nats_headers(span: &Span) -> Option<async_nats::HeaderMap> {
    if !exporting() {
        return None;
    }
    let mut headers = async_nats::HeaderMap::new();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&span.context(), &mut NatsHeadersMut(&mut headers));
    });
    Some(headers)
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), if it is one and the id
/// is not all zeros.
fn traceparent_trace_id(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.trim().split('-');
    let (_version, trace_id) = (parts.next()?, parts.next()?);
    let valid = trace_id.len() == 32
        && trace_id.bytes().all(|byte| byte.is_ascii_hexdigit())
        && trace_id.bytes().any(|byte| byte != b'0');
    valid.then_some(trace_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_id_of_a_traceparent() {
        assert_eq!(
            traceparent_trace_id("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        for bad in [
            "",
            "00",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01",
        ] {
            assert_eq!(traceparent_trace_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn nats_headers_are_a_carrier_both_ways() {
        let mut headers = async_nats::HeaderMap::new();
        NatsHeadersMut(&mut headers).set("traceparent", "00-abc-def-01".to_owned());
        let carrier = NatsHeaders(&headers);
        assert_eq!(carrier.get("traceparent"), Some("00-abc-def-01"));
        assert_eq!(carrier.keys(), ["traceparent"]);
        assert_eq!(carrier.get("tracestate"), None);
    }
}
