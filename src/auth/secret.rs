//! The HS256 secret: the configured one, or one generated on first start and
//! kept in a file beside the database so tokens survive restarts. There is
//! never a secret compiled into the binary.

use std::io::Write;

use base64::Engine;
use rand::RngCore;

use super::tokens::KeyError;
use crate::config::Settings;

/// Returns the configured secret, or reads (creating if absent) the secret file.
pub fn hmac_secret(settings: &Settings) -> Result<Vec<u8>, KeyError> {
    if let Some(secret) = &settings.auth.jwt_secret {
        return Ok(secret.as_bytes().to_vec());
    }
    let path = settings.secret_file();
    let error = |problem: String| KeyError {
        setting: "auth.secret_file".into(),
        problem: format!("{}: {problem}", path.display()),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 32 => return Ok(text.trim().as_bytes().to_vec()),
        Ok(_) => return Err(error("holds fewer than 32 bytes".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(error(e.to_string())),
    }
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(|e| error(e.to_string()))?;
    file.write_all(secret.as_bytes())
        .map_err(|e| error(e.to_string()))?;
    tracing::info!(path = %path.display(), "generated a new JWT secret");
    Ok(secret.into_bytes())
}
