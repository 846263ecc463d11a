//! HTTP/1 header rules between the client and the upstream, as pure functions over header maps:
//! which headers are hop-by-hop (they describe one connection and must not be forwarded), which
//! headers a `Connection` header nominates as hop-by-hop, which nominations are refused, and what
//! counts as a WebSocket upgrade. RFC 9110 section 7.6.1 and RFC 9112; the same rules as nginx and
//! pingora-proxy's `proxy_common.rs`.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Version, header};

/// Most `Connection` tokens accepted on one request: bounds the work a request can cause.
pub const MAX_NOMINATIONS: usize = 10;

/// `Keep-Alive`.
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
/// `Proxy-Connection` (a pre-standard `Connection`).
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
/// `HTTP2-Settings` (the h2c upgrade's payload).
const HTTP2_SETTINGS: HeaderName = HeaderName::from_static("http2-settings");

/// The hop-by-hop headers of RFC 9110 and RFC 7230, removed both ways. `Transfer-Encoding` is
/// not among them: the request's framing is set by [`frame_request`], the response's is read by
/// the client codec and written anew by the server codec.
const STANDARD: [HeaderName; 8] = [
    header::CONNECTION,
    KEEP_ALIVE,
    PROXY_CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
    HTTP2_SETTINGS,
];

/// Headers the gateway sets itself for the upstream: a client may not make them hop-by-hop and
/// so have them dropped after the gateway set them (or keep a forged one).
const PROTECTED: [&str; 9] = [
    "host",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-forwarded-path",
    "x-forwarded-prefix",
    "x-real-ip",
    "x-kong-request-id",
];

/// Why a request's `Connection` header is refused (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// More than [`MAX_NOMINATIONS`] tokens.
    TooManyNominations,
    /// A token that is no HTTP token (RFC 9110 section 5.6.2), e.g. `"X-Forwarded-For"`.
    MalformedNomination,
    /// `Host`, a pseudo-header or one of the forwarding headers nominated.
    ProtectedNomination,
}

/// The header names a `Connection` header nominates, on the stack.
#[derive(Debug, Default)]
pub struct Nominations {
    names: [Option<HeaderName>; MAX_NOMINATIONS],
    len: usize,
}

impl Nominations {
    /// The nominated names.
    pub fn names(&self) -> impl Iterator<Item = &HeaderName> {
        self.names[..self.len].iter().flatten()
    }

    /// Whether `token` (lowercase) is among them.
    pub fn contains(&self, token: &str) -> bool {
        self.names().any(|name| name.as_str() == token)
    }
}

/// Whether `byte` may appear in an HTTP token.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Parses every `Connection` header of `headers`.
pub fn nominations(headers: &HeaderMap) -> Result<Nominations, Refusal> {
    let mut nominations = Nominations::default();
    let tokens = headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|value| value.as_bytes().split(|byte| *byte == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|token| !token.is_empty());
    for token in tokens {
        if nominations.len == MAX_NOMINATIONS {
            return Err(Refusal::TooManyNominations);
        }
        if token.starts_with(b":") {
            return Err(Refusal::ProtectedNomination);
        }
        if !token.iter().all(|&byte| is_tchar(byte)) {
            return Err(Refusal::MalformedNomination);
        }
        let name = HeaderName::from_bytes(token).map_err(|_| Refusal::MalformedNomination)?;
        if PROTECTED.contains(&name.as_str()) {
            return Err(Refusal::ProtectedNomination);
        }
        nominations.names[nominations.len] = Some(name);
        nominations.len += 1;
    }
    Ok(nominations)
}

/// Whether a request's framing is ambiguous, which nginx refuses with 400 and so does the
/// gateway (the request-smuggling shapes): a `Content-Length` that is not one plain number (two
/// headers, `5, 5`, a sign), or `Content-Length` beside `Transfer-Encoding`. The server codec
/// drops the `Content-Length` of the latter before the engine sees the header, so the raw head
/// (`raw_head`, asked only when `Transfer-Encoding` is present) tells.
pub fn ambiguous_framing(headers: &HeaderMap, raw_head: impl FnOnce() -> Option<Bytes>) -> bool {
    let mut lengths = headers.get_all(header::CONTENT_LENGTH).iter();
    if let Some(length) = lengths.next()
        && (lengths.next().is_some()
            || length.is_empty()
            || !length.as_bytes().iter().all(u8::is_ascii_digit))
    {
        return true;
    }
    headers.contains_key(header::TRANSFER_ENCODING)
        && raw_head().is_some_and(|head| {
            head.split(|byte| *byte == b'\n')
                .skip(1)
                .any(|line| line.len() > 15 && line[..15].eq_ignore_ascii_case(b"content-length:"))
        })
}

/// Whether a request header stays behind: a standard hop-by-hop header or a `nominated` one.
pub fn is_hop_by_hop(name: &HeaderName, nominated: &Nominations) -> bool {
    STANDARD.contains(name) || nominated.names().any(|nominated| nominated == name)
}

/// Whether a request asks for a WebSocket upgrade, the only upgrade the gateway forwards: HTTP/1.1,
/// `GET`, `Upgrade: websocket` and `Connection: upgrade` (RFC 6455 section 4.1).
pub fn is_websocket_upgrade(
    method: &Method,
    version: Version,
    headers: &HeaderMap,
    nominated: &Nominations,
) -> bool {
    version == Version::HTTP_11
        && method == Method::GET
        && nominated.contains("upgrade")
        && headers
            .get(header::UPGRADE)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// The upstream request's hop-by-hop headers, after [`remove_hop_by_hop`]: `Connection: Upgrade`
/// and `Upgrade: websocket` for an upgrade, `Connection: close` when upstream keepalive is off,
/// nothing otherwise (HTTP/1.1 keeps the connection alive by default).
pub fn set_upstream_connection(headers: &mut HeaderMap, websocket: bool, keepalive: bool) {
    if websocket {
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    } else if !keepalive {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
}

/// Frames the upstream request's body: never both `Content-Length` and `Transfer-Encoding`; a
/// body without a length (chunked from the client, or an HTTP/2 stream) goes chunked; a request
/// without a body says nothing.
pub fn frame_request(headers: &mut HeaderMap, has_body: bool) {
    headers.remove(header::TRANSFER_ENCODING);
    if !has_body {
        return;
    }
    if !headers.contains_key(header::CONTENT_LENGTH) {
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
    }
}

/// Whether a response header stays behind: the hop-by-hop ones (standard and `nominated` by
/// the response's `Connection`), except what a `101` needs (`Connection`, `Upgrade`).
/// `Transfer-Encoding` stays for the server codec to frame the body by; to an HTTP/1.0 client,
/// which knows no chunked coding, a body without a length is sent close-delimited instead.
pub fn is_hop_by_hop_response(
    name: &HeaderName,
    nominated: &Nominations,
    switching_protocols: bool,
    client_http10: bool,
) -> bool {
    if switching_protocols {
        return [KEEP_ALIVE, PROXY_CONNECTION, header::TE, header::TRAILER].contains(name);
    }
    if name == header::TRANSFER_ENCODING {
        return client_http10;
    }
    is_hop_by_hop(name, nominated)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `map` without the headers `skip` names.
    fn without(map: &HeaderMap, skip: impl Fn(&HeaderName) -> bool) -> HeaderMap {
        let mut kept = HeaderMap::new();
        for (name, value) in map {
            if !skip(name) {
                kept.append(name.clone(), value.clone());
            }
        }
        kept
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn nominated_headers_are_removed_with_the_standard_ones() {
        let map = headers(&[
            ("connection", "keep-alive, X-Secret"),
            ("connection", "x-other"),
            ("x-secret", "1"),
            ("x-other", "2"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("proxy-connection", "keep-alive"),
            ("x-kept", "3"),
        ]);
        let nominated = nominations(&map).unwrap();
        assert!(nominated.contains("x-secret") && nominated.contains("x-other"));
        let map = without(&map, |name| is_hop_by_hop(name, &nominated));
        assert_eq!(map.len(), 1, "{map:?}");
        assert_eq!(map["x-kept"], "3");
    }

    #[test]
    fn protected_and_malformed_nominations_are_refused() {
        let cases: &[(&str, Refusal)] = &[
            ("Host", Refusal::ProtectedNomination),
            ("x-forwarded-for", Refusal::ProtectedNomination),
            ("X-FORWARDED-HOST", Refusal::ProtectedNomination),
            (
                "keep-alive, X-Forwarded-Proto",
                Refusal::ProtectedNomination,
            ),
            ("X-Real-IP", Refusal::ProtectedNomination),
            (":authority", Refusal::ProtectedNomination),
            ("\"X-Forwarded-For\"", Refusal::MalformedNomination),
            ("(X-Forwarded-For", Refusal::MalformedNomination),
            ("X-Forwarded-For:", Refusal::MalformedNomination),
            ("bad token", Refusal::MalformedNomination),
            ("a,b,c,d,e,f,g,h,i,j,k", Refusal::TooManyNominations),
        ];
        for (value, refusal) in cases {
            let map = headers(&[("connection", value)]);
            assert_eq!(nominations(&map).err(), Some(*refusal), "{value}");
        }
    }

    #[test]
    fn look_alikes_of_protected_names_are_other_headers() {
        for value in ["'X-Forwarded-For'", "X-Forwarded-For.", "!X-Forwarded-For"] {
            let map = headers(&[("connection", value), ("x-forwarded-for", "6.6.6.6")]);
            let nominated = nominations(&map).unwrap();
            let map = without(&map, |name| is_hop_by_hop(name, &nominated));
            assert_eq!(map["x-forwarded-for"], "6.6.6.6", "{value}");
        }
    }

    #[test]
    fn only_a_websocket_get_on_http11_with_connection_upgrade_is_an_upgrade() {
        let upgrade = |method: Method, version: Version, pairs: &[(&'static str, &str)]| {
            let map = headers(pairs);
            let nominated = nominations(&map).unwrap();
            is_websocket_upgrade(&method, version, &map, &nominated)
        };
        let ws = [("connection", "Upgrade"), ("upgrade", "WebSocket")];
        assert!(upgrade(Method::GET, Version::HTTP_11, &ws));
        assert!(!upgrade(Method::GET, Version::HTTP_10, &ws));
        assert!(!upgrade(Method::POST, Version::HTTP_11, &ws));
        assert!(!upgrade(
            Method::GET,
            Version::HTTP_11,
            &[("connection", "Upgrade"), ("upgrade", "h2c")]
        ));
        assert!(!upgrade(
            Method::GET,
            Version::HTTP_11,
            &[("upgrade", "websocket")]
        ));
    }

    #[test]
    fn the_upstream_connection_header_says_upgrade_close_or_nothing() {
        let mut map = HeaderMap::new();
        set_upstream_connection(&mut map, true, true);
        assert_eq!(map["connection"], "Upgrade");
        assert_eq!(map["upgrade"], "websocket");
        let mut map = HeaderMap::new();
        set_upstream_connection(&mut map, false, false);
        assert_eq!(map["connection"], "close");
        let mut map = HeaderMap::new();
        set_upstream_connection(&mut map, false, true);
        assert!(map.is_empty());
    }

    #[test]
    fn ambiguous_framing_is_recognised() {
        let ambiguous = |pairs: &[(&'static str, &str)], raw: &str| {
            let raw = Bytes::copy_from_slice(raw.as_bytes());
            ambiguous_framing(&headers(pairs), || Some(raw))
        };
        assert!(!ambiguous(&[("content-length", "5")], ""));
        assert!(!ambiguous(&[], ""));
        assert!(ambiguous(&[("content-length", "5, 5")], ""));
        assert!(ambiguous(
            &[("content-length", "5"), ("content-length", "5")],
            ""
        ));
        assert!(ambiguous(&[("content-length", "+5")], ""));
        assert!(ambiguous(&[("content-length", "")], ""));
        let both = "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(ambiguous(&[("transfer-encoding", "chunked")], both));
        let chunked =
            "POST / HTTP/1.1\r\nX-Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(!ambiguous(&[("transfer-encoding", "chunked")], chunked));
    }

    #[test]
    fn request_framing_never_sends_both_lengths() {
        let mut sized = headers(&[("content-length", "5"), ("transfer-encoding", "chunked")]);
        frame_request(&mut sized, true);
        assert_eq!(sized.len(), 1);
        assert_eq!(sized["content-length"], "5");
        let mut unsized_body = headers(&[("transfer-encoding", "gzip, chunked")]);
        frame_request(&mut unsized_body, true);
        assert_eq!(unsized_body["transfer-encoding"], "chunked");
        let mut no_body = headers(&[("transfer-encoding", "chunked")]);
        frame_request(&mut no_body, false);
        assert!(no_body.is_empty());
    }

    #[test]
    fn responses_lose_hop_by_hop_headers_but_keep_their_framing() {
        let clean = |map: &HeaderMap, switching: bool, client_http10: bool| {
            let nominated = nominations(map).unwrap_or_default();
            without(map, |name| {
                is_hop_by_hop_response(name, &nominated, switching, client_http10)
            })
        };
        let map = headers(&[
            ("connection", "close, x-hop"),
            ("x-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
        ]);
        let kept = clean(&map, false, false);
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(kept["transfer-encoding"], "chunked");
        let old_client = clean(&headers(&[("transfer-encoding", "chunked")]), false, true);
        assert!(old_client.is_empty());
        let switching = headers(&[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("keep-alive", "x"),
        ]);
        assert_eq!(clean(&switching, true, false).len(), 2);
    }
}
