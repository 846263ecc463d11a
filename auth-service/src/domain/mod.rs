//! Domain types of the auth service: parsed on construction, no IO.
//!
//! Storage backends and the wire layers convert to and from these; no driver type appears here.

mod credentials;
mod role;

pub use credentials::{
    BCRYPT_MAX_PASSWORD_BYTES, SignInInput, SignUpInput, ValidationError, password_problem,
    required,
};
pub use role::RoleCode;
pub use shared::id::{Id, IdError};

/// A role document (spec 3.1 `roles`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Document id.
    pub id: Id,
    /// `LEARNER`, `AUTHOR`, `EDITOR` or `ADMIN` (stored as text; unknown codes are kept verbatim).
    pub code: String,
    /// Active flag; role look-ups by id ignore it (spec 4.4).
    pub status: bool,
}

/// A user as stored (spec 3.1 `users`), password hash included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Document id.
    pub id: Id,
    /// Display name (at most 200 code points).
    pub name: String,
    /// Email, unique across all users (D13).
    pub email: String,
    /// bcrypt hash of any cost (D8).
    pub password_hash: Option<String>,
    /// Optional picture URL.
    pub profile_pic_url: Option<String>,
    /// Role ids, in stored order.
    pub role_ids: Vec<Id>,
    /// Whether the email was verified (always false for sign-ups).
    pub verified: bool,
    /// Active flag; inactive users are invisible to every look-up.
    pub status: bool,
}

/// A new user to insert.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// bcrypt hash.
    pub password_hash: String,
    /// Optional picture URL.
    pub profile_pic_url: Option<String>,
    /// Role ids.
    pub role_ids: Vec<Id>,
}

/// A user together with its role documents (what authentication yields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserWithRoles {
    /// The user.
    pub user: User,
    /// Role documents found for `user.role_ids`, in the user's order.
    pub roles: Vec<Role>,
}

/// One session: the pair of token ids a sign-in, sign-up or refresh created (spec 4.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keystore {
    /// Document id.
    pub id: Id,
    /// The user the session belongs to.
    pub client: Id,
    /// Primary key = access token `jti` (64 hex chars).
    pub primary_key: String,
    /// Secondary key = refresh token `jti` (64 hex chars).
    pub secondary_key: String,
}

/// An API key (spec 3.1 `api_keys`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Document id.
    pub id: Id,
    /// The key clients send in `x-api-key`.
    pub key: String,
    /// Active flag.
    pub status: bool,
}
