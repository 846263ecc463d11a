//! The request router: Kong 3.x (`traditional_compatible`) route matching.
//!
//! What lives here: [`RouteTable`], routes compiled once (regexes, host and header matchers), split
//! into one matcher per configured path and sorted by Kong's priority, then scanned linearly per
//! request by [`RouteTable::find`] without allocating. Kong's path handling around it
//! (normalisation before matching, the upstream path after it, escaping for the wire) is in
//! [`paths`].
//!
//! Matching rules (a route matches when every attribute it sets matches):
//! * paths: a prefix is a plain, case-sensitive string prefix (`/api` matches `/apiusers`); a
//!   regex is compiled as `^(?:pattern)` (anchored at the start only, Rust `regex` syntax).
//! * methods: exact, case-sensitive comparison (HTTP methods are case-sensitive and Kong compares
//!   them with `==`); configured methods are upper-cased at build time.
//! * hosts: compared ASCII case-insensitively (DNS names are case-insensitive); `*.example.com`
//!   is a suffix match on `.example.com`, `example.*` a prefix match on `example.`; a configured
//!   `host:port` also requires that port in the request's `Host` header.
//! * headers: for every configured name, some request value must equal one of the configured
//!   values (ASCII case-insensitively) or match one of the `~*` regexes (case-insensitive,
//!   unanchored, as Kong's `any(lower(http.headers.x)) ~ "…"`).
//!
//! Priority among matching routes (highest first): more attribute kinds set; hosts set and none
//! wildcarded; more headers; regex path over prefix path; higher `regex_priority` (regex paths
//! only); longer prefix. Remaining ties go to the earlier route (then the earlier path), which is
//! deterministic where Kong's own tie-break (route UUID) is arbitrary.

use std::fmt;

use http::{HeaderMap, HeaderName};

pub mod paths;

pub use paths::{escape_path, normalize_path, upstream_path};

/// How one configured path matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPattern {
    /// Plain string prefix of the normalised request path.
    Prefix(String),
    /// Regex (without the leading `~`), anchored at the start of the normalised request path.
    Regex(String),
}

/// Which of Kong's rules builds the upstream path (route field `path_handling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PathHandling {
    /// Kong's default `v0` rules (slash-aware joining).
    #[default]
    V0,
    /// Kong's deprecated `v1` rules (plain concatenation, dropping one doubled slash).
    V1,
}

/// One route as the router needs it (built by the config layer).
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// Configured paths; empty = any path.
    pub paths: Vec<PathPattern>,
    /// Accepted methods, upper-case; empty = any method.
    pub methods: Vec<String>,
    /// Accepted hosts: exact, `*.x` or `x.*`, optional `:port`; empty = any host.
    pub hosts: Vec<String>,
    /// Lower-case header name -> accepted values; a value starting with `~*` is a
    /// case-insensitive regex. Empty = no header condition.
    pub headers: Vec<(String, Vec<String>)>,
    /// Kong's `regex_priority`; only ranks regex paths.
    pub regex_priority: i64,
}

/// A route that matched a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteMatch {
    /// Index of the matched route in the specs given to [`RouteTable::build`].
    pub route: usize,
    /// Bytes of the normalised path consumed by the matched prefix or regex match (0 when the
    /// route has no paths).
    pub matched_len: usize,
}

/// Why one route could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteBuildError {
    /// Index of the route in the specs given to [`RouteTable::build`].
    pub route: usize,
    /// Index of the offending entry: in `paths` for path errors, in `hosts` for host errors, in
    /// `headers` for header errors (the message names the attribute).
    pub path: usize,
    /// Human-readable description (e.g. the regex compiler's error).
    pub message: String,
}

impl fmt::Display for RouteBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "route #{} (entry #{}): {}",
            self.route, self.path, self.message
        )
    }
}

impl std::error::Error for RouteBuildError {}

/// How a compiled host pattern compares against the request host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HostKind {
    /// Whole host equal (ASCII case-insensitive).
    Exact,
    /// Host ends with the stored text (from `*.x`; stored text is `.x`).
    Suffix,
    /// Host starts with the stored text (from `x.*`; stored text is `x.`).
    Prefix,
}

/// One compiled entry of `hosts`.
#[derive(Debug, Clone)]
struct HostMatcher {
    kind: HostKind,
    /// Lower-cased host text without the `*`.
    text: Box<str>,
    /// Port the `Host` header must carry, if configured.
    port: Option<u16>,
}

impl HostMatcher {
    fn matches(&self, host: &str, port: Option<u16>) -> bool {
        if self.port.is_some() && self.port != port {
            return false;
        }
        let host = host.as_bytes();
        let text = self.text.as_bytes();
        match self.kind {
            HostKind::Exact => host.eq_ignore_ascii_case(text),
            HostKind::Suffix => host
                .len()
                .checked_sub(text.len())
                .and_then(|start| host.get(start..))
                .is_some_and(|tail| tail.eq_ignore_ascii_case(text)),
            HostKind::Prefix => host
                .get(..text.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(text)),
        }
    }
}

/// One compiled entry of `headers`.
#[derive(Debug, Clone)]
struct HeaderMatcher {
    name: HeaderName,
    /// Plain accepted values, lower-cased.
    values: Box<[Box<[u8]>]>,
    /// `~*` values, compiled case-insensitive and unanchored.
    regexes: Box<[regex::bytes::Regex]>,
}

impl HeaderMatcher {
    fn matches(&self, headers: &HeaderMap) -> bool {
        headers.get_all(&self.name).iter().any(|value| {
            let value = value.as_bytes();
            self.values.iter().any(|v| v.eq_ignore_ascii_case(value))
                || self.regexes.iter().any(|re| re.is_match(value))
        })
    }
}

/// The non-path attributes of one route, shared by all of its matchers.
#[derive(Debug, Clone)]
struct RouteConds {
    methods: Box<[Box<str>]>,
    hosts: Box<[HostMatcher]>,
    headers: Box<[HeaderMatcher]>,
}

impl RouteConds {
    fn matches(
        &self,
        method: &str,
        host: Option<(&str, Option<u16>)>,
        headers: &HeaderMap,
    ) -> bool {
        if !self.methods.is_empty() && !self.methods.iter().any(|m| **m == *method) {
            return false;
        }
        if !self.hosts.is_empty() {
            let Some((name, port)) = host else {
                return false;
            };
            if !self.hosts.iter().any(|h| h.matches(name, port)) {
                return false;
            }
        }
        self.headers.iter().all(|h| h.matches(headers))
    }
}

/// How one matcher tests the path.
#[derive(Debug, Clone)]
enum PathMatcher {
    /// The route has no paths.
    Any,
    /// Plain string prefix.
    Prefix(Box<str>),
    /// `^(?:pattern)`.
    Regex(regex::Regex),
}

/// Kong's priority, compared field by field (derived `Ord` follows field order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Priority {
    /// Number of attribute kinds set among methods, hosts, headers, paths.
    kinds: u8,
    /// Hosts set and none has a wildcard.
    plain_hosts: bool,
    /// Number of configured header names.
    headers: usize,
    /// The path is a regex.
    regex: bool,
    /// `regex_priority` for regex paths, 0 otherwise.
    regex_priority: i64,
    /// Prefix length for prefix paths, 0 otherwise.
    prefix_len: usize,
}

/// One (route, path) pair with its priority.
#[derive(Debug, Clone)]
struct Matcher {
    route: usize,
    path_index: usize,
    priority: Priority,
    path: PathMatcher,
}

/// Compiled routes, sorted by Kong's priority; cheap to share behind an `Arc`.
#[derive(Debug, Clone)]
pub struct RouteTable {
    /// Per-route conditions, indexed by route index.
    conds: Vec<RouteConds>,
    /// Matchers, highest priority first.
    matchers: Vec<Matcher>,
}

impl RouteTable {
    /// Compiles `specs` (route indices are positions in `specs`); returns every error found.
    pub fn build(specs: &[RouteSpec]) -> Result<RouteTable, Vec<RouteBuildError>> {
        let mut errors = Vec::new();
        let mut conds = Vec::with_capacity(specs.len());
        let mut matchers = Vec::new();
        for (route, spec) in specs.iter().enumerate() {
            let mut err = |path: usize, message: String| {
                errors.push(RouteBuildError {
                    route,
                    path,
                    message,
                })
            };
            conds.push(RouteConds::compile(spec, &mut err));
            path_matchers(route, spec, &mut matchers, &mut err);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        matchers.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then(a.route.cmp(&b.route))
                .then(a.path_index.cmp(&b.path_index))
        });
        Ok(RouteTable { conds, matchers })
    }

    /// Finds the highest-priority route matching the request.
    ///
    /// `path` is the already-normalised path without query; `host` the raw Host header (may carry
    /// `:port`); `headers` the request headers. Does not allocate.
    pub fn find(
        &self,
        method: &str,
        host: Option<&str>,
        path: &str,
        headers: &HeaderMap,
    ) -> Option<RouteMatch> {
        let host = host.map(split_host_port);
        for m in &self.matchers {
            // Cheap path tests first; the regex (the expensive one) runs last.
            let prefix_len = match &m.path {
                PathMatcher::Any | PathMatcher::Regex(_) => 0,
                PathMatcher::Prefix(p) if path.starts_with(&**p) => p.len(),
                PathMatcher::Prefix(_) => continue,
            };
            let conds = self
                .conds
                .get(m.route)
                .expect("BUG: matcher refers to a route that was not compiled");
            if !conds.matches(method, host, headers) {
                continue;
            }
            let matched_len = match &m.path {
                PathMatcher::Regex(re) => match re.find(path) {
                    Some(found) => found.end(),
                    None => continue,
                },
                PathMatcher::Any | PathMatcher::Prefix(_) => prefix_len,
            };
            return Some(RouteMatch {
                route: m.route,
                matched_len,
            });
        }
        None
    }

    #[cfg(test)]
    /// Number of routes in the table (the length of the specs given to [`RouteTable::build`]).
    pub fn len(&self) -> usize {
        self.conds.len()
    }

    #[cfg(test)]
    /// True when the table holds no routes.
    pub fn is_empty(&self) -> bool {
        self.conds.is_empty()
    }
}

impl RouteConds {
    /// Compiles the non-path attributes of `spec`; `err(index, message)` records a bad entry.
    fn compile(spec: &RouteSpec, err: &mut impl FnMut(usize, String)) -> Self {
        let methods = spec
            .methods
            .iter()
            .map(|m| m.to_ascii_uppercase().into_boxed_str())
            .collect();
        let mut hosts = Vec::with_capacity(spec.hosts.len());
        for (i, h) in spec.hosts.iter().enumerate() {
            match compile_host(h) {
                Ok(m) => hosts.push(m),
                Err(e) => err(i, format!("hosts: `{h}`: {e}")),
            }
        }
        let mut headers = Vec::with_capacity(spec.headers.len());
        for (i, (name, values)) in spec.headers.iter().enumerate() {
            match compile_header(name, values) {
                Ok(m) => headers.push(m),
                Err(e) => err(i, format!("headers: `{name}`: {e}")),
            }
        }
        Self {
            methods,
            hosts: hosts.into_boxed_slice(),
            headers: headers.into_boxed_slice(),
        }
    }
}

impl Priority {
    /// The priority of `spec`'s routes before their paths count.
    fn of(spec: &RouteSpec) -> Self {
        let plain_hosts = !spec.hosts.is_empty() && !spec.hosts.iter().any(|h| h.contains('*'));
        let kinds = [
            !spec.methods.is_empty(),
            !spec.hosts.is_empty(),
            !spec.headers.is_empty(),
            !spec.paths.is_empty(),
        ]
        .iter()
        .filter(|set| **set)
        .count() as u8;
        Self {
            kinds,
            plain_hosts,
            headers: spec.headers.len(),
            regex: false,
            regex_priority: 0,
            prefix_len: 0,
        }
    }
}

/// Adds one matcher per path of route `route` (one matching any path when it has none) to
/// `matchers`; `err(index, message)` records a bad regex.
fn path_matchers(
    route: usize,
    spec: &RouteSpec,
    matchers: &mut Vec<Matcher>,
    err: &mut impl FnMut(usize, String),
) {
    let base = Priority::of(spec);
    if spec.paths.is_empty() {
        matchers.push(Matcher {
            route,
            path_index: 0,
            priority: base,
            path: PathMatcher::Any,
        });
    }
    for (path_index, p) in spec.paths.iter().enumerate() {
        let (priority, path) = match p {
            PathPattern::Prefix(prefix) => (
                Priority {
                    prefix_len: prefix.len(),
                    ..base
                },
                PathMatcher::Prefix(prefix.as_str().into()),
            ),
            PathPattern::Regex(pattern) => match regex::Regex::new(&format!("^(?:{pattern})")) {
                Ok(re) => (
                    Priority {
                        regex: true,
                        regex_priority: spec.regex_priority,
                        ..base
                    },
                    PathMatcher::Regex(re),
                ),
                Err(e) => {
                    err(
                        path_index,
                        format!("paths: invalid regex `~{pattern}`: {e}"),
                    );
                    continue;
                }
            },
        };
        matchers.push(Matcher {
            route,
            path_index,
            priority,
            path,
        });
    }
}

/// Splits a `Host` value into name and port (`[v6]:port` understood). An empty or invalid port is
/// treated as absent.
fn split_host_port(raw: &str) -> (&str, Option<u16>) {
    if raw.starts_with('[') {
        return match raw.find(']') {
            Some(end) => {
                let (name, rest) = raw.split_at(end + 1);
                (name, rest.strip_prefix(':').and_then(|p| p.parse().ok()))
            }
            None => (raw, None),
        };
    }
    match raw.split_once(':') {
        Some((name, port)) => (name, port.parse().ok()),
        None => (raw, None),
    }
}

/// Compiles one configured host (`x`, `*.x`, `x.*`, each optionally with `:port`).
fn compile_host(raw: &str) -> Result<HostMatcher, String> {
    let (name, port) = if raw.starts_with('[') {
        match raw.find(']') {
            Some(end) => raw.split_at(end + 1),
            None => return Err("unterminated IPv6 literal".to_owned()),
        }
    } else {
        match raw.find(':') {
            Some(colon) => raw.split_at(colon),
            None => (raw, ""),
        }
    };
    let port = match port.strip_prefix(':') {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("invalid port `{p}`")),
        },
    };
    if name.is_empty() {
        return Err("empty host".to_owned());
    }
    let lower = name.to_ascii_lowercase();
    let (kind, text) = match lower.matches('*').count() {
        0 => (HostKind::Exact, lower.as_str()),
        1 => {
            if let Some(rest) = lower.strip_prefix('*').filter(|r| r.starts_with('.')) {
                (HostKind::Suffix, rest)
            } else if let Some(rest) = lower.strip_suffix('*').filter(|r| r.ends_with('.')) {
                (HostKind::Prefix, rest)
            } else {
                return Err("a wildcard must be the whole leftmost or rightmost label".to_owned());
            }
        }
        _ => return Err("at most one wildcard is allowed".to_owned()),
    };
    if text.len() < 2 {
        return Err("wildcard host has no fixed part".to_owned());
    }
    Ok(HostMatcher {
        kind,
        text: text.into(),
        port,
    })
}

/// Compiles one configured header condition.
fn compile_header(name: &str, values: &[String]) -> Result<HeaderMatcher, String> {
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("invalid name: {e}"))?;
    if values.is_empty() {
        return Err("no accepted values".to_owned());
    }
    let mut plain = Vec::new();
    let mut regexes = Vec::new();
    for v in values {
        match v.strip_prefix("~*") {
            Some(pattern) => {
                let re = regex::bytes::RegexBuilder::new(pattern)
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| format!("invalid regex `{v}`: {e}"))?;
                regexes.push(re);
            }
            None => plain.push(v.to_ascii_lowercase().into_bytes().into_boxed_slice()),
        }
    }
    Ok(HeaderMatcher {
        name,
        values: plain.into_boxed_slice(),
        regexes: regexes.into_boxed_slice(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn route() -> RouteSpec {
        RouteSpec {
            paths: Vec::new(),
            methods: Vec::new(),
            hosts: Vec::new(),
            headers: Vec::new(),
            regex_priority: 0,
        }
    }

    fn prefix(p: &str) -> PathPattern {
        PathPattern::Prefix(p.to_owned())
    }

    fn regex(p: &str) -> PathPattern {
        PathPattern::Regex(p.to_owned())
    }

    fn with_paths(paths: Vec<PathPattern>) -> RouteSpec {
        RouteSpec { paths, ..route() }
    }

    fn header_map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("test header name");
            map.append(
                name,
                HeaderValue::from_str(value).expect("test header value"),
            );
        }
        map
    }

    fn table(specs: &[RouteSpec]) -> RouteTable {
        match RouteTable::build(specs) {
            Ok(t) => t,
            Err(e) => panic!("build failed: {e:?}"),
        }
    }

    /// One request against a table: (case, method, host, path, headers, expected (route, len)).
    type FindCase<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        &'a str,
        &'a [(&'a str, &'a str)],
        Option<(usize, usize)>,
    );

    /// (case, configured values for `x-version`, request headers, expected to match).
    type HeaderCase<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)], bool);

    fn check_find(t: &RouteTable, cases: &[FindCase<'_>]) {
        for (case, method, host, path, headers, expected) in cases {
            let got = t
                .find(method, *host, path, &header_map(headers))
                .map(|m| (m.route, m.matched_len));
            assert_eq!(got, *expected, "case `{case}`");
        }
    }

    #[test]
    fn gomicro_layout_strips_the_service_prefix() {
        let specs = [
            with_paths(vec![prefix("/auth")]),
            with_paths(vec![prefix("/blog")]),
        ];
        let t = table(&specs);
        let cases: &[(&str, usize, &str)] = &[
            ("/auth/signin/basic", 0, "/signin/basic"),
            ("/blog/list/latest", 1, "/list/latest"),
            ("/auth", 0, "/"),
            ("/auth/../blog/x", 1, "/x"),
        ];
        for (raw, route, expected) in cases {
            let path = normalize_path(raw);
            let m = t
                .find("GET", Some("localhost:8000"), &path, &HeaderMap::new())
                .unwrap_or_else(|| panic!("case `{raw}`: no route matched"));
            assert_eq!(m.route, *route, "case `{raw}`: route");
            // Both routes strip their prefix, with Kong's default path handling.
            let got = upstream_path(None, &path, true, m.matched_len, PathHandling::V0);
            assert_eq!(got, *expected, "case `{raw}`: upstream path");
        }
    }

    #[test]
    fn longest_prefix_wins_when_two_prefixes_match() {
        let t = table(&[
            with_paths(vec![prefix("/api")]),
            with_paths(vec![prefix("/api/users")]),
            with_paths(vec![prefix("/")]),
        ]);
        check_find(
            &t,
            &[
                (
                    "longer prefix",
                    "GET",
                    None,
                    "/api/users/1",
                    &[],
                    Some((1, 10)),
                ),
                (
                    "shorter prefix",
                    "GET",
                    None,
                    "/api/orders",
                    &[],
                    Some((0, 4)),
                ),
                ("root catch-all", "GET", None, "/other", &[], Some((2, 1))),
            ],
        );
    }

    #[test]
    fn prefix_match_is_a_plain_string_prefix() {
        let t = table(&[with_paths(vec![prefix("/api")])]);
        check_find(
            &t,
            &[
                (
                    "not segment-aware",
                    "GET",
                    None,
                    "/apiusers",
                    &[],
                    Some((0, 4)),
                ),
                ("exact", "GET", None, "/api", &[], Some((0, 4))),
                ("case-sensitive", "GET", None, "/API", &[], None),
                ("shorter path", "GET", None, "/ap", &[], None),
            ],
        );
    }

    #[test]
    fn regex_path_outranks_prefix_path() {
        let t = table(&[
            with_paths(vec![prefix("/users")]),
            with_paths(vec![regex(r"/users/\d+")]),
        ]);
        check_find(
            &t,
            &[
                (
                    "both match, regex wins",
                    "GET",
                    None,
                    "/users/42/x",
                    &[],
                    Some((1, 9)),
                ),
                ("only prefix", "GET", None, "/users/me", &[], Some((0, 6))),
                ("neither", "GET", None, "/other", &[], None),
            ],
        );
    }

    #[test]
    fn higher_regex_priority_wins_among_regex_paths() {
        let t = table(&[
            RouteSpec {
                regex_priority: 1,
                ..with_paths(vec![regex(r"/items/\d+")])
            },
            RouteSpec {
                regex_priority: 5,
                ..with_paths(vec![regex(r"/items/4")])
            },
            RouteSpec {
                regex_priority: -3,
                ..with_paths(vec![regex(r"/")])
            },
        ]);
        check_find(
            &t,
            &[
                (
                    "priority 5 beats 1 and -3",
                    "GET",
                    None,
                    "/items/42",
                    &[],
                    Some((1, 8)),
                ),
                (
                    "priority 1 beats -3",
                    "GET",
                    None,
                    "/items/7",
                    &[],
                    Some((0, 8)),
                ),
                ("only lowest matches", "GET", None, "/x", &[], Some((2, 1))),
            ],
        );
    }

    #[test]
    fn regex_priority_is_ignored_for_prefix_paths() {
        let t = table(&[
            RouteSpec {
                regex_priority: 100,
                ..with_paths(vec![prefix("/a")])
            },
            with_paths(vec![prefix("/ab")]),
        ]);
        check_find(
            &t,
            &[(
                "longest prefix still wins",
                "GET",
                None,
                "/abc",
                &[],
                Some((1, 3)),
            )],
        );
    }

    #[test]
    fn regex_is_anchored_at_the_start_only() {
        let t = table(&[with_paths(vec![regex(r"/api/\d+|/v2")])]);
        check_find(
            &t,
            &[
                (
                    "match with trailing text",
                    "GET",
                    None,
                    "/api/12/x",
                    &[],
                    Some((0, 7)),
                ),
                ("not at start", "GET", None, "/x/api/12", &[], None),
                ("alternation is grouped", "GET", None, "/x/v2", &[], None),
                (
                    "second alternative",
                    "GET",
                    None,
                    "/v2/a",
                    &[],
                    Some((0, 3)),
                ),
            ],
        );
    }

    #[test]
    fn hosts_match_exactly_by_wildcard_and_by_port() {
        // (case, configured hosts, request Host, matches)
        let cases: &[(&str, &[&str], Option<&str>, bool)] = &[
            ("exact", &["example.com"], Some("example.com"), true),
            (
                "exact ignores case",
                &["Example.COM"],
                Some("EXAMPLE.com"),
                true,
            ),
            (
                "exact with any port",
                &["example.com"],
                Some("example.com:8080"),
                true,
            ),
            (
                "exact differs",
                &["example.com"],
                Some("example.org"),
                false,
            ),
            ("no host header", &["example.com"], None, false),
            (
                "suffix wildcard",
                &["*.example.com"],
                Some("api.example.com"),
                true,
            ),
            (
                "suffix wildcard deep",
                &["*.example.com"],
                Some("a.b.example.com:81"),
                true,
            ),
            (
                "suffix wildcard needs a label",
                &["*.example.com"],
                Some("example.com"),
                false,
            ),
            ("prefix wildcard", &["example.*"], Some("example.org"), true),
            (
                "prefix wildcard mismatch",
                &["example.*"],
                Some("examples.org"),
                false,
            ),
            (
                "port required",
                &["example.com:8000"],
                Some("example.com:8000"),
                true,
            ),
            (
                "port differs",
                &["example.com:8000"],
                Some("example.com:9000"),
                false,
            ),
            (
                "port absent",
                &["example.com:8000"],
                Some("example.com"),
                false,
            ),
            (
                "wildcard with port",
                &["*.example.com:8000"],
                Some("a.example.com:8000"),
                true,
            ),
            ("ipv6 with port", &["[::1]:8000"], Some("[::1]:8000"), true),
            ("second host", &["a.com", "b.com"], Some("b.com"), true),
        ];
        for (case, hosts, host, expected) in cases {
            let spec = RouteSpec {
                hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
                ..route()
            };
            let t = table(&[spec]);
            let got = t.find("GET", *host, "/", &HeaderMap::new()).is_some();
            assert_eq!(got, *expected, "case `{case}`");
        }
    }

    #[test]
    fn plain_hosts_outrank_wildcard_hosts() {
        let t = table(&[
            RouteSpec {
                hosts: vec!["*.example.com".to_owned()],
                ..route()
            },
            RouteSpec {
                hosts: vec!["api.example.com".to_owned()],
                ..route()
            },
        ]);
        check_find(
            &t,
            &[
                (
                    "plain host wins",
                    "GET",
                    Some("api.example.com"),
                    "/",
                    &[],
                    Some((1, 0)),
                ),
                (
                    "wildcard only",
                    "GET",
                    Some("web.example.com"),
                    "/",
                    &[],
                    Some((0, 0)),
                ),
            ],
        );
    }

    #[test]
    fn methods_restrict_matching() {
        let t = table(&[
            RouteSpec {
                methods: vec!["POST".to_owned(), "PUT".to_owned()],
                ..with_paths(vec![prefix("/items")])
            },
            with_paths(vec![prefix("/items")]),
        ]);
        check_find(
            &t,
            &[
                (
                    "post goes to method route",
                    "POST",
                    None,
                    "/items",
                    &[],
                    Some((0, 6)),
                ),
                (
                    "put goes to method route",
                    "PUT",
                    None,
                    "/items/1",
                    &[],
                    Some((0, 6)),
                ),
                ("get falls back", "GET", None, "/items", &[], Some((1, 6))),
                (
                    "methods are case-sensitive",
                    "post",
                    None,
                    "/items",
                    &[],
                    Some((1, 6)),
                ),
            ],
        );
    }

    #[test]
    fn headers_match_plain_values_case_insensitively_and_by_regex() {
        // (case, configured values for `x-version`, request headers, matches)
        let cases: &[HeaderCase<'_>] = &[
            ("plain equal", &["v1"], &[("x-version", "v1")], true),
            ("plain ignores case", &["V1"], &[("X-Version", "v1")], true),
            ("plain differs", &["v1"], &[("x-version", "v2")], false),
            ("header missing", &["v1"], &[("x-other", "v1")], false),
            (
                "any configured value",
                &["v1", "v2"],
                &[("x-version", "v2")],
                true,
            ),
            (
                "any request value",
                &["v2"],
                &[("x-version", "v1"), ("x-version", "V2")],
                true,
            ),
            (
                "regex",
                &["~*^beta-\\d+$"],
                &[("x-version", "BETA-7")],
                true,
            ),
            (
                "regex unanchored",
                &["~*eta"],
                &[("x-version", "beta")],
                true,
            ),
            (
                "regex mismatch",
                &["~*^beta$"],
                &[("x-version", "alpha")],
                false,
            ),
            (
                "plain is not a substring",
                &["v1"],
                &[("x-version", "v10")],
                false,
            ),
        ];
        for (case, values, headers, expected) in cases {
            let spec = RouteSpec {
                headers: vec![(
                    "x-version".to_owned(),
                    values.iter().map(|v| (*v).to_owned()).collect(),
                )],
                ..route()
            };
            let t = table(&[spec]);
            let got = t.find("GET", None, "/", &header_map(headers)).is_some();
            assert_eq!(got, *expected, "case `{case}`");
        }
    }

    #[test]
    fn more_headers_outrank_fewer_headers() {
        let h = |pairs: &[(&str, &str)]| -> Vec<(String, Vec<String>)> {
            pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), vec![(*v).to_owned()]))
                .collect()
        };
        let t = table(&[
            RouteSpec {
                headers: h(&[("x-a", "1")]),
                ..route()
            },
            RouteSpec {
                headers: h(&[("x-a", "1"), ("x-b", "2")]),
                ..route()
            },
        ]);
        check_find(
            &t,
            &[
                (
                    "both headers",
                    "GET",
                    None,
                    "/",
                    &[("x-a", "1"), ("x-b", "2")],
                    Some((1, 0)),
                ),
                (
                    "one header",
                    "GET",
                    None,
                    "/",
                    &[("x-a", "1")],
                    Some((0, 0)),
                ),
            ],
        );
    }

    #[test]
    fn more_attribute_kinds_outrank_every_other_rule() {
        let t = table(&[
            with_paths(vec![regex("/api/v1/users")]),
            RouteSpec {
                methods: vec!["GET".to_owned()],
                ..with_paths(vec![prefix("/api")])
            },
            RouteSpec {
                hosts: vec!["*.example.com".to_owned()],
                methods: vec!["GET".to_owned()],
                ..with_paths(vec![prefix("/")])
            },
        ]);
        check_find(
            &t,
            &[
                (
                    "three kinds",
                    "GET",
                    Some("a.example.com"),
                    "/api/v1/users",
                    &[],
                    Some((2, 1)),
                ),
                (
                    "two kinds beat regex",
                    "GET",
                    Some("other"),
                    "/api/v1/users",
                    &[],
                    Some((1, 4)),
                ),
                (
                    "regex alone",
                    "POST",
                    Some("other"),
                    "/api/v1/users",
                    &[],
                    Some((0, 13)),
                ),
            ],
        );
    }

    #[test]
    fn plain_hosts_break_ties_between_equal_kind_counts() {
        // Kong counts attribute kinds; which kinds does not matter.
        let t = table(&[
            RouteSpec {
                hosts: vec!["example.com".to_owned()],
                ..route()
            },
            with_paths(vec![prefix("/api")]),
        ]);
        check_find(
            &t,
            &[(
                "equal kinds, plain host wins",
                "GET",
                Some("example.com"),
                "/api",
                &[],
                Some((0, 0)),
            )],
        );
    }

    #[test]
    fn ties_go_to_the_earlier_route() {
        let t = table(&[
            with_paths(vec![prefix("/same")]),
            with_paths(vec![prefix("/same")]),
            with_paths(vec![regex("/r")]),
            with_paths(vec![regex("/r.*")]),
        ]);
        check_find(
            &t,
            &[
                ("equal prefixes", "GET", None, "/same/x", &[], Some((0, 5))),
                ("equal regex rank", "GET", None, "/rx", &[], Some((2, 2))),
            ],
        );
    }

    #[test]
    fn no_match_returns_none() {
        let t = table(&[
            with_paths(vec![prefix("/a")]),
            RouteSpec {
                methods: vec!["GET".to_owned()],
                ..route()
            },
        ]);
        check_find(
            &t,
            &[
                ("wrong path and method", "POST", None, "/b", &[], None),
                ("empty path", "POST", None, "", &[], None),
            ],
        );
        let empty = table(&[]);
        check_find(&empty, &[("empty table", "GET", None, "/", &[], None)]);
    }

    #[test]
    fn route_without_paths_matches_any_path_with_zero_matched_len() {
        let t = table(&[RouteSpec {
            hosts: vec!["example.com".to_owned()],
            ..route()
        }]);
        check_find(
            &t,
            &[
                ("root", "GET", Some("example.com"), "/", &[], Some((0, 0))),
                (
                    "deep path",
                    "DELETE",
                    Some("example.com"),
                    "/x/y/z",
                    &[],
                    Some((0, 0)),
                ),
            ],
        );
    }

    #[test]
    fn a_route_with_several_paths_gives_each_path_its_own_priority() {
        let t = table(&[
            with_paths(vec![prefix("/a"), prefix("/abc/def"), regex("/z+")]),
            with_paths(vec![prefix("/abc")]),
            with_paths(vec![regex("/zz")]),
        ]);
        check_find(
            &t,
            &[
                (
                    "long prefix of route 0 beats route 1",
                    "GET",
                    None,
                    "/abc/def/x",
                    &[],
                    Some((0, 8)),
                ),
                (
                    "route 1 beats short prefix of route 0",
                    "GET",
                    None,
                    "/abc/x",
                    &[],
                    Some((1, 4)),
                ),
                (
                    "short prefix of route 0",
                    "GET",
                    None,
                    "/ax",
                    &[],
                    Some((0, 2)),
                ),
                (
                    "regex of route 0 ties, earlier route",
                    "GET",
                    None,
                    "/zzz",
                    &[],
                    Some((0, 4)),
                ),
            ],
        );
    }

    #[test]
    fn build_collects_every_error() {
        let specs = [
            with_paths(vec![prefix("/ok"), regex("/(unclosed")]),
            RouteSpec {
                headers: vec![("x-a".to_owned(), vec!["~*[".to_owned()])],
                ..route()
            },
            RouteSpec {
                hosts: vec!["a.*.com".to_owned(), "ok.com:99999".to_owned()],
                ..route()
            },
            with_paths(vec![regex("/fine"), regex("/also(bad")]),
        ];
        let errors = match RouteTable::build(&specs) {
            Ok(_) => panic!("build should fail"),
            Err(e) => e,
        };
        let got: Vec<(usize, usize)> = errors.iter().map(|e| (e.route, e.path)).collect();
        assert_eq!(
            got,
            vec![(0, 1), (1, 0), (2, 0), (2, 1), (3, 1)],
            "errors: {errors:?}"
        );
        assert!(
            errors[0].message.contains("regex"),
            "message: {}",
            errors[0].message
        );
    }

    #[test]
    fn len_and_is_empty_count_routes_not_matchers() {
        let t = table(&[with_paths(vec![prefix("/a"), prefix("/b")]), route()]);
        assert_eq!(t.len(), 2, "two routes");
        assert!(!t.is_empty(), "non-empty table");
        let empty = table(&[]);
        assert_eq!(empty.len(), 0, "empty table length");
        assert!(empty.is_empty(), "empty table");
    }
}
