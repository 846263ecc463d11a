//! [`Settings`]: every knob of the service, read from the contract's variable names (spec 7.1) plus
//! `DATABASE_URL` (replaces the `DB_*` fields, D14), `BCRYPT_COST` (D8), `NATS_TIMEOUT_SEC` (D11) and
//! `MAX_BODY_BYTES` (D12). Loading collects every problem into one [`ConfigErrors`].

use std::path::PathBuf;

use shared::config::{ConfigErrors, Reader, RunMode, Source};
pub use shared::config::{DEFAULT_MAX_BODY_BYTES, NatsSettings, RedisSettings, ServerSettings};

use crate::{domain::password_problem, tokens::ClaimSettings};

/// Default bcrypt cost for new passwords (D8; gomicro used 5).
pub const DEFAULT_BCRYPT_COST: u32 = 10;

/// All settings of a serving process.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `GO_MODE`.
    pub mode: RunMode,
    /// `SERVER_HOST`, `SERVER_PORT` (0 = any free port), `MAX_BODY_BYTES`.
    pub server: ServerSettings,
    /// `DATABASE_URL`, `BCRYPT_COST`.
    pub database: DatabaseSettings,
    /// `REDIS_*`.
    pub redis: RedisSettings,
    /// `NATS_*`.
    pub nats: NatsSettings,
    /// `RSA_*`.
    pub keys: KeySettings,
    /// `TOKEN_*`, `*_TOKEN_VALIDITY_SEC`.
    pub tokens: ClaimSettings,
}

/// Storage.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `sqlite://path` or `mongodb://.../db`.
    pub url: String,
    /// bcrypt cost of new hashes (4..=31).
    pub bcrypt_cost: u32,
}

/// RSA key files.
#[derive(Debug, Clone)]
pub struct KeySettings {
    /// PEM private key (PKCS#1 or PKCS#8).
    pub private_key_path: PathBuf,
    /// PEM public key (PKIX or PKCS#1).
    pub public_key_path: PathBuf,
}

impl KeySettings {
    /// Reads only the key paths (`auth-service keygen`).
    pub fn load(source: &dyn Source) -> Result<Self, ConfigErrors> {
        let mut reader = Reader::new(source);
        let keys = read_keys(&mut reader);
        reader.finish()?;
        Ok(keys.expect("BUG: finish() fails when a required value is missing"))
    }
}

fn read_keys(reader: &mut Reader<'_>) -> Option<KeySettings> {
    let private: Option<String> = reader.required("RSA_PRIVATE_KEY_PATH");
    let public: Option<String> = reader.required("RSA_PUBLIC_KEY_PATH");
    Some(KeySettings {
        private_key_path: private?.into(),
        public_key_path: public?.into(),
    })
}

/// Settings of `auth-service seed`: the database, the bcrypt cost, the mode and the admin's password.
#[derive(Debug, Clone)]
pub struct SeedSettings {
    /// The database to seed.
    pub database: DatabaseSettings,
    /// `GO_MODE` (default `debug`): without `ADMIN_PASSWORD`, only test mode seeds `changeit`.
    pub mode: RunMode,
    /// `ADMIN_PASSWORD`: the admin's password when seed creates the admin.
    pub admin_password: Option<Secret>,
}

/// A secret setting; `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl SeedSettings {
    /// Reads `DATABASE_URL`, `BCRYPT_COST`, `GO_MODE` and `ADMIN_PASSWORD` (which must pass the
    /// sign-up password rules, or nobody could sign in with it).
    pub fn load(source: &dyn Source) -> Result<Self, ConfigErrors> {
        let mut reader = Reader::new(source);
        let database = read_database(&mut reader);
        let mode = reader.optional("GO_MODE", RunMode::Debug);
        let admin_password = reader.optional_string("ADMIN_PASSWORD");
        if let Some(problem) = admin_password.as_deref().and_then(password_problem) {
            reader.problem("ADMIN_PASSWORD", problem);
        }
        reader.finish()?;
        Ok(Self {
            database,
            mode,
            admin_password: admin_password.map(Secret),
        })
    }
}

fn read_database(reader: &mut Reader<'_>) -> DatabaseSettings {
    let url = reader.database_url("sqlite://data/auth.db");
    let bcrypt_cost = reader.optional("BCRYPT_COST", DEFAULT_BCRYPT_COST);
    if !(4..=31).contains(&bcrypt_cost) {
        reader.problem("BCRYPT_COST", format!("{bcrypt_cost} is outside 4..=31"));
    }
    DatabaseSettings { url, bcrypt_cost }
}

impl Settings {
    /// Reads and validates every setting; `Err` lists every problem.
    pub fn load(source: &dyn Source) -> Result<Self, ConfigErrors> {
        let mut r = Reader::new(source);
        let mode: Option<RunMode> = r.required("GO_MODE");
        let server = ServerSettings::read(&mut r);
        let database = read_database(&mut r);
        let redis = RedisSettings::read(&mut r);
        let nats = NatsSettings::read(&mut r);
        let keys = read_keys(&mut r);
        let access: Option<i64> = r.required("ACCESS_TOKEN_VALIDITY_SEC");
        let refresh: Option<i64> = r.required("REFRESH_TOKEN_VALIDITY_SEC");
        for (name, value) in [
            ("ACCESS_TOKEN_VALIDITY_SEC", access),
            ("REFRESH_TOKEN_VALIDITY_SEC", refresh),
        ] {
            if value.is_some_and(|secs| secs <= 0) {
                r.problem(name, "must be greater than 0");
            }
        }
        let issuer: Option<String> = r.required("TOKEN_ISSUER");
        let audience: Option<String> = r.required("TOKEN_AUDIENCE");
        r.finish()?;
        let missing = "BUG: finish() fails when a required value is missing";
        Ok(Self {
            mode: mode.expect(missing),
            server: server.expect(missing),
            database,
            redis: redis.expect(missing),
            nats: nats.expect(missing),
            keys: keys.expect(missing),
            tokens: ClaimSettings {
                issuer: issuer.expect(missing),
                audience: audience.expect(missing),
                access_validity_secs: access.expect(missing),
                refresh_validity_secs: refresh.expect(missing),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use shared::config::MapSource;

    use super::*;

    fn complete() -> MapSource {
        MapSource::new([
            ("GO_MODE", "test"),
            ("SERVER_HOST", "127.0.0.1"),
            ("SERVER_PORT", "0"),
            ("DATABASE_URL", "sqlite://data/auth.db"),
            ("REDIS_HOST", "127.0.0.1"),
            ("REDIS_PORT", "6379"),
            ("REDIS_PASSWORD", ""),
            ("NATS_URL", "nats://127.0.0.1:4222"),
            ("NATS_SERVICE_NAME", "auth"),
            ("NATS_SERVICE_VERSION", "1.0.0"),
            ("RSA_PRIVATE_KEY_PATH", "keys/private.pem"),
            ("RSA_PUBLIC_KEY_PATH", "keys/public.pem"),
            ("ACCESS_TOKEN_VALIDITY_SEC", "172800"),
            ("REFRESH_TOKEN_VALIDITY_SEC", "604800"),
            ("TOKEN_ISSUER", "api.goserve.afteracademy.com"),
            ("TOKEN_AUDIENCE", "goserve.afteracademy.com"),
        ])
    }

    #[test]
    fn complete_settings_load_with_defaults() {
        let settings = Settings::load(&complete()).unwrap();
        assert_eq!(settings.database.bcrypt_cost, 10);
        assert_eq!(settings.server.max_body_bytes, 1024 * 1024);
        assert_eq!(settings.nats.timeout, std::time::Duration::from_secs(10));
        assert_eq!(
            settings.redis.password, None,
            "empty REDIS_PASSWORD means none"
        );
        assert_eq!(settings.redis.url(), "redis://127.0.0.1:6379/0");
    }

    #[test]
    fn unset_database_url_is_the_embedded_sqlite_file() {
        let mut source = complete();
        source.0.remove("DATABASE_URL");
        assert_eq!(
            Settings::load(&source).unwrap().database.url,
            "sqlite://data/auth.db"
        );
        assert_eq!(
            SeedSettings::load(&source).unwrap().database.url,
            "sqlite://data/auth.db"
        );
    }

    #[test]
    fn seed_reads_the_admin_password_and_refuses_one_nobody_could_sign_in_with() {
        let mut source =
            MapSource::new([("GO_MODE", "release"), ("ADMIN_PASSWORD", "chosen-secret")]);
        let settings = SeedSettings::load(&source).unwrap();
        assert_eq!(settings.mode, RunMode::Release);
        assert_eq!(
            settings.admin_password.as_ref().map(Secret::expose),
            Some("chosen-secret")
        );
        assert!(
            !format!("{settings:?}").contains("chosen-secret"),
            "redacted"
        );
        source.set("ADMIN_PASSWORD", "short");
        let errors = SeedSettings::load(&source).unwrap_err();
        assert_eq!(errors.0[0].name, "ADMIN_PASSWORD");
        source.0.remove("ADMIN_PASSWORD");
        source.0.remove("GO_MODE");
        let defaults = SeedSettings::load(&source).unwrap();
        assert_eq!(
            (defaults.mode, defaults.admin_password),
            (RunMode::Debug, None)
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut source = complete();
        source.0.remove("TOKEN_ISSUER");
        source
            .set("SERVER_PORT", "http")
            .set("DATABASE_URL", "postgres://x")
            .set("BCRYPT_COST", "99");
        source
            .set("GO_MODE", "loud")
            .set("NATS_SERVICE_NAME", "a b");
        let errors = Settings::load(&source).unwrap_err();
        let names: Vec<&str> = errors.0.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "GO_MODE",
                "SERVER_PORT",
                "DATABASE_URL",
                "BCRYPT_COST",
                "NATS_SERVICE_NAME",
                "TOKEN_ISSUER"
            ]
        );
    }
}
