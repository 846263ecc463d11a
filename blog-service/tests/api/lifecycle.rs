//! The blog lifecycle of spec 6 through every route of spec 1.3 (test auth responder on NATS).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, LEARNER, WRITER, assert_error, blog_body, spawn_app, user_of};

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn blog_walks_create_update_submit_publish_unpublish_delete() {
    // Arrange
    let app = spawn_app().await;
    let admin = user_of(ADMIN);

    // Act + Assert: create (D4: no trailing slash works too)
    let (status, created) = app
        .call(
            Method::POST,
            "/author",
            ADMIN,
            Some(&blog_body("first blog/post?", "Zebra stripes explained")),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["message"], "blog created successfully");
    assert_eq!(created["code"], "10000");
    let blog = &created["data"];
    let id = blog["_id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 24);
    assert_eq!(
        blog["slug"], "firstblog-post",
        "spaces removed, / → -, ? removed"
    );
    assert_eq!(
        blog["imgUrl"], "https://img.example/cover.png",
        "D2: imgUrl stored"
    );
    assert_eq!(
        (
            blog["drafted"].clone(),
            blog["submitted"].clone(),
            blog["published"].clone()
        ),
        (json!(true), json!(false), json!(false))
    );
    assert_eq!(blog["score"], 0.01);
    assert!(blog.get("text").is_none() && blog.get("publishedAt").is_none());
    assert_eq!(
        blog["author"],
        json!({"_id": admin.id, "name": admin.name, "profilePicUrl": admin.profile_pic_url})
    );
    assert_eq!(
        keys(blog),
        [
            "_id",
            "author",
            "createdAt",
            "description",
            "draftText",
            "drafted",
            "imgUrl",
            "published",
            "score",
            "slug",
            "submitted",
            "tags",
            "title",
            "updatedAt"
        ]
    );
    assert!(blog["createdAt"].as_str().unwrap().ends_with('Z'));

    // duplicate slug (after normalisation)
    let duplicate = app
        .call(
            Method::POST,
            "/author/",
            ADMIN,
            Some(&blog_body("firstblog-post", "Other")),
        )
        .await;
    assert_error(
        &duplicate,
        400,
        "Blog with slug: firstblog-post already exists",
        "duplicate slug",
    );

    // update (PUT /author without slash, D4)
    let update = json!({"_id": id, "title": "Zebra stripes, explained again", "draftText": "v2 text", "tags": ["ZEBRA"]});
    let (status, updated) = app.call(Method::PUT, "/author", ADMIN, Some(&update)).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["message"], "blog updated successfully");
    assert_eq!(updated["data"]["draftText"], "v2 text");
    assert_eq!(updated["data"]["tags"], json!(["ZEBRA"]));

    // not yet public
    assert_error(
        &app.get(&format!("/id/{id}")).await,
        404,
        "blog not found",
        "draft is not public",
    );
    // publish before submit
    let early = app
        .call(
            Method::PUT,
            &format!("/editor/publish/id/{id}"),
            ADMIN,
            None,
        )
        .await;
    assert_error(
        &early,
        400,
        &format!("blog for _id {id} is not submitted"),
        "publish unsubmitted",
    );

    // submit / withdraw / submit, lists
    let (status, body) = app
        .call(Method::PUT, &format!("/author/submit/id/{id}"), ADMIN, None)
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (200, Some("blog submitted successfully"))
    );
    assert!(body.get("data").is_none());
    let (_, submitted) = app
        .call(
            Method::GET,
            "/editor/submitted?page=1&limit=10",
            ADMIN,
            None,
        )
        .await;
    assert_eq!(submitted["data"][0]["_id"], id.as_str());
    assert_eq!(
        keys(&submitted["data"][0]),
        [
            "_id",
            "description",
            "imgUrl",
            "score",
            "slug",
            "tags",
            "title"
        ]
    );
    let (status, body) = app
        .call(
            Method::PUT,
            &format!("/author/withdraw/id/{id}"),
            ADMIN,
            None,
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (200, Some("blog withdrawn successfully"))
    );
    let (_, submitted) = app
        .call(
            Method::GET,
            "/author/submitted?page=1&limit=10",
            ADMIN,
            None,
        )
        .await;
    assert_eq!(submitted["data"], json!([]), "empty lists are []");
    let (_, drafts) = app
        .call(Method::GET, "/author/drafts?page=1&limit=10", ADMIN, None)
        .await;
    assert_eq!(drafts["data"][0]["_id"], id.as_str());

    // publish
    app.submit_and_publish(ADMIN, &id).await;
    let again = app
        .call(
            Method::PUT,
            &format!("/editor/publish/id/{id}"),
            ADMIN,
            None,
        )
        .await;
    assert_error(
        &again,
        400,
        &format!("blog for _id {id} is already published"),
        "publish twice",
    );

    // public reads by id, slug, latest, tag, similar
    let (status, public) = app.get(&format!("/id/{id}")).await;
    assert_eq!(status, 200, "{public}");
    let public = &public["data"];
    assert_eq!(
        keys(public),
        [
            "_id",
            "author",
            "description",
            "imgUrl",
            "publishedAt",
            "score",
            "slug",
            "tags",
            "text",
            "title"
        ]
    );
    assert_eq!(
        public["text"], "v2 text",
        "publish copies draftText to text"
    );
    assert_eq!(
        public["author"],
        json!({"_id": admin.id, "name": admin.name, "profilePicUrl": admin.profile_pic_url})
    );
    let (status, by_slug) = app.get("/slug/firstblog-post").await;
    assert_eq!((status, &by_slug["data"]), (200, public));
    let (_, latest) = app.get("/list/latest?page=1&limit=10").await;
    assert_eq!(latest["data"][0]["_id"], id.as_str());
    let (_, tagged) = app.get("/list/tag/ZEBRA?page=1&limit=10").await;
    assert_eq!(tagged["data"].as_array().unwrap().len(), 1);
    let (_, untagged) = app.get("/list/tag/RUST?page=1&limit=10").await;
    assert_eq!(untagged["data"], json!([]));
    let other = app.create_blog(WRITER, "zebra-herds", "Zebra herds").await;
    app.submit_and_publish(WRITER, &other).await;
    let (status, similar) = app.get(&format!("/list/similar/id/{id}")).await;
    assert_eq!(status, 200, "{similar}");
    let similar_ids: Vec<&str> = similar["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["_id"].as_str().unwrap())
        .collect();
    assert_eq!(similar_ids, [other.as_str()], "source excluded");
    let (_, published) = app
        .call(
            Method::GET,
            "/author/published?page=1&limit=10",
            ADMIN,
            None,
        )
        .await;
    assert_eq!(
        published["data"].as_array().unwrap().len(),
        1,
        "only the caller's"
    );
    let (_, editor_published) = app
        .call(
            Method::GET,
            "/editor/published?page=1&limit=10",
            ADMIN,
            None,
        )
        .await;
    assert_eq!(
        editor_published["data"].as_array().unwrap().len(),
        2,
        "every author's"
    );

    // private reads
    let (status, mine) = app
        .call(Method::GET, &format!("/author/id/{id}"), ADMIN, None)
        .await;
    assert_eq!(
        (status, mine["data"]["text"].as_str()),
        (200, Some("v2 text"))
    );
    let not_mine = app
        .call(Method::GET, &format!("/author/id/{other}"), ADMIN, None)
        .await;
    assert_error(
        &not_mine,
        404,
        &format!("{other} not found"),
        "another author's blog",
    );
    let (status, editor_view) = app
        .call(Method::GET, &format!("/editor/id/{other}"), ADMIN, None)
        .await;
    assert_eq!(
        (status, editor_view["data"]["author"]["name"].as_str()),
        (200, Some("Writer"))
    );
    let foreign_update = app
        .call(
            Method::PUT,
            "/author/",
            ADMIN,
            Some(&json!({"_id": other, "title": "Hijack"})),
        )
        .await;
    assert_error(
        &foreign_update,
        404,
        &format!("Blog with id: {other} does not exists"),
        "update another's blog",
    );

    // unpublish → public 404 at once, then delete
    let (status, body) = app
        .call(
            Method::PUT,
            &format!("/editor/unpublish/id/{id}"),
            ADMIN,
            None,
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (200, Some("blog unpublished successfully"))
    );
    assert_error(
        &app.get(&format!("/id/{id}")).await,
        404,
        "blog not found",
        "unpublished by id",
    );
    assert_error(
        &app.get("/slug/firstblog-post").await,
        404,
        "blog not found",
        "unpublished by slug",
    );
    let twice = app
        .call(
            Method::PUT,
            &format!("/editor/unpublish/id/{id}"),
            ADMIN,
            None,
        )
        .await;
    assert_error(
        &twice,
        400,
        &format!("blog for _id {id} is not published"),
        "unpublish twice",
    );
    let (status, body) = app
        .call(Method::DELETE, &format!("/author/id/{id}"), ADMIN, None)
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (200, Some("blog deleted successfully"))
    );
    assert_error(
        &app.call(Method::DELETE, &format!("/author/id/{id}"), ADMIN, None)
            .await,
        404,
        "blog not found",
        "delete twice",
    );
    assert_error(
        &app.call(Method::PUT, &format!("/author/submit/id/{id}"), ADMIN, None)
            .await,
        404,
        "blog not found",
        "submit deleted",
    );
    assert_error(
        &app.call(
            Method::PUT,
            &format!("/editor/publish/id/{id}"),
            ADMIN,
            None,
        )
        .await,
        404,
        &format!("blog for _id {id} not found"),
        "publish deleted",
    );
    assert_error(
        &app.call(Method::GET, &format!("/editor/id/{id}"), ADMIN, None)
            .await,
        404,
        &format!("{id} not found"),
        "editor get deleted",
    );
    let reuse = app
        .call(
            Method::POST,
            "/author/",
            ADMIN,
            Some(&blog_body("firstblog-post", "Reuse")),
        )
        .await;
    assert_error(
        &reuse,
        400,
        "Blog with slug: firstblog-post already exists",
        "slugs of deleted blogs stay taken",
    );
}

#[tokio::test]
async fn learner_and_anonymous_callers_are_refused_with_the_contract_messages() {
    let app = spawn_app().await;
    let id = "65a1b2c3d4e5f6a7b8c9d0e1";
    let author_routes = [
        (Method::POST, "/author/".to_owned()),
        (Method::PUT, "/author/".to_owned()),
        (Method::GET, format!("/author/id/{id}")),
        (Method::DELETE, format!("/author/id/{id}")),
        (Method::PUT, format!("/author/submit/id/{id}")),
        (Method::PUT, format!("/author/withdraw/id/{id}")),
        (Method::GET, "/author/drafts?page=1&limit=1".to_owned()),
        (Method::GET, "/author/submitted?page=1&limit=1".to_owned()),
        (Method::GET, "/author/published?page=1&limit=1".to_owned()),
    ];
    let editor_routes = [
        (Method::GET, format!("/editor/id/{id}")),
        (Method::PUT, format!("/editor/publish/id/{id}")),
        (Method::PUT, format!("/editor/unpublish/id/{id}")),
        (Method::GET, "/editor/submitted?page=1&limit=1".to_owned()),
        (Method::GET, "/editor/published?page=1&limit=1".to_owned()),
    ];
    for (method, path) in author_routes.iter().chain(&editor_routes) {
        let context = format!("{method} {path}");
        let learner = app
            .send(method.clone(), path, Some(LEARNER), Some("{}".into()))
            .await;
        assert_error(
            &learner,
            403,
            "403:permission denied: does not have suffient role",
            &context,
        );
        let anonymous = app
            .send(method.clone(), path, None, Some("{}".into()))
            .await;
        assert_error(
            &anonymous,
            401,
            "401:permission denied: missing Authorization",
            &context,
        );
        let bad = app
            .send(method.clone(), path, Some("Bearer nope"), None)
            .await;
        assert_error(
            &bad,
            401,
            "401:permission denied: invalid access token",
            &context,
        );
    }
    for (method, path) in &editor_routes {
        let writer = app.send(method.clone(), path, Some(WRITER), None).await;
        assert_error(
            &writer,
            403,
            "403:permission denied: does not have suffient role",
            &format!("author on {path}"),
        );
    }
}

#[tokio::test]
async fn health_names_the_failing_dependency_but_not_its_reason() {
    let app = spawn_app().await;
    let (status, body) = app.get("/health").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "OK");
    assert_eq!(
        body["data"]["checks"],
        json!({"database": "OK", "nats": "OK", "redis": "OK"})
    );
    let mut app = app;
    app.redis.stop();
    // the failing check is named; its reason (addresses, driver texts) is only logged
    assert_error(
        &app.get("/health").await,
        503,
        "unhealthy: redis",
        "redis stopped",
    );
}
