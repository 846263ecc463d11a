//! Host, port and URL syntax: `scheme://host[:port][/path]` (services' `url`, the API-key plugin's
//! verification URLs), `host[:port]` with IPv6 in brackets, and DNS names; pure.

use std::net::IpAddr;

/// A syntactically valid DNS name (labels of letters, digits, `-` and `_`, as Docker names use).
pub(crate) fn is_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `host[:port]` (IPv6 in brackets) → (host, port), `default_port` when absent.
pub(crate) fn split_host_port(text: &str, default_port: u16) -> Option<(String, u16)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host.to_owned(), port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host.to_owned(), port.parse().ok()?)),
        Some(_) => text
            .parse::<IpAddr>()
            .ok()
            .map(|_| (text.to_owned(), default_port)),
        None => Some((text.to_owned(), default_port)),
    }
    .filter(|(host, _)| !host.is_empty())
}

/// The parts of a URL.
pub(crate) struct UrlParts {
    pub(crate) scheme: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) path: Option<String>,
}

/// `scheme://host[:port][/path]`; the port defaults to 80 (http) or 443 (https).
pub(crate) fn parse_url(url: &str) -> Option<UrlParts> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(index) => (&rest[..index], Some(rest[index..].to_owned())),
        None => (rest, None),
    };
    let (host, port) = split_host_port(authority, default_port)?;
    if !(is_hostname(&host) || host.parse::<IpAddr>().is_ok()) {
        return None;
    }
    Some(UrlParts {
        scheme,
        host,
        port,
        path: path.filter(|p| !p.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_host_port_handles_defaults_ipv6_and_garbage() {
        assert_eq!(
            split_host_port("auth1:8000", 1),
            Some(("auth1".into(), 8000))
        );
        assert_eq!(split_host_port("auth1", 8000), Some(("auth1".into(), 8000)));
        assert_eq!(split_host_port("[::1]:9000", 1), Some(("::1".into(), 9000)));
        assert_eq!(split_host_port("host:notaport", 1), None);
        assert_eq!(split_host_port(":80", 1), None);
    }

    #[test]
    fn parse_url_reads_kong_service_urls() {
        let parts = parse_url("http://auth_upstream").unwrap();
        assert_eq!(
            (parts.host.as_str(), parts.port, parts.path),
            ("auth_upstream", 80, None)
        );
        let parts = parse_url("http://users:8080/v1").unwrap();
        assert_eq!(
            (parts.host.as_str(), parts.port, parts.path.as_deref()),
            ("users", 8080, Some("/v1"))
        );
        assert!(parse_url("ftp://x").is_none());
        assert!(parse_url("http://bad host").is_none());
    }
}
