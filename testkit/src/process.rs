//! Child processes owned by a test: killed on drop, output captured to a temp file.

use std::{
    ffi::OsStr,
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

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
        let stdout: File = log.reopen()?;
        let stderr: File = log.reopen()?;
        let child = command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
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

    /// Sends `signal` (e.g. `"HUP"`, `"TERM"`) to the child.
    pub fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()?;
        anyhow::ensure!(status.success(), "kill -{signal} {} failed", self.pid());
        Ok(())
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
