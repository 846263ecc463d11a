//! The HTTP layer: the routes of spec 1.3 plus `GET /health` (D5), `/health/ready` and
//! `/health/live`, wrapped in the shared layers (envelope 404 fallback, panic → 500, body limit,
//! request ids).

use axum::Router;
use shared::http::{HttpSettings, finish_router};

use crate::state::AppState;

mod author;
mod dto;
mod editor;
mod extract;
mod public;

/// The complete router.
pub fn router(state: AppState) -> Router {
    let settings = HttpSettings {
        mode: state.settings.mode,
        max_body_bytes: state.settings.server.max_body_bytes,
    };
    let routes = Router::new()
        .merge(public::router())
        .merge(author::router())
        .merge(editor::router())
        .merge(shared::health::router());
    finish_router(routes, settings).with_state(state)
}
