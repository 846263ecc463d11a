//! [`AppState`]: what every HTTP handler shares (cheap to clone).

use std::sync::Arc;

use crate::{cache::BlogCache, configuration::Settings, nats::AuthClient, store::BlogStore};

/// Shared state of one serving process.
#[derive(Clone)]
pub struct AppState {
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// The database.
    pub store: Arc<dyn BlogStore>,
    /// The Redis cache of public reads.
    pub cache: BlogCache,
    /// Requests to auth-service.
    pub auth: AuthClient,
    /// The NATS connection (its state feeds `/health`).
    pub nats: async_nats::Client,
}
