//! The queue: the first attempt of a submission just stored, and the worker's rounds over
//! whatever is due. Both claim with a lease before anything is sent.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, stream};

use super::{Attempt, Delivery};
use crate::store::StoreError;

impl Delivery {
    /// Tries to deliver a submission just stored, waiting at most `wait` for the answer.
    /// If Partner Center is slower the attempt goes on in the background (nothing is cut
    /// off mid-request) and None is returned: the agent is told it will be sent.
    #[tracing::instrument(skip_all, fields(%tenant_id, %submission_id), err(level = "warn"))]
    pub async fn deliver_now(
        self: &Arc<Self>,
        tenant_id: &str,
        submission_id: &str,
        wait: Duration,
    ) -> Result<Option<Attempt>, StoreError> {
        let Some(sub) = self.store.submission_claim(tenant_id, submission_id, &self.owner, self.lease).await? else {
            return Ok(None);
        };
        let this = self.clone();
        let task = tokio::spawn(async move { this.attempt(sub).await });
        match tokio::time::timeout(wait, task).await {
            Ok(Ok(result)) => result.map(Some),
            Ok(Err(join)) => {
                tracing::error!(error = %join, "delivery task failed");
                Ok(None)
            }
            Err(_) => Ok(None),
        }
    }

    /// Delivers what is due, until there is nothing left; returns how many were tried.
    #[tracing::instrument(skip_all, err(level = "warn"))]
    pub async fn run_due(self: &Arc<Self>) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let batch = (self.concurrency * 4) as i64;
            let due = self.store.submissions_claim_due(&self.owner, self.lease, batch).await?;
            if due.is_empty() {
                return Ok(total);
            }
            total += due.len();
            let results: Vec<_> =
                stream::iter(due).map(|s| self.attempt(s)).buffer_unordered(self.concurrency).collect().await;
            for r in results {
                if let Err(e) = r {
                    tracing::error!(error = %e, "delivery attempt could not be recorded");
                }
            }
        }
    }
}
