//! The one retry policy of every network client in lava-release: how many attempts, how
//! long to back off between them, and which answers are worth another attempt.
//!
//! Everything here is a pure function of the attempt number, the answer's status, the
//! server's `Retry-After` and a random draw the caller makes, so it is tested without
//! sleeping or a server. It knows no HTTP client: callers pass the status code and the
//! header's text, and do the sleeping themselves (blocking or async).

use std::time::{Duration, SystemTime};

/// How hard a client retries a busy or flaky server.
///
/// A dropped connection, a timeout, and the statuses of [`retryable_status`] are
/// retried after an exponential backoff with jitter (see [`RetryPolicy::backoff`]). A
/// server's `Retry-After` replaces the backoff when it asks for no more than
/// `max_retry_after`; asking for more ends the call with [`Decision::TooLong`] instead
/// of waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included; 0 counts as 1.
    pub max_attempts: u32,
    /// Backoff before the second attempt; it doubles with each attempt.
    pub initial_backoff: Duration,
    /// Upper bound of one backoff.
    pub max_backoff: Duration,
    /// The longest `Retry-After` waited for.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

/// What to do with an answer, by [`RetryPolicy::after_status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The answer is final (success, or an error that another attempt would repeat).
    Done,
    /// Wait this long, then send again.
    Retry(Duration),
    /// The answer was worth retrying but the attempts are spent.
    Exhausted,
    /// The server asked to wait this long, more than `max_retry_after`.
    TooLong(Duration),
}

impl RetryPolicy {
    /// Attempts per request, at least 1.
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The wait after `attempt` failed attempts (1-based), given a uniform draw `unit`
    /// in [0, 1): `initial_backoff` doubled per attempt up to `max_backoff`, of which
    /// half is fixed and half random ("equal jitter"), so that clients that failed
    /// together do not retry together.
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let full = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let half = full / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// After attempt number `attempt` (1-based) failed without an answer (the
    /// connection was refused or dropped, it timed out, the body broke off): the wait
    /// before the next attempt, or `None` when the attempts are spent.
    pub fn after_failure(&self, attempt: u32, unit: f64) -> Option<Duration> {
        (attempt < self.attempts()).then(|| self.backoff(attempt, unit))
    }

    /// After attempt number `attempt` (1-based) was answered with `status`, and the
    /// server's `Retry-After` if it sent one (see [`parse_retry_after`]): whether and how
    /// long to wait before the next attempt.
    pub fn after_status(
        &self,
        attempt: u32,
        status: u16,
        retry_after: Option<Duration>,
        unit: f64,
    ) -> Decision {
        if !retryable_status(status) {
            return Decision::Done;
        }
        if let Some(asked) = retry_after.filter(|a| *a > self.max_retry_after) {
            return Decision::TooLong(asked);
        }
        if attempt >= self.attempts() {
            return Decision::Exhausted;
        }
        Decision::Retry(retry_after.unwrap_or_else(|| self.backoff(attempt, unit)))
    }
}

/// Whether an answer with this status is worth another attempt: 408 Request Timeout,
/// 429 Too Many Requests, and the 5xx a busy server or its proxy gives (500, 502, 503,
/// 504). Other statuses, 501 Not Implemented included, would be answered the same way
/// again.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Reads a `Retry-After` header's value as delay-seconds or an HTTP-date (RFC 9110
/// §10.2.3); a date in the past is no wait at all. `None` when it is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }

    #[test]
    fn backoff_doubles_within_bounds_and_jitters_in_the_upper_half() {
        let p = policy();
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(500));
        assert_eq!(p.backoff(1, 1.0), Duration::from_secs(1));
        assert_eq!(p.backoff(3, 1.0), Duration::from_secs(4));
        assert_eq!(p.backoff(10, 1.0), Duration::from_secs(8));
        assert_eq!(p.backoff(1000, 0.0), Duration::from_secs(4));
        // Draws outside [0, 1) cannot stretch the bound.
        assert_eq!(p.backoff(1000, 7.0), Duration::from_secs(8));
        assert_eq!(p.backoff(1000, -1.0), Duration::from_secs(4));
    }

    #[test]
    fn every_delay_is_bounded_by_max_backoff() {
        let p = RetryPolicy {
            initial_backoff: Duration::from_secs(u64::MAX / 4),
            ..policy()
        };
        for attempt in [0, 1, 2, 20, 21, u32::MAX] {
            for unit in [0.0, 0.5, 0.999] {
                let d = p.backoff(attempt, unit);
                assert!(d <= p.max_backoff, "attempt {attempt}, draw {unit}: {d:?}");
                assert!(
                    d >= p.max_backoff / 2,
                    "attempt {attempt}, draw {unit}: {d:?}"
                );
            }
        }
    }

    #[test]
    fn failures_are_retried_until_the_attempts_are_spent() {
        let p = policy();
        assert_eq!(p.after_failure(1, 1.0), Some(Duration::from_secs(1)));
        assert_eq!(p.after_failure(3, 1.0), Some(Duration::from_secs(4)));
        assert_eq!(p.after_failure(4, 1.0), None);
        let once = RetryPolicy {
            max_attempts: 0,
            ..policy()
        };
        assert_eq!(once.attempts(), 1);
        assert_eq!(once.after_failure(1, 0.0), None);
    }

    #[test]
    fn only_transient_statuses_are_retried() {
        let p = policy();
        for status in [408, 429, 500, 502, 503, 504] {
            assert_eq!(
                p.after_status(1, status, None, 1.0),
                Decision::Retry(Duration::from_secs(1)),
                "{status}"
            );
            assert_eq!(p.after_status(4, status, None, 1.0), Decision::Exhausted);
        }
        for status in [200, 201, 301, 400, 401, 403, 404, 501, 505] {
            assert_eq!(p.after_status(1, status, None, 1.0), Decision::Done);
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_its_cap() {
        let p = policy();
        let asked = Some(Duration::from_secs(42));
        assert_eq!(
            p.after_status(1, 429, asked, 0.0),
            Decision::Retry(Duration::from_secs(42))
        );
        // A server's wait is not the backoff: it may exceed `max_backoff`.
        assert_eq!(
            p.after_status(1, 503, Some(p.max_retry_after), 0.0),
            Decision::Retry(p.max_retry_after)
        );
        let too_long = Some(Duration::from_secs(61));
        assert_eq!(
            p.after_status(1, 429, too_long, 0.0),
            Decision::TooLong(Duration::from_secs(61))
        );
        // Said even when the attempts are spent: it is the better sentence.
        assert_eq!(
            p.after_status(4, 429, too_long, 0.0),
            Decision::TooLong(Duration::from_secs(61))
        );
        // A final answer's header is not a reason to wait.
        assert_eq!(p.after_status(1, 200, too_long, 0.0), Decision::Done);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }
}
