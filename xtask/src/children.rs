//! The processes xtask starts (`up`, `bench`): each with its log file, restarted after a back-off
//! when it exits (for `up`), and stopped on drop, newest first, SIGTERM then SIGKILL.
//!
//! Not the test guards of `testkit` (one child, killed at once): these are long-running stacks a
//! developer watches.

use std::{
    fs,
    path::PathBuf,
    process::{Child, Command},
    time::{Duration, Instant},
};

/// How long the stack may take to become healthy.
const READY_TIMEOUT: Duration = Duration::from_secs(90);
/// A child that ran this long before it exited is restarted after the base back-off again.
const STEADY_RUN: Duration = Duration::from_secs(30);
/// The longest wait before restarting a child that keeps exiting.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a child may take to stop after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Processes started by xtask (`up`, `bench`). Each writes stdout and stderr to `<logs>/<name>.log`
/// and is stopped on drop, newest first: SIGTERM, then SIGKILL after 5 s. [`Children::supervise`]
/// restarts those that exit.
pub(crate) struct Children {
    logs: PathBuf,
    running: Vec<Supervised>,
}

/// One child and what it takes to start it again.
struct Supervised {
    name: String,
    child: Child,
    command: Command,
    started: Instant,
    /// Exits in a row that came before [`STEADY_RUN`]: the back-off doubles with each.
    quick_exits: u32,
    restarts: u32,
    /// When it exited and is waiting for its back-off: when it starts again.
    restart_at: Option<Instant>,
}

impl Children {
    /// No children yet; their logs will go to `logs` (created if missing).
    pub(crate) fn new(logs: PathBuf) -> anyhow::Result<Self> {
        fs::create_dir_all(&logs)?;
        Ok(Self {
            logs,
            running: Vec::new(),
        })
    }

    /// The log file of the child called `name`.
    pub(crate) fn log_path(&self, name: &str) -> PathBuf {
        self.logs.join(format!("{name}.log"))
    }

    /// Starts `command` as `name`; returns its process id.
    pub(crate) fn spawn(&mut self, name: &str, mut command: Command) -> anyhow::Result<u32> {
        let log = fs::File::create(self.log_path(name))?;
        let child = start(name, &mut command, log)?;
        let pid = child.id();
        self.running.push(Supervised {
            name: name.to_owned(),
            child,
            command,
            started: Instant::now(),
            quick_exits: 0,
            restarts: 0,
            restart_at: None,
        });
        Ok(pid)
    }

    /// The first child that has exited, with its status.
    pub(crate) fn exited(&mut self) -> Option<(String, std::process::ExitStatus)> {
        self.running.iter_mut().find_map(|supervised| {
            supervised
                .child
                .try_wait()
                .ok()
                .flatten()
                .map(|status| (supervised.name.clone(), status))
        })
    }

    /// Restarts the children that exited, each after a back-off: `base`, doubled for every exit
    /// in a row that came within [`STEADY_RUN`] of its start, at most [`MAX_BACKOFF`]. Says on
    /// stdout what it does; call it in a loop. The others keep running.
    pub(crate) fn supervise(&mut self, base: Duration) {
        let now = Instant::now();
        for supervised in &mut self.running {
            let log = self.logs.join(format!("{}.log", supervised.name));
            match supervised.restart_at {
                None => supervised.schedule_restart_if_exited(base, now, &log),
                Some(at) if at <= now => supervised.restart(now, &log),
                Some(_) => {}
            }
        }
    }

    /// `name ×count` of every child restarted so far, for the summary line; empty when none was.
    pub(crate) fn restart_summary(&self) -> String {
        self.running
            .iter()
            .filter(|supervised| supervised.restarts > 0)
            .map(|supervised| format!("{} ×{}", supervised.name, supervised.restarts))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Polls `ready` until it holds; fails when a child dies or after [`READY_TIMEOUT`].
    pub(crate) fn wait_for(
        &mut self,
        what: &str,
        mut ready: impl FnMut() -> bool,
    ) -> anyhow::Result<()> {
        let mut exited = None;
        let waited = process_kit::wait_until(what, READY_TIMEOUT, || {
            if ready() {
                return true;
            }
            exited = self.exited();
            exited.is_some()
        });
        if let Some((name, status)) = exited {
            anyhow::bail!(
                "{name} exited ({status}) while waiting for {what}; see {}",
                self.log_path(&name).display()
            );
        }
        waited
    }
}

impl Supervised {
    /// When the child has exited: says so and sets when it starts again.
    fn schedule_restart_if_exited(&mut self, base: Duration, now: Instant, log: &std::path::Path) {
        let Some(status) = self.child.try_wait().ok().flatten() else {
            return;
        };
        if now.duration_since(self.started) >= STEADY_RUN {
            self.quick_exits = 0;
        }
        let backoff = base
            .saturating_mul(1 << self.quick_exits.min(16))
            .min(MAX_BACKOFF);
        self.quick_exits += 1;
        self.restart_at = Some(now + backoff);
        println!(
            "{} exited ({status}); restarting it in {backoff:?} (log: {})",
            self.name,
            log.display()
        );
    }

    /// Starts the child again, its output appended to `log`; on failure tries again after
    /// [`MAX_BACKOFF`].
    fn restart(&mut self, now: Instant, log: &std::path::Path) {
        self.restart_at = None;
        let log = fs::OpenOptions::new().append(true).create(true).open(log);
        match log
            .map_err(anyhow::Error::from)
            .and_then(|log| start(&self.name, &mut self.command, log))
        {
            Ok(child) => {
                self.child = child;
                self.started = now;
                self.restarts += 1;
                println!("{} restarted (restart {})", self.name, self.restarts);
            }
            Err(err) => {
                // Tried again after the next back-off: the old child's status stays.
                println!("{err}");
                self.restart_at = Some(now + MAX_BACKOFF);
            }
        }
    }

    /// SIGTERM, then SIGKILL after [`STOP_GRACE`]; reaps it.
    fn stop(&mut self) {
        let child = &mut self.child;
        if child.try_wait().ok().flatten().is_none() {
            let _ = process_kit::signal(child.id(), "TERM");
        }
        let deadline = Instant::now() + STOP_GRACE;
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if child.try_wait().ok().flatten().is_none() {
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}

/// Starts `command` with its output going to `log`.
fn start(name: &str, command: &mut Command, log: fs::File) -> anyhow::Result<Child> {
    process_kit::spawn_logged(command, log)
        .map_err(|err| anyhow::anyhow!("cannot start {name}: {err}"))
}

impl Drop for Children {
    fn drop(&mut self) {
        for supervised in self.running.iter_mut().rev() {
            supervised.stop();
            println!("stopped {}", supervised.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{
        fs,
        process::Command,
        time::{Duration, Instant},
    };

    #[test]
    fn a_child_that_exits_is_restarted_with_a_back_off_and_the_others_keep_running() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let mut children = super::Children::new(dir.path().join("logs")).unwrap();
        let mut crashing = Command::new("sh");
        crashing
            .arg("-c")
            .arg(format!("echo run >> '{}'; exit 3", runs.display()));
        children.spawn("crashing", crashing).unwrap();
        let mut steady = Command::new("sleep");
        steady.arg("30");
        let steady_pid = children.spawn("steady", steady).unwrap();

        let started = Instant::now();
        let deadline = started + Duration::from_secs(10);
        let run_count = || {
            fs::read_to_string(&runs)
                .map(|text| text.lines().count())
                .unwrap_or(0)
        };
        while run_count() < 4 {
            assert!(Instant::now() < deadline, "runs so far: {}", run_count());
            children.supervise(Duration::from_millis(20));
            std::thread::sleep(Duration::from_millis(5));
        }
        // Back-offs of 20, 40 and 80 ms came before the fourth run.
        assert!(started.elapsed() >= Duration::from_millis(140));
        assert_eq!(children.restart_summary(), "crashing ×3");
        let steady = children
            .running
            .iter_mut()
            .find(|supervised| supervised.name == "steady")
            .unwrap();
        assert_eq!(
            steady.child.id(),
            steady_pid,
            "the steady child was left alone"
        );
        assert!(steady.child.try_wait().unwrap().is_none());
    }
}
