//! How much sign-in work anyone can ask for: attempts per email and per
//! client address (governor's keyed limiters), and password checks (argon2,
//! tens of milliseconds of CPU and 19 MiB each) bounded by a semaphore sized
//! to the machine, so a flood of logins cannot starve everyone else.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::config::AuthSettings;
use crate::error::{Error, Result};

/// The sign-in limits of one server process.
pub struct SignInThrottle {
    per_email: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    checks: Semaphore,
    wait: Duration,
    /// Attempts since the limiters last forgot idle keys.
    since_pruned: AtomicU32,
}

/// How many attempts pass between two prunings of the limiters' keys.
const PRUNE_EVERY: u32 = 4096;

impl SignInThrottle {
    /// Limits as `settings` configure them; `password_checks_at_once = 0`
    /// means one per core.
    pub fn new(settings: &AuthSettings) -> Self {
        let quota = |per_minute: u32| {
            Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN))
        };
        let at_once = match settings.password_checks_at_once {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        Self {
            per_email: RateLimiter::keyed(quota(settings.sign_ins_per_email_per_minute)),
            per_address: RateLimiter::keyed(quota(settings.sign_ins_per_address_per_minute)),
            checks: Semaphore::new(at_once),
            wait: Duration::from_millis(settings.password_check_wait_ms),
            since_pruned: AtomicU32::new(0),
        }
    }

    /// Counts a sign-in attempt from `address` (when known) and, for a
    /// login, for `email`; `RATE_LIMITED` once either is over its quota.
    /// Unknown emails count like known ones, so the answer tells nothing.
    pub fn attempt(&self, address: Option<IpAddr>, email: Option<&str>) -> Result<()> {
        if self.since_pruned.fetch_add(1, Ordering::Relaxed) + 1 >= PRUNE_EVERY {
            self.since_pruned.store(0, Ordering::Relaxed);
            self.forget_idle();
        }
        let now = DefaultClock::default().now();
        if let Some(address) = address
            && let Err(not_until) = self.per_address.check_key(&address)
        {
            return Err(Error::RateLimited {
                retry_after: not_until.wait_time_from(now),
            });
        }
        if let Some(email) = email
            && let Err(not_until) = self.per_email.check_key(&email.to_owned())
        {
            return Err(Error::RateLimited {
                retry_after: not_until.wait_time_from(now),
            });
        }
        Ok(())
    }

    /// A turn to check a password: waits briefly for one, then answers
    /// `RATE_LIMITED` rather than queueing without bound.
    pub async fn password_check(&self) -> Result<SemaphorePermit<'_>> {
        match tokio::time::timeout(self.wait, self.checks.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(Error::Internal(
                "the password-check semaphore is closed".into(),
            )),
            Err(_) => Err(Error::RateLimited {
                retry_after: Duration::from_secs(1),
            }),
        }
    }

    /// Forgets keys whose quota is full again, so memory follows the
    /// recent attempts, not every email ever tried.
    fn forget_idle(&self) {
        self.per_email.retain_recent();
        self.per_email.shrink_to_fit();
        self.per_address.retain_recent();
        self.per_address.shrink_to_fit();
    }
}
