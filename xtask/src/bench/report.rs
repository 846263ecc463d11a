//! From measurements to the results table: medians over rounds, spread, ratios to every peer proxy
//! (nginx, HAProxy, Envoy, Traefik, Caddy: those measured) of the same group, and the Markdown file.

use std::fmt::Write as _;

use super::{oha::Measurement, procstat::Usage};

/// A proxy the gateway is weighed against; each one measured is a reference of the ratios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// nginx (`worker_processes`).
    Nginx,
    /// HAProxy (`nbthread`).
    Haproxy,
    /// Envoy (`--concurrency`); optional.
    Envoy,
    /// Traefik (`GOMAXPROCS`); optional.
    Traefik,
    /// Caddy (`GOMAXPROCS`); optional.
    Caddy,
}

impl Peer {
    /// Every peer, in the order of the table's ratio columns.
    pub const ALL: [Self; 5] = [
        Self::Nginx,
        Self::Haproxy,
        Self::Envoy,
        Self::Traefik,
        Self::Caddy,
    ];

    /// Its name in rows, columns and the chart.
    pub fn name(self) -> &'static str {
        match self {
            Self::Nginx => "nginx",
            Self::Haproxy => "HAProxy",
            Self::Envoy => "Envoy",
            Self::Traefik => "Traefik",
            Self::Caddy => "Caddy",
        }
    }
}

/// What a target is, for the ratios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The upstreams without a proxy: the ceiling.
    Direct,
    /// A peer proxy: a reference of the ratios.
    Peer(Peer),
    /// Anything else measured against the references (the gateway, the bare Pingora proxy).
    Measured,
}

/// The measurements of one target over every round.
#[derive(Debug, Clone)]
pub struct Row {
    /// Shown name.
    pub name: String,
    /// Rows are compared with the references of the same group (`/svc` proxying, blog reads).
    pub group: &'static str,
    /// What it is.
    pub role: Role,
    /// One per round.
    pub rounds: Vec<Measurement>,
    /// CPU and memory of the process under test, one per round (empty when not measured).
    pub usage: Vec<Usage>,
}

/// A row reduced to one line: medians over rounds, errors summed, memory at its peak.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Median requests per second (2xx).
    pub rps: f64,
    /// Half the range of rps over rounds, in % of the median.
    pub rps_spread_percent: f64,
    /// Median of the rounds' p50, ms.
    pub p50_ms: Option<f64>,
    /// Median of the rounds' p99, ms.
    pub p99_ms: Option<f64>,
    /// Failed requests, every round.
    pub errors: u64,
    /// Highest RSS over rounds, MiB.
    pub peak_rss_mib: Option<f64>,
    /// Median CPU, % of one core.
    pub cpu_percent: Option<f64>,
}

/// The median (mean of the middle two for an even count); `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    })
}

/// The `q` quantile (0 to 1) of values sorted ascending, by nearest rank; `None` for no values.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

impl Row {
    /// Reduces the rounds.
    pub fn summary(&self) -> Summary {
        let rps: Vec<f64> = self.rounds.iter().map(|m| m.rps).collect();
        let median_rps = median(&rps).unwrap_or(0.0);
        let (low, high) = rps
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let rps_spread_percent = if median_rps > 0.0 && rps.len() > 1 {
            100.0 * (high - low) / 2.0 / median_rps
        } else {
            0.0
        };
        let p50: Vec<f64> = self.rounds.iter().filter_map(|m| m.p50_ms).collect();
        let p99: Vec<f64> = self.rounds.iter().filter_map(|m| m.p99_ms).collect();
        let cpu: Vec<f64> = self.usage.iter().map(|u| u.cpu_percent).collect();
        Summary {
            rps: median_rps,
            rps_spread_percent,
            p50_ms: median(&p50),
            p99_ms: median(&p99),
            errors: self.rounds.iter().map(|m| m.errors).sum(),
            peak_rss_mib: self.usage.iter().map(|u| u.peak_rss_mib).reduce(f64::max),
            cpu_percent: median(&cpu),
        }
    }
}

/// `value / reference`, when both exist and the reference is not 0.
pub fn ratio(value: Option<f64>, reference: Option<f64>) -> Option<f64> {
    match (value, reference) {
        (Some(value), Some(reference)) if reference > 0.0 => Some(value / reference),
        _ => None,
    }
}

fn or_dash(value: Option<f64>, format: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "—".to_owned(), format)
}

/// The peers that have a row, in [`Peer::ALL`] order.
pub fn peers_present(rows: &[Row]) -> Vec<Peer> {
    Peer::ALL
        .into_iter()
        .filter(|peer| rows.iter().any(|row| row.role == Role::Peer(*peer)))
        .collect()
}

/// The results table (Markdown, also readable in a terminal). Ratios compare each row with every
/// peer's row of its group (one column per peer that has a row at all): rps ratio above 1 and p99
/// ratio below 1 mean "better".
pub fn table(rows: &[Row]) -> String {
    let peers = peers_present(rows);
    let mut out = String::from("| target | rps | ± | p50 ms | p99 ms | errors | RSS MiB | CPU % |");
    for what in ["rps", "p99"] {
        for peer in &peers {
            let _ = write!(out, " {what} ÷ {} |", peer.name());
        }
    }
    out.push_str("\n|---|--:|--:|--:|--:|--:|--:|--:|");
    out.push_str(&"--:|".repeat(2 * peers.len()));
    out.push('\n');
    let reference = |group: &str, peer: Peer| {
        rows.iter()
            .find(|row| row.group == group && row.role == Role::Peer(peer))
            .map(Row::summary)
    };
    let times = |x: f64| format!("{x:.2}×");
    for row in rows {
        let s = row.summary();
        let compared: Vec<(String, String)> = peers
            .iter()
            .map(|&peer| {
                if row.role == Role::Peer(peer) || row.role == Role::Direct {
                    return (String::new(), String::new());
                }
                let reference = reference(row.group, peer);
                (
                    or_dash(ratio(Some(s.rps), reference.map(|r| r.rps)), times),
                    or_dash(ratio(s.p99_ms, reference.and_then(|r| r.p99_ms)), times),
                )
            })
            .collect();
        let _ = write!(
            out,
            "| {} | {:.0} | {:.1}% | {} | {} | {} | {} | {} |",
            row.name,
            s.rps,
            s.rps_spread_percent,
            or_dash(s.p50_ms, |v| format!("{v:.3}")),
            or_dash(s.p99_ms, |v| format!("{v:.3}")),
            s.errors,
            or_dash(s.peak_rss_mib, |v| format!("{v:.1}")),
            or_dash(s.cpu_percent, |v| format!("{v:.0}")),
        );
        for (rps, _) in &compared {
            let _ = write!(out, " {rps} |");
        }
        for (_, p99) in &compared {
            let _ = write!(out, " {p99} |");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(rps: f64, p99: f64, errors: u64) -> Measurement {
        Measurement {
            rps,
            p50_ms: Some(p99 / 4.0),
            p99_ms: Some(p99),
            ok: 1,
            errors,
        }
    }

    fn row(name: &str, role: Role, rounds: Vec<Measurement>) -> Row {
        Row {
            name: name.to_owned(),
            group: "svc",
            role,
            rounds,
            usage: Vec::new(),
        }
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&sorted, 0.50), Some(50.0));
        assert_eq!(percentile(&sorted, 0.99), Some(99.0));
        assert_eq!(percentile(&sorted, 1.0), Some(100.0));
        assert_eq!(percentile(&sorted, 0.0), Some(1.0));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn summary_takes_medians_sums_errors_and_reports_the_spread() {
        let row = Row {
            usage: vec![
                Usage {
                    cpu_percent: 90.0,
                    peak_rss_mib: 20.0,
                },
                Usage {
                    cpu_percent: 95.0,
                    peak_rss_mib: 24.0,
                },
                Usage {
                    cpu_percent: 99.0,
                    peak_rss_mib: 22.0,
                },
            ],
            ..row(
                "gateway",
                Role::Measured,
                vec![
                    measured(900.0, 2.0, 1),
                    measured(1000.0, 1.0, 0),
                    measured(1100.0, 3.0, 2),
                ],
            )
        };
        let s = row.summary();
        assert_eq!(s.rps, 1000.0);
        assert!((s.rps_spread_percent - 10.0).abs() < 1e-9, "{s:?}");
        assert_eq!(s.p99_ms, Some(2.0));
        assert_eq!(s.errors, 3);
        assert_eq!(s.peak_rss_mib, Some(24.0));
        assert_eq!(s.cpu_percent, Some(95.0));
    }

    #[test]
    fn ratios_compare_with_the_references_of_the_same_group() {
        let mut other_group = row(
            "nginx (blog)",
            Role::Peer(Peer::Nginx),
            vec![measured(10.0, 50.0, 0)],
        );
        other_group.group = "blog";
        let rows = vec![
            row("direct", Role::Direct, vec![measured(4000.0, 0.5, 0)]),
            row(
                "nginx",
                Role::Peer(Peer::Nginx),
                vec![measured(2000.0, 1.0, 0)],
            ),
            row(
                "haproxy",
                Role::Peer(Peer::Haproxy),
                vec![measured(2500.0, 0.8, 0)],
            ),
            row("gateway", Role::Measured, vec![measured(1000.0, 2.0, 0)]),
            other_group,
        ];
        let table = table(&rows);
        let gateway = table
            .lines()
            .find(|line| line.starts_with("| gateway "))
            .expect("gateway row");
        assert!(
            gateway.ends_with("| 0.50× | 0.40× | 2.00× | 2.50× |"),
            "{gateway}"
        );
        let nginx = table
            .lines()
            .find(|line| line.starts_with("| nginx |"))
            .expect("nginx row");
        assert!(nginx.ends_with("|  | 0.80× |  | 1.25× |"), "{nginx}");
        let direct = table
            .lines()
            .find(|line| line.starts_with("| direct "))
            .expect("direct row");
        assert!(
            direct.ends_with("|  |  |  |  |"),
            "direct rows have no ratios: {direct}"
        );
    }

    #[test]
    fn every_peer_present_gets_its_ratio_columns() {
        let rows = vec![
            row(
                "nginx",
                Role::Peer(Peer::Nginx),
                vec![measured(2000.0, 1.0, 0)],
            ),
            row(
                "HAProxy",
                Role::Peer(Peer::Haproxy),
                vec![measured(2500.0, 0.8, 0)],
            ),
            row(
                "Caddy",
                Role::Peer(Peer::Caddy),
                vec![measured(500.0, 4.0, 0)],
            ),
            row(
                "Envoy",
                Role::Peer(Peer::Envoy),
                vec![measured(4000.0, 0.4, 0)],
            ),
            row("gateway", Role::Measured, vec![measured(1000.0, 2.0, 0)]),
        ];
        let table = table(&rows);
        let header = table.lines().next().expect("header");
        assert!(
            header.ends_with(
                "| rps ÷ nginx | rps ÷ HAProxy | rps ÷ Envoy | rps ÷ Caddy \
                 | p99 ÷ nginx | p99 ÷ HAProxy | p99 ÷ Envoy | p99 ÷ Caddy |"
            ),
            "columns in Peer::ALL order, none for the absent Traefik: {header}"
        );
        let columns = header.matches('|').count();
        for line in table.lines() {
            assert_eq!(line.matches('|').count(), columns, "{line}");
        }
        let gateway = table
            .lines()
            .find(|line| line.starts_with("| gateway "))
            .expect("gateway row");
        assert!(
            gateway.ends_with("| 0.50× | 0.40× | 0.25× | 2.00× | 2.00× | 2.50× | 5.00× | 0.50× |"),
            "{gateway}"
        );
        let envoy = table
            .lines()
            .find(|line| line.starts_with("| Envoy "))
            .expect("Envoy row");
        assert!(
            envoy.ends_with("| 2.00× | 1.60× |  | 8.00× | 0.40× | 0.50× |  | 0.10× |"),
            "{envoy}"
        );
        assert_eq!(
            peers_present(&rows),
            [Peer::Nginx, Peer::Haproxy, Peer::Envoy, Peer::Caddy]
        );
    }

    #[test]
    fn ratio_needs_a_nonzero_reference() {
        assert_eq!(ratio(Some(1.0), Some(0.0)), None);
        assert_eq!(ratio(None, Some(2.0)), None);
        assert_eq!(ratio(Some(3.0), Some(2.0)), Some(1.5));
    }
}
