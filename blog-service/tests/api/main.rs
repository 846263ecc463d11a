//! blog-service integration tests: one binary (zero2prod layout).
//!
//! In-process tests run the service on a random port against a real nats-server (with a small auth
//! responder serving test users over real request-reply) and a real redis-server. `e2e` and `outage`
//! spawn the real auth-service and blog-service binaries.

mod bad_input;
mod cache;
mod e2e;
mod health;
mod helpers;
mod lifecycle;
mod nats;
mod outage;
mod validation;
