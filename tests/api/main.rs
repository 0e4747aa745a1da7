//! The integration suite: one binary, a real server over real HTTP against a
//! real database (SQLite always; PostgreSQL too when
//! `FIELDSYNC_TEST_POSTGRES_URL` is set).

mod auth;
mod cli;
mod helpers;
mod http;
mod schema;
mod visibility;
