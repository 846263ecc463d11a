//! `GET /health` (D5): database, NATS and Redis each answer within a deadline. `GET /health/ready`:
//! the database only; auth serves HTTP without NATS, and keeps nothing in Redis (spec 5).

use shared::health::{HealthReport, nats_connected, within};

use crate::state::AppState;

/// Runs every check concurrently.
pub async fn check_health(state: &AppState) -> HealthReport {
    let nats = within(async { nats_connected(&state.nats) });
    let redis = within(state.redis.ping());
    let (database, nats, redis) = tokio::join!(check_database(state), nats, redis);
    HealthReport {
        checks: vec![("database", database), ("nats", nats), ("redis", redis)],
    }
}

/// Whether auth can serve its requests: the database answers.
pub async fn check_readiness(state: &AppState) -> HealthReport {
    HealthReport {
        checks: vec![("database", check_database(state).await)],
    }
}

async fn check_database(state: &AppState) -> Result<(), String> {
    within(async { state.store.ping().await.map_err(|err| err.to_string()) }).await
}
