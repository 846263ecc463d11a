//! Tracing set-up: JSON lines in release mode, compact lines otherwise; `RUST_LOG` overrides the
//! default filter. `log` records of dependencies are captured too.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::RunMode;

/// Installs the global subscriber for `service`. A second call is a no-op (tests may call it often).
pub fn init(service: &str, mode: RunMode, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if mode == RunMode::Release {
        registry
            .with(fmt::layer().json().with_current_span(true))
            .try_init()
    } else {
        registry.with(fmt::layer().compact()).try_init()
    };
    if result.is_ok() {
        tracing::info!(service, ?mode, "telemetry initialised");
    }
}
