//! Who may talk to the admin API: the checks every admin request passes before its handler.
//!
//! The admin API can replace the whole config, so a web page open in a browser on the gateway's
//! host must not reach it: a cross-site request (`Sec-Fetch-Site` other than `same-origin` or
//! `none`, or an `Origin` that is not the admin listener itself) is refused, and on a loopback
//! listener so is a `Host` that is not a loopback name with the listener's port (DNS rebinding).
//! When a token is configured (`_gateway.admin_token` or `GATEWAY_ADMIN_TOKEN`), every request
//! carries it in `Kong-Admin-Token`; a listener other machines can reach never runs without one.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::Response,
};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{AdminState, reply};

/// The header that carries the admin token (Kong Enterprise's name).
pub const TOKEN_HEADER: &str = "kong-admin-token";

/// Why a request was refused; renders itself as the admin API's JSON answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A browser said the request comes from another site.
    CrossSite,
    /// `Host` names something other than the admin listener.
    ForeignHost,
    /// No token, or the wrong one.
    Unauthorized,
}

impl Refusal {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::CrossSite => (
                StatusCode::FORBIDDEN,
                "cross-site requests to the admin API are refused",
            ),
            Self::ForeignHost => (
                StatusCode::FORBIDDEN,
                "the Host header does not name the admin listener",
            ),
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "Invalid credentials. Token or User credentials required",
            ),
        };
        reply(status, json!({ "message": message }))
    }
}

/// The middleware: runs [`check`] against the running config's token.
pub async fn admin_guard(
    State(admin): State<AdminState>,
    request: Request,
    next: Next,
) -> Response {
    let runtime = admin.state.load();
    let token = runtime
        .config
        .gateway
        .admin_token
        .as_ref()
        .map(|token| token.expose());
    match check(request.headers(), admin.listen, token) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            tracing::warn!(?refusal, path = %request.uri().path(), "admin request refused");
            refusal.into_response()
        }
    }
}

/// Whether a request with `headers` may reach the admin API listening on `listen`.
pub fn check(headers: &HeaderMap, listen: SocketAddr, token: Option<&str>) -> Result<(), Refusal> {
    let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
        && !matches!(site, "same-origin" | "none")
    {
        return Err(Refusal::CrossSite);
    }
    let host = text(header::HOST);
    if let Some(origin) = headers.get(header::ORIGIN) {
        let same = host.is_some_and(|host| {
            origin
                .to_str()
                .ok()
                .and_then(|origin| origin.strip_prefix("http://"))
                .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
        });
        if !same {
            return Err(Refusal::CrossSite);
        }
    }
    if listen.ip().is_loopback() && !host.is_some_and(|host| names_loopback(host, listen.port())) {
        return Err(Refusal::ForeignHost);
    }
    match token {
        // Fail closed: a reachable listener whose config lost its token answers nothing.
        None if !listen.ip().is_loopback() => Err(Refusal::Unauthorized),
        None => Ok(()),
        Some(expected) => {
            let given = headers
                .get(TOKEN_HEADER)
                .map(|value| value.as_bytes())
                .unwrap_or_default();
            if bool::from(given.ct_eq(expected.as_bytes())) {
                Ok(())
            } else {
                Err(Refusal::Unauthorized)
            }
        }
    }
}

/// `host` is `localhost` or a loopback IP, with `port` or without one. Without a port is safe: a
/// browser always names a port other than 80 in `Host`, and a rebinding page's `Host` is the
/// page's own name, never a loopback one (our own tools and the images' health check send
/// `Host: localhost`).
fn names_loopback(host: &str, port: u16) -> bool {
    let (name, given_port) = if let Some(bracketed) = host.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((name, "")) => (name, None),
            Some((name, rest)) => match rest.strip_prefix(':') {
                Some(given) => (name, Some(given)),
                None => return false,
            },
            None => return false,
        }
    } else if host.parse::<IpAddr>().is_ok() {
        (host, None)
    } else {
        match host.rsplit_once(':') {
            Some((name, given)) => (name, Some(given)),
            None => (host, None),
        }
    };
    if given_port.is_some_and(|given| given.parse() != Ok(port)) {
        return false;
    }
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    const LOOPBACK: &str = "127.0.0.1:8001";

    #[test]
    fn a_local_tool_passes_without_a_token_on_loopback() {
        let listen = LOOPBACK.parse().unwrap();
        for host in [
            "127.0.0.1:8001",
            "localhost:8001",
            "LOCALHOST:8001",
            "127.0.0.2:8001",
            "localhost",
            "127.0.0.1",
        ] {
            assert_eq!(
                check(&headers(&[("host", host)]), listen, None),
                Ok(()),
                "{host}"
            );
        }
        let v6 = "[::1]:8001".parse().unwrap();
        for host in ["[::1]:8001", "[::1]", "::1"] {
            assert_eq!(
                check(&headers(&[("host", host)]), v6, None),
                Ok(()),
                "{host}"
            );
        }
    }

    #[test]
    fn dns_rebinding_is_refused_by_the_host_check() {
        let listen = LOOPBACK.parse().unwrap();
        for host in [
            "evil.example:8001",
            "evil.example",
            "127.0.0.1:9999",
            "localhost:80",
            "localhost.evil.example:8001",
            "[::1]x",
        ] {
            assert_eq!(
                check(&headers(&[("host", host)]), listen, None),
                Err(Refusal::ForeignHost),
                "{host}"
            );
        }
        assert_eq!(
            check(&headers(&[]), listen, None),
            Err(Refusal::ForeignHost)
        );
    }

    #[test]
    fn cross_site_browser_requests_are_refused() {
        let listen = LOOPBACK.parse().unwrap();
        let cases: [&[(&'static str, &str)]; 4] = [
            &[("host", LOOPBACK), ("origin", "http://evil.example")],
            &[("host", LOOPBACK), ("origin", "null")],
            &[("host", LOOPBACK), ("sec-fetch-site", "cross-site")],
            &[("host", LOOPBACK), ("sec-fetch-site", "same-site")],
        ];
        for case in cases {
            assert_eq!(
                check(&headers(case), listen, None),
                Err(Refusal::CrossSite),
                "{case:?}"
            );
        }
        let same_origin = headers(&[
            ("host", LOOPBACK),
            ("origin", "http://127.0.0.1:8001"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert_eq!(check(&same_origin, listen, None), Ok(()));
    }

    #[test]
    fn a_token_when_set_is_required_on_every_request() {
        let listen = LOOPBACK.parse().unwrap();
        let token = Some("s3cret-token");
        assert_eq!(
            check(&headers(&[("host", LOOPBACK)]), listen, token),
            Err(Refusal::Unauthorized)
        );
        let wrong = headers(&[("host", LOOPBACK), ("kong-admin-token", "s3cret")]);
        assert_eq!(check(&wrong, listen, token), Err(Refusal::Unauthorized));
        let right = headers(&[("host", LOOPBACK), ("kong-admin-token", "s3cret-token")]);
        assert_eq!(check(&right, listen, token), Ok(()));
    }

    #[test]
    fn a_reachable_listener_takes_any_host_but_never_runs_without_a_token() {
        let listen = "0.0.0.0:8001".parse().unwrap();
        let named = headers(&[("host", "gateway.internal:8001"), ("kong-admin-token", "t")]);
        assert_eq!(check(&named, listen, Some("t")), Ok(()));
        assert_eq!(
            check(&headers(&[("host", "gateway.internal:8001")]), listen, None),
            Err(Refusal::Unauthorized)
        );
    }
}
