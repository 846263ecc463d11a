//! The Redis cache of public reads (spec 5) with D3 invalidation.
//!
//! Keys: `blog:id:<24-hex id>` and `blog:slug:<slug>` hold a PublicBlog (10 min); similar lists live
//! under `similar_blogs_<generation>_<24-hex id>` (6 h). Ids and slugs have key spaces of their own
//! (gomicro's `blog_<id>` / `blog_<slug>` shared one, and a slug may be any text: an author who named
//! a slug after another blog's id had their blog served for that id), and readers check that a hit
//! is the blog they asked for ([`crate::ops::PublicKey::matches`]). Every write that changes what the public sees
//! deletes the blog's id and slug entries and bumps the generation ([`GENERATION_KEY`]) in one
//! atomic step. The generation also guards fills: a reader remembers the generation *before* its
//! database read and a fill only lands if no write bumped it meanwhile, so a read racing with an
//! unpublish can never re-insert the old blog. Similar lists need no deletion: a bump moves every
//! reader to fresh keys and the old ones expire.
//!
//! Redis is a cache, not a dependency: every call is bounded by [`CACHE_OP_TIMEOUT`], any failure
//! is a miss (reads fall through to the database) and write failures are logged, never returned.
//! After a failure that says Redis is unreachable (refused, dropped, timed out) reads and fills skip
//! it for [`CACHE_RETRY_INTERVAL`], so they do not wait on Redis during an outage; then one call
//! tries again, and the first success resumes caching, without a restart. The connection
//! ([`shared::redis::Redis`], bounded by [`CACHE_OP_TIMEOUT`]) is made by the first call that needs
//! it, so blog also starts while Redis is down.

use std::{
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use redis::aio::ConnectionManager;
use serde::{Serialize, de::DeserializeOwned};
use shared::redis::Redis;
use tokio::time::Instant;
use tracing::Instrument;

/// Lifetime of a PublicBlog entry (spec 5: 10 min).
pub const BLOG_TTL_SECS: u64 = 10 * 60;
/// Lifetime of a similar-blogs entry (spec 5: 6 h).
pub const SIMILAR_TTL_SECS: u64 = 6 * 60 * 60;
/// Longest wait for one Redis call, connecting included, before treating it as a miss (also the
/// bound of each connect and reply of the connection blog opens with it).
pub const CACHE_OP_TIMEOUT: Duration = Duration::from_millis(500);
/// After Redis proved unreachable, how long reads and fills skip it before one call tries again.
pub const CACHE_RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// The generation counter; outside the `blog:` key spaces so no id or slug can collide with it.
pub const GENERATION_KEY: &str = "blogs_cache_generation";

/// Set `KEYS[2]` to `ARGV[2]` for `ARGV[3]` seconds only if the generation `KEYS[1]` still is `ARGV[1]`.
const FILL_SCRIPT: &str = r"
if (redis.call('GET', KEYS[1]) or '0') == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', tonumber(ARGV[3]))
  return 1
end
return 0
";

/// Key of a PublicBlog cached by id (spec 5 says `blog_<id>`; a key space of its own here).
pub fn blog_id_key(id: &str) -> String {
    format!("blog:id:{id}")
}

/// Key of a PublicBlog cached by slug (spec 5 says `blog_<slug>`; a key space of its own here).
pub fn blog_slug_key(slug: &str) -> String {
    format!("blog:slug:{slug}")
}

/// Key of the similar list of blog `id` at `generation` (D3).
pub fn similar_key(generation: i64, id: &str) -> String {
    format!("similar_blogs_{generation}_{id}")
}

/// The cache. Cheap to clone.
#[derive(Clone)]
pub struct BlogCache {
    redis: Redis,
    availability: Arc<Availability>,
}

impl std::fmt::Debug for BlogCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlogCache").finish_non_exhaustive()
    }
}

/// Whether `err` says Redis cannot be reached (as opposed to an answer it refused).
fn is_unreachable(err: &redis::RedisError) -> bool {
    err.is_io_error() || err.is_unrecoverable_error()
}

impl BlogCache {
    /// A cache on `redis` (opened with [`CACHE_OP_TIMEOUT`]); nothing connects until a call needs
    /// Redis, and [`CACHE_RETRY_INTERVAL`] paces the attempts while it does not answer.
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            availability: Arc::new(Availability::default()),
        }
    }

    /// Runs `call` on the connection (connecting first when there is none) within
    /// [`CACHE_OP_TIMEOUT`], and records whether Redis answered.
    async fn call<T, F, Fut>(&self, operation: &'static str, call: F) -> Result<T, String>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let attempt = async {
            let connection = self.redis.connection().await?;
            call(connection).await
        };
        match tokio::time::timeout(CACHE_OP_TIMEOUT, attempt)
            .instrument(shared::telemetry::redis_span(operation))
            .await
        {
            Ok(Ok(value)) => {
                self.availability.succeeded();
                Ok(value)
            }
            Ok(Err(err)) if is_unreachable(&err) => {
                let reason = err.to_string();
                self.availability.failed(operation, &reason);
                Err(reason)
            }
            Ok(Err(err)) => {
                tracing::warn!(error.message = %err, operation, "redis call failed");
                Err(err.to_string())
            }
            Err(_) => {
                self.availability.failed(operation, "timed out");
                Err("timed out".to_owned())
            }
        }
    }

    /// [`Self::call`] unless Redis is skipped after a failure; `None` for any failure.
    async fn bounded<T, F, Fut>(&self, operation: &'static str, call: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if !self.availability.should_try() {
            return None;
        }
        self.call(operation, call).await.ok()
    }

    /// `PING` (health and start-up); asks Redis even while reads skip it.
    pub async fn ping(&self) -> Result<(), String> {
        self.call("ping", |mut connection| async move {
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        })
        .await
        .map(|_| ())
    }

    /// The current generation (`0` before the first write); `None` when Redis is unavailable, in
    /// which case callers skip both cache reads of generation-keyed entries and fills.
    pub async fn generation(&self) -> Option<i64> {
        let value: Option<Option<i64>> = self
            .bounded("get generation", |mut connection| async move {
                redis::cmd("GET")
                    .arg(GENERATION_KEY)
                    .query_async(&mut connection)
                    .await
            })
            .await;
        value.map(Option::unwrap_or_default)
    }

    /// The JSON value at `key`; a miss, a Redis error or undecodable JSON are all `None`.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let raw: Option<Option<String>> = self
            .bounded("get", |mut connection| async move {
                redis::cmd("GET")
                    .arg(key)
                    .query_async(&mut connection)
                    .await
            })
            .await;
        let raw = raw.flatten()?;
        match serde_json::from_str(&raw) {
            Ok(value) => Some(value),
            Err(err) => {
                tracing::warn!(key, error.message = %err, "undecodable cache entry ignored");
                None
            }
        }
    }

    /// Stores `value` at `key` for `ttl_secs` unless a write bumped the generation past `generation`.
    pub async fn fill<T: Serialize>(&self, key: &str, value: &T, ttl_secs: u64, generation: i64) {
        let Ok(json) = serde_json::to_string(value) else {
            return;
        };
        let _: Option<i64> = self
            .bounded("fill", |mut connection| async move {
                redis::Script::new(FILL_SCRIPT)
                    .key(GENERATION_KEY)
                    .key(key)
                    .arg(generation.to_string())
                    .arg(json)
                    .arg(ttl_secs)
                    .invoke_async(&mut connection)
                    .await
            })
            .await;
    }

    /// Deletes `keys` and bumps the generation, atomically (D3). Returns whether Redis confirmed it.
    /// Asks Redis even while reads skip it: writes are rare, and an invalidation skipped just as
    /// Redis comes back would let a racing fill keep the old blog for its TTL.
    pub async fn invalidate(&self, keys: &[String]) -> bool {
        let mut pipe = redis::pipe();
        pipe.atomic().incr(GENERATION_KEY, 1).ignore();
        for key in keys {
            pipe.del(key).ignore();
        }
        self.call("invalidate", |mut connection| async move {
            pipe.query_async::<()>(&mut connection).await
        })
        .await
        .is_ok()
    }
}

/// Whether Redis answered lately. While it answers every call goes to it; after a failure that says
/// it is unreachable, calls skip it until [`CACHE_RETRY_INTERVAL`] has passed, then one call tries
/// (moving the next try on by the interval), until one succeeds.
#[derive(Debug, Default)]
struct Availability {
    /// `None` while Redis answers, else when the next call may try it.
    retry_at: Mutex<Option<Instant>>,
}

impl Availability {
    fn retry_at(&self) -> MutexGuard<'_, Option<Instant>> {
        self.retry_at.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a call may go to Redis now.
    fn should_try(&self) -> bool {
        let mut retry_at = self.retry_at();
        match *retry_at {
            None => true,
            Some(at) if Instant::now() >= at => {
                *retry_at = Some(Instant::now() + CACHE_RETRY_INTERVAL);
                true
            }
            Some(_) => false,
        }
    }

    /// Redis did not answer `operation`: skip it for a while (logged once per outage).
    fn failed(&self, operation: &'static str, reason: &str) {
        let was_answering = self
            .retry_at()
            .replace(Instant::now() + CACHE_RETRY_INTERVAL)
            .is_none();
        if was_answering {
            tracing::warn!(
                operation,
                error.message = reason,
                "redis unavailable: the cache is skipped, reads go to the database"
            );
        } else {
            tracing::debug!(operation, error.message = reason, "redis still unavailable");
        }
    }

    /// Redis answered.
    fn succeeded(&self) {
        if self.retry_at().take().is_some() {
            tracing::info!("redis answers again: caching resumes");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_slugs_have_key_spaces_of_their_own() {
        let id = "65a1b2c3d4e5f6a7b8c9d0e1";
        assert_eq!(blog_id_key(id), "blog:id:65a1b2c3d4e5f6a7b8c9d0e1");
        assert_eq!(blog_slug_key("my-slug"), "blog:slug:my-slug");
        assert_ne!(
            blog_id_key(id),
            blog_slug_key(id),
            "a slug spelled like an id is another key"
        );
        assert_eq!(
            similar_key(7, "65a1b2c3d4e5f6a7b8c9d0e1"),
            "similar_blogs_7_65a1b2c3d4e5f6a7b8c9d0e1"
        );
        assert!(
            !GENERATION_KEY.starts_with("blog:"),
            "no id or slug may collide with it"
        );
        assert_eq!((BLOG_TTL_SECS, SIMILAR_TTL_SECS), (600, 21_600));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_redis_is_skipped_then_tried_once_per_interval() {
        let availability = Availability::default();
        assert!(
            availability.should_try(),
            "every call tries while redis answers"
        );
        assert!(availability.should_try());

        availability.failed("get", "connection refused");
        assert!(!availability.should_try(), "skipped right after a failure");
        tokio::time::advance(CACHE_RETRY_INTERVAL - Duration::from_millis(1)).await;
        assert!(!availability.should_try(), "skipped for the whole interval");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(
            availability.should_try(),
            "one call tries after the interval"
        );
        assert!(!availability.should_try(), "only one");

        availability.succeeded();
        assert!(availability.should_try(), "caching resumes after a success");
        assert!(availability.should_try());
    }
}
