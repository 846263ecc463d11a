//! [`AuthClient`]: the three auth requests blog makes, each bounded by `NATS_TIMEOUT_SEC` (D11).

use shared::{
    messages::{Text, User, UserRole},
    nats::{NatsClient, NatsRequestError, subjects},
};

use crate::domain::Id;

/// Typed requests to auth-service.
#[derive(Debug, Clone)]
pub struct AuthClient {
    nats: NatsClient,
}

impl AuthClient {
    /// Wraps a client whose timeout is `NATS_TIMEOUT_SEC`.
    pub fn new(nats: NatsClient) -> Self {
        Self { nats }
    }

    /// `auth.authentication` with the raw `Authorization` header (`""` when missing).
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn authenticate(&self, authorization: &str) -> Result<User, NatsRequestError> {
        let request = Text {
            value: authorization.to_owned(),
        };
        self.nats.request(subjects::AUTHENTICATION, &request).await
    }

    /// `auth.authorization`: does `user` hold `role`? Returns the user as auth re-read it.
    #[tracing::instrument(skip_all, fields(role), err(level = "debug"))]
    pub async fn authorize(&self, user: &User, role: &str) -> Result<User, NatsRequestError> {
        let request = UserRole {
            user: user.clone(),
            roles: vec![role.to_owned()],
        };
        self.nats.request(subjects::AUTHORIZATION, &request).await
    }

    /// `auth.profile.user`: the public profile of user `id` (email `""`).
    #[tracing::instrument(skip_all, fields(user_id = %id), err(level = "debug"))]
    pub async fn profile(&self, id: &Id) -> Result<User, NatsRequestError> {
        let request = Text {
            value: id.to_string(),
        };
        self.nats.request(subjects::PROFILE_USER, &request).await
    }
}
