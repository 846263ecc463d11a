//! Child processes owned by a test: killed on drop, output captured to a temp file.

use std::{
    ffi::OsStr,
    future::Future,
    path::{Path, PathBuf},
    process::{Child, Command},
    time::Duration,
};

use crate::wait::{http_ok, wait_until_async};

/// A child process that is killed (and reaped) when the guard drops.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    child: Option<Child>,
    log: tempfile::NamedTempFile,
}

impl ChildGuard {
    /// Spawns `command` with stdout and stderr going to one temp file.
    pub fn spawn(name: &str, mut command: Command) -> anyhow::Result<Self> {
        let log = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .suffix(".log")
            .tempfile()?;
        let child = process_kit::spawn_logged(&mut command, log.reopen()?)
            .map_err(|err| anyhow::anyhow!("cannot start {name} ({command:?}): {err}"))?;
        Ok(Self {
            name: name.to_owned(),
            child: Some(child),
            log,
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Everything the child printed so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Whether the child has exited, and with what status.
    pub fn try_exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|child| child.try_wait().ok().flatten())
    }

    /// Polls `ready` until it answers true, for at most `timeout`. Fails at once, with the logs,
    /// when the child exits first, and also when it has exited by the time `ready` answers: that
    /// answer came from another process on the port the child could not bind.
    pub async fn wait_ready<F, Fut>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut ready: F,
    ) -> anyhow::Result<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let waited = wait_until_async(what, timeout, || {
            let exited = self.try_exit_status().is_some();
            let answer = ready();
            // An exited child ends the wait too; the check below tells the two apart.
            async move { exited || answer.await }
        })
        .await;
        if let Some(status) = self.try_exit_status() {
            anyhow::bail!(
                "{} exited ({status}) while waiting for {what} (if that answered, another process holds its port)\n{}",
                self.name,
                self.logs()
            );
        }
        waited.map_err(|err| anyhow::anyhow!("{err}\n{}", self.logs()))
    }

    /// [`ChildGuard::wait_ready`] for `GET <path>` on `127.0.0.1:<port>` answering 200.
    pub async fn wait_http_ok(
        &mut self,
        port: u16,
        path: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let what = format!("GET 127.0.0.1:{port}{path} to answer 200");
        self.wait_ready(&what, timeout, || http_ok(port, path))
            .await
    }

    /// Sends `signal` (e.g. `"HUP"`, `"TERM"`) to the child.
    pub fn signal(&self, signal: &str) -> anyhow::Result<()> {
        process_kit::signal(self.pid(), signal)
    }

    /// Kills the child now and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits for the child to exit by itself and returns its status.
    pub fn wait(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        match self.child.take() {
            Some(mut child) => Ok(child.wait()?),
            None => anyhow::bail!("{} was already reaped", self.name),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("----- output of {} -----\n{}", self.name, self.logs());
        }
    }
}

/// Path of the workspace binary `name` built beside the running test (`target/<profile>/<name>`).
pub fn bin_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("BUG: a running test knows its own path");
    // target/<profile>/deps/<test-binary> → target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("BUG: test binaries live in target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --bins` first (cargo test builds only the binary of the crate under test)",
        path.display()
    );
    path
}

/// Spawns the workspace binary `name` with `args` and extra environment `envs`.
pub fn spawn_bin<I, S>(name: &str, args: I, envs: &[(&str, String)]) -> anyhow::Result<ChildGuard>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(bin_path(name));
    command.args(args);
    for (key, value) in envs {
        command.env(key, value);
    }
    ChildGuard::spawn(name, command)
}

#[cfg(test)]
mod tests {
    use super::*;
    use process_kit::POLL_INTERVAL;

    fn shell(script: &str) -> ChildGuard {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        ChildGuard::spawn("sh", command).unwrap()
    }

    #[tokio::test]
    async fn wait_ready_returns_once_a_live_child_is_ready() {
        let mut child = shell("sleep 30");
        let mut polls = 0;
        child
            .wait_ready("the third poll", Duration::from_secs(5), || {
                polls += 1;
                std::future::ready(polls >= 3)
            })
            .await
            .unwrap();
        assert_eq!(polls, 3);
    }

    #[tokio::test]
    async fn wait_ready_fails_at_once_when_the_child_exits_first() {
        let mut child = shell("echo cannot bind; exit 3");
        let started = tokio::time::Instant::now();
        let err = child
            .wait_ready("never", Duration::from_secs(30), || {
                std::future::ready(false)
            })
            .await
            .unwrap_err()
            .to_string();
        assert!(started.elapsed() < Duration::from_secs(10), "{err}");
        assert!(
            err.contains("exited (exit status: 3) while waiting for never"),
            "{err}"
        );
        assert!(
            err.contains("cannot bind"),
            "the logs are in the error: {err}"
        );
    }

    #[tokio::test]
    async fn a_ready_answer_from_a_child_that_has_exited_is_an_error() {
        let mut child = shell("sleep 0.2");
        let stat = format!("/proc/{}/stat", child.pid());
        let err = child
            .wait_ready("/health", Duration::from_secs(10), || {
                let stat = stat.clone();
                // Answers "ready" only once the child is a zombie: exited, not yet reaped.
                async move {
                    loop {
                        let state = std::fs::read_to_string(&stat).unwrap_or_default();
                        if state.contains(") Z ") {
                            return true;
                        }
                        tokio::time::sleep(POLL_INTERVAL).await;
                    }
                }
            })
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "exited (exit status: 0) while waiting for /health (if that answered, another process holds its port)"
            ),
            "{err}"
        );
    }
}
