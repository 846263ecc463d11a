//! Finding an installed program.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// Debian keeps servers here, often off a user's `PATH`: looked at first.
const SBIN_DIRS: [&str; 2] = ["/usr/sbin", "/usr/local/sbin"];
/// Looked at last, for a `PATH` that lacks them (a test runner's trimmed environment).
const BIN_DIRS: [&str; 2] = ["/usr/bin", "/usr/local/bin"];

/// The path of `binary`: in an sbin directory, else on `PATH` (`command -v`), else in `/usr/bin`
/// or `/usr/local/bin`; `None` when it is in none of them.
pub fn which(binary: &str) -> Option<PathBuf> {
    in_dirs(&SBIN_DIRS, binary)
        .or_else(|| on_path(binary))
        .or_else(|| in_dirs(&BIN_DIRS, binary))
}

fn in_dirs(dirs: &[&str], binary: &str) -> Option<PathBuf> {
    dirs.iter()
        .map(|dir| Path::new(dir).join(binary))
        .find(|path| path.exists())
}

fn on_path(binary: &str) -> Option<PathBuf> {
    let output = Command::new("sh")
        .args(["-c", &format!("command -v {binary}")])
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::which;

    #[test]
    fn which_finds_a_shell_and_not_a_made_up_name() {
        let sh = which("sh").expect("every machine has sh");
        assert!(sh.is_absolute() && sh.exists(), "{}", sh.display());
        assert_eq!(which("no-such-program-anywhere-42"), None);
    }
}
