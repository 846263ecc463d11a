//! What a finished request leaves behind: its metrics, its access log line and, when its route
//! traces, the gateway's span (route, service, target, status, retries, latencies) with the spans
//! of the plugins' calls, handed to the exporter.

use std::time::{Instant, SystemTime};

use http::header;
use pingora::protocols::http::ServerSession;

use super::Exchange;
use crate::{
    access_log::Entry,
    engine::{Engine, ms_f64},
    metrics::{Observation, Source, metrics},
    plugins::trace::{
        AttributeValue::{Float, Int, Ip, SocketAddress, Text},
        FinishedSpan, RequestTrace, SpanKind,
    },
};

impl Exchange<'_> {
    /// Ends the request's trace, when its route has the `opentelemetry` plugin and the request
    /// was sampled: the gateway's span and the spans of the plugins' calls go to the exporter.
    pub(super) fn finish_trace(&mut self, session: &ServerSession) {
        let Some(trace) = self.effects.trace.take() else {
            return;
        };
        if !trace.sampled {
            return;
        }
        let end = SystemTime::now();
        let request = session.req_header();
        let runtime = self.runtime.as_ref();
        let mut attributes = vec![
            ("http.method", Text(request.method.as_str().to_owned())),
            ("http.url", Text(request.uri.path().to_owned())),
            ("http.status_code", Int(i64::from(self.status))),
            ("kong.request.id", Text(self.request_id.as_str().to_owned())),
            ("kong.balancer.tries", Int(self.tries.count as i64)),
        ];
        if let Some(host) = request
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
        {
            attributes.push(("http.host", Text(host.to_owned())));
        }
        if let Some(ip) = self.client_ip {
            attributes.push(("net.peer.ip", Ip(ip)));
        }
        if let Some(route) = self.route {
            attributes.push(("kong.route.name", Text(runtime.route(route).name.clone())));
        }
        if let Some(service) = self.service {
            let name = runtime.services[service].service.name.clone();
            attributes.push(("kong.service.name", Text(name)));
        }
        if let Some(target) = self.tries.active.as_ref() {
            attributes.push(("kong.upstream.addr", SocketAddress(target.state().addr)));
        }
        if let (Some(started), Some(answered)) = (self.upstream_started, self.upstream_answered) {
            let upstream = ms_f64(answered.saturating_duration_since(started));
            let proxy = ms_f64(started.saturating_duration_since(self.started));
            attributes.push(("kong.latency.upstream_ms", Float(upstream)));
            attributes.push(("kong.latency.proxy_ms", Float(proxy)));
        }
        let events = (self.tries.retried_at.iter())
            .map(|at| (*at, "kong.balancer.retry"))
            .collect();
        let mut spans = Vec::with_capacity(1 + trace.children.len());
        spans.push(FinishedSpan {
            name: "kong",
            kind: SpanKind::Server,
            trace_id: trace.trace_id,
            span_id: trace.span_id,
            parent_span_id: trace.parent_span_id,
            start: trace.start,
            end,
            attributes,
            events,
            error: self.status >= 500 || self.status == 0,
        });
        spans.extend(trace.children.into_iter().map(|child| FinishedSpan {
            name: child.name,
            kind: SpanKind::Client,
            trace_id: trace.trace_id,
            span_id: child.span_id,
            parent_span_id: Some(trace.span_id),
            start: child.start,
            end: child.end,
            attributes: child.attributes,
            events: Vec::new(),
            error: child.error,
        }));
        trace.sink.submit(spans);
    }

    /// Metrics and the access log line.
    pub(super) fn report(&self, engine: &Engine, session: &ServerSession) {
        let now = Instant::now();
        let proxied = self.upstream_answered.is_some();
        let request_ms = ms_f64(now.saturating_duration_since(self.started));
        let upstream_ms = self
            .upstream_started
            .zip(self.upstream_answered)
            .map(|(start, end)| ms_f64(end.saturating_duration_since(start)));
        let proxy_ms = self
            .upstream_started
            .map(|start| ms_f64(start.saturating_duration_since(self.started)));
        let runtime = self.runtime.as_ref();
        metrics().request_finished(
            self.route
                .and_then(|route| runtime.route_metrics.get(route)),
            &Observation {
                status: self.status,
                source: if proxied {
                    Source::Service
                } else {
                    Source::Gateway
                },
                request_ms,
                upstream_ms,
                proxy_ms,
            },
        );
        if !engine.access_log.enabled() {
            return;
        }
        let request = session.req_header();
        let trace_id = self.effects.trace.as_ref().map(RequestTrace::trace_id_hex);
        engine.access_log.write(&Entry {
            request_id: self.request_id.as_str(),
            correlation_id: self.effects.correlation_id.as_deref(),
            trace_id: trace_id.as_deref(),
            client_ip: self.client_ip,
            method: request.method.as_str(),
            uri: request
                .uri
                .path_and_query()
                .map_or("/", |path_and_query| path_and_query.as_str()),
            status: self.status,
            route: self.route.map(|route| runtime.route(route).name.as_str()),
            service: self
                .service
                .map(|service| runtime.services[service].service.name.as_str()),
            target: self.tries.active.as_ref().map(|guard| guard.state().addr),
            tries: self.tries.count,
            request_ms,
            upstream_ms,
            proxy_ms,
            bytes_received: session.body_bytes_read(),
            bytes_sent: session.body_bytes_sent(),
        });
    }
}
