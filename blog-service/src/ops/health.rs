//! `GET /health` (D5): database, NATS and Redis each answer within a deadline. `GET /health/ready`:
//! the database only, the one dependency blog cannot serve without (Redis is a cache; without NATS
//! only what needs auth's answers fails, with the contract's errors: author and editor routes, the
//! author profile of an uncached public read). The routes and the rendering are `shared::health`'s.

use shared::health::{HealthChecks, HealthReport, dependencies, readiness};

use crate::{domain::Timestamp, state::AppState};

impl HealthChecks for AppState {
    async fn check_health(&self) -> HealthReport {
        dependencies(check_database(self), &self.nats, self.cache.ping()).await
    }

    async fn check_readiness(&self) -> HealthReport {
        readiness(check_database(self)).await
    }

    fn timestamp() -> String {
        Timestamp::now().to_string()
    }
}

async fn check_database(state: &AppState) -> Result<(), String> {
    state.store.ping().await.map_err(|err| err.to_string())
}
