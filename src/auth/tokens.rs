//! JWT access tokens: issued with the HS256 secret, verified with the HS256
//! secret or an identity provider's RS256/ES256 public key chosen by `kid`.
//!
//! The header's `alg` selects the key family, and each key accepts only its
//! own algorithm, so an HS256 token "signed" with a public RSA key (the
//! classic algorithm-confusion attack) fails: the HMAC secret never matches.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use entity::enums::Role;
use entity::ids::{OrganizationId, UserId};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::{AuthSettings, KeyAlgorithm, Settings};

/// Why a token was refused; the message is safe to show the caller.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, an unknown algorithm, or a bad signature.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// `exp` has passed.
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// `iss` is not ours.
    #[error("token issuer not accepted")]
    WrongIssuer,
    /// `aud` is not ours.
    #[error("token audience not accepted")]
    WrongAudience,
}

/// Why the key material could not be loaded at start.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct KeyError {
    /// The setting that names the key.
    pub setting: String,
    /// What is wrong with it.
    pub problem: String,
}

/// The claims fieldsync issues and requires.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Not before, seconds since the epoch.
    pub nbf: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// The organisation, informational: the principal is loaded from the database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// The role, informational: the principal is loaded from the database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// A freshly signed access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// Issues and verifies access tokens. Built once at start; cheap to share.
pub struct TokenService {
    /// Signs tokens from login, refresh and the CLI.
    hmac_encoding: EncodingKey,
    /// Verifies HS256 tokens.
    hmac_decoding: DecodingKey,
    /// Identity provider keys by `kid`, from PEM files and the JWKS file.
    public_keys: HashMap<String, (Algorithm, DecodingKey)>,
    issuer: String,
    audience: String,
    leeway_secs: u64,
    access_ttl_secs: u64,
}

impl TokenService {
    /// Builds the service from settings and the HS256 secret.
    pub fn new(settings: &AuthSettings, hmac_secret: &[u8]) -> Result<Self, KeyError> {
        let key_error = |setting: &str, problem: String| KeyError {
            setting: setting.into(),
            problem,
        };
        let hmac_encoding = EncodingKey::from_secret(hmac_secret)
            .map_err(|e| key_error("auth.jwt_secret", e.to_string()))?;
        let hmac_decoding = DecodingKey::from_secret(hmac_secret)
            .map_err(|e| key_error("auth.jwt_secret", e.to_string()))?;
        let mut public_keys = HashMap::new();
        for (i, key) in settings.public_keys.iter().enumerate() {
            let setting = format!("auth.public_keys[{i}].path");
            let pem = std::fs::read(&key.path)
                .map_err(|e| key_error(&setting, format!("{}: {e}", key.path.display())))?;
            let (alg, decoding) = match key.algorithm {
                KeyAlgorithm::RS256 => (Algorithm::RS256, DecodingKey::from_rsa_pem(&pem)),
                KeyAlgorithm::ES256 => (Algorithm::ES256, DecodingKey::from_ec_pem(&pem)),
            };
            let decoding = decoding.map_err(|e| key_error(&setting, e.to_string()))?;
            public_keys.insert(key.kid.clone(), (alg, decoding));
        }
        if let Some(path) = &settings.jwks_file {
            load_jwks(path, &mut public_keys).map_err(|p| key_error("auth.jwks_file", p))?;
        }
        Ok(Self {
            hmac_encoding,
            hmac_decoding,
            public_keys,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway_secs: settings.leeway_secs,
            access_ttl_secs: settings.access_token_ttl_secs,
        })
    }

    /// Builds the service from full settings, reading or creating the secret.
    pub fn from_settings(settings: &Settings) -> Result<Self, KeyError> {
        let secret = super::secret::hmac_secret(settings)?;
        Self::new(&settings.auth, &secret)
    }

    /// Signs an access token for a user with the configured lifetime.
    pub fn issue(
        &self,
        user: UserId,
        org: OrganizationId,
        role: Role,
    ) -> Result<IssuedToken, jsonwebtoken::errors::Error> {
        self.issue_with_ttl(user, org, role, self.access_ttl_secs)
    }

    /// Signs an access token for a user that lives `ttl_secs`.
    pub fn issue_with_ttl(
        &self,
        user: UserId,
        org: OrganizationId,
        role: Role,
        ttl_secs: u64,
    ) -> Result<IssuedToken, jsonwebtoken::errors::Error> {
        let now = Utc::now();
        let expires_at = now + chrono::Duration::seconds(ttl_secs.min(i64::MAX as u64) as i64);
        let claims = Claims {
            sub: user.to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: expires_at.timestamp(),
            nbf: now.timestamp(),
            iat: now.timestamp(),
            org: Some(org.to_string()),
            role: Some(role),
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.hmac_encoding)?;
        Ok(IssuedToken { token, expires_at })
    }

    /// Verifies signature, `iss`, `aud`, `exp` and `nbf`, and returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| TokenError::Invalid(e.to_string()))?;
        let key = match header.alg {
            Algorithm::HS256 => &self.hmac_decoding,
            Algorithm::RS256 | Algorithm::ES256 => {
                self.public_key(header.alg, header.kid.as_deref())?
            }
            other => {
                return Err(TokenError::Invalid(format!(
                    "algorithm {other:?} not accepted"
                )));
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway_secs;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                    ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                    ErrorKind::InvalidAudience => TokenError::WrongAudience,
                    _ => TokenError::Invalid(e.to_string()),
                }
            })
    }

    /// The identity provider key for `kid`; without a `kid`, the only key of that algorithm.
    fn public_key(&self, alg: Algorithm, kid: Option<&str>) -> Result<&DecodingKey, TokenError> {
        let found = match kid {
            Some(kid) => self.public_keys.get(kid),
            None => {
                let mut same_alg = self.public_keys.values().filter(|(a, _)| *a == alg);
                match (same_alg.next(), same_alg.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        };
        match found {
            Some((key_alg, key)) if *key_alg == alg => Ok(key),
            Some(_) => Err(TokenError::Invalid(
                "algorithm does not match the key".into(),
            )),
            None => Err(TokenError::Invalid("no key for this token".into())),
        }
    }
}

/// Adds the RS256/ES256 keys of a JWKS document to `keys`.
fn load_jwks(
    path: &Path,
    keys: &mut HashMap<String, (Algorithm, DecodingKey)>,
) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let set: JwkSet =
        serde_json::from_str(&text).map_err(|e| format!("not a JWKS document: {e}"))?;
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            return Err("every key needs a kid".into());
        };
        let alg = match &jwk.algorithm {
            jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
            jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
            _ => return Err(format!("key {kid}: only RSA and EC keys are accepted")),
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key {kid}: {e}"))?;
        keys.insert(kid, (alg, key));
    }
    Ok(())
}
