//! The request router: Kong 3.x (`traditional_compatible`) route matching, plus the path helpers
//! that go with it.
//!
//! What lives here:
//! * [`RouteTable`]: routes compiled once (regexes, host and header matchers), split into one
//!   matcher per configured path and sorted by Kong's priority, then scanned linearly per request
//!   by [`RouteTable::find`] without allocating.
//! * [`normalize_path`]: Kong's request-path normalisation (`kong/tools/uri.lua`), applied before
//!   matching.
//! * [`upstream_path`]: the upstream path built from the service path and the (stripped) request
//!   path with Kong's `v0` / `v1` rules (`kong/router/utils.lua`, `traditional.lua`).
//! * [`escape_path`]: re-escaping of a normalised path for the wire (`kong.tools.uri.escape`).
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

use std::borrow::Cow;
use std::fmt;

use http::{HeaderMap, HeaderName};

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
    /// Kong's `strip_path`; not used for matching, carried for the caller.
    pub strip_path: bool,
    /// Kong's `path_handling`; not used for matching, carried for the caller.
    pub path_handling: PathHandling,
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
            let base = Priority {
                kinds,
                plain_hosts,
                headers: spec.headers.len(),
                regex: false,
                regex_priority: 0,
                prefix_len: 0,
            };

            if spec.paths.is_empty() {
                matchers.push(Matcher {
                    route,
                    path_index: 0,
                    priority: base,
                    path: PathMatcher::Any,
                });
            }
            for (path_index, p) in spec.paths.iter().enumerate() {
                match p {
                    PathPattern::Prefix(prefix) => matchers.push(Matcher {
                        route,
                        path_index,
                        priority: Priority {
                            prefix_len: prefix.len(),
                            ..base
                        },
                        path: PathMatcher::Prefix(prefix.as_str().into()),
                    }),
                    PathPattern::Regex(pattern) => {
                        match regex::Regex::new(&format!("^(?:{pattern})")) {
                            Ok(re) => matchers.push(Matcher {
                                route,
                                path_index,
                                priority: Priority {
                                    regex: true,
                                    regex_priority: spec.regex_priority,
                                    ..base
                                },
                                path: PathMatcher::Regex(re),
                            }),
                            Err(e) => err(
                                path_index,
                                format!("paths: invalid regex `~{pattern}`: {e}"),
                            ),
                        }
                    }
                }
            }

            conds.push(RouteConds {
                methods,
                hosts: hosts.into_boxed_slice(),
                headers: headers.into_boxed_slice(),
            });
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

    /// Number of routes in the table (the length of the specs given to [`RouteTable::build`]).
    pub fn len(&self) -> usize {
        self.conds.len()
    }

    /// True when the table holds no routes.
    pub fn is_empty(&self) -> bool {
        self.conds.is_empty()
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

/// Kong's reserved characters: kept percent-encoded by [`normalize_path`].
fn is_reserved(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'*'
            | b'\''
            | b'('
            | b')'
            | b';'
            | b':'
            | b'@'
            | b'&'
            | b'='
            | b'+'
            | b'$'
            | b','
            | b'/'
            | b'?'
            | b'%'
            | b'#'
            | b'['
            | b']'
    )
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The `%XX` triplet at `i`, if any: (decoded byte, the hex digits were upper-case or numeric).
fn triplet_at(bytes: &[u8], i: usize) -> Option<(u8, bool)> {
    match bytes.get(i..i + 3) {
        Some(&[b'%', h, l]) => {
            let v = (hex_val(h)? << 4) | hex_val(l)?;
            Some((v, !h.is_ascii_lowercase() && !l.is_ascii_lowercase()))
        }
        _ => None,
    }
}

/// True when percent-decoding would change `bytes`.
fn needs_decoding(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'%' && triplet_at(bytes, i).is_some_and(|(v, upper)| !is_reserved(v) || !upper)
    })
}

/// Decodes `%XX` triplets except reserved characters (whose hex is upper-cased). Bytes >= 0x80
/// are decoded only when the whole result is valid UTF-8; otherwise they stay encoded.
fn percent_decode(raw: &str) -> String {
    let decode = |non_ascii: bool| -> Vec<u8> {
        let bytes = raw.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if let Some((v, _)) = triplet_at(bytes, i).filter(|_| b == b'%') {
                if is_reserved(v) || (!non_ascii && !v.is_ascii()) {
                    out.push(b'%');
                    out.extend_from_slice(&hex_upper(v));
                } else {
                    out.push(v);
                }
                i += 3;
            } else {
                out.push(b);
                i += 1;
            }
        }
        out
    };
    match String::from_utf8(decode(true)) {
        Ok(s) => s,
        Err(_) => String::from_utf8(decode(false))
            .expect("BUG: decoding only ASCII triplets of a str yields valid UTF-8"),
    }
}

fn hex_upper(v: u8) -> [u8; 2] {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    [HEX[usize::from(v >> 4)], HEX[usize::from(v & 0xF)]]
}

/// True when dot-segment removal or slash merging would change `s`.
fn needs_dot_work(s: &str) -> bool {
    // One pass over the bytes: this runs for every request.
    let bytes = s.as_bytes();
    let is_dots = |segment: &[u8]| segment == b"." || segment == b"..";
    let mut segment_start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        if byte == b'/' {
            if is_dots(&bytes[segment_start..index]) || index > 0 && bytes[index - 1] == b'/' {
                return true;
            }
            segment_start = index + 1;
        }
    }
    is_dots(&bytes[segment_start..])
}

/// Kong's dot-segment removal with `//` merging (`kong/tools/uri.lua` `normalize`).
fn remove_dot_segments(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    // Start offsets in `out` of the segments written so far (for `..`).
    let mut starts: Vec<usize> = Vec::new();
    fn pop(out: &mut String, starts: &mut Vec<usize>) {
        if let Some(start) = starts.pop() {
            out.truncate(start);
        }
    }
    let mut uri = input;
    while !uri.is_empty() {
        if uri == "/." {
            uri = "/";
        } else if uri == "/.." {
            uri = "/";
            pop(&mut out, &mut starts);
        } else if uri == "." || uri == ".." {
            uri = "";
        } else if let Some(rest) = uri.strip_prefix("../") {
            uri = rest;
        } else if let Some(rest) = uri.strip_prefix("./") {
            uri = rest;
        } else if uri.starts_with("/./") {
            uri = &uri[2..];
        } else if uri.starts_with("/../") {
            uri = &uri[3..];
            pop(&mut out, &mut starts);
        } else if uri.starts_with("//") {
            uri = &uri[1..];
        } else {
            let end = uri
                .bytes()
                .skip(1)
                .position(|b| b == b'/')
                .map_or(uri.len(), |i| i + 1);
            let (seg, rest) = uri.split_at(end);
            starts.push(out.len());
            out.push_str(seg);
            uri = rest;
        }
    }
    out
}

/// Kong's path normalisation (percent-decode everything except reserved chars `!*'();:@&=+$,/?%#[]`,
/// remove dot segments, merge `//`). Returns Borrowed when nothing changes (the common case must not allocate).
///
/// Reserved triplets keep their encoding with upper-case hex (`%2f` → `%2F`). Decoded bytes that
/// would not form valid UTF-8 stay percent-encoded. A `..` above the root is dropped (`/..` → `/`).
pub fn normalize_path(raw: &str) -> Cow<'_, str> {
    let decode = needs_decoding(raw.as_bytes());
    if !decode && !needs_dot_work(raw) {
        return Cow::Borrowed(raw);
    }
    let decoded: Cow<'_, str> = if decode {
        Cow::Owned(percent_decode(raw))
    } else {
        Cow::Borrowed(raw)
    };
    let out = if needs_dot_work(&decoded) {
        remove_dot_segments(&decoded)
    } else {
        decoded.into_owned()
    };
    if out == raw {
        Cow::Borrowed(raw)
    } else {
        Cow::Owned(out)
    }
}

/// Kong's `sanitize_uri_postfix`: `.`/`..` become empty, a leading `./` or `../` is dropped.
fn sanitize_postfix(postfix: &str) -> &str {
    if postfix == "." || postfix == ".." {
        ""
    } else if let Some(rest) = postfix.strip_prefix("./") {
        rest
    } else if let Some(rest) = postfix.strip_prefix("../") {
        rest
    } else {
        postfix
    }
}

/// The upstream path (without query) per Kong's v0 / v1 rules (reference A.8).
/// `matched_len` is RouteMatch::matched_len when strip_path is true, else 0 (i.e. no strip).
///
/// `service_path` `None` or empty means `/`. With `strip` false `matched_len` is ignored. With
/// `strip` true and `matched_len` 0 (a route without paths) the remainder is the request path
/// without its first character, as Kong does when no path matched. A `matched_len` beyond the
/// path (or not on a char boundary) is treated as consuming the whole path.
pub fn upstream_path(
    service_path: Option<&str>,
    request_path: &str,
    strip: bool,
    matched_len: usize,
    handling: PathHandling,
) -> String {
    let base = match service_path {
        Some(p) if !p.is_empty() => p,
        _ => "/",
    };
    let req = request_path;
    // The request path without its first character (Kong's `sub(req_uri, 2)`).
    let req_tail = {
        let mut chars = req.chars();
        chars.next();
        chars.as_str()
    };
    let rest = if strip && matched_len > 0 {
        sanitize_postfix(req.get(matched_len..).unwrap_or(""))
    } else {
        sanitize_postfix(req_tail)
    };
    let base_slash = base.ends_with('/');
    let base_trimmed = base.strip_suffix('/').unwrap_or(base);

    let mut out = String::with_capacity(base.len() + req.len() + 1);
    match handling {
        PathHandling::V1 => {
            if strip {
                if base_slash && rest.starts_with('/') {
                    out.push_str(base_trimmed);
                } else {
                    out.push_str(base);
                }
                out.push_str(rest);
            } else {
                out.push_str(base);
                out.push_str(req_tail);
            }
        }
        PathHandling::V0 if base_slash => {
            if !strip {
                out.push_str(base);
                out.push_str(req_tail);
            } else if rest.is_empty() {
                if base == "/" {
                    out.push('/');
                } else if req.ends_with('/') {
                    out.push_str(base);
                } else {
                    out.push_str(base_trimmed);
                }
            } else if rest.starts_with('/') {
                out.push_str(base_trimmed);
                out.push_str(rest);
            } else {
                out.push_str(base);
                out.push_str(rest);
            }
        }
        PathHandling::V0 => {
            out.push_str(base);
            if !strip {
                if req != "/" {
                    out.push_str(req);
                }
            } else if rest.is_empty() {
                if req.len() > 1 && req.ends_with('/') {
                    out.push('/');
                }
            } else {
                if !rest.starts_with('/') {
                    out.push('/');
                }
                out.push_str(rest);
            }
        }
    }
    out
}

/// True for bytes Kong's `escape` leaves raw: reserved characters, unreserved characters and `%`.
fn is_path_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b'/'
                | b':'
                | b';'
                | b'='
                | b'?'
                | b'@'
                | b'['
                | b']'
                | b'-'
                | b'_'
                | b'.'
                | b'~'
                | b'%'
        )
}

/// Re-escapes a normalised path for the wire (percent-encode bytes that may not appear raw in a path, e.g. space, non-ASCII); Borrowed when nothing needs escaping.
///
/// Same character set as Kong's `kong.tools.uri.escape`; `%` is left alone, so triplets kept by
/// [`normalize_path`] pass through unchanged.
pub fn escape_path(path: &str) -> Cow<'_, str> {
    let bytes = path.as_bytes();
    let Some(first) = bytes.iter().position(|&b| !is_path_safe(b)) else {
        return Cow::Borrowed(path);
    };
    let mut out = String::with_capacity(path.len() + 16);
    out.push_str(&path[..first]);
    for &b in bytes.iter().skip(first) {
        if is_path_safe(b) {
            out.push(char::from(b));
        } else {
            let [h, l] = hex_upper(b);
            out.push('%');
            out.push(char::from(h));
            out.push(char::from(l));
        }
    }
    Cow::Owned(out)
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
            strip_path: true,
            path_handling: PathHandling::V0,
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
    fn upstream_path_follows_every_worked_example_of_the_v0_table() {
        // (service path, request, strip -> expected, no strip -> expected); route path `/api`.
        let cases: &[(Option<&str>, &str, &str, &str)] = &[
            (None, "/api", "/", "/api"),
            (None, "/api/", "/", "/api/"),
            (None, "/api/users", "/users", "/api/users"),
            (None, "/apiusers", "/users", "/apiusers"),
            (Some("/v1"), "/api", "/v1", "/v1/api"),
            (Some("/v1"), "/api/", "/v1/", "/v1/api/"),
            (Some("/v1"), "/api/users", "/v1/users", "/v1/api/users"),
            (Some("/v1/"), "/api", "/v1", "/v1/api"),
            (Some("/v1/"), "/api/users", "/v1/users", "/v1/api/users"),
            (Some("/v1/"), "/api/", "/v1/", "/v1/api/"),
            (Some("/v1/"), "/apiusers", "/v1/users", "/v1/apiusers"),
            (Some("/v1"), "/apiusers", "/v1/users", "/v1/apiusers"),
            (Some("/"), "/api/users", "/users", "/api/users"),
            (Some(""), "/api/users", "/users", "/api/users"),
            (None, "/api..", "/", "/api.."),
        ];
        for (service, req, strip_expected, keep_expected) in cases {
            let got = upstream_path(*service, req, true, "/api".len(), PathHandling::V0);
            assert_eq!(
                got, *strip_expected,
                "strip: service {service:?}, request {req}"
            );
            let got = upstream_path(*service, req, false, 0, PathHandling::V0);
            assert_eq!(
                got, *keep_expected,
                "no strip: service {service:?}, request {req}"
            );
        }
    }

    #[test]
    fn upstream_path_for_a_route_without_paths_uses_the_whole_request_path() {
        // strip_path true but nothing matched (matched_len 0), as Kong with a hosts-only route.
        let cases: &[(Option<&str>, &str, &str)] = &[
            (None, "/", "/"),
            (None, "/foo", "/foo"),
            (Some("/v1"), "/", "/v1"),
            (Some("/v1"), "/foo", "/v1/foo"),
            (Some("/v1/"), "/", "/v1/"),
            (Some("/v1/"), "/foo/", "/v1/foo/"),
        ];
        for (service, req, expected) in cases {
            let got = upstream_path(*service, req, true, 0, PathHandling::V0);
            assert_eq!(got, *expected, "service {service:?}, request {req}");
        }
    }

    #[test]
    fn v1_path_handling_concatenates_without_the_v0_slash_rules() {
        // (service path, route prefix, request, strip, expected) — Kong's documented v1 table.
        let cases: &[(Option<&str>, &str, &str, bool, &str)] = &[
            (Some("/s"), "/fv1", "/fv1req", false, "/sfv1req"),
            (Some("/s"), "/tv1", "/tv1req", true, "/sreq"),
            (Some("/s"), "/fv1/", "/fv1/req", false, "/sfv1/req"),
            (Some("/s"), "/tv1/", "/tv1/req", true, "/sreq"),
            (Some("/s/"), "/api", "/api/users", true, "/s/users"),
            (Some("/v1"), "/api", "/api/users", true, "/v1/users"),
            (Some("/v1"), "/api", "/api", true, "/v1"),
            (None, "/api", "/api", true, "/"),
            (None, "/api", "/api/users", false, "/api/users"),
        ];
        for (service, route_prefix, req, strip, expected) in cases {
            let len = if *strip { route_prefix.len() } else { 0 };
            let got = upstream_path(*service, req, *strip, len, PathHandling::V1);
            assert_eq!(
                got, *expected,
                "service {service:?}, route {route_prefix}, request {req}, strip {strip}"
            );
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
            let spec = &specs[m.route];
            let len = if spec.strip_path { m.matched_len } else { 0 };
            let got = upstream_path(None, &path, spec.strip_path, len, spec.path_handling);
            assert_eq!(got, *expected, "case `{raw}`: upstream path");
        }
    }

    #[test]
    fn dot_work_is_found_by_one_pass() {
        for (path, expected) in [
            ("/svc/ping", false),
            ("/", false),
            ("/svc/", false),
            ("/a.b/..c/...", false),
            ("//", true),
            ("/a//b", true),
            ("/a/./b", true),
            ("/a/../b", true),
            ("/a/..", true),
            ("/a/.", true),
            (".", true),
            ("../a", true),
        ] {
            assert_eq!(needs_dot_work(path), expected, "{path}");
        }
    }

    #[test]
    fn normalize_path_matches_kong_uri_normalisation() {
        let cases: &[(&str, &str)] = &[
            ("/auth/../blog/x", "/blog/x"),
            ("//a///b", "/a/b"),
            ("/%41", "/A"),
            ("/a%2Fb", "/a%2Fb"),
            ("/a%2fb", "/a%2Fb"),
            ("/a/./b", "/a/b"),
            ("/..", "/"),
            ("/a/../..", "/"),
            ("/a/../../b", "/b"),
            ("/a/b/..", "/a/"),
            ("/a/.", "/a/"),
            ("/a//", "/a/"),
            ("/%2e%2e/x", "/x"),
            ("/a/%2E/b", "/a/b"),
            ("/caf%C3%A9", "/café"),
            ("/%FF", "/%FF"),
            ("/%ff%41", "/%FFA"),
            ("/a%20b", "/a b"),
            ("/%7Euser", "/~user"),
            ("/a%3Fb%23c%25", "/a%3Fb%23c%25"),
            ("/a%2", "/a%2"),
            ("/a%zz", "/a%zz"),
            ("/a.b/..c/.d", "/a.b/..c/.d"),
            ("/", "/"),
            ("", ""),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalize_path(raw), *expected, "case `{raw}`");
        }
    }

    #[test]
    fn normalize_path_borrows_when_nothing_changes() {
        for raw in [
            "/",
            "/api/users",
            "/a%2Fb",
            "/a.b/c..",
            "/v1/items?",
            "/%FF",
            "/x%3A",
        ] {
            assert!(
                matches!(normalize_path(raw), Cow::Borrowed(s) if s == raw),
                "case `{raw}` should borrow"
            );
        }
        assert!(
            matches!(normalize_path("/a//b"), Cow::Owned(_)),
            "case `/a//b` should own"
        );
    }

    #[test]
    fn escape_path_encodes_only_bytes_unsafe_in_a_path() {
        let cases: &[(&str, &str)] = &[
            ("/a b", "/a%20b"),
            ("/café", "/caf%C3%A9"),
            ("/a%2Fb", "/a%2Fb"),
            ("/~user-x_y.z", "/~user-x_y.z"),
            ("/q\"<>{}|\\^`", "/q%22%3C%3E%7B%7D%7C%5C%5E%60"),
            ("/a:b@c!$&'()*+,;=[]", "/a:b@c!$&'()*+,;=[]"),
        ];
        for (path, expected) in cases {
            assert_eq!(escape_path(path), *expected, "case `{path}`");
        }
        assert!(
            matches!(escape_path("/plain/path"), Cow::Borrowed(_)),
            "plain path should borrow"
        );
    }

    #[test]
    fn normalised_then_escaped_paths_round_trip_for_the_wire() {
        let cases: &[(&str, &str)] = &[
            ("/a%20b/../c%2Fd", "/c%2Fd"),
            ("/caf%C3%A9", "/caf%C3%A9"),
            ("/%41%42", "/AB"),
        ];
        for (raw, expected) in cases {
            let normal = normalize_path(raw);
            assert_eq!(escape_path(&normal), *expected, "case `{raw}`");
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
