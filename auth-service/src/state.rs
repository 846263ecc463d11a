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
    /// Redis, only pinged (at start, for the log, and by `/health`, each connect and reply bounded
    /// by `shared::health::CHECK_TIMEOUT`): auth keeps nothing in it (spec 5) and does not need it
    /// to start; the connection is made by the first ping Redis answers.
    pub redis: shared::redis::Redis,
    /// The NATS connection (its state feeds `/health`).
    pub nats: async_nats::Client,
}
