//! The OpenTelemetry exporter of the services: settings from the standard `OTEL_*` variables, a
//! tracer provider whose spans go in OTLP/HTTP (protobuf) batches to the collector.
//!
//! Batching runs as a Tokio task ([`BatchSpanProcessor`] of the SDK) with a bounded queue: a slow or
//! dead collector costs dropped spans, never a request's time.

use std::env;

use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::{
    Resource, runtime,
    trace::{Sampler, SdkTracerProvider, span_processor_with_async_runtime::BatchSpanProcessor},
};

/// Where and how this process exports spans.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// The OTLP/HTTP traces URL (`.../v1/traces`).
    pub(crate) endpoint: String,
    /// `service.name` of the spans.
    pub(crate) service_name: String,
    /// The share of new traces sampled; a caller's sampling decision is always followed.
    pub(crate) sampling_ratio: f64,
    /// `OTEL_TRACES_SAMPLER` is set: the SDK reads it (and its argument) itself.
    pub(crate) sampler_from_sdk: bool,
}

impl Settings {
    /// The settings of the process environment, `None` when no endpoint is set (or
    /// `OTEL_SDK_DISABLED=true`): `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is, else
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`; `OTEL_SERVICE_NAME` (default `service`);
    /// `OTEL_TRACES_SAMPLER_ARG` (default 1: every trace).
    pub(crate) fn from_env(service: &str) -> Option<Self> {
        Self::from_lookup(service, |name| {
            env::var(name).ok().filter(|value| !value.trim().is_empty())
        })
    }

    fn from_lookup(service: &str, lookup: impl Fn(&str) -> Option<String>) -> Option<Self> {
        if lookup("OTEL_SDK_DISABLED").is_some_and(|value| value.eq_ignore_ascii_case("true")) {
            return None;
        }
        let endpoint = lookup("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
            lookup("OTEL_EXPORTER_OTLP_ENDPOINT")
                .map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
        })?;
        let sampling_ratio = match lookup("OTEL_TRACES_SAMPLER_ARG") {
            None => 1.0,
            Some(arg) => match arg.trim().parse::<f64>() {
                Ok(ratio) if (0.0..=1.0).contains(&ratio) => ratio,
                _ => {
                    eprintln!(
                        "{service}: OTEL_TRACES_SAMPLER_ARG={arg:?} is not a ratio from 0 to 1; sampling every trace"
                    );
                    1.0
                }
            },
        };
        Some(Self {
            endpoint,
            service_name: lookup("OTEL_SERVICE_NAME").unwrap_or_else(|| service.to_owned()),
            sampling_ratio,
            sampler_from_sdk: lookup("OTEL_TRACES_SAMPLER").is_some(),
        })
    }
}

/// A tracer provider exporting to `settings.endpoint` in batches from a Tokio task.
pub(crate) fn tracer_provider(
    settings: &Settings,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(settings.endpoint.clone())
        .with_http_client(
            opentelemetry_http::hyper::HyperClient::with_default_connector(
                std::time::Duration::from_secs(10),
                None,
            ),
        )
        .build()?;
    let processor = BatchSpanProcessor::builder(exporter, runtime::Tokio).build();
    let resource = Resource::builder()
        .with_service_name(settings.service_name.clone())
        .build();
    let mut builder = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(resource);
    if !settings.sampler_from_sdk {
        builder = builder.with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            settings.sampling_ratio,
        ))));
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Option<Settings> {
        Settings::from_lookup("blog-service", |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn nothing_is_exported_without_an_endpoint() {
        assert_eq!(settings(&[]), None);
        assert_eq!(
            settings(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ("OTEL_SDK_DISABLED", "true")
            ]),
            None
        );
    }

    #[test]
    fn the_standard_variables_set_endpoint_name_and_ratio() {
        let read = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_SERVICE_NAME", "blog-a"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ])
        .unwrap();
        assert_eq!(read.endpoint, "http://collector:4318/v1/traces");
        assert_eq!(read.service_name, "blog-a");
        assert_eq!(read.sampling_ratio, 0.25);
        assert!(!read.sampler_from_sdk);

        let traces_endpoint = settings(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://other:9999/traces",
            ),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ])
        .unwrap();
        assert_eq!(traces_endpoint.endpoint, "http://other:9999/traces");
        assert_eq!(traces_endpoint.service_name, "blog-service");
        assert_eq!(traces_endpoint.sampling_ratio, 1.0, "out of range: all");
    }
}
