//! blog-service integration tests: one binary (zero2prod layout).
//!
//! In-process tests run the service on a random port against a real nats-server (with a small auth
//! responder serving test users over real request-reply) and a real redis-server. `e2e`, `outage`
//! and `tracing` spawn the real auth-service and blog-service binaries (`processes`); `tracing`
//! puts the real gateway in front of them.

mod bad_input;
mod cache;
mod e2e;
mod health;
mod helpers;
mod lifecycle;
mod nats;
mod outage;
mod processes;
mod tracing;
mod validation;
