//! `GET /health` (D5): database, NATS and Redis each answer within a deadline.

use std::time::Duration;

use crate::state::AppState;

/// How long each check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The outcome of each check, `Ok` or the reason.
#[derive(Debug, Clone)]
pub struct HealthReport {
    /// `(name, result)` for `database`, `nats`, `redis`.
    pub checks: Vec<(&'static str, Result<(), String>)>,
}

impl HealthReport {
    /// The checks that failed, as `name: reason`.
    pub fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter_map(|(name, result)| result.as_ref().err().map(|why| format!("{name}: {why}")))
            .collect()
    }
}

async fn within<F: Future<Output = Result<(), String>>>(check: F) -> Result<(), String> {
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err("timed out".to_owned()))
}

/// Runs every check concurrently.
pub async fn check_health(state: &AppState) -> HealthReport {
    let database = within(async { state.store.ping().await.map_err(|err| err.to_string()) });
    let nats = within(async {
        match state.nats.connection_state() {
            async_nats::connection::State::Connected => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    let redis = within(state.cache.ping());
    let (database, nats, redis) = tokio::join!(database, nats, redis);
    HealthReport {
        checks: vec![("database", database), ("nats", nats), ("redis", redis)],
    }
}
