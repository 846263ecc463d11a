//! The HTTP layer: routes of spec 1.1 plus `GET /health` (D5), `/health/ready` and `/health/live`,
//! wrapped in the shared layers (envelope 404 fallback, panic → 500, body limit, request ids).

use axum::Router;
use shared::http::{HttpSettings, finish_router};

use crate::state::AppState;

mod access;
mod dto;
mod extract;
mod profile;

/// The complete router.
pub fn router(state: AppState) -> Router {
    let settings = HttpSettings {
        mode: state.settings.mode,
        max_body_bytes: state.settings.server.max_body_bytes,
    };
    let routes = Router::new()
        .merge(access::router())
        .merge(profile::router())
        .merge(shared::health::router());
    finish_router(routes, settings).with_state(state)
}
