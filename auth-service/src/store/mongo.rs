//! The MongoDB backend: gomicro's collections, fields and indexes (spec 3.1), so the service runs on an
//! existing gomicro auth database unchanged (ObjectId ids, bcrypt hashes, `status` flags).
//!
//! Document structs are private to this file; they convert to and from the domain types.

use anyhow::Context;
use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::{
    Client, Collection, Database, IndexModel,
    bson::{DateTime, doc, oid::ObjectId},
    error::{ErrorKind, WriteFailure},
    options::{IndexOptions, ReturnDocument},
};
use serde::{Deserialize, Serialize};

use super::{AuthStore, StoreError, StoreResult};
use crate::domain::{ApiKey, Id, Keystore, NewUser, Role, User};

/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;

/// The MongoDB store.
#[derive(Debug, Clone)]
pub struct MongoStore {
    db: Database,
}

#[derive(Debug, Serialize, Deserialize)]
struct UserDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
    email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    #[serde(
        rename = "profilePicUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    profile_pic_url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    roles: Vec<ObjectId>,
    #[serde(default)]
    verified: bool,
    #[serde(default)]
    status: bool,
    #[serde(rename = "createdAt", default, skip_serializing_if = "Option::is_none")]
    created_at: Option<DateTime>,
    #[serde(rename = "updatedAt", default, skip_serializing_if = "Option::is_none")]
    updated_at: Option<DateTime>,
}

#[derive(Debug, Serialize, Deserialize)]
struct RoleDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    code: String,
    #[serde(default)]
    status: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct KeystoreDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    client: ObjectId,
    #[serde(rename = "pKey")]
    p_key: String,
    #[serde(rename = "sKey")]
    s_key: String,
    status: bool,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "updatedAt")]
    updated_at: DateTime,
}

#[derive(Debug, Serialize, Deserialize)]
struct ApiKeyDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    key: String,
    #[serde(default)]
    status: bool,
}

fn oid(id: Id) -> ObjectId {
    ObjectId::from_bytes(id.bytes())
}

fn id(oid: ObjectId) -> Id {
    Id::from_bytes(oid.bytes())
}

fn backend(err: mongodb::error::Error) -> StoreError {
    StoreError::Backend(anyhow::Error::new(err))
}

fn is_duplicate_key(err: &mongodb::error::Error) -> bool {
    match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(write)) => write.code == DUPLICATE_KEY,
        ErrorKind::Command(command) => command.code == DUPLICATE_KEY,
        _ => false,
    }
}

impl From<UserDoc> for User {
    fn from(doc: UserDoc) -> Self {
        Self {
            id: id(doc.id),
            name: doc.name,
            email: doc.email,
            password_hash: doc.password,
            profile_pic_url: doc.profile_pic_url,
            role_ids: doc.roles.into_iter().map(id).collect(),
            verified: doc.verified,
            status: doc.status,
        }
    }
}

impl From<RoleDoc> for Role {
    fn from(doc: RoleDoc) -> Self {
        Self {
            id: id(doc.id),
            code: doc.code,
            status: doc.status,
        }
    }
}

impl From<KeystoreDoc> for Keystore {
    fn from(doc: KeystoreDoc) -> Self {
        Self {
            id: id(doc.id),
            client: id(doc.client),
            primary_key: doc.p_key,
            secondary_key: doc.s_key,
        }
    }
}

impl From<ApiKeyDoc> for ApiKey {
    fn from(doc: ApiKeyDoc) -> Self {
        Self {
            id: id(doc.id),
            key: doc.key,
            status: doc.status,
        }
    }
}

impl MongoStore {
    /// Connects to `url`, whose path names the database (`mongodb://host/auth-dev-db`), pings it and,
    /// when `create_indexes`, creates gomicro's indexes (skipped in test mode, as gomicro does).
    pub async fn connect(url: &str, create_indexes: bool) -> anyhow::Result<Self> {
        let client = Client::with_uri_str(url)
            .await
            .context("parse the MongoDB URL")?;
        let db = client.default_database().context(
            "DATABASE_URL must name the database, e.g. mongodb://host:27017/auth-dev-db",
        )?;
        Self::open(db, create_indexes).await
    }

    /// Connects to `url` but uses the database `name` (tests use a fresh one each).
    pub async fn connect_to(url: &str, name: &str, create_indexes: bool) -> anyhow::Result<Self> {
        let client = Client::with_uri_str(url)
            .await
            .context("parse the MongoDB URL")?;
        Self::open(client.database(name), create_indexes).await
    }

    async fn open(db: Database, create_indexes: bool) -> anyhow::Result<Self> {
        let store = Self { db };
        store.ping().await.context("ping mongo")?;
        if create_indexes {
            store
                .create_indexes()
                .await
                .context("create mongo indexes")?;
        }
        Ok(store)
    }

    /// Drops the whole database (test clean-up).
    pub async fn drop_database(&self) -> anyhow::Result<()> {
        self.db.drop().await.context("drop the test database")
    }

    fn users(&self) -> Collection<UserDoc> {
        self.db.collection("users")
    }
    fn roles(&self) -> Collection<RoleDoc> {
        self.db.collection("roles")
    }
    fn keystores(&self) -> Collection<KeystoreDoc> {
        self.db.collection("keystores")
    }
    fn api_keys(&self) -> Collection<ApiKeyDoc> {
        self.db.collection("api_keys")
    }

    /// gomicro's indexes (spec 3.1), including its `{code:1, status:1}` on `api_keys`.
    async fn create_indexes(&self) -> anyhow::Result<()> {
        let plain = |keys| IndexModel::builder().keys(keys).build();
        let unique = |keys| {
            IndexModel::builder()
                .keys(keys)
                .options(IndexOptions::builder().unique(true).build())
                .build()
        };
        self.api_keys()
            .create_indexes([
                plain(doc! {"code": 1, "status": 1}),
                unique(doc! {"key": 1}),
            ])
            .await?;
        self.keystores()
            .create_indexes([
                plain(doc! {"client": 1, "pKey": 1, "status": 1}),
                plain(doc! {"client": 1, "pKey": 1, "sKey": 1, "status": 1}),
            ])
            .await?;
        self.users()
            .create_indexes([
                plain(doc! {"_id": 1, "status": 1}),
                plain(doc! {"email": 1, "status": 1}),
                unique(doc! {"email": 1}),
            ])
            .await?;
        self.roles()
            .create_indexes([
                plain(doc! {"_id": 1, "status": 1}),
                plain(doc! {"code": 1, "status": 1}),
                unique(doc! {"code": 1}),
            ])
            .await?;
        Ok(())
    }
}

#[async_trait]
impl AuthStore for MongoStore {
    async fn ping(&self) -> StoreResult<()> {
        self.db
            .run_command(doc! {"ping": 1})
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn find_api_key(&self, key: &str) -> StoreResult<Option<ApiKey>> {
        let found = self
            .api_keys()
            .find_one(doc! {"key": key, "status": true})
            .await
            .map_err(backend)?;
        Ok(found.map(Into::into))
    }

    async fn find_role_by_code(&self, code: &str) -> StoreResult<Option<Role>> {
        let found = self
            .roles()
            .find_one(doc! {"code": code, "status": true})
            .await
            .map_err(backend)?;
        Ok(found.map(Into::into))
    }

    async fn find_roles(&self, ids: &[Id]) -> StoreResult<Vec<Role>> {
        let oids: Vec<ObjectId> = ids.iter().copied().map(oid).collect();
        let docs: Vec<RoleDoc> = self
            .roles()
            .find(doc! {"_id": {"$in": &oids}})
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        let mut roles: Vec<Role> = docs.into_iter().map(Into::into).collect();
        roles.sort_by_key(|role| ids.iter().position(|id| *id == role.id));
        Ok(roles)
    }

    async fn find_user_by_id(&self, user_id: Id) -> StoreResult<Option<User>> {
        let found = self
            .users()
            .find_one(doc! {"_id": oid(user_id), "status": true})
            .await
            .map_err(backend)?;
        Ok(found.map(Into::into))
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let found = self
            .users()
            .find_one(doc! {"email": email, "status": true})
            .await
            .map_err(backend)?;
        Ok(found.map(Into::into))
    }

    async fn insert_user(&self, user: NewUser) -> StoreResult<User> {
        let now = DateTime::now();
        let doc = UserDoc {
            id: ObjectId::new(),
            name: user.name,
            email: user.email,
            password: Some(user.password_hash),
            profile_pic_url: user.profile_pic_url,
            roles: user.role_ids.into_iter().map(oid).collect(),
            verified: false,
            status: true,
            created_at: Some(now),
            updated_at: Some(now),
        };
        match self.users().insert_one(&doc).await {
            Ok(_) => Ok(doc.into()),
            Err(err) if is_duplicate_key(&err) => Err(StoreError::Conflict("email")),
            Err(err) => Err(backend(err)),
        }
    }

    async fn insert_keystore(
        &self,
        client: Id,
        primary_key: &str,
        secondary_key: &str,
    ) -> StoreResult<Keystore> {
        let now = DateTime::now();
        let doc = KeystoreDoc {
            id: ObjectId::new(),
            client: oid(client),
            p_key: primary_key.to_owned(),
            s_key: secondary_key.to_owned(),
            status: true,
            created_at: now,
            updated_at: now,
        };
        self.keystores().insert_one(&doc).await.map_err(backend)?;
        Ok(doc.into())
    }

    async fn find_keystore(&self, client: Id, primary_key: &str) -> StoreResult<Option<Keystore>> {
        let found = self
            .keystores()
            .find_one(doc! {"client": oid(client), "pKey": primary_key, "status": true})
            .await
            .map_err(backend)?;
        Ok(found.map(Into::into))
    }

    async fn find_keystore_pair(
        &self,
        client: Id,
        primary_key: &str,
        secondary_key: &str,
    ) -> StoreResult<Option<Keystore>> {
        let found = self
            .keystores()
            .find_one(doc! {"client": oid(client), "pKey": primary_key, "sKey": secondary_key, "status": true})
            .await
            .map_err(backend)?;
        Ok(found.map(Into::into))
    }

    async fn delete_keystore(&self, keystore: Id) -> StoreResult<bool> {
        let result = self
            .keystores()
            .delete_one(doc! {"_id": oid(keystore)})
            .await
            .map_err(backend)?;
        Ok(result.deleted_count > 0)
    }

    async fn ensure_role(&self, code: &str) -> StoreResult<Role> {
        let now = DateTime::now();
        let found = self
            .roles()
            .find_one_and_update(
                doc! {"code": code},
                doc! {"$setOnInsert": {"status": true, "createdAt": now, "updatedAt": now}},
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(backend)?;
        found.map(Into::into).ok_or_else(|| {
            StoreError::Backend(anyhow::anyhow!("upsert of role {code} returned nothing"))
        })
    }

    async fn ensure_api_key(&self, key: &str) -> StoreResult<ApiKey> {
        let now = DateTime::now();
        let found = self
            .api_keys()
            .find_one_and_update(
                doc! {"key": key},
                doc! {"$setOnInsert": {
                    "version": 1, "permissions": ["GENERAL"],
                    "comments": ["To be used by the xyz vendor"], "status": true,
                    "createdAt": now, "updatedAt": now,
                }},
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(backend)?;
        found.map(Into::into).ok_or_else(|| {
            StoreError::Backend(anyhow::anyhow!("upsert of the api key returned nothing"))
        })
    }

    async fn ensure_user(&self, user: NewUser) -> StoreResult<User> {
        if let Some(existing) = self
            .users()
            .find_one(doc! {"email": &user.email})
            .await
            .map_err(backend)?
        {
            return Ok(existing.into());
        }
        let email = user.email.clone();
        match self.insert_user(user).await {
            Err(StoreError::Conflict(_)) => self
                .users()
                .find_one(doc! {"email": email})
                .await
                .map_err(backend)?
                .map(Into::into)
                .ok_or_else(|| {
                    StoreError::Backend(anyhow::anyhow!("user vanished during seeding"))
                }),
            other => other,
        }
    }
}
