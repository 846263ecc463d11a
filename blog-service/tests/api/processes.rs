//! The real auth-service and blog-service binaries, started as a deployment starts them: auth's
//! RSA keys generated and its database seeded (admin with every role), then one auth and one blog
//! process on SQLite files of their own, each answering `/health`. `e2e`, `outage` and `tracing`
//! use them.

use std::{process::Command, time::Duration};

use testkit::{ChildGuard, bin_path, free_port};

/// Seeded by `auth-service seed` with every role (`GO_MODE=test`).
pub const ADMIN_EMAIL: &str = "admin@afteracademy.com";
pub const ADMIN_PASSWORD: &str = "changeit";

/// What the services connect to.
pub struct Dependencies {
    /// `NATS_URL`.
    pub nats_url: String,
    /// Redis on 127.0.0.1.
    pub redis_port: u16,
    /// `NATS_TIMEOUT_SEC` of both services.
    pub nats_timeout: Duration,
}

/// The two running services; both stop on drop.
pub struct Services {
    _auth: ChildGuard,
    pub blog: ChildGuard,
    pub auth_port: u16,
    pub blog_port: u16,
    _dir: tempfile::TempDir,
}

impl Services {
    /// keygen, seed, then auth and blog, each answering `/health` within `deadline`. `extra_env`
    /// gives more variables per service (`"auth"` or `"blog"`); `RUST_LOG` is not inherited.
    pub async fn start(
        infra: &Dependencies,
        deadline: Duration,
        extra_env: impl Fn(&str) -> Vec<(&'static str, String)>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (auth_port, blog_port) = (free_port(), free_port());
        let database = |service: &str| {
            format!(
                "sqlite://{}",
                dir.path().join(format!("{service}.db")).display()
            )
        };
        let mut auth_env = service_env(infra, database("auth"), auth_port, "auth");
        auth_env.extend([
            (
                "RSA_PRIVATE_KEY_PATH",
                dir.path().join("private.pem").display().to_string(),
            ),
            (
                "RSA_PUBLIC_KEY_PATH",
                dir.path().join("public.pem").display().to_string(),
            ),
            ("ACCESS_TOKEN_VALIDITY_SEC", "3600".into()),
            ("REFRESH_TOKEN_VALIDITY_SEC", "7200".into()),
            ("TOKEN_ISSUER", "api.goserve.afteracademy.com".into()),
            ("TOKEN_AUDIENCE", "goserve.afteracademy.com".into()),
            ("BCRYPT_COST", "4".into()),
        ]);
        for step in ["keygen", "seed"] {
            let mut child = spawn("auth-service", &[step], &auth_env);
            let status = child
                .wait()
                .unwrap_or_else(|err| panic!("auth-service {step}: {err}"));
            assert!(
                status.success(),
                "auth-service {step} failed: {}",
                child.logs()
            );
        }
        auth_env.extend(extra_env("auth"));
        let mut blog_env = service_env(infra, database("blog"), blog_port, "blog");
        blog_env.extend(extra_env("blog"));
        let mut auth = spawn("auth-service", &[], &auth_env);
        let mut blog = spawn("blog-service", &[], &blog_env);
        for (child, port) in [(&mut auth, auth_port), (&mut blog, blog_port)] {
            child
                .wait_http_ok(port, "/health", deadline)
                .await
                .unwrap_or_else(|err| panic!("{err}"));
        }
        Self {
            _auth: auth,
            blog,
            auth_port,
            blog_port,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:<auth port>`.
    pub fn auth_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.auth_port)
    }

    /// `http://127.0.0.1:<blog port>`.
    pub fn blog_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.blog_port)
    }
}

/// What both services read alike, in test mode.
fn service_env(
    infra: &Dependencies,
    database: String,
    port: u16,
    name: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("GO_MODE", "test".into()),
        ("SERVER_HOST", "127.0.0.1".into()),
        ("SERVER_PORT", port.to_string()),
        ("DATABASE_URL", database),
        ("REDIS_HOST", "127.0.0.1".into()),
        ("REDIS_PORT", infra.redis_port.to_string()),
        ("REDIS_PASSWORD", String::new()),
        ("REDIS_DB", "3".into()),
        ("NATS_URL", infra.nats_url.clone()),
        ("NATS_SERVICE_NAME", name.into()),
        ("NATS_SERVICE_VERSION", "1.0.0".into()),
        ("NATS_TIMEOUT_SEC", infra.nats_timeout.as_secs().to_string()),
    ]
}

fn spawn(binary: &str, args: &[&str], env: &[(&'static str, String)]) -> ChildGuard {
    let mut command = Command::new(bin_path(binary));
    command
        .args(args)
        .env_remove("RUST_LOG")
        .envs(env.iter().map(|(key, value)| (*key, value.as_str())));
    ChildGuard::spawn(binary, command).unwrap_or_else(|err| panic!("spawn {binary}: {err}"))
}
