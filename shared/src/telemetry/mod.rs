//! Tracing set-up: JSON lines in release mode, compact lines otherwise; `RUST_LOG` overrides the
//! default filter. `log` records of dependencies are captured too.
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans also go to that OpenTelemetry collector
//! ([`export`]) and the trace context crosses HTTP and NATS ([`propagation`]); unset, nothing of
//! OpenTelemetry is built and requests pay nothing for it. Either way the request spans carry a
//! `trace_id` field (the continued or new trace, or the caller's `traceparent` when not exporting),
//! so every log line of a request leads to its trace.

use std::{
    io::IsTerminal,
    sync::atomic::{AtomicBool, Ordering},
};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::RunMode;

mod export;
pub mod propagation;

pub use propagation::{continue_trace, nats_headers};

/// Whether spans are exported ([`init`] found `OTEL_EXPORTER_OTLP_ENDPOINT`).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether this process exports spans: the extra spans (NATS requests, store and Redis calls) and
/// the context put on outgoing NATS requests exist only then.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The installed telemetry; [`Telemetry::shutdown`] exports the spans still queued.
#[derive(Debug)]
#[must_use = "call shutdown() before the process exits, or queued spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports what is queued and stops the exporter (a no-op when not exporting). The SDK's
    /// shutdown blocks until its batching task answers, so it runs off the runtime's workers.
    pub async fn shutdown(self) {
        let Some(provider) = self.provider else {
            return;
        };
        match tokio::task::spawn_blocking(move || provider.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::warn!(error.message = %err, "opentelemetry: cannot flush the last spans")
            }
            Err(err) => tracing::warn!(error.message = %err, "opentelemetry: shutdown failed"),
        }
    }
}

/// Installs the global subscriber for `service`, exporting spans when the environment asks for it
/// (see the module doc). A second call is a no-op (tests may call it often). Must run inside the
/// Tokio runtime: the exporter's batching task lives there.
pub fn init(service: &str, mode: RunMode, default_filter: &str) -> Telemetry {
    let provider = match export::Settings::from_env(service) {
        Some(settings) => match export::tracer_provider(&settings) {
            Ok(provider) => Some((provider, settings)),
            Err(err) => {
                eprintln!("{service}: OpenTelemetry export is off: {err}");
                None
            }
        },
        None => None,
    };
    let otel_layer = provider.as_ref().map(|(provider, _)| {
        tracing_opentelemetry::layer().with_tracer(provider.tracer(service.to_owned()))
    });
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let registry = tracing_subscriber::registry().with(filter).with(otel_layer);
    let result = if mode == RunMode::Release {
        registry
            .with(fmt::layer().json().with_current_span(true))
            .try_init()
    } else {
        // colours only for a terminal: a log file or a collector gets plain text
        let ansi = std::io::stdout().is_terminal();
        registry
            .with(fmt::layer().compact().with_ansi(ansi))
            .try_init()
    };
    if result.is_err() {
        if let Some((provider, _)) = provider {
            let _ = provider.shutdown();
        }
        return Telemetry { provider: None };
    }
    match provider {
        Some((provider, settings)) => {
            propagation::install();
            EXPORTING.store(true, Ordering::Relaxed);
            tracing::info!(service, ?mode, service_name = %settings.service_name, endpoint = %settings.endpoint, sampling_ratio = settings.sampling_ratio, "telemetry initialised, exporting spans");
            Telemetry {
                provider: Some(provider),
            }
        }
        None => {
            tracing::info!(service, ?mode, "telemetry initialised");
            Telemetry { provider: None }
        }
    }
}

/// The client span of one database call (`system`: `sqlite`, `mongodb`); the services' stores
/// wrap every call in one while exporting.
pub fn store_span(system: &'static str, operation: &'static str) -> tracing::Span {
    tracing::info_span!(
        "store",
        otel.name = %format_args!("{system} {operation}"),
        otel.kind = "client",
        db.system = system,
        db.operation = operation,
    )
}

/// The client span of one Redis call while exporting ([`tracing::Span::none`] otherwise: no span
/// is built for a cache call when nothing would see it).
pub fn redis_span(operation: &'static str) -> tracing::Span {
    if !exporting() {
        return tracing::Span::none();
    }
    tracing::info_span!(
        "redis",
        otel.name = %format_args!("redis {operation}"),
        otel.kind = "client",
        db.system = "redis",
        db.operation = operation,
    )
}
