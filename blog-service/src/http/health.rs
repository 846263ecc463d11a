//! `GET /health` (D5, every dependency), `GET /health/ready` (the database) and `GET /health/live`
//! (no check); see `shared::health`.

use axum::{Router, extract::State, routing::get};
use shared::{
    ApiError,
    envelope::Success,
    health::{Health, liveness},
};

use crate::{ops, state::AppState};

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(get_health))
        .route("/health/ready", get(get_readiness))
        .route("/health/live", get(get_liveness))
}

fn now() -> String {
    crate::domain::Timestamp::now().to_string()
}

// D5: 200 with every check OK, else 503 naming the failing checks
async fn get_health(State(state): State<AppState>) -> Result<Success<Health>, ApiError> {
    ops::check_health(&state).await.into_response(now())
}

// README "Deliberate differences": 200 while the database answers (Redis and NATS are no condition)
async fn get_readiness(State(state): State<AppState>) -> Result<Success<Health>, ApiError> {
    ops::check_readiness(&state).await.into_response(now())
}

// README "Deliberate differences": 200 whenever the process answers HTTP
async fn get_liveness() -> Result<Success<Health>, ApiError> {
    liveness().into_response(now())
}
