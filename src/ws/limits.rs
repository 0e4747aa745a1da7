//! Per-user connection counting: each authenticated socket holds a
//! [`ConnectionSlot`] for as long as it lives.
//!
//! The count is per process: with several instances behind a balancer a user
//! may hold up to `max_connections_per_user` on each.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use entity::ids::UserId;

/// Open connections per user. Cheap to clone.
///
/// A std `Mutex` rather than tokio's: it is held for one map update and
/// never across an `.await`.
#[derive(Debug, Clone, Default)]
pub struct ConnectionCounts(Arc<Mutex<HashMap<UserId, usize>>>);

impl ConnectionCounts {
    /// Takes one of `user`'s `max` slots; `None` when all are taken.
    pub fn acquire(&self, user: UserId, max: usize) -> Option<ConnectionSlot> {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(user).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            counts: self.clone(),
            user,
        })
    }

    /// How many connections `user` holds now.
    pub fn count(&self, user: UserId) -> usize {
        let counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        counts.get(&user).copied().unwrap_or(0)
    }
}

/// One connection of one user; dropping it frees the slot.
#[derive(Debug)]
pub struct ConnectionSlot {
    counts: ConnectionCounts,
    user: UserId,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.user);
            }
        }
    }
}
