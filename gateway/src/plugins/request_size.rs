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

use super::{AccessRequest, Effects, Flow};
use crate::{config::model::RequestSizeLimitingConfig, responses};

/// Kong's message for an over-sized request.
pub const SIZE_LIMIT_MESSAGE: &str = "Request size limit exceeded";

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

    /// The access phase: checks `Content-Length`, or hands the limit to the body filter.
    pub fn access(&self, request: &AccessRequest<'_>, effects: &mut Effects) -> Flow {
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

#[cfg(test)]
mod tests {
    use crate::plugins::test_header;

    use super::*;
    use crate::config::model::SizeUnit;

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
        let flow = plugin.access(&request, &mut effects);
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
