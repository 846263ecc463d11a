//! End-to-end tests: the real `gateway` binary on free ports, in front of real HTTP upstream
//! servers (axum, in-process), a fake auth verification endpoint that counts its calls, and a real
//! `redis-server` for the shared rate limit.

mod admin;
mod api_key;
mod bad_input;
mod balancing;
mod conformance;
mod health;
mod helpers;
mod plugins;
mod protocol;
mod rate_limiting;
mod reload;
mod routing;
mod tls;
mod tracing;
