//! Rate budgets kept in Redis: one budget for every instance of the fleet.

use std::sync::Arc;

use super::Fleet;
use crate::core::budget::{BudgetStore, Limit, LocalBudgets, TakeFuture};

/// One decision, atomically: per limit a sorted set of request times (Redis's own clock, so
/// the instances' clocks do not matter); the request is taken when every limit has room, else
/// the wait until the oldest entry that blocks leaves its window is returned.
/// KEYS: one set per limit. ARGV: per limit max and window (ms), then a unique member.
const TAKE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i = 1, #KEYS do
  local max = tonumber(ARGV[2 * i - 1])
  local per = tonumber(ARGV[2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - per)
  if redis.call('ZCARD', KEYS[i]) >= max then
    local oldest = tonumber(redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')[2])
    wait = math.max(wait, oldest + per - now, 1)
  end
end
if wait > 0 then return wait end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[#ARGV])
  redis.call('PEXPIRE', KEYS[i], ARGV[2 * i])
end
return 0
";

/// The fleet's rate budgets (see [`Fleet::budgets`]).
#[derive(Debug)]
pub(super) struct FleetBudgets {
    pub fleet: Fleet,
    /// Used while Redis fails: the limits still hold in this process.
    pub fallback: LocalBudgets,
}

impl BudgetStore for FleetBudgets {
    fn is_shared(&self) -> bool {
        true
    }

    fn take<'a>(&'a self, key: &'a str, limits: &'a [Limit]) -> TakeFuture<'a> {
        Box::pin(async move {
            let take = redis::Script::new(TAKE);
            let mut script = take.prepare_invoke();
            for (i, limit) in limits.iter().enumerate() {
                script.key(self.fleet.key(&format!("budget:{key}:{i}")));
                script.arg(limit.max).arg(u64::try_from(limit.per.as_millis()).unwrap_or(u64::MAX));
            }
            script.arg(super::random_token().expose());
            match script.invoke_async::<u64>(&mut self.fleet.conn()).await {
                Ok(0) => Ok(None),
                Ok(ms) => Ok(Some(std::time::Duration::from_millis(ms))),
                Err(e) => {
                    tracing::debug!(error = %e, "rate budget: Redis failed; kept in this process");
                    Ok(self.fallback.take_now(key, limits))
                }
            }
        })
    }
}

impl Fleet {
    /// Rate budgets shared by the fleet (for `ConfigBuilder::rate_budgets`): one Lua script
    /// per decision on Redis's clock. While Redis fails, each instance keeps the limits on its
    /// own.
    pub fn budgets(&self) -> Arc<dyn BudgetStore> {
        Arc::new(FleetBudgets { fleet: self.clone(), fallback: LocalBudgets::default() })
    }
}
