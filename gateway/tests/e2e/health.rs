//! Health checks through the real gateway: a target killed under load is taken out (passive and
//! active checks) and comes back when restarted; every target down → Kong's 503; the admin API's
//! `/upstreams/{name}/health` follows each transition.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, extract::State, http::StatusCode, routing::get};
use testkit::wait_until_async;

use crate::helpers::{Gateway, get_json};

/// An upstream on its own runtime, so that killing it closes its listener *and* every open
/// connection, as a crashed process would.
struct KillableUpstream {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    health_status: Arc<AtomicU16>,
    runtime: Option<tokio::runtime::Runtime>,
}

#[derive(Clone)]
struct KillableState {
    hits: Arc<AtomicUsize>,
    health_status: Arc<AtomicU16>,
}

async fn serve_request(State(state): State<KillableState>) -> &'static str {
    state.hits.fetch_add(1, Ordering::Relaxed);
    "ok"
}

async fn serve_health(State(state): State<KillableState>) -> StatusCode {
    StatusCode::from_u16(state.health_status.load(Ordering::Relaxed)).unwrap()
}

impl KillableUpstream {
    fn start() -> Self {
        let mut upstream = Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            hits: Arc::new(AtomicUsize::new(0)),
            health_status: Arc::new(AtomicU16::new(200)),
            runtime: None,
        };
        upstream.restart();
        upstream
    }

    /// (Re)starts serving on the same address.
    fn restart(&mut self) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = {
            let _context = runtime.enter();
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_reuseaddr(true).unwrap();
            socket.bind(self.addr).unwrap();
            socket.listen(1024).unwrap()
        };
        self.addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/health", get(serve_health))
            .fallback(serve_request)
            .with_state(KillableState {
                hits: self.hits.clone(),
                health_status: self.health_status.clone(),
            });
        runtime.spawn(async move { axum::serve(listener, app).await });
        self.runtime = Some(runtime);
    }

    /// Stops at once: the listener and every connection close.
    fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }
}

impl Drop for KillableUpstream {
    fn drop(&mut self) {
        self.kill();
    }
}

fn config(targets: &[SocketAddr], healthchecks: &str) -> String {
    let targets: String = targets
        .iter()
        .map(|addr| format!("      - target: \"{addr}\"\n"))
        .collect();
    format!(
        r#"_format_version: "3.0"
services:
  - name: svc
    url: http://pool
    retries: 3
    connect_timeout: 1000
    routes: [{{name: svc, paths: [/svc]}}]
upstreams:
  - name: pool
    healthchecks:
{healthchecks}
    targets:
{targets}"#
    )
}

/// Active probes every 200 ms, 2 successes heal; one failure of any kind takes a target out,
/// from probes or from real traffic.
const CHECKS: &str = r#"      active:
        http_path: /health
        timeout: 0.5
        healthy: {interval: 0.2, successes: 2}
        unhealthy: {interval: 0.2, tcp_failures: 1, http_failures: 1, timeouts: 1}
      passive:
        unhealthy: {tcp_failures: 1, timeouts: 1}"#;

/// The admin API's health of `target` in upstream `pool`.
async fn target_health(client: &reqwest::Client, gateway: &Gateway, target: SocketAddr) -> String {
    let (status, body) = get_json(client, &gateway.admin_url("/upstreams/pool/health")).await;
    assert_eq!(status, 200, "{body}");
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["target"] == target.to_string())
        .map(|entry| entry["health"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("{target} missing from {body}"))
}

/// Polls the admin API until `target` reports `health`; returns when it did.
async fn wait_for_health(
    client: &reqwest::Client,
    gateway: &Gateway,
    target: SocketAddr,
    health: &str,
    deadline: Duration,
) -> Instant {
    wait_until_async(&format!("{target} to be {health}"), deadline, || async {
        target_health(client, gateway, target).await == health
    })
    .await
    .unwrap_or_else(|err| panic!("{err}\n{}", gateway.process.logs()));
    Instant::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_target_killed_under_load_is_taken_out_at_once_and_comes_back_after_restart() {
    let steady = KillableUpstream::start();
    let mut victim = KillableUpstream::start();
    let gateway = Gateway::start(&config(&[steady.addr, victim.addr], CHECKS));
    let client = reqwest::Client::new();
    assert_eq!(
        target_health(&client, &gateway, victim.addr).await,
        "HEALTHY"
    );

    // Steady load: 8 workers, each request recorded with its start time.
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let client = client.clone();
        let url = gateway.url("/svc/x");
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut results = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let status = match client.get(&url).send().await {
                    Ok(response) => response.status().as_u16(),
                    Err(_) => 0,
                };
                results.push((started, status));
            }
            results
        }));
    }
    let warm = victim.hits();
    wait_until_async(
        "the victim to serve traffic",
        Duration::from_secs(5),
        || {
            let hits = victim.hits();
            async move { hits > warm + 100 }
        },
    )
    .await
    .unwrap();

    victim.kill();
    let killed = Instant::now();
    let detected = wait_for_health(
        &client,
        &gateway,
        victim.addr,
        "UNHEALTHY",
        Duration::from_secs(3),
    )
    .await;
    // Keep the load on for a while after detection.
    let served_before = steady.hits.load(Ordering::Relaxed);
    wait_until_async(
        "more traffic after detection",
        Duration::from_secs(5),
        || {
            let hits = steady.hits();
            async move { hits > served_before + 500 }
        },
    )
    .await
    .unwrap();

    victim.restart();
    let restarted = Instant::now();
    let healed = wait_for_health(
        &client,
        &gateway,
        victim.addr,
        "HEALTHY",
        Duration::from_secs(5),
    )
    .await;
    let back = victim.hits();
    wait_until_async(
        "the restarted target to get traffic again",
        Duration::from_secs(5),
        || {
            let hits = victim.hits();
            async move { hits > back + 50 }
        },
    )
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);

    let mut results = Vec::new();
    for worker in workers {
        results.extend(worker.await.unwrap());
    }
    let failed: Vec<&(Instant, u16)> = results.iter().filter(|(_, s)| *s != 200).collect();
    let failed_after_detection = failed.iter().filter(|(at, _)| *at >= detected).count();
    let failure_rate = failed.len() as f64 / results.len() as f64;
    println!(
        "{} requests, {} failed ({:.3}%), detection took {:?}, recovery took {:?}",
        results.len(),
        failed.len(),
        failure_rate * 100.0,
        detected - killed,
        healed - restarted
    );
    assert!(
        failure_rate < 0.005,
        "{} of {} requests failed",
        failed.len(),
        results.len()
    );
    assert_eq!(failed_after_detection, 0, "failures after detection");
    // interval × successes (+1 s)
    assert!(
        healed - restarted <= Duration::from_millis(200 * 2 + 1000),
        "recovery took {:?}",
        healed - restarted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_target_unhealthy_gives_kongs_503_until_a_probe_heals_it() {
    let only = KillableUpstream::start();
    let gateway = Gateway::start(&config(
        &[only.addr],
        r#"      active:
        http_path: /health
        healthy: {interval: 0.1, successes: 1}
        unhealthy: {interval: 0.1, http_failures: 2}"#,
    ));
    let client = reqwest::Client::new();
    let (status, _) = get_json(&client, &gateway.url("/svc/a")).await;
    assert_eq!(status, 200);

    only.health_status.store(500, Ordering::Relaxed);
    wait_for_health(
        &client,
        &gateway,
        only.addr,
        "UNHEALTHY",
        Duration::from_secs(3),
    )
    .await;
    let (status, body) = get_json(&client, &gateway.url("/svc/a")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["message"],
        "failure to get a peer from the ring-balancer"
    );
    assert_eq!(body["request_id"].as_str().unwrap().len(), 32);

    only.health_status.store(200, Ordering::Relaxed);
    wait_for_health(
        &client,
        &gateway,
        only.addr,
        "HEALTHY",
        Duration::from_secs(3),
    )
    .await;
    let (status, _) = get_json(&client, &gateway.url("/svc/a")).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_keep_their_health_across_a_reload_and_new_ones_start_healthy() {
    let sick = KillableUpstream::start();
    let fresh = KillableUpstream::start();
    let checks = r#"      active:
        http_path: /health
        healthy: {interval: 0.1, successes: 1}
        unhealthy: {interval: 5, http_failures: 1}"#;
    let gateway = Gateway::start(&config(&[sick.addr], checks));
    let client = reqwest::Client::new();
    sick.health_status.store(500, Ordering::Relaxed);
    wait_for_health(
        &client,
        &gateway,
        sick.addr,
        "UNHEALTHY",
        Duration::from_secs(3),
    )
    .await;

    gateway.replace_config(&config(&[sick.addr, fresh.addr], checks));
    wait_until_async(
        "the new target in the admin API",
        Duration::from_secs(3),
        || {
            let client = client.clone();
            let url = gateway.admin_url("/upstreams/pool/targets");
            let fresh = fresh.addr.to_string();
            async move {
                let (_, body) = get_json(&client, &url).await;
                body["data"]
                    .as_array()
                    .is_some_and(|targets| targets.iter().any(|t| t["target"] == fresh))
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(
        target_health(&client, &gateway, sick.addr).await,
        "UNHEALTHY"
    );
    assert_eq!(
        target_health(&client, &gateway, fresh.addr).await,
        "HEALTHY"
    );
    for _ in 0..10 {
        let (status, _) = get_json(&client, &gateway.url("/svc/a")).await;
        assert_eq!(status, 200);
    }
    assert_eq!(sick.hits(), 0, "the unhealthy target got traffic");
    assert_eq!(fresh.hits(), 10);
}

/// One raw request whose body never arrives (`Content-Length: 10`, nothing after the head);
/// returns the status line the gateway answers with.
async fn request_without_its_body(gateway: &Gateway) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", gateway.port))
        .await
        .unwrap();
    stream
        .write_all(b"POST /svc/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the gateway answered and closed within 10 s")
        .unwrap();
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_whose_body_never_arrives_get_408_and_do_not_mark_the_target_down() {
    let target = KillableUpstream::start();
    // One failure of any kind takes the target out; the client's body timeout (1 s) is below the
    // upstream's read timeout (1.5 s).
    let config = format!(
        r#"_format_version: "3.0"
services:
  - name: svc
    url: http://pool
    read_timeout: 1500
    routes: [{{name: svc, paths: [/svc]}}]
upstreams:
  - name: pool
    healthchecks:
      passive:
        unhealthy: {{tcp_failures: 1, timeouts: 1, http_failures: 1}}
    targets:
      - target: "{}"
"#,
        target.addr
    );
    let gateway = Gateway::start_with_settings("  client_body_timeout: 1\n", &config);
    let client = reqwest::Client::new();

    let started = Instant::now();
    let stalled: Vec<_> = (0..10)
        .map(|_| {
            let gateway = &gateway;
            async move { request_without_its_body(gateway).await }
        })
        .collect();
    for status_line in futures::future::join_all(stalled).await {
        assert!(
            status_line.starts_with("HTTP/1.1 408"),
            "answered {status_line:?}"
        );
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the 408s came after the body timeout, not before"
    );

    assert_eq!(
        target_health(&client, &gateway, target.addr).await,
        "HEALTHY",
        "ten stalled clients are not the target's failures"
    );
    let response = client.get(gateway.url("/svc/x")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
}

/// An upstream that answers the first request of each connection `200 ok` with
/// `Connection: keep-alive`, and closes the connection without an answer when a second request
/// arrives on it: every pooled connection the gateway reuses turns out closed.
async fn upstream_closing_kept_alive_connections() -> (SocketAddr, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answered = Arc::new(AtomicUsize::new(0));
    let counter = answered.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut received = Vec::new();
                let mut buffer = [0u8; 4096];
                // The first request: its head (the body, if any, is not read).
                while !received.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => received.extend_from_slice(&buffer[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let answer =
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";
                if stream.write_all(answer).await.is_err() {
                    return;
                }
                // Anything more on this connection is a reuse: close without answering.
                let _ = stream.read(&mut buffer).await;
            });
        }
    });
    (addr, answered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pooled_connection_the_upstream_closed_is_retried_and_not_held_against_it() {
    let (addr, answered) = upstream_closing_kept_alive_connections().await;
    // No retries, and one failure of any kind takes the target out: only the stale-connection
    // rule can save these requests.
    let config = format!(
        r#"_format_version: "3.0"
services:
  - name: svc
    url: http://pool
    retries: 0
    routes: [{{name: svc, paths: [/svc]}}]
upstreams:
  - name: pool
    healthchecks:
      passive:
        unhealthy: {{tcp_failures: 1, timeouts: 1, http_failures: 1}}
    targets:
      - target: "{addr}"
"#
    );
    let gateway = Gateway::start(&config);
    let client = reqwest::Client::new();
    for i in 0..20 {
        let request = if i % 2 == 0 {
            client.get(gateway.url("/svc/x"))
        } else {
            client.post(gateway.url("/svc/x")).body("payload")
        };
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            200,
            "request {i}: {}",
            gateway.process.logs()
        );
        assert_eq!(response.text().await.unwrap(), "ok");
    }
    assert_eq!(
        answered.load(Ordering::SeqCst),
        20,
        "each request answered once"
    );
    assert_eq!(
        target_health(&client, &gateway, addr).await,
        "HEALTHY",
        "stale pooled connections are not the target's failures"
    );
}
