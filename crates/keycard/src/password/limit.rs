//! The bound on hashing work: a few hashes at once, a short queue, a short wait, then "busy".

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::PasswordError;

/// Permits for running hashes, and the bounded queue in front of them.
pub(super) struct HashLimit {
    permits: Arc<Semaphore>,
    max_concurrent: usize,
    max_wait: Duration,
    max_queue: usize,
    /// Calls waiting for a permit now.
    waiting: AtomicUsize,
}

impl HashLimit {
    /// `max_concurrent` must be between 1 and [`Semaphore::MAX_PERMITS`] (the builder checks).
    pub(super) fn new(max_concurrent: usize, max_wait: Duration, max_queue: usize) -> Self {
        HashLimit {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
            max_wait,
            max_queue,
            waiting: AtomicUsize::new(0),
        }
    }

    pub(super) fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }

    pub(super) fn max_wait(&self) -> Duration {
        self.max_wait
    }

    pub(super) fn max_queue(&self) -> usize {
        self.max_queue
    }

    /// A permit now, or after waiting in a bounded queue for a bounded time, or [`PasswordError::Busy`].
    pub(super) async fn permit(&self) -> Result<OwnedSemaphorePermit, PasswordError> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let Some(_slot) = QueueSlot::take(self) else {
            tracing::debug!(
                max_queue = self.max_queue,
                "password hashing queue full; refusing"
            );
            return Err(self.busy());
        };
        match tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(closed)) => Err(PasswordError::Task(closed.to_string())),
            Err(_) => {
                tracing::debug!(max_wait = ?self.max_wait, "no password hashing permit in time; refusing");
                Err(self.busy())
            }
        }
    }

    /// `Busy`, with a retry hint of `max_wait` in whole seconds (at least one).
    fn busy(&self) -> PasswordError {
        let secs = self.max_wait.as_secs() + u64::from(self.max_wait.subsec_nanos() > 0);
        PasswordError::Busy {
            retry_after: Duration::from_secs(secs.max(1)),
        }
    }

    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    #[cfg(test)]
    pub(super) fn try_take(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }
}

/// One place in the wait queue, given back on drop (also when the waiting call is cancelled).
struct QueueSlot<'a>(&'a AtomicUsize);

impl<'a> QueueSlot<'a> {
    fn take(limit: &'a HashLimit) -> Option<Self> {
        limit
            .waiting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < limit.max_queue).then_some(n + 1)
            })
            .ok()
            .map(|_| QueueSlot(&limit.waiting))
    }
}

impl Drop for QueueSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::task::Poll;

    use super::*;

    /// Poll `fut` exactly once.
    async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
        std::future::poll_fn(|cx| Poll::Ready(std::pin::Pin::new(&mut *fut).poll(cx))).await
    }

    fn is_busy<T>(r: &Result<T, PasswordError>) -> bool {
        matches!(r, Err(PasswordError::Busy { .. }))
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_waits_past_max_wait_is_busy() {
        let limit = HashLimit::new(1, Duration::from_millis(1500), 16);
        let held = limit.try_take().expect("the only permit");
        // The (paused) clock runs forward to the deadline: nothing frees the permit before it.
        let err = limit.permit().await.expect_err("no permit came");
        assert_eq!(
            err,
            PasswordError::Busy {
                retry_after: Duration::from_secs(2)
            }
        );
        assert_eq!(limit.waiting(), 0, "the queue slot was given back");
        drop(held);
        assert!(limit.permit().await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_permit_freed_in_time_is_handed_to_the_waiter() {
        let limit = HashLimit::new(1, Duration::from_secs(2), 16);
        let held = limit.try_take().expect("the only permit");
        let mut waiter = Box::pin(limit.permit());
        assert!(poll_once(&mut waiter).await.is_pending());
        drop(held);
        assert!(waiter.await.is_ok(), "got the freed permit, not Busy");
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_without_waiting() {
        let limit = HashLimit::new(1, Duration::from_secs(3600), 1);
        let held = limit.try_take().expect("the only permit");
        let mut first = Box::pin(limit.permit());
        assert!(poll_once(&mut first).await.is_pending(), "waits its turn");
        assert_eq!(limit.waiting(), 1);
        // The queue is full: the next call is refused on its first poll, with no wait at all.
        let mut second = Box::pin(limit.permit());
        match poll_once(&mut second).await {
            Poll::Ready(Err(PasswordError::Busy { retry_after })) => {
                assert_eq!(retry_after, Duration::from_secs(3600))
            }
            Poll::Ready(other) => panic!("expected Busy, got {:?}", other.map(|_| "a permit")),
            Poll::Pending => panic!("expected Busy at once, the call waits"),
        }
        // The permit comes back: the waiting call gets it.
        drop(held);
        assert!(first.await.is_ok());
        assert_eq!(limit.waiting(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_waiter_gives_its_place_back() {
        let limit = HashLimit::new(1, Duration::from_secs(3600), 1);
        let held = limit.try_take().expect("the only permit");
        let mut waiter = Box::pin(limit.permit());
        assert!(poll_once(&mut waiter).await.is_pending());
        assert_eq!(limit.waiting(), 1);
        drop(waiter); // the client went away
        assert_eq!(limit.waiting(), 0);
        let mut next = Box::pin(limit.permit());
        assert!(
            poll_once(&mut next).await.is_pending(),
            "queued, not refused"
        );
        drop(held);
        assert!(next.await.is_ok());
    }

    #[tokio::test]
    async fn no_queue_means_busy_as_soon_as_all_permits_run() {
        let limit = HashLimit::new(2, Duration::from_secs(3600), 0);
        let a = limit.try_take().expect("first permit");
        let _b = limit.permit().await.expect("second permit, no wait");
        assert!(is_busy(&limit.permit().await));
        drop(a);
        assert!(limit.permit().await.is_ok());
    }

    #[test]
    fn retry_hint_is_max_wait_rounded_up_to_a_second() {
        let hint = |wait| match HashLimit::new(1, wait, 0).busy() {
            PasswordError::Busy { retry_after } => retry_after,
            other => panic!("{other:?}"),
        };
        assert_eq!(hint(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(hint(Duration::from_millis(200)), Duration::from_secs(1));
        assert_eq!(hint(Duration::from_millis(2001)), Duration::from_secs(3));
        assert_eq!(hint(Duration::from_secs(5)), Duration::from_secs(5));
    }
}
