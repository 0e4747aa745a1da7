//! The integration suite: one binary, a real server over real HTTP against a
//! real database (SQLite always; PostgreSQL too when
//! `FIELDSYNC_TEST_POSTGRES_URL` is set).

mod admin;
mod auth;
mod cli;
mod cluster;
mod compliance;
mod conflicts;
mod departures;
mod devices;
mod entity_feed;
mod handoff;
mod helpers;
mod history;
mod http;
mod layers;
mod loadgen;
mod ordering;
mod privacy;
mod push;
mod queues;
mod realtime;
mod schema;
mod subscriptions;
mod sync;
mod visibility;
mod workers;
mod writes;
mod ws;
