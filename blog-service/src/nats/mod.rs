//! NATS: blog asks auth (spec 1.3 middleware, 2.3). Blog serves no subjects of its own; it only
//! registers its micro service (spec 2.2: its groups are empty).

pub mod client;

pub use client::AuthClient;
