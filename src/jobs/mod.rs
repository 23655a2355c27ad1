//! Background work of a running portal: the delivery worker, which sends whatever is due
//! through the same delivery steps as a submission's first attempt, the removal of
//! expired sessions and of delegated tokens kept with submissions past their session,
//! forgetting rate-limit state of clients not seen lately, and the refreshes of all
//! customers (continued after a restart, and on a schedule).

use std::sync::Arc;
use std::time::Duration;

use crate::store::Store;
use crate::workflows::{Delivery, Workflows};

/// Looks for due submissions every `poll` (queued ones from before a restart too).
pub fn spawn_delivery_worker(delivery: Arc<Delivery>, poll: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = delivery.run_due().await {
                tracing::warn!(error = %e, "delivery worker could not read the queue");
            }
            tokio::time::sleep(poll).await;
        }
    })
}

/// Removes expired sessions every ten minutes.
pub fn spawn_session_sweeper(store: Store) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = store.session_purge_expired().await {
                tracing::warn!(error = %e, "could not remove expired sessions");
            }
        }
    })
}

/// Runs `forget_idle` every minute: the rate limiters drop the addresses and sessions they
/// have not seen lately, so that their memory stays bounded (docs/rate-limits.md).
pub fn spawn_rate_limit_cleanup(forget_idle: impl Fn() + Send + 'static) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            forget_idle();
        }
    })
}

/// Removes, every minute, the delegated tokens that queued submissions keep past the
/// absolute end of the session they came from (reading them stops at that end already).
pub fn spawn_token_sweeper(workflows: Arc<Workflows>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = workflows.forget_expired_tokens().await {
                tracing::warn!(error = %e, "could not remove delegated tokens kept past their session");
            }
        }
    })
}

/// Every `poll`: continues refreshes of all customers that their instance left
/// unfinished (stopped, or crashed: their lease ran out), and starts the scheduled
/// refresh of each partner that is due (docs/refresh.md).
pub fn spawn_refresh_job(workflows: Arc<Workflows>, poll: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(poll);
        loop {
            tick.tick().await;
            if let Err(e) = workflows.continue_abandoned_refreshes().await {
                tracing::warn!(error = %e, "could not continue unfinished refreshes");
            }
            if let Err(e) = workflows.start_scheduled_refreshes().await {
                tracing::warn!(error = %e, "could not start scheduled refreshes");
            }
        }
    })
}
