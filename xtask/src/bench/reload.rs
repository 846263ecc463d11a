//! Reload under load: during one oha run against the plain gateway, its config file is rewritten
//! 100 times; what the run saw (answers, failures) and how many reloads the gateway counted.

use std::{
    fs,
    path::Path,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use super::{http, oha, options::BenchOptions, proxies::GatewaySpec, tools::Tools};

/// How many times the reload scenario rewrites the gateway's config.
const RELOAD_REWRITES: usize = 100;
/// The shortest gap between two rewrites: the gateway gathers file events for 50 ms before a
/// reload, so closer writes would be seen as one.
const RELOAD_MIN_GAP: Duration = Duration::from_millis(100);

/// What the reload scenario saw.
#[derive(Debug, Clone)]
pub struct ReloadOutcome {
    pub duration: Duration,
    pub measurement: oha::Measurement,
    pub rewrites: usize,
    /// Reloads the gateway counted during the run, and where that number comes from.
    pub reloads: Option<(u64, &'static str)>,
}

/// During one oha run against the plain gateway, replaces its config file 100 times, alternating
/// between the two `variants` (a route and a target added, then removed), each write a temp file
/// renamed over the config as editors do.
pub fn reload_under_load(
    options: &BenchOptions,
    tools: &Tools,
    work: &Path,
    plain: &GatewaySpec,
    variants: [&Path; 2],
    gateway_log: &Path,
    stop: &AtomicBool,
) -> anyhow::Result<ReloadOutcome> {
    let settle = Duration::from_secs(1);
    let gap = ((options.duration.saturating_sub(settle * 2)) / RELOAD_REWRITES as u32)
        .max(RELOAD_MIN_GAP);
    let duration = gap * RELOAD_REWRITES as u32 + settle * 2;
    println!(
        "\nreload under load: {RELOAD_REWRITES} rewrites of the gateway's config, one every {gap:?}, during a {duration:?} run…"
    );
    let texts = [
        fs::read_to_string(variants[0])?,
        fs::read_to_string(variants[1])?,
    ];
    let config = variants[0].to_path_buf();
    let temp = config.with_file_name(".gateway.yml.tmp");
    let reloads_before = reload_count(plain.admin, gateway_log);
    let load = oha::Load {
        url: format!("http://127.0.0.1:{}/svc/ping", plain.listen),
        headers: Vec::new(),
        duration,
        connections: options.connections,
        insecure: false,
    };
    let out = work.join("oha").join("reload");
    let measurement = std::thread::scope(|scope| {
        let writer = scope.spawn(|| -> anyhow::Result<usize> {
            std::thread::sleep(settle);
            for i in 0..RELOAD_REWRITES {
                if stop.load(Ordering::SeqCst) {
                    return Ok(i);
                }
                // the 1st, 3rd, … rewrite adds the extra route and target, the next takes them away
                fs::write(&temp, &texts[(i + 1) % 2])?;
                fs::rename(&temp, &config)?;
                std::thread::sleep(gap);
            }
            Ok(RELOAD_REWRITES)
        });
        let measurement = oha::run(&tools.oha, &load, &out, stop, &mut || {});
        let rewrites = writer
            .join()
            .map_err(|_| anyhow::anyhow!("BUG: the config writer panicked"))?;
        Ok::<_, anyhow::Error>((measurement?, rewrites?))
    });
    let (measurement, rewrites) = measurement?;
    std::thread::sleep(settle);
    let reloads = match (reloads_before, reload_count(plain.admin, gateway_log)) {
        (Some((before, source)), Some((after, _))) => Some((after.saturating_sub(before), source)),
        _ => None,
    };
    Ok(ReloadOutcome {
        duration,
        measurement,
        rewrites,
        reloads,
    })
}

/// The gateway's reload count: the admin API's `GET /status` `reload.count` when it answers, else
/// the reload lines of its log.
fn reload_count(admin: u16, log: &Path) -> Option<(u64, &'static str)> {
    if let Ok(response) = http::request(admin, "GET", "/status", &[], None)
        && response.status == 200
        && let Ok(status) = serde_json::from_str::<serde_json::Value>(&response.body)
        && let Some(count) = status["reload"]["count"].as_u64()
    {
        return Some((count, "admin API GET /status"));
    }
    let log = fs::read_to_string(log).ok()?;
    let count = log
        .lines()
        .filter(|line| line.contains("config reloaded") || line.contains("config refused"))
        .count();
    Some((count as u64, "gateway log lines"))
}

/// The results' sentence on the reload scenario.
pub fn reload_sentence(reload: &ReloadOutcome, connections: usize) -> String {
    let m = &reload.measurement;
    let seen = reload.reloads.map_or_else(
        || "the number of reloads it saw is unknown".to_owned(),
        |(count, source)| format!("the gateway saw {count} reloads ({source})"),
    );
    format!(
        "Reload under load: {} rewrites of the gateway's config during a {:.0} s run at {connections} connections: \
         {} requests answered 2xx ({:.0} rps), **{} failed**; {seen}.",
        reload.rewrites,
        reload.duration.as_secs_f64(),
        m.ok,
        m.rps,
        m.errors
    )
}
