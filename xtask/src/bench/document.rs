//! The results file's Markdown: the command line, the table, the reload sentence, and the setup
//! list (machine, versions, settings, how every proxy is configured, what each group measures).

use super::{
    blog::BLOG_PATH,
    facts::machine_facts,
    h2load,
    measure::WARM_UP,
    options::BenchOptions,
    reload::{ReloadOutcome, reload_sentence},
    report::Peer,
    tools::Tools,
};

/// The whole results document. `tls_groups` names the HTTPS groups that ran (`https`, `h2`);
/// `chart` is the chart's file name beside it, when there is one.
pub fn results_document(
    date: &str,
    options: &BenchOptions,
    tools: &Tools,
    tls_groups: &[&str],
    table: &str,
    reload: &ReloadOutcome,
    chart: Option<String>,
) -> String {
    let mut doc = results_section(date, options, table, reload, chart);
    doc.push_str("\n\n## Setup\n\n");
    doc.push_str(&setup_section(options, tools));
    doc.push_str(&group_notes(options, tls_groups));
    doc.push_str(
        "- reload under load: during one run against the plain gateway, its config file is \
         replaced (temp file + rename) 100 times, alternately adding and removing a route and a \
         third target; every version is valid.\n\
         - one machine: oha, the proxy under test and the upstreams share the cores, so absolute \
         numbers are low and the ratios are what to read.\n",
    );
    doc
}

/// The title, the command line, the chart, the table with its legend and the reload sentence.
fn results_section(
    date: &str,
    options: &BenchOptions,
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
    doc
}

/// The machine, the versions, the settings and how each proxy and baseline is configured.
fn setup_section(options: &BenchOptions, tools: &Tools) -> String {
    let mut doc = String::new();
    for (what, value) in machine_facts(tools) {
        doc.push_str(&format!("- {what}: {value}\n"));
    }
    doc.push_str(&format!(
        "- settings: {} worker(s) for every proxy (nginx `worker_processes`, HAProxy `nbthread`, \
         Envoy `--concurrency`, Traefik and Caddy `GOMAXPROCS`, gateway `_gateway.threads`, the \
         Pingora baselines' threads); {} round(s), each target {:.0} s per round with \
         `oha -z {:.0}s -c {} -w` (HTTP/1.1 keepalive), targets in turn, each round starting \
         `targets / rounds` places further into the list; {} s warm-up per target first.\n",
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
         requests carry `x-api-key`; `gateway + otel 1.0` and `gateway + otel 0.01` add the \
         global `opentelemetry` plugin at those sampling rates, exporting OTLP/HTTP to the upstream \
         nginx (an empty 200). Log level warn.\n",
    );
    doc
}

/// What the HTTPS, HTTP/2 and blog groups measure, for those that ran.
fn group_notes(options: &BenchOptions, tls_groups: &[&str]) -> String {
    let mut doc = String::new();
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
