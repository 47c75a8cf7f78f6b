//! The retry policy: bounded attempts, capped exponential backoff with jitter, `Retry-After`.

use std::time::{Duration, SystemTime};

/// When and how often a failed request is repeated.
///
/// Only these failures are retried: connection failures (the request never left), timeouts,
/// and HTTP 429, 502, 503 and 504. An operation that is not safe to repeat (the wrapper marks
/// each one) is retried only when it certainly was not processed: a connection failure or a
/// 429. `Retry-After` (seconds or an HTTP date) is honoured, capped by
/// [`RetryPolicy::max_retry_after`].
///
/// ```
/// use std::time::Duration;
/// use embed_sessions::RetryPolicy;
/// let policy = RetryPolicy::default().max_attempts(5).max_backoff(Duration::from_secs(2));
/// assert_eq!(policy.attempts(), 5);
/// assert_eq!(RetryPolicy::none().attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    jitter: bool,
    max_retry_after: Duration,
    default_retry_after_429: Option<Duration>,
}

impl Default for RetryPolicy {
    /// 3 attempts, 200 ms first backoff doubling up to 5 s, full jitter, `Retry-After` honoured
    /// up to 30 s.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            jitter: true,
            max_retry_after: Duration::from_secs(30),
            default_retry_after_429: None,
        }
    }
}

impl RetryPolicy {
    /// No retries: every request is sent once.
    pub fn none() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// Total attempts, the first one included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    setters! {
        /// Backoff before the second attempt; doubled for each further attempt.
        initial_backoff: Duration,
        /// Cap on the exponential backoff.
        max_backoff: Duration,
        /// Randomise each backoff in `[backoff/2, backoff]` (on by default).
        jitter: bool,
        /// Longest `Retry-After` honoured; a longer one ends the retries with the error.
        max_retry_after: Duration,
        /// Wait used for a 429 without `Retry-After` (for a provider that documents a fixed
        /// window and sends no header); `None` means the normal backoff.
        default_retry_after_429: Option<Duration>,
    }

    /// Total attempts, the first one included.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Whether a response status is worth another attempt, for an operation that is
    /// (`retry_safe`) or is not safe to repeat after an uncertain failure.
    pub fn retryable_status(status: u16, retry_safe: bool) -> bool {
        Failure::Status(status).is_retryable(retry_safe)
    }

    /// The wait before attempt `next_attempt` (2 for the first retry), or `None` when the
    /// server asked for a longer wait than [`RetryPolicy::max_retry_after`].
    pub(crate) fn delay(
        &self,
        next_attempt: u32,
        status: Option<u16>,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let retry_after = retry_after.or(match status {
            Some(429) => self.default_retry_after_429,
            _ => None,
        });
        if let Some(wait) = retry_after {
            return (wait <= self.max_retry_after).then_some(wait);
        }
        let exp = next_attempt.saturating_sub(2).min(20);
        let base = self.initial_backoff.saturating_mul(1u32 << exp).min(self.max_backoff);
        if self.jitter && !base.is_zero() {
            let half = base / 2;
            let extra = fastrand::u64(0..=(base - half).as_millis() as u64);
            Some(half + Duration::from_millis(extra))
        } else {
            Some(base)
        }
    }
}

/// How an attempt failed, for the one rule that decides whether it may be repeated: used by
/// the transport between attempts and by [`super::Error::is_retryable`] afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The request certainly did not reach the provider (the connection was refused).
    Unsent,
    /// The request may have been processed: a timeout, a body interrupted mid-way.
    Uncertain,
    /// The provider answered with this status.
    Status(u16),
}

impl Failure {
    /// Connection failures and 429 always (nothing was processed); timeouts, interrupted
    /// bodies and 502-504 only when the operation is safe to repeat; nothing else.
    pub(crate) fn is_retryable(self, retry_safe: bool) -> bool {
        match self {
            Failure::Unsent | Failure::Status(429) => true,
            Failure::Uncertain | Failure::Status(502..=504) => retry_safe,
            Failure::Status(_) => false,
        }
    }
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP date (a past date means no wait).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(12));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(12)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(12));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_is_exponential_capped_and_jittered_within_bounds() {
        let p = RetryPolicy::default()
            .jitter(false)
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(350));
        assert_eq!(p.delay(2, None, None), Some(Duration::from_millis(100)));
        assert_eq!(p.delay(3, None, None), Some(Duration::from_millis(200)));
        assert_eq!(p.delay(4, None, None), Some(Duration::from_millis(350)));
        let j = p.clone().jitter(true);
        for _ in 0..100 {
            let d = j.delay(3, None, None).unwrap();
            assert!(d >= Duration::from_millis(100) && d <= Duration::from_millis(200), "{d:?}");
        }
    }

    #[test]
    fn retry_after_wins_and_is_capped() {
        let p = RetryPolicy::default().max_retry_after(Duration::from_secs(10));
        assert_eq!(
            p.delay(2, Some(429), Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(p.delay(2, Some(429), Some(Duration::from_secs(11))), None);
        let windowed = p.default_retry_after_429(Some(Duration::from_secs(3)));
        assert_eq!(windowed.delay(2, Some(429), None), Some(Duration::from_secs(3)));
        assert_ne!(windowed.delay(2, Some(503), None), Some(Duration::from_secs(3)));
    }

    #[test]
    fn only_documented_statuses_are_retryable() {
        for s in [429, 502, 503, 504] {
            assert!(RetryPolicy::retryable_status(s, true), "{s}");
        }
        assert!(RetryPolicy::retryable_status(429, false));
        for s in [400, 401, 404, 500, 501] {
            assert!(!RetryPolicy::retryable_status(s, true), "{s}");
        }
        assert!(!RetryPolicy::retryable_status(503, false));
    }
}
