//! Header edits on the proxied request and response, done cheaply: the gateway adds up to nine
//! headers to every upstream request (`Host`, `X-Forwarded-*`, `X-Real-IP`, the request id) and
//! four to every response (`Via`, the latency headers, the request id).
//!
//! Pingora's `insert_header` parses the name again on every call and keeps a second,
//! case-preserving header map in step with the first, growing both a few entries at a time. For
//! this gateway that was a fifth of all user-space instructions per proxied request (callgrind,
//! `loadtest/README.md`). [`forwarded_request`] and [`forwarded_response`] instead copy the
//! client's or the upstream's head into a header map sized once, let the caller insert pre-parsed
//! names, and build Pingora's header from that without the case map ([`edit_response`] does the
//! same for a head the gateway builds itself). Header names therefore leave in canonical case
//! (`Title-Case` for standard names, lowercase for the others), as HTTP allows: field names are
//! case-insensitive (RFC 9110, section 5.1).

use std::{
    cell::RefCell,
    net::{IpAddr, SocketAddr},
    sync::LazyLock,
};

use http::{HeaderMap, HeaderName, HeaderValue, header, request, response};
use pingora::{
    Result,
    http::{RequestHeader, ResponseHeader},
};

use crate::responses::REQUEST_ID_HEADER;

/// The gateway's `Server` value (on its own answers).
pub const SERVER_VALUE: &str = concat!("gateway/", env!("CARGO_PKG_VERSION"));
/// The gateway's `Via` entry.
pub const VIA: HeaderValue =
    HeaderValue::from_static(concat!("1.1 gateway/", env!("CARGO_PKG_VERSION")));

/// `X-Forwarded-For`.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`.
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// `X-Forwarded-Port`.
pub const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
/// `X-Forwarded-Path`.
pub const X_FORWARDED_PATH: HeaderName = HeaderName::from_static("x-forwarded-path");
/// `X-Forwarded-Prefix`.
pub const X_FORWARDED_PREFIX: HeaderName = HeaderName::from_static("x-forwarded-prefix");
/// `X-Real-IP`.
pub const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
/// `X-Kong-Upstream-Latency`.
pub const X_KONG_UPSTREAM_LATENCY: HeaderName = HeaderName::from_static("x-kong-upstream-latency");
/// `X-Kong-Proxy-Latency`.
pub const X_KONG_PROXY_LATENCY: HeaderName = HeaderName::from_static("x-kong-proxy-latency");
/// `X-Kong-Response-Latency` (on the gateway's own answers).
pub const X_KONG_RESPONSE_LATENCY: HeaderName = HeaderName::from_static("x-kong-response-latency");

/// A copy of `client`'s request (method, target, version and the headers `skip` does not name;
/// no extensions, no case map) with room for `extra` more headers, edited by `edit`: the upstream
/// request. The request line stays byte for byte.
pub fn forwarded_request(
    client: &RequestHeader,
    extra: usize,
    skip: impl Fn(&HeaderName) -> bool,
    edit: impl FnOnce(&mut HeaderMap),
) -> Result<RequestHeader> {
    let mut parts = request::Request::new(()).into_parts().0;
    parts.method = client.method.clone();
    parts.uri = client.uri.clone();
    parts.version = client.version;
    parts.headers = copy_headers(&client.headers, extra, skip);
    edit(&mut parts.headers);
    let mut request = RequestHeader::from(parts);
    // A target the URI cannot reproduce (absolute-form, bytes the URI had to escape) is taken as
    // the client sent it; the common origin-form target costs nothing here.
    let uri_target = client.uri.path_and_query().map(|target| target.as_str());
    if uri_target.map(str::as_bytes) != Some(client.raw_path()) {
        request.set_raw_path(client.raw_path())?;
    }
    Ok(request)
}

/// A copy of `upstream`'s response head (status, reason, version and the headers `skip` does
/// not name; no case map) with room for `extra` more headers, edited by `edit`: the head the
/// client gets.
pub fn forwarded_response(
    upstream: &ResponseHeader,
    extra: usize,
    skip: impl Fn(&HeaderName) -> bool,
    edit: impl FnOnce(&mut HeaderMap),
) -> Result<ResponseHeader> {
    let mut parts = response::Response::new(()).into_parts().0;
    parts.status = upstream.status;
    parts.version = upstream.version;
    parts.headers = copy_headers(&upstream.headers, extra, skip);
    edit(&mut parts.headers);
    let mut response = ResponseHeader::from(parts);
    let reason = upstream.get_reason_phrase();
    if reason.is_some() && reason != upstream.status.canonical_reason() {
        response.set_reason_phrase(reason)?;
    }
    Ok(response)
}

/// `headers` but those `skip` names, in a map sized once for `extra` more.
fn copy_headers(
    headers: &HeaderMap,
    extra: usize,
    skip: impl Fn(&HeaderName) -> bool,
) -> HeaderMap {
    let mut copy = HeaderMap::with_capacity(headers.len() + extra);
    for (name, value) in headers {
        if !skip(name) {
            copy.append(name.clone(), value.clone());
        }
    }
    copy
}

/// Runs `edit` on `response`'s headers with room for `extra` more, then rebuilds the response
/// header without Pingora's case map (see the module doc). A non-standard reason phrase stays.
pub fn edit_response(
    response: &mut ResponseHeader,
    extra: usize,
    edit: impl FnOnce(&mut HeaderMap),
) -> Result<()> {
    let custom_reason = response
        .get_reason_phrase()
        .filter(|reason| Some(*reason) != response.status.canonical_reason())
        .map(str::to_owned);
    let placeholder = ResponseHeader::from(response::Response::new(()).into_parts().0);
    let mut parts = response::Parts::from(std::mem::replace(response, placeholder));
    parts.headers.reserve(extra);
    edit(&mut parts.headers);
    *response = ResponseHeader::from(parts);
    if custom_reason.is_some() {
        response.set_reason_phrase(custom_reason.as_deref())?;
    }
    Ok(())
}

/// `ip` as a header value. A thread reuses the value it made last when the next request comes
/// from the same address (a kept-alive client's requests do), else writes it anew.
pub fn ip_value(ip: IpAddr) -> HeaderValue {
    thread_local! {
        static LAST: RefCell<Option<(IpAddr, HeaderValue)>> = const { RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| match last {
        Some((last_ip, value)) if *last_ip == ip => value.clone(),
        _ => {
            let value = write_ip(ip);
            *last = Some((ip, value.clone()));
            value
        }
    })
}

/// `ip` written as a header value.
fn write_ip(ip: IpAddr) -> HeaderValue {
    HeaderValue::from_maybe_shared(bytes::Bytes::from(ip_text(ip).into_bytes()))
        .expect("BUG: an IP address is a valid header value")
}

/// `ip` as text. IPv4 is written by hand: `Display` for `Ipv4Addr` costs more than every other
/// header of the request together.
pub fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    for (index, octet) in v4.octets().into_iter().enumerate() {
        if index > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

/// `address` as text (`10.0.0.2:8080`, `[::1]:8080`), IPv4 written as [`ip_text`] does.
pub fn socket_address_text(address: SocketAddr) -> String {
    match address {
        SocketAddr::V4(v4) => {
            let mut text = ip_text(IpAddr::V4(*v4.ip()));
            text.push(':');
            text.push_str(itoa::Buffer::new().format(v4.port()));
            text
        }
        SocketAddr::V6(_) => address.to_string(),
    }
}

/// A list header (`X-Forwarded-For`, `Via`) with `item` appended: `existing, item`, or `item`
/// alone.
pub fn append_to_list(existing: Option<&HeaderValue>, item: &HeaderValue) -> HeaderValue {
    let Some(existing) = existing else {
        return item.clone();
    };
    let mut value = Vec::with_capacity(existing.len() + 2 + item.len());
    value.extend_from_slice(existing.as_bytes());
    value.extend_from_slice(b", ");
    value.extend_from_slice(item.as_bytes());
    HeaderValue::from_maybe_shared(bytes::Bytes::from(value))
        .expect("BUG: two header values joined by a comma are a header value")
}

/// What the gateway tells the upstream about the client's request: Kong's `X-Forwarded-*` set.
pub struct Forwarded {
    /// The `Host` to send; `None` keeps the client's (`preserve_host`).
    pub host: Option<HeaderValue>,
    /// The client's address ([`ip_value`]), when it has one.
    pub client_ip: Option<HeaderValue>,
    /// The gateway port the request arrived on ([`number_value`]).
    pub port: Option<HeaderValue>,
    /// The request arrived over TLS (`X-Forwarded-Proto: https`).
    pub https: bool,
    /// The client's path, before any rewrite.
    pub original_path: Option<HeaderValue>,
    /// The prefix `strip_path` removed.
    pub prefix: Option<HeaderValue>,
    /// The request id.
    pub request_id: HeaderValue,
}

impl Forwarded {
    /// Sets `Host`, appends the client to `X-Forwarded-For`, and sets `X-Real-IP`,
    /// `X-Forwarded-Proto`, `-Host` (the client's host, without port), `-Port`, `-Path`,
    /// `-Prefix` and the request id.
    pub fn apply(self, headers: &mut HeaderMap) {
        let client_host = match self.host {
            Some(host) => headers.insert(header::HOST, host),
            None => headers.get(header::HOST).cloned(),
        };
        if let Some(ip) = self.client_ip {
            let forwarded_for = append_to_list(headers.get(X_FORWARDED_FOR), &ip);
            headers.insert(X_FORWARDED_FOR, forwarded_for);
            headers.insert(X_REAL_IP, ip);
        }
        headers.insert(
            X_FORWARDED_PROTO,
            HeaderValue::from_static(if self.https { "https" } else { "http" }),
        );
        if let Some(host) = client_host.as_ref().and_then(host_without_port) {
            headers.insert(X_FORWARDED_HOST, host);
        }
        if let Some(port) = self.port {
            headers.insert(X_FORWARDED_PORT, port);
        }
        if let Some(path) = self.original_path {
            headers.insert(X_FORWARDED_PATH, path);
        }
        if let Some(prefix) = self.prefix {
            headers.insert(X_FORWARDED_PREFIX, prefix);
        }
        headers.insert(REQUEST_ID_HEADER, self.request_id);
    }
}

/// The gateway's headers on a proxied response: its entry appended to `Via`, Kong's latency
/// headers (milliseconds) and the request id.
pub fn answered(
    headers: &mut HeaderMap,
    upstream_latency: u64,
    proxy_latency: u64,
    request_id: HeaderValue,
) {
    let via = append_to_list(headers.get(header::VIA), &VIA);
    headers.insert(header::VIA, via);
    headers.insert(X_KONG_UPSTREAM_LATENCY, number_value(upstream_latency));
    headers.insert(X_KONG_PROXY_LATENCY, number_value(proxy_latency));
    headers.insert(REQUEST_ID_HEADER, request_id);
}

/// Numbers below this are header values made once ([`number_value`]).
const MADE_NUMBERS: u64 = 1000;

/// `number` as a header value: the latency headers (milliseconds, mostly small) and the port
/// cost no allocation when the value was made before.
pub fn number_value(number: u64) -> HeaderValue {
    static SMALL: LazyLock<Vec<HeaderValue>> =
        LazyLock::new(|| (0..MADE_NUMBERS).map(HeaderValue::from).collect());
    thread_local! {
        /// The listeners' ports: a handful of values, each made once per thread.
        static PORTS: RefCell<Vec<(u64, HeaderValue)>> = const { RefCell::new(Vec::new()) };
    }
    if number < MADE_NUMBERS {
        return SMALL[usize::try_from(number).expect("BUG: below 1000 fits usize")].clone();
    }
    if number > u64::from(u16::MAX) {
        return HeaderValue::from(number);
    }
    PORTS.with_borrow_mut(|ports| {
        if let Some((_, value)) = ports.iter().find(|(port, _)| *port == number) {
            return value.clone();
        }
        let value = HeaderValue::from(number);
        if ports.len() < MADE_PORTS {
            ports.push((number, value.clone()));
        }
        value
    })
}

/// How many ports a thread keeps made (the gateway listens on two or three).
const MADE_PORTS: usize = 8;

/// The host part of a `Host` header (without the port), as a header value.
pub fn host_without_port(host: &HeaderValue) -> Option<HeaderValue> {
    let host = host.to_str().ok()?;
    let name = match host.rsplit_once(':') {
        // `[::1]:8000` → `[::1]`; a bare IPv6 literal `[::1]` keeps its colons.
        Some((name, port)) if !port.contains(']') => name,
        _ => host,
    };
    HeaderValue::from_str(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_edits_keep_the_request_line_and_every_header() {
        let mut client = RequestHeader::build("POST", b"/a%2Fb?q=1", None).unwrap();
        client.insert_header("Host", "example.com").unwrap();
        client.append_header("X-Custom", "one").unwrap();
        client.append_header("x-custom", "two").unwrap();
        let request = forwarded_request(
            &client,
            2,
            |_| false,
            |headers| {
                headers.insert(X_REAL_IP, HeaderValue::from_static("10.0.0.1"));
            },
        )
        .unwrap();
        assert_eq!(request.method, http::Method::POST);
        assert_eq!(request.raw_path(), b"/a%2Fb?q=1");
        assert_eq!(request.headers["host"], "example.com");
        assert_eq!(request.headers.get_all("x-custom").iter().count(), 2);
        assert_eq!(request.headers["x-real-ip"], "10.0.0.1");
        let mut wire = Vec::new();
        request.header_to_h1_wire(&mut wire);
        let wire = String::from_utf8(wire).unwrap();
        assert!(wire.contains("Host: example.com\r\n"), "{wire}");
        assert!(wire.contains("x-real-ip: 10.0.0.1\r\n"), "{wire}");
    }

    #[test]
    fn a_target_the_uri_cannot_reproduce_survives() {
        let client = RequestHeader::build("GET", b"http://example.com/x?y", None).unwrap();
        let request = forwarded_request(&client, 0, |_| false, |_| ()).unwrap();
        assert_eq!(request.raw_path(), client.raw_path());
    }

    #[test]
    fn response_edits_keep_status_and_a_custom_reason() {
        let mut response = ResponseHeader::build(299, None).unwrap();
        response.set_reason_phrase(Some("Fine Anyway")).unwrap();
        response.insert_header("Content-Length", "2").unwrap();
        edit_response(&mut response, 1, |headers| {
            headers.insert(http::header::VIA, HeaderValue::from_static("1.1 gateway"));
        })
        .unwrap();
        assert_eq!(response.status.as_u16(), 299);
        assert_eq!(response.get_reason_phrase(), Some("Fine Anyway"));
        assert_eq!(response.headers["content-length"], "2");
        assert_eq!(response.headers["via"], "1.1 gateway");

        let mut ok = ResponseHeader::build(200, None).unwrap();
        edit_response(&mut ok, 0, |_| ()).unwrap();
        assert_eq!(ok.get_reason_phrase(), Some("OK"));
    }

    #[test]
    fn forwarded_for_appends_the_client() {
        let ip = ip_value("10.0.0.2".parse().unwrap());
        assert_eq!(append_to_list(None, &ip), "10.0.0.2");
        let existing = HeaderValue::from_static("1.2.3.4");
        assert_eq!(append_to_list(Some(&existing), &ip), "1.2.3.4, 10.0.0.2");
        for ip in [
            "0.0.0.0",
            "10.0.0.2",
            "127.0.0.1",
            "192.168.100.255",
            "9.99.100.1",
        ] {
            assert_eq!(ip_value(ip.parse().unwrap()), ip);
        }
        assert_eq!(ip_value("::1".parse().unwrap()), "::1");
        for address in ["10.0.0.2:8080", "127.0.0.1:0", "1.2.3.4:65535", "[::1]:443"] {
            assert_eq!(socket_address_text(address.parse().unwrap()), address);
        }
        // The value a thread made last is reused only for the same address.
        for ip in [
            "10.0.0.2",
            "10.0.0.2",
            "127.0.0.1",
            "10.0.0.2",
            "::1",
            "::1",
        ] {
            assert_eq!(ip_value(ip.parse().unwrap()), ip);
        }
    }

    #[test]
    fn via_appends_the_gateway() {
        let gateway = concat!("1.1 gateway/", env!("CARGO_PKG_VERSION"));
        assert_eq!(append_to_list(None, &VIA), gateway);
        let existing = HeaderValue::from_static("1.1 cdn");
        assert_eq!(
            append_to_list(Some(&existing), &VIA),
            format!("1.1 cdn, {gateway}").as_str()
        );
    }

    #[test]
    fn forwarded_headers_tell_the_upstream_about_the_client() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::HOST,
            HeaderValue::from_static("api.example.com:8000"),
        );
        headers.insert(X_FORWARDED_FOR, HeaderValue::from_static("1.2.3.4"));
        Forwarded {
            host: Some(HeaderValue::from_static("10.0.0.9:9000")),
            client_ip: Some(ip_value("10.0.0.2".parse().unwrap())),
            port: Some(number_value(8000)),
            https: false,
            original_path: Some(HeaderValue::from_static("/blog/x")),
            prefix: Some(HeaderValue::from_static("/blog")),
            request_id: HeaderValue::from_static("abc"),
        }
        .apply(&mut headers);
        let get = |name: &str| headers.get(name).unwrap().to_str().unwrap();
        assert_eq!(get("host"), "10.0.0.9:9000");
        assert_eq!(get("x-forwarded-for"), "1.2.3.4, 10.0.0.2");
        assert_eq!(get("x-real-ip"), "10.0.0.2");
        assert_eq!(get("x-forwarded-proto"), "http");
        assert_eq!(
            get("x-forwarded-host"),
            "api.example.com",
            "the client's host"
        );
        assert_eq!(get("x-forwarded-port"), "8000");
        assert_eq!(get("x-forwarded-path"), "/blog/x");
        assert_eq!(get("x-forwarded-prefix"), "/blog");
        assert_eq!(get(REQUEST_ID_HEADER), "abc");

        let mut preserved = HeaderMap::new();
        preserved.insert(header::HOST, HeaderValue::from_static("api.example.com"));
        Forwarded {
            host: None,
            client_ip: None,
            port: None,
            https: true,
            original_path: None,
            prefix: None,
            request_id: HeaderValue::from_static("abc"),
        }
        .apply(&mut preserved);
        assert_eq!(preserved[header::HOST], "api.example.com", "preserve_host");
        assert_eq!(preserved[X_FORWARDED_PROTO], "https", "over TLS");
        assert_eq!(preserved[X_FORWARDED_HOST], "api.example.com");
        assert!(!preserved.contains_key(X_FORWARDED_FOR));
        assert!(!preserved.contains_key(X_FORWARDED_PREFIX));
    }

    #[test]
    fn answered_responses_carry_via_latencies_and_the_request_id() {
        let mut headers = HeaderMap::new();
        answered(&mut headers, 3, 1, HeaderValue::from_static("abc"));
        assert_eq!(headers[header::VIA], VIA);
        assert_eq!(headers[X_KONG_UPSTREAM_LATENCY], "3");
        assert_eq!(headers[X_KONG_PROXY_LATENCY], "1");
        assert_eq!(headers[REQUEST_ID_HEADER], "abc");
    }

    #[test]
    fn numbers_are_header_values_made_once_or_on_demand() {
        for number in [0, 7, 999, 1000, 8000, 65_535, 65_536, u64::MAX] {
            assert_eq!(number_value(number), number.to_string().as_str());
        }
        assert_eq!(number_value(8000), number_value(8000));
        // More ports than a thread keeps: each still right, made on demand.
        for port in (1000..1000 + 3 * MADE_PORTS as u64).chain([1000, 8000]) {
            assert_eq!(number_value(port), port.to_string().as_str());
        }
    }

    #[test]
    fn host_loses_only_its_port() {
        let host = |text: &'static str| host_without_port(&HeaderValue::from_static(text));
        assert_eq!(host("example.com:8000").unwrap(), "example.com");
        assert_eq!(host("example.com").unwrap(), "example.com");
        assert_eq!(host("[::1]:8000").unwrap(), "[::1]");
        assert_eq!(host("[::1]").unwrap(), "[::1]");
    }
}
