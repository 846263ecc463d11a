//! The `opentelemetry` plugin's config (Kong's fields and defaults, refusals with their paths)
//! and its access phase (the context it reads, decides and sends upstream).

use std::sync::Arc;

use super::*;
use crate::plugins::{credentials::Credentials, test_header};

fn parse(yaml: &str) -> Result<OpenTelemetryConfig, Vec<String>> {
    let value: Value = serde_yaml::from_str(yaml).unwrap();
    let mut validator = Validator::default();
    validator
        .opentelemetry_config(&value, "plugins[0].config")
        .ok_or_else(|| {
            (validator.errors.iter())
                .map(|e| format!("{}: {}", e.path, e.message))
                .collect()
        })
}

fn plugin(yaml: &str) -> OpenTelemetry {
    let credentials = Arc::new(Credentials::new(Vec::new(), []));
    let context = BuildContext {
        credentials: &credentials,
        route: None,
        service: None,
    };
    OpenTelemetry::build(&parse(yaml).unwrap(), &context)
}

/// The upstream headers the access phase leaves for `headers`, and the trace it starts.
fn run(plugin: &OpenTelemetry, headers: &[(&'static str, &str)]) -> (Effects, RequestTrace) {
    let header = test_header("GET", "/", headers);
    let mut effects = Effects::default();
    let flow = plugin.access_now(&AccessRequest::for_test(&header, None), &mut effects);
    assert!(matches!(flow, Flow::Continue));
    let trace = effects.trace.clone().expect("a trace is started");
    (effects, trace)
}

fn upstream<'a>(effects: &'a Effects, name: &str) -> Option<&'a str> {
    effects
        .upstream_header(name)
        .flatten()
        .map(|value| value.to_str().unwrap())
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[test]
fn kongs_defaults_and_older_field_names_are_read() {
    let config = parse("{traces_endpoint: 'http://collector:4318/v1/traces'}").unwrap();
    assert_eq!(config.export.endpoint, "http://collector:4318/v1/traces");
    assert_eq!(config.sampling_rate, 0.01, "Kong's tracing_sampling_rate");
    assert_eq!(config.header_type, HeaderType::Preserve);
    assert_eq!(config.export.max_batch_size, 200);
    assert_eq!(config.export.max_queued, 10_000);
    assert_eq!(config.export.flush_delay, Duration::from_secs(1));
    assert_eq!(config.export.timeout, Duration::from_secs(5));

    let config = parse(
        "{endpoint: 'http://c:4318/v1/traces', batch_span_count: 50, batch_flush_delay: 3, \
         header_type: b3-single, sampling_rate: 1, connect_timeout: 200, \
         resource_attributes: {service.name: edge}, headers: {x-api-key: k}, \
         http_response_header_for_traceid: X-Trace-Id}",
    )
    .unwrap();
    assert_eq!(config.export.endpoint, "http://c:4318/v1/traces");
    assert_eq!(config.export.max_batch_size, 50);
    assert_eq!(config.export.flush_delay, Duration::from_secs(3));
    assert_eq!(config.export.timeout, Duration::from_millis(200));
    assert_eq!(config.header_type, HeaderType::Fixed(Format::B3Single));
    assert_eq!(
        config.export.resource_attributes,
        [("service.name".to_owned(), "edge".to_owned())]
    );
    assert_eq!(config.response_header.as_deref(), Some("x-trace-id"));

    let queued = parse("{traces_endpoint: 'http://c/v1/traces', queue: {max_batch_size: 7, max_coalescing_delay: 0.5, max_entries: 99, max_retry_time: 60}}").unwrap();
    assert_eq!(
        (queued.export.max_batch_size, queued.export.max_queued),
        (7, 99)
    );
    assert_eq!(queued.export.flush_delay, Duration::from_millis(500));
}

#[test]
fn what_this_gateway_cannot_do_is_refused_with_its_path() {
    for (yaml, expected) in [
        (
            "{}",
            "plugins[0].config.traces_endpoint: required field missing",
        ),
        (
            "{traces_endpoint: 'collector:4318'}",
            "plugins[0].config.traces_endpoint: invalid URL",
        ),
        (
            "{traces_endpoint: 'http://c/v1/traces', header_type: datadog}",
            "plugins[0].config.header_type: \"datadog\" is not supported",
        ),
        (
            "{traces_endpoint: 'http://c/v1/traces', sampling_rate: 2}",
            "plugins[0].config.sampling_rate: 2 is out of range 0..1",
        ),
        (
            "{traces_endpoint: 'http://c/v1/traces', logs_endpoint: 'http://c/v1/logs'}",
            "plugins[0].config.logs_endpoint: logs are not exported",
        ),
        (
            "{traces_endpoint: 'http://c/v1/traces', queue: {max_batch_size: 0}}",
            "plugins[0].config.queue.max_batch_size: 0 is out of range",
        ),
        (
            "{traces_endpoint: 'http://c/v1/traces', bogus: 1}",
            "plugins[0].config.bogus: unknown field",
        ),
    ] {
        let errors = parse(yaml).unwrap_err();
        assert!(
            errors.iter().any(|error| error.starts_with(expected)),
            "{yaml}: expected {expected:?}, got {errors:?}"
        );
    }
}

#[test]
fn a_clients_w3c_context_is_continued_not_replaced() {
    let plugin = plugin("{traces_endpoint: 'http://c/v1/traces', sampling_rate: 0}");
    let (effects, trace) = run(
        &plugin,
        &[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )],
    );
    assert_eq!(trace.trace_id_hex(), TRACE);
    assert_eq!(
        trace.parent_span_id,
        Some([0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7])
    );
    assert!(
        trace.sampled,
        "the client's decision wins over sampling_rate 0"
    );
    let traceparent = upstream(&effects, "traceparent").unwrap();
    let span = crate::hex::hex(&trace.span_id);
    assert_eq!(traceparent, format!("00-{TRACE}-{span}-01"));
    assert_ne!(
        span, "00f067aa0ba902b7",
        "the gateway's own span is the parent upstream"
    );
}

#[test]
fn preserve_answers_in_the_clients_format_and_a_fixed_type_replaces_it() {
    let b3 = [
        ("x-b3-traceid", TRACE),
        ("x-b3-spanid", "00f067aa0ba902b7"),
        ("x-b3-sampled", "1"),
    ];
    let preserve = plugin("{traces_endpoint: 'http://c/v1/traces'}");
    let (effects, trace) = run(&preserve, &b3);
    assert_eq!(upstream(&effects, "x-b3-traceid"), Some(TRACE));
    assert_eq!(
        upstream(&effects, "x-b3-parentspanid"),
        Some("00f067aa0ba902b7")
    );
    assert_eq!(upstream(&effects, "traceparent"), None);
    assert!(trace.sampled);

    let w3c = plugin("{traces_endpoint: 'http://c/v1/traces', header_type: w3c}");
    let (effects, _) = run(&w3c, &b3);
    assert!(upstream(&effects, "traceparent").unwrap().contains(TRACE));
    assert_eq!(
        effects.upstream_header("x-b3-traceid"),
        Some(None),
        "the client's b3 headers do not go on beside the new context"
    );

    let jaeger = [(
        "uber-trace-id",
        "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1",
    )];
    let (effects, trace) = run(&preserve, &jaeger);
    assert!(
        upstream(&effects, "uber-trace-id")
            .unwrap()
            .starts_with(TRACE)
    );
    assert_eq!(trace.trace_id_hex(), TRACE);
}

#[test]
fn without_a_client_context_a_new_trace_is_sampled_by_rate_and_ignore_drops_the_clients() {
    let never = plugin("{traces_endpoint: 'http://c/v1/traces', sampling_rate: 0}");
    let (effects, trace) = run(&never, &[]);
    assert!(!trace.sampled);
    assert!(upstream(&effects, "traceparent").unwrap().ends_with("-00"));

    let always =
        plugin("{traces_endpoint: 'http://c/v1/traces', sampling_rate: 1, header_type: ignore}");
    let (effects, trace) = run(
        &always,
        &[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
        )],
    );
    assert_ne!(trace.trace_id_hex(), TRACE, "ignore starts a new trace");
    assert_eq!(trace.parent_span_id, None);
    assert!(trace.sampled);
    assert!(upstream(&effects, "traceparent").unwrap().ends_with("-01"));
}

#[test]
fn the_trace_id_goes_back_to_the_client_when_asked() {
    let plugin = plugin(
        "{traces_endpoint: 'http://c/v1/traces', http_response_header_for_traceid: x-trace-id}",
    );
    let (effects, trace) = run(&plugin, &[]);
    assert_eq!(
        effects.response_header("x-trace-id").unwrap(),
        trace.trace_id_hex().as_str()
    );
}
