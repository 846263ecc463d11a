//! The upstream request ([`UpstreamRequest`]): the client's head less its hop-by-hop headers and
//! `Expect`, framed for its body, with the forwarding headers, the plugins' headers and the
//! rewritten URI; always HTTP/1.1.

use http::{HeaderName, HeaderValue, Version, header};
use pingora::http::RequestHeader;

use super::hop_by_hop::{self, Nominations};
use crate::{forwarding, plugins::Effects};

/// What the upstream request is made of, beside the client's head.
pub(super) struct UpstreamRequest<'a> {
    pub(super) nominated: &'a Nominations,
    pub(super) websocket: bool,
    pub(super) has_body: bool,
    /// Upstream keepalive is on (else every request says `Connection: close`).
    pub(super) keepalive: bool,
    /// Keep the client's `Host` (the route's `preserve_host`).
    pub(super) preserve_host: bool,
    pub(super) client_ip: Option<HeaderValue>,
    pub(super) port: Option<HeaderValue>,
    /// The client connection is TLS.
    pub(super) https: bool,
    pub(super) request_id: HeaderValue,
    pub(super) upstream_uri: Option<&'a str>,
    pub(super) forwarded_prefix: Option<HeaderValue>,
    pub(super) effects: &'a Effects,
}

impl UpstreamRequest<'_> {
    /// The upstream request for a target whose `Host` is `host`: the client's, less its
    /// hop-by-hop headers and `Expect`, framed for its body, with the forwarding headers, the
    /// plugins' headers and the rewritten URI. Always HTTP/1.1, whatever the client spoke.
    pub(super) fn build(
        &self,
        client: &RequestHeader,
        host: Option<HeaderValue>,
    ) -> pingora::Result<RequestHeader> {
        let forwarded = forwarding::Forwarded {
            host: host.filter(|_| !self.preserve_host),
            client_ip: self.client_ip.clone(),
            port: self.port.clone(),
            https: self.https,
            original_path: HeaderValue::from_str(client.uri.path()).ok(),
            prefix: self.forwarded_prefix.clone(),
            request_id: self.request_id.clone(),
        };
        let skip = |name: &HeaderName| {
            name == header::EXPECT || hop_by_hop::is_hop_by_hop(name, self.nominated)
        };
        let mut header = forwarding::forwarded_request(client, 12, skip, |headers| {
            hop_by_hop::frame_request(headers, self.has_body);
            hop_by_hop::set_upstream_connection(headers, self.websocket, self.keepalive);
            // An HTTP/2 request names its host in `:authority`.
            if !headers.contains_key(header::HOST)
                && let Some(authority) = client.uri.authority()
                && let Ok(host) = HeaderValue::from_str(authority.as_str())
            {
                headers.insert(header::HOST, host);
            }
            forwarded.apply(headers);
            // Last, so that plugins win (consumer headers replace forged ones, hidden keys go).
            self.effects.apply_to_upstream(headers);
        })?;
        header.set_version(Version::HTTP_11);
        match self.upstream_uri {
            Some(uri) => header.set_raw_path(uri.as_bytes())?,
            None if client.version == Version::HTTP_2 => {
                let target = client
                    .uri
                    .path_and_query()
                    .map_or("/", |target| target.as_str());
                header.set_raw_path(target.as_bytes())?;
            }
            None => {}
        }
        Ok(header)
    }
}
