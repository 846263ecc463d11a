//! Real `nats-server` and `redis-server` instances for tests.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use process_kit::{Infra, free_port, wait_for_tcp};

use crate::ChildGuard;

/// How long a freshly started server may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A NATS server for one test: either started here (and stopped on drop) or `TEST_NATS_URL`.
#[derive(Debug)]
pub struct NatsServer(LocalServer);

impl NatsServer {
    /// Starts `nats-server` on a free port, or uses `TEST_NATS_URL` when set.
    pub fn start() -> Self {
        Self(LocalServer::start(Infra::Nats, "TEST_NATS_URL", 4222))
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.0.port
    }

    /// Stops the server now (tests of outages); a no-op for an external server.
    pub fn stop(&mut self) {
        self.0.stop();
    }
}

/// A Redis server for one test: started here (stopped on drop) or `TEST_REDIS_URL`.
#[derive(Debug)]
pub struct RedisServer(LocalServer);

impl RedisServer {
    /// Starts `redis-server` on a free port without persistence, or uses `TEST_REDIS_URL`.
    pub fn start() -> Self {
        Self(LocalServer::start(Infra::Redis, "TEST_REDIS_URL", 6379))
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.0.port
    }

    /// Stops the server now (tests of outages); a no-op for an external server.
    pub fn stop(&mut self) {
        self.0.stop();
    }
}

/// An infrastructure server of one test: started here on a free port, or the one at the URL in
/// an environment variable (then never stopped here).
#[derive(Debug)]
struct LocalServer {
    url: String,
    port: u16,
    process: Option<ChildGuard>,
}

impl LocalServer {
    /// Uses the server at `$url_var` when set (its port, or `default_port`), else starts `infra`
    /// on a free port and waits until it listens.
    fn start(infra: Infra, url_var: &str, default_port: u16) -> Self {
        if let Ok(url) = std::env::var(url_var) {
            let port = port_of(&url, default_port);
            return Self {
                url,
                port,
                process: None,
            };
        }
        let binary = infra.binary();
        let port = free_port();
        let command = infra.command(&require_binary(binary), port);
        let process = ChildGuard::spawn(binary, command)
            .unwrap_or_else(|err| panic!("cannot spawn {binary}: {err:?}"));
        wait_for_tcp(SocketAddr::from(([127, 0, 0, 1], port)), START_TIMEOUT)
            .unwrap_or_else(|err| panic!("{binary} did not start: {err}\n{}", process.logs()));
        Self {
            url: infra.url(port),
            port,
            process: Some(process),
        }
    }

    fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }
}

/// The path of `binary`, or a panic that says how to install it (its Debian package has its name).
fn require_binary(binary: &str) -> PathBuf {
    process_kit::which(binary).unwrap_or_else(|| {
        panic!("{binary} is not installed: run `apt-get install -y {binary}` (or set TEST_*_URL)")
    })
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
