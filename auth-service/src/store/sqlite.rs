//! The SQLite backend: one file shared safely by several replicas on one machine (D14).
//!
//! Opening it (WAL, busy timeout, replicas racing on a new file) is `sqlite_store`'s. Every
//! write is a single autocommit statement, so no transaction ever has to upgrade a read lock
//! (which SQLite would refuse with `SQLITE_BUSY` at once). The `UNIQUE` constraint on
//! `users.email` decides concurrent sign-ups (D13).

use async_trait::async_trait;
use sqlx::{
    Row, Sqlite, SqlitePool,
    migrate::Migrator,
    query::Query,
    sqlite::{SqliteArguments, SqliteRow},
};

use super::{AuthStore, StoreError, StoreResult};
use crate::domain::{ApiKey, Id, Keystore, NewUser, Role, User};

/// A statement with its bound values.
type SqliteQuery<'q> = Query<'q, Sqlite, SqliteArguments<'q>>;

/// The schema, applied at every start (`migrations/`).
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating when missing) the database `url` (`sqlite://path` or `sqlite::memory:`) and
    /// applies the embedded migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let pool = sqlite_store::open(url, &MIGRATOR).await?;
        Ok(Self { pool })
    }

    /// Runs `query` and converts the row it finds, if any, with `from_row`.
    async fn find_one<T>(
        &self,
        query: SqliteQuery<'_>,
        from_row: fn(&SqliteRow) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        query
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// Seeding: runs `insert` (binding a fresh id, `unique` and now twice; it must do nothing when
    /// `unique` is taken), then reads the row `select` finds for `unique`.
    async fn insert_if_missing(
        &self,
        insert: &str,
        select: &str,
        unique: &str,
    ) -> StoreResult<SqliteRow> {
        let now = now_millis();
        sqlx::query(insert)
            .bind(Id::generate().to_string())
            .bind(unique)
            .bind(now)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        sqlx::query(select)
            .bind(unique)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)
    }
}

fn now_millis() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn backend(err: sqlx::Error) -> StoreError {
    StoreError::Backend(anyhow::Error::new(err))
}

fn parse_id(row: &SqliteRow, column: &str) -> StoreResult<Id> {
    let text: String = row.try_get(column).map_err(backend)?;
    Id::parse(&text)
        .map_err(|err| StoreError::Backend(anyhow::anyhow!("bad id {text:?} in {column}: {err}")))
}

fn user_from_row(row: &SqliteRow) -> StoreResult<User> {
    let roles: String = row.try_get("roles").map_err(backend)?;
    let role_ids: Vec<String> = serde_json::from_str(&roles)
        .map_err(|err| StoreError::Backend(anyhow::anyhow!("bad roles {roles:?}: {err}")))?;
    let role_ids = role_ids
        .iter()
        .map(|id| Id::parse(id))
        .collect::<Result<_, _>>()
        .map_err(|err| StoreError::Backend(anyhow::anyhow!("bad role id in {roles:?}: {err}")))?;
    Ok(User {
        id: parse_id(row, "id")?,
        name: row.try_get("name").map_err(backend)?,
        email: row.try_get("email").map_err(backend)?,
        password_hash: row.try_get("password").map_err(backend)?,
        profile_pic_url: row.try_get("profile_pic_url").map_err(backend)?,
        role_ids,
        verified: row.try_get("verified").map_err(backend)?,
        status: row.try_get("status").map_err(backend)?,
    })
}

fn role_from_row(row: &SqliteRow) -> StoreResult<Role> {
    Ok(Role {
        id: parse_id(row, "id")?,
        code: row.try_get("code").map_err(backend)?,
        status: row.try_get("status").map_err(backend)?,
    })
}

fn keystore_from_row(row: &SqliteRow) -> StoreResult<Keystore> {
    Ok(Keystore {
        id: parse_id(row, "id")?,
        client: parse_id(row, "client")?,
        primary_key: row.try_get("p_key").map_err(backend)?,
        secondary_key: row.try_get("s_key").map_err(backend)?,
    })
}

fn api_key_from_row(row: &SqliteRow) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: parse_id(row, "id")?,
        key: row.try_get("key").map_err(backend)?,
        status: row.try_get("status").map_err(backend)?,
    })
}

const USER_COLUMNS: &str = "id, name, email, password, profile_pic_url, roles, verified, status";

#[async_trait]
impl AuthStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn find_api_key(&self, key: &str) -> StoreResult<Option<ApiKey>> {
        self.find_one(
            sqlx::query("SELECT id, key, status FROM api_keys WHERE key = ? AND status = 1")
                .bind(key),
            api_key_from_row,
        )
        .await
    }

    async fn find_role_by_code(&self, code: &str) -> StoreResult<Option<Role>> {
        self.find_one(
            sqlx::query("SELECT id, code, status FROM roles WHERE code = ? AND status = 1")
                .bind(code),
            role_from_row,
        )
        .await
    }

    async fn find_roles(&self, ids: &[Id]) -> StoreResult<Vec<Role>> {
        let mut roles = Vec::with_capacity(ids.len());
        for id in ids {
            let query = sqlx::query("SELECT id, code, status FROM roles WHERE id = ?");
            roles.extend(
                self.find_one(query.bind(id.to_string()), role_from_row)
                    .await?,
            );
        }
        Ok(roles)
    }

    async fn find_user_by_id(&self, id: Id) -> StoreResult<Option<User>> {
        self.find_one(
            sqlx::query(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE id = ? AND status = 1"
            ))
            .bind(id.to_string()),
            user_from_row,
        )
        .await
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        self.find_one(
            sqlx::query(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE email = ? AND status = 1"
            ))
            .bind(email),
            user_from_row,
        )
        .await
    }

    async fn insert_user(&self, user: NewUser) -> StoreResult<User> {
        let id = Id::generate();
        let roles: Vec<String> = user.role_ids.iter().map(Id::to_string).collect();
        let roles = serde_json::to_string(&roles)
            .map_err(|err| StoreError::Backend(anyhow::Error::new(err)))?;
        let now = now_millis();
        let result = sqlx::query(
            "INSERT INTO users (id, name, email, password, profile_pic_url, roles, verified, status, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, 0, 1, ?, ?)",
        )
        .bind(id.to_string())
        .bind(&user.name)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(&user.profile_pic_url)
        .bind(&roles)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(User {
                id,
                name: user.name,
                email: user.email,
                password_hash: Some(user.password_hash),
                profile_pic_url: user.profile_pic_url,
                role_ids: user.role_ids,
                verified: false,
                status: true,
            }),
            Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {
                Err(StoreError::Conflict("email"))
            }
            Err(err) => Err(backend(err)),
        }
    }

    async fn insert_keystore(
        &self,
        client: Id,
        primary_key: &str,
        secondary_key: &str,
    ) -> StoreResult<Keystore> {
        let id = Id::generate();
        let now = now_millis();
        sqlx::query(
            "INSERT INTO keystores (id, client, p_key, s_key, status, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
        )
        .bind(id.to_string())
        .bind(client.to_string())
        .bind(primary_key)
        .bind(secondary_key)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(Keystore {
            id,
            client,
            primary_key: primary_key.to_owned(),
            secondary_key: secondary_key.to_owned(),
        })
    }

    async fn find_keystore(&self, client: Id, primary_key: &str) -> StoreResult<Option<Keystore>> {
        let query = sqlx::query(
            "SELECT id, client, p_key, s_key FROM keystores WHERE client = ? AND p_key = ? AND status = 1",
        );
        self.find_one(
            query.bind(client.to_string()).bind(primary_key),
            keystore_from_row,
        )
        .await
    }

    async fn find_keystore_pair(
        &self,
        client: Id,
        primary_key: &str,
        secondary_key: &str,
    ) -> StoreResult<Option<Keystore>> {
        let query = sqlx::query(
            "SELECT id, client, p_key, s_key FROM keystores WHERE client = ? AND p_key = ? AND s_key = ? AND status = 1",
        );
        self.find_one(
            query
                .bind(client.to_string())
                .bind(primary_key)
                .bind(secondary_key),
            keystore_from_row,
        )
        .await
    }

    async fn delete_keystore(&self, id: Id) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM keystores WHERE id = ?")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(result.rows_affected() > 0)
    }

    async fn ensure_role(&self, code: &str) -> StoreResult<Role> {
        let row = self
            .insert_if_missing(
                "INSERT INTO roles (id, code, status, created_at, updated_at) VALUES (?, ?, 1, ?, ?) ON CONFLICT (code) DO NOTHING",
                "SELECT id, code, status FROM roles WHERE code = ?",
                code,
            )
            .await?;
        role_from_row(&row)
    }

    async fn ensure_api_key(&self, key: &str) -> StoreResult<ApiKey> {
        let row = self
            .insert_if_missing(
                "INSERT INTO api_keys (id, key, version, permissions, comments, status, created_at, updated_at) \
                 VALUES (?, ?, 1, '[\"GENERAL\"]', '[\"To be used by the xyz vendor\"]', 1, ?, ?) ON CONFLICT (key) DO NOTHING",
                "SELECT id, key, status FROM api_keys WHERE key = ?",
                key,
            )
            .await?;
        api_key_from_row(&row)
    }

    async fn ensure_user(&self, user: NewUser) -> StoreResult<User> {
        let email = user.email.clone();
        match self.insert_user(user).await {
            Ok(user) => Ok(user),
            Err(StoreError::Conflict(_)) => {
                let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?"))
                    .bind(&email)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(backend)?;
                user_from_row(&row)
            }
            Err(err) => Err(err),
        }
    }
}
