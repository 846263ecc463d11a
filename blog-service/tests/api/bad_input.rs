//! Hostile input never yields a 500 or a panic: malformed JSON, wrong types, empty and huge bodies,
//! odd ids, unicode.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{ADMIN, assert_error, blog_body, spawn_app};

#[tokio::test]
async fn malformed_bodies_get_400_and_huge_ones_413() {
    let app = spawn_app().await;
    let bodies: Vec<(String, &str)> = vec![
        (String::new(), "EOF"),
        ("   ".into(), "EOF"),
        ("{not json".into(), "key must be a string"),
        (
            "[]".into(),
            "json: cannot unmarshal array into Go value of type dto.",
        ),
        (
            "\"text\"".into(),
            "json: cannot unmarshal string into Go value of type dto.",
        ),
        (
            "12".into(),
            "json: cannot unmarshal number into Go value of type dto.",
        ),
        (
            r#"{"title":5}"#.into(),
            "invalid type: integer `5`, expected a string",
        ),
        (
            r#"{"tags":"RUST"}"#.into(),
            "invalid type: string \"RUST\", expected a sequence",
        ),
        (
            r#"{"tags":[1]}"#.into(),
            "invalid type: integer `1`, expected a string",
        ),
        (
            format!("{}{}", "[".repeat(5000), "]".repeat(5000)),
            "recursion limit exceeded",
        ),
    ];
    for path in ["/author/", "/author"] {
        for method in [Method::POST, Method::PUT] {
            for (body, expected) in &bodies {
                let (status, response) = app
                    .send(method.clone(), path, Some(ADMIN), Some(body.clone()))
                    .await;
                let message = response["message"].as_str().unwrap_or_default();
                assert_eq!(status, 400, "{method} {path} {:.40}: {response}", body);
                assert!(
                    message.starts_with(expected),
                    "{method} {path} {:.40}: {message}",
                    body
                );
            }
        }
    }
    // `null` decodes into an empty DTO (Go), so validation speaks
    let response = app
        .send(Method::POST, "/author/", Some(ADMIN), Some("null".into()))
        .await;
    assert!(
        response.1["message"]
            .as_str()
            .unwrap()
            .starts_with("title is required"),
        "{}",
        response.1
    );
    let response = app
        .send(Method::PUT, "/author/", Some(ADMIN), Some("null".into()))
        .await;
    assert_error(&response, 400, "_id is required", "null update");

    // trailing data after the first value is ignored (Go decoder); repeated keys: the last wins
    let mut trailing = blog_body("trailing-data", "Trailing").to_string();
    trailing.push_str(" garbage");
    let (status, body) = app
        .send(Method::POST, "/author/", Some(ADMIN), Some(trailing))
        .await;
    assert_eq!(status, 200, "{body}");
    let repeated = r#"{"title":"x","title":"Repeated","description":"desc","draftText":"d","slug":"repeated","imgUrl":"/i.png","tags":["A"]}"#;
    let (status, body) = app
        .send(Method::POST, "/author/", Some(ADMIN), Some(repeated.into()))
        .await;
    assert_eq!(
        (status, body["data"]["title"].as_str()),
        (200, Some("Repeated")),
        "{body}"
    );

    let huge = json!({"title": "x".repeat(2 * 1024 * 1024)}).to_string();
    let response = app
        .send(Method::POST, "/author/", Some(ADMIN), Some(huge))
        .await;
    assert_error(&response, 413, "request body is too large", "2 MB body");
}

#[tokio::test]
async fn unicode_round_trips_and_odd_paths_never_500() {
    let app = spawn_app().await;
    let mut body = blog_body("ünïcode-😀-slug", "Ünïcode 😀 <b>title</b> & more");
    body["tags"] = json!(["ÜBER", "日本"]);
    body["draftText"] = json!("zero\u{0}width\u{200b} and RTL \u{202e}");
    let (status, created) = app.call(Method::POST, "/author/", ADMIN, Some(&body)).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["data"]["title"], body["title"]);
    assert_eq!(created["data"]["draftText"], body["draftText"]);
    assert_eq!(created["data"]["tags"], body["tags"]);
    let id = created["data"]["_id"].as_str().unwrap().to_owned();
    app.submit_and_publish(ADMIN, &id).await;
    let (status, by_slug) = app.get("/slug/%C3%BCn%C3%AFcode-%F0%9F%98%80-slug").await;
    assert_eq!(
        (status, by_slug["data"]["_id"].as_str()),
        (200, Some(id.as_str())),
        "{by_slug}"
    );
    let (status, tagged) = app.get("/list/tag/%E6%97%A5%E6%9C%AC?page=1&limit=5").await;
    assert_eq!(
        (status, tagged["data"][0]["_id"].as_str()),
        (200, Some(id.as_str())),
        "{tagged}"
    );

    for path in [
        "/id/%FF%FE",
        "/slug/%FF%FF%FF",
        "/list/latest?page=%FF&limit=1",
        "/list/latest?page=1&limit=99999999999999999999999",
        "/list/similar/id/%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00",
        "/id/..%2F..%2Fetc%2Fpasswd",
    ] {
        let (status, body) = app.get(path).await;
        assert!((400..500).contains(&status), "{path}: {status} {body}");
        assert_eq!(body["code"], "10001", "{path}: {body}");
    }
}

#[tokio::test]
async fn update_accepts_an_extended_json_object_id() {
    // Arrange
    let app = spawn_app().await;
    let id = app.create_blog(ADMIN, "oid-blog", "Oid blog").await;

    // Act: spec 0.7, an ObjectID field accepts {"$oid": "<hex>"}
    let body = json!({"_id": {"$oid": id}, "title": "Oid blog, renamed"});
    let (status, response) = app.call(Method::PUT, "/author/", ADMIN, Some(&body)).await;

    // Assert
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["data"]["_id"], id.as_str());
    assert_eq!(response["data"]["title"], "Oid blog, renamed");
    let cases = [
        (json!({"_id": {"oid": id}}), "not an extended JSON ObjectID"),
        (json!({"_id": {"$oid": 5}}), "not an extended JSON ObjectID"),
        (json!({"_id": 5}), "not an extended JSON ObjectID"),
        (
            json!({"_id": {"$oid": "abc"}}),
            "cannot unmarshal into an ObjectID, the length must be 24 but it is 3",
        ),
        (json!({"_id": {"$oid": ""}}), "_id is required"),
    ];
    for (body, message) in cases {
        let response = app.call(Method::PUT, "/author/", ADMIN, Some(&body)).await;
        assert_error(&response, 400, message, &body.to_string());
    }
}
