//! The validator's core: [`ConfigError`] and [`Validator`], which collects every problem of one
//! document with its path while the entity modules (`validate`, `consumers`, `tls`) and each
//! plugin's own config parser convert the file.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_yaml::Value;

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigError {
    /// Where: `services[1].routes[0].paths[0]` (empty for the whole document).
    pub path: String,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(document)"
        } else {
            &self.path
        };
        match self.line {
            Some(line) => write!(f, "line {line}: {path}: {}", self.message),
            None => write!(f, "{path}: {}", self.message),
        }
    }
}

/// Collects the problems of one document while converting it. The entity modules and the plugins'
/// config parsers add their own `impl Validator` blocks or take it as a parameter.
#[derive(Default)]
pub struct Validator {
    /// Every problem so far.
    pub(crate) errors: Vec<ConfigError>,
    /// What is valid but probably not meant.
    pub(crate) warnings: Vec<ConfigError>,
    /// `_format_version` as written (checked by the file's validation).
    pub(super) format_version: String,
}

impl Validator {
    /// Records a problem at `path`.
    pub(crate) fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            path: path.into(),
            line: None,
            message: message.into(),
        });
    }

    /// Deserialises `value` as `T`, recording the failure with its full path.
    pub(crate) fn de<T: DeserializeOwned>(&mut self, value: &Value, path: &str) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(parsed) => Some(parsed),
            Err(err) => {
                let inner = err.path().to_string();
                let full = join_path(path, &inner);
                let message = err.inner().to_string();
                // serde lists every known field after an unknown one; the path already says where.
                let message = match message.split_once(", expected one of") {
                    Some((head, _)) if head.starts_with("unknown field") => head.to_owned(),
                    _ => message,
                };
                self.error(full, message);
                None
            }
        }
    }

    /// A header name (an HTTP token), lower-cased.
    pub(crate) fn header_name(&mut self, raw: &str, path: &str) -> Option<String> {
        match http::HeaderName::from_bytes(raw.as_bytes()) {
            Ok(name) => Some(name.as_str().to_owned()),
            Err(_) => {
                self.error(path, format!("{raw:?} is not a valid header name"));
                None
            }
        }
    }

    /// An HTTP status a plugin may answer with.
    pub(crate) fn status(&mut self, status: u16, path: &str) {
        if !(100..=599).contains(&status) {
            self.error(path, format!("{status} is not an HTTP status (100..599)"));
        }
    }
}

/// `base` and serde's `inner` path of a nested field as one path.
fn join_path(base: &str, inner: &str) -> String {
    match (base.is_empty(), inner) {
        (_, "." | "") => base.to_owned(),
        (true, inner) => inner.to_owned(),
        (false, inner) if inner.starts_with('[') => format!("{base}{inner}"),
        (false, inner) => format!("{base}.{inner}"),
    }
}
