//! Message types auth and blog exchange over NATS (spec `api.md` 2.3).

use serde::{Deserialize, Serialize};

/// A user as NATS messages carry it: `{"_id", "name", "email", "profilePicUrl"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// 24-hex id.
    #[serde(rename = "_id")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Email; `""` in `auth.profile.user` replies.
    #[serde(default)]
    pub email: String,
    /// Picture URL, omitted when absent.
    #[serde(
        rename = "profilePicUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub profile_pic_url: Option<String>,
}

/// `auth.authorization` request: the user and the roles of which one is needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRole {
    /// The user to check.
    pub user: User,
    /// Role codes, e.g. `["AUTHOR"]`; holding any one suffices.
    pub roles: Vec<String>,
}

/// A single string: `{"value": "..."}` (`auth.authentication`, `auth.profile.user`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    /// The string.
    pub value: String,
}
