//! A minimal blocking HTTP/1.1 client for the bench's setup calls (seeding a blog, the gateway's
//! admin API): one request per connection, `Connection: close`. Cleartext targets are checked for
//! readiness with `process_kit::http_ok_with_headers`; TLS targets with curl, here, by the protocol
//! they are measured with.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

/// An answer: status and body.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Body (de-chunked).
    pub body: String,
}

/// Sends one request to 127.0.0.1:`port`; `body` is sent as JSON.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> anyhow::Result<Response> {
    let mut stream = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if let Some(body) = body {
        stream.write_all(body.as_bytes())?;
    }
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse(&raw).ok_or_else(|| anyhow::anyhow!("{method} {path} on :{port}: not an HTTP response"))
}

/// Whether `curl -k` gets 200 from `url` (`https://`, the bench's self-signed certificate) over
/// HTTP/2 when `http2`, else HTTP/1.1: what curl negotiated must be that protocol.
pub fn curl_get_ok(curl: &Path, url: &str, http2: bool) -> bool {
    let (flag, expected) = if http2 {
        ("--http2", "200 2")
    } else {
        ("--http1.1", "200 1.1")
    };
    Command::new(curl)
        .args(["-sk", "--max-time", "2", "-o", "/dev/null", "-w"])
        .arg("%{http_code} %{http_version}")
        .arg(flag)
        .arg(url)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|output| output.stdout == expected.as_bytes())
}

fn parse(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = &raw[split + 4..];
    let chunked = head.lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("transfer-encoding:") && line.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Some(Response {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn chunked_and_plain_bodies_are_read() {
        let plain = parse(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok").expect("plain");
        assert_eq!((plain.status, plain.body.as_str()), (201, "ok"));
        let chunked = parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
        )
        .expect("chunked");
        assert_eq!((chunked.status, chunked.body.as_str()), (200, "{\"a\":1}"));
        assert!(parse(b"garbage").is_none());
    }
}
