//! How long to wait before trying again, the one rule for it in the portal: the client
//! uses it between the tries of one call, the delivery worker between its attempts.

use std::time::Duration;

/// Exponential backoff with jitter: before retry `n` (0 for the first) the wait is drawn
/// between a quarter and the whole of `base · 2ⁿ`, never above `max`. The jitter keeps many
/// clients throttled at once from coming back at the same moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// `jitter` is a number in `[0, 1)`, drawn by the caller.
    pub fn delay(&self, retry: u32, jitter: f64) -> Duration {
        let ceiling = self.base.saturating_mul(1u32 << retry.min(20)).min(self.max);
        ceiling.mul_f64(0.25 + 0.75 * jitter.clamp(0.0, 1.0))
    }

    /// The longest total wait over `retries` retries.
    pub fn longest_total(&self, retries: u32) -> Duration {
        (0..retries).map(|n| self.delay(n, 1.0)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn grows_then_stops_at_the_maximum() {
        let b = Backoff { base: Duration::from_secs(5), max: Duration::from_secs(600) };
        assert_eq!(b.delay(0, 1.0), Duration::from_secs(5));
        assert_eq!(b.delay(3, 1.0), Duration::from_secs(40));
        assert_eq!(b.delay(30, 1.0), Duration::from_secs(600));
        assert_eq!(b.delay(0, 0.0), Duration::from_millis(1250));
    }

    proptest! {
        #[test]
        fn always_between_a_quarter_and_the_whole_ceiling(retry in 0u32..64, jitter in 0.0f64..1.0) {
            let b = Backoff { base: Duration::from_millis(400), max: Duration::from_secs(8) };
            let d = b.delay(retry, jitter);
            prop_assert!(d <= Duration::from_secs(8));
            prop_assert!(d >= Duration::from_millis(100));
        }
    }
}
