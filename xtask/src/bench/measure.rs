//! Measuring the targets: each answers first, then gets a warm-up, then one run per round (the
//! order rotated each round) with the usage of its process sampled; the rows of the table.

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
            // Rotate the order each round so that no target always runs first or last.
            for step in 0..targets.len() {
                let index = (step + round) % targets.len();
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
