//! Test-only helpers, used as a dev-dependency only.
//!
//! Real infrastructure, never mocks: [`NatsServer`] and [`RedisServer`] start a real `nats-server` /
//! `redis-server` on a free port and stop it on drop (or point at `TEST_NATS_URL` /
//! `TEST_REDIS_URL`). [`spawn_bin`] runs a workspace binary as a child that dies with its guard.
//! Every wait polls a condition against a deadline ([`wait_until`], [`wait_for_tcp`]); nothing sleeps
//! and hopes.
//!
//! # Layout
//! - [`ports`](free_port): free loopback ports.
//! - [`process`](ChildGuard): child processes owned by a test, with their logs.
//! - [`infra`](NatsServer): nats-server and redis-server.
//! - [`wait`](wait_until): deadline-bound polling.
#![forbid(unsafe_code)]

mod infra;
mod ports;
mod process;
mod wait;

pub use infra::{NatsServer, RedisServer};
pub use ports::free_port;
pub use process::{ChildGuard, bin_path, spawn_bin};
pub use wait::{http_ok, wait_for_tcp, wait_until, wait_until_async};
