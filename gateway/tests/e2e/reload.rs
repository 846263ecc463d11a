//! Hot reload through the real gateway: under load, with refused files, and on SIGHUP.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use testkit::wait_until_async;

use crate::helpers::{Gateway, Upstream, run_check};

/// A config with the stable route `/stable` over `targets`, plus `/extra-<n>` for each `extras`.
fn config(targets: &[String], extras: &[usize], stable_target: &str) -> String {
    let targets: Vec<String> = targets
        .iter()
        .map(|t| format!("      - target: \"{t}\"\n"))
        .collect();
    let extras: Vec<String> = extras
        .iter()
        .map(|n| format!("      - {{name: extra-{n}, paths: [/extra-{n}]}}\n"))
        .collect();
    format!(
        r#"_format_version: "3.0"
services:
  - name: stable
    url: http://{stable_target}
    routes:
      - {{name: stable, paths: [/stable]}}
  - name: pooled
    url: http://pool
    routes:
      - {{name: pooled, paths: [/pooled]}}
{}upstreams:
  - name: pool
    targets:
{}"#,
        extras.concat(),
        targets.concat()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_rewrites_under_load_fail_no_request_and_each_applies_within_a_second() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let c = Upstream::start("c").await;
    let gateway = Gateway::start(&config(&[a.target(), b.target()], &[], &a.target()));

    // Load: 8 workers alternate /stable and /pooled until 20,000 requests have been sent.
    let sent = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::new();
    let mut workers = Vec::new();
    for worker in 0..8 {
        let (client, sent, failed, done) =
            (client.clone(), sent.clone(), failed.clone(), done.clone());
        let urls = [gateway.url("/stable/x"), gateway.url("/pooled/y")];
        workers.push(tokio::spawn(async move {
            let mut i = worker;
            while sent.fetch_add(1, Ordering::Relaxed) < 20_000 || !done.load(Ordering::Relaxed) {
                let ok =
                    matches!(client.get(&urls[i % 2]).send().await, Ok(r) if r.status() == 200);
                if !ok {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
        }));
    }

    // 50 rewrites: add a route each time, and add/remove the third target.
    let mut slowest = Duration::ZERO;
    for n in 1..=50 {
        let targets = if n % 2 == 0 {
            vec![a.target(), b.target()]
        } else {
            vec![a.target(), b.target(), c.target()]
        };
        let extras: Vec<usize> = (1..=n).collect();
        let written = Instant::now();
        gateway.replace_config(&config(&targets, &extras, &a.target()));
        let url = gateway.url(&format!("/extra-{n}/z"));
        let probe = reqwest::Client::new();
        wait_until_async(&format!("route /extra-{n}"), Duration::from_secs(1), || {
            let (probe, url) = (probe.clone(), url.clone());
            async move { matches!(probe.get(&url).send().await, Ok(r) if r.status() == 200) }
        })
        .await
        .unwrap_or_else(|err| {
            panic!(
                "change {n} did not apply: {err}\n{}",
                gateway.process.logs()
            )
        });
        slowest = slowest.max(written.elapsed());
    }
    done.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }

    let total = sent.load(Ordering::Relaxed);
    assert!(total >= 20_000, "sent {total}");
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "failed requests out of {total}"
    );
    assert!(c.hits() > 0, "the added target received traffic");
    eprintln!(
        "reload under load: {total} requests, 0 failed, slowest change applied in {slowest:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_file_keeps_the_old_config_and_check_reports_the_same_error() {
    let a = Upstream::start("a").await;
    let gateway = Gateway::start(&config(&[a.target()], &[1], &a.target()));
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(gateway.url("/extra-1"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A route pointing at a service that does not exist, and a bad weight.
    let broken = format!(
        "{}routes:\n  - name: lost\n    service: ghost\n    paths: [/lost]\n",
        config(&[a.target()], &[], &a.target()).replace(
            &format!("      - target: \"{}\"\n", a.target()),
            &format!(
                "      - target: \"{}\"\n        weight: 70000\n",
                a.target()
            )
        )
    );
    gateway.replace_config(&broken);
    gateway.wait_for_log("config refused", 1).await;

    assert_eq!(
        client
            .get(gateway.url("/extra-1"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "the old config still routes"
    );
    let logs = gateway.process.logs();
    let (code, check_output) = run_check(&gateway.config_path);
    assert_eq!(code, 1, "{check_output}");
    for expected in [
        "upstreams[0].targets[0].weight: 70000 is out of range 0..65535",
        "routes[0].service: unknown service [\"ghost\"]",
    ] {
        assert!(
            check_output.contains(expected),
            "check names {expected:?}: {check_output}"
        );
        assert!(
            logs.contains(expected),
            "the log names {expected:?}: {logs}"
        );
    }
    assert!(
        check_output.contains("line "),
        "errors carry lines: {check_output}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_file() {
    let a = Upstream::start("a").await;
    let gateway = Gateway::start(&config(&[a.target()], &[], &a.target()));
    gateway
        .wait_for_log("watching the config for changes", 1)
        .await;

    gateway.process.signal("HUP").unwrap();

    gateway
        .wait_for_log("config reloaded source=Signal", 1)
        .await;
    assert_eq!(
        reqwest::get(gateway.url("/stable")).await.unwrap().status(),
        200,
        "still serving"
    );
}

/// A Kubernetes ConfigMap volume as the kubelet lays it out: `gateway.yml -> ..data/gateway.yml`,
/// `..data -> ..<version>`, and updates that write a new `..<version>` directory and swap the
/// `..data` symlink atomically (`..data_tmp` renamed over it), then delete the old directory.
struct ConfigMapVolume {
    dir: std::path::PathBuf,
    version: usize,
}

impl ConfigMapVolume {
    fn new(dir: &std::path::Path, content: &str) -> Self {
        let mut volume = Self {
            dir: dir.to_path_buf(),
            version: 0,
        };
        volume.write_version(content);
        std::os::unix::fs::symlink(volume.version_dir(), dir.join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/gateway.yml", dir.join("gateway.yml")).unwrap();
        volume
    }

    fn version_dir(&self) -> String {
        format!(
            "..2026_12_05_00_00_{:02}.{}",
            self.version,
            1000 + self.version
        )
    }

    fn write_version(&mut self, content: &str) {
        self.version += 1;
        let dir = self.dir.join(self.version_dir());
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("gateway.yml"), content).unwrap();
    }

    /// The kubelet's atomic update.
    fn update(&mut self, content: &str) {
        let old = self.dir.join(self.version_dir());
        self.write_version(content);
        let temp = self.dir.join("..data_tmp");
        std::os::unix::fs::symlink(self.version_dir(), &temp).unwrap();
        std::fs::rename(&temp, self.dir.join("..data")).unwrap();
        std::fs::remove_dir_all(old).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configmap_update_by_symlink_swap_is_picked_up_under_load_and_a_bad_one_refused() {
    let a = Upstream::start("a").await;
    let (port, admin_port) = (testkit::free_port(), testkit::free_port());
    let file = |extras: &[usize]| {
        format!(
            "{}{}",
            crate::helpers::gateway_block(port, admin_port, ""),
            config(&[a.target()], extras, &a.target())
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let mut volume = ConfigMapVolume::new(dir.path(), &file(&[]));
    let config_path = dir.path().join("gateway.yml");
    let gateway = Gateway::start_file(dir, config_path, port, admin_port);

    // Load on the route every version keeps.
    let failed = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::new();
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (client, failed, sent, done) =
            (client.clone(), failed.clone(), sent.clone(), done.clone());
        let url = gateway.url("/stable/x");
        workers.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                sent.fetch_add(1, Ordering::Relaxed);
                if !matches!(client.get(&url).send().await, Ok(r) if r.status() == 200) {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }

    let mut slowest = Duration::ZERO;
    for n in 1..=20 {
        let extras: Vec<usize> = (1..=n).collect();
        let swapped = Instant::now();
        volume.update(&file(&extras));
        let url = gateway.url(&format!("/extra-{n}/z"));
        wait_until_async(&format!("route /extra-{n}"), Duration::from_secs(1), || {
            let (client, url) = (client.clone(), url.clone());
            async move { matches!(client.get(&url).send().await, Ok(r) if r.status() == 200) }
        })
        .await
        .unwrap_or_else(|err| {
            panic!(
                "swap {n} was not picked up: {err}\n{}",
                gateway.process.logs()
            )
        });
        slowest = slowest.max(swapped.elapsed());
    }

    // A bad update is refused and reported; the running config stays.
    volume.update("_format_version: \"3.0\"\nservices: [{name: broken, url: \"not a url\"}]\n");
    gateway.wait_for_log("config refused", 1).await;
    assert_eq!(
        client
            .get(gateway.url("/extra-20/z"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "the running config stayed"
    );
    done.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "failed requests out of {}",
        sent.load(Ordering::Relaxed)
    );
    eprintln!("ConfigMap swaps: 20 applied, slowest in {slowest:?}");
}
