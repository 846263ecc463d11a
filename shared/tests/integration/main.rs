//! Integration tests of the shared crate over real connections: a real `nats-server` per test and
//! real HTTP listeners on free ports.

mod http;
mod nats;
