//! The polling schedule of `wait-ci`: a pure function of the poll number and a random
//! draw, so it is tested without sleeping. Retries follow `lava_io::retry`.

use std::time::Duration;

/// How often `wait-ci` polls: starting at `initial`, growing by half each poll up to `max`,
/// with ±10% jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollPolicy {
    /// First interval.
    pub initial: Duration,
    /// Largest interval.
    pub max: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(5),
            max: Duration::from_secs(60),
        }
    }
}

impl PollPolicy {
    /// The interval after poll number `poll` (1-based), given a uniform draw in [0, 1).
    pub fn interval(&self, poll: u32, unit: f64) -> Duration {
        let mut d = self.initial;
        for _ in 1..poll.min(40) {
            d = d.saturating_add(d / 2).min(self.max);
        }
        d.mul_f64(0.9 + 0.2 * unit.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_interval_grows_to_max_with_ten_percent_jitter() {
        let p = PollPolicy {
            initial: Duration::from_secs(10),
            max: Duration::from_secs(60),
        };
        assert_eq!(p.interval(1, 0.5), Duration::from_secs(10));
        assert_eq!(p.interval(2, 0.5), Duration::from_secs(15));
        assert_eq!(p.interval(100, 0.5), Duration::from_secs(60));
        assert_eq!(p.interval(1, 0.0), Duration::from_secs(9));
        assert_eq!(p.interval(1, 1.0), Duration::from_secs(11));
    }
}
