//! `cargo xtask bench`: the gateway side by side with nginx, HAProxy, Envoy, Traefik and Caddy, in
//! one run.
//!
//! In front of the same two upstream servers (one nginx process), drives `oha` against the
//! upstreams directly; the peer proxies, configured as equivalent proxies (prefix strip, round
//! robin, upstream keepalive, no access log): nginx and HAProxy (required), Envoy, Traefik and
//! Caddy (each where installed; skipped, and said so, where not); two Pingora baselines
//! (loadtest/baselines: `bare_proxy`, what Pingora's `ProxyHttp` engine costs; `core_proxy`,
//! Pingora's HTTP/1 codec without that engine, the floor under the gateway's own engine); and the
//! gateway: plain proxy, with the apikey plugin, and with the opentelemetry plugin at sampling
//! rates 1.0 and 0.01 (issue #18). Then end-to-end blog reads
//! (`/blog/list/latest`) through the same peers and the gateway in front of the real stack
//! (2 auth + 2 blog replicas, NATS, Redis, started as `cargo xtask up` does). Every target runs
//! once per round, in turn; the table reports medians and ratios to every peer. Proxies get equal
//! worker counts (`--workers`). The HTTPS groups run the `/svc` proxying again over TLS 1.3 with one
//! certificate for all (made at each run): HTTP/1.1 keep-alive (oha `--insecure`) and HTTP/2 (h2load),
//! the gateway against nginx and HAProxy.
//! Last, reload under load: 100 rewrites of the gateway's config during one run.
//!
//! Writes `loadtest/results/<date>.md` and `<date>.png` (`<date>-<n>-workers.*` at other worker
//! counts, `-run2`, `-run3`, ... for later runs of the day; `--quick`: under
//! `loadtest/results/tmp/`, overwritten).
//! Everything runs under `data/bench/` (configs, logs, oha reports); every child is stopped at the
//! end, on error and on Ctrl-C.

//!
//! # Layout
//! - `options`: the command line. `tools`: the programs found. `setup`: what a run starts, and its
//!   targets (`target`). `measure`: warm-up and rounds. `reload`: reload under load. `results`,
//!   `document`, `facts`, `report`, `chart`: the results file.
//! - The load generators: `oha`, `h2load` (and `load`, waiting for either); the processes'
//!   usage: `procstat`; their configs: `proxies`, `peers`, `certificate`; setup calls: `http`,
//!   `blog`.

mod blog;
mod certificate;
mod chart;
mod document;
mod facts;
mod h2load;
mod http;
mod load;
mod measure;
mod oha;
mod options;
mod peers;
mod procstat;
mod proxies;
mod reload;
mod report;
mod results;
mod setup;
mod target;
mod tools;

use std::{
    fs,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

pub use options::{BenchOptions, parse_duration};

use crate::{
    children::Children,
    release::{build_release, release_bin},
    workspace_root,
};
use measure::Bench;
use tools::Tools;

/// Runs the whole benchmark and writes the results.
pub fn bench(options: &BenchOptions) -> anyhow::Result<()> {
    let tools = Tools::find()?;
    if !options.no_build {
        println!("building release binaries and the Pingora baselines…");
        build_release(&["--locked", "--bins", "-p", "baselines"])?;
    }
    for binary in [
        "gateway",
        "auth-service",
        "blog-service",
        "bare_proxy",
        "core_proxy",
    ] {
        let path = release_bin(binary);
        anyhow::ensure!(
            path.exists(),
            "{} is missing: run without --no-build",
            path.display()
        );
    }

    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = stop.clone();
    ctrlc::set_handler(move || handler_stop.store(true, Ordering::SeqCst))?;

    let root = workspace_root();
    let work = root.join("data/bench");
    if work.exists() {
        fs::remove_dir_all(&work)?;
    }
    fs::create_dir_all(work.join("oha"))?;
    let mut children = Children::new(work.join("logs"))?;
    let result = run(options, &tools, &work, &mut children, &stop);
    if stop.load(Ordering::SeqCst) {
        println!("\ninterrupted: stopping everything the bench started…");
    }
    drop(children);
    let (markdown, chart) = result?;
    println!("\nwrote {}", markdown.display());
    match chart {
        Ok(path) => println!("wrote {}", path.display()),
        Err(err) => println!("no chart: {err:#}"),
    }
    Ok(())
}

/// Returns the results file and the chart (or why there is none).
fn run(
    options: &BenchOptions,
    tools: &Tools,
    work: &Path,
    children: &mut Children,
    stop: &AtomicBool,
) -> anyhow::Result<(PathBuf, anyhow::Result<PathBuf>)> {
    let setup = setup::start(options, tools, work, children)?;
    let bench = Bench {
        options,
        tools,
        work,
        stop,
    };
    bench.wait_until_answering(&setup.targets, children)?;
    bench.warm_up(&setup.targets)?;
    let rows = bench.rounds(&setup.targets, children)?;
    let [plain_file, extra_file] = &setup.reload_variants;
    let reload = reload::reload_under_load(
        options,
        tools,
        work,
        &setup.plain,
        [plain_file, extra_file],
        &children.log_path("gateway-plain"),
        stop,
    )?;
    results::write_results(options, tools, &rows, &reload)
}
