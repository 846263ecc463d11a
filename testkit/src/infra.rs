//! Real `nats-server` and `redis-server` instances for tests.

use std::{marker::PhantomData, net::SocketAddr, path::PathBuf, time::Duration};

use process_kit::{Infra, free_port, wait_for_tcp};

use crate::ChildGuard;

/// How long a freshly started server may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A NATS server for one test: either started here (and stopped on drop) or `TEST_NATS_URL`.
/// [`NatsServer::start`] starts `nats-server` on a free port, or uses `TEST_NATS_URL` when set;
/// its `url()` is `nats://127.0.0.1:<port>`.
pub type NatsServer = InfraServer<Nats>;

/// A Redis server for one test: started here (stopped on drop) or `TEST_REDIS_URL`.
/// [`RedisServer::start`] starts `redis-server` on a free port without persistence, or uses
/// `TEST_REDIS_URL`; its `url()` is `redis://127.0.0.1:<port>`.
pub type RedisServer = InfraServer<Redis>;

/// Which server an [`InfraServer`] is, and where a test run may point at one already running.
pub trait InfraKind {
    /// The server.
    const INFRA: Infra;
    /// The environment variable with the URL of a server to use instead of starting one.
    const URL_VAR: &'static str;
    /// The port of that URL when it names none.
    const DEFAULT_PORT: u16;
}

/// `nats-server` ([`NatsServer`]).
#[derive(Debug)]
pub struct Nats;

impl InfraKind for Nats {
    const INFRA: Infra = Infra::Nats;
    const URL_VAR: &'static str = "TEST_NATS_URL";
    const DEFAULT_PORT: u16 = 4222;
}

/// `redis-server` ([`RedisServer`]).
#[derive(Debug)]
pub struct Redis;

impl InfraKind for Redis {
    const INFRA: Infra = Infra::Redis;
    const URL_VAR: &'static str = "TEST_REDIS_URL";
    const DEFAULT_PORT: u16 = 6379;
}

/// An infrastructure server of one test: started here on a free port (and stopped on drop), or
/// the one at the URL in `K::URL_VAR` (then never stopped here).
#[derive(Debug)]
pub struct InfraServer<K> {
    url: String,
    port: u16,
    process: Option<ChildGuard>,
    kind: PhantomData<K>,
}

impl<K: InfraKind> InfraServer<K> {
    /// Uses the server at `$URL_VAR` when set (its port, or the default port), else starts one on
    /// a free port and waits until it listens.
    pub fn start() -> Self {
        if let Ok(url) = std::env::var(K::URL_VAR) {
            let port = port_of(&url, K::DEFAULT_PORT);
            return Self {
                url,
                port,
                process: None,
                kind: PhantomData,
            };
        }
        let binary = K::INFRA.binary();
        let port = free_port();
        let command = K::INFRA.command(&require_binary(binary), port);
        let process = ChildGuard::spawn(binary, command)
            .unwrap_or_else(|err| panic!("cannot spawn {binary}: {err:?}"));
        wait_for_tcp(SocketAddr::from(([127, 0, 0, 1], port)), START_TIMEOUT)
            .unwrap_or_else(|err| panic!("{binary} did not start: {err}\n{}", process.logs()));
        Self {
            url: K::INFRA.url(port),
            port,
            process: Some(process),
            kind: PhantomData,
        }
    }

    /// `nats://127.0.0.1:<port>`, `redis://127.0.0.1:<port>`, or the URL of `$URL_VAR`.
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
    use super::*;

    #[test]
    fn the_servers_keep_their_api() {
        let _: fn() -> NatsServer = NatsServer::start;
        let _: fn(&NatsServer) -> &str = NatsServer::url;
        let _: fn(&NatsServer) -> u16 = NatsServer::port;
        let _: fn(&mut RedisServer) = RedisServer::stop;
    }

    #[test]
    fn a_started_redis_listens_and_stops() {
        let mut redis = RedisServer::start();
        assert!(redis.url().starts_with("redis://"), "{}", redis.url());
        assert!(process_kit::listening(redis.port()));
        redis.stop();
    }

    #[test]
    fn port_of_reads_urls_with_and_without_ports() {
        assert_eq!(port_of("nats://127.0.0.1:4333", 4222), 4333);
        assert_eq!(port_of("redis://:secret@localhost:6380/2", 6379), 6380);
        assert_eq!(port_of("redis://localhost", 6379), 6379);
    }
}
