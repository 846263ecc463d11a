//! `GET /health` (D5): database, NATS and Redis each answer within a deadline. `GET /health/ready`:
//! the database only; auth serves HTTP without NATS, and keeps nothing in Redis (spec 5). The routes
//! and the rendering are `shared::health`'s.

use shared::health::{HealthChecks, HealthReport, dependencies, readiness};

use crate::state::AppState;

impl HealthChecks for AppState {
    async fn check_health(&self) -> HealthReport {
        dependencies(check_database(self), &self.nats, self.redis.ping()).await
    }

    async fn check_readiness(&self) -> HealthReport {
        readiness(check_database(self)).await
    }

    fn timestamp() -> String {
        time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    }
}

async fn check_database(state: &AppState) -> Result<(), String> {
    state.store.ping().await.map_err(|err| err.to_string())
}
