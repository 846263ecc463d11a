//! The setup facts of a results file: the machine (cores, memory, kernel), the version of every
//! program measured or used, and the commit measured.

use std::{fs, path::Path, process::Command};

use super::{peers::Found, report::Peer, tools::Tools};
use crate::workspace_root;

/// What the results' setup list says about the machine and the programs, in its order.
pub fn machine_facts(tools: &Tools) -> Vec<(&'static str, String)> {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mut facts = vec![
        ("cores", format!("{cores} ({})", cpu_model())),
        ("memory", memory()),
        ("kernel", version_of(Path::new("uname"), &["-sr"])),
        (
            "nginx",
            version_of(&tools.nginx, &["-v"]).replace("nginx version: ", ""),
        ),
        (
            "HAProxy",
            version_of(&tools.haproxy, &["-v"])
                .split(" - ")
                .next()
                .unwrap_or_default()
                .replace("HAProxy version ", ""),
        ),
    ];
    facts.extend(
        tools
            .peers
            .iter()
            .map(|found| (found.peer.name(), peer_version(found))),
    );
    for (name, tool, args) in [
        ("h2load", &tools.h2load, &["--version"][..]),
        ("OpenSSL", &tools.openssl, &["version"][..]),
    ] {
        if let Some(tool) = tool {
            facts.push((name, version_of(tool, args)));
        }
    }
    facts.extend([
        ("oha", version_of(&tools.oha, &["--version"])),
        ("rustc", version_of(Path::new("rustc"), &["-V"])),
        ("gateway commit", commit()),
    ]);
    facts
}

/// The CPU's model name from `/proc/cpuinfo`.
fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The machine's memory from `/proc/meminfo`: `15.6 GiB`.
fn memory() -> String {
    fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|kib| kib.trim().trim_end_matches(" kB").parse::<u64>().ok())
        })
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.1} GiB", kib as f64 / 1048576.0),
        )
}

/// The checkout's short commit, said to have uncommitted changes when it has.
fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(workspace_root())
            .output()
            .ok()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let mut commit = git(&["rev-parse", "--short", "HEAD"]);
    if !git(&["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        commit.push_str(" (with uncommitted changes)");
    }
    commit
}

/// The first non-empty line a command prints (stdout or stderr), or "unknown".
pub fn version_of(program: &Path, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|out| {
            let text = if out.stdout.is_empty() {
                out.stderr
            } else {
                out.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The peer's version: `1.40.0`.
pub fn peer_version(found: &Found) -> String {
    match found.peer {
        // `/path/envoy  version: <commit>/1.40.0/Clean/RELEASE/BoringSSL`
        Peer::Envoy => {
            let line = version_of(&found.binary, &["--version"]);
            line.split_once("version: ")
                .and_then(|(_, rest)| rest.split('/').nth(1))
                .map_or(line.clone(), str::to_owned)
        }
        // `Version:      3.7.15`
        Peer::Traefik => version_of(&found.binary, &["version"])
            .trim_start_matches("Version:")
            .trim()
            .to_owned(),
        // `2.6.2` (Debian), `v2.8.4 h1:…` (upstream builds)
        Peer::Caddy => version_of(&found.binary, &["version"])
            .split_whitespace()
            .next()
            .unwrap_or("unknown")
            .to_owned(),
        Peer::Nginx | Peer::Haproxy => "unknown".to_owned(),
    }
}
