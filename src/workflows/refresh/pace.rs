//! The pace of a refresh: at most `refresh_rate_limit_per_minute` Partner Center calls a
//! minute for the partner whose customers it reads (one refresh runs per partner, so a
//! limiter per run is a limiter per partner), with a burst no larger than the number of
//! calls under way at once. In any minute a run then makes at most the limit plus that
//! burst, which a limit set somewhat below Partner Center's keeps under it.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// The quota of a run: `per_minute` calls, in bursts of at most `burst`.
pub(super) fn quota(per_minute: u32, burst: usize) -> Quota {
    let rate = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = u32::try_from(burst).unwrap_or(u32::MAX).clamp(1, rate.get());
    Quota::per_minute(rate).allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

/// Hands out permits for Partner Center calls at the run's pace.
pub(super) struct Pace<C: Clock = DefaultClock> {
    limiter: RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<C::Instant>>,
}

impl Pace {
    pub(super) fn new(per_minute: u32, burst: usize) -> Self {
        Pace { limiter: RateLimiter::direct(quota(per_minute, burst)) }
    }

    /// Waits until one more call is allowed.
    pub(super) async fn permit(&self) {
        self.limiter.until_ready().await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use governor::clock::FakeRelativeClock;

    use super::*;

    /// How many calls a limiter allows within `seconds`, asked as fast as it allows them.
    fn allowed_within(per_minute: u32, burst: usize, seconds: u64) -> u32 {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::direct_with_clock(quota(per_minute, burst), clock.clone());
        let mut allowed = 0;
        for _ in 0..seconds * 10 {
            while limiter.check().is_ok() {
                allowed += 1;
            }
            clock.advance(Duration::from_millis(100));
        }
        allowed
    }

    #[test]
    fn a_minute_holds_at_most_the_limit_and_the_burst() {
        let n = allowed_within(120, 4, 60);
        assert!((120..=124).contains(&n), "{n} calls in a minute at 120 a minute with bursts of 4");
        let n = allowed_within(120, 4, 180);
        assert!(n <= 3 * 120 + 4, "{n} calls in three minutes");
    }

    #[test]
    fn the_burst_is_never_above_the_limit_nor_zero() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::direct_with_clock(quota(2, 50), clock);
        assert!(limiter.check().is_ok() && limiter.check().is_ok());
        assert!(limiter.check().is_err(), "a burst of two at two a minute");
        let limiter = RateLimiter::direct_with_clock(quota(60, 0), FakeRelativeClock::default());
        assert!(limiter.check().is_ok());
        assert!(limiter.check().is_err(), "a burst of one when none is asked for");
    }
}
