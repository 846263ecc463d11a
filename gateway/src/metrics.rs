//! Prometheus metrics (`GET /metrics` on the admin listener), named as Kong's Prometheus plugin
//! names them so existing Kong dashboards keep working, plus the gateway's own counters.
//!
//! One process-wide [`Metrics`] ([`metrics()`]). The per-request path touches only pre-resolved
//! handles: each route's histograms are looked up once per snapshot ([`RouteMetrics`]), and a
//! request adds one labelled counter increment and three histogram observations. Values that
//! describe state rather than events (target health, reload counts, cache counters kept by the
//! plugins) are read at scrape time ([`Metrics::render`]).

use std::sync::{
    LazyLock, OnceLock,
    atomic::{AtomicU64, Ordering},
};

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Kong's latency buckets (milliseconds).
const LATENCY_BUCKETS_MS: &[f64] = &[
    1.0, 2.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0, 75.0, 100.0, 200.0, 500.0, 750.0, 1000.0,
    3000.0, 6000.0,
];

/// The `source` label: who produced the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The upstream answered.
    Service,
    /// The gateway answered itself (no route, plugin exit, upstream failure).
    Gateway,
}

impl Source {
    fn label(self) -> &'static str {
        match self {
            // Kong's values, so dashboards filtering on them work unchanged.
            Self::Service => "service",
            Self::Gateway => "kong",
        }
    }
}

/// Every metric the gateway exports.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_latency: HistogramVec,
    upstream_latency: HistogramVec,
    proxy_latency: HistogramVec,
    target_health: IntGaugeVec,
    reloads: IntCounterVec,
    key_cache: IntCounterVec,
    key_cache_hits: OnceLock<IntCounter>,
    key_cache_misses: OnceLock<IntCounter>,
    rate_limited: IntCounterVec,
    tls_handshakes: IntCounterVec,
    spans_exported: IntCounter,
    spans_dropped: IntCounter,
    in_flight: AtomicU64,
    total: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// The process-wide metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// One route's latency histograms, resolved once per snapshot.
#[derive(Debug, Clone)]
pub struct RouteMetrics {
    service: String,
    route: String,
    /// `kong_http_requests_total` for this route's upstream 200s, resolved on first use.
    proxied_ok: OnceLock<IntCounter>,
    request_latency: Histogram,
    upstream_latency: Histogram,
    proxy_latency: Histogram,
}

/// What the logging phase reports about one finished request.
#[derive(Debug, Clone, Copy)]
pub struct Observation {
    /// Final status sent to the client (0 when none was sent).
    pub status: u16,
    /// Who answered.
    pub source: Source,
    /// Whole request, milliseconds.
    pub request_ms: f64,
    /// Time spent waiting for the upstream, when it was called.
    pub upstream_ms: Option<f64>,
    /// Gateway's own time before the upstream call, when it was called.
    pub proxy_ms: Option<f64>,
}

/// Registers `collector` in `registry`, returning it.
fn registered<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    collector: C,
) -> C {
    registry
        .register(Box::new(collector.clone()))
        .expect("BUG: metric names are unique");
    collector
}

/// A registered counter family.
fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let counter =
        IntCounterVec::new(Opts::new(name, help), labels).expect("BUG: static metric definition");
    registered(registry, counter)
}

/// A registered counter without labels.
fn single_counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    registered(
        registry,
        IntCounter::new(name, help).expect("BUG: static metric definition"),
    )
}

/// A registry holding the process's own metrics (CPU, memory, open files) where the OS has them.
fn registry_with_process_metrics() -> Registry {
    let registry = Registry::new();
    #[cfg(target_os = "linux")]
    if let Err(err) = registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    )) {
        tracing::warn!(error = %err, "process metrics unavailable");
    }
    registry
}

/// A registered latency histogram per service and route, in Kong's buckets.
fn latency(registry: &Registry, name: &str, help: &str) -> HistogramVec {
    let histogram = HistogramVec::new(
        HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS_MS.to_vec()),
        &["service", "route"],
    )
    .expect("BUG: static metric definition");
    registered(registry, histogram)
}

impl Metrics {
    fn new() -> Self {
        let registry = registry_with_process_metrics();
        Self {
            requests: counter(
                &registry,
                "kong_http_requests_total",
                "HTTP status codes per service/route, as Kong's Prometheus plugin",
                &["service", "route", "code", "source"],
            ),
            request_latency: latency(
                &registry,
                "kong_request_latency_ms",
                "Total latency of requests, from the first byte read to the last byte sent (ms)",
            ),
            upstream_latency: latency(
                &registry,
                "kong_upstream_latency_ms",
                "Time the upstream took to answer (ms)",
            ),
            proxy_latency: latency(
                &registry,
                "kong_kong_latency_ms",
                "Time the gateway spent before calling the upstream: routing and plugins (ms)",
            ),
            target_health: registered(
                &registry,
                IntGaugeVec::new(
                    Opts::new(
                        "kong_upstream_target_health",
                        "Health of each upstream target: 1 for its current state",
                    ),
                    &["upstream", "target", "address", "state"],
                )
                .expect("BUG: static metric definition"),
            ),
            reloads: counter(
                &registry,
                "gateway_config_reloads_total",
                "Config reload attempts by result (file, SIGHUP and POST /config)",
                &["result"],
            ),
            key_cache: counter(
                &registry,
                "gateway_api_key_cache_total",
                "apikey-auth-plugin verdict cache lookups by result",
                &["result"],
            ),
            key_cache_hits: OnceLock::new(),
            key_cache_misses: OnceLock::new(),
            rate_limited: counter(
                &registry,
                "gateway_rate_limit_rejections_total",
                "Requests answered 429 by the rate-limiting plugin",
                &["service", "route"],
            ),
            tls_handshakes: counter(
                &registry,
                "gateway_tls_handshakes_total",
                "TLS handshakes of the TLS listener: started (a certificate was chosen), completed, \
                 no_certificate; started minus completed failed or were abandoned",
                &["result"],
            ),
            spans_exported: single_counter(
                &registry,
                "gateway_tracing_spans_exported_total",
                "Spans the opentelemetry plugin sent to its collector",
            ),
            spans_dropped: single_counter(
                &registry,
                "gateway_tracing_spans_dropped_total",
                "Spans the opentelemetry plugin dropped: its queue was full or the collector failed",
            ),
            in_flight: AtomicU64::new(0),
            total: AtomicU64::new(0),
            registry,
        }
    }

    /// The histograms of one route (of `service`, empty when the route has none).
    pub fn route(&self, service: &str, route: &str) -> RouteMetrics {
        let labels = [service, route];
        RouteMetrics {
            service: service.to_owned(),
            route: route.to_owned(),
            proxied_ok: OnceLock::new(),
            request_latency: self.request_latency.with_label_values(&labels),
            upstream_latency: self.upstream_latency.with_label_values(&labels),
            proxy_latency: self.proxy_latency.with_label_values(&labels),
        }
    }

    /// A request started (`/status` `total_requests`, `connections_active`).
    pub fn request_started(&self) {
        self.total.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// A request is no longer in flight (its context was dropped).
    pub fn request_done(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// A request finished; `route` is `None` when no route matched.
    pub fn request_finished(&self, route: Option<&RouteMetrics>, observation: &Observation) {
        let code = status_label(observation.status);
        let (service, route_name) =
            route.map_or(("", ""), |r| (r.service.as_str(), r.route.as_str()));
        let labels = [service, route_name, code, observation.source.label()];
        match route {
            // The common case, its counter found once per route instead of per request.
            Some(route) if observation.status == 200 && observation.source == Source::Service => {
                route
                    .proxied_ok
                    .get_or_init(|| self.requests.with_label_values(&labels))
                    .inc();
            }
            _ => self.requests.with_label_values(&labels).inc(),
        }
        if let Some(route) = route {
            route.request_latency.observe(observation.request_ms);
            if let Some(upstream) = observation.upstream_ms {
                route.upstream_latency.observe(upstream);
            }
            if let Some(proxy) = observation.proxy_ms {
                route.proxy_latency.observe(proxy);
            }
        }
    }

    /// Requests being served now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Requests started since the process began.
    pub fn total_requests(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// A request was refused by `rate-limiting`.
    pub fn rate_limited(&self, service: &str, route: &str) {
        self.rate_limited.with_label_values(&[service, route]).inc();
    }

    /// `count` spans reached the collector.
    pub fn spans_exported(&self, count: usize) {
        self.spans_exported.inc_by(count as u64);
    }

    /// `count` spans were dropped (full queue, failed export).
    pub fn spans_dropped(&self, count: usize) {
        self.spans_dropped.inc_by(count as u64);
    }

    /// A TLS handshake reached `stage`: `started`, `completed` or `no_certificate`.
    pub fn tls_handshake(&self, stage: &'static str) {
        self.tls_handshakes.with_label_values(&[stage]).inc();
    }

    /// An `apikey-auth-plugin` cache lookup.
    pub fn key_cache(&self, hit: bool) {
        // Resolved on first use, not per request (a labelled look-up hashes its labels).
        let (counter, label) = if hit {
            (&self.key_cache_hits, "hit")
        } else {
            (&self.key_cache_misses, "miss")
        };
        counter
            .get_or_init(|| self.key_cache.with_label_values(&[label]))
            .inc();
    }

    /// Sets the reload counters to the reloader's totals (read at scrape time).
    pub fn set_reloads(&self, ok: u64, failed: u64) {
        for (label, value) in [("ok", ok), ("failed", failed)] {
            let counter = self.reloads.with_label_values(&[label]);
            let current = counter.get();
            if value > current {
                counter.inc_by(value - current);
            }
        }
    }

    /// Replaces the target-health series with `targets` (upstream, target, address, state).
    pub fn set_target_health<'a>(
        &self,
        targets: impl IntoIterator<Item = (&'a str, &'a str, &'a str, &'static str)>,
    ) {
        self.target_health.reset();
        for (upstream, target, address, state) in targets {
            for candidate in ["healthy", "unhealthy", "dns_error", "healthchecks_off"] {
                self.target_health
                    .with_label_values(&[upstream, target, address, candidate])
                    .set(i64::from(candidate == state));
            }
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(err) = encoder.encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %err, "cannot encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// A status code as a label without allocating.
fn status_label(status: u16) -> &'static str {
    static LABELS: LazyLock<Vec<String>> =
        LazyLock::new(|| (0..1000).map(|code: u16| code.to_string()).collect());
    LABELS.get(usize::from(status)).map_or("0", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_requests_are_counted_by_route_and_status() {
        let metrics = Metrics::new();
        let route = metrics.route("blog", "blog-read");
        metrics.request_started();
        metrics.request_finished(
            Some(&route),
            &Observation {
                status: 200,
                source: Source::Service,
                request_ms: 3.0,
                upstream_ms: Some(2.0),
                proxy_ms: Some(1.0),
            },
        );
        metrics.request_done();
        metrics.request_started();
        metrics.request_finished(
            None,
            &Observation {
                status: 404,
                source: Source::Gateway,
                request_ms: 0.1,
                upstream_ms: None,
                proxy_ms: None,
            },
        );
        let text = metrics.render();
        assert!(text.contains(
            r#"kong_http_requests_total{code="200",route="blog-read",service="blog",source="service"} 1"#
        ), "{text}");
        assert!(
            text.contains(
                r#"kong_http_requests_total{code="404",route="",service="",source="kong"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"kong_upstream_latency_ms_count{route="blog-read",service="blog"} 1"#)
        );
        assert_eq!(
            metrics.in_flight(),
            1,
            "the second request is still in flight"
        );
        metrics.request_done();
        assert_eq!(metrics.in_flight(), 0);
        assert_eq!(metrics.total_requests(), 2);
    }

    #[test]
    fn reload_totals_only_move_forward() {
        let metrics = Metrics::new();
        metrics.set_reloads(3, 1);
        metrics.set_reloads(5, 1);
        let text = metrics.render();
        assert!(
            text.contains(r#"gateway_config_reloads_total{result="ok"} 5"#),
            "{text}"
        );
        assert!(text.contains(r#"gateway_config_reloads_total{result="failed"} 1"#));
    }

    #[test]
    fn target_health_marks_exactly_one_state() {
        let metrics = Metrics::new();
        metrics.set_target_health([("pool", "a:80", "127.0.0.1:80", "unhealthy")]);
        let text = metrics.render();
        assert!(text.contains(
            r#"kong_upstream_target_health{address="127.0.0.1:80",state="unhealthy",target="a:80",upstream="pool"} 1"#
        ), "{text}");
        assert!(text.contains(
            r#"kong_upstream_target_health{address="127.0.0.1:80",state="healthy",target="a:80",upstream="pool"} 0"#
        ));
    }
}
