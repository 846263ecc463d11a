//! Kong's path handling around routing: [`normalize_path`], the request-path normalisation
//! applied before matching (`kong/tools/uri.lua`); [`upstream_path`], the upstream path built from
//! the service path and the (stripped) request path with Kong's `v0` / `v1` rules
//! (`kong/router/utils.lua`, `traditional.lua`); and [`escape_path`], the re-escaping of a
//! normalised path for the wire (`kong.tools.uri.escape`). Pure functions.

use std::borrow::Cow;

use super::PathHandling;

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
    let mut out = String::with_capacity(base.len() + req.len() + 1);
    let stripped = strip.then_some(rest);
    match handling {
        PathHandling::V1 => join_v1(&mut out, base, req_tail, stripped),
        PathHandling::V0 => join_v0(&mut out, base, req, req_tail, stripped),
    }
    out
}

/// Kong's v1 `path_handling`: the service path, then the remainder (`stripped`, when
/// `strip_path` applied) or the request path, with one slash between them.
fn join_v1(out: &mut String, base: &str, req_tail: &str, stripped: Option<&str>) {
    let Some(rest) = stripped else {
        out.push_str(base);
        out.push_str(req_tail);
        return;
    };
    match base.strip_suffix('/') {
        Some(trimmed) if rest.starts_with('/') => out.push_str(trimmed),
        _ => out.push_str(base),
    }
    out.push_str(rest);
}

/// Kong's v0 `path_handling` (the default): as v1, but a trailing slash of the service path or
/// of the request decides the slash when nothing remains, and a service path without a trailing
/// slash always gets one before a remainder.
fn join_v0(out: &mut String, base: &str, req: &str, req_tail: &str, stripped: Option<&str>) {
    let Some(base_trimmed) = base.strip_suffix('/') else {
        out.push_str(base);
        match stripped {
            None if req != "/" => out.push_str(req),
            None => {}
            Some("") if req.len() > 1 && req.ends_with('/') => out.push('/'),
            Some("") => {}
            Some(rest) => {
                if !rest.starts_with('/') {
                    out.push('/');
                }
                out.push_str(rest);
            }
        }
        return;
    };
    match stripped {
        None => {
            out.push_str(base);
            out.push_str(req_tail);
        }
        Some("") if base == "/" => out.push('/'),
        Some("") if req.ends_with('/') => out.push_str(base),
        Some("") => out.push_str(base_trimmed),
        Some(rest) if rest.starts_with('/') => {
            out.push_str(base_trimmed);
            out.push_str(rest);
        }
        Some(rest) => {
            out.push_str(base);
            out.push_str(rest);
        }
    }
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
}
