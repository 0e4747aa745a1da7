//! Offline sync: batches of queued operations replayed in order
//! (`syncPush`, [`batch`]) and the delta pull of every change since a cursor
//! (`syncPull`, [`pull`]). Each operation of a batch goes through the write
//! path of [`crate::domain::operations`].

pub mod batch;
pub mod pull;
