//! `auth-service seed` as a real process: no public admin password outside tests.

use std::{path::Path, process::Output};

use auth_service::{cli::GENERATED_PASSWORD_PREFIX, ops::ADMIN_EMAIL, store};

use crate::helpers::sqlite_url;

/// Runs `auth-service seed` on the SQLite file in `dir` with `GO_MODE=mode` and `vars`.
async fn run_seed(dir: &Path, mode: &str, vars: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_auth-service"));
    command
        .arg("seed")
        .current_dir(dir)
        .env_remove("ADMIN_PASSWORD")
        .env("GO_MODE", mode)
        .env("DATABASE_URL", sqlite_url(dir))
        .env("BCRYPT_COST", "4")
        .env("RUST_LOG", "warn");
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().await.expect("run auth-service seed");
    assert!(
        output.status.success(),
        "seed failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The password `seed` printed, if any.
fn printed_password(output: &Output) -> Option<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix(GENERATED_PASSWORD_PREFIX))
        .map(str::to_owned)
}

/// Whether the seeded admin's password is `password`.
async fn admin_password_is(dir: &Path, password: &str) -> bool {
    let store = store::connect(&sqlite_url(dir), false).await.unwrap();
    let admin = store
        .find_user_by_email(ADMIN_EMAIL)
        .await
        .unwrap()
        .expect("the admin was seeded");
    bcrypt::verify(password, &admin.password_hash.expect("a password hash")).unwrap()
}

#[tokio::test]
async fn seed_in_release_mode_generates_the_admin_password_and_prints_it_once() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();

    // Act
    let first = run_seed(dir.path(), "release", &[]).await;
    let again = run_seed(dir.path(), "release", &[]).await;

    // Assert
    let password = printed_password(&first).expect("the generated password is printed");
    assert_eq!(password.len(), 20, "{password:?}");
    assert!(
        password
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "url-safe: {password:?}"
    );
    assert!(!admin_password_is(dir.path(), "changeit").await);
    assert!(admin_password_is(dir.path(), &password).await);
    assert_eq!(
        printed_password(&again),
        None,
        "a second seed keeps the admin and prints nothing"
    );
    assert!(admin_password_is(dir.path(), &password).await);
}

#[tokio::test]
async fn seed_takes_the_admin_password_from_admin_password() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_seed(
        dir.path(),
        "release",
        &[("ADMIN_PASSWORD", "chosen-secret")],
    )
    .await;
    assert_eq!(
        printed_password(&output),
        None,
        "a given password is not printed"
    );
    assert!(admin_password_is(dir.path(), "chosen-secret").await);
    assert!(!admin_password_is(dir.path(), "changeit").await);
}

#[tokio::test]
async fn seed_refuses_an_admin_password_the_sign_in_rules_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_auth-service"))
        .arg("seed")
        .current_dir(dir.path())
        .env("GO_MODE", "release")
        .env("DATABASE_URL", sqlite_url(dir.path()))
        .env("ADMIN_PASSWORD", "short")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(64), "a config error");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("ADMIN_PASSWORD"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn seed_in_test_mode_keeps_the_contracts_changeit() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_seed(dir.path(), "test", &[]).await;
    assert_eq!(printed_password(&output), None);
    assert!(admin_password_is(dir.path(), "changeit").await);
}
