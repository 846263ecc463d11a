//! What a load generator is pointed at: a target (name, group, role in the ratios, port, path,
//! headers, the process whose usage is reported) and the client that loads it.

use super::report::Role;

/// How a target is loaded, and over what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// oha, HTTP/1.1 keep-alive, cleartext.
    Http1,
    /// oha `--insecure`, HTTP/1.1 keep-alive over TLS.
    Https1,
    /// h2load, HTTP/2 over TLS (ALPN `h2`).
    Http2,
}

/// One thing a load generator is pointed at.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub group: &'static str,
    pub role: Role,
    pub port: u16,
    pub path: String,
    /// Request headers, `name: value`.
    pub headers: Vec<String>,
    /// The process whose CPU and memory are reported.
    pub pid: Option<u32>,
    /// What loads it.
    pub client: Client,
}

impl Target {
    /// The URL its load generator requests.
    pub fn url(&self) -> String {
        let scheme = match self.client {
            Client::Http1 => "http",
            Client::Https1 | Client::Http2 => "https",
        };
        format!("{scheme}://127.0.0.1:{}{}", self.port, self.path)
    }

    /// The same target loaded by `client`.
    pub fn over(mut self, client: Client) -> Self {
        self.client = client;
        self
    }
}

/// A target loaded over cleartext HTTP/1.1, with `x-api-key` when `api_key` is given.
#[allow(clippy::too_many_arguments)]
pub fn target(
    name: &str,
    group: &'static str,
    role: Role,
    port: u16,
    path: &str,
    api_key: Option<&str>,
    pid: Option<u32>,
) -> Target {
    Target {
        name: name.to_owned(),
        group,
        role,
        port,
        path: path.to_owned(),
        headers: api_key
            .map(|key| vec![format!("x-api-key: {key}")])
            .unwrap_or_default(),
        pid,
        client: Client::Http1,
    }
}

/// A file-name-safe form of a target name.
pub fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_name_safe() {
        assert_eq!(slug("blog: gateway + apikey"), "blog--gateway---apikey");
    }
}
