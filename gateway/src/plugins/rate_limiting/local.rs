//! `policy: local`: one keyed governor limiter (GCRA) per configured window, keyed by the
//! `limit_by` identifier, with a burst of the window's whole limit — so `minute: 10` lets 10
//! requests through at once, refuses the 11th, and gives one back every 6 s.
//!
//! Windows are checked shortest first and the first refusal stops the check, so a request refused
//! by the minute window does not use up the hour's budget (governor cannot look without taking).
//! Keys that are back to a full bucket are dropped every [`CLEANUP_INTERVAL`] by the request that
//! notices it is due, so memory follows the set of recently active clients; nothing runs in the
//! background. And each window keeps at most [`MAX_TRACKED_BYTES`] of keys ([`BoundedStore`], least
//! recently used out first), so rotating source addresses or header values cannot grow it without
//! limit: a client pushed out starts again with a full bucket.

use std::{
    hash::Hash,
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::StateInformationMiddleware,
    nanos::Nanos,
    state::{StateStore, keyed::ShrinkableKeyedStateStore},
};
use moka::{policy::EvictionPolicy, sync::Cache};

use super::config::RateWindow;
use super::{Identifier, Usage, WindowUsage};

/// How often idle keys are dropped.
pub const CLEANUP_INTERVAL: Duration = Duration::from_secs(30);
/// Most bytes of keys one window tracks (see [`identifier_weight`]): about 260,000 IP addresses.
pub const MAX_TRACKED_BYTES: u64 = 16 * 1024 * 1024;
/// What one tracked key costs besides the text it holds (its state, the map's slot).
const KEY_OVERHEAD_BYTES: usize = 64;

type Limiter<C> = RateLimiter<Identifier, BoundedStore, C, StateInformationMiddleware>;

/// governor's keyed state (one GCRA arrival time per key) in a cache bounded by bytes, least
/// recently used evicted first (LRU, not TinyLFU: a new client is always admitted, or it would
/// go unlimited while the cache refused it).
pub struct BoundedStore {
    states: Cache<Identifier, Arc<AtomicU64>>,
}

impl BoundedStore {
    fn new(max_bytes: u64) -> Self {
        Self {
            states: Cache::builder()
                .max_capacity(max_bytes)
                .weigher(identifier_weight)
                .eviction_policy(EvictionPolicy::lru())
                .build(),
        }
    }
}

/// The bytes one tracked key holds.
fn identifier_weight(key: &Identifier, _state: &Arc<AtomicU64>) -> u32 {
    let text = match key {
        Identifier::Consumer(text) | Identifier::Credential(text) => text.len(),
        Identifier::Text(text) => text.len(),
        Identifier::Ip(_) | Identifier::Path => 0,
    };
    u32::try_from(text + KEY_OVERHEAD_BYTES).unwrap_or(u32::MAX)
}

impl StateStore for BoundedStore {
    type Key = Identifier;

    fn measure_and_replace<T, F, E>(&self, key: &Self::Key, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let state = match self.states.get(key) {
            Some(state) => state,
            None => self
                .states
                .get_with(key.clone(), || Arc::new(AtomicU64::new(0))),
        };
        // governor's own InMemoryState: 0 is "never seen", a failed exchange measures again.
        let mut previous = state.load(Ordering::Acquire);
        loop {
            let (result, next) = f((previous != 0).then(|| Nanos::new(previous)))?;
            match state.compare_exchange_weak(
                previous,
                next.as_u64(),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(result),
                Err(current) => previous = current,
            }
        }
    }
}

impl<K: Hash> ShrinkableKeyedStateStore<K> for BoundedStore
where
    BoundedStore: StateStore<Key = K>,
    K: Eq + Clone,
{
    fn retain_recent(&self, drop_below: Nanos) {
        let drop_below = drop_below.as_u64();
        let idle: Vec<Arc<Identifier>> = self
            .states
            .iter()
            .filter(|(_, state)| state.load(Ordering::Relaxed) <= drop_below)
            .map(|(key, _)| key)
            .collect();
        for key in idle {
            self.states.invalidate(key.as_ref());
        }
        self.states.run_pending_tasks();
    }

    fn len(&self) -> usize {
        usize::try_from(self.states.entry_count()).unwrap_or(usize::MAX)
    }

    fn is_empty(&self) -> bool {
        self.states.entry_count() == 0
    }
}

struct Window<C: Clock> {
    window: RateWindow,
    limit: u32,
    /// Time to earn back one request.
    interval: Duration,
    limiter: Limiter<C>,
    /// The limiter's keys (a handle on its store's cache).
    tracked: Cache<Identifier, Arc<AtomicU64>>,
}

/// The in-process counters of one `rate-limiting` instance.
pub struct LocalLimits<C: Clock = DefaultClock> {
    windows: Vec<Window<C>>,
    started: Instant,
    /// Seconds after `started` when idle keys are next dropped.
    next_cleanup: AtomicU64,
}

impl<C: Clock> std::fmt::Debug for LocalLimits<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLimits")
            .field(
                "windows",
                &self
                    .windows
                    .iter()
                    .map(|w| (w.window, w.limit, w.tracked.entry_count()))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl LocalLimits {
    /// Limiters for `limits` on the real clock.
    pub fn new(limits: &[(RateWindow, u32)]) -> Self {
        Self::with_clock(limits, &DefaultClock::default())
    }
}

impl<C: Clock + Clone> LocalLimits<C> {
    /// Limiters for `limits` on `clock` (tests use a fake one).
    pub fn with_clock(limits: &[(RateWindow, u32)], clock: &C) -> Self {
        Self::bounded(limits, clock, MAX_TRACKED_BYTES)
    }

    /// Limiters whose windows track at most `max_bytes` of keys each.
    fn bounded(limits: &[(RateWindow, u32)], clock: &C, max_bytes: u64) -> Self {
        let windows = limits
            .iter()
            .filter_map(|&(window, limit)| {
                let burst = NonZeroU32::new(limit)?;
                let interval =
                    (Duration::from_secs(window.seconds()) / limit).max(Duration::from_nanos(1));
                let quota = Quota::with_period(interval)?.allow_burst(burst);
                let store = BoundedStore::new(max_bytes);
                let tracked = store.states.clone();
                let limiter: Limiter<C> = RateLimiter::new(quota, store, clock.clone());
                Some(Window {
                    window,
                    limit,
                    interval,
                    limiter,
                    tracked,
                })
            })
            .collect();
        Self {
            windows,
            started: Instant::now(),
            next_cleanup: AtomicU64::new(CLEANUP_INTERVAL.as_secs()),
        }
    }
}

impl<C: Clock> LocalLimits<C> {
    /// Takes one request of `id` from every window; refused at the first window that is empty.
    pub fn check(&self, id: &Identifier) -> Usage {
        let mut usage = Usage::default();
        for window in &self.windows {
            match window.limiter.check_key(id) {
                Ok(state) => {
                    let remaining = state.remaining_burst_capacity();
                    let owed = window.limit.saturating_sub(remaining);
                    usage.push(WindowUsage {
                        window: window.window,
                        limit: window.limit,
                        remaining: u64::from(remaining),
                        reset: ceil_secs(window.interval.saturating_mul(owed)),
                    });
                }
                Err(not_until) => {
                    let wait = not_until.wait_time_from(window.limiter.clock().now());
                    usage.push(WindowUsage {
                        window: window.window,
                        limit: window.limit,
                        remaining: 0,
                        reset: ceil_secs(wait),
                    });
                    usage.allowed = false;
                    break;
                }
            }
        }
        self.clean_up_when_due();
        usage
    }

    #[cfg(test)]
    /// Keys tracked, summed over the windows (tests).
    pub fn tracked_keys(&self) -> usize {
        self.windows
            .iter()
            .map(|w| {
                w.tracked.run_pending_tasks();
                usize::try_from(w.tracked.entry_count()).unwrap_or(usize::MAX)
            })
            .sum()
    }

    /// Drops keys that are back to a full bucket, at most once per [`CLEANUP_INTERVAL`].
    fn clean_up_when_due(&self) {
        let now = self.started.elapsed().as_secs();
        let due = self.next_cleanup.load(Ordering::Relaxed);
        if now < due
            || self
                .next_cleanup
                .compare_exchange(
                    due,
                    now + CLEANUP_INTERVAL.as_secs(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return;
        }
        self.clean_up();
    }

    /// Drops keys that are back to a full bucket.
    pub fn clean_up(&self) {
        for window in &self.windows {
            window.limiter.retain_recent();
            window.limiter.shrink_to_fit();
        }
    }
}

/// Whole seconds, rounded up, at least 1 (Kong never announces a 0-second reset).
fn ceil_secs(duration: Duration) -> u64 {
    let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use governor::clock::FakeRelativeClock;

    use super::*;

    fn ip(text: &str) -> Identifier {
        Identifier::Ip(text.parse::<IpAddr>().unwrap())
    }

    #[test]
    fn minute_10_lets_exactly_10_through_then_refuses_until_one_is_earned_back() {
        let clock = FakeRelativeClock::default();
        let limits = LocalLimits::with_clock(&[(RateWindow::Minute, 10)], &clock);
        let client = ip("10.0.0.1");

        for n in 1..=10u64 {
            let usage = limits.check(&client);
            assert!(usage.allowed, "request {n}");
            assert_eq!(usage.windows()[0].remaining, 10 - n);
        }
        let refused = limits.check(&client);
        assert!(!refused.allowed);
        assert_eq!(refused.windows()[0].remaining, 0);
        assert_eq!(refused.windows()[0].reset, 6, "one request every 6 s");
        assert!(
            limits.check(&ip("10.0.0.2")).allowed,
            "other clients have their own"
        );

        clock.advance(Duration::from_secs(6));
        assert!(limits.check(&client).allowed);
        assert!(!limits.check(&client).allowed);
    }

    #[test]
    fn every_window_must_pass_and_a_refusal_stops_the_check() {
        let clock = FakeRelativeClock::default();
        let limits =
            LocalLimits::with_clock(&[(RateWindow::Second, 2), (RateWindow::Hour, 3)], &clock);
        let client = ip("10.0.0.1");
        assert!(limits.check(&client).allowed);
        assert!(limits.check(&client).allowed);
        let refused = limits.check(&client);
        assert!(!refused.allowed);
        assert_eq!(refused.windows().len(), 1, "the hour was not charged");

        clock.advance(Duration::from_secs(1));
        let usage = limits.check(&client);
        assert!(usage.allowed, "the third of the hour");
        assert_eq!(usage.windows()[1].remaining, 0);
        clock.advance(Duration::from_secs(1));
        let refused = limits.check(&client);
        assert!(!refused.allowed);
        assert_eq!(refused.windows()[1].window, RateWindow::Hour);
        assert!(
            refused.windows()[1].reset > 1000,
            "the hour earns one back in 20 min"
        );
    }

    #[test]
    fn clean_up_drops_clients_whose_bucket_is_full_again() {
        let clock = FakeRelativeClock::default();
        let limits = LocalLimits::with_clock(&[(RateWindow::Second, 5)], &clock);
        for i in 0..100u8 {
            limits.check(&ip(&format!("10.0.0.{i}")));
        }
        assert_eq!(limits.tracked_keys(), 100);
        clock.advance(Duration::from_secs(2));
        limits.clean_up();
        assert_eq!(limits.tracked_keys(), 0);
    }

    #[test]
    fn rotating_clients_cannot_grow_the_tracked_keys_past_the_bound() {
        let clock = FakeRelativeClock::default();
        // A day window: no key is back to a full bucket before the day is over.
        let budget = 1000 * KEY_OVERHEAD_BYTES as u64;
        let limits = LocalLimits::bounded(&[(RateWindow::Day, 5)], &clock, budget);
        for i in 0..20_000u32 {
            limits.check(&Identifier::Ip(IpAddr::from(i.to_be_bytes())));
        }
        let tracked = limits.tracked_keys();
        assert!(tracked <= 1000, "{tracked} keys tracked, bound 1000");

        // The limit still holds for a client that keeps coming.
        let client = Identifier::Text("rotating-header-client".into());
        for _ in 0..5 {
            assert!(limits.check(&client).allowed);
        }
        assert!(!limits.check(&client).allowed);
    }
}
