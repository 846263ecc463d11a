//! HTTP/1.1 mechanics the proxy must keep, whatever engine moves the bytes: upgrades (WebSocket)
//! tunnelled both ways, `HEAD` answered without a body, `Expect: 100-continue` answered before the
//! client sends its body, large bodies streamed intact both ways, upstream connections reused.

use std::time::Duration;

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    time::timeout,
};

use crate::helpers::{Gateway, Upstream, big_body_byte, byte_sum};

/// How long any single read in these tests may wait.
const READ_DEADLINE: Duration = Duration::from_secs(10);

fn one_service(target: &str) -> String {
    format!(
        "_format_version: \"3.0\"\nservices:\n  - name: svc\n    url: http://{target}\n    routes: [{{name: svc, paths: [/svc]}}]\n"
    )
}

/// A raw connection to the gateway's proxy port.
async fn connect(gateway: &Gateway) -> TcpStream {
    TcpStream::connect(("127.0.0.1", gateway.port))
        .await
        .unwrap()
}

/// Reads up to and including the blank line that ends a header block; `None` on EOF first.
async fn read_head(stream: &mut (impl AsyncRead + Unpin)) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = timeout(READ_DEADLINE, stream.read(&mut byte))
            .await
            .expect("no header within the deadline")
            .ok()?;
        if read == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// The rest of a `Connection: close` answer, after its header block, as JSON.
async fn read_json_to_end(stream: &mut (impl AsyncRead + Unpin)) -> serde_json::Value {
    let mut body = Vec::new();
    timeout(READ_DEADLINE, stream.read_to_end(&mut body))
        .await
        .expect("body within the deadline")
        .unwrap();
    serde_json::from_slice(&body).unwrap()
}

/// An upstream that accepts one WebSocket-style upgrade per connection and then answers every
/// byte it receives upper-cased.
async fn start_upgrade_upstream() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let Some(head) = read_head(&mut stream).await else {
                    return;
                };
                let lower = head.to_ascii_lowercase();
                if !lower.contains("upgrade: websocket") || !lower.contains("connection: upgrade") {
                    let _ = stream
                        .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    return;
                }
                stream
                    .write_all(
                        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                    )
                    .await
                    .unwrap();
                let mut buffer = [0u8; 1024];
                loop {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            let upper = buffer[..n].to_ascii_uppercase();
                            if stream.write_all(&upper).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr.to_string()
}

/// Upgrades in a row, each on its own connection: the engine pipes a tunnel from the `101` on and
/// never takes the end of the upgrade request's empty body for the end of the tunnel (the race
/// of cloudflare/pingora#946 that tore one tunnel in about ten down under pingora-proxy).
const UPGRADES_IN_A_ROW: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_upgrades_are_tunnelled_both_ways_every_time() {
    let upstream = start_upgrade_upstream().await;
    let gateway = Gateway::start(&one_service(&upstream));

    for upgrade in 1..=UPGRADES_IN_A_ROW {
        if let Err(why) = tunnel_three_rounds(&gateway).await {
            panic!("upgrade {upgrade} of {UPGRADES_IN_A_ROW}: {why}");
        }
    }
}

/// One upgrade through the gateway, then three rounds each answered by the upstream through the
/// tunnel. The `101` must come; a tunnel torn down after it is an `Err`.
async fn tunnel_three_rounds(gateway: &Gateway) -> Result<(), String> {
    let mut client = connect(gateway).await;
    client
        .write_all(
            b"GET /svc/chat HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
    let head = read_head(&mut client)
        .await
        .expect("an answer to the upgrade");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");

    for message in ["hello", "second message", "x"] {
        client
            .write_all(message.as_bytes())
            .await
            .map_err(|err| format!("writing {message:?}: {err}"))?;
        let mut echoed = vec![0u8; message.len()];
        match timeout(READ_DEADLINE, client.read_exact(&mut echoed)).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => return Err(format!("tunnel closed before echoing {message:?}: {err}")),
            Err(_) => return Err(format!("no echo of {message:?} within {READ_DEADLINE:?}")),
        }
        assert_eq!(echoed, message.to_ascii_uppercase().as_bytes());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_is_answered_with_the_headers_and_no_body() {
    let upstream = Upstream::start("svc").await;
    let gateway = Gateway::start(&one_service(&upstream.target()));

    let mut client = connect(&gateway).await;
    client
        .write_all(b"HEAD /svc/x HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let head = read_head(&mut client).await.expect("an answer to HEAD");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // The next answer on the same connection starts right after HEAD's header block: a body sent
    // for HEAD would come first and break the framing.
    client
        .write_all(b"GET /svc/y HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let next = read_head(&mut client).await.expect("an answer to the GET");
    assert!(next.starts_with("HTTP/1.1 200"), "after HEAD: {next:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let upstream = Upstream::start("svc").await;
    let gateway = Gateway::start(&one_service(&upstream.target()));

    let mut client = connect(&gateway).await;
    client
        .write_all(
            b"POST /svc/upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\
              Expect: 100-continue\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    // curl waits a second for this before sending anyway: every upload would pay that second.
    let interim = read_head(&mut client).await.expect("an interim answer");
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    client.write_all(b"hello").await.unwrap();
    let head = read_head(&mut client).await.expect("the final answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let json = read_json_to_end(&mut client).await;
    assert_eq!(json["body_bytes"], 5, "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_stream_through_intact_both_ways() {
    const SIZE: usize = 8 * 1024 * 1024 + 123;
    let upstream = Upstream::start("svc").await;
    let gateway = Gateway::start(&one_service(&upstream.target()));
    let client = reqwest::Client::new();

    // Download: a chunked 8 MiB answer.
    let response = client
        .get(gateway.url(&format!("/svc/big/{SIZE}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), SIZE);
    let first_wrong = body
        .iter()
        .enumerate()
        .find(|(i, byte)| **byte != big_body_byte(*i));
    assert_eq!(first_wrong, None, "the body arrived altered");

    // Upload: the same bytes, once with a Content-Length and once chunked.
    let payload: Vec<u8> = (0..SIZE).map(big_body_byte).collect();
    let expected_sum = byte_sum(&payload);
    let sized = client
        .post(gateway.url("/svc/upload"))
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(sized.status(), 200);
    let json: serde_json::Value = sized.json().await.unwrap();
    assert_eq!(
        (json["body_bytes"].as_u64(), json["body_sum"].as_u64()),
        (Some(SIZE as u64), Some(expected_sum))
    );

    // Chunked, over a raw connection (reqwest sends a Content-Length for a known body).
    let mut raw = connect(&gateway).await;
    raw.write_all(
        b"POST /svc/upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    for chunk in payload.chunks(100_000) {
        raw.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .unwrap();
        raw.write_all(chunk).await.unwrap();
        raw.write_all(b"\r\n").await.unwrap();
    }
    raw.write_all(b"0\r\n\r\n").await.unwrap();
    let head = read_head(&mut raw)
        .await
        .expect("an answer to the chunked upload");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let json = read_json_to_end(&mut raw).await;
    assert_eq!(
        (json["body_bytes"].as_u64(), json["body_sum"].as_u64()),
        (Some(SIZE as u64), Some(expected_sum))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connections_are_kept_alive_and_reused() {
    let upstream = Upstream::start("svc").await;
    let gateway = Gateway::start(&one_service(&upstream.target()));
    // One client connection per request, so that only the gateway's pool can explain reuse.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for _ in 0..200 {
        let response = client.get(gateway.url("/svc/x")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
    }
    assert_eq!(upstream.hits(), 200);
    // Sequential requests need one connection; the gateway's two worker threads may each hold one.
    assert!(
        upstream.connections() <= 4,
        "200 sequential requests opened {} upstream connections",
        upstream.connections()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keepalive_pool_size_of_0_closes_every_upstream_connection_as_kong_does() {
    let upstream = Upstream::start("svc").await;
    let gateway = Gateway::start_with_settings(
        "  upstream_keepalive_pool_size: 0\n",
        &one_service(&upstream.target()),
    );
    let client = reqwest::Client::new();
    for _ in 0..20 {
        let response = client.get(gateway.url("/svc/x")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let json: serde_json::Value = response.json().await.unwrap();
        assert_eq!(json["headers"]["connection"], "close", "{json}");
    }
    assert_eq!(upstream.connections(), 20);
}

/// The value of header `name` (lowercase) in a raw header block.
fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// Reads one answer with a `Content-Length` body: (head, body).
async fn read_sized_answer(stream: &mut (impl AsyncRead + Unpin)) -> (String, Vec<u8>) {
    let head = read_head(stream).await.expect("an answer");
    let length: usize = header_value(&head, "content-length")
        .expect("a Content-Length")
        .parse()
        .unwrap();
    let mut body = vec![0u8; length];
    timeout(READ_DEADLINE, stream.read_exact(&mut body))
        .await
        .expect("the body within the deadline")
        .unwrap();
    (head, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateways_own_answers_keep_the_connection_usable_or_say_close() {
    // Only a weight-0 target: every proxied request is the gateway's own 503.
    let gateway = Gateway::start(
        "_format_version: \"3.0\"\nservices:\n  - name: svc\n    url: http://pool\n    \
         routes: [{name: svc, paths: [/svc]}]\nupstreams:\n  - name: pool\n    \
         targets: [{target: \"127.0.0.1:9\", weight: 0}]\n",
    );
    let mut client = connect(&gateway).await;
    // 503, 404, and 404 after a small body the gateway reads and drops, on one connection.
    let requests: [(&[u8], &str); 3] = [
        (b"GET /svc/a HTTP/1.1\r\nHost: localhost\r\n\r\n", "503"),
        (b"GET /nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n", "404"),
        (
            b"POST /nowhere HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n0123456789",
            "404",
        ),
    ];
    for (request, status) in requests {
        client.write_all(request).await.unwrap();
        let (head, body) = read_sized_answer(&mut client).await;
        assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{head}");
        assert_eq!(
            header_value(&head, "connection"),
            Some("keep-alive"),
            "{head}"
        );
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(json["message"].is_string(), "{json}");
    }
    // A large body the gateway will not wait for: the answer says close, and the connection
    // ends after it (no reset before the client could read it).
    client
        .write_all(
            b"POST /svc/a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10000000\r\n\r\npartial",
        )
        .await
        .unwrap();
    let (head, _) = read_sized_answer(&mut client).await;
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    assert_eq!(header_value(&head, "connection"), Some("close"), "{head}");
    let mut rest = Vec::new();
    let end = timeout(READ_DEADLINE, client.read_to_end(&mut rest))
        .await
        .expect("the connection ends");
    assert!(end.is_ok() && rest.is_empty(), "{end:?} {rest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_and_protected_connection_nominations_are_refused() {
    let upstream = Upstream::start("svc").await;
    let gateway = Gateway::start(&one_service(&upstream.target()));
    let refused: [&[u8]; 3] = [
        b"CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n",
        b"GET /svc/x HTTP/1.1\r\nHost: localhost\r\nConnection: close, X-Forwarded-For\r\n\r\n",
        b"GET /svc/x HTTP/1.1\r\nHost: localhost\r\nConnection: Host\r\n\r\n",
    ];
    for request in refused {
        let mut client = connect(&gateway).await;
        client.write_all(request).await.unwrap();
        let (head, _) = read_sized_answer(&mut client).await;
        let status = &head[9..12];
        assert!(
            status == "405" || status == "400",
            "{}: {head}",
            String::from_utf8_lossy(request)
        );
    }
    assert_eq!(upstream.hits(), 0, "nothing refused reaches the upstream");
    // A nominated header of the client's own goes no further than the gateway.
    let mut client = connect(&gateway).await;
    client
        .write_all(
            b"GET /svc/x HTTP/1.1\r\nHost: localhost\r\nConnection: X-Hop, close\r\n\
              X-Hop: secret\r\nKeep-Alive: timeout=5\r\n\r\n",
        )
        .await
        .unwrap();
    let head = read_head(&mut client).await.expect("an answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let json = read_json_to_end(&mut client).await;
    let headers = &json["headers"];
    assert!(
        headers.get("x-hop").is_none() && headers.get("keep-alive").is_none(),
        "{json}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http10_client_gets_a_chunked_answer_close_delimited() {
    let upstream = Upstream::start("svc").await;
    let gateway = Gateway::start(&one_service(&upstream.target()));
    let mut client = connect(&gateway).await;
    client
        .write_all(b"GET /svc/big/100000 HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let head = read_head(&mut client).await.expect("an answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(header_value(&head, "transfer-encoding"), None, "{head}");
    let mut body = Vec::new();
    timeout(READ_DEADLINE, client.read_to_end(&mut body))
        .await
        .expect("the body, then the end of the connection")
        .unwrap();
    assert_eq!(body.len(), 100_000);
    assert!(body.iter().enumerate().all(|(i, b)| *b == big_body_byte(i)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_clients_are_served_over_cleartext() {
    let upstream = Upstream::start("svc").await;
    let gateway = Gateway::start(&one_service(&upstream.target()));
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    for path in ["/svc/one", "/svc/two?x=1"] {
        let response = client.get(gateway.url(path)).send().await.unwrap();
        assert_eq!(response.version(), reqwest::Version::HTTP_2);
        assert_eq!(response.status(), 200);
        let json: serde_json::Value = response.json().await.unwrap();
        // Kong's routes strip their path by default.
        assert_eq!(json["path"], path.trim_start_matches("/svc"), "{json}");
        assert_eq!(json["headers"]["host"], upstream.target(), "{json}");
    }
    let upload = client
        .post(gateway.url("/svc/upload"))
        .body(vec![7u8; 100_000])
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 200);
    let json: serde_json::Value = upload.json().await.unwrap();
    assert_eq!(json["body_bytes"], 100_000, "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_request_in_flight_closes_idle_connections_and_exits() {
    let upstream = Upstream::start("svc").await;
    let mut gateway = Gateway::start(&one_service(&upstream.target()));
    // A kept-alive connection, idle after one answer, and a request in flight (the upstream takes
    // 3 s to answer `/slow`).
    let mut idle = connect(&gateway).await;
    idle.write_all(b"GET /svc/a HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let (head, _) = read_sized_answer(&mut idle).await;
    assert_eq!(
        header_value(&head, "connection"),
        Some("keep-alive"),
        "{head}"
    );
    let mut busy = connect(&gateway).await;
    busy.write_all(b"GET /svc/slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    testkit::wait_until_async(
        "the slow request reached the upstream",
        READ_DEADLINE,
        || {
            let hits = upstream.hits();
            async move { hits == 2 }
        },
    )
    .await
    .unwrap();

    gateway.process.signal("TERM").unwrap();
    let (head, body) = read_sized_answer(&mut busy).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(header_value(&head, "connection"), Some("close"), "{head}");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["path"], "/slow", "{json}");
    let mut rest = Vec::new();
    let closed = timeout(READ_DEADLINE, idle.read_to_end(&mut rest)).await;
    assert!(
        matches!(closed, Ok(Ok(0))),
        "the idle connection is closed: {closed:?}"
    );
    // Pingora's grace period (5 s) and shutdown timeout (5 s) bound the exit.
    testkit::wait_until_async("the gateway exits", Duration::from_secs(15), || {
        let exited = gateway.process.try_exit_status().is_some();
        async move { exited }
    })
    .await
    .unwrap_or_else(|err| panic!("{err}\n{}", gateway.process.logs()));
}

/// What one request on a kept-alive connection got during a shutdown.
enum Outcome {
    /// A whole `200` answer; `true` when it said `Connection: close`.
    Answered(bool),
    /// Not a byte came back: the gateway never took the request (an idle connection it closed).
    NotTaken,
    /// Anything else: a partial or non-200 answer.
    Failed(String),
}

async fn one_request(stream: &mut TcpStream) -> Outcome {
    if stream
        .write_all(b"GET /svc/load HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .is_err()
    {
        return Outcome::NotTaken;
    }
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(usize::MAX);
            if received.len() >= end + 4 + length {
                return if head.starts_with("http/1.1 200") {
                    Outcome::Answered(head.contains("connection: close"))
                } else {
                    Outcome::Failed(head)
                };
            }
        }
        match timeout(READ_DEADLINE, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) if received.is_empty() => return Outcome::NotTaken,
            Ok(Ok(0) | Err(_)) => {
                return Outcome::Failed(String::from_utf8_lossy(&received).into_owned());
            }
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => return Outcome::Failed("no answer within the deadline".to_owned()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_fails_no_request_it_took_and_exits_within_the_grace_period() {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };
    let upstream = Upstream::start("svc").await;
    let mut gateway = Gateway::start(&one_service(&upstream.target()));
    let answered = Arc::new(AtomicUsize::new(0));
    let port = gateway.port;
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let answered = answered.clone();
            tokio::spawn(async move {
                let mut failures = Vec::new();
                let mut stream = None;
                loop {
                    if stream.is_none() {
                        match TcpStream::connect(("127.0.0.1", port)).await {
                            Ok(connected) => stream = Some(connected),
                            // The gateway stopped accepting: this client is done.
                            Err(_) => return failures,
                        }
                    }
                    match one_request(stream.as_mut().unwrap()).await {
                        Outcome::Answered(close) => {
                            answered.fetch_add(1, Ordering::SeqCst);
                            if close {
                                stream = None;
                            }
                        }
                        Outcome::NotTaken => stream = None,
                        Outcome::Failed(what) => {
                            failures.push(what);
                            stream = None;
                        }
                    }
                }
            })
        })
        .collect();
    testkit::wait_until_async("load is flowing", READ_DEADLINE, || {
        let count = answered.load(Ordering::SeqCst);
        async move { count >= 2_000 }
    })
    .await
    .unwrap();

    gateway.process.signal("TERM").unwrap();
    let stopped = std::time::Instant::now();
    let mut failures = Vec::new();
    for client in clients {
        failures.extend(
            timeout(Duration::from_secs(20), client)
                .await
                .expect("every client ends once the gateway stops accepting")
                .unwrap(),
        );
    }
    testkit::wait_until_async("the gateway exits", Duration::from_secs(15), || {
        let exited = gateway.process.try_exit_status().is_some();
        async move { exited }
    })
    .await
    .unwrap_or_else(|err| panic!("{err}\n{}", gateway.process.logs()));

    assert!(
        failures.is_empty(),
        "requests the gateway took and failed: {failures:?}"
    );
    assert_eq!(
        upstream.hits(),
        answered.load(Ordering::SeqCst),
        "every request that reached the upstream was answered to its client"
    );
    assert!(
        stopped.elapsed() < Duration::from_secs(15),
        "exited within the grace period: {:?}",
        stopped.elapsed()
    );
}
