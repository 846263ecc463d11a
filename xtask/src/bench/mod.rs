//! `cargo xtask bench`: the gateway side by side with nginx, HAProxy, Envoy, Traefik and Caddy, in
//! one run.
//!
//! In front of the same two upstream servers (one nginx process), drives `oha` against the
//! upstreams directly; the peer proxies, configured as equivalent proxies (prefix strip, round
//! robin, upstream keepalive, no access log): nginx and HAProxy (required), Envoy, Traefik and
//! Caddy (each where installed; skipped, and said so, where not); two Pingora baselines
//! (loadtest/baselines: `bare_proxy`, what Pingora's `ProxyHttp` engine costs; `core_proxy`,
//! Pingora's HTTP/1 codec without that engine, the floor under the gateway's own engine); and the
//! gateway: plain proxy and with the apikey plugin. Then end-to-end blog reads
//! (`/blog/list/latest`) through the same peers and the gateway in front of the real stack
//! (2 auth + 2 blog replicas, NATS, Redis, started as `cargo xtask up` does). Every target runs
//! once per round, in turn; the table reports medians and ratios to every peer. Proxies get equal
//! worker counts (`--workers`). The HTTPS groups run the `/svc` proxying again over TLS 1.3 with one
//! certificate for all (made at each run): HTTP/1.1 keep-alive (oha `--insecure`) and HTTP/2 (h2load),
//! the gateway against nginx and HAProxy.
//! Last, reload under load: 100 rewrites of the gateway's config during one run.
//!
//! Writes `loadtest/results/<date>.md` and `<date>.png` (`<date>-<n>-workers.*` at other worker
//! counts, `-run2`, `-run3`, ... for later runs of the day; `--quick`: under
//! `loadtest/results/tmp/`, overwritten).
//! Everything runs under `data/bench/` (configs, logs, oha reports); every child is stopped at the
//! end, on error and on Ctrl-C.

mod certificate;
mod chart;
mod h2load;
mod http;
mod oha;
mod peers;
mod procstat;
mod proxies;
mod report;

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use process_kit::{free_port, http_ok_with_headers, listening, which};

use crate::{
    children::Children,
    release::{build_release, release_bin},
    stack::{ADMIN_EMAIL, ServicesPlan, start_services},
    workspace_root,
};
use proxies::{GatewayService, GatewaySpec, ProxySpec, UpstreamPorts};
use report::{Peer, Role, Row};

/// How many times the reload scenario rewrites the gateway's config.
const RELOAD_REWRITES: usize = 100;
/// The shortest gap between two rewrites: the gateway gathers file events for 50 ms before a
/// reload, so closer writes would be seen as one.
const RELOAD_MIN_GAP: Duration = Duration::from_millis(100);
/// Each target gets this much load before its first measured round.
const WARM_UP: Duration = Duration::from_secs(1);
/// What the blog read scenario requests.
const BLOG_PATH: &str = "/list/latest?page=1&limit=10";

/// Options of `cargo xtask bench` (its command line).
#[derive(Debug, Clone, clap::Args)]
pub struct BenchOptions {
    /// Workers of every proxy: nginx worker_processes, HAProxy nbthread, Envoy --concurrency,
    /// Traefik and Caddy GOMAXPROCS, gateway threads, the Pingora baselines' threads.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Rounds; each runs every target once, in turn.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Length of one measurement (10s, 500ms, 1m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// oha's concurrent connections.
    #[arg(long, default_value_t = 50)]
    pub connections: usize,
    /// A fast check: 3 s runs, one round; results go to loadtest/results/tmp/.
    #[arg(long)]
    pub quick: bool,
    /// Use the release binaries already built.
    #[arg(long)]
    pub no_build: bool,
    /// Skip the end-to-end blog reads (no NATS, Redis or services).
    #[arg(long)]
    pub no_blog: bool,
    /// Skip the HTTPS groups (TLS 1.3 over HTTP/1.1 and HTTP/2).
    #[arg(long)]
    pub no_tls: bool,
}

impl BenchOptions {
    /// The options `--quick` turns into.
    pub fn quick(mut self) -> Self {
        if self.quick {
            self.rounds = 1;
            self.duration = Duration::from_secs(3);
        }
        self
    }
}

/// Parses `10s`, `500ms`, `2m` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((text, "s"), |at| text.split_at(at));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a duration like 10s, 500ms or 2m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (ms, s, m)")),
    };
    if seconds < 0.5 {
        return Err(format!("{text:?}: at least 500ms"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// The tools the bench drives, found on this machine.
struct Tools {
    oha: PathBuf,
    nginx: PathBuf,
    haproxy: PathBuf,
    /// The optional peers found (Envoy, Traefik, Caddy).
    peers: Vec<peers::Found>,
    /// Why each other optional peer has no row, one line each.
    skipped: Vec<String>,
    /// `openssl` (makes the HTTPS groups' certificate), `None` when missing.
    openssl: Option<PathBuf>,
    /// `curl` (checks each TLS target answers, by the protocol it is measured with).
    curl: Option<PathBuf>,
    /// `h2load` (the HTTP/2 group).
    h2load: Option<PathBuf>,
}

impl Tools {
    /// Why the HTTPS/1.1 group cannot run, if it cannot.
    fn https_missing(&self) -> Option<String> {
        let missing: Vec<&str> = [
            ("openssl", self.openssl.is_none()),
            ("curl", self.curl.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, absent)| absent.then_some(name))
        .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "{} not installed: `apt-get install -y {}`",
                missing.join(" and "),
                missing.join(" ")
            )
        })
    }

    /// Why the HTTP/2 group cannot run, if it cannot.
    fn h2_missing(&self) -> Option<String> {
        self.https_missing().or_else(|| {
            self.h2load
                .is_none()
                .then(|| h2load::INSTALL_HINT.to_owned())
        })
    }

    fn find() -> anyhow::Result<Self> {
        let cargo_bin = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
            .map(|home| home.join("bin/oha"));
        let oha = which("oha").or_else(|| cargo_bin.filter(|path| path.exists()));
        let mut missing = Vec::new();
        if oha.is_none() {
            missing.push(oha::INSTALL_HINT.to_owned());
        }
        let nginx = which("nginx");
        let haproxy = which("haproxy");
        let apt: Vec<&str> = [("nginx", nginx.is_none()), ("haproxy", haproxy.is_none())]
            .into_iter()
            .filter_map(|(name, absent)| absent.then_some(name))
            .collect();
        if !apt.is_empty() {
            missing.push(format!(
                "{} not installed: `apt-get install -y {}` (only the binaries are used; stop the \
                 services apt starts with `systemctl disable --now nginx haproxy` if you like)",
                apt.join(" and "),
                apt.join(" ")
            ));
        }
        let (peers, skipped) = peers::find();
        for line in &skipped {
            println!("skipped {line}");
        }
        match (oha, nginx, haproxy) {
            (Some(oha), Some(nginx), Some(haproxy)) => Ok(Self {
                oha,
                nginx,
                haproxy,
                peers,
                skipped,
                openssl: which("openssl"),
                curl: which("curl"),
                h2load: which("h2load"),
            }),
            _ => anyhow::bail!("the bench needs more tools:\n  {}", missing.join("\n  ")),
        }
    }
}

/// How a target is loaded, and over what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    /// oha, HTTP/1.1 keep-alive, cleartext.
    Http1,
    /// oha `--insecure`, HTTP/1.1 keep-alive over TLS.
    Https1,
    /// h2load, HTTP/2 over TLS (ALPN `h2`).
    Http2,
}

/// One thing a load generator is pointed at.
#[derive(Debug, Clone)]
struct Target {
    name: String,
    group: &'static str,
    role: Role,
    port: u16,
    path: String,
    /// Request headers, `name: value`.
    headers: Vec<String>,
    /// The process whose CPU and memory are reported.
    pid: Option<u32>,
    /// What loads it.
    client: Client,
}

impl Target {
    fn url(&self) -> String {
        let scheme = match self.client {
            Client::Http1 => "http",
            Client::Https1 | Client::Http2 => "https",
        };
        format!("{scheme}://127.0.0.1:{}{}", self.port, self.path)
    }

    /// The same target loaded by `client`.
    fn over(mut self, client: Client) -> Self {
        self.client = client;
        self
    }
}

/// What the reload scenario saw.
#[derive(Debug, Clone)]
struct ReloadOutcome {
    duration: Duration,
    measurement: oha::Measurement,
    rewrites: usize,
    /// Reloads the gateway counted during the run, and where that number comes from.
    reloads: Option<(u64, &'static str)>,
}

/// Runs the whole benchmark and writes the results.
pub fn bench(options: &BenchOptions) -> anyhow::Result<()> {
    let tools = Tools::find()?;
    if !options.no_build {
        println!("building release binaries and the Pingora baselines…");
        build_release(&["--locked", "--bins", "-p", "baselines"])?;
    }
    for binary in [
        "gateway",
        "auth-service",
        "blog-service",
        "bare_proxy",
        "core_proxy",
    ] {
        let path = release_bin(binary);
        anyhow::ensure!(
            path.exists(),
            "{} is missing: run without --no-build",
            path.display()
        );
    }

    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = stop.clone();
    ctrlc::set_handler(move || handler_stop.store(true, Ordering::SeqCst))?;

    let root = workspace_root();
    let work = root.join("data/bench");
    if work.exists() {
        fs::remove_dir_all(&work)?;
    }
    fs::create_dir_all(work.join("oha"))?;
    let mut children = Children::new(work.join("logs"))?;
    let result = run(options, &tools, &work, &mut children, &stop);
    if stop.load(Ordering::SeqCst) {
        println!("\ninterrupted: stopping everything the bench started…");
    }
    drop(children);
    let (markdown, chart) = result?;
    println!("\nwrote {}", markdown.display());
    match chart {
        Ok(path) => println!("wrote {}", path.display()),
        Err(err) => println!("no chart: {err:#}"),
    }
    Ok(())
}

/// Returns the results file and the chart (or why there is none).
#[allow(clippy::type_complexity)]
fn run(
    options: &BenchOptions,
    tools: &Tools,
    work: &Path,
    children: &mut Children,
    stop: &AtomicBool,
) -> anyhow::Result<(PathBuf, anyhow::Result<PathBuf>)> {
    let port = free_port;
    let upstreams = UpstreamPorts {
        replicas: [port(), port()],
        spare: port(),
    };

    let conf = work.join("upstreams.conf");
    fs::write(&conf, proxies::upstream_nginx(work, upstreams))?;
    children.spawn("upstreams", nginx_command(&tools.nginx, &conf))?;
    children.wait_for("the upstream nginx", || {
        upstreams
            .replicas
            .iter()
            .chain([&upstreams.spare])
            .all(|port| listening(*port))
    })?;

    let stack = if options.no_blog {
        None
    } else {
        println!("starting the blog stack (NATS, Redis, 2 auth + 2 blog replicas)…");
        let plan = ServicesPlan {
            data: work.join("stack"),
            nats_port: port(),
            redis_port: port(),
            reuse_infra: false,
            auth_ports: [port(), port()],
            blog_ports: [port(), port()],
            mongodb_url: None,
        };
        let secrets = start_services(&plan, children)?;
        publish_a_blog(&plan, &secrets.admin_password)?;
        Some((plan, secrets.api_key))
    };

    // The HTTPS groups: their certificate, and which of them run.
    let (https, h2) = if options.no_tls {
        println!("skipped the HTTPS groups: --no-tls");
        (false, false)
    } else {
        let https_missing = tools.https_missing();
        let h2_missing = tools.h2_missing();
        for (group, missing) in [("HTTPS", &https_missing), ("HTTP/2", &h2_missing)] {
            if let Some(why) = missing {
                println!("skipped the {group} group: {why}");
            }
        }
        (https_missing.is_none(), h2_missing.is_none())
    };
    let certificate = match (&tools.openssl, https || h2) {
        (Some(openssl), true) => Some(certificate::make(openssl, &work.join("tls"))?),
        _ => None,
    };
    let tls_listener = |listen: u16| {
        certificate
            .as_ref()
            .map(|certificate| proxies::TlsListener {
                listen,
                certificate,
            })
    };

    let proxy_spec = ProxySpec {
        listen: port(),
        workers: options.workers,
        svc: upstreams.replicas,
        blog: stack.as_ref().map(|(plan, _)| plan.blog_ports),
        tls: tls_listener(port()),
    };
    let conf = work.join("nginx.conf");
    fs::write(&conf, proxies::proxy_nginx(work, &proxy_spec))?;
    let nginx_pid = children.spawn("nginx", nginx_command(&tools.nginx, &conf))?;
    let haproxy_spec = ProxySpec {
        listen: port(),
        tls: tls_listener(port()),
        ..proxy_spec
    };
    let conf = work.join("haproxy.cfg");
    fs::write(&conf, proxies::proxy_haproxy(&haproxy_spec))?;
    let mut haproxy = Command::new(&tools.haproxy);
    haproxy.arg("-f").arg(&conf).arg("-db");
    let haproxy_pid = children.spawn("haproxy", haproxy)?;
    // Every peer proxy: its port and the process measured.
    let mut peer_procs = vec![
        (Peer::Nginx, proxy_spec.listen, nginx_pid),
        (Peer::Haproxy, haproxy_spec.listen, haproxy_pid),
    ];
    for found in &tools.peers {
        let spec = ProxySpec {
            listen: port(),
            tls: None,
            ..proxy_spec
        };
        let name = slug(found.peer.name());
        let command = peers::command(found, &spec, &work.join(&name))?;
        let pid = children.spawn(&name, command)?;
        peer_procs.push((found.peer, spec.listen, pid));
    }

    // The Pingora baselines take the same command line: listen, the two upstreams, threads.
    let baseline = |example: &str, listen: u16| {
        let mut command = Command::new(release_bin(example));
        command
            .arg(format!("127.0.0.1:{listen}"))
            .args(upstreams.replicas.map(|p| format!("127.0.0.1:{p}")))
            .arg(options.workers.to_string());
        command
    };
    let bare_port = port();
    let bare_pid = children.spawn("bare-pingora", baseline("bare_proxy", bare_port))?;
    let core_port = port();
    let core_pid = children.spawn("pingora-core", baseline("core_proxy", core_port))?;

    let svc = |extra: bool| GatewayService {
        name: "svc",
        targets: if extra {
            vec![
                upstreams.replicas[0],
                upstreams.replicas[1],
                upstreams.spare,
            ]
        } else {
            upstreams.replicas.to_vec()
        },
        extra_route: extra.then_some("/extra"),
    };
    let plain = GatewaySpec {
        listen: port(),
        admin: port(),
        workers: options.workers,
        services: vec![svc(false)],
        verification_urls: None,
        tls: certificate
            .as_ref()
            .map(|certificate| (port(), certificate.clone())),
    };
    let keyed = GatewaySpec {
        listen: port(),
        admin: port(),
        tls: None,
        verification_urls: Some(
            upstreams
                .replicas
                .map(|p| format!("http://127.0.0.1:{p}/verify/apikey"))
                .to_vec(),
        ),
        ..plain.clone()
    };
    let plain_file = write_gateway_config(work, "gateway-plain", &plain)?;
    // The reload scenario switches between these two; both must be valid before it starts.
    let mut extra = plain.clone();
    extra.services = vec![svc(true)];
    check_gateway_config(&write_gateway_config(work, "gateway-extra", &extra)?)?;
    check_gateway_config(&plain_file)?;
    let plain_pid = children.spawn("gateway-plain", gateway_command(&plain_file))?;
    let keyed_file = write_gateway_config(work, "gateway-apikey", &keyed)?;
    let keyed_pid = children.spawn("gateway-apikey", gateway_command(&keyed_file))?;

    let bench_key = "bench-key".to_owned();
    let mut targets = vec![target(
        "upstream direct",
        "svc",
        Role::Direct,
        upstreams.replicas[0],
        "/ping",
        None,
        None,
    )];
    targets.extend(peer_procs.iter().map(|&(peer, listen, pid)| {
        target(
            peer.name(),
            "svc",
            Role::Peer(peer),
            listen,
            "/svc/ping",
            None,
            Some(pid),
        )
    }));
    targets.extend([
        target(
            "bare Pingora",
            "svc",
            Role::Measured,
            bare_port,
            "/svc/ping",
            None,
            Some(bare_pid),
        ),
        target(
            "Pingora core, no ProxyHttp",
            "svc",
            Role::Measured,
            core_port,
            "/svc/ping",
            None,
            Some(core_pid),
        ),
        target(
            "gateway",
            "svc",
            Role::Measured,
            plain.listen,
            "/svc/ping",
            None,
            Some(plain_pid),
        ),
        target(
            "gateway + apikey",
            "svc",
            Role::Measured,
            keyed.listen,
            "/svc/ping",
            Some(&bench_key),
            Some(keyed_pid),
        ),
    ]);

    // The `/svc` proxying again over TLS: the peers with a TLS listener, and the gateway.
    let tls_rows = [
        (Peer::Nginx, &proxy_spec.tls, nginx_pid),
        (Peer::Haproxy, &haproxy_spec.tls, haproxy_pid),
    ];
    for (group, client, wanted) in [("https", Client::Https1, https), ("h2", Client::Http2, h2)] {
        let Some((gateway_tls, _)) = plain.tls.as_ref().filter(|_| wanted) else {
            continue;
        };
        let protocol = if client == Client::Http2 {
            "h2"
        } else {
            "https"
        };
        for (peer, tls, pid) in &tls_rows {
            let Some(tls) = tls else { continue };
            targets.push(
                target(
                    &format!("{} {protocol}", peer.name()),
                    group,
                    Role::Peer(*peer),
                    tls.listen,
                    "/svc/ping",
                    None,
                    Some(*pid),
                )
                .over(client),
            );
        }
        targets.push(
            target(
                &format!("gateway {protocol}"),
                group,
                Role::Measured,
                *gateway_tls,
                "/svc/ping",
                None,
                Some(plain_pid),
            )
            .over(client),
        );
    }

    if let Some((plan, api_key)) = &stack {
        let blog = GatewaySpec {
            listen: port(),
            admin: port(),
            workers: options.workers,
            services: vec![GatewayService {
                name: "blog",
                targets: plan.blog_ports.to_vec(),
                extra_route: None,
            }],
            verification_urls: Some(
                plan.auth_ports
                    .map(|p| format!("http://127.0.0.1:{p}/verify/apikey"))
                    .to_vec(),
            ),
            tls: None,
        };
        let blog_file = write_gateway_config(work, "gateway-blog", &blog)?;
        let blog_pid = children.spawn("gateway-blog", gateway_command(&blog_file))?;
        let path = format!("/blog{BLOG_PATH}");
        targets.push(target(
            "blog: one replica direct",
            "blog",
            Role::Direct,
            plan.blog_ports[0],
            BLOG_PATH,
            None,
            None,
        ));
        targets.extend(peer_procs.iter().map(|&(peer, listen, pid)| {
            target(
                &format!("blog: {}", peer.name()),
                "blog",
                Role::Peer(peer),
                listen,
                &path,
                None,
                Some(pid),
            )
        }));
        targets.push(target(
            "blog: gateway + apikey",
            "blog",
            Role::Measured,
            blog.listen,
            &path,
            Some(api_key),
            Some(blog_pid),
        ));
    }

    for target in &targets {
        let headers: Vec<(&str, &str)> = target
            .headers
            .iter()
            .filter_map(|header| header.split_once(": "))
            .collect();
        let over = match target.client {
            Client::Http1 => "",
            Client::Https1 => " over HTTPS/1.1",
            Client::Http2 => " over HTTP/2",
        };
        children.wait_for(
            &format!("{} to answer 200 on {}{over}", target.name, target.url()),
            || match (target.client, &tools.curl) {
                (Client::Http1, _) | (_, None) => {
                    http_ok_with_headers(target.port, &target.path, &headers)
                }
                (client, Some(curl)) => {
                    http::curl_get_ok(curl, &target.url(), client == Client::Http2)
                }
            },
        )?;
    }

    let ticks = procstat::ticks_per_second();
    let load = |target: &Target, duration: Duration, out: &Path, tick: &mut dyn FnMut()| {
        let url = target.url();
        let headers = target.headers.clone();
        match (target.client, &tools.h2load) {
            (Client::Http2, Some(h2load)) => h2load::run(
                h2load,
                &h2load::Load {
                    url,
                    headers,
                    duration,
                    concurrency: options.connections,
                },
                out,
                stop,
                tick,
            ),
            (Client::Http2, None) => anyhow::bail!("BUG: an HTTP/2 target without h2load"),
            (client, _) => oha::run(
                &tools.oha,
                &oha::Load {
                    url,
                    headers,
                    duration,
                    connections: options.connections,
                    insecure: client == Client::Https1,
                },
                out,
                stop,
                tick,
            ),
        }
    };
    println!(
        "\nwarm-up: {} s per target ({} targets)…",
        WARM_UP.as_secs(),
        targets.len()
    );
    for target in &targets {
        let out = work
            .join("oha")
            .join(format!("warmup-{}", slug(&target.name)));
        load(target, WARM_UP, &out, &mut || {})?;
    }

    let mut rows: Vec<Row> = targets
        .iter()
        .map(|target| Row {
            name: target.name.clone(),
            group: target.group,
            role: target.role,
            rounds: Vec::new(),
            usage: Vec::new(),
        })
        .collect();
    for round in 0..options.rounds {
        println!(
            "\nround {}/{}: {} targets × {:?} at {} connections",
            round + 1,
            options.rounds,
            targets.len(),
            options.duration,
            options.connections
        );
        // Rotate the order each round so that no target always runs first or last.
        for step in 0..targets.len() {
            let index = (step + round) % targets.len();
            let target = &targets[index];
            let out = work
                .join("oha")
                .join(format!("r{}-{}", round + 1, slug(&target.name)));
            let mut meter = target.pid.map(|pid| procstat::Meter::start(pid, ticks));
            let measurement = load(target, options.duration, &out, &mut || {
                if let Some(meter) = meter.as_mut() {
                    meter.sample();
                }
            })?;
            if let Some((name, status)) = children.exited() {
                anyhow::bail!(
                    "{name} exited ({status}) during the run; see {}",
                    children.log_path(&name).display()
                );
            }
            let row = &mut rows[index];
            if let Some(meter) = meter {
                row.usage.push(meter.finish());
            }
            println!(
                "  {:<26} {:>9.0} rps  p99 {:>7} ms  errors {}",
                target.name,
                measurement.rps,
                measurement
                    .p99_ms
                    .map_or_else(|| "—".to_owned(), |v| format!("{v:.3}")),
                measurement.errors
            );
            row.rounds.push(measurement);
        }
    }

    let reload = reload_under_load(
        options,
        tools,
        work,
        &plain,
        [&plain_file, &work.join("gateway-extra/gateway.yml")],
        &children.log_path("gateway-plain"),
        stop,
    )?;

    let table = report::table(&rows);
    println!("\n{table}");
    println!("{}", reload_sentence(&reload, options.connections));

    let results = if options.quick {
        workspace_root().join("loadtest/results/tmp")
    } else {
        workspace_root().join("loadtest/results")
    };
    fs::create_dir_all(&results)?;
    let date = today()?;
    let mut stem = results_stem(&date, options);
    if !options.quick {
        stem = unused_stem(&results, &stem);
    }
    let markdown = results.join(format!("{stem}.md"));
    let png = results.join(format!("{stem}.png"));
    let peer_names: Vec<&str> = report::peers_present(&rows)
        .into_iter()
        .map(Peer::name)
        .collect();
    let chart = chart::draw(
        &rows,
        &format!(
            "gateway vs {}, {date}: {} worker(s), {} connections",
            peer_names.join(", "),
            options.workers,
            options.connections
        ),
        &png,
    )
    .map(|()| png.clone());
    let tls_groups: Vec<&str> = ["https", "h2"]
        .into_iter()
        .filter(|group| rows.iter().any(|row| row.group == *group))
        .collect();
    let document = results_document(
        &date,
        options,
        tools,
        &tls_groups,
        &table,
        &reload,
        chart.is_ok().then(|| format!("{stem}.png")),
    );
    fs::write(&markdown, document)?;
    Ok((markdown, chart))
}

#[allow(clippy::too_many_arguments)]
fn target(
    name: &str,
    group: &'static str,
    role: Role,
    port: u16,
    path: &str,
    api_key: Option<&String>,
    pid: Option<u32>,
) -> Target {
    Target {
        name: name.to_owned(),
        group,
        role,
        port,
        path: path.to_owned(),
        headers: api_key
            .map(|key| vec![format!("x-api-key: {key}")])
            .unwrap_or_default(),
        pid,
        client: Client::Http1,
    }
}

/// Waits for a load generator's `child` to end, calling `tick` every 100 ms (to sample the process
/// under test); kills it and returns an error when `stop` is set (Ctrl-C).
fn wait_for_load(
    child: &mut std::process::Child,
    stop: &AtomicBool,
    tick: &mut dyn FnMut(),
) -> anyhow::Result<std::process::ExitStatus> {
    loop {
        if stop.load(Ordering::SeqCst) {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("interrupted");
        }
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        tick();
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn nginx_command(nginx: &Path, conf: &Path) -> Command {
    let mut command = Command::new(nginx);
    command.arg("-c").arg(conf).args(["-g", "daemon off;"]);
    command
}

/// Warnings and the reload lines only: the reload scenario counts "config reloaded" in the log.
fn gateway_command(config: &Path) -> Command {
    let mut command = Command::new(release_bin("gateway"));
    command
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn,gateway::reload=info");
    command
}

/// Writes `<work>/<name>/gateway.yml` (each config in its own directory: the gateway watches it).
fn write_gateway_config(work: &Path, name: &str, spec: &GatewaySpec) -> anyhow::Result<PathBuf> {
    let dir = work.join(name);
    fs::create_dir_all(&dir)?;
    let file = dir.join("gateway.yml");
    fs::write(&file, proxies::gateway_yaml(spec))?;
    Ok(file)
}

fn check_gateway_config(file: &Path) -> anyhow::Result<()> {
    let output = Command::new(release_bin("gateway"))
        .arg("check")
        .arg(file)
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "BUG: the bench wrote a config the gateway refuses ({}):\n{}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// Signs in as the seeded admin (all roles) on an auth replica, writes, submits and publishes one
/// blog on a blog replica, so that the latest list has something to return.
fn publish_a_blog(plan: &ServicesPlan, admin_password: &str) -> anyhow::Result<()> {
    let [auth, _] = plan.auth_ports;
    let [blog, _] = plan.blog_ports;
    let call = |port: u16, method: &str, path: &str, token: Option<&str>, body: Option<String>| {
        let bearer = token.map(|token| format!("Bearer {token}"));
        let headers: Vec<(&str, &str)> = bearer
            .as_deref()
            .map(|value| vec![("Authorization", value)])
            .unwrap_or_default();
        let response = http::request(port, method, path, &headers, body.as_deref())?;
        anyhow::ensure!(
            response.status == 200,
            "{method} {path} answered {}: {}",
            response.status,
            response.body
        );
        serde_json::from_str::<serde_json::Value>(&response.body)
            .map_err(|err| anyhow::anyhow!("{method} {path}: {err}"))
    };
    let signed_in = call(
        auth,
        "POST",
        "/signin/basic",
        None,
        Some(serde_json::json!({"email": ADMIN_EMAIL, "password": admin_password}).to_string()),
    )?;
    let token = signed_in["data"]["tokens"]["accessToken"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("sign-in returned no access token: {signed_in}"))?
        .to_owned();
    let created = call(
        blog,
        "POST",
        "/author/",
        Some(&token),
        Some(
            serde_json::json!({
                "title": "Benchmarking the gateway",
                "description": "What one proxy hop costs, measured side by side with nginx and HAProxy.",
                "draftText": "Numbers, not adjectives. ".repeat(40),
                "slug": "benchmarking-the-gateway",
                "imgUrl": "https://example.com/bench.png",
                "tags": ["BENCH"],
            })
            .to_string(),
        ),
    )?;
    let id = created["data"]["_id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("create returned no _id: {created}"))?
        .to_owned();
    call(
        blog,
        "PUT",
        &format!("/author/submit/id/{id}"),
        Some(&token),
        None,
    )?;
    call(
        blog,
        "PUT",
        &format!("/editor/publish/id/{id}"),
        Some(&token),
        None,
    )?;
    let latest = call(blog, "GET", BLOG_PATH, None, None)?;
    anyhow::ensure!(
        latest["data"]
            .as_array()
            .is_some_and(|list| !list.is_empty()),
        "the published blog is not in the latest list: {latest}"
    );
    println!("published one blog ({id}) for the read scenario");
    Ok(())
}

/// During one oha run against the plain gateway, replaces its config file 100 times, alternating
/// between the two `variants` (a route and a target added, then removed), each write a temp file
/// renamed over the config as editors do.
fn reload_under_load(
    options: &BenchOptions,
    tools: &Tools,
    work: &Path,
    plain: &GatewaySpec,
    variants: [&Path; 2],
    gateway_log: &Path,
    stop: &AtomicBool,
) -> anyhow::Result<ReloadOutcome> {
    let settle = Duration::from_secs(1);
    let gap = ((options.duration.saturating_sub(settle * 2)) / RELOAD_REWRITES as u32)
        .max(RELOAD_MIN_GAP);
    let duration = gap * RELOAD_REWRITES as u32 + settle * 2;
    println!(
        "\nreload under load: {RELOAD_REWRITES} rewrites of the gateway's config, one every {gap:?}, during a {duration:?} run…"
    );
    let texts = [
        fs::read_to_string(variants[0])?,
        fs::read_to_string(variants[1])?,
    ];
    let config = variants[0].to_path_buf();
    let temp = config.with_file_name(".gateway.yml.tmp");
    let reloads_before = reload_count(plain.admin, gateway_log);
    let load = oha::Load {
        url: format!("http://127.0.0.1:{}/svc/ping", plain.listen),
        headers: Vec::new(),
        duration,
        connections: options.connections,
        insecure: false,
    };
    let out = work.join("oha").join("reload");
    let measurement = std::thread::scope(|scope| {
        let writer = scope.spawn(|| -> anyhow::Result<usize> {
            std::thread::sleep(settle);
            for i in 0..RELOAD_REWRITES {
                if stop.load(Ordering::SeqCst) {
                    return Ok(i);
                }
                // the 1st, 3rd, … rewrite adds the extra route and target, the next takes them away
                fs::write(&temp, &texts[(i + 1) % 2])?;
                fs::rename(&temp, &config)?;
                std::thread::sleep(gap);
            }
            Ok(RELOAD_REWRITES)
        });
        let measurement = oha::run(&tools.oha, &load, &out, stop, &mut || {});
        let rewrites = writer
            .join()
            .map_err(|_| anyhow::anyhow!("BUG: the config writer panicked"))?;
        Ok::<_, anyhow::Error>((measurement?, rewrites?))
    });
    let (measurement, rewrites) = measurement?;
    std::thread::sleep(settle);
    let reloads = match (reloads_before, reload_count(plain.admin, gateway_log)) {
        (Some((before, source)), Some((after, _))) => Some((after.saturating_sub(before), source)),
        _ => None,
    };
    Ok(ReloadOutcome {
        duration,
        measurement,
        rewrites,
        reloads,
    })
}

/// The gateway's reload count: the admin API's `GET /status` `reload.count` when it answers, else
/// the reload lines of its log.
fn reload_count(admin: u16, log: &Path) -> Option<(u64, &'static str)> {
    if let Ok(response) = http::request(admin, "GET", "/status", &[], None)
        && response.status == 200
        && let Ok(status) = serde_json::from_str::<serde_json::Value>(&response.body)
        && let Some(count) = status["reload"]["count"].as_u64()
    {
        return Some((count, "admin API GET /status"));
    }
    let log = fs::read_to_string(log).ok()?;
    let count = log
        .lines()
        .filter(|line| line.contains("config reloaded") || line.contains("config refused"))
        .count();
    Some((count as u64, "gateway log lines"))
}

fn reload_sentence(reload: &ReloadOutcome, connections: usize) -> String {
    let m = &reload.measurement;
    let seen = reload.reloads.map_or_else(
        || "the number of reloads it saw is unknown".to_owned(),
        |(count, source)| format!("the gateway saw {count} reloads ({source})"),
    );
    format!(
        "Reload under load: {} rewrites of the gateway's config during a {:.0} s run at {connections} connections: \
         {} requests answered 2xx ({:.0} rps), **{} failed**; {seen}.",
        reload.rewrites,
        reload.duration.as_secs_f64(),
        m.ok,
        m.rps,
        m.errors
    )
}

/// `<date>`, plus `-<n>-workers` unless one worker (so runs at other worker counts keep the
/// day's standard result), plus `-quick`.
fn results_stem(date: &str, options: &BenchOptions) -> String {
    let mut stem = date.to_owned();
    if options.workers != 1 {
        stem.push_str(&format!("-{}-workers", options.workers));
    }
    if options.quick {
        stem.push_str("-quick");
    }
    stem
}

/// `stem`, or `stem-run2`, `stem-run3`, ... when an earlier run of the day already wrote
/// `stem.md` in `dir`: a result that is kept in the repository is never overwritten.
fn unused_stem(dir: &Path, stem: &str) -> String {
    (1..)
        .map(|run| match run {
            1 => stem.to_owned(),
            run => format!("{stem}-run{run}"),
        })
        .find(|candidate| !dir.join(format!("{candidate}.md")).exists())
        .expect("BUG: an unbounded range always finds a free name")
}

/// Today's date, `YYYY-MM-DD` (UTC).
fn today() -> anyhow::Result<String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Ok(time::OffsetDateTime::now_utc().date().format(&format)?)
}

/// A file-name-safe form of a target name.
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The first non-empty line a command prints (stdout or stderr), or "unknown".
fn version_of(program: &Path, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|out| {
            let text = if out.stdout.is_empty() {
                out.stderr
            } else {
                out.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn machine_facts(tools: &Tools) -> Vec<(&'static str, String)> {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|kib| kib.trim().trim_end_matches(" kB").parse::<u64>().ok())
        })
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.1} GiB", kib as f64 / 1048576.0),
        );
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(workspace_root())
            .output()
            .ok()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let mut commit = git(&["rev-parse", "--short", "HEAD"]);
    if !git(&["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        commit.push_str(" (with uncommitted changes)");
    }
    let mut facts = vec![
        ("cores", format!("{cores} ({cpu})")),
        ("memory", memory),
        ("kernel", version_of(Path::new("uname"), &["-sr"])),
        (
            "nginx",
            version_of(&tools.nginx, &["-v"]).replace("nginx version: ", ""),
        ),
        (
            "HAProxy",
            version_of(&tools.haproxy, &["-v"])
                .split(" - ")
                .next()
                .unwrap_or_default()
                .replace("HAProxy version ", ""),
        ),
    ];
    facts.extend(
        tools
            .peers
            .iter()
            .map(|found| (found.peer.name(), peers::version(found))),
    );
    for (name, tool, args) in [
        ("h2load", &tools.h2load, &["--version"][..]),
        ("OpenSSL", &tools.openssl, &["version"][..]),
    ] {
        if let Some(tool) = tool {
            facts.push((name, version_of(tool, args)));
        }
    }
    facts.extend([
        ("oha", version_of(&tools.oha, &["--version"])),
        ("rustc", version_of(Path::new("rustc"), &["-V"])),
        ("gateway commit", commit),
    ]);
    facts
}

fn results_document(
    date: &str,
    options: &BenchOptions,
    tools: &Tools,
    tls_groups: &[&str],
    table: &str,
    reload: &ReloadOutcome,
    chart: Option<String>,
) -> String {
    let mut doc = format!("# Benchmark {date}\n\n");
    doc.push_str(&format!(
        "`cargo xtask bench --workers {} --rounds {} --duration {}s --connections {}{}{}{}`\n\n",
        options.workers,
        options.rounds,
        options.duration.as_secs_f64(),
        options.connections,
        if options.quick { " --quick" } else { "" },
        if options.no_blog { " --no-blog" } else { "" },
        if options.no_tls { " --no-tls" } else { "" },
    ));
    if let Some(chart) = chart {
        doc.push_str(&format!(
            "![requests per second and p99 per target]({chart})\n\n"
        ));
    }
    doc.push_str("## Results\n\n");
    doc.push_str(table);
    doc.push_str(
        "\nrps: 2xx answers per second, median of the rounds; ±: half the range of rps over the \
         rounds, in % of the median; p50/p99: medians of the rounds' percentiles; errors: non-2xx \
         answers and failed requests, all rounds; RSS: peak resident memory of the proxy process \
         (nginx: master and workers) during its runs; CPU: its user+system time over the run, in % \
         of one core (median). Ratios compare with each peer proxy (nginx, HAProxy, and Envoy, \
         Traefik and Caddy where installed) of the same group: rps ratio above 1 and p99 ratio \
         below 1 are better.\n\n",
    );
    doc.push_str(&reload_sentence(reload, options.connections));
    doc.push_str("\n\n## Setup\n\n");
    for (what, value) in machine_facts(tools) {
        doc.push_str(&format!("- {what}: {value}\n"));
    }
    doc.push_str(&format!(
        "- settings: {} worker(s) for every proxy (nginx `worker_processes`, HAProxy `nbthread`, \
         Envoy `--concurrency`, Traefik and Caddy `GOMAXPROCS`, gateway `_gateway.threads`, the \
         Pingora baselines' threads); {} round(s), each target {:.0} s per \
         round with `oha -z {:.0}s -c {} -w` (HTTP/1.1 keepalive), targets in turn, the order rotated \
         each round; {} s warm-up per target first.\n",
        options.workers,
        options.rounds,
        options.duration.as_secs_f64(),
        options.duration.as_secs_f64(),
        options.connections,
        WARM_UP.as_secs(),
    ));
    doc.push_str(
        "- upstreams: one nginx process (1 worker, `access_log off`) with two servers answering \
         `{\"ok\":true}` (`application/json`); `upstream direct` is oha against one of them.\n\
         - nginx: `upstream pool` of both with `keepalive 64`, `location /svc/ { proxy_pass \
         http://pool/; proxy_http_version 1.1; proxy_set_header Connection \"\"; }`, `access_log off`.\n\
         - HAProxy: `balance roundrobin`, `http-request replace-path ^/svc(/.*)?$ \\1`, \
         `http-reuse always`, `maxconn 4000`, no logging.\n",
    );
    for peer in [Peer::Envoy, Peer::Traefik, Peer::Caddy] {
        let line = if tools.peers.iter().any(|found| found.peer == peer) {
            peer_configuration(peer).to_owned()
        } else {
            let why = tools
                .skipped
                .iter()
                .find_map(|line| line.strip_prefix(&format!("{}: ", peer.name())))
                .unwrap_or("not installed");
            format!("not measured: {why}")
        };
        doc.push_str(&format!("- {}: {line}\n", peer.name()));
    }
    doc.push_str(
        "- bare Pingora: `loadtest/baselines/src/bin/bare_proxy.rs`, a `ProxyHttp` with round robin and prefix \
         strip only; what Pingora's proxy engine itself costs, the floor for anything built on it.\n\
         - Pingora core, no ProxyHttp: `loadtest/baselines/src/bin/core_proxy.rs`, the same on \
         pingora-core's `HttpServerApp` (Pingora's listener, HTTP/1 codec and connector, a plain \
         idle-connection list instead of Pingora's pool); no timeouts, retries or headers, so not a \
         gateway: the floor under the gateway's engine, which runs on the same pieces.\n\
         - gateway: Kong-format config, service `url: http://svc_pool`, route `paths: [/svc]` \
         (`strip_path`), upstream with the two targets (round-robin); `gateway + apikey` adds the \
         global `apikey-auth-plugin` verifying against the upstream nginx (verdicts cached 30 s), \
         requests carry `x-api-key`. Log level warn.\n",
    );
    if tls_groups.contains(&"https") {
        doc.push_str(&format!(
            "- https group: the `/svc` proxying of the first group over TLS 1.3 on a second listener \
             of the same processes (nginx `listen ... ssl http2` with `ssl_protocols TLSv1.3`, HAProxy \
             `bind ... ssl crt ... alpn h2,http/1.1 ssl-min-ver TLSv1.3`, the gateway's \
             `_gateway.proxy_listen_tls` with the certificate inline in `certificates`), one \
             self-signed ECDSA P-256 certificate made by `openssl req` for the run and served by all \
             three, all three on Debian's OpenSSL; the cipher suite is the client's choice among \
             OpenSSL's TLS 1.3 defaults, the same for all. Loaded with `oha --insecure -z {:.0}s -c {}` \
             (HTTP/1.1 keep-alive: handshakes only when a connection opens).\n",
            options.duration.as_secs_f64(),
            options.connections,
        ));
    }
    if tls_groups.contains(&"h2") {
        doc.push_str(&format!(
            "- h2 group: the same TLS listeners over HTTP/2 (ALPN `h2`), loaded with `h2load -D {:.0} \
             -c {} -m {}` ({} streams in flight, as many as the other groups' connections); p50 and \
             p99 from h2load's per-request log. The gateway speaks HTTP/1.1 to the upstreams, as nginx \
             and HAProxy do here.\n",
            options.duration.as_secs_f64(),
            h2load::Load {
                url: String::new(),
                headers: Vec::new(),
                duration: options.duration,
                concurrency: options.connections,
            }
            .connections(),
            h2load::STREAMS_PER_CONNECTION,
            options.connections,
        ));
    }
    if !options.no_blog {
        doc.push_str(&format!(
            "- blog group: `GET /blog{BLOG_PATH}` (one published blog) through every peer proxy and the \
             gateway (with the apikey plugin verifying the seeded key against the 2 auth replicas) \
             in front of the same 2 blog replicas (SQLite, Redis, NATS; started as `cargo xtask up` \
             does, fresh data under `data/bench/stack`); `blog: one replica direct` skips the proxy.\n"
        ));
    }
    doc.push_str(
        "- reload under load: during one run against the plain gateway, its config file is \
         replaced (temp file + rename) 100 times, alternately adding and removing a route and a \
         third target; every version is valid.\n\
         - one machine: oha, the proxy under test and the upstreams share the cores, so absolute \
         numbers are low and the ratios are what to read.\n",
    );
    doc
}

/// How an optional peer is configured, for the results' setup list.
fn peer_configuration(peer: Peer) -> &'static str {
    match peer {
        Peer::Envoy => {
            "static bootstrap (`proxies::proxy_envoy`), `--concurrency` workers: a \
             listener with `http_connection_manager` (HTTP/1), route `prefix: /svc/` with \
             `prefix_rewrite: /` to a `ROUND_ROBIN` cluster of both servers (HTTP/1, Envoy's default \
             connection pool, kept alive), no access log, no admin listener, \
             `--disable-hot-restart`, `--log-level warn`; Envoy's default headers (`x-request-id`, \
             `x-envoy-*`) left on."
        }
        Peer::Traefik => {
            "file provider (`proxies::proxy_traefik`), entry point on the port by \
             flag: router ``PathPrefix(`/svc/`)`` with a `stripPrefix` middleware (`/svc`), service \
             `loadBalancer` over both servers (round robin; the default transport keeps up to 200 \
             idle connections per server), no access log, `--log.level=ERROR`, no version check or \
             usage reports, `GOMAXPROCS` workers."
        }
        Peer::Caddy => {
            "Caddyfile (`proxies::proxy_caddy`): `admin off`, `auto_https off`, log \
             level ERROR, site `http://:<port>` with `bind 127.0.0.1`, `handle_path /svc/* { \
             reverse_proxy <both> { lb_policy round_robin; transport http { \
             keepalive_idle_conns_per_host 64 } } }`, no access log (Caddy's default), \
             `GOMAXPROCS` workers; `HOME` and `XDG_*` under `data/bench/caddy`."
        }
        Peer::Nginx | Peer::Haproxy => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("100ms").is_err(), "too short to measure");
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn results_of_other_worker_counts_keep_their_own_file() {
        let options = BenchOptions {
            workers: 1,
            rounds: 3,
            duration: Duration::from_secs(10),
            connections: 50,
            quick: false,
            no_build: true,
            no_blog: false,
            no_tls: false,
        };
        assert_eq!(results_stem("2026-11-24", &options), "2026-11-24");
        let two = BenchOptions {
            workers: 2,
            quick: true,
            ..options
        };
        assert_eq!(
            results_stem("2026-11-24", &two),
            "2026-11-24-2-workers-quick"
        );
    }

    #[test]
    fn a_second_run_of_the_day_gets_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unused_stem(dir.path(), "2026-11-25"), "2026-11-25");
        fs::write(dir.path().join("2026-11-25.md"), "first").unwrap();
        assert_eq!(unused_stem(dir.path(), "2026-11-25"), "2026-11-25-run2");
        fs::write(dir.path().join("2026-11-25-run2.md"), "second").unwrap();
        assert_eq!(unused_stem(dir.path(), "2026-11-25"), "2026-11-25-run3");
    }

    #[test]
    fn slugs_are_file_name_safe() {
        assert_eq!(slug("blog: gateway + apikey"), "blog--gateway---apikey");
    }
}
