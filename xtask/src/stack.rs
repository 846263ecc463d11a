//! The services of a local stack, as `cargo xtask up` and `cargo xtask bench` run them: NATS and
//! Redis (reused or started), the RSA keys, the API key and the admin's password (generated on
//! first use, kept under the plan's data directory), the seeded auth database, and two auth and two
//! blog replicas, each waited for until its `/health` answers.
//!
//! Not the gateway: `up` and `bench` each start their own in front of these.

use std::{
    fs,
    io::Read,
    path::{Path, PathBuf},
    process::Command,
};

use process_kit::{Infra, http_ok, listening};

use crate::{apt::ensure_installed, children::Children, release::release_bin, run};

/// The seeded admin user (every role).
pub(crate) const ADMIN_EMAIL: &str = "admin@afteracademy.com";

/// Where the services of a stack keep their data and which ports they use.
#[derive(Debug, Clone)]
pub(crate) struct ServicesPlan {
    /// RSA keys, the API key and the SQLite files.
    pub data: PathBuf,
    /// NATS port on 127.0.0.1.
    pub nats_port: u16,
    /// Redis port on 127.0.0.1.
    pub redis_port: u16,
    /// Use a NATS / Redis already listening on those ports instead of starting one there.
    pub reuse_infra: bool,
    /// The two auth replicas.
    pub auth_ports: [u16; 2],
    /// The two blog replicas.
    pub blog_ports: [u16; 2],
    /// Run the services on this MongoDB instead of SQLite files under `data`.
    pub mongodb_url: Option<String>,
}

/// What the seeded stack's clients need: the API key and the seeded admin's password.
pub(crate) struct StackSecrets {
    pub(crate) api_key: String,
    pub(crate) admin_password: String,
}

/// Starts (or reuses) NATS and Redis, generates the keys and the API key on first use, seeds the
/// auth database, starts the two auth and two blog replicas and waits for their `/health`.
pub(crate) fn start_services(
    plan: &ServicesPlan,
    children: &mut Children,
) -> anyhow::Result<StackSecrets> {
    fs::create_dir_all(&plan.data)?;
    start_infra(plan, children)?;
    let env = ServiceEnv::new(plan)?;
    env.ensure_keys()?;
    let secrets = StackSecrets {
        api_key: secret_file(&plan.data, "api-key", random_hex_32)?,
        admin_password: secret_file(&plan.data, "admin-password", random_password)?,
    };
    env.seed(&secrets)?;
    start_replicas(plan, &env, children)?;
    Ok(secrets)
}

/// Starts NATS and Redis on the plan's ports, or reuses those already listening there when the
/// plan says so; waits until each listens.
fn start_infra(plan: &ServicesPlan, children: &mut Children) -> anyhow::Result<()> {
    for (infra, port) in [
        (Infra::Nats, plan.nats_port),
        (Infra::Redis, plan.redis_port),
    ] {
        let name = infra.name();
        if plan.reuse_infra && listening(port) {
            println!("{name}: reusing the server already on 127.0.0.1:{port}");
            continue;
        }
        let program = ensure_installed(infra.binary())?;
        children.spawn(name, infra.command(&program, port))?;
        children.wait_for(&format!("{name} on :{port}"), || listening(port))?;
        println!(
            "{name}: started on 127.0.0.1:{port} (log: {})",
            children.log_path(name).display()
        );
    }
    Ok(())
}

/// Starts the two auth and two blog replicas, then waits until each `/health` answers.
fn start_replicas(
    plan: &ServicesPlan,
    env: &ServiceEnv,
    children: &mut Children,
) -> anyhow::Result<()> {
    let replicas = [
        ("auth1", "auth", plan.auth_ports[0]),
        ("auth2", "auth", plan.auth_ports[1]),
        ("blog1", "blog", plan.blog_ports[0]),
        ("blog2", "blog", plan.blog_ports[1]),
    ];
    for (name, service, port) in replicas {
        let mut command = Command::new(release_bin(&format!("{service}-service")));
        env.apply(&mut command, service, port);
        children.spawn(name, command)?;
    }
    for (name, _, port) in replicas {
        children.wait_for(&format!("{name} /health"), || http_ok(port, "/health"))?;
    }
    Ok(())
}

/// The environment the auth and blog services of a plan run with (gomicro's variables).
struct ServiceEnv<'a> {
    plan: &'a ServicesPlan,
    keys: PathBuf,
    private_key: PathBuf,
    public_key: PathBuf,
}

impl<'a> ServiceEnv<'a> {
    /// The environment of `plan`'s services; creates the directory of their RSA keys.
    fn new(plan: &'a ServicesPlan) -> anyhow::Result<Self> {
        let keys = plan.data.join("keys");
        fs::create_dir_all(&keys)?;
        Ok(Self {
            plan,
            private_key: keys.join("private.pem"),
            public_key: keys.join("public.pem"),
            keys,
        })
    }

    /// The database URL of `service`: its MongoDB database, or its SQLite file under the data.
    fn database(&self, service: &str) -> String {
        match &self.plan.mongodb_url {
            Some(url) => mongodb_database_url(url, service),
            None => format!(
                "sqlite://{}",
                self.plan.data.join(format!("{service}.db")).display()
            ),
        }
    }

    /// Sets the environment of `service` serving on `port` on `command`.
    fn apply(&self, command: &mut Command, service: &str, port: u16) {
        command
            .env("GO_MODE", "release")
            .env("SERVER_HOST", "127.0.0.1")
            .env("SERVER_PORT", port.to_string())
            .env("DATABASE_URL", self.database(service))
            .env("REDIS_HOST", "127.0.0.1")
            .env("REDIS_PORT", self.plan.redis_port.to_string())
            .env("REDIS_PASSWORD", "")
            .env("REDIS_DB", if service == "auth" { "0" } else { "2" })
            .env("NATS_URL", Infra::Nats.url(self.plan.nats_port))
            .env("NATS_SERVICE_NAME", service)
            .env("NATS_SERVICE_VERSION", "1.0.0")
            .env("RSA_PRIVATE_KEY_PATH", &self.private_key)
            .env("RSA_PUBLIC_KEY_PATH", &self.public_key)
            .env("ACCESS_TOKEN_VALIDITY_SEC", "172800")
            .env("REFRESH_TOKEN_VALIDITY_SEC", "604800")
            .env("TOKEN_ISSUER", "api.goserve.afteracademy.com")
            .env("TOKEN_AUDIENCE", "goserve.afteracademy.com")
            .env("RUST_LOG", "info");
    }

    /// Generates the RSA key pair with `auth-service keygen` unless both files exist.
    fn ensure_keys(&self) -> anyhow::Result<()> {
        if self.private_key.exists() && self.public_key.exists() {
            return Ok(());
        }
        let mut keygen = Command::new(release_bin("auth-service"));
        keygen.arg("keygen");
        self.apply(&mut keygen, "auth", 0);
        run(keygen)?;
        println!("generated RSA keys in {}", self.keys.display());
        Ok(())
    }

    /// Seeds the auth database with `auth-service seed`: roles, the API key and the admin.
    fn seed(&self, secrets: &StackSecrets) -> anyhow::Result<()> {
        let mut seed = Command::new(release_bin("auth-service"));
        seed.args(["seed", "--api-key", &secrets.api_key]);
        self.apply(&mut seed, "auth", 0);
        seed.env("ADMIN_PASSWORD", &secrets.admin_password);
        run(seed)
    }
}

/// A secret of this checkout kept in `data/<name>`: generated once by `generate`, read afterwards.
fn secret_file(
    data: &Path,
    name: &str,
    generate: fn() -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    let path = data.join(name);
    if let Ok(existing) = fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if !existing.is_empty() {
            return Ok(existing);
        }
    }
    let secret = generate()?;
    fs::write(&path, &secret)?;
    Ok(secret)
}

fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// An API key: 32 random hex characters.
fn random_hex_32() -> anyhow::Result<String> {
    Ok(random_bytes::<16>()?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// An admin password: 20 random alphanumerics (the sign-in rules accept 6..100 characters).
fn random_password() -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // 248 = 4 * 62: bytes above it are skipped so every character is equally likely.
    let mut password = String::with_capacity(20);
    while password.len() < 20 {
        for byte in random_bytes::<32>()? {
            if byte < 248 && password.len() < 20 {
                password.push(ALPHABET[usize::from(byte) % ALPHABET.len()] as char);
            }
        }
    }
    Ok(password)
}

/// `mongodb://host/` → `mongodb://host/<service>-dev-db` (gomicro's database names).
fn mongodb_database_url(url: &str, service: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    let mut result = format!("{base}/{service}-dev-db");
    if let Some(query) = query {
        result.push('?');
        result.push_str(query);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::{mongodb_database_url, random_password, secret_file};

    #[test]
    fn mongodb_url_gets_the_gomicro_database_name() {
        assert_eq!(
            mongodb_database_url("mongodb://localhost:27017", "auth"),
            "mongodb://localhost:27017/auth-dev-db"
        );
        assert_eq!(
            mongodb_database_url("mongodb://u:p@h:27017/admin?authSource=admin", "blog"),
            "mongodb://u:p@h:27017/blog-dev-db?authSource=admin"
        );
    }

    #[test]
    fn the_admin_password_is_20_alphanumerics_kept_across_runs() {
        let password = random_password().unwrap();
        assert_eq!(password.len(), 20);
        assert!(
            password.chars().all(|c| c.is_ascii_alphanumeric()),
            "{password}"
        );
        assert_ne!(password, random_password().unwrap());

        let data = tempfile::tempdir().unwrap();
        let first = secret_file(data.path(), "admin-password", random_password).unwrap();
        let again = secret_file(data.path(), "admin-password", random_password).unwrap();
        assert_eq!(first, again, "generated once, then read");
    }
}
