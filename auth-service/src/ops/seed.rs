//! `auth-service seed`: what gomicro's `auth-init-mongo.js` inserts (spec 3.3), idempotently.
//!
//! The admin's password is no public default outside tests: `ADMIN_PASSWORD` when given, else one
//! generated here and shown once by the command line; only test mode keeps the contract's
//! `changeit` (see [`AdminPassword::choose`]).

use rand::{Rng, distr::Alphanumeric};
use shared::config::RunMode;

use super::password;
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
/// Length of a generated admin password, in characters of `[A-Za-z0-9]` (about 119 bits).
pub const GENERATED_PASSWORD_LEN: usize = 20;

/// The password the admin is created with (an existing admin keeps theirs).
#[derive(Clone, PartialEq, Eq)]
pub enum AdminPassword {
    /// The contract's `changeit` (spec 3.3), stored as gomicro's cost-10 hash. Test mode only.
    ContractDefault,
    /// Chosen by the operator (`ADMIN_PASSWORD`).
    Given(String),
    /// Random, made by [`AdminPassword::generate`]; the caller shows it once.
    Generated(String),
}

impl std::fmt::Debug for AdminPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ContractDefault => "ContractDefault",
            Self::Given(_) => "Given(<redacted>)",
            Self::Generated(_) => "Generated(<redacted>)",
        })
    }
}

impl AdminPassword {
    /// `given` when set; otherwise `changeit` in test mode and a fresh random password in every
    /// other mode.
    pub fn choose(mode: RunMode, given: Option<String>) -> Self {
        match (given, mode) {
            (Some(password), _) => Self::Given(password),
            (None, RunMode::Test) => Self::ContractDefault,
            (None, RunMode::Debug | RunMode::Release) => Self::generate(),
        }
    }

    /// [`GENERATED_PASSWORD_LEN`] random URL-safe characters.
    pub fn generate() -> Self {
        let password = rand::rng()
            .sample_iter(Alphanumeric)
            .take(GENERATED_PASSWORD_LEN)
            .map(char::from)
            .collect();
        Self::Generated(password)
    }

    /// The bcrypt hash to store.
    async fn hash(&self, bcrypt_cost: u32) -> anyhow::Result<String> {
        match self {
            Self::ContractDefault => Ok(ADMIN_PASSWORD_HASH.to_owned()),
            Self::Given(password) | Self::Generated(password) => {
                password::hash(password.clone(), bcrypt_cost).await
            }
        }
    }
}

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedPlan<'a> {
    /// The API key to insert.
    pub api_key: &'a str,
    /// The admin's password, if the admin is created.
    pub admin_password: AdminPassword,
    /// bcrypt cost of the admin's hash (`BCRYPT_COST`, D8).
    pub bcrypt_cost: u32,
}

/// What seeding did that the caller must tell the operator.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SeedOutcome {
    /// The generated password, when the admin was created with it (shown once, stored hashed).
    pub generated_password: Option<String>,
}

impl std::fmt::Debug for SeedOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedOutcome")
            .field(
                "generated_password",
                &self.generated_password.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Inserts whatever is missing: the four roles, the API key, and the admin holding all four roles.
/// An existing admin is left as it is, password included.
#[tracing::instrument(skip_all, err)]
pub async fn seed(store: &dyn AuthStore, plan: SeedPlan<'_>) -> anyhow::Result<SeedOutcome> {
    let mut role_ids = Vec::new();
    for code in RoleCode::ALL {
        role_ids.push(store.ensure_role(code.as_str()).await?.id);
    }
    store.ensure_api_key(plan.api_key).await?;
    let password_hash = plan.admin_password.hash(plan.bcrypt_cost).await?;
    let admin = store
        .ensure_user(NewUser {
            name: "Admin".to_owned(),
            email: ADMIN_EMAIL.to_owned(),
            password_hash: password_hash.clone(),
            profile_pic_url: None,
            role_ids,
        })
        .await?;
    // each hash has its own salt: the stored hash is ours only if this call inserted the admin
    let created = admin.password_hash.as_deref() == Some(password_hash.as_str());
    tracing::info!(admin = %admin.id, created, password = ?plan.admin_password, "seeded roles, api key and admin");
    Ok(SeedOutcome {
        generated_password: match plan.admin_password {
            AdminPassword::Generated(password) if created => Some(password),
            _ => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_test_mode_keeps_changeit_and_a_given_password_always_wins() {
        let given = || Some("chosen-secret".to_owned());
        for mode in [RunMode::Debug, RunMode::Release, RunMode::Test] {
            assert_eq!(
                AdminPassword::choose(mode, given()),
                AdminPassword::Given("chosen-secret".to_owned()),
                "{mode:?}"
            );
        }
        assert_eq!(
            AdminPassword::choose(RunMode::Test, None),
            AdminPassword::ContractDefault
        );
        for mode in [RunMode::Debug, RunMode::Release] {
            let AdminPassword::Generated(password) = AdminPassword::choose(mode, None) else {
                panic!("{mode:?} generates a password");
            };
            assert_eq!(password.len(), GENERATED_PASSWORD_LEN);
            assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
        }
        assert_ne!(AdminPassword::generate(), AdminPassword::generate());
        assert!(!format!("{:?}", AdminPassword::choose(RunMode::Test, given())).contains("chosen"));
    }
}
