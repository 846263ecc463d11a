//! The shared HTTP layers behind a real listener: envelopes for success, every error status,
//! malformed JSON, unknown routes, body limit and handler panics.

use axum::{
    Router,
    routing::{get, post},
};
use serde::Deserialize;
use shared::{
    ApiError,
    config::RunMode,
    envelope::{Envelope, success, success_message},
    http::{HttpSettings, Json, finish_router},
};

const MAX_BODY_BYTES: usize = 1024;

#[derive(Debug, Deserialize)]
struct SignUp {
    email: String,
}

fn routes() -> Router {
    Router::new()
        .route(
            "/ok",
            get(|| async { success("success", serde_json::json!({"id": 7})) }),
        )
        .route("/message", get(|| async { success_message("done") }))
        .route(
            "/signup",
            post(|Json(body): Json<SignUp>| async move { success("success", body.email) }),
        )
        .route(
            "/fail/{status}",
            get(
                |axum::extract::Path(status): axum::extract::Path<u16>| async move {
                    let err = match status {
                        400 => ApiError::bad_request("bad"),
                        401 => ApiError::unauthorized("permission denied: invalid access token"),
                        403 => ApiError::forbidden("permission denied: role missing"),
                        404 => ApiError::not_found("user not registerd"),
                        _ => {
                            ApiError::Internal(anyhow::anyhow!("disk on fire").context("load user"))
                        }
                    };
                    Err::<(), _>(err)
                },
            ),
        )
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("handler bug");
                }
                success_message("unreachable")
            }),
        )
}

/// Serves the test routes in `mode` on a free port; returns the base URL.
async fn serve(mode: RunMode) -> String {
    let app = finish_router(
        routes(),
        HttpSettings {
            mode,
            max_body_bytes: MAX_BODY_BYTES,
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn envelope(response: reqwest::Response) -> (u16, Envelope<serde_json::Value>) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8",
        "every response is a JSON envelope"
    );
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn success_renders_the_envelope_with_and_without_data() {
    let base = serve(RunMode::Debug).await;
    let client = reqwest::Client::new();

    let (status, body) = envelope(client.get(format!("{base}/ok")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        (body.code.as_str(), body.status, body.message.as_str()),
        ("10000", 200, "success")
    );
    assert_eq!(body.data, Some(serde_json::json!({"id": 7})));

    let text = client
        .get(format!("{base}/message"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, r#"{"code":"10000","status":200,"message":"done"}"#);
}

#[tokio::test]
async fn each_error_status_renders_its_envelope() {
    let base = serve(RunMode::Debug).await;
    let client = reqwest::Client::new();
    let cases = [
        (400, "bad"),
        (401, "permission denied: invalid access token"),
        (403, "permission denied: role missing"),
        (404, "user not registerd"),
        (500, "load user: disk on fire"),
    ];
    for (code, message) in cases {
        let response = client
            .get(format!("{base}/fail/{code}"))
            .send()
            .await
            .unwrap();
        let (status, body) = envelope(response).await;
        assert_eq!(status, code, "status for {code}");
        assert_eq!(body.code, "10001", "code for {code}");
        assert_eq!(body.status, code, "status field for {code}");
        assert_eq!(body.message, message, "message for {code}");
        assert_eq!(body.data, None, "no data on errors");
    }
}

#[tokio::test]
async fn release_mode_hides_internal_error_details() {
    let base = serve(RunMode::Release).await;
    let response = reqwest::get(format!("{base}/fail/500")).await.unwrap();
    let (status, body) = envelope(response).await;
    assert_eq!(status, 500);
    assert_eq!(
        body.message,
        "An unexpected error occurred. Please try again later."
    );
}

#[tokio::test]
async fn malformed_json_and_wrong_types_are_400_envelopes() {
    let base = serve(RunMode::Debug).await;
    let client = reqwest::Client::new();
    let cases = [
        ("", "EOF"),
        ("{\"email\":", "EOF"),
        ("{oops", "key must be a string at line 1 column 2"),
        (
            r#"{"email":42}"#,
            "invalid type: integer `42`, expected a string at line 1 column 11",
        ),
        ("{}", "missing field `email` at line 1 column 2"),
    ];
    for (body, message) in cases {
        let response = client
            .post(format!("{base}/signup"))
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, envelope) = envelope(response).await;
        assert_eq!(
            (status, envelope.message.as_str()),
            (400, message),
            "body {body:?}"
        );
    }
    let ok = client
        .post(format!("{base}/signup"))
        .body(r#"{"email":"a@b.c","unknown":true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "unknown fields are ignored");
}

#[tokio::test]
async fn body_over_the_limit_is_413_envelope() {
    let base = serve(RunMode::Debug).await;
    let body = format!(r#"{{"email":"{}"}}"#, "a".repeat(MAX_BODY_BYTES * 2));
    let response = reqwest::Client::new()
        .post(format!("{base}/signup"))
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, envelope) = envelope(response).await;
    assert_eq!(status, 413);
    assert_eq!(envelope.message, "request body is too large");
}

#[tokio::test]
async fn unknown_route_and_wrong_method_are_url_not_found() {
    let base = serve(RunMode::Debug).await;
    let client = reqwest::Client::new();
    for request in [
        client.get(format!("{base}/nope")),
        client.delete(format!("{base}/ok")),
    ] {
        let (status, body) = envelope(request.send().await.unwrap()).await;
        assert_eq!((status, body.message.as_str()), (404, "url not found"));
    }
}

#[tokio::test]
async fn handler_panic_is_500_envelope_and_next_request_is_served() {
    let base = serve(RunMode::Debug).await;
    let client = reqwest::Client::new();

    let (status, body) = envelope(client.get(format!("{base}/panic")).send().await.unwrap()).await;
    assert_eq!(
        (status, body.message.as_str()),
        (500, "something went wrong")
    );

    let after = client.get(format!("{base}/ok")).send().await.unwrap();
    assert_eq!(
        after.status(),
        200,
        "the server keeps serving after a panic"
    );
    let response = client.get(format!("{base}/ok")).send().await.unwrap();
    assert!(
        response.headers().contains_key("x-request-id"),
        "responses carry a request id"
    );
}
