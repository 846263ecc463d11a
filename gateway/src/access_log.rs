//! The access log: one line per request (route, service, target, status, latencies, request id,
//! bytes), JSON in release builds and a short text line in debug builds.
//!
//! Lines go through a non-blocking writer (`tracing-appender`): the proxy's worker threads only
//! queue a buffer; a dedicated thread writes. The writer is created on first use, after Pingora
//! has (maybe) forked, never before. `_gateway.access_log` picks the destination: `stdout`
//! (default), `off`, or a file path (appended to).

use std::{
    fmt::Write as _,
    io::Write as _,
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    sync::OnceLock,
};

use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};

/// Where access lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// No access log.
    Off,
    /// Standard output.
    Stdout,
    /// A file, appended to.
    File(PathBuf),
}

impl Destination {
    /// Parses `_gateway.access_log`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "off" | "false" => Ok(Self::Off),
            "stdout" | "" => Ok(Self::Stdout),
            path if path.starts_with('/') || path.starts_with('.') => {
                Ok(Self::File(PathBuf::from(path)))
            }
            other => Err(format!(
                "{other:?}: expected \"stdout\", \"off\" or a file path (absolute or ./relative)"
            )),
        }
    }
}

/// Everything one line says about a finished request.
#[derive(Debug)]
pub struct Entry<'a> {
    /// The request id (`X-Kong-Request-Id`).
    pub request_id: &'a str,
    /// The correlation id set by the `correlation-id` plugin, if any.
    pub correlation_id: Option<&'a str>,
    /// The trace id (`opentelemetry`), leading from the line to its trace.
    pub trace_id: Option<&'a str>,
    /// Client address.
    pub client_ip: Option<IpAddr>,
    /// Request method.
    pub method: &'a str,
    /// Request path and query as the client sent them.
    pub uri: &'a str,
    /// Final status (0: no response was sent).
    pub status: u16,
    /// Matched route's name.
    pub route: Option<&'a str>,
    /// Its service's name.
    pub service: Option<&'a str>,
    /// The target the last try went to.
    pub target: Option<SocketAddr>,
    /// Targets tried.
    pub tries: usize,
    /// Whole request, ms.
    pub request_ms: f64,
    /// Upstream's time to answer, ms.
    pub upstream_ms: Option<f64>,
    /// Gateway's time before the upstream call, ms.
    pub proxy_ms: Option<f64>,
    /// Request body bytes read.
    pub bytes_received: usize,
    /// Response body bytes sent.
    pub bytes_sent: usize,
}

/// The access logger of one gateway process.
pub struct AccessLog {
    destination: Destination,
    json: bool,
    writer: OnceLock<Option<(NonBlocking, WorkerGuard)>>,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLog")
            .field("destination", &self.destination)
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}

impl AccessLog {
    /// A logger writing to `destination`; JSON lines when `json`.
    pub fn new(destination: Destination, json: bool) -> Self {
        Self {
            destination,
            json,
            writer: OnceLock::new(),
        }
    }

    /// Whether lines are written at all.
    pub fn enabled(&self) -> bool {
        self.destination != Destination::Off
    }

    /// Queues one line.
    pub fn write(&self, entry: &Entry<'_>) {
        let Some((writer, _guard)) = self.writer.get_or_init(|| self.open()) else {
            return;
        };
        let line = if self.json {
            json_line(entry)
        } else {
            text_line(entry)
        };
        let mut writer = writer.clone();
        // Lossy by design: a full queue drops lines rather than slowing requests down.
        let _ = writer.write_all(line.as_bytes());
    }

    fn open(&self) -> Option<(NonBlocking, WorkerGuard)> {
        let builder = NonBlockingBuilder::default()
            .lossy(true)
            .thread_name("access-log");
        match &self.destination {
            Destination::Off => None,
            Destination::Stdout => Some(builder.finish(std::io::stdout())),
            Destination::File(path) => match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                Ok(file) => Some(builder.finish(file)),
                Err(err) => {
                    tracing::error!(path = %path.display(), error = %err, "cannot open the access log; access lines are dropped");
                    None
                }
            },
        }
    }
}

/// One JSON object per line.
pub fn json_line(entry: &Entry<'_>) -> String {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut value = serde_json::json!({
        "ts": now,
        "request_id": entry.request_id,
        "client_ip": entry.client_ip.map(|ip| ip.to_string()),
        "method": entry.method,
        "uri": entry.uri,
        "status": entry.status,
        "route": entry.route,
        "service": entry.service,
        "target": entry.target.map(|addr| addr.to_string()),
        "tries": entry.tries,
        "latencies": {
            "request": round(entry.request_ms),
            "upstream": entry.upstream_ms.map(round),
            "proxy": entry.proxy_ms.map(round),
        },
        "bytes_received": entry.bytes_received,
        "bytes_sent": entry.bytes_sent,
    });
    if let Some(correlation_id) = entry.correlation_id {
        // Only when the plugin runs, so lines of routes without it stay short.
        value["correlation_id"] = correlation_id.into();
    }
    if let Some(trace_id) = entry.trace_id {
        value["trace_id"] = trace_id.into();
    }
    let mut line = value.to_string();
    line.push('\n');
    line
}

/// A short human-readable line (debug builds).
pub fn text_line(entry: &Entry<'_>) -> String {
    let mut line = String::with_capacity(160);
    let _ = write!(
        line,
        "{} {} {} {} route={} service={} target={} {:.1}ms id={}",
        entry
            .client_ip
            .map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
        entry.method,
        entry.uri,
        entry.status,
        entry.route.unwrap_or("-"),
        entry.service.unwrap_or("-"),
        entry
            .target
            .map_or_else(|| "-".to_owned(), |addr| addr.to_string()),
        entry.request_ms,
        entry.request_id,
    );
    if let Some(correlation_id) = entry.correlation_id {
        let _ = write!(line, " correlation_id={correlation_id}");
    }
    if let Some(trace_id) = entry.trace_id {
        let _ = write!(line, " trace_id={trace_id}");
    }
    line.push('\n');
    line
}

fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry<'static> {
        Entry {
            request_id: "0123456789abcdef0123456789abcdef",
            correlation_id: Some("c-1"),
            trace_id: Some("4bf92f3577b34da6a3ce929d0e0e4736"),
            client_ip: Some("127.0.0.1".parse().unwrap()),
            method: "GET",
            uri: "/blog/x?y=1",
            status: 200,
            route: Some("blog"),
            service: Some("blog"),
            target: Some("127.0.0.1:8201".parse().unwrap()),
            tries: 1,
            request_ms: 1.234_567,
            upstream_ms: Some(1.0),
            proxy_ms: Some(0.2),
            bytes_received: 0,
            bytes_sent: 42,
        }
    }

    #[test]
    fn json_lines_parse_and_carry_every_field() {
        let line = json_line(&entry());
        assert!(line.ends_with('\n'));
        let value: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(value["status"], 200);
        assert_eq!(value["route"], "blog");
        assert_eq!(value["target"], "127.0.0.1:8201");
        assert_eq!(value["correlation_id"], "c-1");
        assert_eq!(value["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(value["latencies"]["request"], 1.235);
        assert_eq!(value["request_id"], "0123456789abcdef0123456789abcdef");
        assert!(value["ts"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn destinations_parse() {
        assert_eq!(Destination::parse("off"), Ok(Destination::Off));
        assert_eq!(Destination::parse("stdout"), Ok(Destination::Stdout));
        assert_eq!(
            Destination::parse("/var/log/gw.log"),
            Ok(Destination::File("/var/log/gw.log".into()))
        );
        assert!(Destination::parse("syslog").is_err());
    }
}
