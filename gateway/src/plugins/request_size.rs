//! `request-size-limiting` (Kong's): a `Content-Length` above `allowed_payload_size` × `size_unit`
//! is answered 413 `{"message":"Request size limit exceeded"}` before anything is proxied (417 when
//! the client sent `Expect: 100-continue`, as Kong). A body without a length (chunked) is counted
//! as it streams, and so is every other body whatever its headers claim: the engine stops it with
//! 413 once it passes the limit (the limit is handed over through [`Effects::limit_body`]).
//!
//! `require_content_length: true` answers 411 `{"message":"A valid Content-Length header is
//! required"}` to a request that has a body of unknown length (chunked); a request without a body
//! needs no length.

use http::header;
use serde::Deserialize;
use serde_yaml::Value;

use super::{
    effects::Effects,
    plugin::{AccessRequest, BuildContext, Flow, ParseContext, Plugin},
};
use crate::{
    responses::{self, SIZE_LIMIT_MESSAGE},
    validator::Validator,
};

/// `config` of `request-size-limiting`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequestSizeLimitingConfig {
    allowed_payload_size: Option<u64>,
    size_unit: Option<String>,
    require_content_length: Option<bool>,
}

/// `request-size-limiting` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSizeLimitingConfig {
    /// `allowed_payload_size` in `size_unit`s (default 128).
    pub allowed_payload_size: u64,
    /// `size_unit` (default megabytes).
    pub size_unit: SizeUnit,
    /// Refuse requests without `Content-Length` with 411 (default false).
    pub require_content_length: bool,
}

impl RequestSizeLimitingConfig {
    /// The limit in bytes (validation made sure it fits).
    pub fn limit_bytes(&self) -> u64 {
        self.allowed_payload_size
            .saturating_mul(self.size_unit.bytes())
    }
}

/// `size_unit` of `request-size-limiting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeUnit {
    /// 1.
    Bytes,
    /// 1024.
    Kilobytes,
    /// 1024 × 1024.
    Megabytes,
}

impl SizeUnit {
    /// Bytes per unit.
    pub fn bytes(self) -> u64 {
        match self {
            Self::Bytes => 1,
            Self::Kilobytes => 1024,
            Self::Megabytes => 1024 * 1024,
        }
    }
}

impl Validator {
    fn request_size_config(
        &mut self,
        value: &Value,
        path: &str,
    ) -> Option<RequestSizeLimitingConfig> {
        let raw = self.de::<RawRequestSizeLimitingConfig>(value, path)?;
        let errors_before = self.errors.len();
        let size_unit = match raw.size_unit.as_deref() {
            None | Some("megabytes") => SizeUnit::Megabytes,
            Some("kilobytes") => SizeUnit::Kilobytes,
            Some("bytes") => SizeUnit::Bytes,
            Some(other) => {
                self.error(
                    format!("{path}.size_unit"),
                    format!("expected one of: megabytes, kilobytes, bytes, got {other:?}"),
                );
                SizeUnit::Megabytes
            }
        };
        let allowed_payload_size = raw.allowed_payload_size.unwrap_or(128);
        if allowed_payload_size
            .checked_mul(size_unit.bytes())
            .is_none()
        {
            self.error(
                format!("{path}.allowed_payload_size"),
                format!("{allowed_payload_size} {size_unit:?} is too large"),
            );
        }
        (self.errors.len() == errors_before).then(|| RequestSizeLimitingConfig {
            allowed_payload_size,
            size_unit,
            require_content_length: raw.require_content_length.unwrap_or(false),
        })
    }
}

impl Plugin for RequestSizeLimiting {
    type Config = RequestSizeLimitingConfig;

    fn parse(
        validator: &mut Validator,
        value: &Value,
        path: &str,
        _context: &ParseContext<'_>,
    ) -> Option<RequestSizeLimitingConfig> {
        validator.request_size_config(value, path)
    }

    fn build(config: &RequestSizeLimitingConfig, _context: &BuildContext<'_>) -> Self {
        Self::new(config.clone())
    }

    /// The access phase: checks `Content-Length`, or hands the limit to the body filter.
    fn access_now(&self, request: &AccessRequest<'_>, effects: &mut Effects) -> Flow {
        let headers = &request.header.headers;
        let length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok());
        if let Some(length) = length
            && length > self.limit
        {
            let expects_continue = headers
                .get(header::EXPECT)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.trim().eq_ignore_ascii_case("100-continue"));
            let status = if expects_continue { 417 } else { 413 };
            return Flow::Respond(responses::plugin_error(status, SIZE_LIMIT_MESSAGE));
        }
        if length.is_none()
            && self.require_content_length
            && headers.contains_key(header::TRANSFER_ENCODING)
        {
            return Flow::Respond(responses::plugin_error(
                411,
                "A valid Content-Length header is required",
            ));
        }
        // Every body is counted as it streams, whatever its headers claim: a length the check
        // above could not read (`Content-Length: 100000000, 100000000`) limits nothing.
        effects.limit_body(self.limit);
        Flow::Continue
    }
}

/// One configured `request-size-limiting` instance.
#[derive(Debug)]
pub struct RequestSizeLimiting {
    limit: u64,
    require_content_length: bool,
}

impl RequestSizeLimiting {
    /// An instance of `config`.
    pub fn new(config: RequestSizeLimitingConfig) -> Self {
        Self {
            limit: config.limit_bytes(),
            require_content_length: config.require_content_length,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::plugins::test_header;

    use super::*;

    fn plugin(require_content_length: bool) -> RequestSizeLimiting {
        RequestSizeLimiting::new(RequestSizeLimitingConfig {
            allowed_payload_size: 1,
            size_unit: SizeUnit::Kilobytes,
            require_content_length,
        })
    }

    fn run(plugin: &RequestSizeLimiting, headers: &[(&'static str, &str)]) -> (Flow, Effects) {
        let header = test_header("POST", "/", headers);
        let request = AccessRequest::for_test(&header, None);
        let mut effects = Effects::default();
        let flow = plugin.access_now(&request, &mut effects);
        (flow, effects)
    }

    fn status(flow: &Flow) -> Option<u16> {
        match flow {
            Flow::Respond(response) => Some(response.status),
            Flow::Continue => None,
        }
    }

    #[test]
    fn content_length_over_the_limit_is_413_or_417_with_expect() {
        let plugin = plugin(false);
        assert_eq!(status(&run(&plugin, &[("content-length", "1024")]).0), None);
        let (flow, _) = run(&plugin, &[("content-length", "1025")]);
        let Flow::Respond(response) = flow else {
            panic!("refused")
        };
        assert_eq!(response.status, 413);
        assert_eq!(
            response.body,
            r#"{"message":"Request size limit exceeded"}"#
        );
        assert_eq!(
            status(
                &run(
                    &plugin,
                    &[("content-length", "5000"), ("expect", "100-continue")]
                )
                .0
            ),
            Some(417)
        );
    }

    #[test]
    fn a_body_whose_length_cannot_be_read_is_limited_while_it_streams() {
        let (flow, effects) = run(
            &plugin(false),
            &[("content-length", "100000000, 100000000")],
        );
        assert_eq!(status(&flow), None);
        let mut limit = effects.body_limit();
        assert!(limit.count(1024));
        assert!(!limit.count(1), "the 1025th byte is over");
    }

    #[test]
    fn a_chunked_body_is_limited_while_it_streams_or_refused_411_when_length_is_required() {
        let (flow, effects) = run(&plugin(false), &[("transfer-encoding", "chunked")]);
        assert_eq!(status(&flow), None);
        let mut limit = effects.body_limit();
        assert!(limit.count(1024));
        assert!(!limit.count(1), "the 1025th byte is over");

        let (flow, _) = run(&plugin(true), &[("transfer-encoding", "chunked")]);
        assert_eq!(status(&flow), Some(411));
        assert_eq!(
            status(&run(&plugin(true), &[]).0),
            None,
            "no body, no length needed"
        );
    }
}
