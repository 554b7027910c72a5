//! Lateness histograms: how long after its deadline a timer's work really
//! happened. Fixed memory (no allocation after construction), percentiles
//! within 1/8 of the value, shown by `lvsd status` and read by the benches.
//!
//! Buckets are log-linear in microseconds: values below 16 µs have a bucket
//! each; above that every power of two is cut into 8 equal parts, so a
//! reported percentile is the upper edge of its bucket, at most 12.5 % above
//! the true value. The top bucket holds everything from about 68 s on.

use std::fmt;
use std::time::Duration;

const LINEAR: usize = 16;
const SUB: usize = 8;
const SUB_BITS: u32 = 3;
/// Powers of two above the linear part: 2^4 .. 2^36 µs.
const OCTAVES: usize = 32;
const BUCKETS: usize = LINEAR + OCTAVES * SUB;

/// A histogram of durations (microsecond resolution).
#[derive(Clone)]
pub struct Lateness {
    counts: [u32; BUCKETS],
    total: u64,
    max_us: u64,
    sum_us: u64,
}

impl Default for Lateness {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Lateness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lateness({self})")
    }
}

fn bucket_of(us: u64) -> usize {
    if us < LINEAR as u64 {
        return us as usize;
    }
    let msb = 63 - us.leading_zeros();
    let octave = (msb - 4) as usize;
    if octave >= OCTAVES {
        return BUCKETS - 1;
    }
    let sub = ((us >> (msb - SUB_BITS)) as usize) & (SUB - 1);
    LINEAR + octave * SUB + sub
}

/// The largest value (µs) that falls into bucket `b`.
fn upper_edge(b: usize) -> u64 {
    if b < LINEAR {
        return b as u64;
    }
    let octave = (b - LINEAR) / SUB;
    let sub = ((b - LINEAR) % SUB) as u64;
    let msb = octave as u32 + 4;
    let width = 1u64 << (msb - SUB_BITS);
    (1u64 << msb) + (sub + 1) * width - 1
}

impl Lateness {
    /// An empty histogram.
    pub const fn new() -> Self {
        Lateness {
            counts: [0; BUCKETS],
            total: 0,
            max_us: 0,
            sum_us: 0,
        }
    }

    /// Records one observation.
    pub fn record(&mut self, late: Duration) {
        let us = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        let b = bucket_of(us);
        self.counts[b] = self.counts[b].saturating_add(1);
        self.total += 1;
        self.max_us = self.max_us.max(us);
        self.sum_us = self.sum_us.saturating_add(us);
    }

    /// How many observations there are.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest observation, in microseconds.
    pub fn max_us(&self) -> u64 {
        self.max_us
    }

    /// The `q` quantile (0.0..=1.0) in microseconds: the upper edge of the
    /// bucket holding it, never more than the maximum seen. 0 when empty.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                if b == BUCKETS - 1 {
                    return self.max_us;
                }
                return upper_edge(b).min(self.max_us);
            }
        }
        self.max_us
    }
}

impl Lateness {
    /// The status model's view: percentiles and the cumulative counts below
    /// each of `status::HISTOGRAM_BOUNDS_US` (powers of two, which are
    /// bucket edges here, so the counts are exact).
    pub fn to_histogram(&self) -> crate::status::Histogram {
        let mut h = crate::status::Histogram {
            count: self.total,
            sum_us: self.sum_us,
            max_us: self.max_us,
            p50_us: self.quantile_us(0.50),
            p99_us: self.quantile_us(0.99),
            p999_us: self.quantile_us(0.999),
            ..Default::default()
        };
        for (i, bound) in crate::status::HISTOGRAM_BOUNDS_US.iter().enumerate() {
            // Buckets wholly below the bound: their upper edge is bound - 1.
            h.below[i] = self
                .counts
                .iter()
                .enumerate()
                .take_while(|(b, _)| upper_edge(*b) < *bound)
                .map(|(_, c)| u64::from(*c))
                .sum();
        }
        h
    }
}

/// `n=… p50=…us p99=…us p999=…us max=…us`, the form `lvsd status` prints
/// and the benches parse.
impl fmt::Display for Lateness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "n={} p50={}us p99={}us p999={}us max={}us",
            self.total,
            self.quantile_us(0.50),
            self.quantile_us(0.99),
            self.quantile_us(0.999),
            self.max_us
        )
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests may read the clock and files
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_tight() {
        let mut last = 0;
        for us in 0..200_000u64 {
            let b = bucket_of(us);
            assert!(b >= last, "bucket order at {us}");
            last = b;
            let edge = upper_edge(b);
            assert!(edge >= us, "{us} above its bucket's edge {edge}");
            // Within 1/8 above the value.
            assert!(edge - us <= us / 8 + 1, "{us}: edge {edge} too loose");
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_follow_the_data() {
        let mut h = Lateness::new();
        assert_eq!(h.quantile_us(0.99), 0);
        for _ in 0..990 {
            h.record(Duration::from_micros(100));
        }
        for _ in 0..10 {
            h.record(Duration::from_millis(30));
        }
        assert_eq!(h.count(), 1000);
        let p50 = h.quantile_us(0.5);
        assert!((100..=112).contains(&p50), "p50 {p50}");
        let p99 = h.quantile_us(0.99);
        assert!((100..=112).contains(&p99), "p99 {p99}");
        let p999 = h.quantile_us(0.999);
        assert!((30_000..=30_000 * 9 / 8).contains(&p999), "p999 {p999}");
        assert_eq!(h.max_us(), 30_000);
        assert_eq!(
            h.to_string(),
            format!("n=1000 p50={p50}us p99={p99}us p999=30000us max=30000us")
        );
    }

    #[test]
    fn histogram_counts_below_power_of_two_bounds_are_exact() {
        let mut h = Lateness::new();
        for us in [0u64, 31, 32, 63, 64, 1000, 1023, 1024, 5_000_000] {
            h.record(Duration::from_micros(us));
        }
        let m = h.to_histogram();
        assert_eq!(m.count, 9);
        assert_eq!(m.sum_us, 5_000_000 + 31 + 32 + 63 + 64 + 1000 + 1023 + 1024);
        for (i, bound) in crate::status::HISTOGRAM_BOUNDS_US.iter().enumerate() {
            let want = [0u64, 31, 32, 63, 64, 1000, 1023, 1024, 5_000_000]
                .iter()
                .filter(|v| **v < *bound)
                .count() as u64;
            assert_eq!(m.below[i], want, "below {bound}");
        }
    }

    #[test]
    fn huge_values_saturate_instead_of_panicking() {
        let mut h = Lateness::new();
        h.record(Duration::from_secs(u64::MAX));
        h.record(Duration::from_secs(1 << 40));
        assert_eq!(h.count(), 2);
        assert_eq!(h.quantile_us(1.0), h.max_us());
    }
}
