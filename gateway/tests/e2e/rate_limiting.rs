//! `rate-limiting` through the real gateway: the local policy's exact limit and Kong's headers,
//! counters that survive a reload, and the Redis policy shared by two gateway processes against a
//! real `redis-server` (testkit), including Redis being down.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use testkit::{RedisServer, wait_until_async};

use crate::helpers::{Gateway, Upstream};

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// Route `route` (`/api`) on `upstream` with a route-scoped rate-limiting `config`, plus a route
/// `/extra` when `extra` (to change the file without touching the plugin).
fn config(upstream: &Upstream, route: &str, plugin_config: &str, extra: bool) -> String {
    let extra = if extra {
        "      - {name: extra, paths: [/extra]}\n"
    } else {
        ""
    };
    format!(
        r#"_format_version: "3.0"
services:
  - name: svc
    url: http://{}
    routes:
      - name: {route}
        paths: [/api]
        plugins:
          - name: rate-limiting
            config: {plugin_config}
{extra}"#,
        upstream.target()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minute_10_lets_exactly_10_through_then_answers_429_with_kong_headers() {
    // Arrange
    let upstream = Upstream::start("svc").await;
    let gateway = Gateway::start(&config(
        &upstream,
        "api",
        "{minute: 10, limit_by: ip}",
        false,
    ));
    let client = reqwest::Client::new();

    // Act + Assert: ten pass, counting down.
    for n in 1..=10 {
        let response = client.get(gateway.url("/api/x")).send().await.unwrap();
        assert_eq!(response.status(), 200, "request {n}");
        assert_eq!(header(&response, "x-ratelimit-limit-minute"), Some("10"));
        let remaining = (10 - n).to_string();
        assert_eq!(
            header(&response, "x-ratelimit-remaining-minute"),
            Some(remaining.as_str()),
            "request {n}"
        );
        assert_eq!(header(&response, "ratelimit-limit"), Some("10"));
        assert_eq!(
            header(&response, "ratelimit-remaining"),
            Some(remaining.as_str())
        );
        assert!(header(&response, "ratelimit-reset").is_some());
    }

    // The eleventh is refused without reaching the upstream.
    let response = client.get(gateway.url("/api/x")).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(header(&response, "x-ratelimit-remaining-minute"), Some("0"));
    assert_eq!(header(&response, "ratelimit-remaining"), Some("0"));
    let retry_after: u64 = header(&response, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(
        header(&response, "content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"message":"API rate limit exceeded"}"#
    );
    assert_eq!(upstream.hits(), 10);

    // Prometheus counts the refusal (the plugin counts it before answering).
    let metrics = gateway.metrics(&client).await;
    assert!(
        metrics.lines().any(
            |line| line.starts_with("gateway_rate_limit_rejections_total{") && line.ends_with(" 1")
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_counters_survive_a_reload_that_keeps_the_plugin_config() {
    let upstream = Upstream::start("svc").await;
    let plugin = "{minute: 3, limit_by: ip}";
    let gateway = Gateway::start(&config(&upstream, "api", plugin, false));
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let response = client.get(gateway.url("/api/x")).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }

    // Change the file elsewhere and wait until the new route answers: the reload is live.
    gateway.replace_config(&config(&upstream, "api", plugin, true));
    wait_until_async("the reloaded config", Duration::from_secs(10), || {
        let client = client.clone();
        let url = gateway.url("/extra");
        async move { matches!(client.get(&url).send().await, Ok(r) if r.status() == 200) }
    })
    .await
    .unwrap_or_else(|err| panic!("{err}\n{}", gateway.process.logs()));

    let response = client.get(gateway.url("/api/x")).send().await.unwrap();
    assert_eq!(response.status(), 429, "the used-up budget was kept");
}

/// Waits until the current UTC minute has at least `needed` left, so a fixed window does not turn
/// over in the middle of the test.
async fn wait_for_room_in_this_minute(needed: Duration) {
    let left = || {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        Duration::from_secs(60)
            - Duration::from_millis(u64::try_from(now.as_millis() % 60_000).unwrap())
    };
    wait_until_async(
        "enough time left in the current minute",
        Duration::from_secs(61),
        || async { left() >= needed },
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_policy_shares_one_limit_between_two_gateway_processes() {
    // Arrange: two gateways, one Redis, one config (a fresh route name keeps the keys apart from
    // earlier runs on a shared TEST_REDIS_URL).
    let redis = RedisServer::start();
    let upstream = Upstream::start("svc").await;
    let route = format!("shared-{}", uuid::Uuid::new_v4().simple());
    let plugin = format!(
        "{{minute: 10, limit_by: ip, policy: redis, redis: {{host: 127.0.0.1, port: {}, timeout: 2000}}}}",
        redis.port()
    );
    let text = config(&upstream, &route, &plugin, false);
    let first = Gateway::start(&text);
    let second = Gateway::start(&text);
    let client = reqwest::Client::new();
    wait_for_room_in_this_minute(Duration::from_secs(20)).await;

    // Act: alternate between the two processes.
    let mut statuses = Vec::new();
    for n in 0..12 {
        let gateway = if n % 2 == 0 { &first } else { &second };
        let response = client.get(gateway.url("/api/x")).send().await.unwrap();
        let remaining = header(&response, "x-ratelimit-remaining-minute").map(str::to_owned);
        statuses.push((response.status().as_u16(), remaining));
    }

    // Assert: one budget of 10 for both, counted down across processes.
    let expected: Vec<(u16, Option<String>)> = (1..=12)
        .map(|n| {
            if n <= 10 {
                (200, Some((10 - n).to_string()))
            } else {
                (429, Some("0".to_owned()))
            }
        })
        .collect();
    assert_eq!(statuses, expected);
    assert_eq!(upstream.hits(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_lets_requests_through_when_fault_tolerant_and_is_500_when_not() {
    let upstream = Upstream::start("svc").await;
    let nobody = testkit::free_port();
    let client = reqwest::Client::new();

    let tolerant = format!(
        "{{minute: 1, policy: redis, redis_host: 127.0.0.1, redis_port: {nobody}, redis_timeout: 500}}"
    );
    let gateway = Gateway::start(&config(&upstream, "api", &tolerant, false));
    for _ in 0..3 {
        let response = client.get(gateway.url("/api/x")).send().await.unwrap();
        assert_eq!(response.status(), 200, "fault tolerant: through");
        assert!(header(&response, "x-ratelimit-limit-minute").is_none());
    }
    gateway
        .wait_for_log("counters unavailable; letting requests through", 1)
        .await;
    let logs = gateway.process.logs();
    assert_eq!(
        logs.matches("counters unavailable").count(),
        1,
        "logged once per failure burst:\n{logs}"
    );

    let strict = format!(
        "{{minute: 1, policy: redis, fault_tolerant: false, redis: {{host: 127.0.0.1, port: {nobody}, timeout: 500}}}}"
    );
    let gateway = Gateway::start(&config(&upstream, "api", &strict, false));
    let response = client.get(gateway.url("/api/x")).send().await.unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"message":"An unexpected error occurred"}"#
    );
}
