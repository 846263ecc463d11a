//! CPU time and resident memory of a process under test and its direct children (nginx's workers),
//! read from `/proc`.

use std::{fs, time::Instant};

/// CPU time and memory of a process tree at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sample {
    /// utime + stime of every process, in clock ticks.
    cpu_ticks: u64,
    /// Sum of VmRSS, KiB.
    rss_kib: u64,
}

/// What a process tree used during a measurement.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// CPU time over wall time, in % of one core.
    pub cpu_percent: f64,
    /// Highest resident memory seen, MiB.
    pub peak_rss_mib: f64,
}

/// Measures one process tree between [`Meter::start`] and [`Meter::finish`]; call
/// [`Meter::sample`] now and then to catch the peak memory.
#[derive(Debug)]
pub struct Meter {
    pid: u32,
    ticks_per_second: u64,
    started: Instant,
    first: Sample,
    peak_rss_kib: u64,
}

impl Meter {
    /// Starts measuring `pid` and its children.
    pub fn start(pid: u32, ticks_per_second: u64) -> Self {
        let first = sample(pid);
        Self {
            pid,
            ticks_per_second,
            started: Instant::now(),
            first,
            peak_rss_kib: first.rss_kib,
        }
    }

    /// Reads the memory now, keeping the peak.
    pub fn sample(&mut self) {
        self.peak_rss_kib = self.peak_rss_kib.max(sample(self.pid).rss_kib);
    }

    /// The usage since [`Meter::start`].
    pub fn finish(mut self) -> Usage {
        let last = sample(self.pid);
        self.peak_rss_kib = self.peak_rss_kib.max(last.rss_kib);
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        let cpu_seconds = last.cpu_ticks.saturating_sub(self.first.cpu_ticks) as f64
            / self.ticks_per_second as f64;
        Usage {
            cpu_percent: 100.0 * cpu_seconds / seconds,
            peak_rss_mib: self.peak_rss_kib as f64 / 1024.0,
        }
    }
}

/// `getconf CLK_TCK` (the unit of utime/stime), 100 when it cannot be asked.
pub fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// `pid` and its direct children, summed.
fn sample(pid: u32) -> Sample {
    let mut pids = vec![pid];
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let parent = fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|stat| parse_stat(&stat))
                .map(|(ppid, _)| ppid);
            if parent == Some(pid) {
                pids.push(child);
            }
        }
    }
    pids.iter().fold(Sample::default(), |total, pid| {
        let ticks = fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| parse_stat(&stat))
            .map_or(0, |(_, ticks)| ticks);
        let rss = fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| parse_vm_rss_kib(&status))
            .unwrap_or(0);
        Sample {
            cpu_ticks: total.cpu_ticks + ticks,
            rss_kib: total.rss_kib + rss,
        }
    })
}

/// `(ppid, utime + stime)` from the text of `/proc/<pid>/stat`. The command name (field 2) may hold
/// spaces and parentheses, so fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(u32, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

/// VmRSS in KiB from the text of `/proc/<pid>/status`.
fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let stat = "4242 (nginx: worker (x)) S 4241 4241 4241 0 -1 4194624 163 0 0 0 \
                    117 38 0 0 20 0 1 0 123456 12345678 900 18446744073709551615";
        assert_eq!(parse_stat(stat), Some((4241, 155)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn vm_rss_is_read_in_kib() {
        let status = "Name:\tgateway\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss_kib(status), Some(12345));
        assert_eq!(parse_vm_rss_kib("Name:\tzombie\n"), None);
    }

    #[test]
    fn own_process_has_memory_and_cpu() {
        let mut meter = Meter::start(std::process::id(), ticks_per_second());
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        meter.sample();
        let usage = meter.finish();
        assert!(usage.peak_rss_mib > 0.5, "{usage:?}");
        assert!(usage.cpu_percent >= 0.0, "{usage:?}");
    }
}
