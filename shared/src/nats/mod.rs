//! NATS request-reply, wire-identical to gomicro (spec `api.md` section 2).
//!
//! - The wire envelope [`NatsEnvelope`] `{"data": ..., "error": "..."}` (both omitted when empty).
//! - Subjects `<service>.<group>.<endpoint>` ([`group_prefix`], [`subjects`]); queue group `q`.
//! - [`client::NatsClient`]: typed requests with a configurable timeout; errors read `nats: timeout`,
//!   `nats: no responders available for request` or the remote `"<status>:<message>"` text.
//! - [`responder::MicroService`]: a NATS micro service (answers `$SRV.PING|INFO|STATS`) whose endpoints
//!   decode requests, call a handler and encode the reply; malformed data gets a `400:` error reply.

use serde::{Deserialize, Serialize};

pub mod client;
pub mod responder;

pub use client::{NatsClient, NatsRequestError};
pub use responder::MicroService;

/// The queue group of every endpoint, so replicas share requests (nats.go micro default).
pub const QUEUE_GROUP: &str = "q";

/// Subjects served by auth-service (spec 2.3).
pub mod subjects {
    /// `{"value": "<Authorization header>"}` → User.
    pub const AUTHENTICATION: &str = "auth.authentication";
    /// `{"user": User, "roles": [...]}` → User.
    pub const AUTHORIZATION: &str = "auth.authorization";
    /// `{"value": "<user id>"}` → User with `email: ""`.
    pub const PROFILE_USER: &str = "auth.profile.user";
}

/// The body of every NATS request and reply. Requests carry only `data`; replies carry `data` on
/// success or only `error` on failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NatsEnvelope<T> {
    /// Payload.
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    /// Error text, `"<status>:<message>"` for API errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn none<T>() -> Option<T> {
    None
}

impl<T> NatsEnvelope<T> {
    /// An envelope carrying `data`.
    pub fn data(data: T) -> Self {
        Self {
            data: Some(data),
            error: None,
        }
    }

    /// An envelope carrying `error`.
    pub fn error(error: impl Into<String>) -> Self {
        Self {
            data: None,
            error: Some(error.into()),
        }
    }
}

/// The subject prefix of a controller mounted at `base_path` in `service` (spec 2.2): `/` → `auth`,
/// `/profile` → `auth.profile`, `/a/b` → `auth.a.b`.
pub fn group_prefix(service: &str, base_path: &str) -> String {
    let dotted = base_path.replace('/', ".");
    if dotted.len() > 1 {
        format!("{service}{dotted}")
    } else {
        service.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_prefix_follows_goserve() {
        assert_eq!(group_prefix("auth", "/"), "auth");
        assert_eq!(group_prefix("auth", "/profile"), "auth.profile");
        assert_eq!(group_prefix("blog", "/author"), "blog.author");
        assert_eq!(
            format!("{}.user", group_prefix("auth", "/profile")),
            subjects::PROFILE_USER
        );
    }

    #[test]
    fn envelope_omits_empty_keys() {
        let request = NatsEnvelope::data(serde_json::json!({"value": "Bearer x"}));
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"data":{"value":"Bearer x"}}"#
        );
        let reply = NatsEnvelope::<()>::error("401:permission denied: invalid access token");
        assert_eq!(
            serde_json::to_string(&reply).unwrap(),
            r#"{"error":"401:permission denied: invalid access token"}"#
        );
    }
}
