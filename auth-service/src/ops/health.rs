//! `GET /health` (D5): database, NATS and Redis each answer within a deadline.

use shared::health::{HealthReport, nats_connected, within};

use crate::state::AppState;

/// Runs every check concurrently.
pub async fn check_health(state: &AppState) -> HealthReport {
    let database = within(async { state.store.ping().await.map_err(|err| err.to_string()) });
    let nats = within(async { nats_connected(&state.nats) });
    let redis = within(async {
        let mut connection = state.redis.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(|_| ())
            .map_err(|err| err.to_string())
    });
    let (database, nats, redis) = tokio::join!(database, nats, redis);
    HealthReport {
        checks: vec![("database", database), ("nats", nats), ("redis", redis)],
    }
}
