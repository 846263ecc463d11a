//! The config files of the processes under test, as text: the upstream nginx; nginx, HAProxy, Envoy,
//! Traefik and Caddy as proxies equivalent to the gateway (same prefix strip, same round robin,
//! upstream keepalive, no access log); and the gateway's own Kong-format file. Pure functions; the
//! caller writes and starts them.

use std::{fmt::Write as _, path::Path};

use super::certificate::BenchCertificate;

/// Ports of the upstream nginx.
#[derive(Debug, Clone, Copy)]
pub struct UpstreamPorts {
    /// The two replicas every proxy balances over.
    pub replicas: [u16; 2],
    /// A third server, added to and removed from the gateway's pool by the reload scenario.
    pub spare: u16,
}

/// The body every upstream server answers.
pub const UPSTREAM_BODY: &str = r#"{"ok":true}"#;

/// The pid file and error log of an nginx called `name`, inside `dir`.
fn nginx_paths(dir: &Path, name: &str) -> String {
    let dir = dir.display();
    format!("pid {dir}/{name}.pid;\nerror_log {dir}/{name}-error.log warn;\n")
}

/// Temp directories of nginx's http block, inside `dir` (so nginx never writes under /var).
fn nginx_temp_paths(dir: &Path) -> String {
    let dir = dir.display();
    ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
        .iter()
        .map(|kind| format!("    {kind}_temp_path {dir}/tmp-{kind};\n"))
        .collect()
}

/// The upstream servers: one nginx process, one worker, answering `{"ok":true}` on every port
/// (and 200 on `/verify/apikey`, for the apikey plugin scenario, and an empty 200 on `/v1/traces`,
/// the OTLP collector of the tracing scenario).
pub fn upstream_nginx(dir: &Path, ports: UpstreamPorts) -> String {
    let mut conf = String::new();
    conf.push_str("worker_processes 1;\n");
    conf.push_str(&nginx_paths(dir, "upstreams"));
    conf.push_str("events { worker_connections 8192; }\n");
    conf.push_str("http {\n    access_log off;\n    default_type application/json;\n");
    conf.push_str("    keepalive_requests 1000000;\n    keepalive_timeout 120s;\n");
    conf.push_str(&nginx_temp_paths(dir));
    for port in ports.replicas.into_iter().chain([ports.spare]) {
        let _ = write!(
            conf,
            "    server {{\n        listen 127.0.0.1:{port};\n        \
             location / {{ return 200 '{UPSTREAM_BODY}'; }}\n        \
             location = /verify/apikey {{ return 200 '{UPSTREAM_BODY}'; }}\n        \
             location = /v1/traces {{ return 200 ''; }}\n    }}\n"
        );
    }
    conf.push_str("}\n");
    conf
}

/// A TLS listener of a proxy: HTTP/2 and HTTP/1.1 by ALPN, TLS 1.3, the bench certificate.
#[derive(Debug, Clone, Copy)]
pub struct TlsListener<'a> {
    /// Its port on 127.0.0.1.
    pub listen: u16,
    /// What it serves.
    pub certificate: &'a BenchCertificate,
}

/// What a proxy in front of the upstreams serves.
#[derive(Debug, Clone, Copy)]
pub struct ProxySpec<'a> {
    /// The proxy's own port on 127.0.0.1.
    pub listen: u16,
    /// nginx `worker_processes`, HAProxy `nbthread`, Envoy `--concurrency`, Traefik and Caddy
    /// `GOMAXPROCS` (set by the caller: they are not in these files), gateway `threads`.
    pub workers: usize,
    /// `/svc/*` goes to these, prefix stripped.
    pub svc: [u16; 2],
    /// `/blog/*` goes to these (the blog replicas), prefix stripped; absent without the stack.
    pub blog: Option<[u16; 2]>,
    /// The same routes over TLS too (nginx and HAProxy only; the HTTPS groups).
    pub tls: Option<TlsListener<'a>>,
}

/// nginx as a reverse proxy: round robin over each pool, 64 idle upstream connections kept.
pub fn proxy_nginx(dir: &Path, spec: &ProxySpec) -> String {
    let mut conf = String::new();
    let _ = writeln!(conf, "worker_processes {};", spec.workers);
    conf.push_str(&nginx_paths(dir, "nginx"));
    conf.push_str("events { worker_connections 8192; }\n");
    conf.push_str("http {\n    access_log off;\n");
    conf.push_str("    keepalive_requests 1000000;\n    keepalive_timeout 120s;\n");
    conf.push_str(&nginx_temp_paths(dir));
    let pools = [("svc", Some(spec.svc)), ("blog", spec.blog)];
    for (name, ports) in pools {
        let Some(ports) = ports else { continue };
        let _ = write!(
            conf,
            "    upstream {name}_pool {{\n        server 127.0.0.1:{};\n        server 127.0.0.1:{};\n        \
             keepalive 64;\n        keepalive_requests 1000000;\n    }}\n",
            ports[0], ports[1]
        );
    }
    let _ = writeln!(
        conf,
        "    server {{\n        listen 127.0.0.1:{};",
        spec.listen
    );
    if let Some(tls) = spec.tls {
        let _ = write!(
            conf,
            "        listen 127.0.0.1:{} ssl http2;\n        ssl_certificate {};\n        \
             ssl_certificate_key {};\n        ssl_protocols TLSv1.3;\n",
            tls.listen,
            tls.certificate.cert.display(),
            tls.certificate.key.display()
        );
    }
    for (name, ports) in pools {
        if ports.is_none() {
            continue;
        }
        let _ = write!(
            conf,
            "        location /{name}/ {{\n            proxy_pass http://{name}_pool/;\n            \
             proxy_http_version 1.1;\n            proxy_set_header Connection \"\";\n        }}\n"
        );
    }
    conf.push_str("    }\n}\n");
    conf
}

/// HAProxy as a reverse proxy: round robin, prefix stripped with `replace-path`, connections to the
/// servers reused (`http-reuse always`), no logging.
pub fn proxy_haproxy(spec: &ProxySpec) -> String {
    let mut conf = String::new();
    let _ = write!(
        conf,
        "global\n    nbthread {}\n    maxconn 4000\n\n\
         defaults\n    mode http\n    timeout connect 5s\n    timeout client 60s\n    \
         timeout server 60s\n    http-reuse always\n\n\
         frontend proxy\n    bind 127.0.0.1:{}\n",
        spec.workers, spec.listen
    );
    if let Some(tls) = spec.tls {
        let _ = writeln!(
            conf,
            "    bind 127.0.0.1:{} ssl crt {} alpn h2,http/1.1 ssl-min-ver TLSv1.3",
            tls.listen,
            tls.certificate.combined.display()
        );
    }
    if spec.blog.is_some() {
        conf.push_str("    use_backend blog if { path /blog } || { path_beg /blog/ }\n");
    }
    conf.push_str("    default_backend svc\n");
    for (name, ports) in [("svc", Some(spec.svc)), ("blog", spec.blog)] {
        let Some(ports) = ports else { continue };
        let _ = write!(
            conf,
            "\nbackend {name}\n    balance roundrobin\n    \
             http-request replace-path ^/{name}(/.*)?$ \\1\n    \
             server {name}1 127.0.0.1:{}\n    server {name}2 127.0.0.1:{}\n",
            ports[0], ports[1]
        );
    }
    conf
}

/// The pools of a proxy: `svc`, and `blog` when the stack runs.
fn pools(spec: &ProxySpec) -> impl Iterator<Item = (&'static str, [u16; 2])> {
    [("svc", Some(spec.svc)), ("blog", spec.blog)]
        .into_iter()
        .filter_map(|(name, ports)| ports.map(|ports| (name, ports)))
}

/// Envoy's static bootstrap: one HTTP/1 listener, `/<pool>/` routed to a `ROUND_ROBIN` cluster with
/// `prefix_rewrite: "/"`; HTTP/1 to the servers through Envoy's default connection pool (kept
/// alive); no access log (none configured), no admin listener. Threads: `--concurrency`.
pub fn proxy_envoy(spec: &ProxySpec) -> String {
    let mut yaml = String::new();
    let _ = write!(
        yaml,
        "static_resources:\n  listeners:\n  - name: proxy\n    address:\n      \
         socket_address: {{ address: 127.0.0.1, port_value: {} }}\n    filter_chains:\n    \
         - filters:\n      - name: envoy.filters.network.http_connection_manager\n        \
         typed_config:\n          \"@type\": type.googleapis.com/envoy.extensions.filters.network.\
         http_connection_manager.v3.HttpConnectionManager\n          stat_prefix: proxy\n          \
         codec_type: HTTP1\n          route_config:\n            virtual_hosts:\n            \
         - name: proxy\n              domains: [\"*\"]\n              routes:\n",
        spec.listen
    );
    for (name, _) in pools(spec) {
        let _ = writeln!(
            yaml,
            "              - match: {{ prefix: \"/{name}/\" }}\n                \
             route: {{ cluster: {name}_pool, prefix_rewrite: \"/\" }}"
        );
    }
    yaml.push_str(
        "          http_filters:\n          - name: envoy.filters.http.router\n            \
         typed_config:\n              \"@type\": type.googleapis.com/envoy.extensions.filters.http.\
         router.v3.Router\n  clusters:\n",
    );
    for (name, ports) in pools(spec) {
        let _ = write!(
            yaml,
            "  - name: {name}_pool\n    type: STATIC\n    lb_policy: ROUND_ROBIN\n    \
             load_assignment:\n      cluster_name: {name}_pool\n      endpoints:\n      \
             - lb_endpoints:\n"
        );
        for port in ports {
            let _ = writeln!(
                yaml,
                "        - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, \
                 port_value: {port} }} }} }}"
            );
        }
    }
    yaml
}

/// Traefik's dynamic configuration (file provider): per pool a router on `PathPrefix(`/<pool>/`)`,
/// a `stripPrefix` middleware taking `/<pool>` off, and a `loadBalancer` service (round robin;
/// Traefik's default transport keeps idle connections to the servers). The entry point `proxy`,
/// log level and the rest are command-line flags, set by the caller.
pub fn proxy_traefik(spec: &ProxySpec) -> String {
    let mut yaml = String::from("http:\n  routers:\n");
    for (name, _) in pools(spec) {
        let _ = write!(
            yaml,
            "    {name}:\n      entryPoints: [proxy]\n      rule: \"PathPrefix(`/{name}/`)\"\n      \
             middlewares: [{name}-strip]\n      service: {name}_pool\n"
        );
    }
    yaml.push_str("  middlewares:\n");
    for (name, _) in pools(spec) {
        let _ = write!(
            yaml,
            "    {name}-strip:\n      stripPrefix:\n        prefixes: [\"/{name}\"]\n"
        );
    }
    yaml.push_str("  services:\n");
    for (name, ports) in pools(spec) {
        let _ = write!(
            yaml,
            "    {name}_pool:\n      loadBalancer:\n        servers:\n"
        );
        for port in ports {
            let _ = writeln!(yaml, "          - url: \"http://127.0.0.1:{port}\"");
        }
    }
    yaml
}

/// Caddy's Caddyfile: no admin endpoint, no automatic HTTPS, errors only in its log (Caddy has no
/// access log unless asked); one plain-HTTP site bound to 127.0.0.1, per pool `handle_path
/// /<pool>/*` (strips the prefix) with a round-robin `reverse_proxy` keeping up to 64 idle
/// connections per server. Threads: `GOMAXPROCS`, set by the caller.
pub fn proxy_caddy(spec: &ProxySpec) -> String {
    let mut conf = format!(
        "{{\n\tadmin off\n\tauto_https off\n\tlog {{\n\t\tlevel ERROR\n\t}}\n}}\n\n\
         http://:{} {{\n\tbind 127.0.0.1\n",
        spec.listen
    );
    for (name, ports) in pools(spec) {
        let _ = write!(
            conf,
            "\thandle_path /{name}/* {{\n\t\treverse_proxy 127.0.0.1:{} 127.0.0.1:{} {{\n\t\t\t\
             lb_policy round_robin\n\t\t\ttransport http {{\n\t\t\t\t\
             keepalive_idle_conns_per_host 64\n\t\t\t}}\n\t\t}}\n\t}}\n",
            ports[0], ports[1]
        );
    }
    conf.push_str("}\n");
    conf
}

/// One service of a gateway config: `/<name>` → upstream `<name>_pool`, prefix stripped.
#[derive(Debug, Clone)]
pub struct GatewayService {
    /// Service, route and path name (`svc` serves `/svc`).
    pub name: &'static str,
    /// The targets of its upstream.
    pub targets: Vec<u16>,
    /// Paths of a second route of the same service (the reload scenario adds and removes one).
    pub extra_route: Option<&'static str>,
}

/// A whole gateway config.
#[derive(Debug, Clone)]
pub struct GatewaySpec {
    /// Proxy port on 127.0.0.1.
    pub listen: u16,
    /// Admin port on 127.0.0.1.
    pub admin: u16,
    /// Worker threads.
    pub workers: usize,
    /// The services.
    pub services: Vec<GatewayService>,
    /// With the global `apikey-auth-plugin`, verifying keys at these URLs.
    pub verification_urls: Option<Vec<String>>,
    /// With the global `opentelemetry` plugin: (traces URL, sampling rate).
    pub tracing: Option<(String, f64)>,
    /// A TLS listener on this port (`_gateway.proxy_listen_tls`) serving the certificate.
    pub tls: Option<(u16, BenchCertificate)>,
}

/// `pem` as a YAML block scalar's lines at `indent` spaces.
fn indented(pem: &str, indent: usize) -> String {
    pem.lines()
        .map(|line| format!("{:indent$}{line}\n", ""))
        .collect()
}

/// The gateway's Kong-format file for `spec`.
pub fn gateway_yaml(spec: &GatewaySpec) -> String {
    let mut yaml = String::new();
    let _ = write!(
        yaml,
        "_format_version: \"3.0\"\n_gateway:\n  proxy_listen: \"127.0.0.1:{}\"\n  \
         admin_listen: \"127.0.0.1:{}\"\n  threads: {}\n  access_log: \"off\"\nservices:\n",
        spec.listen, spec.admin, spec.workers
    );
    if let Some((port, certificate)) = &spec.tls {
        let at = yaml.find("services:\n").expect("BUG: written above");
        yaml.insert_str(
            at,
            &format!(
                "  proxy_listen_tls: \"127.0.0.1:{port}\"\ncertificates:\n  - id: bench\n    \
                 cert: |\n{}    key: |\n{}",
                indented(&certificate.cert_pem, 6),
                indented(&certificate.key_pem, 6)
            ),
        );
    }
    for service in &spec.services {
        let name = service.name;
        let _ = write!(
            yaml,
            "  - name: {name}\n    url: http://{name}_pool\n    routes:\n      - name: {name}\n        \
             paths: [/{name}]\n        strip_path: true\n"
        );
        if let Some(extra) = service.extra_route {
            let _ = write!(
                yaml,
                "      - name: {name}_extra\n        paths: [{extra}]\n        strip_path: true\n"
            );
        }
    }
    yaml.push_str("upstreams:\n");
    for service in &spec.services {
        let _ = write!(
            yaml,
            "  - name: {}_pool\n    algorithm: round-robin\n    targets:\n",
            service.name
        );
        for port in &service.targets {
            let _ = writeln!(yaml, "      - target: 127.0.0.1:{port}");
        }
    }
    if spec.verification_urls.is_some() || spec.tracing.is_some() {
        yaml.push_str("plugins:\n");
    }
    if let Some(urls) = &spec.verification_urls {
        yaml.push_str("  - name: apikey-auth-plugin\n    config:\n      verification_urls:\n");
        for url in urls {
            let _ = writeln!(yaml, "        - {url}");
        }
    }
    if let Some((traces_url, sampling_rate)) = &spec.tracing {
        let _ = write!(
            yaml,
            "  - name: opentelemetry\n    config:\n      traces_endpoint: {traces_url}\n      \
             sampling_rate: {sampling_rate}\n"
        );
    }
    yaml
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(blog: Option<[u16; 2]>) -> ProxySpec<'static> {
        ProxySpec {
            listen: 9300,
            workers: 2,
            svc: [9201, 9202],
            blog,
            tls: None,
        }
    }

    fn certificate() -> BenchCertificate {
        BenchCertificate {
            cert: "/tmp/b/tls/cert.pem".into(),
            key: "/tmp/b/tls/key.pem".into(),
            combined: "/tmp/b/tls/combined.pem".into(),
            cert_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
            key_pem: "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n".into(),
        }
    }

    #[test]
    fn nginx_and_haproxy_serve_the_same_routes_over_tls_1_3_with_h2() {
        let certificate = certificate();
        let mut spec = spec(None);
        spec.tls = Some(TlsListener {
            listen: 9443,
            certificate: &certificate,
        });
        let nginx = proxy_nginx(Path::new("/tmp/b"), &spec);
        assert!(
            nginx.contains(
                "        listen 127.0.0.1:9300;\n        listen 127.0.0.1:9443 ssl http2;\n        \
                 ssl_certificate /tmp/b/tls/cert.pem;\n        ssl_certificate_key /tmp/b/tls/key.pem;\n        \
                 ssl_protocols TLSv1.3;\n        location /svc/"
            ),
            "{nginx}"
        );
        let haproxy = proxy_haproxy(&spec);
        assert!(
            haproxy.contains(
                "    bind 127.0.0.1:9300\n    bind 127.0.0.1:9443 ssl crt /tmp/b/tls/combined.pem \
                 alpn h2,http/1.1 ssl-min-ver TLSv1.3\n"
            ),
            "{haproxy}"
        );
        assert!(!proxy_nginx(Path::new("/tmp/b"), &self::spec(None)).contains("ssl"));
    }

    #[test]
    fn nginx_proxy_strips_the_prefix_and_keeps_upstream_connections() {
        let conf = proxy_nginx(Path::new("/tmp/b"), &spec(None));
        assert!(conf.starts_with("worker_processes 2;\n"), "{conf}");
        assert!(
            conf.contains(
                "server 127.0.0.1:9201;\n        server 127.0.0.1:9202;\n        keepalive 64;"
            ),
            "{conf}"
        );
        assert!(
            conf.contains("location /svc/ {\n            proxy_pass http://svc_pool/;"),
            "{conf}"
        );
        assert!(conf.contains("proxy_set_header Connection \"\";"), "{conf}");
        assert!(
            !conf.contains("blog"),
            "no blog pool without the stack: {conf}"
        );
        assert!(conf.contains("pid /tmp/b/nginx.pid;"), "{conf}");
    }

    #[test]
    fn haproxy_routes_blog_paths_to_their_own_backend() {
        let conf = proxy_haproxy(&spec(Some([8201, 8202])));
        assert!(conf.contains("nbthread 2\n"), "{conf}");
        assert!(
            conf.contains("use_backend blog if { path /blog } || { path_beg /blog/ }"),
            "{conf}"
        );
        assert!(
            conf.contains("http-request replace-path ^/blog(/.*)?$ \\1\n"),
            "{conf}"
        );
        assert!(conf.contains("server blog2 127.0.0.1:8202\n"), "{conf}");
        assert!(conf.contains("http-reuse always"), "{conf}");
    }

    #[test]
    fn envoy_rewrites_the_prefix_and_balances_round_robin() {
        let conf = proxy_envoy(&spec(Some([8201, 8202])));
        assert!(conf.contains("port_value: 9300 }"), "{conf}");
        assert!(
            conf.contains(
                "- match: { prefix: \"/svc/\" }\n                \
                 route: { cluster: svc_pool, prefix_rewrite: \"/\" }\n"
            ),
            "{conf}"
        );
        assert!(
            conf.contains("route: { cluster: blog_pool, prefix_rewrite: \"/\" }"),
            "{conf}"
        );
        assert!(
            conf.contains("  - name: svc_pool\n    type: STATIC\n    lb_policy: ROUND_ROBIN\n"),
            "{conf}"
        );
        assert!(
            conf.contains("socket_address: { address: 127.0.0.1, port_value: 8202 }"),
            "{conf}"
        );
        assert!(!conf.contains("admin"), "no admin listener: {conf}");
        assert!(!conf.contains("access_log"), "{conf}");
        assert!(!conf.contains('\t'), "YAML takes no tabs: {conf}");
    }

    #[test]
    fn traefik_strips_the_prefix_in_a_middleware() {
        let conf = proxy_traefik(&spec(None));
        assert!(
            conf.contains("rule: \"PathPrefix(`/svc/`)\"\n      middlewares: [svc-strip]\n"),
            "{conf}"
        );
        assert!(
            conf.contains("svc-strip:\n      stripPrefix:\n        prefixes: [\"/svc\"]\n"),
            "{conf}"
        );
        assert!(
            conf.ends_with(
                "servers:\n          - url: \"http://127.0.0.1:9201\"\n          \
                 - url: \"http://127.0.0.1:9202\"\n"
            ),
            "{conf}"
        );
        assert!(!conf.contains("blog"), "{conf}");
    }

    #[test]
    fn caddy_has_no_admin_and_strips_each_pool() {
        let conf = proxy_caddy(&spec(Some([8201, 8202])));
        assert!(
            conf.starts_with("{\n\tadmin off\n\tauto_https off\n"),
            "{conf}"
        );
        assert!(
            conf.contains("http://:9300 {\n\tbind 127.0.0.1\n"),
            "{conf}"
        );
        assert!(
            conf.contains(
                "\thandle_path /svc/* {\n\t\treverse_proxy 127.0.0.1:9201 127.0.0.1:9202 {\n\t\t\t\
                 lb_policy round_robin\n"
            ),
            "{conf}"
        );
        assert!(
            conf.contains("handle_path /blog/* {\n\t\treverse_proxy 127.0.0.1:8201 127.0.0.1:8202"),
            "{conf}"
        );
        assert_eq!(
            conf.matches('{').count(),
            conf.matches('}').count(),
            "{conf}"
        );
    }

    #[test]
    fn gateway_yaml_has_the_plugin_only_when_asked() {
        let mut spec = GatewaySpec {
            listen: 9500,
            admin: 9501,
            workers: 1,
            services: vec![GatewayService {
                name: "svc",
                targets: vec![9201, 9202],
                extra_route: Some("/extra"),
            }],
            verification_urls: None,
            tracing: None,
            tls: None,
        };
        let plain = gateway_yaml(&spec);
        assert!(
            plain.contains("proxy_listen: \"127.0.0.1:9500\""),
            "{plain}"
        );
        assert!(plain.contains("url: http://svc_pool\n"), "{plain}");
        assert!(
            plain.contains("- name: svc_extra\n        paths: [/extra]"),
            "{plain}"
        );
        assert!(
            plain.contains("      - target: 127.0.0.1:9202\n"),
            "{plain}"
        );
        assert!(!plain.contains("plugins"), "{plain}");
        assert!(!plain.contains("certificates"), "{plain}");
        spec.verification_urls = Some(vec!["http://127.0.0.1:9201/verify/apikey".into()]);
        let keyed = gateway_yaml(&spec);
        assert!(
            keyed.ends_with("verification_urls:\n        - http://127.0.0.1:9201/verify/apikey\n"),
            "{keyed}"
        );
        spec.tracing = Some(("http://127.0.0.1:9201/v1/traces".into(), 0.01));
        let traced = gateway_yaml(&spec);
        assert!(
            traced.ends_with(
                "        - http://127.0.0.1:9201/verify/apikey\n  - name: opentelemetry\n    config:\n      \
                 traces_endpoint: http://127.0.0.1:9201/v1/traces\n      sampling_rate: 0.01\n"
            ),
            "{traced}"
        );
        assert_eq!(traced.matches("plugins:").count(), 1, "{traced}");
        spec.tls = Some((9443, certificate()));
        let tls = gateway_yaml(&spec);
        assert!(
            tls.contains(
                "  proxy_listen_tls: \"127.0.0.1:9443\"\ncertificates:\n  - id: bench\n    cert: |\n      \
                 -----BEGIN CERTIFICATE-----\n      MIIB\n      -----END CERTIFICATE-----\n    key: |\n      \
                 -----BEGIN PRIVATE KEY-----\n"
            ),
            "{tls}"
        );
        assert!(
            tls.contains("-----END PRIVATE KEY-----\nservices:\n"),
            "{tls}"
        );
    }
}
