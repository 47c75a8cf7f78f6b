//! Rate budgets: a provider's published request limits, kept before each request is sent.
//!
//! A [`Limit`] is "at most `max` requests in any `per`" (a sliding window, so no window of that
//! length ever holds more, unlike a token bucket, which lets a burst follow a full window). A
//! provider's [`Descriptor`](super::Descriptor) says which limits apply to which operation; a
//! budget is kept per provider, identity (by default a digest of the configured API key: the
//! provider's tenant or egress identity) and, where the limit is per endpoint, operation.
//!
//! Budgets live in a [`BudgetStore`]: [`local_budgets`] (this process, the default; shared by
//! every client in it) or a fleet's Redis (feature `redis`), where one script per decision
//! keeps one budget for all instances. A caller whose budget is spent waits for the next free
//! slot within its attempt timeout, or gets an [`ErrorKind::RateLimited`] error; nothing is sent.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use super::error::{Error, ErrorKind};

/// At most `max` requests in any window of length `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests allowed in the window.
    pub max: u32,
    /// The window.
    pub per: Duration,
}

impl Limit {
    /// `max` requests per `per`.
    pub const fn new(max: u32, per: Duration) -> Self {
        Self { max, per }
    }
}

/// Added to every window of a published limit before a request is granted: a request granted
/// at a window's edge still travels (its process scheduled out, a connection opened) before the
/// provider counts it. Seen in CI: up to ~50 ms between two processes' grants and their
/// arrival. With 100 ms, the provider sees no more than the limit in any window unless a send
/// is delayed longer (the safer reading of "N per window").
pub const SEND_MARGIN: Duration = Duration::from_millis(100);

/// `limits` with [`SEND_MARGIN`] added to each window.
pub(crate) fn with_send_margin(limits: &[Limit]) -> Vec<Limit> {
    limits.iter().map(|l| Limit::new(l.max, l.per + SEND_MARGIN)).collect()
}

/// The limits one operation is under, and whether they count per operation (an endpoint's
/// budget) or for every operation of the provider together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRule {
    /// The limits, all kept at once.
    pub limits: &'static [Limit],
    /// Whether each operation has a budget of its own.
    pub per_operation: bool,
}

/// What a [`BudgetStore::take`] decided.
pub type TakeFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Duration>, Error>> + Send + 'a>>;

/// Where budgets are kept.
pub trait BudgetStore: fmt::Debug + Send + Sync {
    /// Takes one request from the budget `key` under every limit in `limits` (`Ok(None)`), or
    /// says how long until one is free (`Ok(Some(wait))`, nothing taken).
    fn take<'a>(&'a self, key: &'a str, limits: &'a [Limit]) -> TakeFuture<'a>;

    /// Whether several processes share these budgets (a fleet's Redis).
    fn is_shared(&self) -> bool {
        false
    }
}

/// The budgets of this process: one per key, each a log of the last requests per limit (at
/// most `max` instants each).
#[derive(Debug, Default)]
pub struct LocalBudgets {
    logs: Mutex<HashMap<String, Vec<VecDeque<Instant>>>>,
}

impl LocalBudgets {
    /// The decision, without waiting.
    pub fn take_now(&self, key: &str, limits: &[Limit]) -> Option<Duration> {
        let now = Instant::now();
        let mut logs = self.logs.lock().unwrap_or_else(|p| p.into_inner());
        // A known budget is found without allocating its name (every request comes here).
        if !logs.contains_key(key) {
            logs.insert(key.to_string(), Vec::new());
        }
        let log = logs.get_mut(key)?;
        log.resize_with(limits.len(), VecDeque::new);
        let mut wait = Duration::ZERO;
        for (limit, times) in limits.iter().zip(log.iter_mut()) {
            while times.front().is_some_and(|t| now.duration_since(*t) >= limit.per) {
                times.pop_front();
            }
            if times.len() >= limit.max as usize {
                let free = times.front().map_or(Duration::ZERO, |t| *t + limit.per - now);
                wait = wait.max(free.max(Duration::from_millis(1)));
            }
        }
        if !wait.is_zero() {
            return Some(wait);
        }
        for times in log.iter_mut() {
            times.push_back(now);
        }
        None
    }
}

impl BudgetStore for LocalBudgets {
    fn take<'a>(&'a self, key: &'a str, limits: &'a [Limit]) -> TakeFuture<'a> {
        let decided = self.take_now(key, limits);
        Box::pin(async move { Ok(decided) })
    }
}

/// The budgets of this process, shared by every client in it.
pub fn local_budgets() -> Arc<dyn BudgetStore> {
    static LOCAL: OnceLock<Arc<LocalBudgets>> = OnceLock::new();
    LOCAL.get_or_init(Default::default).clone()
}

/// The budget identity of an API key: `key-` and an FNV-1a (64 bits) of it, stable across
/// processes (so every instance names the same budget) and not the key itself.
pub fn identity_of(key: &super::Secret) -> String {
    let h = key
        .expose()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("key-{h:016x}")
}

/// Waits until `store` grants one request of budget `key`, for at most `deadline`.
pub(crate) async fn acquire(
    store: &dyn BudgetStore,
    key: &str,
    limits: &[Limit],
    deadline: Duration,
) -> Result<(), Error> {
    let started = Instant::now();
    loop {
        let Some(wait) = store.take(key, limits).await? else { return Ok(()) };
        if started.elapsed() + wait > deadline {
            let shown: Vec<String> = limits
                .iter()
                .map(|l| format!("{} per {:.0} s", l.max, l.per.as_secs_f64()))
                .collect();
            return Err(Error::new(ErrorKind::RateLimited).with_message(format!(
                "the provider's published limit ({}) leaves no request free within {:.1} s; \
                 nothing was sent: retry later or spread the calls",
                shown.join(", "),
                deadline.as_secs_f64()
            )));
        }
        tracing::debug!(wait_ms = wait.as_millis() as u64, "rate budget: waiting");
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PER_SECOND_AND_MINUTE: &[Limit] =
        &[Limit::new(10, Duration::from_secs(1)), Limit::new(60, Duration::from_secs(60))];

    #[tokio::test(start_paused = true)]
    async fn no_window_holds_more_than_its_limit_and_the_stricter_limit_wins() {
        let budgets = LocalBudgets::default();
        let started = Instant::now();
        let mut sent = Vec::new();
        for _ in 0..70 {
            acquire(&budgets, "k", PER_SECOND_AND_MINUTE, Duration::from_secs(120)).await.unwrap();
            sent.push(Instant::now() - started);
        }
        for (i, t) in sent.iter().enumerate() {
            let in_second = sent[i..].iter().filter(|u| **u < *t + Duration::from_secs(1)).count();
            assert!(in_second <= 10, "{in_second} requests in the second after {t:?}");
        }
        // 60 in the first minute (10/s: done after ~5 s), the 61st only when the minute ends.
        assert!(sent[59] < Duration::from_secs(6), "{:?}", sent[59]);
        assert!(sent[60] >= Duration::from_secs(60), "{:?}", sent[60]);
        // Another key has its own budget.
        assert_eq!(budgets.take_now("other", PER_SECOND_AND_MINUTE), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_send_margin_spaces_window_edges() {
        let budgets = LocalBudgets::default();
        let padded = with_send_margin(&[Limit::new(2, Duration::from_secs(1))]);
        let started = Instant::now();
        for _ in 0..3 {
            acquire(&budgets, "m", &padded, Duration::from_secs(5)).await.unwrap();
        }
        assert_eq!(Instant::now() - started, Duration::from_secs(1) + SEND_MARGIN);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_beyond_the_deadline_is_a_typed_error_and_takes_nothing() {
        let budgets = LocalBudgets::default();
        let one = &[Limit::new(1, Duration::from_secs(30))];
        acquire(&budgets, "s", one, Duration::from_secs(1)).await.unwrap();
        let e = acquire(&budgets, "s", one, Duration::from_secs(1)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(e.to_string().contains("1 per 30 s"), "{e}");
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(budgets.take_now("s", one), None, "the refusal took no slot");
    }
}
