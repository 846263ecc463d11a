//! Redis as both services reach it: [`Redis`] connects when a call first needs it and then keeps
//! one connection that reconnects by itself, every connect and reply bounded by the service's
//! timeout, and no retries inside the connection (its back-off, a second or more, would hold every
//! caller; callers pace their own attempts). Neither service needs Redis to start: [`connect`] makes
//! no connection, and [`log_first_ping`] only logs whether Redis answered.
//!
//! What a service does with Redis (blog's cache of public reads, auth's `/health` check) is not
//! here. The module shares the `redis` crate's name, so the crate is spelled `::redis` here.

use std::{sync::Arc, time::Duration};

use ::redis::{
    RedisResult,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use anyhow::Context;
use tokio::sync::OnceCell;

use crate::config::RedisSettings;

/// A Redis server, connected by the first call that needs it. Cheap to clone.
#[derive(Clone)]
pub struct Redis {
    client: ::redis::Client,
    /// Set by the first call that reaches Redis; the manager then reconnects by itself.
    connection: Arc<OnceCell<ConnectionManager>>,
    /// Bound of every connect and every reply.
    timeout: Duration,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Start-up: the Redis of `settings` (`REDIS_*`), each connect and reply bounded by `timeout`.
/// Nothing connects yet; only an address that cannot be parsed fails.
pub fn connect(settings: &RedisSettings, timeout: Duration) -> anyhow::Result<Redis> {
    tracing::info!("connecting to redis");
    let client = ::redis::Client::open(settings.url()).context("parse the redis address")?;
    Ok(Redis {
        client,
        connection: Arc::new(OnceCell::new()),
        timeout,
    })
}

/// Start-up: logs the answer to the first `PING`; `without_redis` says what the service does while
/// Redis does not answer (it starts anyway).
pub fn log_first_ping(answer: Result<(), String>, without_redis: &str) {
    match answer {
        Ok(()) => tracing::info!("connected to redis"),
        Err(reason) => tracing::warn!(
            error.message = %reason,
            "redis does not answer: {without_redis}"
        ),
    }
}

impl Redis {
    /// The bound of every connect and every reply.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The connection, made by the first call that needs it (a failed attempt leaves none, so the
    /// next call tries again).
    pub async fn connection(&self) -> RedisResult<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            .set_number_of_retries(0);
        let connection = self
            .connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await?;
        Ok(connection.clone())
    }

    /// `PING`, connecting first when there is no connection, within the timeout.
    pub async fn ping(&self) -> Result<(), String> {
        let ping = async {
            let mut connection = self.connection().await?;
            ::redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        };
        match tokio::time::timeout(self.timeout, ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err("timed out".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(port: u16) -> RedisSettings {
        RedisSettings {
            host: "127.0.0.1".to_owned(),
            port,
            password: None,
            db: 0,
        }
    }

    #[tokio::test]
    async fn a_redis_that_does_not_listen_fails_the_ping_within_the_timeout() {
        // Arrange: a port nobody listens on
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let redis = connect(&settings(port), Duration::from_millis(300)).unwrap();

        // Act
        let started = std::time::Instant::now();
        let answer = redis.ping().await;

        // Assert
        assert!(answer.is_err(), "nothing answers: {answer:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "bounded by the timeout, no retries: {:?}",
            started.elapsed()
        );
    }
}
