//! Driving `oha` (HTTP load generator) and reading its JSON report.

use std::{
    fs,
    path::Path,
    process::{Command, Stdio},
    sync::atomic::AtomicBool,
    time::Duration,
};

use serde::Deserialize;

/// Shown when oha is missing.
pub const INSTALL_HINT: &str = "oha is not installed: `cargo install oha --locked` (a few minutes)";

/// oha's name for requests still in flight when the duration ends; not failures.
const ABORTED_AT_DEADLINE: &str = "aborted due to deadline";

/// One load run.
#[derive(Debug, Clone)]
pub struct Load {
    /// Full URL.
    pub url: String,
    /// Extra request headers, `name: value`.
    pub headers: Vec<String>,
    /// How long to send requests.
    pub duration: Duration,
    /// Concurrent connections (HTTP/1.1 keepalive).
    pub connections: usize,
    /// `https://` with any certificate accepted (the bench's own, self-signed).
    pub insecure: bool,
}

/// The numbers taken from one oha run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// 2xx responses per second of the run.
    pub rps: f64,
    /// Median latency, ms (`None` when nothing answered).
    pub p50_ms: Option<f64>,
    /// 99th percentile latency, ms.
    pub p99_ms: Option<f64>,
    /// 2xx responses.
    pub ok: u64,
    /// Non-2xx responses plus requests that got no response (refused, reset, timeout).
    pub errors: u64,
}

#[derive(Deserialize)]
struct Report {
    summary: Summary,
    #[serde(rename = "latencyPercentiles")]
    latency_percentiles: Percentiles,
    #[serde(rename = "statusCodeDistribution", default)]
    status_codes: std::collections::BTreeMap<String, u64>,
    #[serde(rename = "errorDistribution", default)]
    errors: std::collections::BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct Summary {
    /// Wall time of the run, seconds.
    total: f64,
}

#[derive(Deserialize)]
struct Percentiles {
    /// Seconds.
    p50: Option<f64>,
    /// Seconds.
    p99: Option<f64>,
}

/// Reads oha's `--output-format json` report. Requests per second count 2xx answers only: oha's
/// own `requestsPerSec` counts connection errors too, which would make a dead proxy look fast.
pub fn parse(json: &str) -> anyhow::Result<Measurement> {
    let report: Report = serde_json::from_str(json)
        .map_err(|err| anyhow::anyhow!("unexpected oha JSON ({err}); is oha 1.x installed?"))?;
    let mut ok = 0;
    let mut errors = 0;
    for (status, count) in &report.status_codes {
        if status.starts_with('2') {
            ok += count;
        } else {
            errors += count;
        }
    }
    errors += report
        .errors
        .iter()
        .filter(|(kind, _)| kind.as_str() != ABORTED_AT_DEADLINE)
        .map(|(_, count)| count)
        .sum::<u64>();
    anyhow::ensure!(report.summary.total > 0.0, "oha reports a run of 0 s");
    Ok(Measurement {
        rps: ok as f64 / report.summary.total,
        p50_ms: report.latency_percentiles.p50.map(|s| s * 1000.0),
        p99_ms: report.latency_percentiles.p99.map(|s| s * 1000.0),
        ok,
        errors,
    })
}

/// Runs oha for `load`, calling `tick` every 100 ms while it runs (to sample the process under
/// test). Its report and stderr are kept as `<out>.json` / `<out>.err`. Returns early with an error
/// when `stop` is set (Ctrl-C); oha is killed then.
pub fn run(
    oha: &Path,
    load: &Load,
    out: &Path,
    stop: &AtomicBool,
    tick: &mut dyn FnMut(),
) -> anyhow::Result<Measurement> {
    let json_path = out.with_extension("json");
    let err_path = out.with_extension("err");
    let mut command = Command::new(oha);
    command
        .args(["--no-tui", "--output-format", "json", "-w"])
        .arg("-z")
        .arg(format!("{}ms", load.duration.as_millis()))
        .arg("-c")
        .arg(load.connections.to_string());
    if load.insecure {
        command.arg("--insecure");
    }
    for header in &load.headers {
        command.arg("-H").arg(header);
    }
    command.arg(&load.url);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(fs::File::create(&json_path)?)
        .stderr(fs::File::create(&err_path)?)
        .spawn()
        .map_err(|err| anyhow::anyhow!("cannot start {}: {err}", oha.display()))?;
    let status = super::load::wait_for_load(&mut child, stop, tick)?;
    anyhow::ensure!(
        status.success(),
        "oha failed ({status}) on {}: {}",
        load.url,
        fs::read_to_string(&err_path).unwrap_or_default().trim()
    );
    parse(&fs::read_to_string(&json_path)?)
        .map_err(|err| anyhow::anyhow!("{err} (report: {})", json_path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts of a real oha 1.16 report that matter (trimmed).
    const HEALTHY: &str = r#"{
      "summary": {"successRate": 1.0, "total": 2.0, "requestsPerSec": 30001.0},
      "latencyPercentiles": {"p10": 0.00003, "p50": 0.000047, "p99": 0.000311, "p99.9": 0.0036},
      "statusCodeDistribution": {"200": 60000},
      "errorDistribution": {"aborted due to deadline": 2}
    }"#;

    #[test]
    fn healthy_run_counts_2xx_per_second_and_ignores_deadline_aborts() {
        let m = parse(HEALTHY).expect("valid report");
        assert_eq!(m.ok, 60000);
        assert_eq!(m.errors, 0);
        assert!((m.rps - 30000.0).abs() < 1e-9, "{m:?}");
        assert!((m.p50_ms.expect("p50") - 0.047).abs() < 1e-9, "{m:?}");
        assert!((m.p99_ms.expect("p99") - 0.311).abs() < 1e-9, "{m:?}");
    }

    #[test]
    fn refused_connections_and_5xx_are_errors_not_throughput() {
        let json = r#"{
          "summary": {"successRate": 0.5, "total": 4.0, "requestsPerSec": 99999.0},
          "latencyPercentiles": {"p50": null, "p99": null},
          "statusCodeDistribution": {"200": 400, "503": 7, "404": 3},
          "errorDistribution": {"Connection refused (os error 111)": 90, "aborted due to deadline": 5}
        }"#;
        let m = parse(json).expect("valid report");
        assert_eq!((m.ok, m.errors), (400, 100));
        assert!((m.rps - 100.0).abs() < 1e-9, "{m:?}");
        assert_eq!((m.p50_ms, m.p99_ms), (None, None));
    }

    #[test]
    fn text_output_is_refused_with_a_hint() {
        let err = parse("Summary:\n  Success rate: 100.00%").expect_err("not JSON");
        assert!(err.to_string().contains("oha"), "{err}");
    }
}
