//! [`Secret`]: a key or password from the config file (a certificate's key, a consumer's key, a
//! Redis password), never shown by `Debug`.

use std::fmt;

use serde::Deserialize;

/// A secret from the file (a key, a password): kept as written, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret itself; for the code that uses it, never for logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}
