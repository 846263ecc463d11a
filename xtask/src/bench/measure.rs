//! Measuring the targets: each answers first, then gets a warm-up, then one run per round (each
//! round starting further into the list) with the usage of its process sampled; the rows of the table.

use std::{path::Path, sync::atomic::AtomicBool, time::Duration};

use process_kit::http_ok_with_headers;

use super::{
    h2load, http, oha,
    options::BenchOptions,
    procstat,
    report::Row,
    target::{Client, Target, slug},
    tools::Tools,
};
use crate::children::Children;

/// Each target gets this much load before its first measured round.
pub const WARM_UP: Duration = Duration::from_secs(1);

/// What every measurement needs: the options, the tools, where reports go and the Ctrl-C flag.
pub struct Bench<'a> {
    pub options: &'a BenchOptions,
    pub tools: &'a Tools,
    /// oha and h2load reports go under `<work>/oha`.
    pub work: &'a Path,
    pub stop: &'a AtomicBool,
}

impl Bench<'_> {
    /// Waits until every target answers 200 by the protocol it is measured with.
    pub fn wait_until_answering(
        &self,
        targets: &[Target],
        children: &mut Children,
    ) -> anyhow::Result<()> {
        for target in targets {
            let headers: Vec<(&str, &str)> = target
                .headers
                .iter()
                .filter_map(|header| header.split_once(": "))
                .collect();
            let over = match target.client {
                Client::Http1 => "",
                Client::Https1 => " over HTTPS/1.1",
                Client::Http2 => " over HTTP/2",
            };
            children.wait_for(
                &format!("{} to answer 200 on {}{over}", target.name, target.url()),
                || match (target.client, &self.tools.curl) {
                    (Client::Http1, _) | (_, None) => {
                        http_ok_with_headers(target.port, &target.path, &headers)
                    }
                    (client, Some(curl)) => {
                        http::curl_get_ok(curl, &target.url(), client == Client::Http2)
                    }
                },
            )?;
        }
        Ok(())
    }

    /// Loads every target for [`WARM_UP`].
    pub fn warm_up(&self, targets: &[Target]) -> anyhow::Result<()> {
        println!(
            "\nwarm-up: {} s per target ({} targets)…",
            WARM_UP.as_secs(),
            targets.len()
        );
        for target in targets {
            let out = self
                .work
                .join("oha")
                .join(format!("warmup-{}", slug(&target.name)));
            self.load(target, WARM_UP, &out, &mut || {})?;
        }
        Ok(())
    }

    /// Every round, every target once: a row per target. Fails when a child exits meanwhile.
    pub fn rounds(&self, targets: &[Target], children: &mut Children) -> anyhow::Result<Vec<Row>> {
        let ticks = procstat::ticks_per_second();
        let mut rows: Vec<Row> = targets
            .iter()
            .map(|target| Row {
                name: target.name.clone(),
                group: target.group,
                role: target.role,
                rounds: Vec::new(),
                usage: Vec::new(),
            })
            .collect();
        let options = self.options;
        for round in 0..options.rounds {
            println!(
                "\nround {}/{}: {} targets × {:?} at {} connections",
                round + 1,
                options.rounds,
                targets.len(),
                options.duration,
                options.connections
            );
            for index in round_order(round, options.rounds, targets.len()) {
                self.measure(round, &targets[index], &mut rows[index], ticks, children)?;
            }
        }
        Ok(rows)
    }

    /// One measured run of `target` in `round` (from 0), added to its `row` and printed; fails
    /// when one of the `children` exited during it.
    fn measure(
        &self,
        round: usize,
        target: &Target,
        row: &mut Row,
        ticks: u64,
        children: &mut Children,
    ) -> anyhow::Result<()> {
        let out = self
            .work
            .join("oha")
            .join(format!("r{}-{}", round + 1, slug(&target.name)));
        let mut meter = target.pid.map(|pid| procstat::Meter::start(pid, ticks));
        let measurement = self.load(target, self.options.duration, &out, &mut || {
            if let Some(meter) = meter.as_mut() {
                meter.sample();
            }
        })?;
        if let Some((name, status)) = children.exited() {
            anyhow::bail!(
                "{name} exited ({status}) during the run; see {}",
                children.log_path(&name).display()
            );
        }
        if let Some(meter) = meter {
            row.usage.push(meter.finish());
        }
        println!(
            "  {:<26} {:>9.0} rps  p99 {:>7} ms  errors {}",
            target.name,
            measurement.rps,
            measurement
                .p99_ms
                .map_or_else(|| "—".to_owned(), |v| format!("{v:.3}")),
            measurement.errors
        );
        row.rounds.push(measurement);
        Ok(())
    }

    /// One run of the load generator of `target` for `duration`, reports at `out`.
    fn load(
        &self,
        target: &Target,
        duration: Duration,
        out: &Path,
        tick: &mut dyn FnMut(),
    ) -> anyhow::Result<oha::Measurement> {
        let url = target.url();
        let headers = target.headers.clone();
        let connections = self.options.connections;
        match (target.client, &self.tools.h2load) {
            (Client::Http2, Some(h2load)) => h2load::run(
                h2load,
                &h2load::Load {
                    url,
                    headers,
                    duration,
                    concurrency: connections,
                },
                out,
                self.stop,
                tick,
            ),
            (Client::Http2, None) => anyhow::bail!("BUG: an HTTP/2 target without h2load"),
            (client, _) => oha::run(
                &self.tools.oha,
                &oha::Load {
                    url,
                    headers,
                    duration,
                    connections,
                    insecure: client == Client::Https1,
                },
                out,
                self.stop,
                tick,
            ),
        }
    }
}

/// The order of `targets` targets in `round` (from 0) of `rounds`: each round starts
/// `targets / rounds` places further in, so that a target's runs are spread over the round (first
/// third, middle, last third) instead of bunched at one place in it, and a drift over a round (the
/// machine warming, memory filling) does not always fall on the same targets.
fn round_order(round: usize, rounds: usize, targets: usize) -> Vec<usize> {
    let offset = round * targets / rounds.max(1);
    (0..targets).map(|step| (step + offset) % targets).collect()
}

#[cfg(test)]
mod tests {
    use super::round_order;

    #[test]
    fn every_round_runs_every_target_once() {
        for round in 0..4 {
            let mut order = round_order(round, 4, 10);
            order.sort_unstable();
            assert_eq!(order, (0..10).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_target_runs_once_in_each_part_of_the_rounds() {
        let rounds: Vec<Vec<usize>> = (0..3).map(|round| round_order(round, 3, 12)).collect();
        for target in 0..12 {
            let mut thirds: Vec<usize> = rounds
                .iter()
                .map(|order| order.iter().position(|t| *t == target).unwrap() / 4)
                .collect();
            thirds.sort_unstable();
            assert_eq!(thirds, [0, 1, 2], "target {target}");
        }
        assert_eq!(round_order(0, 1, 3), vec![0, 1, 2]);
        assert!(round_order(0, 3, 0).is_empty());
    }
}
