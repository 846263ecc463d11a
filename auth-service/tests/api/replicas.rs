//! Two real `auth-service` processes on one SQLite file, one nats-server and one redis-server:
//! concurrent sign-ups (D13, D14), the NATS queue group, and losing a replica.

use std::time::Duration;

use futures::{StreamExt, future::join_all};
use serde_json::{Value, json};
use shared::{
    messages::{Text, User},
    nats::{NatsClient, subjects},
};
use testkit::{ChildGuard, NatsServer, RedisServer, free_port, spawn_bin, wait_until_async};

use crate::helpers::{STARTUP_TIMEOUT, env_vars, send, sqlite_url};

struct Replica {
    process: ChildGuard,
    port: u16,
}

impl Replica {
    /// `http://127.0.0.1:<port>`.
    fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn start_replica(vars: &[(&'static str, String)]) -> Replica {
    let port = free_port();
    let mut vars = vars.to_vec();
    vars.retain(|(name, _)| *name != "SERVER_PORT");
    vars.push(("SERVER_PORT", port.to_string()));
    let process =
        spawn_bin("auth-service", std::iter::empty::<&str>(), &vars).expect("spawn auth-service");
    Replica { process, port }
}

async fn wait_healthy(replica: &mut Replica) {
    replica
        .process
        .wait_http_ok(replica.port, "/health", STARTUP_TIMEOUT)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
}

/// `$SRV.STATS.auth` replies of every instance that answers within the deadline.
async fn stats(client: &async_nats::Client, instances: usize) -> Vec<Value> {
    let inbox = client.new_inbox();
    let mut replies = client.subscribe(inbox.clone()).await.unwrap();
    client
        .publish_with_reply("$SRV.STATS.auth", inbox, "".into())
        .await
        .unwrap();
    let mut found = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while found.len() < instances {
        match tokio::time::timeout_at(deadline, replies.next()).await {
            Ok(Some(message)) => found.push(serde_json::from_slice(&message.payload).unwrap()),
            _ => break,
        }
    }
    found
}

fn profile_requests(stat: &Value) -> u64 {
    stat["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|endpoint| endpoint["subject"] == subjects::PROFILE_USER)
        .and_then(|endpoint| endpoint["num_requests"].as_u64())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_sqlite_file_and_one_nats_queue_group() {
    // Arrange: infrastructure, a seeded database, two replicas
    let nats = NatsServer::start();
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let vars = env_vars(nats.url(), redis.port(), &sqlite_url(dir.path()), 0);
    let mut seed = spawn_bin("auth-service", ["seed"], &vars).unwrap();
    assert!(
        seed.wait().unwrap().success(),
        "seed failed:\n{}",
        seed.logs()
    );
    let mut first = start_replica(&vars);
    let mut second = start_replica(&vars);
    let client = reqwest::Client::new();
    wait_healthy(&mut first).await;
    wait_healthy(&mut second).await;

    // Act: 50 concurrent sign-ups across both replicas, 10 of them with one email
    let requests = (0..50).map(|i| {
        let email = if i < 10 {
            "same@example.com".to_owned()
        } else {
            format!("user{i}@example.com")
        };
        let address = if i % 2 == 0 {
            first.address()
        } else {
            second.address()
        };
        let body = json!({"email": email, "password": "secret1", "name": format!("User {i}")});
        send(client.post(format!("{address}/signup/basic")).json(&body))
    });
    let replies = join_all(requests).await;

    // Assert: exactly one per email succeeds, the others are 400, nothing else
    let same: Vec<_> = replies[..10]
        .iter()
        .map(|r| (r.status, r.message().to_owned()))
        .collect();
    assert_eq!(
        same.iter().filter(|(status, _)| *status == 200).count(),
        1,
        "{same:?}"
    );
    assert!(
        same.iter().all(|(status, message)| *status == 200
            || (*status == 400 && message == "user already registered")),
        "{same:?}"
    );
    for reply in &replies[10..] {
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let user_id = replies[10].body["data"]["user"]["_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Act: NATS requests through the queue group
    let connection = async_nats::connect(nats.url()).await.unwrap();
    let nats_client = NatsClient::new(connection.clone(), Duration::from_secs(3));
    let text = Text { value: user_id };
    let ask = || nats_client.request::<_, User>(subjects::PROFILE_USER, &text);
    for _ in 0..40 {
        assert_eq!(ask().await.unwrap().name, "User 10");
    }
    // Assert: both instances served some
    let instances = stats(&connection, 2).await;
    assert_eq!(instances.len(), 2, "{instances:?}");
    for stat in &instances {
        assert!(
            profile_requests(stat) > 0,
            "an instance served nothing: {instances:?}"
        );
    }

    // Act: kill one replica
    first.process.kill();
    wait_until_async(
        "the surviving replica to answer",
        STARTUP_TIMEOUT,
        || async { ask().await.is_ok() },
    )
    .await
    .unwrap();
    // Assert: every request is answered by the survivor
    for _ in 0..20 {
        assert_eq!(ask().await.expect("survivor answers").name, "User 10");
    }
    assert_eq!(
        stats(&connection, 2).await.len(),
        1,
        "only one instance is left"
    );

    // and the survivor stops gracefully on SIGTERM
    let mut survivor = second.process;
    survivor.signal("TERM").unwrap();
    let status = survivor.wait().unwrap();
    assert!(
        status.success(),
        "graceful exit: {status:?}\n{}",
        survivor.logs()
    );
}

#[tokio::test]
async fn the_binary_lists_every_configuration_problem_and_exits_64() {
    let vars = [
        ("GO_MODE", "loud".to_owned()),
        ("SERVER_PORT", "http".to_owned()),
        ("DATABASE_URL", "postgres://nope".to_owned()),
    ];
    let mut process = spawn_bin("auth-service", ["serve"], &vars).unwrap();
    let status = process.wait().unwrap();
    let logs = process.logs();
    assert_eq!(status.code(), Some(64), "{logs}");
    for expected in [
        "GO_MODE: invalid value \"loud\"",
        "SERVER_PORT: invalid value \"http\"",
        "DATABASE_URL: \"postgres://nope\" must start with sqlite:",
        "TOKEN_AUDIENCE: is required but not set",
    ] {
        assert!(logs.contains(expected), "missing {expected:?} in:\n{logs}");
    }
}
