//! `GET /health` (D5).

use axum::{Router, extract::State, routing::get};
use shared::{ApiError, envelope::Success, health::Health};

use crate::{ops, state::AppState};

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(get_health))
}

// D5: 200 with every check OK, else 503 naming the failing checks
async fn get_health(State(state): State<AppState>) -> Result<Success<Health>, ApiError> {
    let timestamp = crate::domain::Timestamp::now().to_string();
    ops::check_health(&state).await.into_response(timestamp)
}
