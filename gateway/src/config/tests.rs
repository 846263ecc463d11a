//! Config parsing and validation: the seed files, defaults, and one test per kind of error.

use std::time::Duration;

use serde::Deserialize;

use super::{
    model::{Algorithm, HashOn, PathPattern, PluginConfig, PluginScope, ServiceTarget},
    parse,
};

const KONG_YML: &str = include_str!("../../tests/fixtures/kong.yml");
const KONG_LB_YML: &str = include_str!("../../tests/fixtures/kong-load-balanced.yml");

/// The errors of `text`, as `"<path> @<line>: <message>"` lines (also the plugins' config tests).
pub(crate) fn errors(text: &str) -> Vec<String> {
    match parse(text, "test.yml") {
        Ok(_) => panic!("expected errors, the config was accepted:\n{text}"),
        Err(errors) => errors
            .errors
            .iter()
            .map(|e| {
                format!(
                    "{} @{}: {}",
                    e.path,
                    e.line.map_or("-".into(), |l| l.to_string()),
                    e.message
                )
            })
            .collect(),
    }
}

fn assert_error(text: &str, expected: &str) {
    let all = errors(text);
    assert!(
        all.iter().any(|line| line.contains(expected)),
        "expected an error containing {expected:?}, got {all:#?}"
    );
}

#[test]
fn seed_kong_yml_loads_with_kong_defaults() {
    let config = parse(KONG_YML, "kong.yml").unwrap();
    assert_eq!(config.format_version, "2.1");
    assert_eq!(config.services.len(), 2);
    let auth = &config.services[0];
    assert_eq!(auth.name, "auth");
    assert_eq!(
        auth.target,
        ServiceTarget::Host {
            host: "auth".into(),
            port: 8000
        }
    );
    assert_eq!(auth.retries, 5);
    assert_eq!(auth.connect_timeout, Duration::from_secs(60));
    let route = &config.routes[0];
    assert_eq!(route.paths, vec![PathPattern::Prefix("/auth".into())]);
    assert!(route.strip_path && !route.preserve_host);
    assert_eq!(route.service, Some(0));
    assert_eq!(config.plugins.len(), 1);
    assert_eq!(config.plugins[0].scope, PluginScope::Global);
    let PluginConfig::ApiKeyAuth(plugin) = &config.plugins[0].config else {
        panic!("expected apikey-auth-plugin")
    };
    assert_eq!(
        plugin.verification_urls[0].url,
        "http://auth:8000/verify/apikey"
    );
    assert_eq!(plugin.cache_ttl, Duration::from_secs(30));
}

#[test]
fn seed_load_balanced_file_resolves_services_to_upstreams() {
    let config = parse(KONG_LB_YML, "kong-load-balanced.yml").unwrap();
    assert_eq!(config.upstreams.len(), 2);
    assert_eq!(config.services[0].target, ServiceTarget::Upstream(0));
    assert_eq!(config.services[1].target, ServiceTarget::Upstream(1));
    let auth = &config.upstreams[0];
    assert_eq!(auth.algorithm, Algorithm::RoundRobin);
    assert_eq!(
        auth.targets
            .iter()
            .map(|t| (t.authority(), t.weight))
            .collect::<Vec<_>>(),
        vec![
            ("auth1:8000".to_owned(), 100),
            ("auth2:8000".to_owned(), 100)
        ]
    );
    let PluginConfig::ApiKeyAuth(plugin) = &config.plugins[0].config else {
        panic!("expected apikey-auth-plugin")
    };
    assert_eq!(plugin.verification_urls.len(), 2);
}

#[test]
fn json_documents_are_accepted_too() {
    let json = r#"{"_format_version":"3.0","services":[{"name":"s","url":"http://127.0.0.1:9000","routes":[{"paths":["/s"]}]}]}"#;
    let config = parse(json, "json").unwrap();
    assert_eq!(config.routes.len(), 1);
}

#[test]
fn legacy_versions_treat_paths_with_regex_characters_as_regexes() {
    let text = "_format_version: \"2.1\"\nservices:\n- name: s\n  url: http://x\n  routes: [{paths: ['/users/\\d+', /plain]}]\n";
    let config = parse(text, "t").unwrap();
    assert_eq!(
        config.routes[0].paths[0],
        PathPattern::Regex("/users/\\d+".into())
    );
    assert_eq!(
        config.routes[0].paths[1],
        PathPattern::Prefix("/plain".into())
    );
    let v3 = text
        .replace("2.1", "3.0")
        .replace("'/users/\\d+'", "'~/users/\\d+'");
    let config = parse(&v3, "t").unwrap();
    assert_eq!(
        config.routes[0].paths[0],
        PathPattern::Regex("/users/\\d+".into())
    );
}

#[test]
fn top_level_routes_targets_and_scoped_plugins_resolve_by_name() {
    let text = r#"_format_version: "3.0"
services:
  - name: s
    host: pool
routes:
  - name: r
    service: s
    paths: [/r]
upstreams:
  - name: pool
    hash_on: header
    hash_on_header: X-User
targets:
  - upstream: pool
    target: 10.0.0.1
plugins:
  - name: apikey-auth-plugin
    route: r
    config: {verification_urls: [http://a/verify]}
"#;
    let config = parse(text, "t").unwrap();
    assert_eq!(config.routes[0].service, Some(0));
    assert_eq!(
        config.upstreams[0].algorithm,
        Algorithm::ConsistentHashing,
        "hash_on implies consistent hashing"
    );
    assert_eq!(config.upstreams[0].hash_on, HashOn::Header("x-user".into()));
    assert_eq!(
        config.upstreams[0].targets[0].port, 8000,
        "target port defaults to 8000"
    );
    assert_eq!(config.plugins[0].scope, PluginScope::Route(0));
}

#[test]
fn every_problem_is_reported_at_once_with_path_and_line() {
    let text = r#"_format_version: "3.0"
services:
  - name: a
    url: http://127.0.0.1:9000
    routes:
      - name: r1
        paths: [/a]
        pathz: [/typo]
  - name: a
    url: http://127.0.0.1:9001
upstreams:
  - name: pool
    targets:
      - target: 10.0.0.1:80
        weight: 70000
"#;
    let all = errors(text);
    assert_eq!(all.len(), 3, "{all:#?}");
    assert!(
        all[0].starts_with("services[0].routes[0].pathz @8: unknown field `pathz`"),
        "{all:#?}"
    );
    assert!(
        all[1].starts_with("services[1].name @9: duplicate service name \"a\""),
        "{all:#?}"
    );
    assert!(
        all[2].starts_with("upstreams[0].targets[0].weight @15: 70000 is out of range"),
        "{all:#?}"
    );
}

#[test]
fn a_host_header_that_is_no_header_value_is_refused() {
    let text = "_format_version: \"3.0\"\nupstreams:\n  - name: pool\n    host_header: \"bad\\u0001host\"\n    targets:\n      - target: 10.0.0.1:80\n";
    assert_error(
        text,
        "upstreams[0].host_header @4: \"bad\\u{1}host\" is not a valid Host header value",
    );
}

#[test]
fn a_target_host_that_is_no_host_name_or_ip_is_refused() {
    let text = "_format_version: \"3.0\"\nupstreams:\n  - name: pool\n    targets:\n      - target: \"bad host:80\"\n      - target: \"[::1]:8080\"\n";
    assert_error(
        text,
        "upstreams[0].targets[0].target @5: invalid target \"bad host:80\": \"bad host\" is not a host name or IP",
    );
    assert_eq!(errors(text).len(), 1, "an IPv6 target is accepted");
}

#[test]
fn missing_or_unknown_format_version_is_refused() {
    assert_error(
        "services: []\n",
        "_format_version @-: required field missing",
    );
    assert_error("_format_version: \"4.0\"\n", "unsupported version \"4.0\"");
}

#[test]
fn invalid_yaml_reports_its_line() {
    assert_error(
        "_format_version: \"3.0\"\nservices:\n  - name: [unclosed\n",
        "not valid YAML or JSON",
    );
    let all = errors("_format_version: \"3.0\"\nservices:\n  - name: [unclosed\n");
    assert!(
        all[0].contains('@') && !all[0].contains("@-"),
        "has a line: {all:?}"
    );
}

#[test]
fn empty_document_is_refused() {
    assert_error("", "expected a declarative configuration");
}

#[test]
fn wrong_types_name_the_field() {
    assert_error(
        "_format_version: \"3.0\"\nservices:\n  - name: s\n    url: http://x\n    retries: many\n",
        "services[0].retries @5: invalid type",
    );
}

#[test]
fn route_pointing_at_a_missing_service_is_refused() {
    assert_error(
        "_format_version: \"3.0\"\nroutes:\n  - name: r\n    service: ghost\n    paths: [/r]\n",
        "routes[0].service @4: unknown service [\"ghost\"]",
    );
}

#[test]
fn service_host_that_is_not_a_host_is_refused() {
    assert_error(
        "_format_version: \"3.0\"\nservices:\n  - name: s\n    host: \"not a host\"\n",
        "services[0].host @4: \"not a host\" is neither an upstream nor a valid host name or IP",
    );
    assert_error(
        "_format_version: \"3.0\"\nservices:\n  - name: s\n    url: \"http://bad host:80\"\n",
        "services[0].url @4: invalid url",
    );
}

#[test]
fn invalid_regex_is_refused_with_its_path() {
    assert_error(
        "_format_version: \"3.0\"\nservices:\n  - name: s\n    url: http://x\n    routes:\n      - paths: ['~/a(']\n",
        "services[0].routes[0].paths[0] @6:",
    );
}

#[test]
fn weight_out_of_range_and_duplicate_targets_are_refused() {
    let text = "_format_version: \"3.0\"\nupstreams:\n  - name: u\n    targets:\n      - {target: 'a:1', weight: -1}\n      - {target: 'b:1'}\n      - {target: 'b:1'}\n";
    assert_error(
        text,
        "upstreams[0].targets[0].weight @5: -1 is out of range 0..65535",
    );
    assert_error(
        text,
        "upstreams[0].targets[2].target @7: duplicate target b:1",
    );
}

#[test]
fn duplicate_route_and_upstream_names_are_refused() {
    let text = "_format_version: \"3.0\"\nservices:\n  - name: s\n    url: http://x\n    routes:\n      - {name: r, paths: [/a]}\n      - {name: r, paths: [/b]}\nupstreams:\n  - name: u\n  - name: u\n";
    assert_error(
        text,
        "services[0].routes[1].name @7: duplicate route name \"r\"",
    );
    assert_error(text, "upstreams[1].name @10: duplicate upstream name \"u\"");
}

#[test]
fn unknown_plugin_and_unknown_plugin_field_are_refused() {
    assert_error(
        "_format_version: \"3.0\"\nplugins:\n  - name: telepathy\n",
        "plugins[0].name @3: unknown plugin \"telepathy\"",
    );
    assert_error(
        "_format_version: \"3.0\"\nplugins:\n  - name: apikey-auth-plugin\n    config:\n      verification_urls: [http://a/v]\n      cache_tll: 5\n",
        "plugins[0].config.cache_tll @6: unknown field `cache_tll`",
    );
    assert_error(
        "_format_version: \"3.0\"\nplugins:\n  - name: apikey-auth-plugin\n    config: {verification_urls: []}\n",
        "plugins[0].config.verification_urls @4: needs at least one URL",
    );
}

#[test]
fn invalid_hosts_methods_and_paths_are_refused() {
    let text = "_format_version: \"3.0\"\nservices:\n  - name: s\n    url: http://x\n    routes:\n      - hosts: ['*.a.*']\n        methods: [get]\n        paths: [api, '/a//b']\n";
    assert_error(text, "services[0].routes[0].hosts[0] @6: invalid host");
    assert_error(
        text,
        "services[0].routes[0].methods[0] @7: invalid method \"get\"",
    );
    assert_error(
        text,
        "services[0].routes[0].paths[0] @8: invalid path \"api\"",
    );
    assert_error(
        text,
        "services[0].routes[0].paths[1] @8: invalid path \"/a//b\"",
    );
}

#[test]
fn bad_listen_address_in_gateway_block_is_refused() {
    assert_error(
        "_format_version: \"3.0\"\n_gateway:\n  proxy_listen: localhost\n",
        "_gateway.proxy_listen @3: invalid listen address",
    );
}

#[test]
fn the_repository_gateway_yml_is_valid() {
    let config = parse(include_str!("../../../gateway.yml"), "gateway.yml").unwrap();
    assert_eq!(config.services.len(), 2);
    assert_eq!(
        config
            .upstreams
            .iter()
            .map(|u| u.targets.len())
            .sum::<usize>(),
        4
    );
    assert_eq!(config.gateway.proxy_listen.port(), 8000);
}

#[test]
fn the_repository_gateway_yml_enables_health_checks_on_both_upstreams() {
    let config = parse(include_str!("../../../gateway.yml"), "gateway.yml").unwrap();
    for upstream in &config.upstreams {
        assert!(upstream.healthchecks.active.enabled(), "{}", upstream.name);
        assert_eq!(upstream.healthchecks.active.http_path, "/health/ready");
    }
}

#[test]
fn the_compose_gateway_yml_is_valid_and_targets_the_replicas_by_name() {
    let config = parse(
        include_str!("../../../deploy/gateway/gateway.yml"),
        "deploy/gateway/gateway.yml",
    )
    .unwrap();
    let mut targets: Vec<String> = config
        .upstreams
        .iter()
        .flat_map(|u| u.targets.iter().map(|t| t.authority()))
        .collect();
    targets.sort();
    assert_eq!(
        targets,
        ["auth1:8000", "auth2:8000", "blog1:8000", "blog2:8000"]
    );
}

#[test]
fn the_kubernetes_configmap_holds_a_valid_gateway_config() {
    let manifests = include_str!("../../../deploy/kubernetes/gateway.yaml");
    let config_map = serde_yaml::Deserializer::from_str(manifests)
        .map(|document| serde_yaml::Value::deserialize(document).unwrap())
        .find(|document| document["kind"] == "ConfigMap")
        .expect("a ConfigMap in deploy/kubernetes/gateway.yaml");
    let text = config_map["data"]["gateway.yml"].as_str().unwrap();
    let config = parse(text, "gateway-config").unwrap_or_else(|errors| panic!("{errors}"));
    assert_eq!(config.routes.len(), 2);
    assert!(config.gateway.proxy_listen_tls.is_some());
    assert!(config.gateway.admin_listen.ip().is_loopback());
}
