//! Plugin configs, consumers and credentials: Kong's defaults for a valid file, and each invalid
//! value refused with its path and line.

use std::time::Duration;

use crate::{
    config::{Config, model::PluginScope, parse, tests::errors},
    plugins::{
        PluginConfig,
        correlation_id::CorrelationIdGenerator,
        rate_limiting::{LimitBy, RateLimitPolicy, RateWindow},
        request_size::SizeUnit,
    },
};

/// A file with one global plugin `name` and its `config` (YAML flow mapping), plus `extra`.
fn file(name: &str, config: &str, extra: &str) -> String {
    format!("_format_version: \"3.0\"\nplugins:\n  - name: {name}\n    config: {config}\n{extra}")
}

fn valid(text: &str) -> Config {
    parse(text, "test.yml").unwrap_or_else(|errors| panic!("{errors}\n{text}"))
}

/// Asserts that `text` is refused with an error `<path> @<line>: <message…>`.
fn assert_refused(text: &str, expected: &str) {
    let lines = errors(text);
    assert!(
        lines.iter().any(|line| line.starts_with(expected)),
        "expected an error starting with {expected:?}, got {lines:#?}"
    );
}

fn only_plugin(config: &Config) -> &PluginConfig {
    assert_eq!(config.plugins.len(), 1);
    &config.plugins[0].config
}

#[test]
fn unknown_plugin_lists_what_the_gateway_implements() {
    assert_refused(
        &file("acl", "{}", ""),
        "plugins[0].name @3: unknown plugin \"acl\": this gateway implements opentelemetry, correlation-id, cors, key-auth, apikey-auth-plugin, ip-restriction, request-size-limiting, rate-limiting, response-transformer",
    );
}

#[test]
fn rate_limiting_defaults_follow_kong() {
    let config = valid(&file("rate-limiting", "{minute: 10, hour: 100}", ""));
    let PluginConfig::RateLimiting(settings) = only_plugin(&config) else {
        panic!("rate-limiting")
    };
    assert_eq!(
        settings.limits,
        vec![(RateWindow::Minute, 10), (RateWindow::Hour, 100)]
    );
    assert_eq!(settings.limit_by, LimitBy::Consumer);
    assert_eq!(settings.policy, RateLimitPolicy::Local);
    assert!(settings.fault_tolerant && !settings.hide_client_headers);
    assert_eq!(
        (settings.error_code, settings.error_message.as_str()),
        (429, "API rate limit exceeded")
    );
}

#[test]
fn rate_limiting_redis_reads_the_flat_and_the_nested_form() {
    let flat = valid(&file(
        "rate-limiting",
        "{second: 5, policy: redis, redis_host: 10.0.0.5, redis_port: 6380, redis_password: s3cret, redis_database: 2, redis_timeout: 500}",
        "",
    ));
    let nested = valid(&file(
        "rate-limiting",
        "{second: 5, policy: redis, redis: {host: 10.0.0.5, port: 6380, password: s3cret, database: 2, timeout: 500}, redis_host: 10.0.0.5}",
        "",
    ));
    for config in [&flat, &nested] {
        let PluginConfig::RateLimiting(settings) = only_plugin(config) else {
            panic!("rate-limiting")
        };
        let RateLimitPolicy::Redis(redis) = &settings.policy else {
            panic!("redis policy")
        };
        assert_eq!(
            (redis.host.as_str(), redis.port, redis.database),
            ("10.0.0.5", 6380, 2)
        );
        assert_eq!(redis.timeout, Duration::from_millis(500));
        assert_eq!(redis.password.as_ref().unwrap().expose(), "s3cret");
        assert!(
            !format!("{config:?}").contains("s3cret"),
            "the password never shows in Debug"
        );
    }
    let defaults = valid(&file(
        "rate-limiting",
        "{second: 5, policy: redis, redis: {host: r}}",
        "",
    ));
    let PluginConfig::RateLimiting(settings) = only_plugin(&defaults) else {
        panic!("rate-limiting")
    };
    let RateLimitPolicy::Redis(redis) = &settings.policy else {
        panic!("redis policy")
    };
    assert_eq!(
        (redis.port, redis.database, redis.timeout),
        (6379, 0, Duration::from_secs(2))
    );
}

#[test]
fn rate_limiting_invalid_values_name_their_field() {
    let cases = [
        (
            "{minute: 0}",
            "plugins[0].config.minute @4: must be greater than 0",
        ),
        (
            "{minute: -3}",
            "plugins[0].config.minute @4: must be greater than 0",
        ),
        ("{minute: ten}", "plugins[0].config.minute @4: invalid type"),
        (
            "{limit_by: ip}",
            "plugins[0].config @4: at least one of second, minute",
        ),
        (
            "{second: 10, minute: 5}",
            "plugins[0].config.minute @4: the limit for minute (5) cannot be lower than the limit for second (10)",
        ),
        (
            "{minute: 1, limit_by: user}",
            "plugins[0].config.limit_by @4: expected one of",
        ),
        (
            "{minute: 1, limit_by: header}",
            "plugins[0].config.header_name @4: required when limit_by is header",
        ),
        (
            "{minute: 1, policy: cluster}",
            "plugins[0].config.policy @4: policy \"cluster\" needs",
        ),
        (
            "{minute: 1, policy: redis}",
            "plugins[0].config.redis.host @4: required when policy is redis",
        ),
        (
            "{minute: 1, policy: redis, redis_host: a, redis: {host: b}}",
            "plugins[0].config.redis_host @4: conflicts with plugins[0].config.redis.host",
        ),
        (
            "{minute: 1, policy: redis, redis: {host: a, ssl: true}}",
            "plugins[0].config.redis.ssl @4: TLS to Redis",
        ),
        (
            "{minute: 1, policy: redis, redis: {host: a, sentinel_role: master}}",
            "plugins[0].config.redis.sentinel_role @4: unknown field",
        ),
        (
            "{minute: 1, sync_rate: 10}",
            "plugins[0].config.sync_rate @4: only -1",
        ),
        (
            "{minute: 1, error_code: 42}",
            "plugins[0].config.error_code @4: 42 is not an HTTP status",
        ),
        (
            "{minute: 1, minutes: 2}",
            "plugins[0].config.minutes @4: unknown field `minutes`",
        ),
    ];
    for (config, expected) in cases {
        assert_refused(&file("rate-limiting", config, ""), expected);
    }
}

#[test]
fn rate_limiting_error_lines_point_at_the_field_in_block_style() {
    let text = "_format_version: \"3.0\"\nplugins:\n  - name: rate-limiting\n    config:\n      minute: 0\n";
    assert_refused(text, "plugins[0].config.minute @5: must be greater than 0");
}

#[test]
fn cors_defaults_follow_kong_and_bad_values_are_refused() {
    let config = valid(&file("cors", "{}", ""));
    let PluginConfig::Cors(settings) = only_plugin(&config) else {
        panic!("cors")
    };
    assert!(settings.origins.is_empty());
    assert_eq!(
        settings.methods,
        [
            "GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"
        ]
    );
    assert!(!settings.credentials && !settings.preflight_continue && settings.allow_origin_absent);

    assert_refused(
        &file("cors", "{origins: ['(unclosed']}", ""),
        "plugins[0].config.origins[0] @4: \"(unclosed\" is not a valid regex",
    );
    assert_refused(
        &file("cors", "{methods: [GET, FETCH]}", ""),
        "plugins[0].config.methods[1] @4: expected one of",
    );
    assert_refused(
        &file("cors", "{max_age: soon}", ""),
        "plugins[0].config.max_age @4: invalid type",
    );
}

#[test]
fn request_size_limiting_defaults_to_128_megabytes() {
    let config = valid(&file("request-size-limiting", "{}", ""));
    let PluginConfig::RequestSizeLimiting(settings) = only_plugin(&config) else {
        panic!("request-size-limiting")
    };
    assert_eq!(settings.size_unit, SizeUnit::Megabytes);
    assert_eq!(settings.limit_bytes(), 128 * 1024 * 1024);
    assert!(!settings.require_content_length);

    assert_refused(
        &file("request-size-limiting", "{size_unit: gigabytes}", ""),
        "plugins[0].config.size_unit @4: expected one of: megabytes, kilobytes, bytes",
    );
    assert_refused(
        &file("request-size-limiting", "{allowed_payload_size: -1}", ""),
        "plugins[0].config.allowed_payload_size @4: invalid value",
    );
}

#[test]
fn correlation_id_defaults_and_the_unsupported_tracker() {
    let config = valid(&file("correlation-id", "{}", ""));
    let PluginConfig::CorrelationId(settings) = only_plugin(&config) else {
        panic!("correlation-id")
    };
    assert_eq!(settings.header_name, "kong-request-id");
    assert_eq!(settings.generator, CorrelationIdGenerator::UuidCounter);
    assert!(!settings.echo_downstream);

    assert_refused(
        &file("correlation-id", "{generator: tracker}", ""),
        "plugins[0].config.generator @4: generator \"tracker\" is not supported",
    );
    assert_refused(
        &file("correlation-id", "{header_name: 'bad header'}", ""),
        "plugins[0].config.header_name @4: \"bad header\" is not a valid header name",
    );
}

#[test]
fn ip_restriction_reads_ips_and_cidrs_and_refuses_garbage() {
    let config = valid(&file(
        "ip-restriction",
        "{allow: [10.0.0.0/8, 192.168.1.7, '2001:db8::/32'], status: 401, message: go away}",
        "",
    ));
    let PluginConfig::IpRestriction(settings) = only_plugin(&config) else {
        panic!("ip-restriction")
    };
    assert_eq!(settings.allow.len(), 3);
    assert_eq!(settings.allow[1].to_string(), "192.168.1.7/32");
    assert_eq!(settings.status, 401);

    assert_refused(
        &file("ip-restriction", "{deny: [10.0.0.0/33]}", ""),
        "plugins[0].config.deny[0] @4: invalid ip or cidr range: \"10.0.0.0/33\"",
    );
    assert_refused(
        &file("ip-restriction", "{allow: []}", ""),
        "plugins[0].config @4: at least one of allow or deny must be non-empty",
    );
    assert_refused(
        &file(
            "ip-restriction",
            "{deny: [1.2.3.4], whitelist: [1.2.3.4]}",
            "",
        ),
        "plugins[0].config.whitelist @4: unknown field `whitelist`",
    );
}

const CONSUMERS: &str = "consumers:
  - username: alice
    keyauth_credentials:
      - key: alice-key
  - username: anon
    custom_id: anonymous-1
keyauth_credentials:
  - consumer: alice
    key: second-key
  - consumer: {username: anon}
    key: anon-key
";

#[test]
fn key_auth_defaults_and_consumers_become_part_of_the_model() {
    let config = valid(&file("key-auth", "{anonymous: anon}", CONSUMERS));
    let PluginConfig::KeyAuth(settings) = only_plugin(&config) else {
        panic!("key-auth")
    };
    assert_eq!(settings.key_names, ["apikey"]);
    assert!(settings.key_in_header && settings.key_in_query && settings.run_on_preflight);
    assert!(!settings.hide_credentials);
    assert_eq!(settings.anonymous, Some(1));
    assert_eq!(config.consumers.len(), 2);
    assert_eq!(config.keyauth_credentials.len(), 3);
    assert_eq!(
        config
            .keyauth_credentials
            .iter()
            .map(|c| (c.key.expose(), c.consumer))
            .collect::<Vec<_>>(),
        [("alice-key", 0), ("second-key", 0), ("anon-key", 1)]
    );
    let again = valid(&file("key-auth", "{}", CONSUMERS));
    assert_eq!(
        config.consumers[0].id, again.consumers[0].id,
        "derived ids are stable across loads"
    );
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("alice-key") && !debug.contains("anon-key"),
        "keys are redacted: {debug}"
    );
}

#[test]
fn key_auth_invalid_values_name_their_field() {
    assert_refused(
        &file("key-auth", "{key_in_body: true}", ""),
        "plugins[0].config.key_in_body @4: key_in_body is not supported",
    );
    assert_refused(
        &file("key-auth", "{anonymous: nobody}", CONSUMERS),
        "plugins[0].config.anonymous @4: unknown consumer \"nobody\"",
    );
    assert_refused(
        &file("key-auth", "{key_names: ['x y']}", ""),
        "plugins[0].config.key_names[0] @4: \"x y\" is not a valid header name",
    );
    assert_refused(
        &file("key-auth", "{key_names: []}", ""),
        "plugins[0].config.key_names @4: needs at least one name",
    );
}

#[test]
fn consumer_and_credential_mistakes_are_refused_without_quoting_keys() {
    let text = "_format_version: \"3.0\"
consumers:
  - username: alice
    keyauth_credentials: [{key: s3cr3t-dup}]
  - username: alice
  - tags: [x]
keyauth_credentials:
  - consumer: ghost
    key: k1
  - consumer: alice
    key: s3cr3t-dup
  - consumer: alice
  - consumer: alice
    key: k3
    ttl: 60
";
    assert_refused(
        text,
        "consumers[1].username @5: duplicate consumer username \"alice\"",
    );
    assert_refused(
        text,
        "consumers[2] @6: at least one of username or custom_id is required",
    );
    assert_refused(
        text,
        "keyauth_credentials[0].consumer @8: unknown consumer [\"ghost\"]",
    );
    assert_refused(
        text,
        "keyauth_credentials[1].key @11: duplicate key (the same key is already used at consumers[0].keyauth_credentials[0])",
    );
    assert_refused(
        text,
        "keyauth_credentials[2].key @12: required field missing",
    );
    assert_refused(text, "keyauth_credentials[3].ttl @15: ttl is not supported");
    let errors = parse(text, "t").unwrap_err().to_string();
    assert!(!errors.contains("s3cr3t"), "no key in messages: {errors}");
}

#[test]
fn scoped_plugins_of_every_kind_resolve() {
    let text = "_format_version: \"3.0\"
services:
  - name: s
    url: http://127.0.0.1:9000
    plugins:
      - name: cors
    routes:
      - name: r
        paths: [/r]
        plugins:
          - name: rate-limiting
            config: {second: 1}
plugins:
  - name: correlation-id
  - name: request-size-limiting
    route: r
";
    let config = valid(text);
    let scopes: Vec<(&str, PluginScope)> =
        config.plugins.iter().map(|p| (p.name(), p.scope)).collect();
    assert!(scopes.contains(&("cors", PluginScope::Service(0))));
    assert!(scopes.contains(&("rate-limiting", PluginScope::Route(0))));
    assert!(scopes.contains(&("correlation-id", PluginScope::Global)));
    assert!(scopes.contains(&("request-size-limiting", PluginScope::Route(0))));
}
