//! Background work of a running portal: the delivery worker, which sends whatever is due
//! through the same delivery steps as a submission's first attempt, and the removal of
//! expired sessions.

use std::sync::Arc;
use std::time::Duration;

use crate::store::Store;
use crate::workflows::Delivery;

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
