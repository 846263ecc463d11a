//! Target selection (load balancing) for upstreams, Kong-compatible.
//!
//! A [`Balancer`] is built once per upstream for each config snapshot and is immutable afterwards,
//! except for atomics. The live, per-target state ([`TargetState`]: health flag and in-flight
//! request count) lives behind an `Arc`, so a reload that keeps a target keeps its state.
//!
//! We do not use Pingora's own selectors here. Its `Weighted` selector is bursty (with Kong's
//! default weight of 100 it sends 100 requests in a row to one target), a weight of 0 panics or
//! divides by zero, and its ketama ring uses 160 points per unit of *raw* weight, which gets huge
//! with Kong's weights (see `kong-pingora.md` D.8).
//!
//! Algorithms:
//! * [`Algorithm::RoundRobin`]: weighted and smooth. At build time we compute a schedule in
//!   nginx's smooth weighted round-robin order, over the targets with a positive weight, after
//!   dividing the weights by their GCD. The length is capped at `MAX_SCHEDULE_LEN` entries by
//!   scaling the weights proportionally. Each pick is one `fetch_add` on a counter plus an index
//!   into the schedule, with no lock. An ineligible target (unhealthy or excluded) is skipped by
//!   walking forward in the schedule.
//! * [`Algorithm::LeastConnections`]: the eligible target with the lowest `active / weight`,
//!   compared in integers. Ties are broken by a rotating start index, so equal loads spread.
//! * [`Algorithm::ConsistentHashing`]: a hash ring with `RING_POINTS_PER_UNIT` virtual nodes
//!   per GCD-normalised unit of weight. Points come from a stable hash (FNV-1a 64 with a
//!   murmur3 finaliser) of the target's address, so two builds with the same targets give the
//!   same ring. The ring holds every target with a positive weight, healthy or not, so a health
//!   change only moves the keys of the target whose health changed. Lookup walks clockwise from
//!   the key's point to the first eligible target. Without a key it behaves like round-robin.
//!
//! A target with weight 0 never receives traffic (Kong: weight 0 = disabled), even if it is the
//! only healthy one. `select` never allocates.

use std::{
    cmp::Ordering as CmpOrdering,
    fmt,
    net::{IpAddr, SocketAddr},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

/// Upper bound on the round-robin schedule length; above it, weights are scaled proportionally
/// (each positive weight stays ≥ 1, so the schedule is longer only with more targets than this).
const MAX_SCHEDULE_LEN: u64 = 16_384;

/// Virtual nodes on the consistent-hashing ring per GCD-normalised unit of weight.
const RING_POINTS_PER_UNIT: u64 = 160;

/// Upper bound on the sum of GCD-normalised weight units on the ring. Above it, units are
/// scaled proportionally, each staying ≥ 1. The ring then has at most
/// `RING_POINTS_PER_UNIT * max(MAX_RING_UNITS, targets)` points.
const MAX_RING_UNITS: u64 = 128;

/// Above this many `targets × schedule length` steps, the O(n·len) nginx construction is
/// replaced by an O(len·log len) stride ordering, which is just as interleaved.
const SMOOTH_WRR_BUDGET: u64 = 1 << 24;

/// Live state of one target, shared across config reloads (a reload that keeps the target keeps
/// this Arc).
#[derive(Debug)]
pub struct TargetState {
    /// The target's resolved address.
    pub addr: SocketAddr,
    /// Health as decided by active/passive health checks; starts `true`.
    pub healthy: AtomicBool,
    /// Number of in-flight requests on this target (see [`ActiveGuard`]).
    pub active: AtomicUsize,
    /// Consecutive outcomes counted by health checks (see `crate::health`).
    pub counters: Mutex<HealthCounters>,
    /// Set while an active probe of this target is in flight (one at a time).
    pub probing: AtomicBool,
}

/// Consecutive successes and failures of one target, as Kong's health checker counts them: a
/// success clears the failure counters and a failure clears the success counter.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HealthCounters {
    /// Successes in a row.
    pub successes: u32,
    /// HTTP failures (unhealthy statuses) in a row.
    pub http_failures: u32,
    /// Connection failures in a row.
    pub tcp_failures: u32,
    /// Timeouts in a row.
    pub timeouts: u32,
}

impl TargetState {
    /// A healthy target with no in-flight requests.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            healthy: AtomicBool::new(true),
            active: AtomicUsize::new(0),
            counters: Mutex::new(HealthCounters::default()),
            probing: AtomicBool::new(false),
        }
    }

    /// Whether the target is currently considered healthy.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }
}

/// The load-balancing algorithm of an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Kong's default: weighted, smooth (interleaved) round-robin.
    RoundRobin,
    /// Fewest in-flight requests relative to weight.
    LeastConnections,
    /// Hash ring keyed by a per-request hash key (IP, header, cookie, ...).
    ConsistentHashing,
}

/// One target of an upstream as the balancer sees it.
#[derive(Debug, Clone)]
pub struct BalancedTarget {
    /// Live state shared with health checks and across reloads.
    pub state: Arc<TargetState>,
    /// Kong weight (0..=65535; 0 = receives no traffic).
    pub weight: u32,
}

/// Selects targets of one upstream; immutable after [`Balancer::new`] except for atomics.
pub struct Balancer {
    algorithm: Algorithm,
    targets: Vec<BalancedTarget>,
    /// Indices (into `targets`) of the targets with a positive weight.
    enabled: Vec<u32>,
    /// Smooth weighted round-robin schedule of target indices (empty for least-connections).
    schedule: Vec<u32>,
    /// Sorted ring point hashes (consistent hashing only).
    ring_hashes: Vec<u64>,
    /// Target index of each ring point, parallel to `ring_hashes`.
    ring_targets: Vec<u32>,
    /// Round-robin position.
    rr_counter: AtomicUsize,
    /// Rotating start for least-connections tie-breaking.
    lc_counter: AtomicUsize,
}

impl fmt::Debug for Balancer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Balancer")
            .field("algorithm", &self.algorithm)
            .field("targets", &self.targets)
            .field("schedule_len", &self.schedule.len())
            .field("ring_points", &self.ring_hashes.len())
            .finish_non_exhaustive()
    }
}

impl Balancer {
    /// Builds a balancer over `targets`; indices returned by [`Balancer::select`] refer to this
    /// vector. Targets with weight 0 are kept (so indices stay stable) but never selected.
    pub fn new(algorithm: Algorithm, targets: Vec<BalancedTarget>) -> Self {
        let enabled: Vec<u32> = targets
            .iter()
            .enumerate()
            .filter(|(_, target)| target.weight > 0)
            .map(|(index, _)| {
                u32::try_from(index).expect("BUG: an upstream cannot have 2^32 targets")
            })
            .collect();
        let weights: Vec<u32> = enabled
            .iter()
            .map(|&index| targets[index as usize].weight)
            .collect();

        let schedule = match algorithm {
            Algorithm::LeastConnections => Vec::new(),
            Algorithm::RoundRobin | Algorithm::ConsistentHashing => {
                let units = normalise_weights(&weights, MAX_SCHEDULE_LEN);
                build_schedule(&units)
                    .into_iter()
                    .map(|position| enabled[position])
                    .collect()
            }
        };

        let (ring_hashes, ring_targets) = match algorithm {
            Algorithm::ConsistentHashing => build_ring(&targets, &enabled, &weights),
            Algorithm::RoundRobin | Algorithm::LeastConnections => (Vec::new(), Vec::new()),
        };

        Self {
            algorithm,
            targets,
            enabled,
            schedule,
            ring_hashes,
            ring_targets,
            rr_counter: AtomicUsize::new(0),
            lc_counter: AtomicUsize::new(0),
        }
    }

    /// Picks a target index (into the targets given to `new`): never weight 0, never unhealthy,
    /// never one whose index is in `exclude` (targets already tried by this request). `hash_key`
    /// is used by ConsistentHashing (None → behave like round-robin).
    pub fn select(&self, hash_key: Option<&[u8]>, exclude: &[usize]) -> Option<usize> {
        match (self.algorithm, hash_key) {
            (Algorithm::LeastConnections, _) => self.select_least_connections(exclude),
            (Algorithm::ConsistentHashing, Some(key)) => self.select_hashed(key, exclude),
            (Algorithm::RoundRobin | Algorithm::ConsistentHashing, _) => {
                self.select_round_robin(exclude)
            }
        }
    }

    /// The targets given to `new`, in the same order (indices match [`Balancer::select`]).
    pub fn targets(&self) -> &[BalancedTarget] {
        &self.targets
    }

    /// The algorithm given to `new`.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn is_eligible(&self, index: usize, exclude: &[usize]) -> bool {
        let target = &self.targets[index];
        target.weight > 0 && target.state.is_healthy() && !exclude.contains(&index)
    }

    fn any_eligible(&self, exclude: &[usize]) -> bool {
        self.enabled
            .iter()
            .any(|&index| self.is_eligible(index as usize, exclude))
    }

    /// First eligible entry of `entries` starting at `start` and walking forward (wrapping), or
    /// `None`. The common case (first entry eligible) costs one check.
    fn walk(&self, entries: &[u32], start: usize, exclude: &[usize]) -> Option<usize> {
        let len = entries.len();
        let first = *entries.get(start % len.max(1))? as usize;
        if self.is_eligible(first, exclude) {
            return Some(first);
        }
        // Avoid walking the whole schedule/ring when nothing can be picked.
        if !self.any_eligible(exclude) {
            return None;
        }
        (1..len)
            .map(|step| entries[(start + step) % len] as usize)
            .find(|&index| self.is_eligible(index, exclude))
    }

    fn select_round_robin(&self, exclude: &[usize]) -> Option<usize> {
        let len = self.schedule.len();
        if len == 0 {
            return None;
        }
        let start = self.rr_counter.fetch_add(1, Ordering::Relaxed) % len;
        self.walk(&self.schedule, start, exclude)
    }

    fn select_hashed(&self, key: &[u8], exclude: &[usize]) -> Option<usize> {
        let hash = StableHasher::new().write(key).finish();
        let start = self.ring_hashes.partition_point(|&point| point < hash);
        self.walk(&self.ring_targets, start, exclude)
    }

    fn select_least_connections(&self, exclude: &[usize]) -> Option<usize> {
        let n = self.enabled.len();
        if n == 0 {
            return None;
        }
        let start = self.lc_counter.fetch_add(1, Ordering::Relaxed) % n;
        // (index, active, weight) of the best candidate so far.
        let mut best: Option<(usize, u128, u128)> = None;
        for step in 0..n {
            let index = self.enabled[(start + step) % n] as usize;
            if !self.is_eligible(index, exclude) {
                continue;
            }
            let target = &self.targets[index];
            let active = target.state.active.load(Ordering::Relaxed) as u128;
            let weight = u128::from(target.weight);
            // Strictly lower load wins: active / weight < best_active / best_weight.
            let better = match best {
                None => true,
                Some((_, best_active, best_weight)) => active * best_weight < best_active * weight,
            };
            if better {
                best = Some((index, active, weight));
            }
        }
        best.map(|(index, _, _)| index)
    }
}

/// RAII guard that counts one in-flight request on a target (increments `active` on creation,
/// decrements on drop).
#[derive(Debug)]
pub struct ActiveGuard(Arc<TargetState>);

impl ActiveGuard {
    /// Counts one more in-flight request on `state` until the guard is dropped.
    pub fn new(state: Arc<TargetState>) -> Self {
        state.active.fetch_add(1, Ordering::Relaxed);
        Self(state)
    }

    /// The target this guard counts on.
    pub fn state(&self) -> &Arc<TargetState> {
        &self.0
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn gcd_all(values: &[u32]) -> u32 {
    values.iter().fold(0, |acc, &value| gcd(acc, value))
}

/// Divides positive `weights` by their GCD; if the sum still exceeds `cap`, scales them
/// proportionally so it does not (each stays ≥ 1) and divides by the new GCD.
fn normalise_weights(weights: &[u32], cap: u64) -> Vec<u32> {
    let divisor = gcd_all(weights).max(1);
    let mut units: Vec<u32> = weights.iter().map(|&weight| weight / divisor).collect();
    let sum: u64 = units.iter().map(|&unit| u64::from(unit)).sum();
    if sum > cap {
        for unit in &mut units {
            // unit * cap / sum < unit, so it fits in u32.
            let scaled = (u64::from(*unit) * cap / sum).max(1);
            *unit = u32::try_from(scaled).unwrap_or(*unit);
        }
        let divisor = gcd_all(&units).max(1);
        for unit in &mut units {
            *unit /= divisor;
        }
    }
    units
}

/// A full period of a smooth weighted round-robin over `units`, as positions into `units`.
fn build_schedule(units: &[u32]) -> Vec<usize> {
    let len: u64 = units.iter().map(|&unit| u64::from(unit)).sum();
    let work = len.saturating_mul(units.len() as u64);
    if work <= SMOOTH_WRR_BUDGET {
        smooth_wrr_schedule(units)
    } else {
        stride_schedule(units)
    }
}

/// nginx's smooth weighted round-robin: every step, each target's `current` grows by its weight,
/// the largest (first on ties) is picked and loses the total weight.
fn smooth_wrr_schedule(units: &[u32]) -> Vec<usize> {
    let total: i64 = units.iter().map(|&unit| i64::from(unit)).sum();
    let mut current = vec![0_i64; units.len()];
    let mut schedule = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for _ in 0..total {
        let mut best = 0;
        for (position, &unit) in units.iter().enumerate() {
            current[position] += i64::from(unit);
            if current[position] > current[best] {
                best = position;
            }
        }
        current[best] -= total;
        schedule.push(best);
    }
    schedule
}

/// Interleaved order for very many targets: the `k`-th slot of a target with weight `w` sits at
/// `(2k + 1) / 2w` of the period; slots are sorted by that position (ties by target).
fn stride_schedule(units: &[u32]) -> Vec<usize> {
    let mut slots: Vec<(usize, u32)> = units
        .iter()
        .enumerate()
        .flat_map(|(position, &unit)| (0..unit).map(move |k| (position, k)))
        .collect();
    slots.sort_unstable_by(|&(pa, ka), &(pb, kb)| {
        let left = (2 * u128::from(ka) + 1) * u128::from(units[pb]);
        let right = (2 * u128::from(kb) + 1) * u128::from(units[pa]);
        match left.cmp(&right) {
            CmpOrdering::Equal => pa.cmp(&pb),
            other => other,
        }
    });
    slots.into_iter().map(|(position, _)| position).collect()
}

/// The consistent-hashing ring: sorted point hashes and the target index of each point.
fn build_ring(
    targets: &[BalancedTarget],
    enabled: &[u32],
    weights: &[u32],
) -> (Vec<u64>, Vec<u32>) {
    let units = normalise_weights(weights, MAX_RING_UNITS);
    let mut points: Vec<(u64, u32)> = Vec::new();
    for (&index, &unit) in enabled.iter().zip(&units) {
        let addr = targets[index as usize].state.addr;
        let count = u64::from(unit) * RING_POINTS_PER_UNIT;
        points.extend((0..count).map(|replica| (ring_point(addr, replica), index)));
    }
    // Ties (practically impossible) are ordered by target index, so the ring is deterministic.
    points.sort_unstable();
    points.into_iter().unzip()
}

/// The position of virtual node `replica` of the target at `addr`; depends only on these two,
/// so a target's points do not move when other targets come or go.
fn ring_point(addr: SocketAddr, replica: u64) -> u64 {
    let mut hasher = StableHasher::new();
    match addr.ip() {
        IpAddr::V4(ip) => hasher.write(&[4]).write(&ip.octets()),
        IpAddr::V6(ip) => hasher.write(&[6]).write(&ip.octets()),
    };
    hasher
        .write(&addr.port().to_be_bytes())
        .write(&replica.to_be_bytes())
        .finish()
}

/// FNV-1a 64 with the murmur3 64-bit finaliser for good avalanche; stable across builds and
/// platforms (unlike std's `DefaultHasher`).
struct StableHasher(u64);

impl StableHasher {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Self {
        Self(Self::OFFSET_BASIS)
    }

    fn write(&mut self, bytes: &[u8]) -> &mut Self {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
        self
    }

    fn finish(&self) -> u64 {
        let mut hash = self.0;
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        hash ^= hash >> 33;
        hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const ALL: [Algorithm; 3] = [
        Algorithm::RoundRobin,
        Algorithm::LeastConnections,
        Algorithm::ConsistentHashing,
    ];

    fn target(last_octet: u8, weight: u32) -> BalancedTarget {
        BalancedTarget {
            state: Arc::new(TargetState::new(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, last_octet)),
                8000,
            ))),
            weight,
        }
    }

    fn pick_counts(balancer: &Balancer, picks: usize) -> Vec<usize> {
        let mut counts = vec![0; balancer.targets().len()];
        for _ in 0..picks {
            let index = balancer
                .select(None, &[])
                .expect("a target should be selected");
            counts[index] += 1;
        }
        counts
    }

    fn assert_within(actual: usize, expected: usize, tolerance: usize, what: &str) {
        assert!(
            actual.abs_diff(expected) <= tolerance,
            "{what}: got {actual}, expected {expected} ± {tolerance}"
        );
    }

    fn sequence(balancer: &Balancer, picks: usize) -> Vec<usize> {
        (0..picks)
            .map(|_| {
                balancer
                    .select(None, &[])
                    .expect("a target should be selected")
            })
            .collect()
    }

    fn longest_run(sequence: &[usize]) -> usize {
        sequence
            .chunk_by(|a, b| a == b)
            .map(<[usize]>::len)
            .max()
            .unwrap_or(0)
    }

    fn key(i: usize) -> Vec<u8> {
        format!("client-{i}").into_bytes()
    }

    #[test]
    fn round_robin_honours_two_unequal_weights_within_one_percent() {
        let balancer = Balancer::new(Algorithm::RoundRobin, vec![target(1, 300), target(2, 100)]);
        let counts = pick_counts(&balancer, 10_000);
        assert_within(counts[0], 7_500, 100, "weight 300 target");
        assert_within(counts[1], 2_500, 100, "weight 100 target");
    }

    #[test]
    fn round_robin_honours_three_unequal_weights_within_one_percent() {
        let balancer = Balancer::new(
            Algorithm::RoundRobin,
            vec![target(1, 500), target(2, 300), target(3, 200)],
        );
        let counts = pick_counts(&balancer, 10_000);
        assert_within(counts[0], 5_000, 100, "weight 500 target");
        assert_within(counts[1], 3_000, 100, "weight 300 target");
        assert_within(counts[2], 2_000, 100, "weight 200 target");
    }

    #[test]
    fn round_robin_honours_coprime_and_extreme_weights_after_scaling() {
        let balancer = Balancer::new(Algorithm::RoundRobin, vec![target(1, 65_535), target(2, 1)]);
        assert!(
            balancer.schedule.len() as u64 <= MAX_SCHEDULE_LEN,
            "schedule of {} entries exceeds the cap",
            balancer.schedule.len()
        );
        let counts = pick_counts(&balancer, 100_000);
        assert!(counts[1] >= 1, "the weight-1 target must still get traffic");
        assert_within(counts[1], 2, 10, "weight 1 of 65536 target");

        let balancer = Balancer::new(
            Algorithm::RoundRobin,
            vec![target(1, 10_007), target(2, 9_973), target(3, 7_919)],
        );
        let counts = pick_counts(&balancer, 27_899);
        assert_within(counts[0], 10_007, 279, "weight 10007 target");
        assert_within(counts[1], 9_973, 279, "weight 9973 target");
        assert_within(counts[2], 7_919, 279, "weight 7919 target");
    }

    #[test]
    fn round_robin_with_equal_weights_alternates() {
        let balancer = Balancer::new(Algorithm::RoundRobin, vec![target(1, 100), target(2, 100)]);
        let picks = sequence(&balancer, 1_000);
        assert_eq!(
            longest_run(&picks),
            1,
            "equal weights must alternate A,B,A,B: {:?}",
            &picks[..10]
        );
    }

    #[test]
    fn round_robin_with_weights_two_to_one_never_picks_the_same_target_three_times_in_a_row() {
        let balancer = Balancer::new(Algorithm::RoundRobin, vec![target(1, 200), target(2, 100)]);
        let picks = sequence(&balancer, 3_000);
        assert!(
            longest_run(&picks) <= 2,
            "weights 2:1 must interleave: {:?}",
            &picks[..12]
        );
    }

    #[test]
    fn round_robin_with_large_weights_is_interleaved_not_bursty() {
        let balancer = Balancer::new(
            Algorithm::RoundRobin,
            vec![target(1, 100), target(2, 100), target(3, 300)],
        );
        let picks = sequence(&balancer, 5_000);
        assert!(
            longest_run(&picks) <= 2,
            "weights 1:1:3 must interleave: {:?}",
            &picks[..10]
        );
    }

    #[test]
    fn stride_schedule_for_many_targets_is_interleaved_and_weighted() {
        assert_eq!(stride_schedule(&[2, 1]), vec![0, 1, 0], "weights 2:1");
        assert_eq!(stride_schedule(&[1, 1]), vec![0, 1], "weights 1:1");
        let schedule = stride_schedule(&[3, 1, 1]);
        assert_eq!(
            schedule.iter().filter(|&&p| p == 0).count(),
            3,
            "{schedule:?}"
        );
        assert!(
            longest_run(&schedule) <= 2,
            "3:1:1 must interleave: {schedule:?}"
        );

        // Enough targets to exceed the smooth-WRR budget: everyone still gets one pick per period.
        let targets: Vec<BalancedTarget> = (0..5_000_u32)
            .map(|i| target(u8::try_from(i % 250).unwrap_or(0), 100))
            .collect();
        let balancer = Balancer::new(Algorithm::RoundRobin, targets);
        let counts = pick_counts(&balancer, 10_000);
        assert!(
            counts.iter().all(|&count| count == 2),
            "each of 5000 equal targets must get exactly 2 of 10000 picks"
        );
    }

    #[test]
    fn weight_zero_target_never_gets_traffic() {
        for algorithm in ALL {
            let balancer = Balancer::new(algorithm, vec![target(1, 100), target(2, 0)]);
            for i in 0..2_000 {
                let hash = key(i);
                let picked = balancer.select(Some(&hash), &[]);
                assert_eq!(picked, Some(0), "{algorithm:?} picked the weight-0 target");
            }
            balancer.targets()[0]
                .state
                .healthy
                .store(false, Ordering::Relaxed);
            assert_eq!(
                balancer.select(Some(b"k"), &[]),
                None,
                "{algorithm:?}: the weight-0 target must not be picked even when it is the only healthy one"
            );
            assert_eq!(
                balancer.select(None, &[]),
                None,
                "{algorithm:?} without key"
            );
        }
    }

    #[test]
    fn all_weight_zero_or_no_targets_returns_none() {
        for algorithm in ALL {
            let balancer = Balancer::new(algorithm, vec![target(1, 0), target(2, 0)]);
            assert_eq!(
                balancer.select(None, &[]),
                None,
                "{algorithm:?} all weight 0"
            );
            assert_eq!(
                balancer.select(Some(b"key"), &[]),
                None,
                "{algorithm:?} all weight 0 with key"
            );
            let empty = Balancer::new(algorithm, Vec::new());
            assert_eq!(
                empty.select(Some(b"key"), &[]),
                None,
                "{algorithm:?} no targets"
            );
            assert_eq!(empty.select(None, &[]), None, "{algorithm:?} no targets");
        }
    }

    #[test]
    fn unhealthy_target_is_skipped_and_comes_back_when_healthy_again() {
        for algorithm in ALL {
            let balancer = Balancer::new(
                algorithm,
                vec![target(1, 100), target(2, 100), target(3, 100)],
            );
            balancer.targets()[1]
                .state
                .healthy
                .store(false, Ordering::Relaxed);
            for i in 0..1_000 {
                let hash = key(i);
                let picked = balancer.select(Some(&hash), &[]);
                assert!(
                    matches!(picked, Some(0 | 2)),
                    "{algorithm:?} picked {picked:?} while target 1 is unhealthy"
                );
            }
            balancer.targets()[1]
                .state
                .healthy
                .store(true, Ordering::Relaxed);
            let back = (0..1_000).any(|i| {
                let hash = key(i);
                balancer.select(Some(&hash), &[]) == Some(1)
            });
            assert!(
                back,
                "{algorithm:?}: target 1 never picked after recovering"
            );

            for state in balancer.targets().iter().map(|t| &t.state) {
                state.healthy.store(false, Ordering::Relaxed);
            }
            assert_eq!(
                balancer.select(Some(b"k"), &[]),
                None,
                "{algorithm:?}: all unhealthy must give None"
            );
        }
    }

    #[test]
    fn excluded_target_is_skipped_and_all_excluded_returns_none() {
        for algorithm in ALL {
            let balancer = Balancer::new(algorithm, vec![target(1, 100), target(2, 300)]);
            for i in 0..1_000 {
                let hash = key(i);
                assert_eq!(
                    balancer.select(Some(&hash), &[1]),
                    Some(0),
                    "{algorithm:?} picked an excluded target"
                );
                assert_eq!(
                    balancer.select(None, &[0]),
                    Some(1),
                    "{algorithm:?} without key"
                );
            }
            assert_eq!(
                balancer.select(Some(b"k"), &[0, 1]),
                None,
                "{algorithm:?}: all excluded must give None"
            );
            assert_eq!(
                balancer.select(None, &[1, 0]),
                None,
                "{algorithm:?} without key"
            );
        }
    }

    #[test]
    fn least_connections_picks_the_least_loaded_target() {
        let balancer = Balancer::new(
            Algorithm::LeastConnections,
            vec![target(1, 100), target(2, 100), target(3, 100)],
        );
        let _a: Vec<ActiveGuard> = (0..3)
            .map(|_| ActiveGuard::new(balancer.targets()[0].state.clone()))
            .collect();
        let _b = ActiveGuard::new(balancer.targets()[1].state.clone());
        let _c: Vec<ActiveGuard> = (0..2)
            .map(|_| ActiveGuard::new(balancer.targets()[2].state.clone()))
            .collect();
        for _ in 0..10 {
            assert_eq!(
                balancer.select(None, &[]),
                Some(1),
                "loads 3/1/2 must pick the target with 1"
            );
        }
        assert_eq!(
            balancer.select(None, &[1]),
            Some(2),
            "with the least loaded excluded, the next least loaded wins"
        );
    }

    #[test]
    fn least_connections_respects_weight() {
        let balancer = Balancer::new(
            Algorithm::LeastConnections,
            vec![target(1, 300), target(2, 100)],
        );
        // 5 / 300 < 2 / 100: the heavier target wins despite more connections.
        let _a: Vec<ActiveGuard> = (0..5)
            .map(|_| ActiveGuard::new(balancer.targets()[0].state.clone()))
            .collect();
        let _b: Vec<ActiveGuard> = (0..2)
            .map(|_| ActiveGuard::new(balancer.targets()[1].state.clone()))
            .collect();
        assert_eq!(balancer.select(None, &[]), Some(0), "5/300 beats 2/100");

        // Filling up while holding every pick keeps loads proportional to weights.
        let balancer = Balancer::new(
            Algorithm::LeastConnections,
            vec![target(1, 300), target(2, 100)],
        );
        let guards: Vec<ActiveGuard> = (0..400)
            .map(|_| {
                let index = balancer
                    .select(None, &[])
                    .expect("a target should be selected");
                ActiveGuard::new(balancer.targets()[index].state.clone())
            })
            .collect();
        let active: Vec<usize> = balancer
            .targets()
            .iter()
            .map(|t| t.state.active.load(Ordering::Relaxed))
            .collect();
        assert_within(active[0], 300, 2, "in-flight on the weight 300 target");
        assert_within(active[1], 100, 2, "in-flight on the weight 100 target");
        drop(guards);
    }

    #[test]
    fn least_connections_spreads_equal_loads() {
        let balancer = Balancer::new(
            Algorithm::LeastConnections,
            vec![target(1, 100), target(2, 100), target(3, 100)],
        );
        let counts = pick_counts(&balancer, 3_000);
        for (index, &count) in counts.iter().enumerate() {
            assert_within(count, 1_000, 1, &format!("idle target {index}"));
        }
    }

    #[test]
    fn active_guard_increments_and_decrements() {
        let state = Arc::new(TargetState::new(
            "127.0.0.1:8000".parse().expect("valid addr"),
        ));
        assert!(state.is_healthy(), "a new target starts healthy");
        let first = ActiveGuard::new(state.clone());
        let second = ActiveGuard::new(state.clone());
        assert_eq!(state.active.load(Ordering::Relaxed), 2, "two guards alive");
        drop(first);
        assert_eq!(state.active.load(Ordering::Relaxed), 1, "one guard dropped");
        drop(second);
        assert_eq!(
            state.active.load(Ordering::Relaxed),
            0,
            "all guards dropped"
        );
    }

    #[test]
    fn consistent_hashing_maps_the_same_key_to_the_same_target() {
        let build = || {
            Balancer::new(
                Algorithm::ConsistentHashing,
                vec![target(1, 100), target(2, 100), target(3, 100)],
            )
        };
        let (first, second) = (build(), build());
        for i in 0..1_000 {
            let hash = key(i);
            let picked = first.select(Some(&hash), &[]);
            assert!(picked.is_some(), "key {i} got no target");
            for _ in 0..3 {
                assert_eq!(first.select(Some(&hash), &[]), picked, "key {i} moved");
            }
            assert_eq!(
                second.select(Some(&hash), &[]),
                picked,
                "key {i} maps differently in a second balancer built from the same targets"
            );
        }
    }

    #[test]
    fn consistent_hashing_removing_a_target_moves_only_its_keys() {
        let (a, b, c) = (target(1, 100), target(2, 100), target(3, 100));
        let before = Balancer::new(
            Algorithm::ConsistentHashing,
            vec![a.clone(), b.clone(), c.clone()],
        );
        let after = Balancer::new(Algorithm::ConsistentHashing, vec![a, c]);
        let addr_of = |balancer: &Balancer, hash: &[u8]| {
            let index = balancer
                .select(Some(hash), &[])
                .expect("a target should be selected");
            balancer.targets()[index].state.addr
        };
        let removed = before.targets()[1].state.addr;
        let mut counts = [0_usize; 3];
        let mut moved = 0;
        for i in 0..10_000 {
            let hash = key(i);
            let old = addr_of(&before, &hash);
            let new = addr_of(&after, &hash);
            let old_index = before
                .targets()
                .iter()
                .position(|t| t.state.addr == old)
                .expect("picked address is one of the targets");
            counts[old_index] += 1;
            if old == removed {
                assert_ne!(new, removed, "key {i} still maps to the removed target");
                moved += 1;
            } else {
                assert_eq!(new, old, "key {i} moved although its target {old} stayed");
            }
        }
        for (index, &count) in counts.iter().enumerate() {
            assert!(
                (2_000..=4_700).contains(&count),
                "target {index} got {count} of 10000 keys, expected 20–47%: {counts:?}"
            );
        }
        assert_eq!(moved, counts[1], "exactly the removed target's keys moved");
    }

    #[test]
    fn consistent_hashing_health_change_moves_only_that_targets_keys() {
        let balancer = Balancer::new(
            Algorithm::ConsistentHashing,
            vec![target(1, 100), target(2, 100), target(3, 100)],
        );
        let before: Vec<Option<usize>> = (0..2_000)
            .map(|i| balancer.select(Some(&key(i)), &[]))
            .collect();
        balancer.targets()[0]
            .state
            .healthy
            .store(false, Ordering::Relaxed);
        for (i, &old) in before.iter().enumerate() {
            let new = balancer.select(Some(&key(i)), &[]);
            if old == Some(0) {
                assert!(
                    matches!(new, Some(1 | 2)),
                    "key {i} not moved off unhealthy target"
                );
            } else {
                assert_eq!(new, old, "key {i} moved although its target is healthy");
            }
        }
    }

    #[test]
    fn consistent_hashing_honours_weights_roughly() {
        let balancer = Balancer::new(
            Algorithm::ConsistentHashing,
            vec![target(1, 300), target(2, 100)],
        );
        let mut counts = [0_usize; 2];
        for i in 0..10_000 {
            let index = balancer
                .select(Some(&key(i)), &[])
                .expect("a target should be selected");
            counts[index] += 1;
        }
        assert!(
            (6_500..=8_500).contains(&counts[0]),
            "weight 300 of 400 got {counts:?}"
        );
    }

    #[test]
    fn consistent_hashing_without_key_still_returns_a_target() {
        let balancer = Balancer::new(
            Algorithm::ConsistentHashing,
            vec![target(1, 300), target(2, 100)],
        );
        let counts = pick_counts(&balancer, 10_000);
        assert_within(counts[0], 7_500, 100, "weight 300 target without key");
        assert_within(counts[1], 2_500, 100, "weight 100 target without key");
    }

    #[test]
    fn concurrent_round_robin_totals_match_weights() {
        let balancer = Arc::new(Balancer::new(
            Algorithm::RoundRobin,
            vec![target(1, 300), target(2, 100)],
        ));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let balancer = Arc::clone(&balancer);
                std::thread::spawn(move || pick_counts(&balancer, 10_000))
            })
            .collect();
        let mut totals = [0_usize; 2];
        for handle in handles {
            let counts = handle.join().expect("picker thread panicked");
            totals[0] += counts[0];
            totals[1] += counts[1];
        }
        assert_within(totals[0], 30_000, 400, "weight 300 target over 4 threads");
        assert_within(totals[1], 10_000, 400, "weight 100 target over 4 threads");
    }
}
