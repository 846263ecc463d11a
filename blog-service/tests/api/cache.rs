//! The Redis cache (spec 5) with D3: no stale read after any write, and a Redis outage only costs
//! speed. Also prints cached vs uncached read latency.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use testkit::wait_until_async;

use crate::helpers::{ADMIN, TestApp, WRITER, assert_error, send, spawn_app, spawn_replica};

async fn redis(app: &TestApp) -> redis::aio::MultiplexedConnection {
    redis::Client::open(format!("{}/3", app.redis.url()))
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to test redis")
}

async fn exists(app: &TestApp, key: &str) -> bool {
    let mut connection = redis(app).await;
    redis::cmd("EXISTS")
        .arg(key)
        .query_async::<i64>(&mut connection)
        .await
        .unwrap_or(0)
        == 1
}

async fn wait_for_key(app: &TestApp, key: &str) {
    wait_until_async(
        &format!("cache entry {key}"),
        Duration::from_secs(5),
        || exists(app, key),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn public_reads_are_served_from_the_cache_once_filled() {
    let app = spawn_app().await;
    let id = app.create_blog(ADMIN, "cached-blog", "Cached blog").await;
    app.submit_and_publish(ADMIN, &id).await;

    let (status, _) = app.get(&format!("/id/{id}")).await;
    assert_eq!(status, 200);
    wait_for_key(&app, &format!("blog:id:{id}")).await;
    // prove the next read comes from Redis: plant a marker in the entry
    let mut connection = redis(&app).await;
    let raw: String = redis::cmd("GET")
        .arg(format!("blog:id:{id}"))
        .query_async(&mut connection)
        .await
        .unwrap();
    let mut cached: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        cached["_id"],
        id.as_str(),
        "the entry is the PublicBlog JSON"
    );
    cached["title"] = json!("from redis");
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("blog:id:{id}"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!((590..=600).contains(&ttl), "10 min TTL, got {ttl}");
    let _: () = redis::cmd("SET")
        .arg(format!("blog:id:{id}"))
        .arg(cached.to_string())
        .query_async(&mut connection)
        .await
        .unwrap();
    let (_, body) = app.get(&format!("/id/{id}")).await;
    assert_eq!(body["data"]["title"], "from redis");

    let (status, _) = app.get("/slug/cached-blog").await;
    assert_eq!(status, 200);
    wait_for_key(&app, "blog:slug:cached-blog").await;
}

/// Reads (and so caches) blog `id` by id, by slug `d3-blog` and its similar list.
async fn warm(app: &TestApp, id: &str) {
    for path in [
        format!("/id/{id}"),
        "/slug/d3-blog".to_owned(),
        format!("/list/similar/id/{id}"),
    ] {
        let (status, body) = app.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
}

#[tokio::test]
async fn no_reader_sees_stale_data_after_any_write() {
    // Arrange: a published blog and a similar one, both read (and cached) once
    let app = spawn_app().await;
    let id = app.create_blog(ADMIN, "d3-blog", "Giraffe necks").await;
    app.submit_and_publish(ADMIN, &id).await;
    let similar = app.create_blog(WRITER, "d3-similar", "Giraffe spots").await;
    app.submit_and_publish(WRITER, &similar).await;
    warm(&app, &id).await;
    wait_for_key(&app, "blog:slug:d3-blog").await;

    // update: the new title at once, by id and slug
    let update = json!({"_id": id, "title": "Giraffe necks, revised", "draftText": "second text"});
    assert_eq!(
        app.call(Method::PUT, "/author/", ADMIN, Some(&update))
            .await
            .0,
        200
    );
    for path in [format!("/id/{id}"), "/slug/d3-blog".to_owned()] {
        let (_, body) = app.get(&path).await;
        assert_eq!(
            body["data"]["title"], "Giraffe necks, revised",
            "{path} after update"
        );
        assert_eq!(
            body["data"]["text"], "Draft text of Giraffe necks",
            "text changes only on publish"
        );
    }

    // slug change: the old slug is gone at once, the new one answers
    let rename = json!({"_id": id, "slug": "d3-renamed"});
    assert_eq!(
        app.call(Method::PUT, "/author/", ADMIN, Some(&rename))
            .await
            .0,
        200
    );
    assert_error(
        &app.get("/slug/d3-blog").await,
        404,
        "blog not found",
        "old slug after rename",
    );
    assert_eq!(app.get("/slug/d3-renamed").await.0, 200);
    let back = json!({"_id": id, "slug": "d3-blog"});
    assert_eq!(
        app.call(Method::PUT, "/author/", ADMIN, Some(&back))
            .await
            .0,
        200
    );
    assert_error(
        &app.get("/slug/d3-renamed").await,
        404,
        "blog not found",
        "renamed slug after rename back",
    );

    // unpublish: public 404 at once; the similar list drops it at once
    warm(&app, &id).await;
    let (_, before) = app.get(&format!("/list/similar/id/{similar}")).await;
    assert_eq!(before["data"][0]["_id"], id.as_str());
    assert_eq!(
        app.call(
            Method::PUT,
            &format!("/editor/unpublish/id/{id}"),
            ADMIN,
            None
        )
        .await
        .0,
        200
    );
    assert_error(
        &app.get(&format!("/id/{id}")).await,
        404,
        "blog not found",
        "id after unpublish",
    );
    assert_error(
        &app.get("/slug/d3-blog").await,
        404,
        "blog not found",
        "slug after unpublish",
    );
    assert_error(
        &app.get(&format!("/list/similar/id/{id}")).await,
        404,
        "blog not found",
        "similar of unpublished",
    );
    let (_, after) = app.get(&format!("/list/similar/id/{similar}")).await;
    assert_eq!(
        after["data"],
        json!([]),
        "an unpublished blog never appears in a similar list"
    );

    // republish: the new text at once
    app.submit_and_publish(ADMIN, &id).await;
    let (_, body) = app.get(&format!("/id/{id}")).await;
    assert_eq!(
        body["data"]["text"], "second text",
        "no stale text after republish"
    );
    warm(&app, &id).await;

    // delete: 404 at once
    assert_eq!(
        app.call(Method::DELETE, &format!("/author/id/{id}"), ADMIN, None)
            .await
            .0,
        200
    );
    assert_error(
        &app.get(&format!("/id/{id}")).await,
        404,
        "blog not found",
        "id after delete",
    );
    assert_error(
        &app.get("/slug/d3-blog").await,
        404,
        "blog not found",
        "slug after delete",
    );
    let (_, after) = app.get(&format!("/list/similar/id/{similar}")).await;
    assert_eq!(after["data"], json!([]));
}

#[tokio::test]
async fn concurrent_reads_during_unpublish_never_leave_a_stale_entry() {
    let app = spawn_app().await;
    let id = app.create_blog(ADMIN, "race-blog", "Race blog").await;
    for round in 0..5 {
        app.submit_and_publish(ADMIN, &id).await;
        let (read_path, unpublish_path) =
            (format!("/id/{id}"), format!("/editor/unpublish/id/{id}"));
        let readers = (0..8).map(|_| app.get(&read_path));
        let unpublish = app.call(Method::PUT, &unpublish_path, ADMIN, None);
        let (_, (status, _)) = tokio::join!(futures::future::join_all(readers), unpublish);
        assert_eq!(status, 200);
        // fills are spawned after the response: give them a moment, then no reader may see the blog
        for _ in 0..10 {
            assert_error(
                &app.get(&format!("/id/{id}")).await,
                404,
                "blog not found",
                &format!("round {round}"),
            );
            tokio::task::yield_now().await;
        }
    }
}

#[tokio::test]
async fn reads_and_writes_keep_working_when_redis_stops() {
    let mut app = spawn_app().await;
    let id = app.create_blog(ADMIN, "no-redis", "No redis needed").await;
    app.submit_and_publish(ADMIN, &id).await;
    assert_eq!(app.get(&format!("/id/{id}")).await.0, 200);

    app.redis.stop();

    let started = Instant::now();
    for path in [
        format!("/id/{id}"),
        "/slug/no-redis".to_owned(),
        format!("/list/similar/id/{id}"),
        "/list/latest?page=1&limit=5".to_owned(),
    ] {
        let (status, body) = app.get(&path).await;
        assert_eq!(status, 200, "{path} without redis: {body}");
    }
    assert_eq!(
        app.call(
            Method::PUT,
            &format!("/editor/unpublish/id/{id}"),
            ADMIN,
            None
        )
        .await
        .0,
        200
    );
    assert_error(
        &app.get(&format!("/id/{id}")).await,
        404,
        "blog not found",
        "unpublished without redis",
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "degraded reads stay fast: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn cached_reads_are_faster_than_database_reads() {
    let app = spawn_app().await;
    let id = app.create_blog(ADMIN, "timing-blog", "Timing blog").await;
    app.submit_and_publish(ADMIN, &id).await;
    let path = format!("/id/{id}");
    let mut connection = redis(&app).await;
    const ROUNDS: u32 = 50;

    let mut uncached = Duration::ZERO;
    for _ in 0..ROUNDS {
        let _: () = redis::cmd("DEL")
            .arg(format!("blog:id:{id}"))
            .query_async(&mut connection)
            .await
            .unwrap();
        let started = Instant::now();
        assert_eq!(app.get(&path).await.0, 200);
        uncached += started.elapsed();
    }
    wait_for_key(&app, &format!("blog:id:{id}")).await;
    let mut cached = Duration::ZERO;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        assert_eq!(app.get(&path).await.0, 200);
        cached += started.elapsed();
    }
    eprintln!(
        "public GET /id latency over {ROUNDS} requests: uncached (SQLite + NATS profile) {:?}/req, cached (Redis) {:?}/req",
        uncached / ROUNDS,
        cached / ROUNDS
    );
}

#[tokio::test]
async fn replicas_share_one_sqlite_file_and_one_cache() {
    // Arrange: two services on one file and one Redis, the blog cached through replica B
    let app = spawn_app().await;
    let replica = spawn_replica(&app).await;
    let id = app.create_blog(ADMIN, "shared-blog", "Shared blog").await;
    app.submit_and_publish(ADMIN, &id).await;
    let read_b = |path: String| {
        let (client, address) = (app.client.clone(), replica.address.clone());
        async move { send(&client, &address, Method::GET, &path, None, None).await }
    };
    assert_eq!(read_b(format!("/id/{id}")).await.0, 200);
    wait_for_key(&app, &format!("blog:id:{id}")).await;

    // Act: unpublish through replica A
    assert_eq!(
        app.call(
            Method::PUT,
            &format!("/editor/unpublish/id/{id}"),
            ADMIN,
            None
        )
        .await
        .0,
        200
    );

    // Assert: replica B answers 404 at once
    assert_error(
        &read_b(format!("/id/{id}")).await,
        404,
        "blog not found",
        "replica B after unpublish on A",
    );
}

#[tokio::test]
async fn a_slug_equal_to_another_blogs_id_never_answers_for_that_id() {
    // Arrange: two published blogs; the writer renames theirs to the other blog's id
    let app = spawn_app().await;
    let victim = app.create_blog(ADMIN, "victim-blog", "Victim").await;
    app.submit_and_publish(ADMIN, &victim).await;
    let squatter = app.create_blog(WRITER, "squatter-blog", "Squatter").await;
    app.submit_and_publish(WRITER, &squatter).await;
    let rename = json!({"_id": squatter, "slug": victim});
    let (status, body) = app
        .call(Method::PUT, "/author/", WRITER, Some(&rename))
        .await;
    assert_eq!(status, 200, "rename: {body}");

    // Act: the slug read fills its cache entry, then the id is read
    let (status, by_slug) = app.get(&format!("/slug/{victim}")).await;
    assert_eq!(status, 200, "{by_slug}");
    assert_eq!(
        by_slug["data"]["_id"],
        squatter.as_str(),
        "the slug is the squatter's"
    );
    wait_for_key(&app, &format!("blog:slug:{victim}")).await;
    let (status, by_id) = app.get(&format!("/id/{victim}")).await;

    // Assert: the id answers its own blog
    assert_eq!(status, 200, "{by_id}");
    assert_eq!(
        (
            by_id["data"]["_id"].as_str(),
            by_id["data"]["title"].as_str()
        ),
        (Some(victim.as_str()), Some("Victim")),
        "GET /id/<id> served another blog: {by_id}"
    );
}

#[tokio::test]
async fn a_cache_entry_of_another_blog_is_ignored() {
    // Arrange: blog A's id entry holds blog B (as a shared key space, or a bad write, could leave it)
    let app = spawn_app().await;
    let a = app.create_blog(ADMIN, "entry-a", "Entry A").await;
    app.submit_and_publish(ADMIN, &a).await;
    let b = app.create_blog(ADMIN, "entry-b", "Entry B").await;
    app.submit_and_publish(ADMIN, &b).await;
    let (_, b_blog) = app.get(&format!("/id/{b}")).await;
    let mut connection = redis(&app).await;
    let _: () = redis::cmd("SET")
        .arg(format!("blog:id:{a}"))
        .arg(b_blog["data"].to_string())
        .query_async(&mut connection)
        .await
        .unwrap();

    // Act
    let (status, body) = app.get(&format!("/id/{a}")).await;

    // Assert: the database answers, not the foreign entry
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["_id"], a.as_str(), "{body}");
}
