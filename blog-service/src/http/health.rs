//! `GET /health` (D5).

use axum::{Router, extract::State, routing::get};
use serde::Serialize;
use shared::{
    ApiError,
    envelope::{Success, success},
};

use crate::{ops, state::AppState};

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(get_health))
}

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    timestamp: String,
    checks: std::collections::BTreeMap<&'static str, &'static str>,
}

// D5: 200 with every check OK, else 503 naming the failing checks
async fn get_health(State(state): State<AppState>) -> Result<Success<Health>, ApiError> {
    let report = ops::check_health(&state).await;
    let failures = report.failures();
    if !failures.is_empty() {
        return Err(ApiError::Unavailable(format!(
            "unhealthy: {}",
            failures.join(", ")
        )));
    }
    let timestamp = crate::domain::Timestamp::now().to_string();
    let checks = report
        .checks
        .iter()
        .map(|(name, _)| (*name, "OK"))
        .collect();
    Ok(success(
        "success",
        Health {
            status: "OK",
            timestamp,
            checks,
        },
    ))
}
