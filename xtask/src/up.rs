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
//! The services are started by [`stack`](crate::stack), which also starts those of
//! `cargo xtask bench`; the children are kept by [`Children`].

use std::{
    path::Path,
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use process_kit::{http_ok, listening};

use crate::{
    children::Children,
    release::{build_release, release_bin},
    stack::{ADMIN_EMAIL, ServicesPlan, StackSecrets, start_services},
    workspace_root,
};

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

/// Options of `cargo xtask up`.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Run the services on this MongoDB instead of SQLite files.
    pub mongodb_url: Option<String>,
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
    let secrets = start_services(&plan, &mut children)?;
    start_gateway(&root.join("gateway.yml"), &mut children)?;
    print_stack(&secrets);

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

/// Starts the gateway with `config` and waits until it serves, its admin API answers and it
/// reaches every replica.
fn start_gateway(config: &Path, children: &mut Children) -> anyhow::Result<()> {
    let mut gateway = Command::new(release_bin("gateway"));
    gateway
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "info");
    children.spawn("gateway", gateway)?;
    children.wait_for("gateway on :8000", || listening(GATEWAY_PORT))?;
    children.wait_for("the admin API on :8001", || http_ok(ADMIN_PORT, "/status"))?;
    children.wait_for("the gateway to reach every replica", || {
        http_ok(GATEWAY_PORT, "/auth/health") && http_ok(GATEWAY_PORT, "/blog/health")
    })
}

/// Prints what to use: the URLs, the API key, the admin's sign-in and a first request.
fn print_stack(secrets: &StackSecrets) {
    let StackSecrets {
        api_key,
        admin_password,
    } = secrets;
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
}
