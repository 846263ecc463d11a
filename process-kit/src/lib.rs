//! Local processes, for the tests (`testkit`) and the developer tooling (`xtask`) alike.
//!
//! What both need to run programs on this machine and know when they serve: finding a program,
//! picking a free loopback port, starting a child with its output in a log file, sending it a
//! signal, polling a condition against a deadline, and the two readiness probes (something accepts
//! TCP connections; `GET <path>` answers 200). Also the command lines of the infrastructure servers
//! the services need, `nats-server` and `redis-server`, so that tests and the local stack start
//! them alike. Synchronous and std-only: the async forms live in `testkit`.
//!
//! Not here: supervision with restarts (`xtask`'s `Children`), test guards that print logs on
//! panic (`testkit`'s `ChildGuard`).
//!
//! # Layout
//! - [`program`](which): finding an installed program.
//! - [`ports`](free_port): free loopback ports.
//! - [`child`](spawn_logged): children with their output in a log file, signals.
//! - [`wait`](wait_until): deadline-bound polling and the TCP probe.
//! - [`http`](http_ok): the `GET … answers 200` probe.
//! - [`infra`](Infra): `nats-server` and `redis-server` command lines.
#![forbid(unsafe_code)]

mod child;
mod http;
mod infra;
mod ports;
mod program;
mod wait;

pub use child::{signal, spawn_logged};
pub use http::{http_ok, http_ok_with_headers};
pub use infra::Infra;
pub use ports::free_port;
pub use program::which;
pub use wait::{POLL_INTERVAL, accepts_tcp, listening, wait_for_tcp, wait_until};
