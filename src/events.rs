//! The live side of the change log: the [`hub`] tails it once per process
//! and broadcasts each committed row, and each subscription's [`feed`]
//! replays what its subscriber missed, then filters the live rows through
//! the subscriber's view (`domain::visibility`).

pub mod feed;
pub mod hub;
