//! Children with their output in a log file, and signals to them.

use std::{
    fs::File,
    io,
    process::{Child, Command, Stdio},
};

/// Spawns `command` with no stdin and stdout and stderr both going to `log`.
pub fn spawn_logged(command: &mut Command, log: File) -> io::Result<Child> {
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
}

/// Sends `signal` (`"TERM"`, `"HUP"`, …) to the process `pid` with `kill`.
pub fn signal(pid: u32, signal: &str) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .map_err(|err| anyhow::anyhow!("cannot run kill -{signal} {pid}: {err}"))?;
    anyhow::ensure!(status.success(), "kill -{signal} {pid} failed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::{
        io::{Read, Seek},
        process::Command,
    };

    use super::*;

    #[test]
    fn the_log_gets_stdout_and_stderr_and_a_signal_ends_the_child() {
        let mut log = tempfile::tempfile().unwrap();
        let mut echo = Command::new("sh");
        echo.args(["-c", "echo out; echo err >&2"]);
        let status = spawn_logged(&mut echo, log.try_clone().unwrap())
            .unwrap()
            .wait()
            .unwrap();
        assert!(status.success());
        let mut text = String::new();
        log.rewind().unwrap();
        log.read_to_string(&mut text).unwrap();
        assert_eq!(text, "out\nerr\n");

        let mut sleep = Command::new("sleep");
        sleep.arg("30");
        let mut child = spawn_logged(&mut sleep, log).unwrap();
        signal(child.id(), "TERM").unwrap();
        assert!(!child.wait().unwrap().success(), "ended by the signal");
    }
}
