//! Retry and polling schedules: pure functions of the attempt number and a random draw,
//! so they are tested without sleeping.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// How hard the client retries a busy or flaky server.
///
/// 429 answers wait what `Retry-After` says (bounded by `max_retry_after`); 500, 502,
/// 503, 504 and dropped connections wait an exponential backoff with jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt.
    pub initial_backoff: Duration,
    /// Upper bound of one backoff.
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is not waited for: the call fails with a sentence.
    pub max_retry_after: Duration,
    /// Timeout of one request (connect plus answer).
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            request_timeout: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` after `attempt` failures (1-based), given a
    /// uniform draw `unit` in [0, 1): "equal jitter", half fixed and half random, so that
    /// clients that failed together do not retry together.
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let full = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let half = full / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }
}

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

/// Reads `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_bounds_and_jitters_in_the_upper_half() {
        let p = RetryPolicy {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(8),
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(500));
        assert_eq!(p.backoff(1, 1.0), Duration::from_secs(1));
        assert_eq!(p.backoff(3, 1.0), Duration::from_secs(4));
        assert_eq!(p.backoff(10, 1.0), Duration::from_secs(8));
        assert_eq!(p.backoff(1000, 0.0), Duration::from_secs(4));
    }

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

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let mut h = HeaderMap::new();
        h.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        h.insert(http::header::RETRY_AFTER, date.parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert(http::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h, now), None);
    }
}
