//! `apikey-auth-plugin` (spec gateway.md section 2, api.md 7.3 and D6).
//!
//! A request needs an `x-api-key` header; a missing or empty one is answered here with 401 and the
//! services' envelope, without calling auth. Paths `^/[^/]+/health$` skip the check when what follows
//! the matched route's prefix is exactly `/health` (the service's own health endpoint, not
//! `/blogslug/health` on route `/blog`). Otherwise the key is verified by `GET <verification_url>`
//! with the key; a non-200 answer goes back to the client as is, a 200 lets the request through.
//!
//! Our additions: verdicts are cached (`cache_ttl` for 200, `negative_cache_ttl` for 4xx) in a cache
//! bounded by bytes, concurrent checks of one key share one call (single flight), URLs are used round
//! robin and a URL that fails (transport error, timeout, 5xx or a redirect, never followed) is skipped
//! for the next one. Failures are never cached. A key longer than [`MAX_KEY_BYTES`] is refused with
//! 401 without calling auth (no issued key is that long).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use bytes::Bytes;
use pingora::http::RequestHeader;
use quick_cache::{Weighter, sync::Cache};
use serde::Deserialize;
use serde_yaml::Value;

use super::{
    effects::Effects,
    plugin::{AccessRequest, BuildContext, Flow, ParseContext, Plugin},
    trace::{AttributeValue, ChildSpan, RequestTrace},
};
use crate::{
    address::parse_url,
    responses::{self, LocalResponse},
    validator::Validator,
};

/// `config` of `apikey-auth-plugin` (the seed's Go plugin plus our additions).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApiKeyAuthConfig {
    verification_urls: Option<Vec<String>>,
    cache_ttl: Option<u64>,
    negative_cache_ttl: Option<u64>,
    timeout: Option<u64>,
}

/// `apikey-auth-plugin` settings (spec gateway.md section 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyAuthConfig {
    /// Verification endpoints, used round robin with failover.
    pub verification_urls: Vec<VerificationUrl>,
    /// How long a positive verdict is reused (default 30 s).
    pub cache_ttl: Duration,
    /// How long a negative verdict is reused (default 5 s).
    pub negative_cache_ttl: Duration,
    /// Per-call timeout (default 2 s).
    pub timeout: Duration,
}

/// One parsed verification URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationUrl {
    /// The URL as written.
    pub url: String,
}

impl Validator {
    fn api_key_config(&mut self, value: &Value, path: &str) -> Option<ApiKeyAuthConfig> {
        let raw = self.de::<RawApiKeyAuthConfig>(value, path)?;
        let urls = raw.verification_urls.unwrap_or_default();
        if urls.is_empty() {
            self.error(
                format!("{path}.verification_urls"),
                "needs at least one URL",
            );
            return None;
        }
        let errors_before = self.errors.len();
        let mut verification_urls = Vec::new();
        for (i, url) in urls.into_iter().enumerate() {
            match parse_url(&url) {
                Some(parts) if parts.scheme == "http" => {
                    verification_urls.push(VerificationUrl { url })
                }
                _ => self.error(
                    format!("{path}.verification_urls[{i}]"),
                    format!("invalid URL {url:?}: expected http://host[:port]/path"),
                ),
            }
        }
        if raw.timeout == Some(0) {
            self.error(format!("{path}.timeout"), "must be at least 1");
        }
        (self.errors.len() == errors_before).then(|| ApiKeyAuthConfig {
            verification_urls,
            cache_ttl: Duration::from_secs(raw.cache_ttl.unwrap_or(30)),
            negative_cache_ttl: Duration::from_secs(raw.negative_cache_ttl.unwrap_or(5)),
            timeout: Duration::from_millis(raw.timeout.unwrap_or(2000)),
        })
    }
}

impl Plugin for ApiKeyAuth {
    type Config = ApiKeyAuthConfig;

    fn parse(
        validator: &mut Validator,
        value: &Value,
        path: &str,
        _context: &ParseContext<'_>,
    ) -> Option<ApiKeyAuthConfig> {
        validator.api_key_config(value, path)
    }

    fn build(config: &ApiKeyAuthConfig, _context: &BuildContext<'_>) -> Self {
        Self::new(config.clone())
    }

    async fn access(&self, request: &AccessRequest<'_>, effects: &mut Effects) -> Flow {
        let after_prefix = request.path.get(request.matched_len..).unwrap_or("");
        self.check(
            request.header,
            request.path,
            after_prefix,
            effects.trace.as_mut(),
        )
        .await
    }
}

/// The API-key header.
const API_KEY_HEADER: http::HeaderName = http::HeaderName::from_static("x-api-key");
/// Most bytes of keys and verdict bodies the cache keeps (weighed by [`verdict_weight`]).
const MAX_CACHED_BYTES: u64 = 32 * 1024 * 1024;
/// The longest key sent to auth; a longer one is refused at the edge.
pub const MAX_KEY_BYTES: usize = 1024;
/// The 401 body for a missing key: the auth service's own envelope (D6).
const MISSING_KEY_BODY: &str =
    r#"{"code":"10001","status":401,"message":"permission denied: missing x-api-key header"}"#;
/// The 401 body for a key over [`MAX_KEY_BYTES`] (the envelope of the missing-key answer).
const OVERLONG_KEY_BODY: &str =
    r#"{"code":"10001","status":401,"message":"permission denied: invalid x-api-key"}"#;
/// What one cached entry costs besides its key and body (the entry, its expiry, the map's slot).
const ENTRY_OVERHEAD_BYTES: usize = 128;

/// What auth said about a key.
#[derive(Debug, Clone)]
struct Verdict {
    status: u16,
    body: Bytes,
}

/// Why a key could not be verified (not cached).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct VerificationFailed(String);

/// What one verification call ended with, and until when it answers for its key: a 200
/// `cache_ttl`, another verdict `negative_cache_ttl`, a failure only the checks that waited for
/// that call (it expires as it is stored, so the next check calls auth again).
#[derive(Debug, Clone)]
struct Outcome {
    verdict: Result<Verdict, Arc<VerificationFailed>>,
    expires: Instant,
}

impl Outcome {
    fn is_fresh(&self, now: Instant) -> bool {
        now < self.expires
    }
}

/// Weighs a cached outcome by the bytes it holds (see [`verdict_weight`]).
#[derive(Debug, Clone, Copy)]
struct OutcomeWeighter;

impl Weighter<String, Outcome> for OutcomeWeighter {
    fn weight(&self, key: &String, outcome: &Outcome) -> u64 {
        let body = outcome
            .verdict
            .as_ref()
            .map_or(0, |verdict| verdict.body.len());
        verdict_weight(key, body)
    }
}

/// One configured `apikey-auth-plugin` instance.
pub struct ApiKeyAuth {
    config: ApiKeyAuthConfig,
    client: reqwest::Client,
    verdicts: Cache<String, Outcome, OutcomeWeighter>,
    next_url: AtomicUsize,
}

impl std::fmt::Debug for ApiKeyAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyAuth")
            .field("verification_urls", &self.config.verification_urls)
            .finish_non_exhaustive()
    }
}

/// The bytes one cached verdict holds: its key, auth's body and a fixed overhead.
fn verdict_weight(key: &str, body_len: usize) -> u64 {
    u64::try_from(key.len() + body_len + ENTRY_OVERHEAD_BYTES).unwrap_or(u64::MAX)
}

/// The lifetime of a verdict whose configured TTL overflows a clock reading (about 30 years).
const LONGEST_TTL: Duration = Duration::from_secs(1 << 30);
/// How many verdicts the cache is sized for at first (it grows up to its byte budget).
const EXPECTED_KEYS: usize = 4096;

impl ApiKeyAuth {
    /// A plugin instance with an empty cache.
    pub fn new(config: ApiKeyAuthConfig) -> Self {
        Self::with_cache_bytes(config, MAX_CACHED_BYTES)
    }

    /// A plugin instance whose cache keeps at most `cache_bytes` (see [`verdict_weight`]).
    fn with_cache_bytes(config: ApiKeyAuthConfig, cache_bytes: u64) -> Self {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap_or_else(|err| {
                tracing::error!(error.message = %err, "cannot build the verification client with its settings; using defaults");
                reqwest::Client::new()
            });
        let verdicts = Cache::with_weighter(EXPECTED_KEYS, cache_bytes, OutcomeWeighter);
        Self {
            config,
            client,
            verdicts,
            next_url: AtomicUsize::new(0),
        }
    }

    /// The access phase: lets the request through or answers it. `after_prefix` is the part of
    /// `path` after the matched route's prefix.
    /// A verification call made for a traced request becomes a child span of it (and carries its
    /// context to auth).
    pub async fn check(
        &self,
        request: &RequestHeader,
        path: &str,
        after_prefix: &str,
        trace: Option<&mut RequestTrace>,
    ) -> Flow {
        if is_health_path(path) && after_prefix == "/health" {
            return Flow::Continue;
        }
        let key = match request
            .headers
            .get(&API_KEY_HEADER)
            .and_then(|value| value.to_str().ok())
        {
            Some(key) if key.len() > MAX_KEY_BYTES => {
                return Flow::Respond(LocalResponse::json(
                    401,
                    Bytes::from_static(OVERLONG_KEY_BODY.as_bytes()),
                ));
            }
            Some(key) if !key.is_empty() => key,
            _ => {
                return Flow::Respond(LocalResponse::json(
                    401,
                    Bytes::from_static(MISSING_KEY_BODY.as_bytes()),
                ));
            }
        };
        let now = Instant::now();
        let cached = (self.verdicts.get(key)).filter(|outcome| outcome.is_fresh(now));
        crate::metrics::metrics().key_cache(cached.is_some());
        let verdict = match cached {
            Some(outcome) => outcome.verdict,
            // Boxed: the verification call's future (an HTTP client's) is large, and an unboxed
            // one would make every request's future, cached or not, that much larger to move.
            None => Box::pin(self.traced_verify(key, trace)).await,
        };
        let verdict = match verdict {
            Ok(verdict) => verdict,
            Err(err) => {
                tracing::warn!(error.message = %err, "API key verification failed");
                return Flow::Respond(responses::plugin_error(
                    503,
                    "API key verification is unavailable",
                ));
            }
        };
        if verdict.status == 200 {
            Flow::Continue
        } else {
            Flow::Respond(LocalResponse::json(verdict.status, verdict.body))
        }
    }

    /// The verdict on `key` from the verification URLs, cached; concurrent checks of one key
    /// share one call.
    /// [`Self::verify_once`], recorded as a child span of `trace` when there is one.
    async fn traced_verify(
        &self,
        key: &str,
        trace: Option<&mut RequestTrace>,
    ) -> Result<Verdict, Arc<VerificationFailed>> {
        let Some(trace) = trace else {
            return self.verify_once(key, None).await;
        };
        let span_id = RequestTrace::new_span_id();
        let start = SystemTime::now();
        let result = self
            .verify_once(key, Some(trace.traceparent(&span_id)))
            .await;
        let status = result.as_ref().map_or(0, |verdict| verdict.status);
        trace.children.push(ChildSpan {
            name: "kong.apikey.verify",
            span_id,
            start,
            end: SystemTime::now(),
            attributes: vec![("http.status_code", AttributeValue::Int(i64::from(status)))],
            error: result.is_err(),
        });
        result
    }

    /// The verdict on `key` from auth; concurrent checks of one key share one call (which
    /// carries the first caller's `traceparent`) and what it ended with, a failure included.
    async fn verify_once(
        &self,
        key: &str,
        traceparent: Option<String>,
    ) -> Result<Verdict, Arc<VerificationFailed>> {
        // An expired outcome goes first, so the look-up below either finds a call under way (or
        // one that ended since) or is the one to make it.
        self.verdicts
            .remove_if(key, |outcome| !outcome.is_fresh(Instant::now()));
        let call = match self.verdicts.get_value_or_guard_async(key).await {
            Ok(outcome) => return outcome.verdict,
            Err(call) => call,
        };
        let verdict = self
            .verify(key.to_owned(), traceparent)
            .await
            .map_err(Arc::new);
        let lifetime = match &verdict {
            Ok(verdict) if verdict.status == 200 => self.config.cache_ttl,
            Ok(_) => self.config.negative_cache_ttl,
            Err(_) => Duration::ZERO,
        };
        let now = Instant::now();
        let outcome = Outcome {
            verdict,
            // A TTL past what an `Instant` can hold (no upper bound is set on it) is a long one.
            expires: (now.checked_add(lifetime)).unwrap_or_else(|| now + LONGEST_TTL),
        };
        // Also hands the outcome to the checks waiting on this call.
        let _ = call.insert(outcome.clone());
        if outcome.verdict.is_err() {
            // The waiting checks have it; a failure takes no room in the cache.
            self.verdicts
                .remove_if(key, |outcome| outcome.verdict.is_err());
        }
        outcome.verdict
    }

    /// Asks the verification URLs, starting at the next one in turn and failing over once.
    async fn verify(
        &self,
        key: String,
        traceparent: Option<String>,
    ) -> Result<Verdict, VerificationFailed> {
        let urls = &self.config.verification_urls;
        let first = self.next_url.fetch_add(1, Ordering::Relaxed);
        let attempts = urls.len().min(2);
        let mut last_error = String::new();
        for attempt in 0..attempts {
            let url = &urls[(first + attempt) % urls.len()].url;
            let mut call = self.client.get(url).header(&API_KEY_HEADER, &key);
            if let Some(traceparent) = &traceparent {
                call = call.header("traceparent", traceparent);
            }
            match call.send().await {
                Ok(response) if response.status().is_server_error() => {
                    last_error = format!("{url} answered {}", response.status());
                }
                Ok(response) if response.status().is_redirection() => {
                    last_error = format!(
                        "{url} answered {} (redirects are not followed)",
                        response.status()
                    );
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    match response.bytes().await {
                        Ok(body) => return Ok(Verdict { status, body }),
                        Err(err) => last_error = format!("{url}: {err}"),
                    }
                }
                Err(err) => last_error = format!("{url}: {err}"),
            }
            tracing::warn!(url = %url, error.message = %last_error, "verification URL failed; trying the next one");
        }
        Err(VerificationFailed(last_error))
    }
}

/// `^/[^/]+/health$`: a service's health endpoint needs no key (D6).
fn is_health_path(path: &str) -> bool {
    path.strip_prefix('/')
        .and_then(|rest| rest.strip_suffix("/health"))
        .is_some_and(|service| !service.is_empty() && !service.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_paths_are_one_segment_then_health() {
        for (path, expected) in [
            ("/auth/health", true),
            ("/blog/health", true),
            ("/health", false),
            ("//health", false),
            ("/auth/x/health", false),
            ("/auth/healthz", false),
            ("/auth/health/", false),
        ] {
            assert_eq!(is_health_path(path), expected, "{path}");
        }
    }

    fn config(verification_url: &str) -> ApiKeyAuthConfig {
        ApiKeyAuthConfig {
            verification_urls: vec![VerificationUrl {
                url: verification_url.to_owned(),
            }],
            cache_ttl: Duration::from_secs(30),
            negative_cache_ttl: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
        }
    }

    #[test]
    fn the_verdict_cache_is_bounded_by_bytes_not_entries() {
        let budget: u64 = 256 * 1024;
        let plugin = ApiKeyAuth::with_cache_bytes(config("http://127.0.0.1:9/"), budget);
        let body = Bytes::from(vec![b'x'; 4096]);
        // 1,000 verdicts of ~5 KiB each: 20 times the budget.
        for i in 0..1_000 {
            let key = format!("{i:0>1000}");
            plugin.verdicts.insert(
                key,
                Outcome {
                    verdict: Ok(Verdict {
                        status: 403,
                        body: body.clone(),
                    }),
                    expires: Instant::now() + Duration::from_secs(5),
                },
            );
        }
        let kept = plugin.verdicts.weight();
        assert!(kept <= budget, "{kept} bytes kept, budget {budget}");
        // The budget is split among shards (more on more cores); where a verdict fits one, some
        // were kept.
        if plugin.verdicts.shard_capacity() > 5 * 1024 + 1024 {
            assert!(!plugin.verdicts.is_empty(), "verdicts that fit were kept");
        }
        assert!(
            plugin.verdicts.len() < 1_000,
            "entries were evicted to stay within the budget"
        );
    }

    /// A verification URL that answers every request `status_line` after `delay`, counting
    /// requests.
    async fn fake_auth(status_line: &'static str, delay: Duration) -> (String, Arc<AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/verify", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    while let Ok(read) = stream.read(&mut buffer).await {
                        if read == 0 {
                            break;
                        }
                        counted.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(delay).await;
                        let answer = format!("HTTP/1.1 {status_line}\r\ncontent-length: 0\r\n\r\n");
                        if stream.write_all(answer.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (url, requests)
    }

    #[tokio::test]
    async fn checks_waiting_on_a_failed_call_share_its_failure_and_the_next_check_calls_again() {
        let (url, requests) =
            fake_auth("503 Service Unavailable", Duration::from_millis(300)).await;
        let plugin = ApiKeyAuth::new(config(&url));
        let checks = (0..20).map(|_| plugin.verify_once("key-1", None));
        let outcomes = futures::future::join_all(checks).await;
        assert!(outcomes.iter().all(Result::is_err), "{outcomes:?}");
        assert_eq!(
            requests.load(Ordering::SeqCst),
            1,
            "20 concurrent checks of one key make one call, and share its failure"
        );

        assert!(plugin.verify_once("key-1", None).await.is_err());
        assert_eq!(
            requests.load(Ordering::SeqCst),
            2,
            "a failure is not reused by a later check"
        );
    }

    #[tokio::test]
    async fn a_ttl_past_what_the_clock_holds_keeps_the_verdict_without_panicking() {
        let (url, requests) = fake_auth("200 OK", Duration::ZERO).await;
        let plugin = ApiKeyAuth::new(ApiKeyAuthConfig {
            cache_ttl: Duration::from_secs(u64::MAX),
            ..config(&url)
        });
        for _ in 0..3 {
            let verdict = plugin.verify_once("key-1", None).await.unwrap();
            assert_eq!(verdict.status, 200);
        }
        assert_eq!(requests.load(Ordering::SeqCst), 1, "the verdict was cached");
    }
}
