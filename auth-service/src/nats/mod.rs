//! NATS responders (spec 2.3), queue group `q` (so replicas share requests): `auth.authentication`,
//! `auth.authorization`, `auth.profile.user`. Each decodes the request, calls one `ops::` function and
//! encodes the reply; decoding and the `"<status>:<message>"` error encoding live in
//! [`shared::nats::MicroService`].
//!
//! D7: a request without `data`, with `"user": null` or of the wrong shape is answered
//! `400:invalid request: ...` (gomicro's process crashed); the responder keeps serving.

use shared::{
    ApiError,
    messages::{Text, User, UserRole},
    nats::MicroService,
};

use crate::{domain::Id, ops, state::AppState};

/// Registers the three endpoints on `service`.
pub async fn serve(service: &MicroService, state: AppState) -> anyhow::Result<()> {
    let authn = state.clone();
    service
        .serve("/", "authentication", move |request: Text| {
            let state = authn.clone();
            async move { authentication(&state, request).await }
        })
        .await?;
    let authz = state.clone();
    service
        .serve("/", "authorization", move |request: UserRole| {
            let state = authz.clone();
            async move { authorization(&state, request).await }
        })
        .await?;
    service
        .serve("/profile", "user", move |request: Text| {
            let state = state.clone();
            async move { profile_user(&state, request).await }
        })
        .await?;
    Ok(())
}

fn to_message(user: crate::domain::User) -> User {
    User {
        id: user.id.to_string(),
        name: user.name,
        email: user.email,
        profile_pic_url: user.profile_pic_url,
    }
}

/// `auth.authentication`: the HTTP middleware's code path on `{"value": "<Authorization>"}`.
async fn authentication(state: &AppState, request: Text) -> Result<User, ApiError> {
    let authenticated = ops::authenticate(state, &request.value).await?;
    Ok(to_message(authenticated.user.user))
}

/// `auth.authorization`: re-reads the user, then checks the roles.
async fn authorization(state: &AppState, request: UserRole) -> Result<User, ApiError> {
    let user = ops::authorize(state, &request.user.id, &request.roles).await?;
    Ok(to_message(user))
}

/// `auth.profile.user`: the public profile, `email: ""`.
async fn profile_user(state: &AppState, request: Text) -> Result<User, ApiError> {
    // spec 2.4 names the driver's text for a bad id; ours is a 400 with that text
    let id = Id::parse(&request.value)
        .map_err(|_| ApiError::bad_request("the provided hex string is not a valid ObjectID"))?;
    let user = ops::public_profile(state, id).await?;
    Ok(User {
        email: String::new(),
        ..to_message(user)
    })
}
