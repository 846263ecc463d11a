//! The backend-agnostic contract suite: every [`AuthStore`] backend must pass [`conformance`].
//!
//! SQLite runs against a temp file. MongoDB runs against `MONGODB_TEST_URI` in a fresh database, and
//! reports itself skipped (with the reason, on stderr) when the variable is unset.

use super::*;
use crate::domain::{Id, NewUser};

fn new_user(email: &str, roles: Vec<Id>) -> NewUser {
    NewUser {
        name: "Ünïcode Name".into(),
        email: email.into(),
        password_hash: "$2b$04$abcdefghijklmnopqrstuuNw7M7T9WfKJrKZIyD7L1d3G0gYxRkRa".into(),
        profile_pic_url: Some("https://example.com/p.png".into()),
        role_ids: roles,
    }
}

/// Runs every contract check against `store` (which must start empty).
async fn conformance(store: &dyn AuthStore) {
    store.ping().await.expect("ping");

    // roles: ensure is idempotent; look-ups by code only see active roles
    let learner = store.ensure_role("LEARNER").await.unwrap();
    let again = store.ensure_role("LEARNER").await.unwrap();
    assert_eq!(learner.id, again.id, "ensure_role must be idempotent");
    let admin = store.ensure_role("ADMIN").await.unwrap();
    assert_eq!(
        store.find_role_by_code("LEARNER").await.unwrap(),
        Some(learner.clone())
    );
    assert_eq!(store.find_role_by_code("NOPE").await.unwrap(), None);
    let roles = store
        .find_roles(&[admin.id, Id::generate(), learner.id])
        .await
        .unwrap();
    assert_eq!(
        roles,
        vec![admin.clone(), learner.clone()],
        "roles keep the order of the ids"
    );

    // api keys
    let key = store.ensure_api_key("KEY-1").await.unwrap();
    assert_eq!(store.ensure_api_key("KEY-1").await.unwrap().id, key.id);
    assert_eq!(store.find_api_key("KEY-1").await.unwrap(), Some(key));
    assert_eq!(store.find_api_key("KEY-2").await.unwrap(), None);

    // users: insert, find by id/email, unique email
    let user = store
        .insert_user(new_user("jürgen@example.com", vec![learner.id, admin.id]))
        .await
        .unwrap();
    assert!(user.status && !user.verified);
    assert_eq!(
        store.find_user_by_id(user.id).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        store
            .find_user_by_email("jürgen@example.com")
            .await
            .unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        store.find_user_by_email("other@example.com").await.unwrap(),
        None
    );
    assert_eq!(store.find_user_by_id(Id::generate()).await.unwrap(), None);
    let duplicate = store
        .insert_user(new_user("jürgen@example.com", vec![]))
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict("email"))),
        "{duplicate:?}"
    );
    let seeded = store
        .ensure_user(new_user("jürgen@example.com", vec![]))
        .await
        .unwrap();
    assert_eq!(seeded.id, user.id, "ensure_user keeps the existing user");
    let bare = store
        .insert_user(NewUser {
            profile_pic_url: None,
            ..new_user("bare@example.com", vec![])
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .find_user_by_id(bare.id)
            .await
            .unwrap()
            .unwrap()
            .profile_pic_url,
        None
    );

    // keystores: per session, found by (client, pKey) and (client, pKey, sKey), deleted one at a time
    let first = store.insert_keystore(user.id, "p1", "s1").await.unwrap();
    let second = store.insert_keystore(user.id, "p2", "s2").await.unwrap();
    assert_eq!(
        store.find_keystore(user.id, "p1").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.find_keystore(bare.id, "p1").await.unwrap(),
        None,
        "keystores belong to a client"
    );
    assert_eq!(
        store.find_keystore_pair(user.id, "p2", "s2").await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        store.find_keystore_pair(user.id, "p2", "s1").await.unwrap(),
        None
    );
    assert!(store.delete_keystore(first.id).await.unwrap());
    assert!(
        !store.delete_keystore(first.id).await.unwrap(),
        "second delete finds nothing"
    );
    assert_eq!(store.find_keystore(user.id, "p1").await.unwrap(), None);
    assert_eq!(
        store.find_keystore(user.id, "p2").await.unwrap(),
        Some(second)
    );
}

#[tokio::test]
async fn sqlite_backend_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("auth.db").display());
    let store = sqlite::SqliteStore::connect(&url).await.unwrap();
    conformance(&store).await;
}

#[tokio::test]
async fn sqlite_concurrent_inserts_with_one_email_yield_exactly_one_user() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("auth.db").display());
    let store = Arc::new(sqlite::SqliteStore::connect(&url).await.unwrap());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .insert_user(new_user("same@example.com", vec![]))
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict("email")) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn mongo_backend_passes_the_conformance_suite() {
    let Ok(uri) = std::env::var("MONGODB_TEST_URI") else {
        eprintln!(
            "SKIPPED mongo_backend_passes_the_conformance_suite: MONGODB_TEST_URI is not set \
             (no MongoDB server here); set it to e.g. mongodb://127.0.0.1:27017 to run it"
        );
        return;
    };
    let name = format!("auth-test-{}", Id::generate());
    let store = mongo::MongoStore::connect_to(&uri, &name, true)
        .await
        .unwrap();
    conformance(&store).await;
    store.drop_database().await.unwrap();
}
