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
    /// Redis, only pinged (at start, for the log, and by `/health`): auth keeps nothing in it
    /// (spec 5), so it neither needs it to start nor holds a connection.
    pub redis: redis::Client,
    /// The NATS connection (its state feeds `/health`).
    pub nats: async_nats::Client,
}
