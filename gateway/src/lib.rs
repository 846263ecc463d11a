//! A Kong-compatible API gateway on Cloudflare's Pingora.
//!
//! It reads a Kong declarative file (`gateway.yml`), routes and load-balances requests to upstream
//! targets, runs plugins (the seed's API-key check against the auth replicas and Kong's
//! `rate-limiting`, `cors`, `request-size-limiting`, `correlation-id`, `ip-restriction`,
//! `key-auth` and `response-transformer`), and swaps in a new config atomically when the file
//! changes. The binary uses [`cli`] and [`server`]; every other module is private to the crate.
//!
//! # Layout
//! - [`cli`]: command line (`run`, `check`).
//! - `config`: the file format (`raw`), validation with paths and lines, the validated `model`.
//! - `validator`: the problem collector the config and each plugin's config parser write to.
//! - `address`: host, port and URL syntax.
//! - `hex`: lowercase hex of bytes (request, trace and span ids).
//! - `secret`: keys and passwords from the file, redacted in `Debug`.
//! - `router`: Kong's route matching, path normalisation and upstream path rules; pure.
//! - `balancer`: smooth weighted round robin, least connections, consistent hashing; pure.
//! - `metrics`: Prometheus metrics under Kong's names.
//! - `runtime`: the immutable snapshot a request uses (routes, destinations, plugin chains).
//! - `plugins`: one module per plugin, listed once in `plugins/table.rs`; per-route chains in
//!   Kong's priority order, and the per-request effects they leave for the proxy.
//! - `engine`: the request engine on pingora-core: one request from head to log line, the
//!   upstream exchange and its retries, WebSocket tunnels, HTTP/1 header rules.
//! - `forwarding`: the `X-Forwarded-*` set and the headers on proxied responses.
//! - `responses`: the gateway's own answers (Kong's bodies) and request ids.
//! - `reload`: file watching, SIGHUP and the atomic swap.
//! - `health`: active and passive health checks of upstream targets.
//! - `admin`: the admin API (Kong's read endpoints, `POST /config`, `/metrics`).
//! - `access_log`: one line per request, written off the request path.
//! - [`server`]: assembling the Pingora server (`run`) and `check`.
//! - `tls`: certificates per SNI of a snapshot, TLS to upstreams and their probes.
//! - `sni`: the TLS listener's handshake callback, from the current snapshot.
#![forbid(unsafe_code)]

mod access_log;
mod address;
mod admin;
mod balancer;
pub mod cli;
mod config;
mod engine;
mod forwarding;
mod health;
mod hex;
mod metrics;
mod plugins;
mod reload;
mod responses;
mod router;
mod runtime;
mod secret;
pub mod server;
mod sni;
mod tls;
mod validator;
