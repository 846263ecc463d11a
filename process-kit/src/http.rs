//! The readiness probe of HTTP servers: `GET <path>` on 127.0.0.1 answers 200.

use std::{
    io::{self, Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

/// How long each step of a probe (connect, send, read the status line) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether `GET <path>` on `127.0.0.1:<port>` answers 200: one HTTP/1.1 request on a fresh
/// connection, only its status line read; false on any failure.
pub fn http_ok(port: u16, path: &str) -> bool {
    http_ok_with_headers(port, path, &[])
}

/// [`http_ok`] with extra request `headers` (`(name, value)`).
pub fn http_ok_with_headers(port: u16, path: &str, headers: &[(&str, &str)]) -> bool {
    answers_200(port, path, headers).unwrap_or(false)
}

fn answers_200(port: u16, path: &str, headers: &[(&str, &str)]) -> io::Result<bool> {
    let mut stream =
        TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), STEP_TIMEOUT)?;
    stream.set_read_timeout(Some(STEP_TIMEOUT))?;
    stream.set_write_timeout(Some(STEP_TIMEOUT))?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    Ok(head.starts_with(b"HTTP/1.1 200"))
}

#[cfg(test)]
mod tests {
    use std::{net::TcpListener, thread};

    use super::*;

    /// A one-connection server answering `status`; returns its port and the request it read.
    fn serve_once(status: &'static str) -> (u16, thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
                request.push(byte[0]);
            }
            let _ = stream.write_all(format!("HTTP/1.1 {status}\r\n\r\n").as_bytes());
            String::from_utf8(request).unwrap()
        });
        (port, server)
    }

    #[test]
    fn a_200_is_ok_with_the_headers_sent_and_anything_else_is_not() {
        let (port, server) = serve_once("200 OK");
        assert!(http_ok_with_headers(port, "/health", &[("x-api-key", "k")]));
        let request = server.join().unwrap();
        assert!(
            request.starts_with("GET /health HTTP/1.1\r\n") && request.contains("x-api-key: k\r\n"),
            "{request}"
        );
        let (port, server) = serve_once("503 Service Unavailable");
        assert!(!http_ok(port, "/health"));
        server.join().unwrap();
    }
}
