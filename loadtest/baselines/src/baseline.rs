//! What the benchmark baselines (`bare_proxy`, `core_proxy`) share: their command line
//! (`<listen> <upstream1> <upstream2> [threads]`) and the Pingora server it configures.

use std::net::SocketAddr;

use pingora::server::{Server, configuration::ServerConf};

/// A baseline's command line.
pub struct Baseline {
    /// Where to listen, `host:port`.
    pub listen: String,
    /// The two upstreams, balanced round robin.
    pub upstreams: [SocketAddr; 2],
    /// Worker threads (default 1).
    pub threads: usize,
}

impl Baseline {
    /// The command line of the example called `name`; exits 64 with a usage line when it is wrong.
    pub fn from_args(name: &str) -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let (listen, first, second, threads) = match args.as_slice() {
            [listen, first, second] => (listen, first, second, "1"),
            [listen, first, second, threads] => (listen, first, second, threads.as_str()),
            _ => fail(&format!(
                "usage: {name} <listen> <upstream1> <upstream2> [threads]"
            )),
        };
        let threads = match threads.parse::<usize>() {
            Ok(threads) if threads > 0 => threads,
            _ => fail(&format!("{threads}: threads must be a positive number")),
        };
        let address = |text: &str| -> SocketAddr {
            text.parse()
                .unwrap_or_else(|err| fail(&format!("{text}: {err}")))
        };
        Self {
            listen: listen.clone(),
            upstreams: [address(first), address(second)],
            threads,
        }
    }

    /// A bootstrapped Pingora server with this many threads per service.
    pub fn server(&self) -> Server {
        let conf = ServerConf {
            threads: self.threads,
            ..ServerConf::default()
        };
        let mut server = Server::new_with_opt_and_conf(None, conf);
        server.bootstrap();
        server
    }
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(64)
}
