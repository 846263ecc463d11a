//! `policy: redis`: Kong's fixed-window counters in Redis, shared by every gateway process that
//! points at the same server, so N replicas enforce one limit (not N × the limit as `local` does).
//!
//! Windows are aligned to UTC calendar boundaries (seconds, minutes, hours, days since the epoch;
//! calendar months and years). Each request sends one atomic pipeline with `INCR` + `EXPIRE` per
//! window (expiring when the window ends) on Kong's keys `ratelimit:<route>:<service>:<identifier>:<window start ms>:<period>`
//! (route and service are the plugin's scope, by name; Kong's empty UUID when unscoped) and is let
//! through when every count is within its limit. Counting first makes the limit exact across
//! processes; a refused request counts too, which in a fixed window refuses nobody that would
//! otherwise have passed the refusing window.
//!
//! The connection is made lazily on the first request (the snapshot may be built before Pingora
//! starts its runtimes; nothing may start a runtime or a thread then) and reconnects by itself.
//! Every update is bounded by the configured timeout, connecting included.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::{
    Client, ConnectionAddr, ConnectionInfo, ProtocolVersion, RedisConnectionInfo,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use time::{Date, Month, OffsetDateTime};
use tokio::sync::OnceCell;

use super::config::{RateWindow, RedisSettings};
use super::{Usage, WindowUsage};

/// Kong's stand-in for "no route" / "no service" in counter keys.
const EMPTY_UUID: &str = "00000000-0000-0000-0000-000000000000";

/// Why the counters could not be updated.
#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    /// Redis answered with an error or the connection failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// No answer within the timeout.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
}

/// The Redis counters of one `rate-limiting` instance.
pub struct RedisCounters {
    client: Result<Client, String>,
    connection: OnceCell<ConnectionManager>,
    timeout: Duration,
    /// `ratelimit:<route>:<service>:`.
    key_prefix: String,
    /// `host:port/db`, for logs.
    target: String,
}

impl std::fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounters")
            .field("target", &self.target)
            .field("key_prefix", &self.key_prefix)
            .field("connected", &self.connection.initialized())
            .finish_non_exhaustive()
    }
}

impl RedisCounters {
    /// Counters in `settings`' Redis for a plugin scoped to `route` / `service` (names). Connects
    /// nothing yet.
    pub fn new(settings: &RedisSettings, route: Option<&str>, service: Option<&str>) -> Self {
        let info = ConnectionInfo {
            addr: ConnectionAddr::Tcp(settings.host.clone(), settings.port),
            redis: RedisConnectionInfo {
                db: settings.database,
                username: settings.username.clone(),
                password: settings.password.as_ref().map(|p| p.expose().to_owned()),
                protocol: ProtocolVersion::RESP2,
            },
        };
        Self {
            client: Client::open(info).map_err(|err| err.to_string()),
            connection: OnceCell::new(),
            timeout: settings.timeout,
            key_prefix: format!(
                "ratelimit:{}:{}:",
                route.unwrap_or(EMPTY_UUID),
                service.unwrap_or(EMPTY_UUID)
            ),
            target: format!("{}:{}/{}", settings.host, settings.port, settings.database),
        }
    }

    /// Counts one request of `identifier` in every window of `limits` at `now`.
    pub async fn check(
        &self,
        identifier: &str,
        limits: &[(RateWindow, u32)],
        now: SystemTime,
    ) -> Result<Usage, CounterError> {
        let now_ms = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let mut pipe = redis::pipe();
        pipe.atomic();
        let mut bounds = Vec::with_capacity(limits.len());
        for &(window, _) in limits {
            let (start, end) = window_bounds(window, now_ms);
            let key = format!("{}{identifier}:{start}:{}", self.key_prefix, window.name());
            pipe.cmd("INCR").arg(&key);
            // Until the window ends (a calendar month may outlast Kong's 30-day expiry).
            let ttl_secs = (end - now_ms).max(0) / 1000 + 1;
            pipe.cmd("EXPIRE").arg(&key).arg(ttl_secs).ignore();
            bounds.push(end);
        }
        let counts: Vec<i64> = tokio::time::timeout(self.timeout, async {
            let mut connection = self.connection().await?;
            pipe.query_async::<Vec<i64>>(&mut connection).await
        })
        .await
        .map_err(|_| CounterError::Timeout(self.timeout))?
        .map_err(CounterError::from)?;

        let mut usage = Usage::default();
        for ((&(window, limit), count), end) in limits.iter().zip(counts).zip(bounds) {
            let count = u64::try_from(count).unwrap_or(0);
            let limit_wide = u64::from(limit);
            if count > limit_wide {
                usage.allowed = false;
            }
            let left_ms = u64::try_from(end - now_ms).unwrap_or(0);
            usage.push(WindowUsage {
                window,
                limit,
                remaining: limit_wide.saturating_sub(count),
                reset: left_ms.div_ceil(1000).max(1),
            });
        }
        Ok(usage)
    }

    /// The shared connection, made on first use.
    async fn connection(&self) -> Result<ConnectionManager, redis::RedisError> {
        let client = match &self.client {
            Ok(client) => client,
            Err(message) => {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::InvalidClientConfig,
                    "invalid redis settings",
                    message.clone(),
                )));
            }
        };
        self.connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(self.timeout)
                    .set_response_timeout(self.timeout)
                    .set_number_of_retries(1);
                client.get_connection_manager_with_config(config).await
            })
            .await
            .cloned()
    }
}

/// The window containing `now_ms`: (start, end) in ms since the epoch, UTC-aligned.
pub fn window_bounds(window: RateWindow, now_ms: i64) -> (i64, i64) {
    match window {
        RateWindow::Month | RateWindow::Year => calendar_bounds(window, now_ms),
        fixed => {
            let length = i64::try_from(fixed.seconds() * 1000).unwrap_or(i64::MAX);
            let start = now_ms - now_ms.rem_euclid(length);
            (start, start + length)
        }
    }
}

/// Calendar month or year bounds (UTC).
fn calendar_bounds(window: RateWindow, now_ms: i64) -> (i64, i64) {
    let now = OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let (year, month) = (now.year(), now.month());
    let (start, end) = if window == RateWindow::Year {
        (
            Date::from_calendar_date(year, Month::January, 1),
            Date::from_calendar_date(year + 1, Month::January, 1),
        )
    } else {
        let (next_year, next_month) = if month == Month::December {
            (year + 1, Month::January)
        } else {
            (year, month.next())
        };
        (
            Date::from_calendar_date(year, month, 1),
            Date::from_calendar_date(next_year, next_month, 1),
        )
    };
    let millis = |date: Result<Date, time::error::ComponentRange>| {
        date.map_or(now_ms, |date| {
            date.midnight().assume_utc().unix_timestamp() * 1000
        })
    };
    (millis(start), millis(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-02-29T13:45:30.250Z.
    const NOW_MS: i64 = 1_709_214_330_250;

    #[test]
    fn fixed_windows_are_aligned_to_the_epoch() {
        assert_eq!(
            window_bounds(RateWindow::Second, NOW_MS),
            (1_709_214_330_000, 1_709_214_331_000)
        );
        assert_eq!(
            window_bounds(RateWindow::Minute, NOW_MS),
            (1_709_214_300_000, 1_709_214_360_000)
        );
        assert_eq!(
            window_bounds(RateWindow::Day, NOW_MS),
            (1_709_164_800_000, 1_709_251_200_000),
            "2024-02-29T00:00Z .. 2024-03-01T00:00Z"
        );
    }

    #[test]
    fn months_and_years_follow_the_calendar() {
        assert_eq!(
            window_bounds(RateWindow::Month, NOW_MS),
            (1_706_745_600_000, 1_709_251_200_000),
            "2024-02-01 .. 2024-03-01 (a leap February)"
        );
        assert_eq!(
            window_bounds(RateWindow::Year, NOW_MS),
            (1_704_067_200_000, 1_735_689_600_000),
            "2024-01-01 .. 2025-01-01"
        );
    }

    #[test]
    fn keys_carry_kong_layout_and_no_password_shows_in_debug() {
        let settings = RedisSettings {
            host: "127.0.0.1".into(),
            port: 6379,
            username: None,
            password: Some(crate::secret::Secret::new("hunter2".into())),
            database: 2,
            timeout: Duration::from_millis(100),
        };
        let counters = RedisCounters::new(&settings, Some("orders"), None);
        assert_eq!(
            counters.key_prefix,
            format!("ratelimit:orders:{EMPTY_UUID}:")
        );
        let text = format!("{counters:?} {settings:?}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
