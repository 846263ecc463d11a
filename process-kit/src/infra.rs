//! The infrastructure servers the services need, `nats-server` and `redis-server`, as the tests
//! and the local stack start them: on 127.0.0.1 only, Redis without persistence.

use std::{path::Path, process::Command};

/// An infrastructure server run as a local process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Infra {
    /// `nats-server`.
    Nats,
    /// `redis-server`, nothing saved to disk.
    Redis,
}

impl Infra {
    /// Its short name, for logs: `nats`, `redis`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Nats => "nats",
            Self::Redis => "redis",
        }
    }

    /// Its program, which is also the name of its Debian package.
    pub fn binary(self) -> &'static str {
        match self {
            Self::Nats => "nats-server",
            Self::Redis => "redis-server",
        }
    }

    /// Its arguments to listen on 127.0.0.1:`port`.
    pub fn args(self, port: u16) -> Vec<String> {
        let port = port.to_string();
        let args: Vec<&str> = match self {
            Self::Nats => vec!["-a", "127.0.0.1", "-p", &port],
            Self::Redis => vec![
                "--bind",
                "127.0.0.1",
                "--port",
                &port,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        };
        args.into_iter().map(str::to_owned).collect()
    }

    /// The command that runs `program` (its binary, wherever found) on 127.0.0.1:`port`.
    pub fn command(self, program: &Path, port: u16) -> Command {
        let mut command = Command::new(program);
        command.args(self.args(port));
        command
    }

    /// The URL clients use for it on 127.0.0.1:`port`.
    pub fn url(self, port: u16) -> String {
        match self {
            Self::Nats => format!("nats://127.0.0.1:{port}"),
            Self::Redis => format!("redis://127.0.0.1:{port}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Infra;

    #[test]
    fn both_listen_on_loopback_and_redis_saves_nothing() {
        assert_eq!(Infra::Nats.args(4333), ["-a", "127.0.0.1", "-p", "4333"]);
        assert_eq!(
            Infra::Redis.args(6380),
            [
                "--bind",
                "127.0.0.1",
                "--port",
                "6380",
                "--save",
                "",
                "--appendonly",
                "no"
            ]
        );
        assert_eq!(Infra::Redis.url(6380), "redis://127.0.0.1:6380");
    }
}
