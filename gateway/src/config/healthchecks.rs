//! An upstream's `healthchecks` block: Kong's field names and defaults (every detector off until
//! configured), checked field by field into [`Healthchecks`].

use std::{collections::BTreeMap, time::Duration};

use serde::Deserialize;

use super::model::{
    ActiveHealthcheck, Healthchecks, HealthyRule, PassiveHealthcheck, ProbeKind, UnhealthyRule,
};

/// Kong's default statuses of a healthy active probe.
const ACTIVE_HEALTHY_STATUSES: &[u16] = &[200, 302];
/// Kong's default statuses of a failed active probe.
const ACTIVE_UNHEALTHY_STATUSES: &[u16] = &[429, 404, 500, 501, 502, 503, 504, 505];
/// Kong's default statuses of a successful proxied response.
const PASSIVE_HEALTHY_STATUSES: &[u16] = &[
    200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308,
];
/// Kong's default statuses of a failed proxied response.
const PASSIVE_UNHEALTHY_STATUSES: &[u16] = &[429, 500, 503];
/// Largest interval or timeout, seconds (Kong's range).
const MAX_SECONDS: f64 = 65_535.0;
/// Largest success/failure counter (Kong's range).
const MAX_COUNTER: u32 = 255;

/// `healthchecks` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthchecks {
    active: Option<RawActive>,
    passive: Option<RawPassive>,
    threshold: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActive {
    #[serde(rename = "type")]
    kind: Option<String>,
    timeout: Option<f64>,
    concurrency: Option<u64>,
    http_path: Option<String>,
    https_sni: Option<String>,
    https_verify_certificate: Option<bool>,
    headers: Option<BTreeMap<String, Vec<String>>>,
    healthy: Option<RawHealthy>,
    unhealthy: Option<RawUnhealthy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPassive {
    #[serde(rename = "type")]
    kind: Option<String>,
    healthy: Option<RawHealthy>,
    unhealthy: Option<RawUnhealthy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealthy {
    interval: Option<f64>,
    http_statuses: Option<Vec<u16>>,
    successes: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnhealthy {
    interval: Option<f64>,
    http_statuses: Option<Vec<u16>>,
    http_failures: Option<u32>,
    tcp_failures: Option<u32>,
    timeouts: Option<u32>,
}

impl Default for Healthchecks {
    fn default() -> Self {
        build(RawHealthchecks::default(), "", &mut |_, _| {})
    }
}

/// Converts `raw` (at `path`), reporting each bad field through `error(path, message)`.
pub fn build(
    raw: RawHealthchecks,
    path: &str,
    error: &mut dyn FnMut(String, String),
) -> Healthchecks {
    let active_path = format!("{path}.active");
    let passive_path = format!("{path}.passive");
    let active = raw.active.unwrap_or_default();
    let passive = raw.passive.unwrap_or_default();
    let kind = probe_kind(active.kind.as_deref(), &active_path, error);
    if let Some(kind) = passive.kind.as_deref()
        && !matches!(kind, "http" | "tcp")
    {
        error(
            format!("{passive_path}.type"),
            format!("unsupported type {kind:?}: expected http or tcp"),
        );
    }
    let http_path = active.http_path.clone().unwrap_or_else(|| "/".to_owned());
    if !http_path.starts_with('/') {
        error(
            format!("{active_path}.http_path"),
            format!("{http_path:?} must start with /"),
        );
    }
    let concurrency = match active.concurrency {
        None => 10,
        Some(0) => {
            error(
                format!("{active_path}.concurrency"),
                "must be at least 1".to_owned(),
            );
            1
        }
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let threshold = raw.threshold.unwrap_or(0.0);
    if !(0.0..=100.0).contains(&threshold) {
        error(
            format!("{path}.threshold"),
            format!("{threshold} is out of range 0..100"),
        );
    }
    Healthchecks {
        active: active_check(active, kind, http_path, concurrency, &active_path, error),
        passive: passive_check(passive, &passive_path, error),
        threshold,
    }
}

/// The active probe's `type`.
fn probe_kind(raw: Option<&str>, path: &str, error: &mut dyn FnMut(String, String)) -> ProbeKind {
    match raw {
        None | Some("http") => ProbeKind::Http,
        Some("https") => ProbeKind::Https,
        Some("tcp") => ProbeKind::Tcp,
        Some(other @ ("grpc" | "grpcs")) => {
            error(
                format!("{path}.type"),
                format!("{other:?} probes are not supported: use http, https or tcp"),
            );
            ProbeKind::Http
        }
        Some(other) => {
            error(
                format!("{path}.type"),
                format!("unknown type {other:?}: expected http, https or tcp"),
            );
            ProbeKind::Http
        }
    }
}

/// Seconds within Kong's range (`default` when unset).
fn seconds(
    value: Option<f64>,
    default: f64,
    field: String,
    error: &mut dyn FnMut(String, String),
) -> Duration {
    let value = value.unwrap_or(default);
    if (0.0..=MAX_SECONDS).contains(&value) {
        Duration::from_secs_f64(value)
    } else {
        error(field, format!("{value} is out of range 0..65535 (seconds)"));
        Duration::ZERO
    }
}

/// The active checks (`kind`, `http_path` and `concurrency` read already).
fn active_check(
    active: RawActive,
    kind: ProbeKind,
    http_path: String,
    concurrency: usize,
    active_path: &str,
    error: &mut dyn FnMut(String, String),
) -> ActiveHealthcheck {
    let timeout = seconds(active.timeout, 1.0, format!("{active_path}.timeout"), error);
    let active_healthy = active.healthy.unwrap_or_default();
    let active_unhealthy = active.unhealthy.unwrap_or_default();
    let healthy_interval = seconds(
        active_healthy.interval,
        0.0,
        format!("{active_path}.healthy.interval"),
        error,
    );
    let unhealthy_interval = seconds(
        active_unhealthy.interval,
        0.0,
        format!("{active_path}.unhealthy.interval"),
        error,
    );
    ActiveHealthcheck {
        kind,
        https_sni: active.https_sni,
        https_verify_certificate: active.https_verify_certificate.unwrap_or(true),
        http_path,
        timeout,
        concurrency,
        headers: active
            .headers
            .unwrap_or_default()
            .into_iter()
            .flat_map(|(name, values)| {
                values
                    .into_iter()
                    .map(move |value| (name.to_ascii_lowercase(), value))
            })
            .collect(),
        healthy: healthy_rule(
            active_healthy,
            healthy_interval,
            ACTIVE_HEALTHY_STATUSES,
            &format!("{active_path}.healthy"),
            error,
        ),
        unhealthy: unhealthy_rule(
            active_unhealthy,
            unhealthy_interval,
            ACTIVE_UNHEALTHY_STATUSES,
            &format!("{active_path}.unhealthy"),
            error,
        ),
    }
}

/// The passive checks: rules over real traffic, without intervals.
fn passive_check(
    passive: RawPassive,
    passive_path: &str,
    error: &mut dyn FnMut(String, String),
) -> PassiveHealthcheck {
    let passive_healthy = passive.healthy.unwrap_or_default();
    let passive_unhealthy = passive.unhealthy.unwrap_or_default();
    for (field, value) in [
        ("healthy.interval", passive_healthy.interval),
        ("unhealthy.interval", passive_unhealthy.interval),
    ] {
        if value.is_some() {
            error(
                format!("{passive_path}.{field}"),
                "passive checks have no interval (they watch real traffic)".to_owned(),
            );
        }
    }
    PassiveHealthcheck {
        healthy: healthy_rule(
            passive_healthy,
            Duration::ZERO,
            PASSIVE_HEALTHY_STATUSES,
            &format!("{passive_path}.healthy"),
            error,
        ),
        unhealthy: unhealthy_rule(
            passive_unhealthy,
            Duration::ZERO,
            PASSIVE_UNHEALTHY_STATUSES,
            &format!("{passive_path}.unhealthy"),
            error,
        ),
    }
}

fn healthy_rule(
    raw: RawHealthy,
    interval: Duration,
    default_statuses: &[u16],
    path: &str,
    error: &mut dyn FnMut(String, String),
) -> HealthyRule {
    HealthyRule {
        interval,
        http_statuses: statuses(raw.http_statuses, default_statuses, path, error),
        successes: counter(raw.successes, &format!("{path}.successes"), error),
    }
}

fn unhealthy_rule(
    raw: RawUnhealthy,
    interval: Duration,
    default_statuses: &[u16],
    path: &str,
    error: &mut dyn FnMut(String, String),
) -> UnhealthyRule {
    UnhealthyRule {
        interval,
        http_statuses: statuses(raw.http_statuses, default_statuses, path, error),
        http_failures: counter(raw.http_failures, &format!("{path}.http_failures"), error),
        tcp_failures: counter(raw.tcp_failures, &format!("{path}.tcp_failures"), error),
        timeouts: counter(raw.timeouts, &format!("{path}.timeouts"), error),
    }
}

fn statuses(
    raw: Option<Vec<u16>>,
    default: &[u16],
    path: &str,
    error: &mut dyn FnMut(String, String),
) -> Vec<u16> {
    let Some(list) = raw else {
        return default.to_vec();
    };
    for (i, status) in list.iter().enumerate() {
        if !(100..=999).contains(status) {
            error(
                format!("{path}.http_statuses[{i}]"),
                format!("{status} is not an HTTP status (100..999)"),
            );
        }
    }
    list
}

fn counter(value: Option<u32>, path: &str, error: &mut dyn FnMut(String, String)) -> u32 {
    match value {
        Some(n) if n > MAX_COUNTER => {
            error(path.to_owned(), format!("{n} is out of range 0..255"));
            MAX_COUNTER
        }
        Some(n) => n,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> (Healthchecks, Vec<(String, String)>) {
        let raw: RawHealthchecks = serde_yaml::from_str(yaml).unwrap();
        let mut errors = Vec::new();
        let checks = build(raw, "upstreams[0].healthchecks", &mut |path, message| {
            errors.push((path, message))
        });
        (checks, errors)
    }

    #[test]
    fn defaults_are_kongs_with_every_detector_off() {
        let (checks, errors) = parse("{}");
        assert!(errors.is_empty());
        assert!(!checks.active.enabled());
        assert!(!checks.passive.enabled());
        assert_eq!(checks.active.http_path, "/");
        assert_eq!(checks.active.timeout, Duration::from_secs(1));
        assert_eq!(checks.active.concurrency, 10);
        assert_eq!(checks.active.healthy.http_statuses, vec![200, 302]);
        assert_eq!(checks.passive.unhealthy.http_statuses, vec![429, 500, 503]);
        assert_eq!(checks, Healthchecks::default());
    }

    #[test]
    fn configured_values_and_fractional_intervals_are_kept() {
        let (checks, errors) = parse(
            "active: {http_path: /health, timeout: 0.5, healthy: {interval: 0.2, successes: 2}, unhealthy: {interval: 0.1, tcp_failures: 1}}\npassive: {unhealthy: {http_failures: 3}}",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert!(checks.active.enabled());
        assert_eq!(checks.active.healthy.interval, Duration::from_millis(200));
        assert_eq!(checks.active.timeout, Duration::from_millis(500));
        assert_eq!(checks.active.healthy.successes, 2);
        assert_eq!(checks.active.unhealthy.tcp_failures, 1);
        assert!(checks.passive.enabled());
    }

    #[test]
    fn https_probes_take_their_sni_and_verify_by_default() {
        let (checks, errors) =
            parse("active: {type: https, https_sni: api.internal, healthy: {interval: 1}}");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(checks.active.kind, ProbeKind::Https);
        assert_eq!(checks.active.https_sni.as_deref(), Some("api.internal"));
        assert!(checks.active.https_verify_certificate);
        let (checks, errors) =
            parse("active: {type: https, https_verify_certificate: false, healthy: {interval: 1}}");
        assert!(errors.is_empty(), "{errors:?}");
        assert!(!checks.active.https_verify_certificate);
        assert_eq!(checks.active.https_sni, None);
    }

    #[test]
    fn out_of_range_values_name_their_field() {
        let (_, errors) = parse(
            "active: {type: grpcs, http_path: health, concurrency: 0, healthy: {interval: -1, http_statuses: [42]}, unhealthy: {timeouts: 300}}\nthreshold: 150",
        );
        let paths: Vec<&str> = errors.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "upstreams[0].healthchecks.active.type",
                "upstreams[0].healthchecks.active.http_path",
                "upstreams[0].healthchecks.active.concurrency",
                "upstreams[0].healthchecks.threshold",
                "upstreams[0].healthchecks.active.healthy.interval",
                "upstreams[0].healthchecks.active.healthy.http_statuses[0]",
                "upstreams[0].healthchecks.active.unhealthy.timeouts",
            ]
        );
    }
}
