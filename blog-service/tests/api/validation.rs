//! Every validation row of spec 0.4-0.6 and 1.3 gets its 400 text.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, assert_error, blog_body, spawn_app};

fn with(field: &str, value: Value) -> Value {
    let mut body = blog_body("valid-slug", "Valid title");
    body[field] = value;
    body
}

#[tokio::test]
async fn create_rejects_each_invalid_field_with_its_message() {
    let app = spawn_app().await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({}),
            "title is required, description is required, draftText is required, slug is required, imgUrl is required, tags is required",
        ),
        (with("title", json!("ab")), "title must be at least 3 size"),
        (
            with("title", json!("t".repeat(501))),
            "title must be at most 500 size",
        ),
        (with("title", json!(null)), "title is required"),
        (
            with("description", json!("de")),
            "description must be at least 3 size",
        ),
        (
            with("description", json!("d".repeat(2001))),
            "description must be at most 2000 size",
        ),
        (with("draftText", json!("")), "draftText is required"),
        (
            with("draftText", json!("x".repeat(50_001))),
            "draftText must be at most 50000 size",
        ),
        (with("slug", json!("ab")), "slug must be at least 3 size"),
        (
            with("slug", json!("s".repeat(201))),
            "slug must be at most 200 size",
        ),
        (with("imgUrl", json!("")), "imgUrl is required"),
        (
            with("imgUrl", json!("cover.png")),
            "imgUrl must be a valid URI",
        ),
        (
            with("imgUrl", json!(format!("/{}", "i".repeat(200)))),
            "imgUrl must be at most 200 size",
        ),
        (with("tags", json!([])), "tags must be at least 1 size"),
        (
            with("tags", json!(["OK", "no", "Mixed"])),
            "tags[1] must be uppercase, tags[2] must be uppercase",
        ),
        (with("tags", json!([""])), "tags[0] must be uppercase"),
        // model validation after normalisation (gomicro: 500; here 400 with the validator text)
        (
            with("slug", json!("a / ")),
            "Key: 'Blog.Slug' Error:Field validation for 'Slug' failed on the 'min' tag",
        ),
    ];
    for (body, expected) in cases {
        let response = app.call(Method::POST, "/author/", ADMIN, Some(&body)).await;
        assert_error(&response, 400, expected, &format!("create {body}"));
    }
    // boundaries pass, counted in code points
    let mut edge = blog_body(&"é".repeat(200), &"é".repeat(500));
    edge["description"] = json!("ééé");
    let (status, body) = app.call(Method::POST, "/author/", ADMIN, Some(&edge)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn update_rejects_each_invalid_field_with_its_message() {
    let app = spawn_app().await;
    let id = app.create_blog(ADMIN, "update-me", "Update me").await;
    let taken = app.create_blog(ADMIN, "taken one", "Taken").await;
    let cases: Vec<(Value, u16, String)> = vec![
        (json!({}), 400, "_id is required".into()),
        (json!({"_id": "", "title": "ab"}), 400, "_id is required".into()),
        (json!({"_id": "000000000000000000000000"}), 400, "_id is required".into()),
        (json!({"_id": "abc"}), 400, "cannot unmarshal into an ObjectID, the length must be 24 but it is 3".into()),
        (json!({"_id": "zzzzzzzzzzzzzzzzzzzzzzzz"}), 400, "the provided hex string is not a valid ObjectID".into()),
        (json!({"_id": id, "title": "ab", "description": "", "slug": "s", "imgUrl": "x", "tags": []}), 400,
            "title must be at least 3 size, description must be at least 3 size, slug must be at least 3 size, imgUrl must be a valid URI, tags must be at least 1 size".into()),
        (json!({"_id": id, "tags": ["lower"]}), 400, "tags[0] must be uppercase".into()),
        (json!({"_id": id, "draftText": "x".repeat(50_001)}), 400, "draftText must be at most 50000 size".into()),
        (json!({"_id": id, "slug": "taken one"}), 400, "Blog with slug: takenone already exists".into()),
        (json!({"_id": id, "slug": "takenone"}), 400, "Blog with slug: takenone already exists".into()),
        (json!({"_id": "65a1b2c3d4e5f6a7b8c9d0e1"}), 404, "Blog with id: 65a1b2c3d4e5f6a7b8c9d0e1 does not exists".into()),
    ];
    for (body, status, expected) in cases {
        let response = app.call(Method::PUT, "/author/", ADMIN, Some(&body)).await;
        assert_error(&response, status, &expected, &format!("update {body}"));
    }
    // keeping its own slug is fine; the other blog still owns its slug
    let (status, body) = app
        .call(
            Method::PUT,
            "/author/",
            ADMIN,
            Some(&json!({"_id": id, "slug": "update-me", "draftText": ""})),
        )
        .await;
    assert_eq!(
        (status, body["data"]["draftText"].as_str()),
        (200, Some("")),
        "{body}"
    );
    assert_ne!(id, taken);
}

#[tokio::test]
async fn path_ids_slugs_and_tags_are_validated() {
    let app = spawn_app().await;
    let ids = [
        ("abc", "id must be of length 24"),
        ("65a1b2c3d4e5f6a7b8c9d0e1f", "id must be of length 24"),
        ("zzzzzzzzzzzzzzzzzzzzzzzz", "id is invalid"),
        (
            "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9",
            "id is invalid",
        ),
    ];
    for (id, expected) in ids {
        for path in [format!("/id/{id}"), format!("/list/similar/id/{id}")] {
            assert_error(&app.get(&path).await, 400, expected, &path);
        }
        for (method, path) in [
            (Method::GET, format!("/author/id/{id}")),
            (Method::DELETE, format!("/author/id/{id}")),
            (Method::PUT, format!("/author/submit/id/{id}")),
            (Method::PUT, format!("/author/withdraw/id/{id}")),
            (Method::GET, format!("/editor/id/{id}")),
            (Method::PUT, format!("/editor/publish/id/{id}")),
            (Method::PUT, format!("/editor/unpublish/id/{id}")),
        ] {
            let response = app.call(method.clone(), &path, ADMIN, None).await;
            assert_error(&response, 400, expected, &format!("{method} {path}"));
        }
    }
    let missing = "65a1b2c3d4e5f6a7b8c9d0e1";
    assert_error(
        &app.get(&format!("/id/{missing}")).await,
        404,
        "blog not found",
        "unknown id",
    );
    assert_error(
        &app.get(&format!("/list/similar/id/{missing}")).await,
        404,
        "blog not found",
        "unknown similar",
    );
    assert_error(
        &app.get("/slug/ab").await,
        400,
        "slug must be at least 3 characters",
        "short slug",
    );
    assert_error(
        &app.get(&format!("/slug/{}", "s".repeat(201))).await,
        400,
        "slug must be at most 200 characters",
        "long slug",
    );
    assert_error(
        &app.get("/slug/nope").await,
        404,
        "blog not found",
        "unknown slug",
    );
    assert_error(
        &app.get("/list/tag/rust?page=1&limit=1").await,
        400,
        "tag must be uppercase",
        "lower tag",
    );
    assert_error(
        &app.get("/list/tag/rust").await,
        400,
        "tag must be uppercase",
        "tag before pagination",
    );
    assert_error(
        &app.get("/author").await,
        404,
        "url not found",
        "GET /author",
    );
    assert_error(
        &app.get("/nope").await,
        404,
        "url not found",
        "unknown path",
    );
}

#[tokio::test]
async fn pagination_is_validated_on_every_list() {
    let app = spawn_app().await;
    let cases = [
        ("", "page is required, limit is required"),
        ("?page=1", "limit is required"),
        ("?page=0&limit=10", "page is required"),
        ("?page=-1&limit=10", "page must be min 1"),
        ("?page=1&limit=1001", "limit must be max1000"),
        (
            "?page=abc&limit=10",
            "strconv.ParseInt: parsing \"abc\": invalid syntax",
        ),
    ];
    let public = ["/list/latest", "/list/tag/RUST"];
    let author = [
        "/author/drafts",
        "/author/submitted",
        "/author/published",
        "/editor/submitted",
        "/editor/published",
    ];
    for (query, expected) in cases {
        for path in public {
            assert_error(
                &app.get(&format!("{path}{query}")).await,
                400,
                expected,
                &format!("{path}{query}"),
            );
        }
        for path in author {
            let response = app
                .call(Method::GET, &format!("{path}{query}"), ADMIN, None)
                .await;
            assert_error(&response, 400, expected, &format!("{path}{query}"));
        }
    }
    let (status, body) = app.get("/list/latest?page=1000&limit=1000").await;
    assert_eq!((status, &body["data"]), (200, &json!([])));
}

#[tokio::test]
async fn concurrent_creates_with_one_slug_let_exactly_one_win() {
    let app = spawn_app().await;
    let body = blog_body("race slug", "Race");
    let attempts = (0..8).map(|_| app.call(Method::POST, "/author/", ADMIN, Some(&body)));
    let results = futures::future::join_all(attempts).await;
    let winners = results.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(winners, 1, "{results:?}");
    for response in results.iter().filter(|(status, _)| *status != 200) {
        assert_error(
            response,
            400,
            "Blog with slug: raceslug already exists",
            "losers",
        );
    }
}
