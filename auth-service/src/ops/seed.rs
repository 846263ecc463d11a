//! `auth-service seed`: what gomicro's `auth-init-mongo.js` inserts (spec 3.3), idempotently.

use crate::{
    domain::{NewUser, RoleCode},
    store::AuthStore,
};

/// The API key of gomicro's seed.
pub const DEFAULT_API_KEY: &str = "1D3F2DD1A5DE725DD4DF1D82BBB37";
/// The seeded administrator.
pub const ADMIN_EMAIL: &str = "admin@afteracademy.com";
/// bcrypt (cost 10) of `changeit`, as in gomicro's seed.
const ADMIN_PASSWORD_HASH: &str = "$2a$10$psWmSrmtyZYvtIt/FuJL1OLqsK3iR1fZz5.wUYFuSNkkt.EOX9mLa";

/// Inserts whatever is missing: the four roles, `api_key`, and the admin holding all four roles.
#[tracing::instrument(skip_all, err)]
pub async fn seed(store: &dyn AuthStore, api_key: &str) -> anyhow::Result<()> {
    let mut role_ids = Vec::new();
    for code in RoleCode::ALL {
        role_ids.push(store.ensure_role(code.as_str()).await?.id);
    }
    store.ensure_api_key(api_key).await?;
    let admin = store
        .ensure_user(NewUser {
            name: "Admin".to_owned(),
            email: ADMIN_EMAIL.to_owned(),
            password_hash: ADMIN_PASSWORD_HASH.to_owned(),
            profile_pic_url: None,
            role_ids,
        })
        .await?;
    tracing::info!(admin = %admin.id, "seeded roles, api key and admin");
    Ok(())
}
