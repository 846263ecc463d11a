//! `spawn_app()`: blog-service in-process on port 0 with a temp SQLite file, its own nats-server and
//! redis-server, and a test auth responder on NATS. Typed helpers return `(status, body)`.

use std::time::Duration;

use blog_service::{configuration::Settings, startup, state::AppState};
use reqwest::Method;
use serde_json::{Value, json};
use shared::{
    ApiError,
    config::MapSource,
    messages::{Text, User, UserRole},
    nats::MicroService,
};
use testkit::{ChildGuard, Infra, NatsServer, RedisServer, free_port, wait_for_tcp, which};
use tokio::sync::oneshot;

/// Holds AUTHOR and EDITOR.
pub const ADMIN: &str = "Bearer admin-token";
/// Holds AUTHOR only (a second author).
pub const WRITER: &str = "Bearer writer-token";
/// Holds LEARNER only.
pub const LEARNER: &str = "Bearer learner-token";

/// The test users: (token, user, roles).
pub fn users() -> Vec<(&'static str, User, Vec<&'static str>)> {
    let user = |id: &str, name: &str, pic: Option<&str>| User {
        id: id.to_owned(),
        name: name.to_owned(),
        email: format!("{}@example.com", name.to_lowercase()),
        profile_pic_url: pic.map(str::to_owned),
    };
    vec![
        (
            ADMIN,
            user(
                "aaaaaaaaaaaaaaaaaaaaaaa1",
                "Admin",
                Some("https://pics.example/admin.png"),
            ),
            vec!["AUTHOR", "EDITOR"],
        ),
        (
            WRITER,
            user("aaaaaaaaaaaaaaaaaaaaaaa2", "Writer", None),
            vec!["AUTHOR"],
        ),
        (
            LEARNER,
            user("aaaaaaaaaaaaaaaaaaaaaaa3", "Learner", None),
            vec!["LEARNER"],
        ),
    ]
}

/// The user behind `token`.
pub fn user_of(token: &str) -> User {
    users()
        .into_iter()
        .find(|(t, _, _)| *t == token)
        .map(|(_, user, _)| user)
        .expect("BUG: unknown test token")
}

/// Serves `auth.authentication`, `auth.authorization` and `auth.profile.user` for [`users`], with
/// auth-service's error texts.
pub async fn start_test_auth(nats_url: &str) -> MicroService {
    let client = async_nats::connect(nats_url)
        .await
        .expect("connect to nats");
    let service = MicroService::start(&client, "auth", "1.0.0")
        .await
        .expect("start auth");
    service
        .serve("/", "authentication", |text: Text| async move {
            if text.value.is_empty() {
                return Err(ApiError::unauthorized(
                    "permission denied: missing Authorization",
                ));
            }
            users()
                .into_iter()
                .find(|(token, _, _)| *token == text.value)
                .map(|(_, user, _)| user)
                .ok_or_else(|| ApiError::unauthorized("permission denied: invalid access token"))
        })
        .await
        .expect("serve authentication");
    service
        .serve("/", "authorization", |request: UserRole| async move {
            let (_, user, roles) = users()
                .into_iter()
                .find(|(_, user, _)| user.id == request.user.id)
                .ok_or_else(|| ApiError::internal("mongo: no documents in result"))?;
            if request
                .roles
                .iter()
                .any(|role| roles.contains(&role.as_str()))
            {
                Ok(user)
            } else {
                Err(ApiError::forbidden(
                    "permission denied: does not have suffient role",
                ))
            }
        })
        .await
        .expect("serve authorization");
    service
        .serve("/profile", "user", |text: Text| async move {
            users()
                .into_iter()
                .find(|(_, user, _)| user.id == text.value)
                .map(|(_, user, _)| User {
                    email: String::new(),
                    ..user
                })
                .ok_or_else(|| ApiError::not_found("user does not exists"))
        })
        .await
        .expect("serve profile");
    service
}

/// A running blog-service and its infrastructure; everything stops on drop.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// HTTP client.
    pub client: reqwest::Client,
    /// Its shared state (store access for assertions).
    pub state: AppState,
    /// The Redis server (tests stop it).
    pub redis: RedisServer,
    /// The NATS server.
    pub nats: NatsServer,
    /// The SQLite URL (replicas share it).
    pub database_url: String,
    /// The test auth responder, if started (kept alive for the app's lifetime).
    _auth: Option<MicroService>,
    _dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

/// Knobs of [`spawn_app_with`].
#[derive(Debug)]
pub struct Options {
    /// Start the test auth responder.
    pub auth: bool,
    /// Extra or overriding variables.
    pub vars: Vec<(&'static str, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            auth: true,
            vars: Vec::new(),
        }
    }
}

/// The settings of a test app.
pub fn settings(
    nats_url: &str,
    redis_port: u16,
    database_url: &str,
    extra: &[(&'static str, String)],
) -> MapSource {
    let mut source = MapSource::new([
        ("GO_MODE", "test".to_owned()),
        ("SERVER_HOST", "127.0.0.1".to_owned()),
        ("SERVER_PORT", "0".to_owned()),
        ("DATABASE_URL", database_url.to_owned()),
        ("REDIS_HOST", "127.0.0.1".to_owned()),
        ("REDIS_PORT", redis_port.to_string()),
        ("REDIS_DB", "3".to_owned()),
        ("NATS_URL", nats_url.to_owned()),
        ("NATS_SERVICE_NAME", "blog".to_owned()),
        ("NATS_SERVICE_VERSION", "1.0.0".to_owned()),
        ("NATS_TIMEOUT_SEC", "2".to_owned()),
    ]);
    for (key, value) in extra {
        source.set(*key, value.clone());
    }
    source
}

/// blog-service with the test auth responder.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

/// blog-service with `options`.
pub async fn spawn_app_with(options: Options) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = shared::telemetry::init("blog-test", shared::config::RunMode::Test, "debug");
    }
    let nats = NatsServer::start();
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = format!("sqlite://{}", dir.path().join("blog.db").display());
    let auth = if options.auth {
        Some(start_test_auth(nats.url()).await)
    } else {
        None
    };
    let source = settings(nats.url(), redis.port(), &database_url, &options.vars);
    let (address, state, stop) = start(&source).await;
    TestApp {
        address,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client"),
        state,
        redis,
        nats,
        database_url,
        _auth: auth,
        _dir: dir,
        _stop: stop,
    }
}

/// Builds and runs blog-service with `source`; it stops when the sender drops.
pub async fn start(source: &MapSource) -> (String, AppState, oneshot::Sender<()>) {
    let app = startup::build(Settings::load(source).expect("valid settings"))
        .await
        .expect("build blog-service");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    (address, state, stop)
}

/// A second blog-service process-equivalent on the same SQLite file, NATS and Redis as `app`.
pub struct Replica {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    _stop: oneshot::Sender<()>,
}

/// Starts a [`Replica`] of `app`.
pub async fn spawn_replica(app: &TestApp) -> Replica {
    let source = settings(app.nats.url(), app.redis.port(), &app.database_url, &[]);
    let (address, _, stop) = start(&source).await;
    Replica {
        address,
        _stop: stop,
    }
}

/// A valid create body for `slug`.
pub fn blog_body(slug: &str, title: &str) -> Value {
    json!({
        "title": title,
        "description": format!("About {title}"),
        "draftText": format!("Draft text of {title}"),
        "slug": slug,
        "imgUrl": "https://img.example/cover.png",
        "tags": ["RUST", "NATS"],
    })
}

impl TestApp {
    /// Sends a request; `body` is sent raw.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (u16, Value) {
        send(&self.client, &self.address, method, path, token, body).await
    }

    /// `GET path` without credentials.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(Method::GET, path, None, None).await
    }

    /// `method path` as `token` with a JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        self.send(method, path, Some(token), body.map(Value::to_string))
            .await
    }

    /// Creates a blog as `token`; returns its id.
    pub async fn create_blog(&self, token: &str, slug: &str, title: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/author/",
                token,
                Some(&blog_body(slug, title)),
            )
            .await;
        assert_eq!(status, 200, "create {slug}: {body}");
        body["data"]["_id"].as_str().expect("created id").to_owned()
    }

    /// Submits (as its author `token`) and publishes (as ADMIN) blog `id`.
    pub async fn submit_and_publish(&self, token: &str, id: &str) {
        let (status, body) = self
            .call(Method::PUT, &format!("/author/submit/id/{id}"), token, None)
            .await;
        assert_eq!(status, 200, "submit: {body}");
        let (status, body) = self
            .call(
                Method::PUT,
                &format!("/editor/publish/id/{id}"),
                ADMIN,
                None,
            )
            .await;
        assert_eq!(status, 200, "publish: {body}");
    }
}

/// Sends one request to `address`.
pub async fn send(
    client: &reqwest::Client,
    address: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (u16, Value) {
    let mut request = client.request(method, format!("{address}{path}"));
    if let Some(token) = token {
        request = request.header("Authorization", token);
    }
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body);
    }
    let response = request.send().await.expect("send request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("read body");
    let value = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text));
    (status, value)
}

/// Asserts an error envelope with `status` and `message`.
#[track_caller]
pub fn assert_error(response: &(u16, Value), status: u16, message: &str, context: &str) {
    let (got_status, body) = response;
    assert_eq!(
        (*got_status, body["message"].as_str().unwrap_or_default()),
        (status, message),
        "{context}: {body}"
    );
    assert_eq!(body["code"], "10001", "{context}: {body}");
    assert_eq!(body["status"], status, "{context}: {body}");
    assert!(
        body.get("data").is_none(),
        "{context}: errors carry no data"
    );
}

/// How long a (re)started redis-server or nats-server may take to listen.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(10);

/// A redis-server or nats-server the test owns on one port, which it can stop and start again on
/// that same port (outages and recoveries). Never `TEST_*_URL`: an outage test must be able to stop
/// its server. Stopped on drop.
pub struct OwnedServer {
    kind: Infra,
    port: u16,
    process: Option<ChildGuard>,
}

impl OwnedServer {
    /// A redis-server (no persistence) on a free port, not started yet.
    pub fn redis() -> Self {
        Self::new(Infra::Redis)
    }

    /// A nats-server on a free port, not started yet.
    pub fn nats() -> Self {
        Self::new(Infra::Nats)
    }

    fn new(kind: Infra) -> Self {
        Self {
            kind,
            port: free_port(),
            process: None,
        }
    }

    /// The port it listens on (or will).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>` or `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.kind.url(self.port)
    }

    /// Starts the server on its port and waits until it accepts connections.
    pub fn start(&mut self) -> &mut Self {
        let binary = self.kind.binary();
        assert!(self.process.is_none(), "{binary} already runs");
        let program = which(binary).unwrap_or_else(|| {
            panic!("{binary} is missing: run `apt-get install -y nats-server redis-server`")
        });
        let process = ChildGuard::spawn(binary, self.kind.command(&program, self.port))
            .unwrap_or_else(|err| panic!("{binary}: {err}"));
        wait_for_tcp(([127, 0, 0, 1], self.port).into(), SERVER_START_TIMEOUT)
            .unwrap_or_else(|err| panic!("{binary} did not start: {err}\n{}", process.logs()));
        self.process = Some(process);
        self
    }

    /// Kills the server now.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }
}
