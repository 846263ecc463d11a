//! [`AppState`]: what every HTTP handler and NATS responder shares (cheap to clone).

use std::sync::Arc;

use crate::{configuration::Settings, store::AuthStore, tokens::TokenKeys};

/// Shared state of one serving process.
#[derive(Clone)]
pub struct AppState {
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// The database.
    pub store: Arc<dyn AuthStore>,
    /// JWT keys and claim settings.
    pub tokens: Arc<TokenKeys>,
    /// Redis (pinged at start and by `/health`; auth keeps no cache in it, spec 5).
    pub redis: redis::aio::ConnectionManager,
    /// The NATS connection (its state feeds `/health`).
    pub nats: async_nats::Client,
}
