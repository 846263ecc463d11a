//! Test-only helpers, used as a dev-dependency only.
//!
//! Real infrastructure, never mocks: [`NatsServer`] and [`RedisServer`] start a real `nats-server` /
//! `redis-server` on a free port and stop it on drop (or point at `TEST_NATS_URL` /
//! `TEST_REDIS_URL`). [`spawn_bin`] runs a workspace binary as a child that dies with its guard.
//! Every wait polls a condition against a deadline ([`wait_until`], [`wait_for_tcp`]); nothing sleeps
//! and hopes.
//!
//! The synchronous parts ([`free_port`], [`wait_until`], [`wait_for_tcp`], [`which`], the probes,
//! the servers' command lines as [`Infra`]) come from `process-kit`, which `cargo xtask` uses too;
//! this crate adds what only tests need: guards that die with the test, and async waits.
//!
//! # Layout
//! - [`process`](ChildGuard): child processes owned by a test, with their logs.
//! - [`infra`](InfraServer): nats-server and redis-server ([`NatsServer`], [`RedisServer`]).
//! - [`wait`](wait_until_async): deadline-bound polling from async tests.
//! - [`otlp`](OtlpReceiver): an OTLP/HTTP traces receiver that decodes what it gets.
#![forbid(unsafe_code)]

mod infra;
mod otlp;
mod process;
mod wait;

pub use infra::{InfraKind, InfraServer, Nats, NatsServer, Redis, RedisServer};
pub use otlp::{OtlpReceiver, ReceivedSpan};
pub use process::{ChildGuard, bin_path, spawn_bin};
pub use process_kit::{Infra, free_port, wait_for_tcp, wait_until, which};
pub use wait::{http_ok, wait_until_async};
