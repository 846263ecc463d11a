//! `ip-restriction` (Kong's): the client's address is checked against `deny` first, then `allow`
//! (when set); a refusal is `status` (403) with `{"message": <message>}`, by default
//! `IP address not allowed: <client ip>`. IPv4 clients seen through an IPv6 socket
//! (`::ffff:a.b.c.d`) are matched as IPv4.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;
use serde_yaml::Value;

use super::{
    effects::Effects,
    plugin::{AccessRequest, BuildContext, Flow, ParseContext, Plugin},
};
use crate::{responses, validator::Validator};

/// `config` of `ip-restriction`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIpRestrictionConfig {
    allow: Option<Vec<String>>,
    deny: Option<Vec<String>>,
    status: Option<u16>,
    message: Option<String>,
}

/// `ip-restriction` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRestrictionConfig {
    /// Allowed networks; empty = everyone not denied.
    pub allow: Vec<IpNet>,
    /// Denied networks, checked first.
    pub deny: Vec<IpNet>,
    /// Status of a refusal (default 403).
    pub status: u16,
    /// Message of a refusal (default `IP address not allowed: <client ip>`).
    pub message: Option<String>,
}

impl Validator {
    fn ip_restriction_config(&mut self, value: &Value, path: &str) -> Option<IpRestrictionConfig> {
        let raw = self.de::<RawIpRestrictionConfig>(value, path)?;
        let errors_before = self.errors.len();
        let allow = self.networks(raw.allow.unwrap_or_default(), &format!("{path}.allow"));
        let deny = self.networks(raw.deny.unwrap_or_default(), &format!("{path}.deny"));
        if self.errors.len() == errors_before && allow.is_empty() && deny.is_empty() {
            self.error(
                path.to_owned(),
                "at least one of allow or deny must be non-empty",
            );
        }
        let status = raw.status.unwrap_or(403);
        self.status(status, &format!("{path}.status"));
        (self.errors.len() == errors_before).then_some(IpRestrictionConfig {
            allow,
            deny,
            status,
            message: raw.message,
        })
    }

    /// IPs and CIDRs (v4 and v6); a bare IP is a single-address network.
    fn networks(&mut self, raw: Vec<String>, path: &str) -> Vec<IpNet> {
        let mut networks = Vec::new();
        for (i, text) in raw.iter().enumerate() {
            let parsed = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from));
            match parsed {
                Ok(network) => networks.push(network.trunc()),
                Err(_) => self.error(
                    format!("{path}[{i}]"),
                    format!("invalid ip or cidr range: {text:?}"),
                ),
            }
        }
        networks
    }
}

impl Plugin for IpRestriction {
    type Config = IpRestrictionConfig;

    fn parse(
        validator: &mut Validator,
        value: &Value,
        path: &str,
        _context: &ParseContext<'_>,
    ) -> Option<IpRestrictionConfig> {
        validator.ip_restriction_config(value, path)
    }

    fn build(config: &IpRestrictionConfig, _context: &BuildContext<'_>) -> Self {
        Self::new(config.clone())
    }

    /// The access phase: refuses clients that are denied or not allowed.
    fn access_now(&self, request: &AccessRequest<'_>, _effects: &mut Effects) -> Flow {
        let Some(ip) = request.client_ip else {
            return Flow::Respond(responses::plugin_error(
                self.config.status,
                "Cannot identify the client IP address, unix domain sockets are not supported.",
            ));
        };
        if self.allows(ip) {
            return Flow::Continue;
        }
        let response = match &self.config.message {
            Some(message) => responses::plugin_error(self.config.status, message),
            None => responses::plugin_error(
                self.config.status,
                &format!("IP address not allowed: {ip}"),
            ),
        };
        Flow::Respond(response)
    }
}

/// One configured `ip-restriction` instance.
#[derive(Debug)]
pub struct IpRestriction {
    config: IpRestrictionConfig,
}

impl IpRestriction {
    /// An instance of `config`.
    pub fn new(config: IpRestrictionConfig) -> Self {
        Self { config }
    }

    #[cfg(test)]
    /// The refusal status (tests).
    pub fn status(&self) -> u16 {
        self.config.status
    }

    /// Deny first, then allow (an empty allow list allows everyone not denied).
    fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let within = |networks: &[IpNet]| networks.iter().any(|network| network.contains(&ip));
        if within(&self.config.deny) {
            return false;
        }
        self.config.allow.is_empty() || within(&self.config.allow)
    }
}

#[cfg(test)]
mod tests {
    use pingora::http::RequestHeader;

    use super::*;

    fn plugin(allow: &[&str], deny: &[&str]) -> IpRestriction {
        let nets = |list: &[&str]| list.iter().map(|n| n.parse().unwrap()).collect();
        IpRestriction::new(IpRestrictionConfig {
            allow: nets(allow),
            deny: nets(deny),
            status: 403,
            message: None,
        })
    }

    #[test]
    fn deny_is_checked_before_allow_for_v4_and_v6() {
        let plugin = plugin(&["10.0.0.0/8", "2001:db8::/32"], &["10.1.0.0/16"]);
        for (ip, expected) in [
            ("10.2.3.4", true),
            ("10.1.2.3", false),
            ("192.168.1.1", false),
            ("2001:db8::1", true),
            ("2001:db9::1", false),
            ("::ffff:10.2.3.4", true),
        ] {
            assert_eq!(plugin.allows(ip.parse().unwrap()), expected, "{ip}");
        }
    }

    #[test]
    fn a_refusal_names_the_client_ip_in_kong_body() {
        let plugin = plugin(&[], &["127.0.0.0/8"]);
        let header = RequestHeader::build("GET", b"/", None).unwrap();
        let request = AccessRequest::for_test(&header, Some("127.0.0.1".parse().unwrap()));
        let Flow::Respond(response) = plugin.access_now(&request, &mut Effects::default()) else {
            panic!("denied")
        };
        assert_eq!(response.status, 403);
        assert_eq!(
            response.body,
            r#"{"message":"IP address not allowed: 127.0.0.1"}"#
        );
    }
}
