//! `cargo xtask up`: the whole local stack with one command.
//!
//! Builds release binaries; reuses NATS and Redis already listening on 4222/6379 or starts its own
//! (installing them with apt when root and missing, and saying so); generates the RSA keys and an
//! API key and the admin's password on first run (kept under `data/`, never committed); seeds the
//! auth database with them; starts 2 auth
//! and 2 blog replicas on SQLite files under `data/` (or MongoDB with `--mongodb-url`) and the gateway
//! on :8000 with the repository's `gateway.yml`; waits for every `/health`; prints what to use.
//! A process that exits (a replica killed to watch the gateway fail over) is restarted after a
//! back-off (1 s, doubling while it keeps exiting at once, at most 30 s) while the others keep
//! serving. Ctrl-C stops every child it started, and only those. Logs go to `data/logs/`.
//!
//! Its pieces ([`Children`], [`start_services`]) also start the stack of `cargo xtask bench`.

use std::{
    fs,
    io::Read,
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use crate::{run, workspace_root};

/// Ports of the auth and blog replicas of the local stack; they match `gateway.yml`.
const AUTH_PORTS: [u16; 2] = [8101, 8102];
const BLOG_PORTS: [u16; 2] = [8201, 8202];
const GATEWAY_PORT: u16 = 8000;
/// The gateway's TLS listener (`_gateway.proxy_listen_tls` in gateway.yml).
const GATEWAY_TLS_PORT: u16 = 8443;
/// The gateway's admin API (`_gateway.admin_listen` in gateway.yml).
const ADMIN_PORT: u16 = 8001;
const NATS_PORT: u16 = 4222;
const REDIS_PORT: u16 = 6379;
/// The first wait before restarting a child of `up` that exited.
const RESTART_BACKOFF: Duration = Duration::from_secs(1);
/// How long the stack may take to become healthy.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// Options of `cargo xtask up`.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Run the services on this MongoDB instead of SQLite files.
    pub mongodb_url: Option<String>,
}

/// A child that ran this long before it exited is restarted after the base back-off again.
const STEADY_RUN: Duration = Duration::from_secs(30);
/// The longest wait before restarting a child that keeps exiting.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Processes started by xtask (`up`, `bench`). Each writes stdout and stderr to `<logs>/<name>.log`
/// and is stopped on drop, newest first: SIGTERM, then SIGKILL after 5 s. [`Children::supervise`]
/// restarts those that exit.
pub(crate) struct Children {
    logs: PathBuf,
    running: Vec<Supervised>,
}

/// One child and what it takes to start it again.
struct Supervised {
    name: String,
    child: Child,
    command: Command,
    started: Instant,
    /// Exits in a row that came before [`STEADY_RUN`]: the back-off doubles with each.
    quick_exits: u32,
    restarts: u32,
    /// When it exited and is waiting for its back-off: when it starts again.
    restart_at: Option<Instant>,
}

impl Children {
    /// No children yet; their logs will go to `logs` (created if missing).
    pub(crate) fn new(logs: PathBuf) -> anyhow::Result<Self> {
        fs::create_dir_all(&logs)?;
        Ok(Self {
            logs,
            running: Vec::new(),
        })
    }

    /// The log file of the child called `name`.
    pub(crate) fn log_path(&self, name: &str) -> PathBuf {
        self.logs.join(format!("{name}.log"))
    }

    /// Starts `command` as `name`; returns its process id.
    pub(crate) fn spawn(&mut self, name: &str, mut command: Command) -> anyhow::Result<u32> {
        let log = fs::File::create(self.log_path(name))?;
        let child = start(name, &mut command, log)?;
        let pid = child.id();
        self.running.push(Supervised {
            name: name.to_owned(),
            child,
            command,
            started: Instant::now(),
            quick_exits: 0,
            restarts: 0,
            restart_at: None,
        });
        Ok(pid)
    }

    /// The first child that has exited, with its status.
    pub(crate) fn exited(&mut self) -> Option<(String, std::process::ExitStatus)> {
        self.running.iter_mut().find_map(|supervised| {
            supervised
                .child
                .try_wait()
                .ok()
                .flatten()
                .map(|status| (supervised.name.clone(), status))
        })
    }

    /// Restarts the children that exited, each after a back-off: `base`, doubled for every exit
    /// in a row that came within [`STEADY_RUN`] of its start, at most [`MAX_BACKOFF`]. Says on
    /// stdout what it does; call it in a loop. The others keep running.
    pub(crate) fn supervise(&mut self, base: Duration) {
        let now = Instant::now();
        for supervised in &mut self.running {
            match supervised.restart_at {
                None => {
                    let Some(status) = supervised.child.try_wait().ok().flatten() else {
                        continue;
                    };
                    if now.duration_since(supervised.started) >= STEADY_RUN {
                        supervised.quick_exits = 0;
                    }
                    let backoff = base
                        .saturating_mul(1 << supervised.quick_exits.min(16))
                        .min(MAX_BACKOFF);
                    supervised.quick_exits += 1;
                    supervised.restart_at = Some(now + backoff);
                    println!(
                        "{} exited ({status}); restarting it in {backoff:?} (log: {})",
                        supervised.name,
                        self.logs.join(format!("{}.log", supervised.name)).display()
                    );
                }
                Some(at) if at <= now => {
                    supervised.restart_at = None;
                    let log = fs::OpenOptions::new()
                        .append(true)
                        .create(true)
                        .open(self.logs.join(format!("{}.log", supervised.name)));
                    match log
                        .map_err(anyhow::Error::from)
                        .and_then(|log| start(&supervised.name, &mut supervised.command, log))
                    {
                        Ok(child) => {
                            supervised.child = child;
                            supervised.started = now;
                            supervised.restarts += 1;
                            println!(
                                "{} restarted (restart {})",
                                supervised.name, supervised.restarts
                            );
                        }
                        Err(err) => {
                            // Tried again after the next back-off: the old child's status stays.
                            println!("{err}");
                            supervised.restart_at = Some(now + MAX_BACKOFF);
                        }
                    }
                }
                Some(_) => {}
            }
        }
    }

    /// `name ×count` of every child restarted so far, for the summary line; empty when none was.
    pub(crate) fn restart_summary(&self) -> String {
        self.running
            .iter()
            .filter(|supervised| supervised.restarts > 0)
            .map(|supervised| format!("{} ×{}", supervised.name, supervised.restarts))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Polls `ready` until it holds; fails when a child dies or after [`READY_TIMEOUT`].
    pub(crate) fn wait_for(
        &mut self,
        what: &str,
        mut ready: impl FnMut() -> bool,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        while !ready() {
            if let Some((name, status)) = self.exited() {
                anyhow::bail!(
                    "{name} exited ({status}) while waiting for {what}; see {}",
                    self.log_path(&name).display()
                );
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "timed out after {READY_TIMEOUT:?} waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }
}

/// Starts `command` with its output going to `log`.
fn start(name: &str, command: &mut Command, log: fs::File) -> anyhow::Result<Child> {
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .map_err(|err| anyhow::anyhow!("cannot start {name}: {err}"))
}

impl Drop for Children {
    fn drop(&mut self) {
        for Supervised { name, child, .. } in self.running.iter_mut().rev() {
            if child.try_wait().ok().flatten().is_none() {
                let _ = Command::new("kill")
                    .arg("-TERM")
                    .arg(child.id().to_string())
                    .status();
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
            }
            let _ = child.wait();
            println!("stopped {name}");
        }
    }
}

/// Where the services of a stack keep their data and which ports they use.
#[derive(Debug, Clone)]
pub(crate) struct ServicesPlan {
    /// RSA keys, the API key and the SQLite files.
    pub data: PathBuf,
    /// NATS port on 127.0.0.1.
    pub nats_port: u16,
    /// Redis port on 127.0.0.1.
    pub redis_port: u16,
    /// Use a NATS / Redis already listening on those ports instead of starting one there.
    pub reuse_infra: bool,
    /// The two auth replicas.
    pub auth_ports: [u16; 2],
    /// The two blog replicas.
    pub blog_ports: [u16; 2],
    /// Run the services on this MongoDB instead of SQLite files under `data`.
    pub mongodb_url: Option<String>,
}

/// `cargo build --release` of the three binaries, plus `extra` arguments.
pub(crate) fn build_release(extra: &[&str]) -> anyhow::Result<()> {
    ensure_build_tools()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(&cargo);
    build
        .args([
            "build",
            "--release",
            "-p",
            "gateway",
            "-p",
            "auth-service",
            "-p",
            "blog-service",
        ])
        .args(extra);
    run(build)
}

/// The path of a release binary in the target directory.
pub(crate) fn release_bin(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    let target = if target.is_relative() {
        workspace_root().join(target)
    } else {
        target
    };
    target.join("release").join(name)
}

/// Starts (or reuses) NATS and Redis, generates the keys and the API key on first use, seeds the
/// auth database, starts the two auth and two blog replicas and waits for their `/health`.
pub(crate) fn start_services(
    plan: &ServicesPlan,
    children: &mut Children,
) -> anyhow::Result<StackSecrets> {
    fs::create_dir_all(&plan.data)?;
    let (nats_port, redis_port) = (plan.nats_port.to_string(), plan.redis_port.to_string());
    for (name, port, binary, args) in [
        (
            "nats",
            plan.nats_port,
            "nats-server",
            vec!["-a", "127.0.0.1", "-p", nats_port.as_str()],
        ),
        (
            "redis",
            plan.redis_port,
            "redis-server",
            vec![
                "--bind",
                "127.0.0.1",
                "--port",
                redis_port.as_str(),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        ),
    ] {
        if plan.reuse_infra && listening(port) {
            println!("{name}: reusing the server already on 127.0.0.1:{port}");
            continue;
        }
        let path = ensure_installed(binary)?;
        let mut command = Command::new(path);
        command.args(args);
        children.spawn(name, command)?;
        children.wait_for(&format!("{name} on :{port}"), || listening(port))?;
        println!(
            "{name}: started on 127.0.0.1:{port} (log: {})",
            children.log_path(name).display()
        );
    }

    let keys = plan.data.join("keys");
    fs::create_dir_all(&keys)?;
    let private_key = keys.join("private.pem");
    let public_key = keys.join("public.pem");
    let database = |service: &str| match &plan.mongodb_url {
        Some(url) => mongodb_database_url(url, service),
        None => format!(
            "sqlite://{}",
            plan.data.join(format!("{service}.db")).display()
        ),
    };
    let service_env = |command: &mut Command, service: &str, port: u16| {
        command
            .env("GO_MODE", "release")
            .env("SERVER_HOST", "127.0.0.1")
            .env("SERVER_PORT", port.to_string())
            .env("DATABASE_URL", database(service))
            .env("REDIS_HOST", "127.0.0.1")
            .env("REDIS_PORT", plan.redis_port.to_string())
            .env("REDIS_PASSWORD", "")
            .env("REDIS_DB", if service == "auth" { "0" } else { "2" })
            .env("NATS_URL", format!("nats://127.0.0.1:{}", plan.nats_port))
            .env("NATS_SERVICE_NAME", service)
            .env("NATS_SERVICE_VERSION", "1.0.0")
            .env("RSA_PRIVATE_KEY_PATH", &private_key)
            .env("RSA_PUBLIC_KEY_PATH", &public_key)
            .env("ACCESS_TOKEN_VALIDITY_SEC", "172800")
            .env("REFRESH_TOKEN_VALIDITY_SEC", "604800")
            .env("TOKEN_ISSUER", "api.goserve.afteracademy.com")
            .env("TOKEN_AUDIENCE", "goserve.afteracademy.com")
            .env("RUST_LOG", "info");
    };

    if !private_key.exists() || !public_key.exists() {
        let mut keygen = Command::new(release_bin("auth-service"));
        keygen.arg("keygen");
        service_env(&mut keygen, "auth", 0);
        run(keygen)?;
        println!("generated RSA keys in {}", keys.display());
    }
    let secrets = StackSecrets {
        api_key: secret_file(&plan.data, "api-key", random_hex_32)?,
        admin_password: secret_file(&plan.data, "admin-password", random_password)?,
    };
    let mut seed = Command::new(release_bin("auth-service"));
    seed.args(["seed", "--api-key", &secrets.api_key]);
    service_env(&mut seed, "auth", 0);
    seed.env("ADMIN_PASSWORD", &secrets.admin_password);
    run(seed)?;

    let replicas = [
        ("auth1", "auth", plan.auth_ports[0]),
        ("auth2", "auth", plan.auth_ports[1]),
        ("blog1", "blog", plan.blog_ports[0]),
        ("blog2", "blog", plan.blog_ports[1]),
    ];
    for (name, service, port) in replicas {
        let mut command = Command::new(release_bin(&format!("{service}-service")));
        service_env(&mut command, service, port);
        children.spawn(name, command)?;
    }
    for (name, _, port) in replicas {
        children.wait_for(&format!("{name} /health"), || http_ok(port, "/health"))?;
    }
    Ok(secrets)
}

/// What the seeded stack's clients need: the API key and the seeded admin's password.
pub(crate) struct StackSecrets {
    pub(crate) api_key: String,
    pub(crate) admin_password: String,
}

/// Runs the stack until Ctrl-C.
pub fn up(options: &UpOptions) -> anyhow::Result<()> {
    let root = workspace_root();
    let data = root.join("data");

    println!("building release binaries…");
    build_release(&[])?;

    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = stop.clone();
    ctrlc::set_handler(move || handler_stop.store(true, Ordering::SeqCst))?;

    let mut children = Children::new(data.join("logs"))?;
    let plan = ServicesPlan {
        data: data.clone(),
        nats_port: NATS_PORT,
        redis_port: REDIS_PORT,
        reuse_infra: true,
        auth_ports: AUTH_PORTS,
        blog_ports: BLOG_PORTS,
        mongodb_url: options.mongodb_url.clone(),
    };
    let StackSecrets {
        api_key,
        admin_password,
    } = start_services(&plan, &mut children)?;

    let mut gateway = Command::new(release_bin("gateway"));
    gateway
        .args(["run", "--config"])
        .arg(root.join("gateway.yml"))
        .env("RUST_LOG", "info");
    children.spawn("gateway", gateway)?;
    children.wait_for("gateway on :8000", || listening(GATEWAY_PORT))?;
    children.wait_for("the admin API on :8001", || http_ok(ADMIN_PORT, "/status"))?;
    children.wait_for("the gateway to reach every replica", || {
        http_ok(GATEWAY_PORT, "/auth/health") && http_ok(GATEWAY_PORT, "/blog/health")
    })?;

    println!();
    println!("The stack is up: gateway in front of 2 auth and 2 blog replicas.");
    println!("  gateway   http://localhost:{GATEWAY_PORT}");
    println!(
        "  TLS       https://localhost:{GATEWAY_TLS_PORT}  (self-signed until gateway.yml has certificates: curl -k)"
    );
    println!(
        "  admin     http://localhost:{ADMIN_PORT}  (/status, /upstreams/auth_upstream/health, /metrics)"
    );
    println!("  API key   {api_key}");
    println!("  sign in   {ADMIN_EMAIL} / {admin_password}  (every role; data/admin-password)");
    println!("  logs      data/logs/");
    println!();
    println!("Try:");
    println!(
        "  curl -H 'x-api-key: {api_key}' 'http://localhost:{GATEWAY_PORT}/blog/list/latest?page=1&limit=10'"
    );
    println!();
    println!("Ctrl-C stops everything this command started.");

    // A child that exits is restarted after a back-off; the base of 1 s also leaves time to see
    // a Ctrl-C, which reaches the children too (same process group), before restarting anything.
    while !stop.load(Ordering::SeqCst) {
        children.supervise(RESTART_BACKOFF);
        std::thread::sleep(Duration::from_millis(200));
    }
    let restarts = children.restart_summary();
    if restarts.is_empty() {
        println!("\nstopping…");
    } else {
        println!("\nstopping… (restarted: {restarts})");
    }
    Ok(())
}

/// The seeded admin user (every role).
pub(crate) const ADMIN_EMAIL: &str = "admin@afteracademy.com";

/// A secret of this checkout kept in `data/<name>`: generated once by `generate`, read afterwards.
fn secret_file(
    data: &Path,
    name: &str,
    generate: fn() -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    let path = data.join(name);
    if let Ok(existing) = fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if !existing.is_empty() {
            return Ok(existing);
        }
    }
    let secret = generate()?;
    fs::write(&path, &secret)?;
    Ok(secret)
}

fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// An API key: 32 random hex characters.
fn random_hex_32() -> anyhow::Result<String> {
    Ok(random_bytes::<16>()?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// An admin password: 20 random alphanumerics (the sign-in rules accept 6..100 characters).
fn random_password() -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // 248 = 4 * 62: bytes above it are skipped so every character is equally likely.
    let mut password = String::with_capacity(20);
    while password.len() < 20 {
        for byte in random_bytes::<32>()? {
            if byte < 248 && password.len() < 20 {
                password.push(ALPHABET[usize::from(byte) % ALPHABET.len()] as char);
            }
        }
    }
    Ok(password)
}

/// `mongodb://host/` → `mongodb://host/<service>-dev-db` (gomicro's database names).
fn mongodb_database_url(url: &str, service: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    let mut result = format!("{base}/{service}-dev-db");
    if let Some(query) = query {
        result.push('?');
        result.push_str(query);
    }
    result
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub(crate) fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// A plain HTTP/1.1 GET that answers 200.
pub(crate) fn http_ok(port: u16, path: &str) -> bool {
    use std::io::Write;
    let Ok(mut stream) = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(300),
    ) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// The path of `binary`; installs its Debian package when missing and running as root.
pub(crate) fn ensure_installed(binary: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = crate::which(binary) {
        return Ok(PathBuf::from(path));
    }
    apt_install(&[binary])?;
    crate::which(binary)
        .map(PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("{binary} still missing after apt-get"))
}

/// What building the workspace needs from Debian: cmake (Pingora's zlib-ng), pkg-config and
/// libssl-dev (the gateway's TLS links the system's OpenSSL). Installs what is missing when root,
/// else says what to install.
pub(crate) fn ensure_build_tools() -> anyhow::Result<()> {
    let missing: Vec<&str> = [
        ("cmake", crate::which("cmake").is_some()),
        ("pkg-config", crate::which("pkg-config").is_some()),
        (
            "libssl-dev",
            Path::new("/usr/include/openssl/ssl.h").exists(),
        ),
    ]
    .into_iter()
    .filter(|(_, present)| !present)
    .map(|(package, _)| package)
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing)
}

/// `apt-get install` of `packages` when running as root; otherwise an error naming the command.
fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    let list = packages.join(" ");
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0"));
    anyhow::ensure!(
        is_root,
        "{list} not installed and this is not root: run `sudo apt-get install -y {list}`"
    );
    println!("{list} not installed: installing with apt-get (root)…");
    let mut update = Command::new("apt-get");
    update.args(["update", "-qq"]);
    run(update)?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-qq"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive");
    run(install)
}

#[cfg(test)]
mod tests {
    use std::{
        fs,
        process::Command,
        time::{Duration, Instant},
    };

    use super::{mongodb_database_url, random_password, secret_file};

    #[test]
    fn mongodb_url_gets_the_gomicro_database_name() {
        assert_eq!(
            mongodb_database_url("mongodb://localhost:27017", "auth"),
            "mongodb://localhost:27017/auth-dev-db"
        );
        assert_eq!(
            mongodb_database_url("mongodb://u:p@h:27017/admin?authSource=admin", "blog"),
            "mongodb://u:p@h:27017/blog-dev-db?authSource=admin"
        );
    }

    #[test]
    fn the_admin_password_is_20_alphanumerics_kept_across_runs() {
        let password = random_password().unwrap();
        assert_eq!(password.len(), 20);
        assert!(
            password.chars().all(|c| c.is_ascii_alphanumeric()),
            "{password}"
        );
        assert_ne!(password, random_password().unwrap());

        let data = tempfile::tempdir().unwrap();
        let first = secret_file(data.path(), "admin-password", random_password).unwrap();
        let again = secret_file(data.path(), "admin-password", random_password).unwrap();
        assert_eq!(first, again, "generated once, then read");
    }

    #[test]
    fn a_child_that_exits_is_restarted_with_a_back_off_and_the_others_keep_running() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let mut children = super::Children::new(dir.path().join("logs")).unwrap();
        let mut crashing = Command::new("sh");
        crashing
            .arg("-c")
            .arg(format!("echo run >> '{}'; exit 3", runs.display()));
        children.spawn("crashing", crashing).unwrap();
        let mut steady = Command::new("sleep");
        steady.arg("30");
        let steady_pid = children.spawn("steady", steady).unwrap();

        let started = Instant::now();
        let deadline = started + Duration::from_secs(10);
        let run_count = || {
            fs::read_to_string(&runs)
                .map(|text| text.lines().count())
                .unwrap_or(0)
        };
        while run_count() < 4 {
            assert!(Instant::now() < deadline, "runs so far: {}", run_count());
            children.supervise(Duration::from_millis(20));
            std::thread::sleep(Duration::from_millis(5));
        }
        // Back-offs of 20, 40 and 80 ms came before the fourth run.
        assert!(started.elapsed() >= Duration::from_millis(140));
        assert_eq!(children.restart_summary(), "crashing ×3");
        let steady = children
            .running
            .iter_mut()
            .find(|supervised| supervised.name == "steady")
            .unwrap();
        assert_eq!(
            steady.child.id(),
            steady_pid,
            "the steady child was left alone"
        );
        assert!(steady.child.try_wait().unwrap().is_none());
    }
}
