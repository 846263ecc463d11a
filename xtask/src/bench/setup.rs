//! Everything a run measures, started and listed: the upstream nginx, the blog stack, the HTTPS
//! groups' certificate, the peer proxies, the Pingora baselines and the gateways; then the
//! targets in the table's order (the `svc` group, the HTTPS groups, the blog group).

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use process_kit::{free_port, listening};

use super::{
    blog::{BLOG_PATH, publish_a_blog},
    certificate::{self, BenchCertificate},
    options::BenchOptions,
    peers,
    proxies::{self, GatewayService, GatewaySpec, ProxySpec, TlsListener, UpstreamPorts},
    report::{Peer, Role},
    target::{Client, Target, slug, target},
    tools::Tools,
};
use crate::{
    children::Children,
    release::release_bin,
    stack::{ServicesPlan, start_services},
};

/// What the rest of a run needs from its setup.
pub struct Setup {
    /// Every target, in the table's order.
    pub targets: Vec<Target>,
    /// The plain gateway, which the reload scenario rewrites.
    pub plain: GatewaySpec,
    /// Its config file and the variant with an extra route and target, for the reload scenario.
    pub reload_variants: [PathBuf; 2],
}

/// A peer proxy started for the run.
struct PeerProcess {
    peer: Peer,
    /// Its cleartext port.
    listen: u16,
    /// Its TLS listener's port, for those in the HTTPS groups.
    tls_listen: Option<u16>,
    pid: u32,
}

/// The gateways of the `svc` group: plain (also the HTTPS groups' and the reload scenario's), with
/// the apikey plugin, and with the opentelemetry plugin at two sampling rates.
struct Gateways {
    plain: GatewaySpec,
    plain_pid: u32,
    keyed_listen: u16,
    keyed_pid: u32,
    /// With the opentelemetry plugin: (row name, port, pid).
    traced: Vec<(&'static str, u16, u32)>,
    reload_variants: [PathBuf; 2],
}

/// Which HTTPS groups run.
#[derive(Clone, Copy)]
struct TlsGroups {
    https: bool,
    h2: bool,
}

/// Starts everything the run measures under `work`; lists the targets.
pub fn start(
    options: &BenchOptions,
    tools: &Tools,
    work: &Path,
    children: &mut Children,
) -> anyhow::Result<Setup> {
    let upstreams = start_upstreams(tools, work, children)?;
    let stack = start_blog_stack(options, work, children)?;
    let tls = tls_groups(options, tools);
    let certificate = match (&tools.openssl, tls.https || tls.h2) {
        (Some(openssl), true) => Some(certificate::make(openssl, &work.join("tls"))?),
        _ => None,
    };
    let proxy_spec = ProxySpec {
        listen: free_port(),
        workers: options.workers,
        svc: upstreams.replicas,
        blog: stack.as_ref().map(|(plan, _)| plan.blog_ports),
        tls: tls_listener(certificate.as_ref()),
    };
    let peers = start_peers(tools, work, &proxy_spec, children)?;
    let baselines = start_baselines(options, upstreams, children)?;
    let gateways = start_gateways(options, work, upstreams, certificate.as_ref(), children)?;

    let mut targets = svc_targets(upstreams, &peers, &baselines, &gateways);
    targets.extend(tls_targets(tls, &peers, &gateways));
    if let Some((plan, api_key)) = &stack {
        targets.extend(blog_targets(
            options, work, plan, api_key, &peers, children,
        )?);
    }
    Ok(Setup {
        targets,
        plain: gateways.plain,
        reload_variants: gateways.reload_variants,
    })
}

/// The upstream servers: one nginx process on three free ports, waited for.
fn start_upstreams(
    tools: &Tools,
    work: &Path,
    children: &mut Children,
) -> anyhow::Result<UpstreamPorts> {
    let upstreams = UpstreamPorts {
        replicas: [free_port(), free_port()],
        spare: free_port(),
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
    Ok(upstreams)
}

/// The blog stack on free ports with one published blog, and its API key; none with `--no-blog`.
fn start_blog_stack(
    options: &BenchOptions,
    work: &Path,
    children: &mut Children,
) -> anyhow::Result<Option<(ServicesPlan, String)>> {
    if options.no_blog {
        return Ok(None);
    }
    println!("starting the blog stack (NATS, Redis, 2 auth + 2 blog replicas)…");
    let plan = ServicesPlan {
        data: work.join("stack"),
        nats_port: free_port(),
        redis_port: free_port(),
        reuse_infra: false,
        auth_ports: [free_port(), free_port()],
        blog_ports: [free_port(), free_port()],
        mongodb_url: None,
    };
    let secrets = start_services(&plan, children)?;
    publish_a_blog(&plan, &secrets.admin_password)?;
    Ok(Some((plan, secrets.api_key)))
}

/// Which HTTPS groups run; says why each other one does not.
fn tls_groups(options: &BenchOptions, tools: &Tools) -> TlsGroups {
    if options.no_tls {
        println!("skipped the HTTPS groups: --no-tls");
        return TlsGroups {
            https: false,
            h2: false,
        };
    }
    let https_missing = tools.https_missing();
    let h2_missing = tools.h2_missing();
    for (group, missing) in [("HTTPS", &https_missing), ("HTTP/2", &h2_missing)] {
        if let Some(why) = missing {
            println!("skipped the {group} group: {why}");
        }
    }
    TlsGroups {
        https: https_missing.is_none(),
        h2: h2_missing.is_none(),
    }
}

/// A TLS listener on a free port serving `certificate`, when there is one.
fn tls_listener(certificate: Option<&BenchCertificate>) -> Option<TlsListener<'_>> {
    certificate.map(|certificate| TlsListener {
        listen: free_port(),
        certificate,
    })
}

/// nginx and HAProxy (with TLS listeners when there is a certificate), and every optional peer
/// found, each on its own port.
fn start_peers(
    tools: &Tools,
    work: &Path,
    nginx_spec: &ProxySpec,
    children: &mut Children,
) -> anyhow::Result<Vec<PeerProcess>> {
    let conf = work.join("nginx.conf");
    fs::write(&conf, proxies::proxy_nginx(work, nginx_spec))?;
    let nginx_pid = children.spawn("nginx", nginx_command(&tools.nginx, &conf))?;
    let haproxy_spec = ProxySpec {
        listen: free_port(),
        tls: tls_listener(nginx_spec.tls.map(|tls| tls.certificate)),
        ..*nginx_spec
    };
    let conf = work.join("haproxy.cfg");
    fs::write(&conf, proxies::proxy_haproxy(&haproxy_spec))?;
    let mut haproxy = Command::new(&tools.haproxy);
    haproxy.arg("-f").arg(&conf).arg("-db");
    let haproxy_pid = children.spawn("haproxy", haproxy)?;
    let mut peers = vec![
        PeerProcess {
            peer: Peer::Nginx,
            listen: nginx_spec.listen,
            tls_listen: nginx_spec.tls.map(|tls| tls.listen),
            pid: nginx_pid,
        },
        PeerProcess {
            peer: Peer::Haproxy,
            listen: haproxy_spec.listen,
            tls_listen: haproxy_spec.tls.map(|tls| tls.listen),
            pid: haproxy_pid,
        },
    ];
    for found in &tools.peers {
        let spec = ProxySpec {
            listen: free_port(),
            tls: None,
            ..*nginx_spec
        };
        let name = slug(found.peer.name());
        let command = peers::command(found, &spec, &work.join(&name))?;
        let pid = children.spawn(&name, command)?;
        peers.push(PeerProcess {
            peer: found.peer,
            listen: spec.listen,
            tls_listen: None,
            pid,
        });
    }
    Ok(peers)
}

/// The two Pingora baselines, as `(name, port, pid)`; they take the same command line: listen,
/// the two upstreams, threads.
fn start_baselines(
    options: &BenchOptions,
    upstreams: UpstreamPorts,
    children: &mut Children,
) -> anyhow::Result<[(&'static str, u16, u32); 2]> {
    let mut start = |child: &str, binary: &str, name: &'static str| {
        let listen = free_port();
        let mut command = Command::new(release_bin(binary));
        command
            .arg(format!("127.0.0.1:{listen}"))
            .args(upstreams.replicas.map(|p| format!("127.0.0.1:{p}")))
            .arg(options.workers.to_string());
        children
            .spawn(child, command)
            .map(|pid| (name, listen, pid))
    };
    Ok([
        start("bare-pingora", "bare_proxy", "bare Pingora")?,
        start("pingora-core", "core_proxy", "Pingora core, no ProxyHttp")?,
    ])
}

/// The plain gateway (with the TLS listener when there is a certificate), the one with the apikey
/// plugin and the two with the opentelemetry plugin; the reload scenario's two configs checked
/// first.
fn start_gateways(
    options: &BenchOptions,
    work: &Path,
    upstreams: UpstreamPorts,
    certificate: Option<&BenchCertificate>,
    children: &mut Children,
) -> anyhow::Result<Gateways> {
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
        listen: free_port(),
        admin: free_port(),
        workers: options.workers,
        services: vec![svc(false)],
        verification_urls: None,
        tracing: None,
        tls: certificate.map(|certificate| (free_port(), certificate.clone())),
    };
    let keyed = GatewaySpec {
        listen: free_port(),
        admin: free_port(),
        tls: None,
        verification_urls: Some(verification_urls(upstreams.replicas)),
        ..plain.clone()
    };
    let plain_file = write_gateway_config(work, "gateway-plain", &plain)?;
    // The reload scenario switches between these two; both must be valid before it starts.
    let mut extra = plain.clone();
    extra.services = vec![svc(true)];
    let extra_file = write_gateway_config(work, "gateway-extra", &extra)?;
    check_gateway_config(&extra_file)?;
    check_gateway_config(&plain_file)?;
    let plain_pid = children.spawn("gateway-plain", gateway_command(&plain_file))?;
    let keyed_file = write_gateway_config(work, "gateway-apikey", &keyed)?;
    let keyed_pid = children.spawn("gateway-apikey", gateway_command(&keyed_file))?;
    // Tracing every request and one in a hundred, exporting to the upstream nginx (an empty 200).
    let mut traced = Vec::new();
    for (name, file, sampling_rate) in [
        ("gateway + otel 1.0", "gateway-otel-all", 1.0),
        ("gateway + otel 0.01", "gateway-otel-sampled", 0.01),
    ] {
        let spec = GatewaySpec {
            listen: free_port(),
            admin: free_port(),
            tls: None,
            tracing: Some((
                format!("http://127.0.0.1:{}/v1/traces", upstreams.spare),
                sampling_rate,
            )),
            ..plain.clone()
        };
        let path = write_gateway_config(work, file, &spec)?;
        let pid = children.spawn(file, gateway_command(&path))?;
        traced.push((name, spec.listen, pid));
    }
    Ok(Gateways {
        plain,
        plain_pid,
        keyed_listen: keyed.listen,
        keyed_pid,
        traced,
        reload_variants: [plain_file, extra_file],
    })
}

/// The `svc` group: the upstreams direct, every peer, the baselines and both gateways.
fn svc_targets(
    upstreams: UpstreamPorts,
    peers: &[PeerProcess],
    baselines: &[(&'static str, u16, u32)],
    gateways: &Gateways,
) -> Vec<Target> {
    let measured = |name: &str, port: u16, key: Option<&str>, pid: u32| {
        target(
            name,
            "svc",
            Role::Measured,
            port,
            "/svc/ping",
            key,
            Some(pid),
        )
    };
    let mut targets = vec![target(
        "upstream direct",
        "svc",
        Role::Direct,
        upstreams.replicas[0],
        "/ping",
        None,
        None,
    )];
    targets.extend(peers.iter().map(|peer| {
        let role = Role::Peer(peer.peer);
        let name = peer.peer.name();
        target(
            name,
            "svc",
            role,
            peer.listen,
            "/svc/ping",
            None,
            Some(peer.pid),
        )
    }));
    targets.extend(
        baselines
            .iter()
            .map(|&(name, port, pid)| measured(name, port, None, pid)),
    );
    targets.push(measured(
        "gateway",
        gateways.plain.listen,
        None,
        gateways.plain_pid,
    ));
    targets.push(measured(
        "gateway + apikey",
        gateways.keyed_listen,
        Some("bench-key"),
        gateways.keyed_pid,
    ));
    targets.extend(
        gateways
            .traced
            .iter()
            .map(|&(name, port, pid)| measured(name, port, None, pid)),
    );
    targets
}

/// The `/svc` proxying again over TLS: the peers with a TLS listener, and the plain gateway; per
/// HTTPS group that runs.
fn tls_targets(tls: TlsGroups, peers: &[PeerProcess], gateways: &Gateways) -> Vec<Target> {
    let mut targets = Vec::new();
    let groups = [
        ("https", Client::Https1, tls.https),
        ("h2", Client::Http2, tls.h2),
    ];
    for (group, client, wanted) in groups {
        let Some((gateway_tls, _)) = gateways.plain.tls.as_ref().filter(|_| wanted) else {
            continue;
        };
        let protocol = if client == Client::Http2 {
            "h2"
        } else {
            "https"
        };
        for peer in peers {
            let Some(tls_listen) = peer.tls_listen else {
                continue;
            };
            let name = format!("{} {protocol}", peer.peer.name());
            let role = Role::Peer(peer.peer);
            targets.push(
                target(
                    &name,
                    group,
                    role,
                    tls_listen,
                    "/svc/ping",
                    None,
                    Some(peer.pid),
                )
                .over(client),
            );
        }
        let name = format!("gateway {protocol}");
        let pid = Some(gateways.plain_pid);
        targets.push(
            target(
                &name,
                group,
                Role::Measured,
                *gateway_tls,
                "/svc/ping",
                None,
                pid,
            )
            .over(client),
        );
    }
    targets
}

/// The blog group: one replica direct, every peer and a gateway with the apikey plugin verifying
/// against the auth replicas (started here).
fn blog_targets(
    options: &BenchOptions,
    work: &Path,
    plan: &ServicesPlan,
    api_key: &str,
    peers: &[PeerProcess],
    children: &mut Children,
) -> anyhow::Result<Vec<Target>> {
    let blog = GatewaySpec {
        listen: free_port(),
        admin: free_port(),
        workers: options.workers,
        services: vec![GatewayService {
            name: "blog",
            targets: plan.blog_ports.to_vec(),
            extra_route: None,
        }],
        verification_urls: Some(verification_urls(plan.auth_ports)),
        tracing: None,
        tls: None,
    };
    let blog_file = write_gateway_config(work, "gateway-blog", &blog)?;
    let blog_pid = children.spawn("gateway-blog", gateway_command(&blog_file))?;
    let path = format!("/blog{BLOG_PATH}");
    let mut targets = vec![target(
        "blog: one replica direct",
        "blog",
        Role::Direct,
        plan.blog_ports[0],
        BLOG_PATH,
        None,
        None,
    )];
    targets.extend(peers.iter().map(|peer| {
        let name = format!("blog: {}", peer.peer.name());
        let role = Role::Peer(peer.peer);
        target(
            &name,
            "blog",
            role,
            peer.listen,
            &path,
            None,
            Some(peer.pid),
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
    Ok(targets)
}

/// The apikey plugin's verification URLs on `ports`.
fn verification_urls(ports: [u16; 2]) -> Vec<String> {
    ports
        .map(|p| format!("http://127.0.0.1:{p}/verify/apikey"))
        .to_vec()
}

/// nginx in the foreground on `conf`.
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

/// `gateway check` of a config the bench wrote: a refusal is a bug of the bench.
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
