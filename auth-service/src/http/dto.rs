//! Response bodies shared by several routes (spec 1.1 `InfoPrivateUser`, tokens).

use serde::Serialize;

use crate::{
    domain::{User, UserWithRoles},
    tokens::TokenPair,
};

/// `{"_id", "code"}`.
#[derive(Debug, Serialize)]
pub struct RoleInfo {
    #[serde(rename = "_id")]
    id: String,
    code: String,
}

/// `InfoPrivateUser`: `{_id, email, name, profilePicUrl?, roles}`.
#[derive(Debug, Serialize)]
pub struct PrivateUser {
    #[serde(rename = "_id")]
    id: String,
    email: String,
    name: String,
    #[serde(rename = "profilePicUrl", skip_serializing_if = "Option::is_none")]
    profile_pic_url: Option<String>,
    roles: Vec<RoleInfo>,
}

impl From<UserWithRoles> for PrivateUser {
    fn from(value: UserWithRoles) -> Self {
        Self {
            id: value.user.id.to_string(),
            email: value.user.email,
            name: value.user.name,
            profile_pic_url: value.user.profile_pic_url,
            roles: value
                .roles
                .into_iter()
                .map(|role| RoleInfo {
                    id: role.id.to_string(),
                    code: role.code,
                })
                .collect(),
        }
    }
}

/// `{"_id", "name", "profilePicUrl"?}` (public profile).
#[derive(Debug, Serialize)]
pub struct PublicUser {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    #[serde(rename = "profilePicUrl", skip_serializing_if = "Option::is_none")]
    profile_pic_url: Option<String>,
}

impl From<User> for PublicUser {
    fn from(user: User) -> Self {
        Self {
            id: user.id.to_string(),
            name: user.name,
            profile_pic_url: user.profile_pic_url,
        }
    }
}

/// `{"accessToken", "refreshToken"}`.
#[derive(Debug, Serialize)]
pub struct Tokens {
    #[serde(rename = "accessToken")]
    access_token: String,
    #[serde(rename = "refreshToken")]
    refresh_token: String,
}

impl From<TokenPair> for Tokens {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
        }
    }
}

/// `{"user": InfoPrivateUser, "tokens": {...}}` (sign-up, sign-in).
#[derive(Debug, Serialize)]
pub struct UserAuth {
    /// The user.
    pub user: PrivateUser,
    /// The new session's tokens.
    pub tokens: Tokens,
}
