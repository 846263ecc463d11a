//! JWT access and refresh tokens (spec 4.1, 4.2): RS256 only, keys from PEM files.
//!
//! Verification errors read like golang-jwt v5's, because clients see them verbatim (spec 1.2):
//! `token is malformed: ...`, `token signature is invalid: ...`, `token has invalid claims: ...`.
//! Only RS256 is accepted: `none`, HMAC (e.g. HS256 signed with the public key) and other RSA
//! algorithms are rejected before any signature check.

use std::path::Path;

use anyhow::Context;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

use crate::domain::Id;

/// The signing and verifying keys plus the claim settings.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// `TOKEN_ISSUER`.
    issuer: String,
    /// `TOKEN_AUDIENCE`.
    audience: String,
    /// `ACCESS_TOKEN_VALIDITY_SEC`.
    access_validity_secs: i64,
    /// `REFRESH_TOKEN_VALIDITY_SEC`.
    refresh_validity_secs: i64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// Claim settings of [`TokenKeys`].
#[derive(Debug, Clone)]
pub struct ClaimSettings {
    /// `iss`.
    pub issuer: String,
    /// `aud[0]`.
    pub audience: String,
    /// Access token lifetime, seconds.
    pub access_validity_secs: i64,
    /// Refresh token lifetime, seconds.
    pub refresh_validity_secs: i64,
}

/// The claims as signed, in gomicro's order: `iss, sub, aud, exp, nbf, iat, jti`.
#[derive(Debug, Serialize)]
struct SignedClaims<'a> {
    iss: &'a str,
    sub: String,
    aud: [&'a str; 1],
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: &'a str,
}

/// `aud` as golang-jwt reads it: one string or an array.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Claims as read from a token; anything may be missing.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<f64>,
    nbf: Option<f64>,
    jti: Option<String>,
}

/// Claims that passed the custom check (spec 4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidClaims {
    /// `sub`: the user id.
    pub subject: Id,
    /// `jti`: the keystore key.
    pub token_id: String,
}

impl Claims {
    /// gomicro's `ValidateClaims`: issuer and audience match, `sub` is a 24-hex id, `nbf`/`exp`
    /// present, `jti` non-empty.
    pub fn check(&self, keys: &TokenKeys) -> Option<ValidClaims> {
        let audience_ok = match &self.aud {
            Some(Audience::One(aud)) => *aud == keys.audience,
            Some(Audience::Many(aud)) => aud.first() == Some(&keys.audience),
            None => false,
        };
        let issuer_ok = self.iss.as_deref() == Some(keys.issuer.as_str());
        let subject = self.sub.as_deref().and_then(|sub| Id::parse(sub).ok())?;
        let token_id = self.jti.clone().filter(|jti| !jti.is_empty())?;
        (audience_ok && issuer_ok && self.nbf.is_some() && self.exp.is_some())
            .then_some(ValidClaims { subject, token_id })
    }
}

/// Why a token failed verification; `Display` is golang-jwt's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Structure, base64 or JSON problems.
    #[error("token is malformed: {0}")]
    Malformed(String),
    /// Signature or algorithm problems.
    #[error("token signature is invalid: {0}")]
    Signature(String),
    /// An algorithm nobody knows.
    #[error("token is unverifiable: {0}")]
    Unverifiable(String),
    /// `exp`/`nbf` problems.
    #[error("token has invalid claims: {0}")]
    Claims(String),
}

/// A fresh access/refresh pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// Access token (`jti` = keystore `pKey`).
    pub access_token: String,
    /// Refresh token (`jti` = keystore `sKey`).
    pub refresh_token: String,
}

fn decode_segment(segment: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok()
}

impl TokenKeys {
    /// Reads the PEM key files (private: PKCS#1 or PKCS#8; public: PKIX or PKCS#1).
    pub fn load(
        private_key: &Path,
        public_key: &Path,
        claims: ClaimSettings,
    ) -> anyhow::Result<Self> {
        let private_pem = std::fs::read(private_key)
            .with_context(|| format!("read RSA private key {}", private_key.display()))?;
        let public_pem = std::fs::read(public_key)
            .with_context(|| format!("read RSA public key {}", public_key.display()))?;
        Ok(Self {
            encoding: EncodingKey::from_rsa_pem(&private_pem)
                .with_context(|| format!("parse RSA private key {}", private_key.display()))?,
            decoding: DecodingKey::from_rsa_pem(&public_pem)
                .with_context(|| format!("parse RSA public key {}", public_key.display()))?,
            issuer: claims.issuer,
            audience: claims.audience,
            access_validity_secs: claims.access_validity_secs,
            refresh_validity_secs: claims.refresh_validity_secs,
        })
    }

    /// Signs an access and a refresh token for `user` with the keystore keys as `jti`s.
    pub fn issue(
        &self,
        user: Id,
        primary_key: &str,
        secondary_key: &str,
    ) -> anyhow::Result<TokenPair> {
        Ok(TokenPair {
            access_token: self.sign(user, primary_key, self.access_validity_secs)?,
            refresh_token: self.sign(user, secondary_key, self.refresh_validity_secs)?,
        })
    }

    fn sign(&self, user: Id, jti: &str, validity_secs: i64) -> anyhow::Result<String> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = SignedClaims {
            iss: &self.issuer,
            sub: user.to_string(),
            aud: [&self.audience],
            exp: now + validity_secs,
            nbf: now,
            iat: now,
            jti,
        };
        // gomicro's header bytes exactly: `{"alg":"RS256","typ":"JWT"}` (jsonwebtoken's own Header
        // serialises `typ` first)
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).context("encode claims")?);
        let message = format!("{header}.{payload}");
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, Algorithm::RS256)
                .context("sign token")?;
        Ok(format!("{message}.{signature}"))
    }

    /// Fully verifies `token`: RS256 signature, then `exp` and `nbf` (no leeway).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let segments: Vec<&str> = token.split('.').collect();
        if segments.len() != 3 {
            return Err(TokenError::Malformed(
                "token contains an invalid number of segments".into(),
            ));
        }
        let header = decode_segment(segments[0])
            .ok_or_else(|| TokenError::Malformed("could not base64 decode header".into()))?;
        let header: serde_json::Value = serde_json::from_slice(&header)
            .map_err(|_| TokenError::Malformed("could not JSON decode header".into()))?;
        let claims = decode_segment(segments[1])
            .ok_or_else(|| TokenError::Malformed("could not base64 decode claim".into()))?;
        serde_json::from_slice::<Claims>(&claims)
            .map_err(|_| TokenError::Malformed("could not JSON decode claim".into()))?;
        match header
            .get("alg")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
        {
            "RS256" => {}
            "none" => {
                return Err(TokenError::Signature(
                    "'none' signature type is not allowed".into(),
                ));
            }
            alg if alg.starts_with("HS") => {
                return Err(TokenError::Signature("key is of invalid type".into()));
            }
            alg if [
                "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
            ]
            .contains(&alg) =>
            {
                return Err(TokenError::Signature(format!(
                    "signing method {alg} is invalid"
                )));
            }
            alg => {
                return Err(TokenError::Unverifiable(format!(
                    "signing method {alg} is unavailable"
                )));
            }
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                ErrorKind::InvalidSignature => {
                    TokenError::Signature("crypto/rsa: verification error".into())
                }
                ErrorKind::ExpiredSignature => TokenError::Claims("token is expired".into()),
                ErrorKind::ImmatureSignature => TokenError::Claims("token is not valid yet".into()),
                ErrorKind::InvalidAlgorithm => {
                    TokenError::Signature("signing method is invalid".into())
                }
                _ => TokenError::Malformed(err.to_string()),
            })
    }

    /// Reads the claims of `token` without verifying anything (refresh, spec 1.1 step 2); a token
    /// whose claims cannot be read yields empty claims, which fail [`Claims::check`].
    pub fn decode_unverified(token: &str) -> Claims {
        let segments: Vec<&str> = token.split('.').collect();
        if segments.len() != 3 {
            return Claims::default();
        }
        decode_segment(segments[1])
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
pub(crate) mod test_keys {
    //! One RSA pair per test binary (generating one takes a moment).

    use std::sync::LazyLock;

    /// `(private PKCS#1 PEM, public PKIX PEM)`.
    pub static PAIR: LazyLock<(String, String)> =
        LazyLock::new(|| crate::keygen::generate_pem_pair(2048).expect("generate test keys"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (TokenKeys, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = &*test_keys::PAIR;
        std::fs::write(dir.path().join("private.pem"), private).unwrap();
        std::fs::write(dir.path().join("public.pem"), public).unwrap();
        let keys = TokenKeys::load(
            &dir.path().join("private.pem"),
            &dir.path().join("public.pem"),
            ClaimSettings {
                issuer: "iss".into(),
                audience: "aud".into(),
                access_validity_secs: 60,
                refresh_validity_secs: 120,
            },
        )
        .unwrap();
        (keys, dir)
    }

    fn b64(value: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_contract_claims() {
        let (keys, _dir) = keys();
        let user = Id::generate();
        let pair = keys.issue(user, "pk", "sk").unwrap();
        let claims = keys.verify(&pair.access_token).unwrap();
        let valid = claims.check(&keys).unwrap();
        assert_eq!(
            valid,
            ValidClaims {
                subject: user,
                token_id: "pk".into()
            }
        );
        let payload = pair.access_token.split('.').nth(1).unwrap();
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let keys_in_order: Vec<&str> = [
            "\"iss\"",
            "\"sub\"",
            "\"aud\":[\"aud\"]",
            "\"exp\"",
            "\"nbf\"",
            "\"iat\"",
            "\"jti\"",
        ]
        .to_vec();
        let positions: Vec<usize> = keys_in_order
            .iter()
            .map(|k| json.find(k).unwrap_or_else(|| panic!("{k} in {json}")))
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "claim order in {json}"
        );
        let header = pair.access_token.split('.').next().unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(header).unwrap(),
            br#"{"alg":"RS256","typ":"JWT"}"#
        );
    }

    #[test]
    fn forged_and_broken_tokens_get_golang_jwt_texts() {
        let (keys, _dir) = keys();
        let pair = keys.issue(Id::generate(), "pk", "sk").unwrap();
        let parts: Vec<&str> = pair.access_token.split('.').collect();
        let none = format!(
            "{}.{}.",
            b64(&serde_json::json!({"alg":"none","typ":"JWT"})),
            parts[1]
        );
        let hs = format!(
            "{}.{}.{}",
            b64(&serde_json::json!({"alg":"HS256","typ":"JWT"})),
            parts[1],
            parts[2]
        );
        let tampered = format!("{}.{}!.{}", parts[0], parts[1], parts[2]);
        let cases = [
            (
                "",
                "token is malformed: token contains an invalid number of segments",
            ),
            (
                "a.b",
                "token is malformed: token contains an invalid number of segments",
            ),
            (
                "!!.b.c",
                "token is malformed: could not base64 decode header",
            ),
            (
                none.as_str(),
                "token signature is invalid: 'none' signature type is not allowed",
            ),
            (
                hs.as_str(),
                "token signature is invalid: key is of invalid type",
            ),
            (
                tampered.as_str(),
                "token is malformed: could not base64 decode claim",
            ),
        ];
        for (token, expected) in cases {
            assert_eq!(
                keys.verify(token).unwrap_err().to_string(),
                expected,
                "token {token:?}"
            );
        }
        let resigned = format!(
            "{}.{}.{}",
            parts[0],
            b64(&serde_json::json!({"sub":"x"})),
            parts[2]
        );
        assert_eq!(
            keys.verify(&resigned).unwrap_err().to_string(),
            "token signature is invalid: crypto/rsa: verification error"
        );
    }

    #[test]
    fn expired_tokens_are_rejected_and_unverified_decode_still_reads_them() {
        let (mut keys, _dir) = keys();
        keys.access_validity_secs = -10;
        let user = Id::generate();
        let pair = keys.issue(user, "pk", "sk").unwrap();
        assert_eq!(
            keys.verify(&pair.access_token).unwrap_err().to_string(),
            "token has invalid claims: token is expired"
        );
        let claims = TokenKeys::decode_unverified(&pair.access_token);
        assert_eq!(claims.check(&keys).unwrap().subject, user);
        assert!(
            TokenKeys::decode_unverified("garbage")
                .check(&keys)
                .is_none()
        );
    }
}
