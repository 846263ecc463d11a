//! `cors` (Kong's): answers preflights (`OPTIONS` with `Origin` and
//! `Access-Control-Request-Method`) itself with 200 and the `Access-Control-Allow-*` headers, unless
//! `preflight_continue`; adds `Access-Control-Allow-Origin` (+ credentials, exposed headers,
//! `Vary: Origin`) to every other response, proxied or not.
//!
//! Origin matching follows Kong's handler: no origins or a lone `*` allow all; one plain origin is
//! sent as is; otherwise the request's origin (normalised: default ports dropped) is compared with
//! each configured origin, exactly, or as a regex anchored at the start (a `$` is appended), against
//! the origin's host only when the pattern has no `:`.

use http::{HeaderName, HeaderValue, Method, header};
use regex::Regex;
use serde::Deserialize;
use serde_yaml::Value;

use super::{
    effects::Effects,
    plugin::{AccessRequest, BuildContext, Flow, ParseContext, Plugin, header_value},
};
use crate::{responses::LocalResponse, validator::Validator};

/// Kong's default `cors` methods.
const CORS_METHODS: [&str; 9] = [
    "GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT",
];

/// `config` of `cors`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCorsConfig {
    origins: Option<Vec<String>>,
    methods: Option<Vec<String>>,
    headers: Option<Vec<String>>,
    exposed_headers: Option<Vec<String>>,
    credentials: Option<bool>,
    max_age: Option<u64>,
    preflight_continue: Option<bool>,
    private_network: Option<bool>,
    allow_origin_absent: Option<bool>,
}

/// `cors` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsConfig {
    /// Allowed origins: `*`, exact origins or regexes; empty allows all.
    pub origins: Vec<String>,
    /// `Access-Control-Allow-Methods` of a preflight (Kong's list by default).
    pub methods: Vec<String>,
    /// `Access-Control-Allow-Headers`; empty echoes `Access-Control-Request-Headers`.
    pub headers: Vec<String>,
    /// `Access-Control-Expose-Headers`.
    pub exposed_headers: Vec<String>,
    /// `Access-Control-Allow-Credentials: true` (default false).
    pub credentials: bool,
    /// `Access-Control-Max-Age` in seconds.
    pub max_age: Option<u64>,
    /// Let preflights through to the upstream instead of answering them (default false).
    pub preflight_continue: bool,
    /// Answer `Access-Control-Request-Private-Network` (default false).
    pub private_network: bool,
    /// Add the CORS headers to responses to requests without `Origin` (default true).
    pub allow_origin_absent: bool,
}

impl Validator {
    fn cors_config(&mut self, value: &Value, path: &str) -> Option<CorsConfig> {
        let raw = self.de::<RawCorsConfig>(value, path)?;
        let errors_before = self.errors.len();
        let origins = raw.origins.unwrap_or_default();
        for (i, origin) in origins.iter().enumerate() {
            if origin != "*" && regex::Regex::new(&format!("^(?:{origin})$")).is_err() {
                self.error(
                    format!("{path}.origins[{i}]"),
                    format!("{origin:?} is not a valid regex"),
                );
            }
        }
        let methods = match raw.methods {
            Some(methods) => {
                for (i, method) in methods.iter().enumerate() {
                    if !CORS_METHODS.contains(&method.as_str()) {
                        self.error(
                            format!("{path}.methods[{i}]"),
                            format!(
                                "expected one of: {}, got {method:?}",
                                CORS_METHODS.join(", ")
                            ),
                        );
                    }
                }
                methods
            }
            None => CORS_METHODS.iter().map(|m| (*m).to_owned()).collect(),
        };
        let headers = raw.headers.unwrap_or_default();
        let exposed_headers = raw.exposed_headers.unwrap_or_default();
        for (field, values) in [("headers", &headers), ("exposed_headers", &exposed_headers)] {
            for (i, value) in values.iter().enumerate() {
                if http::HeaderValue::from_str(value).is_err() || value.contains(',') {
                    self.error(
                        format!("{path}.{field}[{i}]"),
                        format!("{value:?} is not a valid header name"),
                    );
                }
            }
        }
        (self.errors.len() == errors_before).then(|| CorsConfig {
            origins,
            methods,
            headers,
            exposed_headers,
            credentials: raw.credentials.unwrap_or(false),
            max_age: raw.max_age,
            preflight_continue: raw.preflight_continue.unwrap_or(false),
            private_network: raw.private_network.unwrap_or(false),
            allow_origin_absent: raw.allow_origin_absent.unwrap_or(true),
        })
    }
}

impl Plugin for Cors {
    type Config = CorsConfig;

    fn parse(
        validator: &mut Validator,
        value: &Value,
        path: &str,
        _context: &ParseContext<'_>,
    ) -> Option<CorsConfig> {
        validator.cors_config(value, path)
    }

    fn build(config: &CorsConfig, _context: &BuildContext<'_>) -> Self {
        Self::new(config.clone())
    }

    /// The access phase: answers preflights, records the CORS headers of everything else.
    fn access_now(&self, request: &AccessRequest<'_>, effects: &mut Effects) -> Flow {
        let headers = &request.header.headers;
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let preflight = request.header.method == Method::OPTIONS
            && origin.is_some()
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if !preflight {
            if origin.is_none() && !self.allow_origin_absent {
                return Flow::Continue;
            }
            let allow_all = self.configure_origin(origin, true, effects);
            self.configure_credentials(origin, allow_all, true, effects);
            if let Some(exposed) = &self.exposed_headers {
                effects.set_response_header(header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed.clone());
            }
            return Flow::Continue;
        }
        if self.preflight_continue {
            return Flow::Continue;
        }
        let allow_all = self.configure_origin(origin, false, effects);
        self.configure_credentials(origin, allow_all, false, effects);
        match (
            &self.headers,
            headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS),
        ) {
            (Some(allowed), _) | (None, Some(allowed)) => {
                effects.set_response_header(header::ACCESS_CONTROL_ALLOW_HEADERS, allowed.clone());
            }
            (None, None) => effects.remove_response_header(header::ACCESS_CONTROL_ALLOW_HEADERS),
        }
        effects.set_response_header(header::ACCESS_CONTROL_ALLOW_METHODS, self.methods.clone());
        if let Some(max_age) = &self.max_age {
            effects.set_response_header(header::ACCESS_CONTROL_MAX_AGE, max_age.clone());
        }
        if self.private_network
            && headers
                .get("access-control-request-private-network")
                .is_some_and(|v| v == "true")
        {
            effects.set_response_header(
                HeaderName::from_static(ALLOW_PRIVATE_NETWORK),
                HeaderValue::from_static("true"),
            );
        }
        Flow::Respond(LocalResponse::empty(200))
    }
}

const ALLOW_ORIGIN: HeaderName = header::ACCESS_CONTROL_ALLOW_ORIGIN;
const ALLOW_CREDENTIALS: HeaderName = header::ACCESS_CONTROL_ALLOW_CREDENTIALS;
const ALLOW_PRIVATE_NETWORK: &str = "access-control-allow-private-network";

/// How one configured origin is compared with the request's.
#[derive(Debug)]
enum OriginMatcher {
    /// `*` in a list: allows all.
    Any,
    /// Exact, after normalisation.
    Exact(String),
    /// A regex over the host (`by_host`) or the whole normalised origin.
    Pattern { regex: Regex, by_host: bool },
}

/// One configured `cors` instance.
#[derive(Debug)]
pub struct Cors {
    /// No origins, or only `*`.
    allow_all: bool,
    /// A single origin that is not a regex: sent as is.
    single: Option<HeaderValue>,
    matchers: Vec<OriginMatcher>,
    credentials: bool,
    preflight_continue: bool,
    private_network: bool,
    allow_origin_absent: bool,
    methods: HeaderValue,
    headers: Option<HeaderValue>,
    exposed_headers: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
}

impl Cors {
    /// An instance of `config` (validated: the regexes compile, the header lists are header-safe).
    pub fn new(config: CorsConfig) -> Self {
        let allow_all =
            config.origins.is_empty() || (config.origins.len() == 1 && config.origins[0] == "*");
        let single = match config.origins.as_slice() {
            [origin] if origin != "*" && !maybe_regex(origin) => header_value(origin),
            _ => None,
        };
        let matchers = config
            .origins
            .iter()
            .filter_map(|origin| {
                if origin == "*" {
                    return Some(OriginMatcher::Any);
                }
                if maybe_regex(origin) {
                    // Kong anchors at the start and appends `$` (0.x regexes were unanchored).
                    let mut pattern = origin.strip_prefix('^').unwrap_or(origin).to_owned();
                    if !pattern.ends_with('$') {
                        pattern.push('$');
                    }
                    let regex = Regex::new(&format!("^(?:{pattern})")).ok()?;
                    Some(OriginMatcher::Pattern {
                        regex,
                        by_host: !origin.contains(':'),
                    })
                } else {
                    Some(OriginMatcher::Exact(normalize_origin(origin).domain))
                }
            })
            .collect();
        let join = |values: &[String]| -> Option<HeaderValue> {
            (!values.is_empty())
                .then(|| header_value(&values.join(",")))
                .flatten()
        };
        Self {
            allow_all,
            single,
            matchers,
            credentials: config.credentials,
            preflight_continue: config.preflight_continue,
            private_network: config.private_network,
            allow_origin_absent: config.allow_origin_absent,
            methods: header_value(&config.methods.join(","))
                .unwrap_or_else(|| HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE")),
            headers: join(&config.headers),
            exposed_headers: join(&config.exposed_headers),
            max_age: config.max_age.map(HeaderValue::from),
        }
    }

    /// Kong's `configure_origin`: returns whether every origin is allowed.
    fn configure_origin(
        &self,
        origin: Option<&str>,
        in_header_filter: bool,
        effects: &mut Effects,
    ) -> bool {
        if self.allow_all {
            effects.set_response_header(ALLOW_ORIGIN, HeaderValue::from_static("*"));
            return true;
        }
        add_vary(in_header_filter, effects);
        if let Some(single) = &self.single {
            effects.set_response_header(ALLOW_ORIGIN, single.clone());
            return false;
        }
        if let Some(origin) = origin {
            let normalized = normalize_origin(origin);
            for matcher in &self.matchers {
                let found = match matcher {
                    OriginMatcher::Any => {
                        effects.set_response_header(ALLOW_ORIGIN, HeaderValue::from_static("*"));
                        return true;
                    }
                    OriginMatcher::Exact(domain) => *domain == normalized.domain,
                    OriginMatcher::Pattern { regex, by_host } => regex.is_match(if *by_host {
                        normalized.host
                    } else {
                        &normalized.domain
                    }),
                };
                if found {
                    if let Some(value) = header_value(&normalized.domain) {
                        effects.set_response_header(ALLOW_ORIGIN, value);
                    }
                    return false;
                }
            }
        }
        effects.remove_response_header(ALLOW_ORIGIN);
        false
    }

    /// Kong's `configure_credentials`: `Access-Control-Allow-Credentials` (never with origin `*`).
    fn configure_credentials(
        &self,
        origin: Option<&str>,
        allow_all: bool,
        in_header_filter: bool,
        effects: &mut Effects,
    ) {
        if !self.credentials {
            return;
        }
        if !allow_all {
            effects.set_response_header(ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
            return;
        }
        if let Some(value) = origin.and_then(header_value) {
            add_vary(in_header_filter, effects);
            effects.set_response_header(ALLOW_ORIGIN, value);
            effects.set_response_header(ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        }
    }
}

/// `Vary: Origin`: added to an upstream's `Vary`, set on a preflight.
fn add_vary(in_header_filter: bool, effects: &mut Effects) {
    let origin = HeaderValue::from_static("Origin");
    if in_header_filter {
        effects.append_response_header(header::VARY, origin);
    } else {
        effects.set_response_header(header::VARY, origin);
    }
}

/// Kong's test for "this origin might be a regex": any character outside `[A-Za-z0-9.:/-]`.
fn maybe_regex(origin: &str) -> bool {
    !origin
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".:/-".contains(&b))
}

/// An origin as Kong compares it.
struct NormalizedOrigin<'a> {
    /// `scheme://host[:port]`, the port dropped when it is the scheme's default.
    domain: String,
    /// The host alone.
    host: &'a str,
}

/// Kong's `normalize_origin`: `scheme://host[:port]` without default ports; text that does not
/// parse as a URL with a host is kept whole.
fn normalize_origin(origin: &str) -> NormalizedOrigin<'_> {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return NormalizedOrigin {
            domain: origin.to_owned(),
            host: origin,
        };
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (host, Some(port))
        }
        _ => (authority, None),
    };
    if host.is_empty() {
        return NormalizedOrigin {
            domain: origin.to_owned(),
            host: origin,
        };
    }
    let port = port.filter(|port| !matches!((scheme, *port), ("http", "80") | ("https", "443")));
    let domain = match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    };
    NormalizedOrigin { domain, host }
}

#[cfg(test)]
mod tests {
    use crate::plugins::test_header;

    use super::*;

    fn config(origins: &[&str]) -> CorsConfig {
        CorsConfig {
            origins: origins.iter().map(|o| (*o).to_owned()).collect(),
            methods: ["GET", "POST"].iter().map(|m| (*m).to_owned()).collect(),
            headers: Vec::new(),
            exposed_headers: Vec::new(),
            credentials: false,
            max_age: None,
            preflight_continue: false,
            private_network: false,
            allow_origin_absent: true,
        }
    }

    fn run(cors: &Cors, method: &str, headers: &[(&'static str, &str)]) -> (Flow, Effects) {
        let header = test_header(method, "/", headers);
        let request = AccessRequest::for_test(&header, None);
        let mut effects = Effects::default();
        let flow = cors.access_now(&request, &mut effects);
        (flow, effects)
    }

    #[test]
    fn preflight_is_answered_200_with_the_allow_headers() {
        let mut config = config(&["http://a.example"]);
        config.max_age = Some(3600);
        config.credentials = true;
        let cors = Cors::new(config);
        let (flow, effects) = run(
            &cors,
            "OPTIONS",
            &[
                ("origin", "http://a.example"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "x-custom"),
            ],
        );
        let Flow::Respond(response) = flow else {
            panic!("a preflight is answered")
        };
        assert_eq!(response.status, 200);
        assert!(response.body.is_empty());
        let header = |name| effects.response_header(name).unwrap().to_str().unwrap();
        assert_eq!(header("access-control-allow-origin"), "http://a.example");
        assert_eq!(header("access-control-allow-methods"), "GET,POST");
        assert_eq!(header("access-control-allow-headers"), "x-custom");
        assert_eq!(header("access-control-max-age"), "3600");
        assert_eq!(header("access-control-allow-credentials"), "true");
        assert_eq!(header("vary"), "Origin");
    }

    #[test]
    fn preflight_continue_lets_the_preflight_through_untouched() {
        let mut config = config(&[]);
        config.preflight_continue = true;
        let (flow, effects) = run(
            &Cors::new(config),
            "OPTIONS",
            &[
                ("origin", "http://a.example"),
                ("access-control-request-method", "GET"),
            ],
        );
        assert!(matches!(flow, Flow::Continue));
        assert!(effects.response_headers().is_empty());
    }

    #[test]
    fn origins_match_exactly_by_regex_or_not_at_all() {
        let cors = Cors::new(config(&["http://a.example:80", r"(.*\.)?b\.example"]));
        for (origin, expected) in [
            ("http://a.example", Some("http://a.example")),
            ("http://a.example:8080", None),
            ("https://x.b.example", Some("https://x.b.example")),
            ("https://b.example:8443", Some("https://b.example:8443")),
            ("https://b.example.evil", None),
        ] {
            let (flow, effects) = run(&cors, "GET", &[("origin", origin)]);
            assert!(matches!(flow, Flow::Continue));
            assert_eq!(
                effects
                    .response_header("access-control-allow-origin")
                    .map(|v| v.to_str().unwrap()),
                expected,
                "{origin}"
            );
            assert_eq!(effects.response_header("vary").unwrap(), "Origin");
        }
    }

    #[test]
    fn no_origins_allow_all_and_credentials_echo_the_origin() {
        let mut config = config(&[]);
        config.credentials = true;
        config.exposed_headers = vec!["x-total".into(), "x-page".into()];
        let (_, effects) = run(&Cors::new(config), "GET", &[("origin", "http://c.example")]);
        let header = |name| effects.response_header(name).unwrap().to_str().unwrap();
        assert_eq!(header("access-control-allow-origin"), "http://c.example");
        assert_eq!(header("access-control-allow-credentials"), "true");
        assert_eq!(header("access-control-expose-headers"), "x-total,x-page");
    }

    #[test]
    fn origin_normalisation_drops_default_ports_only() {
        assert_eq!(
            normalize_origin("https://a.example:443").domain,
            "https://a.example"
        );
        assert_eq!(
            normalize_origin("http://a.example:8080/x").domain,
            "http://a.example:8080"
        );
        assert_eq!(normalize_origin("null").domain, "null");
        assert_eq!(normalize_origin("http://h.example:1").host, "h.example");
    }
}
