//! What the plugins of one request decided beyond "continue or answer": headers to change on the
//! upstream request, headers to add to the client's response (proxied *and* gateway-generated),
//! query arguments to hide, the authenticated consumer, the correlation id and the body limit.
//!
//! One [`Effects`] lives in the engine's per-request state. It starts empty and allocation-free
//! (`Vec::new` and `None` allocate nothing), so requests on routes without plugins pay nothing.

use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};

use super::{credentials::ConsumerRecord, trace::RequestTrace};

/// One header change, applied in the order it was recorded.
#[derive(Debug, Clone)]
pub enum HeaderOp {
    /// Replace every value of the header.
    Set(HeaderName, HeaderValue),
    /// Add a value, keeping the others (`Vary`).
    Append(HeaderName, HeaderValue),
    /// Remove the header.
    Remove(HeaderName),
    /// A plugin's own rules over the whole header (Kong's `header_filter` phase).
    Filter(Arc<dyn HeaderFilter>),
}

/// A plugin's header rules that depend on the headers themselves (rename, replace if present, add
/// if absent), run on the client's response in the order the plugins recorded them.
pub trait HeaderFilter: std::fmt::Debug + Send + Sync {
    /// Changes `headers`.
    fn filter(&self, headers: &mut HeaderMap);
}

impl HeaderOp {
    fn apply(&self, headers: &mut HeaderMap) {
        match self {
            Self::Set(name, value) => {
                headers.insert(name.clone(), value.clone());
            }
            Self::Append(name, value) => {
                headers.append(name.clone(), value.clone());
            }
            Self::Remove(name) => {
                headers.remove(name);
            }
            Self::Filter(filter) => filter.filter(headers),
        }
    }
}

/// Who key-auth authenticated (or the anonymous consumer it fell back to).
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The consumer.
    pub consumer: Arc<ConsumerRecord>,
    /// The credential's id; `None` for the anonymous consumer.
    pub credential_id: Option<Arc<str>>,
}

/// The per-request effects of the plugins; see the module doc.
#[derive(Debug, Default)]
pub struct Effects {
    upstream_headers: Vec<HeaderOp>,
    response_headers: Vec<HeaderOp>,
    hidden_query_args: Vec<HeaderName>,
    /// The request's correlation id (`correlation-id`), as sent upstream; for the access log.
    pub correlation_id: Option<String>,
    /// The authenticated consumer (`key-auth`), for `rate-limiting`'s `limit_by` and the log.
    pub consumer: Option<Authenticated>,
    /// Most request-body bytes allowed (`request-size-limiting`).
    body_limit: Option<u64>,
    /// The request's trace (`opentelemetry`), which the engine ends with the request.
    pub trace: Option<RequestTrace>,
}

/// A request body's limit and what has been counted against it while it streams.
#[derive(Debug, Clone, Copy, Default)]
pub struct BodyLimit {
    limit: Option<u64>,
    received: u64,
}

impl BodyLimit {
    /// Counts `len` more body bytes; `false` once the body is over its limit.
    pub fn count(&mut self, len: usize) -> bool {
        let Some(limit) = self.limit else {
            return true;
        };
        self.received = self
            .received
            .saturating_add(u64::try_from(len).unwrap_or(u64::MAX));
        self.received <= limit
    }
}

impl Effects {
    /// Sets `name` on the upstream request (replacing what the client sent).
    pub fn set_upstream_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.upstream_headers.push(HeaderOp::Set(name, value));
    }

    /// Removes `name` from the upstream request.
    pub fn remove_upstream_header(&mut self, name: HeaderName) {
        self.upstream_headers.push(HeaderOp::Remove(name));
    }

    /// Sets `name` on the response to the client.
    pub fn set_response_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.response_headers.push(HeaderOp::Set(name, value));
    }

    /// Adds a value of `name` to the response to the client.
    pub fn append_response_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.response_headers.push(HeaderOp::Append(name, value));
    }

    /// Removes `name` from the response to the client (e.g. an upstream's CORS header).
    pub fn remove_response_header(&mut self, name: HeaderName) {
        self.response_headers.push(HeaderOp::Remove(name));
    }

    /// Runs `filter` over the response to the client, after the changes recorded before it.
    pub fn filter_response_headers(&mut self, filter: Arc<dyn HeaderFilter>) {
        self.response_headers.push(HeaderOp::Filter(filter));
    }

    /// Drops the query argument `name` (every occurrence) from the upstream URI.
    pub fn hide_query_arg(&mut self, name: HeaderName) {
        if !self.hidden_query_args.contains(&name) {
            self.hidden_query_args.push(name);
        }
    }

    /// Query arguments to drop from the upstream URI (lower-case names, compared as written).
    pub fn hidden_query_args(&self) -> &[HeaderName] {
        &self.hidden_query_args
    }

    /// Applies the recorded upstream header changes.
    pub fn apply_to_upstream(&self, headers: &mut HeaderMap) {
        for op in &self.upstream_headers {
            op.apply(headers);
        }
    }

    /// Applies the recorded response header changes.
    pub fn apply_to_response(&self, headers: &mut HeaderMap) {
        for op in &self.response_headers {
            op.apply(headers);
        }
    }

    /// Limits the request body to `max` bytes (the lowest limit wins).
    pub fn limit_body(&mut self, max: u64) {
        self.body_limit = Some(self.body_limit.map_or(max, |limit| limit.min(max)));
    }

    /// The body limit the plugins set, nothing counted yet.
    pub fn body_limit(&self) -> BodyLimit {
        BodyLimit {
            limit: self.body_limit,
            received: 0,
        }
    }

    #[cfg(test)]
    /// The recorded upstream header changes (tests).
    pub fn upstream_headers(&self) -> &[HeaderOp] {
        &self.upstream_headers
    }

    #[cfg(test)]
    /// The recorded response header changes (tests).
    pub fn response_headers(&self) -> &[HeaderOp] {
        &self.response_headers
    }

    #[cfg(test)]
    /// The value a response would get for `name` from these effects alone (tests).
    pub fn response_header(&self, name: &str) -> Option<&HeaderValue> {
        self.response_headers
            .iter()
            .rev()
            .find_map(|op| match op {
                HeaderOp::Set(n, v) | HeaderOp::Append(n, v) if n == name => Some(Some(v)),
                HeaderOp::Remove(n) if n == name => Some(None),
                _ => None,
            })
            .flatten()
    }

    #[cfg(test)]
    /// The value the upstream request would get for `name` from these effects alone (tests);
    /// `Some(None)` when it is removed.
    pub fn upstream_header(&self, name: &str) -> Option<Option<&HeaderValue>> {
        self.upstream_headers.iter().rev().find_map(|op| match op {
            HeaderOp::Set(n, v) | HeaderOp::Append(n, v) if n == name => Some(Some(v)),
            HeaderOp::Remove(n) if n == name => Some(None),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_effects_is_empty_and_changes_nothing() {
        let effects = Effects::default();
        let mut request = HeaderMap::new();
        request.insert("apikey", HeaderValue::from_static("k"));
        effects.apply_to_upstream(&mut request);
        assert_eq!(request.len(), 1);
        assert!(effects.hidden_query_args().is_empty());
        assert!(effects.upstream_headers().is_empty() && effects.response_headers().is_empty());
    }

    #[test]
    fn header_ops_apply_in_order() {
        let mut effects = Effects::default();
        let name = HeaderName::from_static("x-consumer-id");
        effects.set_upstream_header(name.clone(), HeaderValue::from_static("a"));
        effects.remove_upstream_header(HeaderName::from_static("apikey"));
        let mut request = HeaderMap::new();
        request.insert("apikey", HeaderValue::from_static("k"));
        request.insert("x-consumer-id", HeaderValue::from_static("spoofed"));
        effects.apply_to_upstream(&mut request);
        assert_eq!(request.get("x-consumer-id").unwrap(), "a");
        assert!(request.get("apikey").is_none());

        effects.set_response_header(
            HeaderName::from_static("access-control-allow-origin"),
            HeaderValue::from_static("*"),
        );
        effects.append_response_header(http::header::VARY, HeaderValue::from_static("Origin"));
        let mut response = HeaderMap::new();
        response.insert("vary", HeaderValue::from_static("Accept"));
        effects.apply_to_response(&mut response);
        assert_eq!(response.get_all("vary").iter().count(), 2);
        assert_eq!(response.get("access-control-allow-origin").unwrap(), "*");
    }

    #[test]
    fn body_counting_stops_at_the_lowest_limit() {
        let mut effects = Effects::default();
        assert!(
            effects.body_limit().count(1 << 20),
            "no limit: anything goes"
        );
        effects.limit_body(10);
        effects.limit_body(100);
        let mut limit = effects.body_limit();
        assert!(limit.count(6));
        assert!(limit.count(4), "exactly the limit is fine");
        assert!(!limit.count(1));
    }
}
