//! [`Settings`]: every knob of the service, read from the contract's variable names (spec 7.1) plus
//! `DATABASE_URL` (replaces the `DB_*` fields, D14), `NATS_TIMEOUT_SEC` (D11) and `MAX_BODY_BYTES`
//! (D12). Loading collects every problem into one [`ConfigErrors`].

use shared::config::{ConfigErrors, Reader, RunMode, Source};
pub use shared::config::{DEFAULT_MAX_BODY_BYTES, NatsSettings, RedisSettings, ServerSettings};

/// All settings of a serving process.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `GO_MODE`.
    pub mode: RunMode,
    /// `SERVER_HOST`, `SERVER_PORT` (0 = any free port), `MAX_BODY_BYTES`.
    pub server: ServerSettings,
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `REDIS_*`.
    pub redis: RedisSettings,
    /// `NATS_*`.
    pub nats: NatsSettings,
}

impl Settings {
    /// Reads and validates every setting; `Err` lists every problem.
    pub fn load(source: &dyn Source) -> Result<Self, ConfigErrors> {
        let mut r = Reader::new(source);
        let mode: Option<RunMode> = r.required("GO_MODE");
        let server = ServerSettings::read(&mut r);
        let database_url = r.database_url("sqlite://data/blog.db");
        let redis = RedisSettings::read(&mut r);
        let nats = NatsSettings::read(&mut r);
        r.finish()?;
        let missing = "BUG: finish() fails when a required value is missing";
        Ok(Self {
            mode: mode.expect(missing),
            server: server.expect(missing),
            database_url,
            redis: redis.expect(missing),
            nats: nats.expect(missing),
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
            ("REDIS_HOST", "127.0.0.1"),
            ("REDIS_PORT", "6379"),
            ("REDIS_PASSWORD", ""),
            ("NATS_URL", "nats://127.0.0.1:4222"),
            ("NATS_SERVICE_NAME", "blog"),
            ("NATS_SERVICE_VERSION", "1.0.0"),
        ])
    }

    #[test]
    fn complete_settings_load_with_defaults() {
        let settings = Settings::load(&complete()).unwrap();
        assert_eq!(settings.database_url, "sqlite://data/blog.db");
        assert_eq!(settings.server.max_body_bytes, 1024 * 1024);
        assert_eq!(settings.nats.timeout, std::time::Duration::from_secs(10));
        assert_eq!(settings.redis.password, None);
        assert_eq!(settings.redis.url(), "redis://127.0.0.1:6379/0");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut source = complete();
        source.0.remove("NATS_URL");
        source
            .set("GO_MODE", "loud")
            .set("SERVER_PORT", "http")
            .set("DATABASE_URL", "postgres://x")
            .set("NATS_TIMEOUT_SEC", "0");
        let errors = Settings::load(&source).unwrap_err();
        let names: Vec<&str> = errors.0.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "GO_MODE",
                "SERVER_PORT",
                "DATABASE_URL",
                "NATS_URL",
                "NATS_TIMEOUT_SEC"
            ]
        );
    }
}
