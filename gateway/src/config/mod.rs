//! The declarative config: read → parse ([`raw`]) → validate into the [`model`] the rest of the crate
//! uses. Every problem is reported at once, each with its path and line.
//!
//! - [`raw`]: serde types mirroring Kong's file format.
//! - [`validate`]: defaults, references, ranges; collects every error.
//! - each plugin's `config` block is read by the plugin's own module (`crate::plugins`).
//! - `consumers`: consumers and their key-auth credentials (part of validation).
//! - [`tls`]: certificates and SNIs (part of validation; PEM parsing shared with the listener).
//! - [`model`]: the validated config.
//! - [`healthchecks`]: an upstream's `healthchecks` block (Kong's fields and defaults).
//! - [`locate`]: path → line in the YAML text.

use std::{fmt, path::Path};

mod consumers;
pub mod healthchecks;
pub mod locate;
pub mod model;
pub mod raw;
pub mod tls;
pub mod validate;

pub use crate::validator::ConfigError;
pub use model::Config;

/// Every problem found in one config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// Where the text came from (a file path, `admin API`, ...).
    pub origin: String,
    /// The problems, in file order.
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: invalid configuration ({} problem{})",
            self.origin,
            self.errors.len(),
            if self.errors.len() == 1 { "" } else { "s" }
        )?;
        for error in &self.errors {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Reads and validates the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let origin = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, &origin),
        Err(err) => Err(ConfigErrors {
            origin,
            errors: vec![ConfigError {
                path: String::new(),
                line: None,
                message: format!("cannot read the file: {err}"),
            }],
        }),
    }
}

/// Parses and validates `text` (YAML or JSON); `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
    let fail = |errors: Vec<ConfigError>| ConfigErrors {
        origin: origin.to_owned(),
        errors,
    };
    let value: serde_yaml::Value = match serde_yaml::from_str(text) {
        Ok(serde_yaml::Value::Null) => {
            return Err(fail(vec![ConfigError {
                path: String::new(),
                line: None,
                message: "expected a declarative configuration, got an empty document".to_owned(),
            }]));
        }
        Ok(value) => value,
        Err(err) => {
            return Err(fail(vec![ConfigError {
                path: String::new(),
                line: err.location().map(|location| location.line()),
                message: format!("not valid YAML or JSON: {err}"),
            }]));
        }
    };
    let lines = locate::LineIndex::build(text);
    let locate = |errors: &mut Vec<ConfigError>| {
        for error in errors.iter_mut() {
            error.line = lines.line_of(&error.path);
        }
        errors.sort_by_key(|error| error.line.unwrap_or(usize::MAX));
    };
    match validate::validate(value) {
        Ok(mut config) => {
            locate(&mut config.warnings);
            Ok(config)
        }
        Err(mut errors) => {
            locate(&mut errors);
            Err(fail(errors))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
