//! `GET /health` (D5): database, NATS and Redis each answer within a deadline. `GET /health/ready`:
//! the database only, the one dependency blog cannot serve without (Redis is a cache; without NATS
//! only what needs auth's answers fails, with the contract's errors: author and editor routes, the
//! author profile of an uncached public read).

use shared::health::{HealthReport, nats_connected, within};

use crate::state::AppState;

/// Runs every check concurrently.
pub async fn check_health(state: &AppState) -> HealthReport {
    let nats = within(async { nats_connected(&state.nats) });
    let redis = within(state.cache.ping());
    let (database, nats, redis) = tokio::join!(check_database(state), nats, redis);
    HealthReport {
        checks: vec![("database", database), ("nats", nats), ("redis", redis)],
    }
}

/// Whether blog can serve its requests: the database answers.
pub async fn check_readiness(state: &AppState) -> HealthReport {
    HealthReport {
        checks: vec![("database", check_database(state).await)],
    }
}

async fn check_database(state: &AppState) -> Result<(), String> {
    within(async { state.store.ping().await.map_err(|err| err.to_string()) }).await
}
