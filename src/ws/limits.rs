//! Per-user connection registry: each authenticated socket holds a
//! [`ConnectionSlot`] for as long as it lives, which both counts it against
//! the user's limit and lets the server close every socket of a user at
//! once (when the account is deactivated).
//!
//! The count is per process: with several instances behind a balancer a user
//! may hold up to `max_connections_per_user` on each.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use entity::ids::UserId;

use super::send_queue::SendQueue;

/// Distinguishes the connections of one user.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Open connections per user. Cheap to clone.
///
/// A std `Mutex` rather than tokio's: it is held for one map update and
/// never across an `.await`.
#[derive(Debug, Clone, Default)]
pub struct ConnectionCounts(Arc<Mutex<HashMap<UserId, HashMap<u64, SendQueue>>>>);

impl ConnectionCounts {
    /// Takes one of `user`'s `max` slots for the connection writing to
    /// `sends`; `None` when all are taken.
    pub fn acquire(&self, user: UserId, max: usize, sends: SendQueue) -> Option<ConnectionSlot> {
        let mut users = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let open = users.entry(user).or_default();
        if open.len() >= max {
            return None;
        }
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        open.insert(id, sends);
        Some(ConnectionSlot {
            counts: self.clone(),
            user,
            id,
        })
    }

    /// Closes every connection of `user` with `code` and `reason`.
    pub fn close_user(&self, user: UserId, code: u16, reason: &str) {
        let outboxes: Vec<SendQueue> = {
            let users = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            users
                .get(&user)
                .map(|open| open.values().cloned().collect())
                .unwrap_or_default()
        };
        for sends in outboxes {
            sends.close(code, reason);
        }
    }
}

/// One connection of one user; dropping it frees the slot.
#[derive(Debug)]
pub struct ConnectionSlot {
    counts: ConnectionCounts,
    user: UserId,
    id: u64,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut users = self.counts.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(open) = users.get_mut(&self.user) {
            open.remove(&self.id);
            if open.is_empty() {
                users.remove(&self.user);
            }
        }
    }
}
