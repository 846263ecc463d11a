//! One trace per request across processes (issue #18): the real gateway (Kong's `opentelemetry`
//! plugin, the API-key check against auth) in front of the real auth-service and blog-service
//! binaries, all exporting to one OTLP/HTTP receiver that decodes the real protobuf. One
//! `GET /blog/author/id/...` (API key checked by the gateway, the bearer token checked by blog over
//! NATS with auth) is one trace: the client's `traceparent` continued, every span's parent found,
//! the hops parented as they happened, and blog's log lines of the request carry the trace id.

use std::{collections::HashSet, process::Command, time::Duration};

use serde_json::{Value, json};
use testkit::{
    ChildGuard, NatsServer, OtlpReceiver, ReceivedSpan, RedisServer, bin_path, free_port,
    wait_for_tcp,
};

use crate::processes::{ADMIN_EMAIL, ADMIN_PASSWORD, Dependencies, Services};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";
/// The key `auth-service seed` inserts by default.
const API_KEY: &str = "1D3F2DD1A5DE725DD4DF1D82BBB37";
const DEADLINE: Duration = Duration::from_secs(30);

/// The gateway of the stack: `/auth` and `/blog` routes, every request's API key checked by auth,
/// every request traced to `traces_url`.
fn gateway_config(port: u16, services: &Services, traces_url: &str) -> String {
    format!(
        r#"_format_version: "3.0"
_gateway:
  proxy_listen: "127.0.0.1:{port}"
  admin_listen: "127.0.0.1:{admin}"
  threads: 2
services:
  - name: auth
    url: {auth}
    routes: [{{name: auth, paths: [/auth]}}]
  - name: blog
    url: {blog}
    routes: [{{name: blog, paths: [/blog]}}]
plugins:
  - name: apikey-auth-plugin
    config: {{verification_urls: ["{auth}/verify/apikey"]}}
  - name: opentelemetry
    config:
      traces_endpoint: {traces_url}
      sampling_rate: 1
      resource_attributes: {{service.name: gateway}}
      queue: {{max_coalescing_delay: 0.05}}
"#,
        admin = free_port(),
        auth = services.auth_url(),
        blog = services.blog_url(),
    )
}

/// The gateway on `config`, once it listens on `port`.
fn start_gateway(config: &str, port: u16, dir: &std::path::Path) -> ChildGuard {
    let path = dir.join("gateway.yml");
    std::fs::write(&path, config).unwrap();
    let mut command = Command::new(bin_path("gateway"));
    command
        .args(["run", "--config"])
        .arg(&path)
        .env("RUST_LOG", "info");
    let gateway = ChildGuard::spawn("gateway", command).unwrap();
    wait_for_tcp(([127, 0, 0, 1], port).into(), DEADLINE)
        .unwrap_or_else(|err| panic!("gateway did not start: {err}\n{}", gateway.logs()));
    gateway
}

fn span<'a>(spans: &'a [ReceivedSpan], service: &str, name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|span| span.service == service && span.name == name)
        .unwrap_or_else(|| panic!("no {service} span {name:?} in {spans:#?}"))
}

/// The ids of `span`'s parent, its parent's parent, and so on, as far as `trace` has them.
fn ancestor_ids<'a>(trace: &'a [ReceivedSpan], mut span: &'a ReceivedSpan) -> Vec<String> {
    let mut chain = Vec::new();
    while let Some(parent) = trace
        .iter()
        .find(|candidate| Some(candidate.span_id.as_str()) == span.parent_span_id.as_deref())
    {
        chain.push(parent.span_id.clone());
        span = parent;
    }
    chain
}

/// The span of the NATS hop named `suffix` (`request` or `process`) to `auth.authentication`.
fn nats_span<'a>(spans: &'a [ReceivedSpan], service: &str, suffix: &str) -> &'a ReceivedSpan {
    span(spans, service, &format!("auth.authentication {suffix}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_through_gateway_blog_nats_and_auth_is_one_trace() {
    // Arrange: NATS, Redis, the receiver; auth and blog exporting to it; the gateway in front
    let nats = NatsServer::start();
    let redis = RedisServer::start();
    let receiver = OtlpReceiver::start().await;
    let infra = Dependencies {
        nats_url: nats.url().to_owned(),
        redis_port: redis.port(),
        nats_timeout: Duration::from_secs(5),
    };
    let services = Services::start(&infra, DEADLINE, |service| {
        vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
            ("OTEL_SERVICE_NAME", service.to_owned()),
            // the SDK exports every 5 s by default
            ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
            // blog's log lines of a request: tower-http's "started processing request"
            ("RUST_LOG", "info,tower_http=debug".to_owned()),
        ]
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let gateway = start_gateway(
        &gateway_config(port, &services, &receiver.traces_url()),
        port,
        dir.path(),
    );
    let gateway_url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let client = reqwest::Client::builder()
        .timeout(DEADLINE)
        .build()
        .unwrap();
    // the admin signs in and writes a blog, at the services directly
    let (status, signed_in): (u16, Value) = {
        let response = client
            .post(format!("{}/signin/basic", services.auth_url()))
            .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    };
    assert_eq!(status, 200, "sign-in: {signed_in}");
    let token = format!(
        "Bearer {}",
        signed_in["data"]["tokens"]["accessToken"].as_str().unwrap()
    );
    let created: Value = client
        .post(format!("{}/author/", services.blog_url()))
        .header("authorization", &token)
        .json(&crate::helpers::blog_body("traced blog", "Tracing facts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["data"]["_id"]
        .as_str()
        .unwrap_or_else(|| panic!("create: {created}"))
        .to_owned();

    // Act: the author reads the blog through the gateway (its first use of the key, so the gateway
    // asks auth), continuing the client's trace
    let response = client
        .get(gateway_url(&format!("/blog/author/id/{id}")))
        .header("x-api-key", API_KEY)
        .header("authorization", &token)
        .header("traceparent", format!("00-{TRACE}-{CLIENT_SPAN}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Assert: the three services' spans of the one trace
    let wanted = [
        ("gateway", "kong"),
        ("gateway", "kong.apikey.verify"),
        ("auth", "GET /verify/apikey"),
        ("blog", "auth.authentication request"),
        ("auth", "auth.authentication process"),
    ];
    let spans = receiver
        .wait_for(DEADLINE, |spans| {
            wanted.iter().all(|(service, name)| {
                spans.iter().any(|span| {
                    span.trace_id == TRACE && span.service == *service && span.name == *name
                })
            }) && spans.iter().any(|span| {
                span.trace_id == TRACE && span.service == "blog" && span.name.starts_with("GET ")
            })
        })
        .await
        .unwrap();
    let trace: Vec<ReceivedSpan> = spans
        .into_iter()
        .filter(|span| span.trace_id == TRACE)
        .collect();
    let ids: HashSet<&str> = trace.iter().map(|span| span.span_id.as_str()).collect();
    for span in &trace {
        let parent = span.parent_span_id.as_deref();
        assert!(
            parent.is_some_and(|parent| ids.contains(parent) || parent == CLIENT_SPAN),
            "{}'s span {:?} has a parent outside the trace: {parent:?}",
            span.service,
            span.name
        );
    }
    let gateway_span = span(&trace, "gateway", "kong");
    assert_eq!(
        gateway_span.parent_span_id.as_deref(),
        Some(CLIENT_SPAN),
        "the client's trace is continued"
    );
    let key_check = span(&trace, "gateway", "kong.apikey.verify");
    assert_eq!(
        span(&trace, "auth", "GET /verify/apikey")
            .parent_span_id
            .as_deref(),
        Some(key_check.span_id.as_str()),
        "auth's answer to the key check is a child of the gateway's check"
    );
    let blog_request = trace
        .iter()
        .find(|span| span.service == "blog" && span.name == format!("GET /author/id/{id}"))
        .unwrap_or_else(|| panic!("no blog request span in {trace:#?}"));
    assert_eq!(
        blog_request.parent_span_id.as_deref(),
        Some(gateway_span.span_id.as_str()),
        "blog's request span is the gateway span's child"
    );
    let nats_request = nats_span(&trace, "blog", "request");
    assert_eq!(
        nats_span(&trace, "auth", "process")
            .parent_span_id
            .as_deref(),
        Some(nats_request.span_id.as_str()),
        "auth continues blog's NATS request"
    );
    let ancestors = |span: &ReceivedSpan| ancestor_ids(&trace, span);
    assert!(
        ancestors(nats_request).contains(&blog_request.span_id),
        "blog's NATS request happens inside its HTTP request"
    );
    assert!(
        trace
            .iter()
            .any(|span| span.service == "auth" && span.name.starts_with("sqlite ")),
        "auth's store calls are spans: {trace:#?}"
    );
    assert!(
        trace.iter().any(|span| span.service == "blog"
            && span.name == "sqlite find_by_id"
            && ancestors(span).contains(&blog_request.span_id)),
        "blog's store call is a span of the request: {trace:#?}"
    );
    assert!(
        services
            .blog
            .logs()
            .lines()
            .any(|line| line.contains(&format!("trace_id={TRACE}"))),
        "blog's log lines of the request carry the trace id:\n{}",
        services.blog.logs()
    );
    drop(gateway);
}
