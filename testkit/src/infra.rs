//! Real `nats-server` and `redis-server` instances for tests.

use std::{net::SocketAddr, process::Command, time::Duration};

use crate::{ChildGuard, free_port, wait_for_tcp};

/// How long a freshly started server may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A NATS server for one test: either started here (and stopped on drop) or `TEST_NATS_URL`.
#[derive(Debug)]
pub struct NatsServer {
    url: String,
    port: u16,
    process: Option<ChildGuard>,
}

impl NatsServer {
    /// Starts `nats-server` on a free port, or uses `TEST_NATS_URL` when set.
    pub fn start() -> Self {
        if let Ok(url) = std::env::var("TEST_NATS_URL") {
            let port = port_of(&url, 4222);
            return Self {
                url,
                port,
                process: None,
            };
        }
        let port = free_port();
        let mut command = Command::new(require_binary("nats-server", "nats-server"));
        command.args(["-a", "127.0.0.1", "-p", &port.to_string()]);
        let process = ChildGuard::spawn("nats-server", command).expect("cannot spawn nats-server");
        wait_for_tcp(SocketAddr::from(([127, 0, 0, 1], port)), START_TIMEOUT)
            .unwrap_or_else(|err| panic!("nats-server did not start: {err}\n{}", process.logs()));
        Self {
            url: format!("nats://127.0.0.1:{port}"),
            port,
            process: Some(process),
        }
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server now (tests of outages); a no-op for an external server.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }
}

/// A Redis server for one test: started here (stopped on drop) or `TEST_REDIS_URL`.
#[derive(Debug)]
pub struct RedisServer {
    url: String,
    port: u16,
    process: Option<ChildGuard>,
}

impl RedisServer {
    /// Starts `redis-server` on a free port without persistence, or uses `TEST_REDIS_URL`.
    pub fn start() -> Self {
        if let Ok(url) = std::env::var("TEST_REDIS_URL") {
            let port = port_of(&url, 6379);
            return Self {
                url,
                port,
                process: None,
            };
        }
        let port = free_port();
        let mut command = Command::new(require_binary("redis-server", "redis-server"));
        command.args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ]);
        let process =
            ChildGuard::spawn("redis-server", command).expect("cannot spawn redis-server");
        wait_for_tcp(SocketAddr::from(([127, 0, 0, 1], port)), START_TIMEOUT)
            .unwrap_or_else(|err| panic!("redis-server did not start: {err}\n{}", process.logs()));
        Self {
            url: format!("redis://127.0.0.1:{port}"),
            port,
            process: Some(process),
        }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server now (tests of outages); a no-op for an external server.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }
}

/// The path of `binary`, or a panic that says how to install it.
fn require_binary(binary: &str, package: &str) -> String {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
        let path = format!("{dir}/{binary}");
        if std::path::Path::new(&path).exists() {
            return path;
        }
    }
    let on_path = Command::new("which").arg(binary).output();
    if let Ok(output) = on_path
        && output.status.success()
    {
        return String::from_utf8_lossy(&output.stdout).trim().to_owned();
    }
    panic!("{binary} is not installed: run `apt-get install -y {package}` (or set TEST_*_URL)")
}

/// The port of `scheme://host:port[/path]`, or `default`.
fn port_of(url: &str, default: u16) -> u16 {
    let authority = url.split("://").nth(1).unwrap_or(url);
    let host_port = authority.split('/').next().unwrap_or(authority);
    let host_port = host_port.rsplit('@').next().unwrap_or(host_port);
    host_port
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::port_of;

    #[test]
    fn port_of_reads_urls_with_and_without_ports() {
        assert_eq!(port_of("nats://127.0.0.1:4333", 4222), 4333);
        assert_eq!(port_of("redis://:secret@localhost:6380/2", 6379), 6380);
        assert_eq!(port_of("redis://localhost", 6379), 6379);
    }
}
