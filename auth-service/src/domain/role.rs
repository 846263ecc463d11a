//! [`RoleCode`]: the four role codes of spec 4.4.

use std::{fmt, str::FromStr};

/// A role code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleCode {
    /// Every new sign-up.
    Learner,
    /// May write blogs.
    Author,
    /// May publish blogs.
    Editor,
    /// Administrator.
    Admin,
}

impl RoleCode {
    /// All codes, in seeding order.
    pub const ALL: [RoleCode; 4] = [Self::Learner, Self::Author, Self::Editor, Self::Admin];

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Learner => "LEARNER",
            Self::Author => "AUTHOR",
            Self::Editor => "EDITOR",
            Self::Admin => "ADMIN",
        }
    }
}

impl fmt::Display for RoleCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RoleCode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|code| code.as_str() == s)
            .ok_or_else(|| format!("unknown role code {s:?}"))
    }
}
