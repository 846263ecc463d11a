//! The options of `cargo xtask bench` (its command line) and the durations they take.

use std::time::Duration;

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
}
