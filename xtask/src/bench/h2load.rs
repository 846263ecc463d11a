//! Driving `h2load` (nghttp2's HTTP/2 load generator, Debian's `nghttp2-client`) and reading what
//! it reports: its summary for the counts, its per-request log for the percentiles (h2load prints
//! only min, max, mean and sd of latency).

use std::{
    fs,
    path::Path,
    process::{Command, Stdio},
    sync::atomic::AtomicBool,
    time::Duration,
};

use super::{oha::Measurement, report::percentile};

/// Shown when h2load is missing.
pub const INSTALL_HINT: &str =
    "h2load is not installed: `apt-get install -y nghttp2-client` (the HTTP/2 group needs it)";

/// Concurrent streams h2load opens on each connection: the group's `--connections` are spread
/// over connections of this many streams, so that the in-flight requests match the other groups.
pub const STREAMS_PER_CONNECTION: usize = 5;

/// One load run.
#[derive(Debug, Clone)]
pub struct Load {
    /// Full `https://` URL (HTTP/2 chosen by ALPN).
    pub url: String,
    /// Extra request headers, `name: value`.
    pub headers: Vec<String>,
    /// How long to send requests.
    pub duration: Duration,
    /// Requests in flight: connections × streams per connection.
    pub concurrency: usize,
}

impl Load {
    /// h2load's connections (`-c`) for this load.
    pub fn connections(&self) -> usize {
        self.concurrency.div_ceil(STREAMS_PER_CONNECTION).max(1)
    }
}

/// Counts of h2load's summary.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Summary {
    /// Seconds, from `finished in 10.00s`.
    seconds: f64,
    succeeded_2xx: u64,
    /// Requests that failed, errored or timed out, plus answers that were not 2xx.
    errors: u64,
}

/// Reads h2load's summary lines:
/// `finished in 10.00s, 35173.20 req/s, 1.24MB/s`,
/// `requests: 100 total, 100 started, 98 done, 97 succeeded, 3 failed, 2 errored, 0 timeout`,
/// `status codes: 97 2xx, 0 3xx, 1 4xx, 0 5xx`.
fn parse_summary(text: &str) -> anyhow::Result<Summary> {
    let line = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix))
            .ok_or_else(|| anyhow::anyhow!("h2load printed no {prefix:?} line:\n{text}"))
    };
    // `<number> <name>` pairs separated by commas.
    let count = |fields: &str, name: &str| -> anyhow::Result<u64> {
        fields
            .split(',')
            .map(str::trim)
            .find_map(|field| field.strip_suffix(name).map(str::trim))
            .and_then(|number| number.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("h2load's {fields:?} has no {name:?} count"))
    };
    let finished = line("finished in ")?;
    let seconds: f64 = finished
        .split(',')
        .next()
        .and_then(|time| time.trim().strip_suffix('s'))
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("unexpected h2load duration: {finished:?}"))?;
    let requests = line("requests:")?;
    let statuses = line("status codes:")?;
    let not_2xx: u64 = ["3xx", "4xx", "5xx"]
        .iter()
        .map(|class| count(statuses, class))
        .sum::<anyhow::Result<u64>>()?;
    let failed = count(requests, "failed")?;
    let errored = count(requests, "errored")?;
    let timeout = count(requests, "timeout")?;
    anyhow::ensure!(seconds > 0.0, "h2load reports a run of 0 s");
    Ok(Summary {
        seconds,
        succeeded_2xx: count(statuses, "2xx")?,
        // h2load counts a non-2xx answer as failed too; errored and timed-out requests got none.
        errors: failed.max(not_2xx) + errored + timeout,
    })
}

/// Latencies of h2load's `--log-file`, in ms, sorted: one line per request, `<start time µs>\t<status>\t<latency µs>`.
fn parse_log(text: &str) -> Vec<f64> {
    let mut latencies: Vec<f64> = text
        .lines()
        .filter_map(|line| line.split('\t').nth(2))
        .filter_map(|micros| micros.trim().parse::<f64>().ok())
        .map(|micros| micros / 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    latencies
}

/// Runs h2load for `load`, calling `tick` every 100 ms while it runs. Its output and per-request
/// log are kept as `<out>.txt` / `<out>.log`. Returns early with an error when `stop` is set.
pub fn run(
    h2load: &Path,
    load: &Load,
    out: &Path,
    stop: &AtomicBool,
    tick: &mut dyn FnMut(),
) -> anyhow::Result<Measurement> {
    let text_path = out.with_extension("txt");
    let log_path = out.with_extension("log");
    let mut command = Command::new(h2load);
    command
        // h2load takes whole seconds only.
        .arg("-D")
        .arg(load.duration.as_secs_f64().round().max(1.0).to_string())
        .arg("-c")
        .arg(load.connections().to_string())
        .arg("-m")
        .arg(STREAMS_PER_CONNECTION.to_string())
        .arg("--log-file")
        .arg(&log_path);
    for header in &load.headers {
        command.arg("-H").arg(header);
    }
    command.arg(&load.url);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(fs::File::create(&text_path)?)
        .stderr(fs::File::create(out.with_extension("err"))?)
        .spawn()
        .map_err(|err| anyhow::anyhow!("cannot start {}: {err}", h2load.display()))?;
    let status = super::load::wait_for_load(&mut child, stop, tick)?;
    let text = fs::read_to_string(&text_path)?;
    anyhow::ensure!(
        status.success(),
        "h2load failed ({status}) on {}: {} {}",
        load.url,
        text.trim(),
        fs::read_to_string(out.with_extension("err"))
            .unwrap_or_default()
            .trim()
    );
    let summary = parse_summary(&text)
        .map_err(|err| anyhow::anyhow!("{err} (output: {})", text_path.display()))?;
    let latencies = parse_log(&fs::read_to_string(&log_path).unwrap_or_default());
    // The log can be large (one line per request); the percentiles are all that is kept.
    let _ = fs::remove_file(&log_path);
    Ok(Measurement {
        rps: summary.succeeded_2xx as f64 / summary.seconds,
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        ok: summary.succeeded_2xx,
        errors: summary.errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// h2load 1.52's output (trimmed to the lines read).
    const HEALTHY: &str = "starting benchmark...\n\
        finished in 10.00s, 35173.20 req/s, 1.24MB/s\n\
        requests: 351732 total, 351782 started, 351732 done, 351732 succeeded, 0 failed, 0 errored, 0 timeout\n\
        status codes: 351732 2xx, 0 3xx, 0 4xx, 0 5xx\n\
        traffic: 12.41MB (13012345) total\n";

    #[test]
    fn healthy_run_counts_2xx_per_second() {
        let summary = parse_summary(HEALTHY).expect("valid output");
        assert_eq!(summary.succeeded_2xx, 351732);
        assert_eq!(summary.errors, 0);
        assert!((summary.seconds - 10.0).abs() < 1e-9, "{summary:?}");
    }

    #[test]
    fn non_2xx_answers_and_failed_requests_are_errors() {
        let text = "finished in 2.50s, 10.00 req/s, 1KB/s\n\
            requests: 40 total, 40 started, 30 done, 25 succeeded, 15 failed, 10 errored, 0 timeout\n\
            status codes: 25 2xx, 0 3xx, 5 4xx, 0 5xx\n";
        let summary = parse_summary(text).expect("valid output");
        assert_eq!((summary.succeeded_2xx, summary.errors), (25, 25));
        assert!((summary.seconds - 2.5).abs() < 1e-9, "{summary:?}");
    }

    #[test]
    fn output_without_a_summary_is_refused() {
        let err = parse_summary("no protocol negotiated\n").expect_err("no summary");
        assert!(err.to_string().contains("finished in"), "{err}");
    }

    #[test]
    fn the_log_gives_sorted_latencies_in_ms() {
        let log = "1700000000000000\t200\t1500\n1700000000000100\t200\t500\n\nbroken line\n";
        assert_eq!(parse_log(log), vec![0.5, 1.5]);
    }

    #[test]
    fn connections_carry_the_concurrency_in_streams() {
        let load = |concurrency| Load {
            url: String::new(),
            headers: Vec::new(),
            duration: Duration::from_secs(1),
            concurrency,
        };
        assert_eq!(load(50).connections(), 10);
        assert_eq!(load(52).connections(), 11);
        assert_eq!(load(1).connections(), 1);
    }
}
