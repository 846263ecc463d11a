//! `cargo xtask up`: the whole local stack with one command.
//!
//! Builds release binaries; reuses NATS and Redis already listening on 4222/6379 or starts its own
//! (installing them with apt when root and missing, and saying so); generates the RSA keys and an
//! API key on first run (kept under `data/`, never committed); seeds the auth database; starts 2 auth
//! and 2 blog replicas on SQLite files under `data/` (or MongoDB with `--mongodb-url`) and the gateway
//! on :8000 with the repository's `gateway.yml`; waits for every `/health`; prints what to use.
//! Ctrl-C stops every child it started, and only those. Logs go to `data/logs/`.

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

/// The replicas of the local stack: (name, binary, port). Ports match `gateway.yml`.
const REPLICAS: [(&str, &str, u16); 4] = [
    ("auth1", "auth-service", 8101),
    ("auth2", "auth-service", 8102),
    ("blog1", "blog-service", 8201),
    ("blog2", "blog-service", 8202),
];
const GATEWAY_PORT: u16 = 8000;
/// The gateway's admin API (`_gateway.admin_listen` in gateway.yml).
const ADMIN_PORT: u16 = 8001;
const NATS_PORT: u16 = 4222;
const REDIS_PORT: u16 = 6379;
/// How long the stack may take to become healthy.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// Options of `cargo xtask up`.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Run the services on this MongoDB instead of SQLite files.
    pub mongodb_url: Option<String>,
}

/// The children this command started; all killed on drop.
#[derive(Default)]
struct Children(Vec<(String, Child)>);

impl Children {
    fn spawn(&mut self, name: &str, mut command: Command, logs: &Path) -> anyhow::Result<()> {
        let log = fs::File::create(logs.join(format!("{name}.log")))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|err| anyhow::anyhow!("cannot start {name}: {err}"))?;
        self.0.push((name.to_owned(), child));
        Ok(())
    }

    /// The first child that has exited, with its status.
    fn exited(&mut self) -> Option<(String, std::process::ExitStatus)> {
        self.0.iter_mut().find_map(|(name, child)| {
            child
                .try_wait()
                .ok()
                .flatten()
                .map(|status| (name.clone(), status))
        })
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for (name, child) in self.0.iter_mut().rev() {
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

/// Runs the stack until Ctrl-C.
pub fn up(options: &UpOptions) -> anyhow::Result<()> {
    let root = workspace_root();
    let data = root.join("data");
    let logs = data.join("logs");
    fs::create_dir_all(&logs)?;

    println!("building release binaries…");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(&cargo);
    build.args([
        "build",
        "--release",
        "-p",
        "gateway",
        "-p",
        "auth-service",
        "-p",
        "blog-service",
    ]);
    run(build)?;
    let bin = |name: &str| root.join("target/release").join(name);

    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = stop.clone();
    ctrlc::set_handler(move || handler_stop.store(true, Ordering::SeqCst))?;

    let mut children = Children::default();
    for (name, port, binary, args) in [
        (
            "nats",
            NATS_PORT,
            "nats-server",
            vec!["-a", "127.0.0.1", "-p", "4222"],
        ),
        (
            "redis",
            REDIS_PORT,
            "redis-server",
            vec![
                "--bind",
                "127.0.0.1",
                "--port",
                "6379",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        ),
    ] {
        if listening(port) {
            println!("{name}: reusing the server already on 127.0.0.1:{port}");
            continue;
        }
        let path = ensure_installed(binary)?;
        let mut command = Command::new(path);
        command.args(args);
        children.spawn(name, command, &logs)?;
        wait_for(
            &format!("{name} on :{port}"),
            || listening(port),
            &mut children,
        )?;
        println!("{name}: started on 127.0.0.1:{port} (log: data/logs/{name}.log)");
    }

    let keys = data.join("keys");
    fs::create_dir_all(&keys)?;
    let private_key = keys.join("private.pem");
    let public_key = keys.join("public.pem");
    let database = |service: &str| match &options.mongodb_url {
        Some(url) => mongodb_database_url(url, service),
        None => format!("sqlite://{}", data.join(format!("{service}.db")).display()),
    };
    let service_env = |command: &mut Command, service: &str, name: &str, port: u16| {
        command
            .env("GO_MODE", "release")
            .env("SERVER_HOST", "127.0.0.1")
            .env("SERVER_PORT", port.to_string())
            .env("DATABASE_URL", database(service))
            .env("REDIS_HOST", "127.0.0.1")
            .env("REDIS_PORT", REDIS_PORT.to_string())
            .env("REDIS_PASSWORD", "")
            .env("REDIS_DB", if service == "auth" { "0" } else { "2" })
            .env("NATS_URL", format!("nats://127.0.0.1:{NATS_PORT}"))
            .env("NATS_SERVICE_NAME", service)
            .env("NATS_SERVICE_VERSION", "1.0.0")
            .env("RSA_PRIVATE_KEY_PATH", &private_key)
            .env("RSA_PUBLIC_KEY_PATH", &public_key)
            .env("ACCESS_TOKEN_VALIDITY_SEC", "172800")
            .env("REFRESH_TOKEN_VALIDITY_SEC", "604800")
            .env("TOKEN_ISSUER", "api.goserve.afteracademy.com")
            .env("TOKEN_AUDIENCE", "goserve.afteracademy.com")
            .env("RUST_LOG", "info")
            .env("REPLICA_NAME", name);
    };

    if !private_key.exists() || !public_key.exists() {
        let mut keygen = Command::new(bin("auth-service"));
        keygen.arg("keygen");
        service_env(&mut keygen, "auth", "keygen", 0);
        run(keygen)?;
        println!("generated RSA keys in data/keys/");
    }
    let api_key = api_key(&data)?;
    let mut seed = Command::new(bin("auth-service"));
    seed.args(["seed", "--api-key", &api_key]);
    service_env(&mut seed, "auth", "seed", 0);
    run(seed)?;

    for (name, binary, port) in REPLICAS {
        let mut command = Command::new(bin(binary));
        service_env(
            &mut command,
            binary.trim_end_matches("-service"),
            name,
            port,
        );
        children.spawn(name, command, &logs)?;
    }
    let mut gateway = Command::new(bin("gateway"));
    gateway
        .args(["run", "--config"])
        .arg(root.join("gateway.yml"))
        .env("RUST_LOG", "info");
    children.spawn("gateway", gateway, &logs)?;

    for (name, _, port) in REPLICAS {
        wait_for(
            &format!("{name} /health"),
            || http_ok(port, "/health"),
            &mut children,
        )?;
    }
    wait_for(
        "gateway on :8000",
        || listening(GATEWAY_PORT),
        &mut children,
    )?;
    wait_for(
        "the admin API on :8001",
        || http_ok(ADMIN_PORT, "/status"),
        &mut children,
    )?;
    wait_for(
        "the gateway to reach every replica",
        || http_ok(GATEWAY_PORT, "/auth/health") && http_ok(GATEWAY_PORT, "/blog/health"),
        &mut children,
    )?;

    println!();
    println!("The stack is up: gateway in front of 2 auth and 2 blog replicas.");
    println!("  gateway   http://localhost:{GATEWAY_PORT}");
    println!(
        "  admin     http://localhost:{ADMIN_PORT}  (/status, /upstreams/auth_upstream/health, /metrics)"
    );
    println!("  API key   {api_key}");
    println!("  logs      data/logs/");
    println!();
    println!("Try:");
    println!(
        "  curl -H 'x-api-key: {api_key}' 'http://localhost:{GATEWAY_PORT}/blog/list/latest?page=1&limit=10'"
    );
    println!();
    println!("Ctrl-C stops everything this command started.");

    while !stop.load(Ordering::SeqCst) {
        if let Some((name, status)) = children.exited() {
            // Ctrl-C reaches the children too (same process group): give our handler a moment.
            std::thread::sleep(Duration::from_millis(300));
            if stop.load(Ordering::SeqCst) {
                break;
            }
            anyhow::bail!("{name} exited ({status}); see data/logs/{name}.log");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("\nstopping…");
    Ok(())
}

/// The API key of this checkout: generated once (random, 32 hex characters) into `data/api-key`.
fn api_key(data: &Path) -> anyhow::Result<String> {
    let path = data.join("api-key");
    if let Ok(existing) = fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if !existing.is_empty() {
            return Ok(existing);
        }
    }
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    fs::write(&path, &key)?;
    Ok(key)
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

fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// A plain HTTP/1.1 GET that answers 200.
fn http_ok(port: u16, path: &str) -> bool {
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

/// Polls `ready` until it holds; fails when a child dies or the deadline passes.
fn wait_for(
    what: &str,
    mut ready: impl FnMut() -> bool,
    children: &mut Children,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    while !ready() {
        if let Some((name, status)) = children.exited() {
            anyhow::bail!(
                "{name} exited ({status}) while waiting for {what}; see data/logs/{name}.log"
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

/// The path of `binary`; installs its Debian package when missing and running as root.
fn ensure_installed(binary: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = crate::which(binary) {
        return Ok(PathBuf::from(path));
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0"));
    anyhow::ensure!(
        is_root,
        "{binary} is not installed and this is not root: run `sudo apt-get install -y {binary}`"
    );
    println!("{binary} is not installed: installing it with apt-get (root)…");
    let mut update = Command::new("apt-get");
    update.args(["update", "-qq"]);
    run(update)?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-qq", binary])
        .env("DEBIAN_FRONTEND", "noninteractive");
    run(install)?;
    crate::which(binary)
        .map(PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("{binary} still missing after apt-get"))
}

#[cfg(test)]
mod tests {
    use super::mongodb_database_url;

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
}
