//! The `_gateway` block (our extension: listeners, threads, the access log, timeouts, the admin
//! token) and `_format_version`.

use std::{net::SocketAddr, time::Duration};

use serde_yaml::Value;

use crate::{
    access_log::Destination,
    config::{
        model::{ADMIN_TOKEN_ENV, GatewaySettings, Secret},
        raw::RawGateway,
    },
    validator::Validator,
};

/// `_gateway.client_body_timeout` when unset: nginx's `client_body_timeout`.
const DEFAULT_CLIENT_BODY_TIMEOUT: Duration = Duration::from_secs(60);

impl Validator {
    /// `_format_version`: 1.1, 2.1 or 3.0 (kept: it decides how route paths read).
    pub(super) fn format_version(&mut self, version: Option<&str>) {
        match version {
            Some(version @ ("1.1" | "2.1" | "3.0")) => self.format_version = version.to_owned(),
            Some(other) => self.error(
                "_format_version",
                format!("unsupported version {other:?}: expected \"1.1\", \"2.1\" or \"3.0\""),
            ),
            None => self.error("_format_version", "required field missing"),
        }
    }

    pub(super) fn gateway(&mut self, value: Option<&Value>) -> GatewaySettings {
        let raw = value
            .and_then(|value| self.de::<RawGateway>(value, "_gateway"))
            .unwrap_or_default();
        let mut listen = |field: &str, raw: Option<String>, default: &str| -> SocketAddr {
            let text = raw.unwrap_or_else(|| default.to_owned());
            text.parse().unwrap_or_else(|_| {
                self.error(
                    format!("_gateway.{field}"),
                    format!("invalid listen address {text:?}: expected ip:port"),
                );
                default
                    .parse()
                    .expect("BUG: default listen addresses parse")
            })
        };
        let proxy_listen = listen("proxy_listen", raw.proxy_listen, "0.0.0.0:8000");
        let proxy_listen_tls = raw
            .proxy_listen_tls
            .map(|text| listen("proxy_listen_tls", Some(text), "0.0.0.0:8443"));
        let admin_listen = listen("admin_listen", raw.admin_listen, "127.0.0.1:8001");
        let admin_token = self.admin_token(raw.admin_token, admin_listen);
        let threads = raw.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        if threads == 0 {
            self.error("_gateway.threads", "must be at least 1");
        }
        let access_log = match raw.access_log.as_deref().map(Destination::parse) {
            None => Destination::Stdout,
            Some(Ok(destination)) => destination,
            Some(Err(message)) => {
                self.error("_gateway.access_log", message);
                Destination::Stdout
            }
        };
        let client_body_timeout = match raw.client_body_timeout {
            Some(0) => {
                self.error(
                    "_gateway.client_body_timeout",
                    "must be at least 1 (seconds)",
                );
                DEFAULT_CLIENT_BODY_TIMEOUT
            }
            Some(seconds) => Duration::from_secs(seconds),
            None => DEFAULT_CLIENT_BODY_TIMEOUT,
        };
        GatewaySettings {
            access_log,
            dns_refresh: Duration::from_secs(raw.dns_refresh.unwrap_or(30)),
            proxy_listen,
            proxy_listen_tls,
            admin_listen,
            admin_token,
            threads: threads.max(1),
            upstream_keepalive_pool_size: raw.upstream_keepalive_pool_size.unwrap_or(512),
            upstream_idle_timeout: Duration::from_secs(raw.upstream_idle_timeout.unwrap_or(30)),
            client_body_timeout,
        }
    }

    /// The admin token: `GATEWAY_ADMIN_TOKEN` when set, else `_gateway.admin_token`. An admin
    /// listener that other machines can reach without one is refused.
    fn admin_token(
        &mut self,
        from_file: Option<String>,
        admin_listen: SocketAddr,
    ) -> Option<Secret> {
        let from_env = std::env::var(ADMIN_TOKEN_ENV).ok();
        let (token, field) = match (from_env, from_file) {
            (Some(token), _) => (Some(token), ADMIN_TOKEN_ENV),
            (None, token) => (token, "_gateway.admin_token"),
        };
        match token {
            Some(token) if token.trim().is_empty() => {
                let path = if field == ADMIN_TOKEN_ENV {
                    "_gateway.admin_token"
                } else {
                    field
                };
                self.error(
                    path,
                    format!("{field} is empty: set a token or leave it out"),
                );
                None
            }
            Some(token) => Some(Secret::new(token)),
            None if !admin_listen.ip().is_loopback() => {
                self.error(
                    "_gateway.admin_listen",
                    format!(
                        "the admin API on {admin_listen} is reachable from other machines and needs a token: \
                         set _gateway.admin_token or {ADMIN_TOKEN_ENV} (sent as Kong-Admin-Token), \
                         or listen on 127.0.0.1"
                    ),
                );
                None
            }
            None => None,
        }
    }
}
