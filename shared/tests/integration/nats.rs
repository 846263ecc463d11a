//! The NATS layer against a real nats-server: wire JSON, errors, queue groups, micro protocol.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::StreamExt;
use shared::{
    ApiError,
    messages::{Text, User},
    nats::{MicroService, NatsClient, NatsRequestError, subjects},
};
use testkit::NatsServer;

async fn connect(server: &NatsServer) -> async_nats::Client {
    async_nats::connect(server.url())
        .await
        .expect("connect to test nats-server")
}

fn alice() -> User {
    User {
        id: "65a1b2c3d4e5f6a7b8c9d0e1".into(),
        name: "Alice".into(),
        email: "alice@example.com".into(),
        profile_pic_url: None,
    }
}

/// An auth micro service whose `authentication` endpoint accepts exactly `Bearer good`.
async fn start_auth(client: &async_nats::Client) -> MicroService {
    let service = MicroService::start(client, "auth", "1.0.0").await.unwrap();
    service
        .serve("/", "authentication", |text: Text| async move {
            if text.value == "Bearer good" {
                Ok(alice())
            } else {
                Err(ApiError::unauthorized(
                    "permission denied: invalid access token",
                ))
            }
        })
        .await
        .unwrap();
    service
}

#[tokio::test]
async fn request_reply_round_trip_uses_the_contract_wire_json() {
    // Arrange
    let server = NatsServer::start();
    let client = connect(&server).await;
    let service = start_auth(&client).await;

    // Act: a raw request, as the Go client sends it
    let reply = client
        .request(
            subjects::AUTHENTICATION,
            r#"{"data":{"value":"Bearer good"}}"#.into(),
        )
        .await
        .unwrap();

    // Assert: the exact reply bytes
    assert_eq!(
        std::str::from_utf8(&reply.payload).unwrap(),
        r#"{"data":{"_id":"65a1b2c3d4e5f6a7b8c9d0e1","name":"Alice","email":"alice@example.com"}}"#
    );
    // and the typed client decodes it
    let typed = NatsClient::new(client.clone(), Duration::from_secs(2));
    let user: User = typed
        .request(
            subjects::AUTHENTICATION,
            &Text {
                value: "Bearer good".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(user, alice());
    service.shutdown().await;
}

#[tokio::test]
async fn typed_client_sends_data_envelope_on_the_wire() {
    let server = NatsServer::start();
    let client = connect(&server).await;
    let mut raw = client.subscribe("auth.profile.user").await.unwrap();
    client.flush().await.unwrap();
    let typed = NatsClient::new(client.clone(), Duration::from_secs(2));
    let requester = tokio::spawn(async move {
        typed
            .request::<_, User>(
                subjects::PROFILE_USER,
                &Text {
                    value: "65a1b2c3d4e5f6a7b8c9d0e1".into(),
                },
            )
            .await
    });

    let message = tokio::time::timeout(Duration::from_secs(5), raw.next())
        .await
        .expect("request arrives")
        .unwrap();
    assert_eq!(
        std::str::from_utf8(&message.payload).unwrap(),
        r#"{"data":{"value":"65a1b2c3d4e5f6a7b8c9d0e1"}}"#
    );
    client
        .publish(
            message.reply.unwrap(),
            r#"{"data":{"_id":"65a1b2c3d4e5f6a7b8c9d0e1","name":"Alice","email":""}}"#.into(),
        )
        .await
        .unwrap();
    let user = requester.await.unwrap().unwrap();
    assert_eq!(user.email, "");
    assert_eq!(user.name, "Alice");
}

#[tokio::test]
async fn remote_api_error_arrives_as_status_prefixed_text() {
    let server = NatsServer::start();
    let client = connect(&server).await;
    let service = start_auth(&client).await;

    let raw = client
        .request(
            subjects::AUTHENTICATION,
            r#"{"data":{"value":"Bearer bad"}}"#.into(),
        )
        .await
        .unwrap();
    assert_eq!(
        std::str::from_utf8(&raw.payload).unwrap(),
        r#"{"error":"401:permission denied: invalid access token"}"#
    );
    let typed = NatsClient::new(client.clone(), Duration::from_secs(2));
    let err = typed
        .request::<_, User>(
            subjects::AUTHENTICATION,
            &Text {
                value: "Bearer bad".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "401:permission denied: invalid access token"
    );
    assert_eq!(err.remote_status(), Some(401));
    service.shutdown().await;
}

#[tokio::test]
async fn silent_responder_gives_nats_timeout_within_the_configured_timeout() {
    let server = NatsServer::start();
    let client = connect(&server).await;
    // A subscriber that never answers.
    let _silent = client.subscribe(subjects::AUTHORIZATION).await.unwrap();
    client.flush().await.unwrap();
    let typed = NatsClient::new(client.clone(), Duration::from_millis(300));

    let started = std::time::Instant::now();
    let err = typed
        .request::<_, User>(subjects::AUTHORIZATION, &Text { value: "x".into() })
        .await
        .unwrap_err();

    assert_eq!(err, NatsRequestError::Timeout);
    assert_eq!(err.to_string(), "nats: timeout");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "timeout honoured: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn request_without_subscribers_gives_no_responders() {
    let server = NatsServer::start();
    let client = connect(&server).await;
    let typed = NatsClient::new(client, Duration::from_secs(5));

    let err = typed
        .request::<_, User>("auth.nobody.home", &Text { value: "x".into() })
        .await
        .unwrap_err();

    assert_eq!(err, NatsRequestError::NoResponders);
    assert_eq!(err.to_string(), "nats: no responders available for request");
}

#[tokio::test]
async fn malformed_request_gets_error_reply_and_responder_keeps_serving() {
    let server = NatsServer::start();
    let client = connect(&server).await;
    let service = start_auth(&client).await;

    for (payload, expected) in [
        ("{}", r#"{"error":"400:invalid request: missing data"}"#),
        (
            r#"{"data":null}"#,
            r#"{"error":"400:invalid request: missing data"}"#,
        ),
    ] {
        let reply = client
            .request(subjects::AUTHENTICATION, payload.to_owned().into())
            .await
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&reply.payload).unwrap(),
            expected,
            "payload {payload}"
        );
    }
    let garbage = client
        .request(subjects::AUTHENTICATION, "not json at all".into())
        .await
        .unwrap();
    assert!(
        std::str::from_utf8(&garbage.payload)
            .unwrap()
            .starts_with(r#"{"error":"400:invalid request"#),
        "{:?}",
        garbage.payload
    );

    // Still serving.
    let typed = NatsClient::new(client.clone(), Duration::from_secs(2));
    let user: User = typed
        .request(
            subjects::AUTHENTICATION,
            &Text {
                value: "Bearer good".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(user, alice());
    service.shutdown().await;
}

#[tokio::test]
async fn two_responders_in_queue_group_q_share_requests() {
    let server = NatsServer::start();
    let counts: Arc<Mutex<HashMap<&'static str, usize>>> = Arc::default();
    let mut services = Vec::new();
    for replica in ["replica-1", "replica-2"] {
        let client = connect(&server).await;
        let service = MicroService::start(&client, "auth", "1.0.0").await.unwrap();
        let counts = counts.clone();
        service
            .serve("/profile", "user", move |_: Text| {
                let counts = counts.clone();
                async move {
                    *counts.lock().unwrap().entry(replica).or_default() += 1;
                    Ok(Text {
                        value: replica.into(),
                    })
                }
            })
            .await
            .unwrap();
        client.flush().await.unwrap();
        services.push(service);
    }

    let requester = NatsClient::new(connect(&server).await, Duration::from_secs(2));
    for _ in 0..60 {
        let _: Text = requester
            .request(subjects::PROFILE_USER, &Text { value: "x".into() })
            .await
            .unwrap();
    }

    let counts = counts.lock().unwrap().clone();
    assert_eq!(
        counts.values().sum::<usize>(),
        60,
        "each request answered once: {counts:?}"
    );
    assert!(
        counts.get("replica-1").copied().unwrap_or(0) > 0
            && counts.get("replica-2").copied().unwrap_or(0) > 0,
        "both replicas answered: {counts:?}"
    );
    for service in services {
        service.shutdown().await;
    }
}

#[tokio::test]
async fn micro_service_answers_srv_ping_and_info() {
    let server = NatsServer::start();
    let client = connect(&server).await;
    let service = start_auth(&client).await;

    let ping = client.request("$SRV.PING.auth", "".into()).await.unwrap();
    let ping: serde_json::Value = serde_json::from_slice(&ping.payload).unwrap();
    assert_eq!(ping["name"], "auth");
    assert_eq!(ping["version"], "1.0.0");
    assert_eq!(ping["type"], "io.nats.micro.v1.ping_response");

    let info = client.request("$SRV.INFO.auth", "".into()).await.unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.payload).unwrap();
    let endpoint = &info["endpoints"][0];
    assert_eq!(endpoint["subject"], subjects::AUTHENTICATION);
    assert_eq!(endpoint["queue_group"], "q");
    service.shutdown().await;
}
