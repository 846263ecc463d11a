//! `spawn_app()`: the service in-process on port 0, with its own nats-server, redis-server and SQLite
//! file, seeded (roles, API key, admin). Typed request helpers return `(status, body)`.

use std::{
    path::{Path, PathBuf},
    sync::LazyLock,
    time::Duration,
};

use auth_service::{
    configuration::Settings,
    domain::Id,
    ops, startup,
    state::AppState,
    tokens::{ClaimSettings, TokenKeys},
};
use serde_json::{Value, json};
use shared::config::MapSource;
use testkit::{NatsServer, RedisServer};

/// The seeded API key.
pub const API_KEY: &str = ops::DEFAULT_API_KEY;
/// Claim settings every test app uses.
pub const ISSUER: &str = "api.goserve.afteracademy.com";
/// Audience.
pub const AUDIENCE: &str = "goserve.afteracademy.com";

/// One RSA pair per test binary, written to a temp dir: `(dir, private path, public path)`.
pub static KEYS: LazyLock<(tempfile::TempDir, PathBuf, PathBuf)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir for keys");
    let private = dir.path().join("private.pem");
    let public = dir.path().join("public.pem");
    auth_service::keygen::write_pair(&private, &public).expect("generate keys");
    (dir, private, public)
});

/// A second, unrelated RSA pair (tokens signed with it must be rejected).
pub static OTHER_KEYS: LazyLock<(tempfile::TempDir, PathBuf, PathBuf)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir for keys");
    let private = dir.path().join("private.pem");
    let public = dir.path().join("public.pem");
    auth_service::keygen::write_pair(&private, &public).expect("generate keys");
    (dir, private, public)
});

/// Token keys over `(private, public)` with the given claims.
pub fn token_keys(
    keys: &(tempfile::TempDir, PathBuf, PathBuf),
    issuer: &str,
    access_secs: i64,
) -> TokenKeys {
    TokenKeys::load(
        &keys.1,
        &keys.2,
        ClaimSettings {
            issuer: issuer.into(),
            audience: AUDIENCE.into(),
            access_validity_secs: access_secs,
            refresh_validity_secs: 600,
        },
    )
    .expect("load token keys")
}

/// Every variable the service reads, pointing at the given infrastructure.
pub fn env_vars(
    nats_url: &str,
    redis_port: u16,
    database_url: &str,
    port: u16,
) -> Vec<(&'static str, String)> {
    vec![
        ("GO_MODE", "test".into()),
        ("SERVER_HOST", "127.0.0.1".into()),
        ("SERVER_PORT", port.to_string()),
        ("DATABASE_URL", database_url.into()),
        ("BCRYPT_COST", "4".into()),
        ("REDIS_HOST", "127.0.0.1".into()),
        ("REDIS_PORT", redis_port.to_string()),
        ("REDIS_PASSWORD", String::new()),
        ("REDIS_DB", "0".into()),
        ("NATS_URL", nats_url.into()),
        ("NATS_SERVICE_NAME", "auth".into()),
        ("NATS_SERVICE_VERSION", "1.0.0".into()),
        ("NATS_TIMEOUT_SEC", "5".into()),
        ("RSA_PRIVATE_KEY_PATH", KEYS.1.display().to_string()),
        ("RSA_PUBLIC_KEY_PATH", KEYS.2.display().to_string()),
        ("ACCESS_TOKEN_VALIDITY_SEC", "172800".into()),
        ("REFRESH_TOKEN_VALIDITY_SEC", "604800".into()),
        ("TOKEN_ISSUER", ISSUER.into()),
        ("TOKEN_AUDIENCE", AUDIENCE.into()),
    ]
}

/// A running app and its infrastructure; everything stops on drop.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// HTTP client.
    pub client: reqwest::Client,
    /// A NATS connection to the app's server.
    pub nats: async_nats::Client,
    /// The app's shared state (store, token keys).
    pub state: AppState,
    /// The Redis server (tests stop it to see `/health` fail); `None` for [`spawn_app_without_redis`].
    pub redis: Option<RedisServer>,
    /// The NATS server (tests stop it).
    pub nats_server: NatsServer,
    /// The app's SQLite URL.
    pub database_url: String,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// Stops the app gracefully and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.server.take() {
            Some(server) => server.await?,
            None => Ok(()),
        }
    }
}

/// Starts an app as described in the module doc.
pub async fn spawn_app() -> TestApp {
    spawn_app_on(Some(RedisServer::start())).await
}

/// Starts an app whose Redis port has no server behind it.
pub async fn spawn_app_without_redis() -> TestApp {
    spawn_app_on(None).await
}

async fn spawn_app_on(redis: Option<RedisServer>) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = shared::telemetry::init("auth-service-test", shared::config::RunMode::Test, "info");
    }
    let nats_server = NatsServer::start();
    let redis_port = redis
        .as_ref()
        .map_or_else(testkit::free_port, RedisServer::port);
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = sqlite_url(dir.path());
    let source = MapSource::new(env_vars(nats_server.url(), redis_port, &database_url, 0));
    let settings = Settings::load(&source).expect("test settings are valid");
    let app = startup::build(settings).await.expect("build app");
    let state = app.state().clone();
    let plan = ops::SeedPlan {
        api_key: API_KEY,
        admin_password: ops::AdminPassword::ContractDefault,
        bcrypt_cost: 4,
    };
    ops::seed(state.store.as_ref(), plan).await.expect("seed");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    let nats = async_nats::connect(nats_server.url())
        .await
        .expect("connect to nats");
    TestApp {
        address,
        client: reqwest::Client::new(),
        nats,
        state,
        redis,
        nats_server,
        database_url,
        _dir: dir,
        shutdown: Some(tx),
        server: Some(server),
    }
}

/// `sqlite://<dir>/auth.db`.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("auth.db").display())
}

/// A response: status and JSON body (`Value::Null` when not JSON).
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
    /// Raw body.
    pub text: String,
}

impl Reply {
    /// The envelope's `message`.
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("<no message>")
    }

    /// Asserts an error envelope with `status` and `message`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, message: &str, case: &str) {
        assert_eq!(
            (self.status, self.message()),
            (status, message),
            "case {case}: body {}",
            self.text
        );
        assert_eq!(self.body["code"], "10001", "case {case}");
        assert_eq!(self.body["status"], status, "case {case}");
        assert!(
            self.body.get("data").is_none(),
            "case {case}: errors carry no data"
        );
    }
}

/// Sends `request` and reads the reply.
pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request failed");
    let status = response.status().as_u16();
    let text = response.text().await.expect("read body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status, body, text }
}

impl TestApp {
    /// Drops `table` through a connection of its own, so that the app's next query on it fails
    /// with a real store error (`no such table: ...`).
    pub async fn drop_table(&self, table: &str) {
        use sqlx::Connection;
        let mut connection = sqlx::SqliteConnection::connect(&self.database_url)
            .await
            .expect("open the app's SQLite file");
        sqlx::query(&format!("DROP TABLE {table}"))
            .execute(&mut connection)
            .await
            .expect("drop table");
        connection.close().await.expect("close");
    }

    /// `POST path` with a raw body.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Reply {
        send(
            self.client
                .post(format!("{}{path}", self.address))
                .body(body),
        )
        .await
    }

    /// `POST /signup/basic`.
    pub async fn sign_up(&self, body: &Value) -> Reply {
        send(
            self.client
                .post(format!("{}/signup/basic", self.address))
                .json(body),
        )
        .await
    }

    /// `POST /signin/basic`.
    pub async fn sign_in(&self, body: &Value) -> Reply {
        send(
            self.client
                .post(format!("{}/signin/basic", self.address))
                .json(body),
        )
        .await
    }

    /// `POST /token/refresh` with an optional `Authorization` header.
    pub async fn refresh(&self, authorization: Option<&str>, body: &Value) -> Reply {
        let mut request = self
            .client
            .post(format!("{}/token/refresh", self.address))
            .json(body);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        send(request).await
    }

    /// `GET path` with an optional `Authorization` header.
    pub async fn get(&self, path: &str, authorization: Option<&str>) -> Reply {
        let mut request = self.client.get(format!("{}{path}", self.address));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        send(request).await
    }

    /// `DELETE /signout`.
    pub async fn sign_out(&self, authorization: &str) -> Reply {
        send(
            self.client
                .delete(format!("{}/signout", self.address))
                .header("authorization", authorization),
        )
        .await
    }

    /// Signs up a fresh user and returns `(user id, access token, refresh token)`.
    pub async fn new_user(&self, email: &str) -> (String, String, String) {
        let reply = self
            .sign_up(&json!({"email": email, "password": "secret1", "name": "Test User"}))
            .await;
        assert_eq!(reply.status, 200, "sign-up failed: {}", reply.text);
        tokens_of(&reply)
    }

    /// Signs in and returns `(user id, access token, refresh token)`.
    pub async fn new_session(&self, email: &str, password: &str) -> (String, String, String) {
        let reply = self
            .sign_in(&json!({"email": email, "password": password}))
            .await;
        assert_eq!(reply.status, 200, "sign-in failed: {}", reply.text);
        tokens_of(&reply)
    }
}

/// `(user id, access, refresh)` of a sign-up/sign-in reply.
pub fn tokens_of(reply: &Reply) -> (String, String, String) {
    let data = &reply.body["data"];
    (
        data["user"]["_id"].as_str().expect("user id").to_owned(),
        data["tokens"]["accessToken"]
            .as_str()
            .expect("access token")
            .to_owned(),
        data["tokens"]["refreshToken"]
            .as_str()
            .expect("refresh token")
            .to_owned(),
    )
}

/// `Bearer <token>`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// An id no document has.
pub fn unknown_id() -> String {
    Id::generate().to_string()
}

/// How long tests wait for processes and servers.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
