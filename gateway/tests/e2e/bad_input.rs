//! Malformed and hostile requests: Kong-style 4xx, no crash, the next request still served.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Gateway, Upstream};

async fn send_raw(port: u16, request: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    // The gateway may answer and close before reading everything: a failed write is fine.
    let _ = stream.write_all(request).await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    String::from_utf8_lossy(&response).into_owned()
}

fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_4xx_and_the_gateway_keeps_serving() {
    let upstream = Upstream::start("svc").await;
    let gateway = Gateway::start(&format!(
        "_format_version: \"3.0\"\nservices:\n  - name: svc\n    url: http://{}\n    routes: [{{name: svc, paths: [/svc]}}]\n",
        upstream.target()
    ));
    let huge_header = format!(
        "GET /svc/x HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage request line", b"GARBAGE\r\n\r\n".to_vec()),
        (
            "bad version",
            b"GET /svc/x HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
        ),
        ("64 KB header", huge_header.into_bytes()),
        (
            "absurd content-length",
            b"POST /svc/x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"
                .to_vec(),
        ),
        (
            "two content-lengths",
            b"POST /svc/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
                .to_vec(),
        ),
    ];
    for (name, request) in cases {
        let response = send_raw(gateway.port, &request).await;
        let status = status_of(&response);
        assert!(
            status == 0 || (400..500).contains(&status),
            "{name}: expected a 4xx or a closed connection, got {status}: {response:.200}"
        );
        let after = reqwest::get(gateway.url("/svc/after")).await.unwrap();
        assert_eq!(after.status(), 200, "{name}: the gateway keeps serving");
    }
    assert!(
        gateway.process.logs().matches("panicked").count() == 0,
        "no panic"
    );
}
