//! The `opentelemetry` plugin through the real gateway: a client's trace context is continued
//! (W3C and B3), the upstream gets the gateway's span as its parent, the spans reach an OTLP/HTTP
//! receiver that decodes the real protobuf (`testkit::OtlpReceiver`), the API-key check is a
//! child span whose context goes to auth, and a dead collector fails no request while the dropped
//! spans are counted.

use std::time::Duration;

use testkit::{OtlpReceiver, ReceivedSpan};

use crate::helpers::{FakeAuth, Gateway, Upstream};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// Service `svc` on `upstream`, route `api` (`/api`), the plugin exporting to `endpoint`, plus
/// `more_plugins` (YAML list items).
fn config(upstream: &Upstream, endpoint: &str, more_plugins: &str) -> String {
    format!(
        r#"_format_version: "3.0"
services:
  - name: svc
    url: http://{}
    routes:
      - {{name: api, paths: [/api]}}
plugins:
  - name: opentelemetry
    config:
      traces_endpoint: {endpoint}
      sampling_rate: 1
      resource_attributes: {{service.name: edge}}
      queue: {{max_coalescing_delay: 0.05}}
{more_plugins}"#,
        upstream.target()
    )
}

/// What the echo upstream received as `name`.
async fn upstream_header(response: reqwest::Response, name: &str) -> Option<String> {
    let body: serde_json::Value = response.json().await.unwrap();
    body["headers"][name].as_str().map(str::to_owned)
}

fn gateway_span(spans: &[ReceivedSpan], trace_id: &str) -> Option<ReceivedSpan> {
    spans
        .iter()
        .find(|span| span.name == "kong" && span.trace_id == trace_id)
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_w3c_context_is_continued_upstream_and_the_span_is_exported() {
    // Arrange
    let receiver = OtlpReceiver::start().await;
    let upstream = Upstream::start("svc").await;
    let gateway = Gateway::start(&config(&upstream, &receiver.traces_url(), ""));
    let client = reqwest::Client::new();

    // Act
    let response = client
        .get(gateway.url("/api/items"))
        .header("traceparent", format!("00-{TRACE}-{CLIENT_SPAN}-01"))
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(response.status(), 200);
    let sent = upstream_header(response, "traceparent").await.unwrap();
    let spans = receiver
        .wait_for(Duration::from_secs(10), |spans| {
            gateway_span(spans, TRACE).is_some()
        })
        .await
        .unwrap();
    let span = gateway_span(&spans, TRACE).unwrap();
    assert_eq!(span.service, "edge", "resource_attributes set service.name");
    assert_eq!(
        span.parent_span_id.as_deref(),
        Some(CLIENT_SPAN),
        "the client's span is the parent"
    );
    assert_eq!(
        sent,
        format!("00-{TRACE}-{}-01", span.span_id),
        "the upstream's parent is the gateway's span"
    );
    assert_eq!(span.attributes["kong.route.name"], "api");
    assert_eq!(span.attributes["kong.service.name"], "svc");
    assert_eq!(span.attributes["http.status_code"], "200");
    assert_eq!(span.attributes["kong.upstream.addr"], upstream.target());
    let log = gateway.process.logs();
    assert!(
        log.contains(&format!("trace_id={TRACE}"))
            || log.contains(&format!("\"trace_id\":\"{TRACE}\"")),
        "the access log line leads to the trace: {log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b3_headers_are_read_and_a_request_without_context_starts_a_trace() {
    let receiver = OtlpReceiver::start().await;
    let upstream = Upstream::start("svc").await;
    let gateway = Gateway::start(&config(&upstream, &receiver.traces_url(), ""));
    let client = reqwest::Client::new();

    let response = client
        .get(gateway.url("/api/b3"))
        .header("x-b3-traceid", TRACE)
        .header("x-b3-spanid", CLIENT_SPAN)
        .header("x-b3-sampled", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        upstream_header(response, "x-b3-traceid").await.as_deref(),
        Some(TRACE),
        "preserve answers in the client's format"
    );
    let fresh = client.get(gateway.url("/api/new")).send().await.unwrap();
    let fresh_parent = upstream_header(fresh, "traceparent").await.unwrap();
    let fresh_trace = fresh_parent.split('-').nth(1).unwrap().to_owned();

    let spans = receiver
        .wait_for(Duration::from_secs(10), |spans| {
            gateway_span(spans, TRACE).is_some() && gateway_span(spans, &fresh_trace).is_some()
        })
        .await
        .unwrap();
    assert_eq!(
        gateway_span(&spans, TRACE)
            .unwrap()
            .parent_span_id
            .as_deref(),
        Some(CLIENT_SPAN)
    );
    assert_eq!(
        gateway_span(&spans, &fresh_trace).unwrap().parent_span_id,
        None,
        "a new trace's gateway span is its root"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_check_is_a_child_span_whose_context_goes_to_auth() {
    let receiver = OtlpReceiver::start().await;
    let upstream = Upstream::start("svc").await;
    let auth = FakeAuth::start(Duration::ZERO).await;
    let api_key = format!(
        "  - name: apikey-auth-plugin\n    config: {{verification_urls: [{}]}}\n",
        auth.url()
    );
    let gateway = Gateway::start(&config(&upstream, &receiver.traces_url(), &api_key));

    let response = reqwest::Client::new()
        .get(gateway.url("/api/x"))
        .header("x-api-key", "good")
        .header("traceparent", format!("00-{TRACE}-{CLIENT_SPAN}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let spans = receiver
        .wait_for(Duration::from_secs(10), |spans| {
            spans.iter().any(|span| span.name == "kong.apikey.verify")
                && gateway_span(spans, TRACE).is_some()
        })
        .await
        .unwrap();
    let gateway_span = gateway_span(&spans, TRACE).unwrap();
    let check = spans
        .iter()
        .find(|span| span.name == "kong.apikey.verify")
        .unwrap();
    assert_eq!(check.trace_id, TRACE);
    assert_eq!(
        check.parent_span_id.as_deref(),
        Some(gateway_span.span_id.as_str())
    );
    assert_eq!(check.attributes["http.status_code"], "200");
    assert_eq!(
        auth.traceparents(),
        [format!("00-{TRACE}-{}-01", check.span_id)],
        "auth gets the check's span as its parent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_collector_fails_no_request_and_the_dropped_spans_are_counted() {
    // A receiver that refuses everything, as a collector that is down.
    let receiver = OtlpReceiver::start().await;
    receiver.refuse(true);
    let upstream = Upstream::start("svc").await;
    let gateway = Gateway::start(&config(&upstream, &receiver.traces_url(), ""));
    let client = reqwest::Client::new();

    for i in 0..40 {
        let response = client
            .get(gateway.url(&format!("/api/{i}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "request {i}");
    }

    let dropped = |metrics: &str| -> f64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix("gateway_tracing_spans_dropped_total "))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let counted = testkit::wait_until_async(
        "the dropped spans to be counted",
        Duration::from_secs(10),
        || async { dropped(&gateway.metrics(&client).await) >= 40.0 },
    )
    .await;
    if let Err(err) = counted {
        panic!("{err}: {}", gateway.metrics(&client).await);
    }
    assert!(receiver.exports() > 0, "the gateway did try to export");
    assert!(receiver.spans().is_empty());
}
