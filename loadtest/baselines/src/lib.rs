//! Benchmark baselines for `cargo xtask bench`, kept out of the product: two Pingora proxies with
//! nothing of the gateway on top, so that the bench can tell Pingora's cost from the gateway's.
//!
//! - `bare_proxy`: pingora-proxy's `ProxyHttp` with round robin and the prefix strip.
//! - `core_proxy`: the same on pingora-core alone (its listener, HTTP/1 codec and connector),
//!   the floor under the gateway's own engine.
//!
//! Both take `<listen> <upstream1> <upstream2> [threads]` ([`baseline`]).

pub mod baseline;
pub mod idle;
