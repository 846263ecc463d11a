//! Outages under load (issue #14): the real auth-service and blog-service binaries on a redis-server
//! and a nats-server that the test stops and starts again on the same ports, while a few clients
//! loop requests.
//!
//! - Redis stopped: blog reads keep answering 200 from the database, none fails and none waits on
//!   Redis; Redis back: caching resumes without a restart.
//! - NATS stopped: auth sign-in and sign-up keep working; blog calls that need auth get a clear
//!   503 at once (`auth service unavailable, please try again later (nats: timeout)`), not after
//!   `NATS_TIMEOUT_SEC`; NATS back: they succeed again without a restart.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::Method;
use serde_json::{Value, json};
use testkit::wait_until_async;

use crate::{
    health::key_exists,
    helpers::{OwnedServer, assert_error, blog_body, send},
    processes::{ADMIN_EMAIL, ADMIN_PASSWORD, Dependencies, Services},
};

/// `NATS_TIMEOUT_SEC` of both services: an answer well under it did not wait for NATS.
const NATS_TIMEOUT: Duration = Duration::from_secs(5);
/// Concurrent clients of the load.
const CLIENTS: usize = 4;
/// Reads the load must complete while Redis is down.
const READS_DURING_OUTAGE: usize = 300;
/// How long Redis stays down at least: a few of blog's retry intervals (`CACHE_RETRY_INTERVAL`,
/// 1 s), so reads also meet its attempts to reach Redis again.
const REDIS_OUTAGE: Duration = Duration::from_secs(3);
/// Longest a read may take while Redis is down: well under one Redis call's timeout
/// (`CACHE_OP_TIMEOUT`, 500 ms), so no read waited on Redis.
const FAST_READ: Duration = Duration::from_millis(400);
/// How long recoveries and the load's progress may take.
const DEADLINE: Duration = Duration::from_secs(20);

/// Both services and their infrastructure; everything stops on drop.
struct Stack {
    nats: OwnedServer,
    redis: OwnedServer,
    auth_url: String,
    blog_url: String,
    client: reqwest::Client,
    _services: Services,
}

impl Stack {
    /// keygen, seed, then auth and blog, each answering `/health` (every dependency up).
    async fn start() -> Self {
        let mut nats = OwnedServer::nats();
        nats.start();
        let mut redis = OwnedServer::redis();
        redis.start();
        let infra = Dependencies {
            nats_url: nats.url(),
            redis_port: redis.port(),
            nats_timeout: NATS_TIMEOUT,
        };
        let services = Services::start(&infra, DEADLINE, |_| Vec::new()).await;
        Self {
            nats,
            redis,
            auth_url: services.auth_url(),
            blog_url: services.blog_url(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            _services: services,
        }
    }

    async fn blog(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let body = body.map(|body| body.to_string());
        send(&self.client, &self.blog_url, method, path, token, body).await
    }

    async fn auth(&self, path: &str, body: Value) -> (u16, Value) {
        let body = Some(body.to_string());
        send(&self.client, &self.auth_url, Method::POST, path, None, body).await
    }

    /// Signs the seeded admin in; returns `Bearer <access token>`.
    async fn admin_token(&self) -> String {
        let (status, body) = self
            .auth(
                "/signin/basic",
                json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
            )
            .await;
        assert_eq!(status, 200, "admin sign-in: {body}");
        format!(
            "Bearer {}",
            body["data"]["tokens"]["accessToken"].as_str().unwrap()
        )
    }

    /// Creates, submits and publishes a blog with `slug` as `token`; returns its id.
    async fn published_blog(&self, token: &str, slug: &str) -> String {
        let (status, created) = self
            .blog(
                Method::POST,
                "/author/",
                Some(token),
                Some(blog_body(slug, "Outage survival")),
            )
            .await;
        assert_eq!(status, 200, "create: {created}");
        let id = created["data"]["_id"].as_str().unwrap().to_owned();
        for path in [
            format!("/author/submit/id/{id}"),
            format!("/editor/publish/id/{id}"),
        ] {
            let (status, body) = self.blog(Method::PUT, &path, Some(token), None).await;
            assert_eq!(status, 200, "{path}: {body}");
        }
        id
    }
}

/// What the load saw: reads answered, the failures (path, status, body) and the slow reads.
#[derive(Default)]
struct Tally {
    answered: AtomicUsize,
    failures: Mutex<Vec<String>>,
    slow: Mutex<Vec<(String, Duration)>>,
}

/// [`CLIENTS`] tasks looping public reads (`paths` in turn) against `blog_url` until `stop`.
fn start_reads(
    stack: &Stack,
    paths: Vec<String>,
    stop: &Arc<AtomicBool>,
) -> (Arc<Tally>, Vec<tokio::task::JoinHandle<()>>) {
    let tally = Arc::new(Tally::default());
    let tasks = (0..CLIENTS)
        .map(|client_no| {
            let (client, blog_url) = (stack.client.clone(), stack.blog_url.clone());
            let (paths, stop, tally) = (paths.clone(), stop.clone(), tally.clone());
            tokio::spawn(async move {
                for path in paths.iter().cycle().skip(client_no) {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let started = Instant::now();
                    let (status, body) =
                        send(&client, &blog_url, Method::GET, path, None, None).await;
                    let took = started.elapsed();
                    if status != 200 {
                        tally
                            .failures
                            .lock()
                            .unwrap()
                            .push(format!("{path}: {status} {body}"));
                    }
                    if took > FAST_READ {
                        tally.slow.lock().unwrap().push((path.clone(), took));
                    }
                    tally.answered.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    (tally, tasks)
}

/// Waits until the load has answered `count` more reads than `from`, and `at_least` has passed.
async fn wait_for_reads(tally: &Tally, from: usize, count: usize, at_least: Duration, what: &str) {
    let started = Instant::now();
    wait_until_async(what, DEADLINE, || {
        let done =
            tally.answered.load(Ordering::Relaxed) >= from + count && started.elapsed() >= at_least;
        async move { done }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn blog_reads_keep_answering_from_the_database_under_load_while_redis_is_down() {
    // Arrange: a published blog whose id entry is cached; clients loop the public reads
    let mut stack = Stack::start().await;
    let admin = stack.admin_token().await;
    let id = stack.published_blog(&admin, "redis-outage").await;
    let redis_url = format!("{}/3", stack.redis.url());
    let key = format!("blog:id:{id}");
    let (status, body) = stack
        .blog(Method::GET, &format!("/id/{id}"), None, None)
        .await;
    assert_eq!(status, 200, "{body}");
    wait_until_async("the first read to fill the cache", DEADLINE, || {
        key_exists(&redis_url, &key)
    })
    .await
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let paths = vec![
        format!("/id/{id}"),
        "/slug/redis-outage".to_owned(),
        "/list/latest?page=1&limit=10".to_owned(),
        format!("/list/similar/id/{id}"),
    ];
    let (tally, tasks) = start_reads(&stack, paths, &stop);
    wait_for_reads(&tally, 0, 50, Duration::ZERO, "reads before the outage").await;

    // Act: Redis stops under load
    stack.redis.stop();
    let before = tally.answered.load(Ordering::Relaxed);
    wait_for_reads(
        &tally,
        before,
        READS_DURING_OUTAGE,
        REDIS_OUTAGE,
        "reads while redis is down",
    )
    .await;
    let during_outage = tally.answered.load(Ordering::Relaxed) - before;
    let outage_failures = tally.failures.lock().unwrap().clone();
    let outage_slow = tally.slow.lock().unwrap().clone();

    // Redis is back (empty): caching resumes without a restart
    stack.redis.start();
    wait_until_async(
        &format!("reads to fill {key} again once redis is back"),
        DEADLINE,
        || key_exists(&redis_url, &key),
    )
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }

    // Assert
    eprintln!(
        "{during_outage} reads by {CLIENTS} clients while redis was down for {REDIS_OUTAGE:?}: {} failed, {} slower than {FAST_READ:?}",
        outage_failures.len(),
        outage_slow.len()
    );
    assert_eq!(
        outage_failures,
        Vec::<String>::new(),
        "no read fails while redis is down"
    );
    assert_eq!(
        outage_slow,
        Vec::new(),
        "no read waits on redis while it is down (limit {FAST_READ:?})"
    );
    assert_eq!(
        *tally.failures.lock().unwrap(),
        Vec::<String>::new(),
        "no read fails during the recovery either"
    );
}

#[tokio::test]
async fn auth_keeps_signing_in_and_blog_answers_at_once_while_nats_is_down() {
    // Arrange
    let mut stack = Stack::start().await;
    let admin = stack.admin_token().await;
    let drafts = "/author/drafts?page=1&limit=1";
    let (status, body) = stack.blog(Method::GET, drafts, Some(&admin), None).await;
    assert_eq!(status, 200, "before the outage: {body}");

    // Act: NATS stops (and blog notices)
    stack.nats.stop();
    wait_until_async("blog to notice that nats is down", DEADLINE, || async {
        stack.blog(Method::GET, "/health", None, None).await.1["message"] == "unhealthy: nats"
    })
    .await
    .unwrap();

    // Assert: sign-in and sign-up keep working under load
    let sign_ups = AtomicUsize::new(0);
    let clients = (0..CLIENTS).map(|client_no| {
        let (stack, sign_ups) = (&stack, &sign_ups);
        async move {
            for round in 0..5 {
                let (status, body) = stack
                    .auth(
                        "/signin/basic",
                        json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
                    )
                    .await;
                assert_eq!(status, 200, "sign-in without nats: {body}");
                let email = format!("nats-down-{client_no}-{round}@example.com");
                let (status, body) = stack
                    .auth(
                        "/signup/basic",
                        json!({"email": email, "password": "secret123", "name": "Learner"}),
                    )
                    .await;
                assert_eq!(status, 200, "sign-up without nats: {body}");
                sign_ups.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    futures::future::join_all(clients).await;
    assert_eq!(sign_ups.load(Ordering::Relaxed), CLIENTS * 5);

    // blog calls that need auth get a clear 503, at once
    let calls = (0..CLIENTS).map(|_| async {
        let started = Instant::now();
        let response = stack.blog(Method::GET, drafts, Some(&admin), None).await;
        (response, started.elapsed())
    });
    for (response, took) in futures::future::join_all(calls).await {
        assert_error(
            &response,
            503,
            "auth service unavailable, please try again later (nats: timeout)",
            "author route without nats",
        );
        assert!(
            took < NATS_TIMEOUT / 5,
            "answered in {took:?}, not after NATS_TIMEOUT_SEC ({NATS_TIMEOUT:?})"
        );
    }

    // NATS is back: the same call succeeds again without a restart
    stack.nats.start();
    wait_until_async(
        "blog's author route to work again once nats is back",
        DEADLINE,
        || async { stack.blog(Method::GET, drafts, Some(&admin), None).await.0 == 200 },
    )
    .await
    .unwrap();
    let (status, body) = stack
        .auth(
            "/signin/basic",
            json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "sign-in after the outage: {body}");
}
