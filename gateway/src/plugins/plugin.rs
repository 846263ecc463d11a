//! The plugin interface: what a plugin is ([`Plugin`]: its config parser, its build and its access
//! phase, waiting or not), what its access phase sees ([`AccessRequest`]) and what it decides
//! ([`Flow`]), and what parsing and building may consult ([`ParseContext`], [`BuildContext`]).

use std::{collections::HashMap, net::IpAddr, sync::Arc};

use http::HeaderValue;
use pingora::http::RequestHeader;
use serde_yaml::Value;

use super::{credentials::Credentials, effects::Effects};
use crate::{responses::LocalResponse, validator::Validator};

/// One kind of plugin. A plugin's module implements it; `table.rs` lists it with its name and
/// Kong priority, which is all that adding a plugin takes besides its module.
pub trait Plugin: Sized + Send + Sync + 'static {
    /// The typed `config` block, with Kong's defaults applied.
    type Config: std::fmt::Debug + Clone + PartialEq + Send + Sync;

    /// Reads the `config` block `value` at `path` (`plugins[0].config`): every problem is recorded
    /// in `validator` with its full path, and then `None`.
    fn parse(
        validator: &mut Validator,
        value: &Value,
        path: &str,
        context: &ParseContext<'_>,
    ) -> Option<Self::Config>;

    /// The live instance of `config`. Starts no task and connects nothing.
    fn build(config: &Self::Config, context: &BuildContext<'_>) -> Self;

    /// Whether `previous`, an instance of the snapshot being replaced, serves `config` as it is;
    /// then it is kept whole, with its state (rate-limiting counters). No by default.
    fn keeps(_previous: &Self, _config: &Self::Config, _context: &BuildContext<'_>) -> bool {
        false
    }

    /// The access phase of a plugin that never waits (most of them): records what to change in
    /// `effects`, then continues or answers. Continues by default.
    fn access_now(&self, _request: &AccessRequest<'_>, _effects: &mut Effects) -> Flow {
        Flow::Continue
    }

    /// The access phase: [`Plugin::access_now`], unless the plugin waits on something (a
    /// network call), in which case it writes this one instead.
    fn access(
        &self,
        request: &AccessRequest<'_>,
        effects: &mut Effects,
    ) -> impl Future<Output = Flow> + Send {
        std::future::ready(self.access_now(request, effects))
    }
}

/// What a plugin's config may refer to.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext<'a> {
    /// The file's consumers by username and id → index (key-auth's `anonymous`).
    pub consumers: &'a HashMap<String, usize>,
}

/// What building a plugin instance may use.
#[derive(Debug, Clone, Copy)]
pub struct BuildContext<'a> {
    /// The snapshot's consumers and key-auth credentials.
    pub credentials: &'a Arc<Credentials>,
    /// The name of the route the instance is scoped to.
    pub route: Option<&'a str>,
    /// The name of the service the instance is scoped to.
    pub service: Option<&'a str>,
}

/// What the access phase of a plugin sees of a request.
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    /// The client's request header.
    pub header: &'a RequestHeader,
    /// The normalised path (what routing matched).
    pub path: &'a str,
    /// How many bytes at the start of `path` the route's path matched (0: a route without paths).
    pub matched_len: usize,
    /// The client's address, when it has one (not a Unix socket).
    pub client_ip: Option<IpAddr>,
    /// The matched route's name.
    pub route: &'a str,
    /// The route's service's name.
    pub service: &'a str,
}

#[cfg(test)]
#[cfg(test)]
impl<'a> AccessRequest<'a> {
    /// A request to path `/` of route `r` of service `s` (plugin unit tests).
    pub fn for_test(header: &'a RequestHeader, client_ip: Option<IpAddr>) -> Self {
        Self {
            header,
            path: "/",
            matched_len: 0,
            client_ip,
            route: "r",
            service: "s",
        }
    }
}

/// A request header with `headers` appended in order (plugin unit tests).
#[cfg(test)]
pub fn test_header(method: &str, uri: &str, headers: &[(&'static str, &str)]) -> RequestHeader {
    let mut header = RequestHeader::build(method, uri.as_bytes(), None).unwrap();
    for (name, value) in headers {
        header.append_header(*name, *value).unwrap();
    }
    header
}

/// What a plugin decided.
#[derive(Debug)]
pub enum Flow {
    /// Go on to the next plugin / the upstream.
    Continue,
    /// Answer the client with this response; the upstream is not called.
    Respond(LocalResponse),
}

/// A header value from text the config validated (or a number); `None` only for bytes that cannot
/// be in a header, which validation rules out.
pub(crate) fn header_value(text: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(text).ok()
}
