//! Test harness: upstream servers, a fake auth, and the gateway process with its config file.

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    path::PathBuf,
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    routing::get,
};
use testkit::{ChildGuard, free_port, wait_for_tcp, wait_until_async};

/// An upstream HTTP server that answers every request with JSON describing it, counts them and
/// remembers the connections they came on. `GET .../big/<n>` answers `n` bytes of [`big_body_byte`]
/// instead, streamed in chunks (no Content-Length).
#[derive(Clone)]
pub struct Upstream {
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    peers: Arc<Mutex<HashSet<SocketAddr>>>,
}

#[derive(Clone)]
struct UpstreamState {
    name: &'static str,
    hits: Arc<AtomicUsize>,
    peers: Arc<Mutex<HashSet<SocketAddr>>>,
}

/// Byte `i` of a `/big/<n>` body.
pub fn big_body_byte(i: usize) -> u8 {
    (i % 251) as u8
}

/// The sum of `bytes`, as the upstream reports a body's (`body_sum`) for comparing large bodies.
pub fn byte_sum(bytes: &[u8]) -> u64 {
    bytes.iter().map(|&byte| u64::from(byte)).sum()
}

/// `n` bytes of [`big_body_byte`], in 64 KiB chunks of a stream (sent chunked).
fn big_body(n: usize) -> Body {
    const CHUNK: usize = 64 * 1024;
    let chunks = (0..n.div_ceil(CHUNK)).map(move |index| {
        let start = index * CHUNK;
        let bytes: Vec<u8> = (start..n.min(start + CHUNK)).map(big_body_byte).collect();
        Ok::<_, std::convert::Infallible>(bytes::Bytes::from(bytes))
    });
    Body::from_stream(futures::stream::iter(chunks))
}

async fn echo(
    State(state): State<UpstreamState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> axum::response::Response {
    state.hits.fetch_add(1, Ordering::Relaxed);
    state.peers.lock().unwrap().insert(peer);
    if let Some(n) = request
        .uri()
        .path()
        .rsplit_once("/big/")
        .and_then(|(_, n)| n.parse::<usize>().ok())
    {
        return (StatusCode::OK, big_body(n)).into_response();
    }
    let headers: HashMap<String, String> = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let path = request
        .uri()
        .path_and_query()
        .map(ToString::to_string)
        .unwrap_or_default();
    if request.uri().path().ends_with("/slow") {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let method = request.method().as_str().to_owned();
    // Read the whole body before answering, as an upload endpoint does.
    let Ok(body) = axum::body::to_bytes(request.into_body(), usize::MAX).await else {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "body"})),
        )
            .into_response();
    };
    let body_sum = byte_sum(&body);
    (
        StatusCode::OK,
        Json(serde_json::json!({
            "upstream": state.name,
            "method": method,
            "path": path,
            "headers": headers,
            "body_bytes": body.len(),
            "body_sum": body_sum,
        })),
    )
        .into_response()
}

impl Upstream {
    /// Starts an echo server named `name` on a free port.
    pub async fn start(name: &'static str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let peers = Arc::new(Mutex::new(HashSet::new()));
        let app = Router::new().fallback(echo).with_state(UpstreamState {
            name,
            hits: hits.clone(),
            peers: peers.clone(),
        });
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap()
        });
        Self { addr, hits, peers }
    }

    /// `127.0.0.1:<port>`.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// Requests served so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }

    /// Distinct client connections (the gateway's upstream connections) seen so far.
    pub fn connections(&self) -> usize {
        self.peers.lock().unwrap().len()
    }
}

/// A fake auth `/verify/apikey`: `good` → 200, `expired` → 401, anything else → 403; counts calls.
/// `/moved` redirects (302) to `/verify/apikey`.
#[derive(Clone)]
pub struct FakeAuth {
    pub addr: SocketAddr,
    calls: Arc<AtomicUsize>,
    /// Artificial latency of each verification, to make concurrent checks overlap.
    _delay: Arc<Mutex<Duration>>,
    traceparents: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone)]
struct AuthState {
    calls: Arc<AtomicUsize>,
    delay: Arc<Mutex<Duration>>,
    traceparents: Arc<Mutex<Vec<String>>>,
}

async fn verify(State(state): State<AuthState>, headers: HeaderMap) -> impl IntoResponse {
    state.calls.fetch_add(1, Ordering::SeqCst);
    if let Some(traceparent) = headers.get("traceparent").and_then(|v| v.to_str().ok()) {
        state
            .traceparents
            .lock()
            .unwrap()
            .push(traceparent.to_owned());
    }
    let delay = *state.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let envelope = |status: u16, message: &str| {
        let code = if status == 200 { "10000" } else { "10001" };
        Json(serde_json::json!({"code": code, "status": status, "message": message}))
    };
    match headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        Some("good") => (StatusCode::OK, envelope(200, "success")),
        Some("expired") => (
            StatusCode::UNAUTHORIZED,
            envelope(401, "permission denied: key expired"),
        ),
        _ => (
            StatusCode::FORBIDDEN,
            envelope(403, "permission denied: invalid x-api-key"),
        ),
    }
}

impl FakeAuth {
    /// Starts the fake auth on a free port; each verification takes `delay`.
    pub async fn start(delay: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let delay = Arc::new(Mutex::new(delay));
        let traceparents = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/verify/apikey", get(verify))
            .route(
                "/moved",
                get(|| async { (StatusCode::FOUND, [("location", "/verify/apikey")]) }),
            )
            .with_state(AuthState {
                calls: calls.clone(),
                delay: delay.clone(),
                traceparents: traceparents.clone(),
            });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            addr,
            calls,
            _delay: delay,
            traceparents,
        }
    }

    /// `http://127.0.0.1:<port>/verify/apikey`.
    pub fn url(&self) -> String {
        format!("http://{}/verify/apikey", self.addr)
    }

    /// `http://127.0.0.1:<port>/moved`: a 302 to the verification URL.
    pub fn redirecting_url(&self) -> String {
        format!("http://{}/moved", self.addr)
    }

    /// The `traceparent` of every verification call that carried one.
    pub fn traceparents(&self) -> Vec<String> {
        self.traceparents.lock().unwrap().clone()
    }

    /// Verification calls received.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// The gateway binary with its config file in a temp dir.
pub struct Gateway {
    pub port: u16,
    pub admin_port: u16,
    pub config_path: PathBuf,
    /// Extra `_gateway` lines of this gateway's config, kept across `replace_config`.
    settings: String,
    _dir: tempfile::TempDir,
    pub process: ChildGuard,
}

/// The `_gateway` block that puts the proxy on `port` and the admin API on `admin_port`, plus
/// `settings` (more `_gateway` lines, indented by two spaces); prepended to test configs.
pub fn gateway_block(port: u16, admin_port: u16, settings: &str) -> String {
    format!(
        "_gateway:\n  proxy_listen: \"127.0.0.1:{port}\"\n  admin_listen: \"127.0.0.1:{admin_port}\"\n  threads: 2\n{settings}"
    )
}

/// Waits until the gateway watches its config file: a change written before that is not seen
/// (the listeners come up before the watcher does).
fn wait_for_watcher(process: &ChildGuard) {
    testkit::wait_until(
        "the gateway to watch its config",
        Duration::from_secs(10),
        || process.logs().contains("watching the config for changes"),
    )
    .unwrap_or_else(|err| panic!("{err}\n{}", process.logs()));
}

impl Gateway {
    /// Writes `config` (without `_gateway`; it is added) and starts the gateway on a free port.
    pub fn start(config: &str) -> Self {
        Self::start_with_settings("", config)
    }

    /// [`Gateway::start`] with more `_gateway` lines, e.g. `"  upstream_idle_timeout: 5\n"`.
    pub fn start_with_settings(settings: &str, config: &str) -> Self {
        let port = free_port();
        let admin_port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("gateway.yml");
        std::fs::write(
            &config_path,
            format!("{}{config}", gateway_block(port, admin_port, settings)),
        )
        .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_gateway"));
        command
            .args(["run", "--config"])
            .arg(&config_path)
            .env("RUST_LOG", "info");
        let process = ChildGuard::spawn("gateway", command).unwrap();
        wait_for_tcp(
            SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(20),
        )
        .unwrap_or_else(|err| panic!("gateway did not start: {err}\n{}", process.logs()));
        wait_for_tcp(
            SocketAddr::from(([127, 0, 0, 1], admin_port)),
            Duration::from_secs(20),
        )
        .unwrap_or_else(|err| panic!("admin API did not start: {err}\n{}", process.logs()));
        wait_for_watcher(&process);
        Self {
            port,
            admin_port,
            config_path,
            settings: settings.to_owned(),
            _dir: dir,
            process,
        }
    }

    /// Starts the gateway on a config file the test laid out itself in `dir` (symlinks, say),
    /// which must listen on `port` and `admin_port` ([`gateway_block`]).
    pub fn start_file(
        dir: tempfile::TempDir,
        config_path: PathBuf,
        port: u16,
        admin_port: u16,
    ) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gateway"));
        command
            .args(["run", "--config"])
            .arg(&config_path)
            .env("RUST_LOG", "info");
        let process = ChildGuard::spawn("gateway", command).unwrap();
        for listener in [port, admin_port] {
            wait_for_tcp(
                SocketAddr::from(([127, 0, 0, 1], listener)),
                Duration::from_secs(20),
            )
            .unwrap_or_else(|err| panic!("gateway did not start: {err}\n{}", process.logs()));
        }
        wait_for_watcher(&process);
        Self {
            port,
            admin_port,
            config_path,
            settings: String::new(),
            _dir: dir,
            process,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `http://127.0.0.1:<admin port><path>`.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.admin_port)
    }

    /// The admin API's Prometheus text (`GET /metrics`).
    pub async fn metrics(&self, client: &reqwest::Client) -> String {
        client
            .get(self.admin_url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Replaces the config atomically (write a temp file, rename over), as editors do.
    pub fn replace_config(&self, config: &str) {
        let temp = self.config_path.with_extension("tmp");
        std::fs::write(
            &temp,
            format!(
                "{}{config}",
                gateway_block(self.port, self.admin_port, &self.settings)
            ),
        )
        .unwrap();
        std::fs::rename(&temp, &self.config_path).unwrap();
    }

    /// Waits until the gateway's log contains `needle` `count` times.
    pub async fn wait_for_log(&self, needle: &str, count: usize) {
        wait_until_async(
            &format!("{count}× {needle:?} in the gateway log"),
            Duration::from_secs(5),
            || {
                let logs = self.process.logs();
                async move { logs.matches(needle).count() >= count }
            },
        )
        .await
        .unwrap_or_else(|err| panic!("{err}\n{}", self.process.logs()));
    }
}

/// A JSON GET through the gateway: (status, body).
pub async fn get_json(client: &reqwest::Client, url: &str) -> (u16, serde_json::Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

/// Runs `gateway check` on `path`: (exit code, stdout + stderr).
pub fn run_check(path: &std::path::Path) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("check")
        .arg(path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

/// The seed's Kong file `name` (copied verbatim from `shared/fixtures/kong`).
pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// Where nginx is installed: the first `nginx` on `PATH`, else `/usr/sbin/nginx`; `None` when it
/// is not installed.
pub fn nginx_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .map(|dir| dir.join("nginx"))
        .chain([PathBuf::from("/usr/sbin/nginx")])
        .find(|candidate| candidate.is_file())
}

/// nginx as a reverse proxy, configured as `cargo xtask bench` configures it (`proxy_nginx`):
/// `/svc/` → `upstream` with the prefix stripped, HTTP/1.1 with `Connection ""` and idle upstream
/// connections kept, no access log; one worker, every file it writes inside a temp dir. The
/// reference the gateway is compared against.
pub struct Nginx {
    pub port: u16,
    dir: tempfile::TempDir,
    pub process: ChildGuard,
}

impl Nginx {
    /// Starts `binary` in front of `upstream` on a free port and waits until it listens.
    pub fn start(binary: &std::path::Path, upstream: SocketAddr) -> Self {
        use std::os::unix::fs::PermissionsExt as _;

        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        // Run as root, nginx's worker switches to `nobody`, which must reach its temp dirs in here.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.path().display();
        let temp_paths = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .iter()
            .map(|kind| format!("    {kind}_temp_path {path}/tmp-{kind};"))
            .collect::<Vec<_>>()
            .join("\n");
        let conf = [
            "worker_processes 1;".to_owned(),
            format!("pid {path}/nginx.pid;"),
            format!("error_log {path}/error.log info;"),
            "events { worker_connections 1024; }".to_owned(),
            "http {".to_owned(),
            "    access_log off;".to_owned(),
            temp_paths,
            format!("    upstream svc_pool {{ server {upstream}; keepalive 64; }}"),
            "    server {".to_owned(),
            format!("        listen 127.0.0.1:{port};"),
            "        location /svc/ {".to_owned(),
            "            proxy_pass http://svc_pool/;".to_owned(),
            "            proxy_http_version 1.1;".to_owned(),
            "            proxy_set_header Connection \"\";".to_owned(),
            "        }".to_owned(),
            "    }".to_owned(),
            "}\n".to_owned(),
        ]
        .join("\n");
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut command = Command::new(binary);
        command
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("startup-error.log"))
            .arg("-c")
            .arg(&conf_path)
            .args(["-g", "daemon off;"]);
        let process = ChildGuard::spawn("nginx", command).unwrap();
        wait_for_tcp(
            SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(10),
        )
        .unwrap_or_else(|err| panic!("nginx did not start: {err}\n{}", process.logs()));
        Self { port, dir, process }
    }

    /// nginx's error log (at `info`: it names the reason of every request it refuses).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}
