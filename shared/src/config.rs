//! Reading settings: where values come from ([`Source`]) and how problems are reported
//! ([`Reader`] collects *every* missing or invalid variable into one [`ConfigErrors`]).
//!
//! Services read the contract's variable names (spec `api.md` 7.1) from the process environment,
//! with an optional `.env` file underneath (real variables win). Tests pass a [`MapSource`] and never
//! touch the process environment. The settings both services read the same way live here too:
//! [`ServerSettings`] (`SERVER_*`, `MAX_BODY_BYTES`), [`RedisSettings`] (`REDIS_*`) and
//! [`NatsSettings`] (`NATS_*`).

use std::{collections::HashMap, fmt, path::Path, str::FromStr, time::Duration};

/// Where setting values come from.
pub trait Source: Send + Sync {
    /// The raw value of `name`, if set.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment over an optional `.env` file.
#[derive(Debug, Default)]
pub struct Env {
    dotenv: HashMap<String, String>,
}

impl Env {
    /// The environment, with `./.env` underneath when the file exists.
    pub fn load() -> Result<Self, ConfigErrors> {
        Self::with_dotenv(Path::new(".env"))
    }

    /// The environment, with `path` (a `.env` file) underneath when it exists.
    pub fn with_dotenv(path: &Path) -> Result<Self, ConfigErrors> {
        if !path.exists() {
            return Ok(Self::default());
        }
        let entries = dotenvy::from_path_iter(path).map_err(|err| {
            ConfigErrors::single(path.display().to_string(), format!("cannot read: {err}"))
        })?;
        let mut dotenv = HashMap::new();
        for entry in entries {
            let (key, value) = entry.map_err(|err| {
                ConfigErrors::single(path.display().to_string(), format!("cannot parse: {err}"))
            })?;
            dotenv.insert(key, value);
        }
        Ok(Self { dotenv })
    }
}

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.dotenv.get(name).cloned())
    }
}

/// A fixed set of values (tests, `cargo xtask up`).
#[derive(Debug, Default, Clone)]
pub struct MapSource(pub HashMap<String, String>);

impl MapSource {
    /// A source holding `pairs`.
    pub fn new<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// Sets `name` to `value`.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.0.insert(name.into(), value.into());
        self
    }
}

impl Source for MapSource {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// `GO_MODE`: `debug`, `release` or `test` (gin's modes, spec 0.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Shows 500 details; compact logs.
    Debug,
    /// Hides 500 details; JSON logs.
    Release,
    /// As debug.
    Test,
}

impl FromStr for RunMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "debug" => Ok(Self::Debug),
            "release" => Ok(Self::Release),
            "test" => Ok(Self::Test),
            other => Err(format!(
                "expected one of debug, release, test; got {other:?}"
            )),
        }
    }
}

/// One problem with one variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable (or file) at fault.
    pub name: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Every problem found while loading settings; start-up prints them all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    fn single(name: String, problem: String) -> Self {
        Self(vec![ConfigError { name, problem }])
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration ({} problems):", self.0.len())?;
        for error in &self.0 {
            write!(f, "\n  - {}: {}", error.name, error.problem)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Reads typed values from a [`Source`], remembering every problem until [`Reader::finish`].
pub struct Reader<'a> {
    source: &'a dyn Source,
    errors: Vec<ConfigError>,
}

impl<'a> Reader<'a> {
    /// A reader over `source`.
    pub fn new(source: &'a dyn Source) -> Self {
        Self {
            source,
            errors: Vec::new(),
        }
    }

    /// A non-empty value of `name`, parsed; records a problem and returns `None` otherwise.
    pub fn required<T>(&mut self, name: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.raw(name) {
            Some(raw) => self.parse(name, &raw),
            None => {
                self.problem(name, "is required but not set");
                None
            }
        }
    }

    /// The value of `name` parsed, or `default` when unset or empty.
    pub fn optional<T>(&mut self, name: &str, default: T) -> T
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.raw(name) {
            Some(raw) => self.parse(name, &raw).unwrap_or(default),
            None => default,
        }
    }

    /// The value of `name`, `None` when unset or empty (an empty `REDIS_PASSWORD` means none).
    pub fn optional_string(&mut self, name: &str) -> Option<String> {
        self.raw(name)
    }

    /// `DATABASE_URL` (D14): `sqlite:...` or `mongodb://` / `mongodb+srv://`; unset or empty means
    /// `default`, the service's own SQLite file (the embedded default backend).
    pub fn database_url(&mut self, default: &str) -> String {
        let url = self
            .optional_string("DATABASE_URL")
            .unwrap_or_else(|| default.to_owned());
        if !(url.starts_with("sqlite:")
            || url.starts_with("mongodb://")
            || url.starts_with("mongodb+srv://"))
        {
            self.problem(
                "DATABASE_URL",
                format!("{url:?} must start with sqlite: (e.g. {default}) or mongodb://"),
            );
        }
        url
    }

    /// Records a problem found by the caller's own checks.
    pub fn problem(&mut self, name: &str, problem: impl Into<String>) {
        self.errors.push(ConfigError {
            name: name.to_owned(),
            problem: problem.into(),
        });
    }

    /// `Ok` when nothing was wrong; otherwise every problem.
    pub fn finish(self) -> Result<(), ConfigErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(self.errors))
        }
    }

    fn raw(&self, name: &str) -> Option<String> {
        self.source
            .get(name)
            .filter(|value| !value.trim().is_empty())
    }

    fn parse<T>(&mut self, name: &str, raw: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match raw.trim().parse() {
            Ok(value) => Some(value),
            Err(err) => {
                self.problem(name, format!("invalid value {raw:?}: {err}"));
                None
            }
        }
    }
}

/// Default request body limit (D12).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The HTTP listener: `SERVER_HOST`, `SERVER_PORT` (0 = any free port), `MAX_BODY_BYTES` (D12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// Interface to bind.
    pub host: String,
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// Larger bodies get 413.
    pub max_body_bytes: usize,
}

impl ServerSettings {
    /// Reads `SERVER_HOST`, `SERVER_PORT` and `MAX_BODY_BYTES`; `None` when a required one is
    /// missing or invalid (recorded).
    pub fn read(reader: &mut Reader<'_>) -> Option<Self> {
        let host: Option<String> = reader.required("SERVER_HOST");
        let port: Option<u16> = reader.required("SERVER_PORT");
        let max_body_bytes = reader.optional("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES);
        if max_body_bytes == 0 {
            reader.problem("MAX_BODY_BYTES", "must be greater than 0");
        }
        Some(Self {
            host: host?,
            port: port?,
            max_body_bytes,
        })
    }
}

/// Default NATS request timeout (D11: gomicro hard-coded 10 s).
pub const DEFAULT_NATS_TIMEOUT_SECS: u64 = 10;

/// Redis: `REDIS_HOST`, `REDIS_PORT`, `REDIS_PASSWORD` (empty means none), `REDIS_DB`.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `None` when empty or unset.
    pub password: Option<String>,
    /// Database number.
    pub db: i64,
}

impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("db", &self.db)
            .finish()
    }
}

impl RedisSettings {
    /// Reads the `REDIS_*` variables; `None` when a required one is missing or invalid (recorded).
    pub fn read(reader: &mut Reader<'_>) -> Option<Self> {
        let host: Option<String> = reader.required("REDIS_HOST");
        let port: Option<u16> = reader.required("REDIS_PORT");
        let password = reader.optional_string("REDIS_PASSWORD");
        let db = reader.optional("REDIS_DB", 0i64);
        Some(Self {
            host: host?,
            port: port?,
            password,
            db,
        })
    }

    /// `redis://[:password@]host:port/db`, the password percent-encoded.
    pub fn url(&self) -> String {
        let auth = self
            .password
            .as_deref()
            .map(|password| {
                let encoded: String = password
                    .bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                            char::from(b).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect();
                format!(":{encoded}@")
            })
            .unwrap_or_default();
        format!("redis://{auth}{}:{}/{}", self.host, self.port, self.db)
    }
}

/// NATS: `NATS_URL`, `NATS_SERVICE_NAME`, `NATS_SERVICE_VERSION`, `NATS_TIMEOUT_SEC` (D11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsSettings {
    /// `nats://host:port`.
    pub url: String,
    /// Micro service name (`auth`, `blog`); also the subject prefix (spec 2.2).
    pub service_name: String,
    /// Micro service version (SemVer).
    pub service_version: String,
    /// How long a request waits for its reply.
    pub timeout: Duration,
}

impl NatsSettings {
    /// Reads the `NATS_*` variables; `None` when a required one is missing or invalid (recorded).
    pub fn read(reader: &mut Reader<'_>) -> Option<Self> {
        let url: Option<String> = reader.required("NATS_URL");
        let service_name: Option<String> = reader.required("NATS_SERVICE_NAME");
        if let Some(name) = &service_name
            && !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            reader.problem(
                "NATS_SERVICE_NAME",
                format!("{name:?} must match ^[A-Za-z0-9-_]+$"),
            );
        }
        let service_version: Option<String> = reader.required("NATS_SERVICE_VERSION");
        let timeout_secs = reader.optional("NATS_TIMEOUT_SEC", DEFAULT_NATS_TIMEOUT_SECS);
        if timeout_secs == 0 {
            reader.problem("NATS_TIMEOUT_SEC", "must be greater than 0");
        }
        Some(Self {
            url: url?,
            service_name: service_name?,
            service_version: service_version?,
            timeout: Duration::from_secs(timeout_secs.max(1)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_collects_every_missing_and_invalid_variable() {
        let source = MapSource::new([
            ("SERVER_PORT", "eighty"),
            ("GO_MODE", "loud"),
            ("EMPTY", " "),
        ]);
        let mut reader = Reader::new(&source);
        let port: Option<u16> = reader.required("SERVER_PORT");
        let mode: Option<RunMode> = reader.required("GO_MODE");
        let host: Option<String> = reader.required("SERVER_HOST");
        let empty: Option<String> = reader.required("EMPTY");
        assert_eq!((port, mode, host, empty), (None, None, None, None));
        let errors = reader.finish().unwrap_err();
        let names: Vec<_> = errors.0.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["SERVER_PORT", "GO_MODE", "SERVER_HOST", "EMPTY"]);
        let text = errors.to_string();
        assert!(
            text.contains("SERVER_PORT: invalid value \"eighty\""),
            "{text}"
        );
        assert!(
            text.contains("SERVER_HOST: is required but not set"),
            "{text}"
        );
    }

    #[test]
    fn optional_values_fall_back_to_defaults() {
        let source = MapSource::new([("NATS_TIMEOUT_SEC", "3"), ("REDIS_PASSWORD", "")]);
        let mut reader = Reader::new(&source);
        assert_eq!(reader.optional("NATS_TIMEOUT_SEC", 10u64), 3);
        assert_eq!(reader.optional("BCRYPT_COST", 10u32), 10);
        assert_eq!(reader.optional_string("REDIS_PASSWORD"), None);
        assert!(reader.finish().is_ok());
    }

    #[test]
    fn database_url_defaults_to_the_services_sqlite_file_and_refuses_other_schemes() {
        let default = "sqlite://data/auth.db";
        let unset = MapSource::new([("OTHER", "x")]);
        let mut reader = Reader::new(&unset);
        assert_eq!(reader.database_url(default), default);
        assert!(reader.finish().is_ok());

        for url in [
            "mongodb://db:27017/auth-dev-db",
            "mongodb+srv://c.example/auth",
            "sqlite::memory:",
        ] {
            let source = MapSource::new([("DATABASE_URL", url)]);
            let mut reader = Reader::new(&source);
            assert_eq!(reader.database_url(default), url);
            assert!(reader.finish().is_ok(), "{url}");
        }

        let postgres = MapSource::new([("DATABASE_URL", "postgres://x")]);
        let mut reader = Reader::new(&postgres);
        reader.database_url(default);
        let text = reader.finish().unwrap_err().to_string();
        assert!(
            text.contains("DATABASE_URL: \"postgres://x\" must start with sqlite: (e.g. sqlite://data/auth.db) or mongodb://"),
            "{text}"
        );
    }

    #[test]
    fn redis_and_nats_settings_read_their_variables() {
        let source = MapSource::new([
            ("REDIS_HOST", "127.0.0.1"),
            ("REDIS_PORT", "6379"),
            ("REDIS_PASSWORD", "p@ss word"),
            ("REDIS_DB", "2"),
            ("NATS_URL", "nats://127.0.0.1:4222"),
            ("NATS_SERVICE_NAME", "auth"),
            ("NATS_SERVICE_VERSION", "1.0.0"),
        ]);
        let mut reader = Reader::new(&source);
        let redis = RedisSettings::read(&mut reader).unwrap();
        let nats = NatsSettings::read(&mut reader).unwrap();
        assert!(reader.finish().is_ok());
        assert_eq!(redis.url(), "redis://:p%40ss%20word@127.0.0.1:6379/2");
        assert!(
            !format!("{redis:?}").contains("p@ss"),
            "the password is redacted"
        );
        assert_eq!(nats.timeout, Duration::from_secs(DEFAULT_NATS_TIMEOUT_SECS));
    }

    #[test]
    fn bad_nats_service_name_and_zero_timeout_are_problems() {
        let source = MapSource::new([
            ("NATS_URL", "nats://x:4222"),
            ("NATS_SERVICE_NAME", "auth service"),
            ("NATS_SERVICE_VERSION", "1.0.0"),
            ("NATS_TIMEOUT_SEC", "0"),
        ]);
        let mut reader = Reader::new(&source);
        let _ = NatsSettings::read(&mut reader);
        let names: Vec<_> = reader
            .finish()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["NATS_SERVICE_NAME", "NATS_TIMEOUT_SEC"]);
    }
}
