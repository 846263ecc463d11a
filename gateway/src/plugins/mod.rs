//! Plugins: one module per plugin (its `config` block, its parser, its live instance, its access
//! phase and their tests), listed once in [`table`]. Instances are built once per snapshot,
//! resolved per route into a [`PluginChain`] (Kong's precedence: a route's instance beats its
//! service's, which beats the global one; one instance per plugin name), ordered by Kong's
//! priorities and run by the engine when it has matched a route (`engine/decide.rs`).
//!
//! The interface: each plugin has an access phase that sees an [`AccessRequest`] (the header, the
//! normalised path, the client IP, route and service) and records what it wants changed in the
//! request's [`Effects`] (upstream headers, hidden query arguments, response headers for the client,
//! the consumer, the correlation id, a body limit). It returns [`Flow::Continue`] or
//! [`Flow::Respond`] with a [`LocalResponse`](crate::responses::LocalResponse); the first plugin that answers ends the chain. The
//! engine applies the effects to the upstream request, to the client's answer (proxied or its
//! own), and to the request body as it streams ([`BodyLimit`]).
//!
//! Execution order (Kong's `PRIORITY`, highest first):
//! - [`opentelemetry`] (first; Kong's 14 orders only its log phase): `opentelemetry`.
//! - [`correlation_id`] (100001): `correlation-id`.
//! - [`cors`] (2000): `cors`.
//! - [`key_auth`] (1250): `key-auth` with the file's consumers and credentials.
//! - [`api_key`] (1000): `apikey-auth-plugin`, the seed's API-key check against the auth replicas.
//! - [`ip_restriction`] (990): `ip-restriction`.
//! - [`request_size`] (951): `request-size-limiting`.
//! - [`rate_limiting`] (910): `rate-limiting`, local (governor) or Redis.
//! - [`response_transformer`] (800): `response-transformer`, the response's headers.

pub mod api_key;
mod chain;
pub mod correlation_id;
pub mod cors;
pub mod credentials;
pub mod effects;
pub mod ip_restriction;
pub mod key_auth;
pub mod opentelemetry;
mod plugin;
pub mod rate_limiting;
pub mod request_size;
pub mod response_transformer;
pub mod table;
pub mod trace;

#[cfg(test)]
mod config_tests;

pub use chain::PluginChain;
pub use effects::{BodyLimit, Effects};
#[cfg(test)]
pub use plugin::test_header;
pub use plugin::{AccessRequest, BuildContext, Flow, ParseContext};
pub use table::{PLUGIN_NAMES, PluginConfig, PluginInstance};
