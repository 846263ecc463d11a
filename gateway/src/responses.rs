//! The gateway's own answers, with Kong's status codes and bodies (spec gateway.md section 3), and
//! the per-request id (`X-Kong-Request-Id`, 32 hex characters), and [`LocalResponse`], the shape of
//! every answer the gateway writes itself (its errors and the plugins' exits).

use std::cell::RefCell;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use rand::{Rng, SeedableRng, rngs::SmallRng};

use crate::hex::write_hex;

/// `Content-Type` of every gateway-generated body.
pub const JSON: &str = "application/json; charset=utf-8";

/// Kong's message for an over-sized request (`request-size-limiting`'s 413).
pub const SIZE_LIMIT_MESSAGE: &str = "Request size limit exceeded";

/// The request-id header, on every response and on the upstream request.
pub const REQUEST_ID_HEADER: &str = "x-kong-request-id";

/// A request id: 32 lowercase hex characters, kept on the stack.
#[derive(Clone, Copy)]
pub struct RequestId([u8; 32]);

impl RequestId {
    /// A fresh random id, from a fast per-thread generator seeded by the OS (an id names a
    /// request in logs and traces; it is no secret, so it needs no cryptographic generator).
    pub fn generate() -> Self {
        thread_local! {
            static IDS: RefCell<SmallRng> = RefCell::new(SmallRng::from_os_rng());
        }
        let mut random = [0u8; 16];
        IDS.with(|ids| ids.borrow_mut().fill(&mut random));
        let mut out = [0u8; 32];
        write_hex(&mut out, &random);
        Self(out)
    }

    /// The id as a header value.
    pub fn header_value(&self) -> http::HeaderValue {
        http::HeaderValue::from_bytes(&self.0).expect("BUG: request ids are ASCII hex")
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("BUG: request ids are ASCII hex")
    }
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A response the gateway writes itself.
#[derive(Debug, Clone)]
pub struct LocalResponse {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Bytes,
    /// `Content-Type`, if there is a body to describe.
    pub content_type: Option<&'static str>,
    /// Extra headers (`WWW-Authenticate`, `Retry-After`, CORS preflight headers, ...), applied
    /// after the request's [`Effects`].
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl LocalResponse {
    /// A JSON response.
    pub fn json(status: u16, body: Bytes) -> Self {
        Self {
            status,
            body,
            content_type: Some(JSON),
            headers: Vec::new(),
        }
    }

    /// An empty response (a CORS preflight answer).
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            body: Bytes::new(),
            content_type: None,
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    #[cfg(test)]
    /// The value of header `name`, if set (tests).
    pub fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value)
    }
}

/// Why the gateway answered a request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayError {
    /// 404: no route matched.
    NoRoute,
    /// 503: the route has no service.
    NoService,
    /// 503: the service host does not resolve.
    NameResolution,
    /// 503: no healthy target with weight > 0.
    NoPeer,
    /// 502: connect failure / bad upstream response after retries.
    BadGateway,
    /// 504: the upstream timed out.
    Timeout,
    /// 400: malformed request.
    BadRequest,
    /// 400: a header line or the whole header block is too large (nginx's 494, sent as 400).
    HeaderTooLarge,
    /// 414: a request target over 8 KiB (nginx's answer).
    UriTooLong,
    /// 408: the client stopped sending its request body.
    RequestTimeout,
    /// 405: a method the gateway does not proxy (`CONNECT`).
    MethodNotAllowed,
    /// 413: a streamed request body passed `request-size-limiting`'s limit (a plugin's exit).
    PayloadTooLarge,
}

impl GatewayError {
    /// Status and Kong's message.
    pub fn status_and_message(self) -> (u16, &'static str) {
        match self {
            Self::NoRoute => (404, "no Route matched with those values"),
            Self::NoService => (503, "no Service found with those values"),
            Self::NameResolution => (503, "name resolution failed"),
            Self::NoPeer => (503, "failure to get a peer from the ring-balancer"),
            Self::BadGateway => (
                502,
                "An invalid response was received from the upstream server",
            ),
            Self::Timeout => (504, "The upstream server is timing out"),
            Self::BadRequest => (400, "Bad request"),
            Self::HeaderTooLarge => (400, "Request header or cookie too large"),
            Self::UriTooLong => (414, "Request-URI Too Large"),
            Self::RequestTimeout => (408, "Request timeout"),
            Self::MethodNotAllowed => (405, "Method not allowed"),
            Self::PayloadTooLarge => (413, SIZE_LIMIT_MESSAGE),
        }
    }

    /// The response: `{"message": ..., "request_id": ...}`; a plugin's exit is `{"message": ...}`.
    pub fn response(self, request_id: &RequestId) -> LocalResponse {
        let (status, message) = self.status_and_message();
        if self == Self::PayloadTooLarge {
            return plugin_error(status, message);
        }
        LocalResponse::json(
            status,
            Bytes::from(format!(
                r#"{{"message":"{message}","request_id":"{}"}}"#,
                request_id.as_str()
            )),
        )
    }
}

/// A plugin's own exit: `{"message": ...}` (Kong's `kong.response.exit`).
pub fn plugin_error(status: u16, message: &str) -> LocalResponse {
    LocalResponse::json(
        status,
        Bytes::from(serde_json::json!({ "message": message }).to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_32_hex_characters_and_differ() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert_eq!(a.as_str().len(), 32);
        assert!(
            a.as_str()
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a.as_str(), b.as_str());
    }

    #[test]
    fn gateway_errors_render_kong_bodies() {
        let id = RequestId::generate();
        let response = GatewayError::NoRoute.response(&id);
        assert_eq!(response.status, 404);
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["message"], "no Route matched with those values");
        assert_eq!(body["request_id"], id.as_str());
    }
}
