//! `rate-limiting` (Kong's): `second`/`minute`/`hour`/`day`/`month`/`year` limits per `limit_by`
//! identifier, counted in this process ([`local`], governor) or in Redis ([`redis`], shared by
//! every gateway process).
//!
//! A refusal is `error_code` (429) with `{"message":"API rate limit exceeded"}` and `Retry-After`;
//! unless `hide_client_headers`, every response (proxied or not) carries
//! `X-RateLimit-Limit-<Window>` / `X-RateLimit-Remaining-<Window>` for each window and
//! `RateLimit-Limit` / `RateLimit-Remaining` / `RateLimit-Reset` for the most constrained one
//! (fewest remaining; on a tie the longer window), as Kong computes them.
//!
//! When Redis fails: `fault_tolerant: true` lets the request through without headers and logs once
//! per failure burst; `false` answers 500. Every refusal goes through
//! [`RateLimiting::rate_limited`].

use std::{
    net::{IpAddr, Ipv4Addr},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::SystemTime,
};

use http::{HeaderName, HeaderValue};
use serde_yaml::Value;

pub use self::config::{LimitBy, RateLimitPolicy, RateLimitingConfig, RateWindow};
use super::{
    effects::Effects,
    plugin::{AccessRequest, BuildContext, Flow, ParseContext, Plugin},
};
use crate::{responses, validator::Validator};

/// The most constrained window's headers (IETF draft `RateLimit-*`, as Kong sends them).
const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

impl Plugin for RateLimiting {
    type Config = RateLimitingConfig;

    fn parse(
        validator: &mut Validator,
        value: &Value,
        path: &str,
        _context: &ParseContext<'_>,
    ) -> Option<RateLimitingConfig> {
        validator.rate_limiting_config(value, path)
    }

    fn build(config: &RateLimitingConfig, context: &BuildContext<'_>) -> Self {
        Self::new(config.clone(), InstanceScope::of(context))
    }

    fn keeps(previous: &Self, config: &RateLimitingConfig, context: &BuildContext<'_>) -> bool {
        previous.is_same(config, &InstanceScope::of(context))
    }

    /// The access phase: counts the request, sets the headers, refuses over-limit requests.
    async fn access(&self, request: &AccessRequest<'_>, effects: &mut Effects) -> Flow {
        let identifier = self.identifier(request, effects);
        let usage = match &self.store {
            Store::Local(limits) => Ok(limits.check(&identifier)),
            Store::Redis(counters) => {
                let text = identifier_text(&identifier, &self.config.limit_by);
                // Boxed: a Redis round trip's future is large; unboxed it would grow every
                // request's future, local limits included.
                Box::pin(counters.check(&text, &self.config.limits, SystemTime::now())).await
            }
        };
        let usage = match usage {
            Ok(usage) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(
                        route = request.route,
                        "rate-limiting: counters reachable again"
                    );
                }
                usage
            }
            Err(err) => return self.store_failed(request, &err),
        };
        let constrained = usage.most_constrained();
        if !self.config.hide_client_headers {
            for window in usage.windows() {
                let (limit, remaining) = window_headers(window.window);
                effects.set_response_header(limit, HeaderValue::from(window.limit));
                effects.set_response_header(remaining, HeaderValue::from(window.remaining));
            }
            if let Some(constrained) = constrained {
                effects.set_response_header(RATELIMIT_LIMIT, HeaderValue::from(constrained.limit));
                effects.set_response_header(
                    RATELIMIT_REMAINING,
                    HeaderValue::from(constrained.remaining),
                );
                effects.set_response_header(RATELIMIT_RESET, HeaderValue::from(constrained.reset));
            }
        }
        if usage.allowed {
            Flow::Continue
        } else {
            let retry_after = (!self.config.hide_client_headers)
                .then_some(constrained.map(|window| window.reset))
                .flatten();
            self.rate_limited(request, retry_after)
        }
    }
}

mod config;
pub mod local;
pub mod redis;

/// Whose requests are counted together: the `limit_by` value of one request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identifier {
    /// The client IP (also every fallback).
    Ip(IpAddr),
    /// A consumer id.
    Consumer(Arc<str>),
    /// A credential id.
    Credential(Arc<str>),
    /// A header value or a service name.
    Text(Box<str>),
    /// The configured `path`.
    Path,
}

/// One window's state after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowUsage {
    /// The window.
    pub window: RateWindow,
    /// Its limit.
    pub limit: u32,
    /// Requests left, this one counted.
    pub remaining: u64,
    /// Seconds until the window has room again (≥ 1).
    pub reset: u64,
}

/// The outcome of counting one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// Whether every window had room.
    pub allowed: bool,
    windows: [Option<WindowUsage>; 6],
    len: usize,
}

impl Default for Usage {
    fn default() -> Self {
        Self {
            allowed: true,
            windows: [None; 6],
            len: 0,
        }
    }
}

impl Usage {
    /// Records one window (at most one per window kind).
    pub fn push(&mut self, usage: WindowUsage) {
        if let Some(slot) = self.windows.get_mut(self.len) {
            *slot = Some(usage);
            self.len += 1;
        }
    }

    /// The windows counted, shortest first.
    pub fn windows(&self) -> Vec<WindowUsage> {
        self.windows.iter().flatten().copied().collect()
    }

    /// Kong's most constrained window: fewest remaining, then the longer window.
    pub fn most_constrained(&self) -> Option<WindowUsage> {
        self.windows
            .iter()
            .flatten()
            .copied()
            .min_by(|a, b| a.remaining.cmp(&b.remaining).then(b.window.cmp(&a.window)))
    }
}

/// Where one instance counts.
#[derive(Debug)]
enum Store {
    Local(local::LocalLimits),
    Redis(redis::RedisCounters),
}

/// Where an instance is configured, by name (Redis keys; carrying counters over a reload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceScope {
    /// The route it is scoped to.
    pub route: Option<String>,
    /// The service it is scoped to.
    pub service: Option<String>,
}

impl InstanceScope {
    /// The scope of the instance being built.
    fn of(context: &BuildContext<'_>) -> Self {
        Self {
            route: context.route.map(str::to_owned),
            service: context.service.map(str::to_owned),
        }
    }
}

/// One configured `rate-limiting` instance.
#[derive(Debug)]
pub struct RateLimiting {
    config: RateLimitingConfig,
    scope: InstanceScope,
    store: Store,
    /// Whether the store is failing now (to log once per failure burst).
    failing: AtomicBool,
}

impl RateLimiting {
    /// An instance of `config` scoped to `scope`. Starts no task and connects nothing.
    pub fn new(config: RateLimitingConfig, scope: InstanceScope) -> Self {
        let store = match &config.policy {
            RateLimitPolicy::Local => Store::Local(local::LocalLimits::new(&config.limits)),
            RateLimitPolicy::Redis(settings) => Store::Redis(redis::RedisCounters::new(
                settings,
                scope.route.as_deref(),
                scope.service.as_deref(),
            )),
        };
        Self {
            config,
            scope,
            store,
            failing: AtomicBool::new(false),
        }
    }

    /// Whether a new snapshot may keep this instance (and its counters): same config, same scope.
    pub fn is_same(&self, config: &RateLimitingConfig, scope: &InstanceScope) -> bool {
        self.config == *config && self.scope == *scope
    }

    /// The one place a request is refused for its rate: `error_code` with `error_message` and
    /// `Retry-After`; counted in `gateway_rate_limit_rejections_total`.
    fn rate_limited(&self, request: &AccessRequest<'_>, retry_after: Option<u64>) -> Flow {
        crate::metrics::metrics().rate_limited(request.service, request.route);
        let mut response =
            responses::plugin_error(self.config.error_code, &self.config.error_message);
        if let Some(seconds) = retry_after {
            response = response.with_header(http::header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        Flow::Respond(response)
    }

    /// The counter store failed: through (`fault_tolerant`) or 500; logged once per burst.
    fn store_failed(&self, request: &AccessRequest<'_>, err: &redis::CounterError) -> Flow {
        let first = !self.failing.swap(true, Ordering::Relaxed);
        if self.config.fault_tolerant {
            if first {
                tracing::warn!(route = request.route, error.message = %err, "rate-limiting: counters unavailable; letting requests through until they are back");
            }
            Flow::Continue
        } else {
            if first {
                tracing::error!(route = request.route, error.message = %err, "rate-limiting: counters unavailable; answering 500 until they are back");
            }
            Flow::Respond(responses::plugin_error(500, "An unexpected error occurred"))
        }
    }

    /// The request's `limit_by` identifier, with Kong's fallbacks to the client IP.
    fn identifier(&self, request: &AccessRequest<'_>, effects: &Effects) -> Identifier {
        let ip = || {
            Identifier::Ip(
                request
                    .client_ip
                    .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            )
        };
        match &self.config.limit_by {
            LimitBy::Ip => ip(),
            LimitBy::Consumer => match &effects.consumer {
                Some(who) => Identifier::Consumer(who.consumer.id.clone()),
                None => ip(),
            },
            LimitBy::Credential => match effects
                .consumer
                .as_ref()
                .and_then(|who| who.credential_id.clone())
            {
                Some(id) => Identifier::Credential(id),
                None => ip(),
            },
            LimitBy::Service => Identifier::Text(request.service.into()),
            LimitBy::Header(name) => match request
                .header
                .headers
                .get(name.as_str())
                .and_then(|value| value.to_str().ok())
                .filter(|value| !value.is_empty())
            {
                Some(value) => Identifier::Text(value.into()),
                None => ip(),
            },
            LimitBy::Path(path) if request.path == path => Identifier::Path,
            LimitBy::Path(_) => ip(),
        }
    }
}

/// The identifier as it appears in Redis keys.
fn identifier_text(identifier: &Identifier, limit_by: &LimitBy) -> String {
    match (identifier, limit_by) {
        (Identifier::Ip(ip), _) => ip.to_string(),
        (Identifier::Consumer(id) | Identifier::Credential(id), _) => id.to_string(),
        (Identifier::Text(text), _) => text.to_string(),
        (Identifier::Path, LimitBy::Path(path)) => path.clone(),
        (Identifier::Path, _) => String::new(),
    }
}

/// `X-RateLimit-Limit-<Window>` and `X-RateLimit-Remaining-<Window>`.
fn window_headers(window: RateWindow) -> (HeaderName, HeaderName) {
    /// Made at compile time: `from_static` at run time compares against every standard name.
    const fn pair(limit: &'static str, remaining: &'static str) -> (HeaderName, HeaderName) {
        (
            HeaderName::from_static(limit),
            HeaderName::from_static(remaining),
        )
    }
    const SECOND: (HeaderName, HeaderName) =
        pair("x-ratelimit-limit-second", "x-ratelimit-remaining-second");
    const MINUTE: (HeaderName, HeaderName) =
        pair("x-ratelimit-limit-minute", "x-ratelimit-remaining-minute");
    const HOUR: (HeaderName, HeaderName) =
        pair("x-ratelimit-limit-hour", "x-ratelimit-remaining-hour");
    const DAY: (HeaderName, HeaderName) =
        pair("x-ratelimit-limit-day", "x-ratelimit-remaining-day");
    const MONTH: (HeaderName, HeaderName) =
        pair("x-ratelimit-limit-month", "x-ratelimit-remaining-month");
    const YEAR: (HeaderName, HeaderName) =
        pair("x-ratelimit-limit-year", "x-ratelimit-remaining-year");
    match window {
        RateWindow::Second => SECOND,
        RateWindow::Minute => MINUTE,
        RateWindow::Hour => HOUR,
        RateWindow::Day => DAY,
        RateWindow::Month => MONTH,
        RateWindow::Year => YEAR,
    }
}

#[cfg(test)]
mod tests {
    use pingora::http::RequestHeader;

    use super::*;

    fn plugin(limits: &[(RateWindow, u32)], hide: bool) -> RateLimiting {
        RateLimiting::new(
            RateLimitingConfig {
                limits: limits.to_vec(),
                limit_by: LimitBy::Ip,
                policy: RateLimitPolicy::Local,
                fault_tolerant: true,
                hide_client_headers: hide,
                error_code: 429,
                error_message: "API rate limit exceeded".into(),
            },
            InstanceScope {
                route: Some("r".into()),
                service: None,
            },
        )
    }

    async fn run(plugin: &RateLimiting) -> (Flow, Effects) {
        let header = RequestHeader::build("GET", b"/", None).unwrap();
        let request = AccessRequest::for_test(&header, Some("127.0.0.1".parse().unwrap()));
        let mut effects = Effects::default();
        let flow = Plugin::access(plugin, &request, &mut effects).await;
        (flow, effects)
    }

    fn header<'a>(effects: &'a Effects, name: &str) -> &'a str {
        effects.response_header(name).unwrap().to_str().unwrap()
    }

    #[tokio::test]
    async fn the_eleventh_request_of_minute_10_is_429_with_kong_headers() {
        let plugin = plugin(&[(RateWindow::Minute, 10), (RateWindow::Hour, 100)], false);
        for n in 1..=10 {
            let (flow, effects) = run(&plugin).await;
            assert!(matches!(flow, Flow::Continue), "request {n}");
            assert_eq!(header(&effects, "x-ratelimit-limit-minute"), "10");
            assert_eq!(
                header(&effects, "x-ratelimit-remaining-minute"),
                (10 - n).to_string()
            );
            assert_eq!(header(&effects, "x-ratelimit-limit-hour"), "100");
            assert_eq!(
                header(&effects, "ratelimit-limit"),
                "10",
                "the minute is tighter"
            );
            assert_eq!(
                header(&effects, "ratelimit-remaining"),
                (10 - n).to_string()
            );
        }
        let (flow, effects) = run(&plugin).await;
        let Flow::Respond(response) = flow else {
            panic!("the 11th is refused")
        };
        assert_eq!(response.status, 429);
        assert_eq!(response.body, r#"{"message":"API rate limit exceeded"}"#);
        assert_eq!(response.header("retry-after").unwrap(), "6");
        assert_eq!(header(&effects, "ratelimit-remaining"), "0");
        assert_eq!(header(&effects, "ratelimit-reset"), "6");
    }

    #[tokio::test]
    async fn hide_client_headers_sends_none() {
        let plugin = plugin(&[(RateWindow::Second, 1)], true);
        let (_, effects) = run(&plugin).await;
        assert!(effects.response_headers().is_empty());
        let (Flow::Respond(response), _) = run(&plugin).await else {
            panic!("refused")
        };
        assert!(response.headers.is_empty());
    }

    #[test]
    fn most_constrained_prefers_fewest_remaining_then_the_longer_window() {
        let mut usage = Usage::default();
        let window = |window, remaining| WindowUsage {
            window,
            limit: 10,
            remaining,
            reset: 1,
        };
        usage.push(window(RateWindow::Second, 3));
        usage.push(window(RateWindow::Minute, 3));
        usage.push(window(RateWindow::Hour, 7));
        assert_eq!(usage.most_constrained().unwrap().window, RateWindow::Minute);
    }
}
