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
//! Every Redis call is bounded by [`CACHE_OP_TIMEOUT`]; any failure is a miss (reads fall through to
//! the database) and write failures are logged, never returned.

use std::time::Duration;

use redis::aio::ConnectionManager;
use serde::{Serialize, de::DeserializeOwned};

/// Lifetime of a PublicBlog entry (spec 5: 10 min).
pub const BLOG_TTL_SECS: u64 = 10 * 60;
/// Lifetime of a similar-blogs entry (spec 5: 6 h).
pub const SIMILAR_TTL_SECS: u64 = 6 * 60 * 60;
/// Longest wait for one Redis call before treating it as a miss.
pub const CACHE_OP_TIMEOUT: Duration = Duration::from_millis(500);
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
    redis: ConnectionManager,
}

impl std::fmt::Debug for BlogCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlogCache").finish_non_exhaustive()
    }
}

async fn bounded<T>(
    what: &'static str,
    call: impl Future<Output = redis::RedisResult<T>>,
) -> Option<T> {
    match tokio::time::timeout(CACHE_OP_TIMEOUT, call).await {
        Ok(Ok(value)) => Some(value),
        Ok(Err(err)) => {
            tracing::warn!(error.message = %err, operation = what, "redis call failed");
            None
        }
        Err(_) => {
            tracing::warn!(operation = what, "redis call timed out");
            None
        }
    }
}

impl BlogCache {
    /// Wraps a connection.
    pub fn new(redis: ConnectionManager) -> Self {
        Self { redis }
    }

    /// `PING` (health).
    pub async fn ping(&self) -> Result<(), String> {
        let mut connection = self.redis.clone();
        match tokio::time::timeout(
            CACHE_OP_TIMEOUT,
            redis::cmd("PING").query_async::<String>(&mut connection),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err("timed out".to_owned()),
        }
    }

    /// The current generation (`0` before the first write); `None` when Redis is unavailable, in
    /// which case callers skip both cache reads of generation-keyed entries and fills.
    pub async fn generation(&self) -> Option<i64> {
        let mut connection = self.redis.clone();
        let value: Option<Option<i64>> = bounded(
            "get generation",
            redis::cmd("GET")
                .arg(GENERATION_KEY)
                .query_async(&mut connection),
        )
        .await;
        value.map(Option::unwrap_or_default)
    }

    /// The JSON value at `key`; a miss, a Redis error or undecodable JSON are all `None`.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let mut connection = self.redis.clone();
        let raw: Option<Option<String>> = bounded(
            "get",
            redis::cmd("GET").arg(key).query_async(&mut connection),
        )
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
        let mut connection = self.redis.clone();
        let _: Option<i64> = bounded(
            "fill",
            redis::Script::new(FILL_SCRIPT)
                .key(GENERATION_KEY)
                .key(key)
                .arg(generation.to_string())
                .arg(json)
                .arg(ttl_secs)
                .invoke_async(&mut connection),
        )
        .await;
    }

    /// Deletes `keys` and bumps the generation, atomically (D3). Returns whether Redis confirmed it.
    pub async fn invalidate(&self, keys: &[String]) -> bool {
        let mut connection = self.redis.clone();
        let mut pipe = redis::pipe();
        pipe.atomic().incr(GENERATION_KEY, 1).ignore();
        for key in keys {
            pipe.del(key).ignore();
        }
        bounded("invalidate", pipe.query_async::<()>(&mut connection))
            .await
            .is_some()
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
}
