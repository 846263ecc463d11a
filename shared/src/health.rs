//! Health plumbing both services share: each check runs under a deadline, the report names the
//! failures, and it renders as 200 with `{"status":"OK","timestamp","checks"}` or as 503 naming the
//! failing checks. Why a check failed (driver texts, addresses) is logged, never answered: `/health`
//! needs no API key. The checks themselves (how the database and Redis are asked) stay in each
//! service, which implements [`HealthChecks`] and mounts [`router`].
//!
//! Three reports, one envelope:
//! - `GET /health` (D5): every dependency (database, NATS, Redis).
//! - `GET /health/ready`: what the service cannot serve without (its database); the gateway's active
//!   probes and the containers' health checks use it, so a Redis or NATS outage takes no replica
//!   out of rotation.
//! - `GET /health/live`: no check ([`liveness`]); 200 whenever the process answers HTTP.

use std::{collections::BTreeMap, future::Future, time::Duration};

use axum::{Router, extract::State, routing::get};
use serde::Serialize;

use crate::{
    ApiError,
    envelope::{Success, success},
};

/// How long each check may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The outcome of each check, `Ok` or the reason.
#[derive(Debug, Clone)]
pub struct HealthReport {
    /// `(name, result)`, e.g. for `database`, `nats`, `redis`.
    pub checks: Vec<(&'static str, Result<(), String>)>,
}

/// The `data` of a healthy answer.
#[derive(Debug, Serialize)]
pub struct Health {
    /// Always `OK`.
    pub status: &'static str,
    /// When the checks ran, as the service formats times.
    pub timestamp: String,
    /// Every check, `OK`.
    pub checks: BTreeMap<&'static str, &'static str>,
}

impl HealthReport {
    /// The checks that failed, as `(name, reason)`.
    pub fn failures(&self) -> Vec<(&'static str, &str)> {
        self.checks
            .iter()
            .filter_map(|(name, result)| result.as_ref().err().map(|why| (*name, why.as_str())))
            .collect()
    }

    /// D5: 200 with every check `OK`, else 503 naming the failing checks (`unhealthy: redis`); each
    /// reason is logged.
    pub fn into_response(self, timestamp: String) -> Result<Success<Health>, ApiError> {
        let failures = self.failures();
        if !failures.is_empty() {
            for (check, reason) in &failures {
                tracing::error!(check, reason, "health check failed");
            }
            let names: Vec<&str> = failures.iter().map(|(name, _)| *name).collect();
            return Err(ApiError::Unavailable(format!(
                "unhealthy: {}",
                names.join(", ")
            )));
        }
        let checks = self.checks.iter().map(|(name, _)| (*name, "OK")).collect();
        Ok(success(
            "success",
            Health {
                status: "OK",
                timestamp,
                checks,
            },
        ))
    }
}

/// The report of `GET /health/live`: no check, so always 200.
pub fn liveness() -> HealthReport {
    HealthReport { checks: Vec::new() }
}

/// Runs `check`, turning a run past [`CHECK_TIMEOUT`] into `Err("timed out")`.
pub async fn within<F: Future<Output = Result<(), String>>>(check: F) -> Result<(), String> {
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err("timed out".to_owned()))
}

/// The NATS check: the connection is up.
pub fn nats_connected(client: &async_nats::Client) -> Result<(), String> {
    match client.connection_state() {
        async_nats::connection::State::Connected => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

/// What a service checks for its health routes ([`router`]).
pub trait HealthChecks: Clone + Send + Sync + 'static {
    /// `GET /health` (D5): every dependency, usually [`dependencies`].
    fn check_health(&self) -> impl Future<Output = HealthReport> + Send;
    /// `GET /health/ready`: what the service cannot serve without, usually [`readiness`].
    fn check_readiness(&self) -> impl Future<Output = HealthReport> + Send;
    /// Now, as the service formats times in its answers (the report's `timestamp`).
    fn timestamp() -> String;
}

/// The report of `GET /health` (D5): the database, NATS and Redis, checked concurrently, each
/// within [`CHECK_TIMEOUT`].
pub async fn dependencies(
    database: impl Future<Output = Result<(), String>>,
    nats: &async_nats::Client,
    redis: impl Future<Output = Result<(), String>>,
) -> HealthReport {
    let nats = within(async { nats_connected(nats) });
    let (database, nats, redis) = tokio::join!(within(database), nats, within(redis));
    HealthReport {
        checks: vec![("database", database), ("nats", nats), ("redis", redis)],
    }
}

/// The report of `GET /health/ready`: the database, within [`CHECK_TIMEOUT`] (Redis and NATS are no
/// condition: without them a service still serves, with the contract's errors where it must).
pub async fn readiness(database: impl Future<Output = Result<(), String>>) -> HealthReport {
    HealthReport {
        checks: vec![("database", within(database).await)],
    }
}

/// `GET /health`, `GET /health/ready` and `GET /health/live` of a service whose state is `S`.
pub fn router<S: HealthChecks>() -> Router<S> {
    Router::new()
        .route("/health", get(get_health::<S>))
        .route("/health/ready", get(get_readiness::<S>))
        .route("/health/live", get(get_liveness::<S>))
}

// D5: 200 with every check OK, else 503 naming the failing checks
async fn get_health<S: HealthChecks>(State(state): State<S>) -> Result<Success<Health>, ApiError> {
    state.check_health().await.into_response(S::timestamp())
}

// README "Deliberate differences": 200 while the database answers (Redis and NATS are no condition)
async fn get_readiness<S: HealthChecks>(
    State(state): State<S>,
) -> Result<Success<Health>, ApiError> {
    state.check_readiness().await.into_response(S::timestamp())
}

// README "Deliberate differences": 200 whenever the process answers HTTP
async fn get_liveness<S: HealthChecks>() -> Result<Success<Health>, ApiError> {
    liveness().into_response(S::timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_every_failure() {
        let report = HealthReport {
            checks: vec![
                ("database", Ok(())),
                ("nats", Err("Disconnected".into())),
                ("redis", Err("timed out".into())),
            ],
        };
        assert_eq!(
            report.failures(),
            [("nats", "Disconnected"), ("redis", "timed out")]
        );
        let Err(ApiError::Unavailable(message)) = report.into_response("now".into()) else {
            panic!("an unhealthy report is a 503");
        };
        assert_eq!(
            message, "unhealthy: nats, redis",
            "reasons are logged, not answered"
        );
    }

    #[test]
    fn liveness_checks_nothing_and_is_always_ok() {
        let report = liveness();
        assert!(report.checks.is_empty());
        assert!(report.into_response("now".into()).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_check_past_the_deadline_times_out() {
        let slow = within(async {
            tokio::time::sleep(CHECK_TIMEOUT * 2).await;
            Ok(())
        });
        assert_eq!(slow.await, Err("timed out".to_owned()));
    }
}
