//! bunq's `/session-server` rate limit (one call per 30 s per IP), kept on the client side.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::Bunq;
use crate::core::Provider;
use crate::core::error::{Error, ErrorKind};

/// What a context does when bunq's session rate limit (one `/session-server` call per 30 s
/// per IP) would be exceeded.
///
/// The limit is kept by a limiter shared by every context made from one [`BunqClient`]
/// (and its clones), since bunq counts per IP, not per API key.
///
/// [`BunqClient`]: super::BunqClient
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionRateLimit {
    /// Wait for the next free slot (callers queue in order), unless that is more than
    /// `max_wait` away: then fail at once with [`ErrorKind::Session`].
    Wait {
        /// The longest wait accepted.
        max_wait: Duration,
    },
    /// Never wait: fail at once with [`ErrorKind::Session`], saying when the next slot is.
    Fail,
}

impl Default for SessionRateLimit {
    /// Wait up to 5 minutes (ten queued session creations).
    fn default() -> Self {
        SessionRateLimit::Wait { max_wait: Duration::from_secs(300) }
    }
}

/// Hands out `/session-server` slots `interval` apart. A slot is reserved before the call and
/// never given back (a failed or cancelled call still counted for bunq, or may have).
#[derive(Debug)]
pub(crate) struct SessionLimiter {
    interval: Duration,
    next_free: Mutex<Option<Instant>>,
}

impl SessionLimiter {
    pub(crate) fn new(interval: Duration) -> Self {
        Self { interval, next_free: Mutex::new(None) }
    }

    pub(crate) fn interval(&self) -> Duration {
        self.interval
    }

    /// Reserves the next slot and waits for it, or fails per `mode`.
    pub(crate) async fn acquire(&self, mode: SessionRateLimit) -> Result<(), Error> {
        let wait = {
            let mut next = self.next_free.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            let wait = slot - now;
            let allowed = match mode {
                SessionRateLimit::Fail => wait.is_zero(),
                SessionRateLimit::Wait { max_wait } => wait <= max_wait,
            };
            if !allowed {
                return Err(self.busy(wait, mode));
            }
            *next = Some(slot + self.interval);
            wait
        };
        if !wait.is_zero() {
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                "bunq: waiting for a /session-server slot (1 per {:?} per IP)",
                self.interval
            );
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    fn busy(&self, wait: Duration, mode: SessionRateLimit) -> Error {
        let setting = match mode {
            SessionRateLimit::Fail => "the client is set to fail rather than wait".to_string(),
            SessionRateLimit::Wait { max_wait } => {
                format!("more than the configured maximum wait of {:.1} s", max_wait.as_secs_f64())
            }
        };
        Error::new(ErrorKind::Session)
            .with_message(format!(
                "bunq allows one /session-server call per {:.0} s per IP; the next slot is in \
                 {:.1} s ({setting}); nothing was sent",
                self.interval.as_secs_f64(),
                wait.as_secs_f64()
            ))
            .at(Bunq::DESCRIPTOR.name(), super::CREATE_SESSION_SERVER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_thirty_seconds_apart_and_queue_in_order() {
        let limiter = std::sync::Arc::new(SessionLimiter::new(Duration::from_secs(30)));
        let start = Instant::now();
        limiter.acquire(SessionRateLimit::default()).await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);
        let (a, b) = tokio::join!(
            limiter.acquire(SessionRateLimit::default()),
            limiter.acquire(SessionRateLimit::default())
        );
        a.unwrap();
        b.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(60), "two more slots: +30 s, +60 s");
        tokio::time::advance(Duration::from_secs(31)).await;
        let t = Instant::now();
        limiter.acquire(SessionRateLimit::Fail).await.unwrap();
        assert_eq!(t.elapsed(), Duration::ZERO, "a free slot is taken at once");
    }

    #[tokio::test(start_paused = true)]
    async fn fail_mode_and_max_wait_give_a_clear_error_and_reserve_nothing() {
        let limiter = SessionLimiter::new(Duration::from_secs(30));
        limiter.acquire(SessionRateLimit::Fail).await.unwrap();
        tokio::time::advance(Duration::from_secs(10)).await;
        let e = limiter.acquire(SessionRateLimit::Fail).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Session);
        let text = e.to_string();
        assert!(
            text.contains("one /session-server call per 30 s") && text.contains("20.0 s"),
            "{text}"
        );
        let e = limiter
            .acquire(SessionRateLimit::Wait { max_wait: Duration::from_secs(5) })
            .await
            .unwrap_err();
        assert!(e.to_string().contains("maximum wait of 5.0 s"), "{e}");
        // Nothing was reserved by the refusals: the next slot is still at +30 s.
        let t = Instant::now();
        limiter.acquire(SessionRateLimit::default()).await.unwrap();
        assert_eq!(t.elapsed(), Duration::from_secs(20));
    }
}
