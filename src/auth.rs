//! Who is calling: access tokens (HS256 from us, RS256/ES256 from an identity
//! provider), the principal loaded from the database, built-in login with
//! rotating refresh tokens, password hashing, and the limits on sign-in work.

pub mod password;
pub mod principal;
pub mod secret;
pub mod session;
pub mod throttle;
pub mod tokens;

pub use principal::Principal;
pub use tokens::TokenService;
