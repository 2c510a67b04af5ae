//! The queue's background task: takes messages, sends each with bounded retries, counts.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify, Semaphore};
use tokio::task::JoinSet;

use super::settings::{Counters, MailQueueBuilder};
use crate::error::{MailError, MailErrorKind};
use crate::mailer::Mailer;
use crate::message::Message;

/// Receive until the queue is closed (or every handle dropped), sending up to `concurrency` messages at
/// once; then finish those in flight.
pub(super) async fn run(
    mut rx: mpsc::Receiver<Message>,
    mailer: Arc<dyn Mailer>,
    counters: Arc<Counters>,
    close_now: Arc<Notify>,
    config: MailQueueBuilder,
) {
    let slots = Arc::new(Semaphore::new(config.concurrency));
    let config = Arc::new(config);
    let mut in_flight = JoinSet::new();
    let mut closed = false;
    loop {
        tokio::select! {
            biased;
            () = close_now.notified(), if !closed => {
                // Takes no more; what is already in the channel is still received below.
                closed = true;
                rx.close();
            }
            next = rx.recv() => {
                let Some(message) = next else { break };
                let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { break };
                let (mailer, counters, config) =
                    (Arc::clone(&mailer), Arc::clone(&counters), Arc::clone(&config));
                in_flight.spawn(async move {
                    deliver(&message, &*mailer, &counters, &config).await;
                    counters.finished_one();
                    drop(slot);
                });
                // Reap the finished ones, so the set stays as small as the work in flight.
                while in_flight.try_join_next().is_some() {}
            }
        }
    }
    while in_flight.join_next().await.is_some() {}
}

/// Send one message, retrying transient errors up to `config.retries` times.
async fn deliver(
    message: &Message,
    mailer: &dyn Mailer,
    counters: &Counters,
    config: &MailQueueBuilder,
) {
    let mut retries = 0;
    loop {
        let error = match attempt(message, mailer, config.attempt_timeout).await {
            Ok(()) => {
                counters.sent.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    subject = message.subject(),
                    to_domain = message.to().email.domain(),
                    retries,
                    "mail sent"
                );
                return;
            }
            Err(e) => e,
        };
        if error.is_permanent() || retries >= config.retries {
            counters.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                subject = message.subject(),
                to_domain = message.to().email.domain(),
                retries,
                transient = error.is_transient(),
                error = %error,
                "mail not sent: given up"
            );
            return;
        }
        retries += 1;
        counters.retried.fetch_add(1, Ordering::Relaxed);
        let wait = backoff(config.backoff, config.max_backoff, retries);
        tracing::warn!(
            subject = message.subject(),
            to_domain = message.to().email.domain(),
            retry = retries,
            of = config.retries,
            wait_ms = wait.as_millis() as u64,
            error = %error,
            "mail not sent: will retry"
        );
        tokio::time::sleep(wait).await;
    }
}

async fn attempt(message: &Message, mailer: &dyn Mailer, limit: Duration) -> Result<(), MailError> {
    match tokio::time::timeout(limit, mailer.send(message)).await {
        Ok(result) => result,
        Err(_) => Err(MailError::transient(
            MailErrorKind::Timeout,
            format!("the mailer did not finish within {limit:?}"),
        )),
    }
}

/// The wait before retry number `retry` (from 1): `first · 2^(retry-1)`, at most `max`, then drawn
/// between half of that and all of it (jitter, so that many failed messages do not retry in step).
pub(super) fn backoff(first: Duration, max: Duration, retry: u32) -> Duration {
    let doubled = first.saturating_mul(1u32 << retry.saturating_sub(1).min(20));
    let full = doubled.min(max);
    let half = full / 2;
    let spread = u64::try_from((full - half).as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(fastrand::u64(0..=spread))
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_is_capped_and_jittered_within_half_to_full() {
        let (first, max) = (Duration::from_secs(1), Duration::from_secs(60));
        for _ in 0..200 {
            for (retry, full) in [(1, 1), (2, 2), (3, 4), (7, 60), (40, 60)] {
                let d = backoff(first, max, retry);
                let full = Duration::from_secs(full);
                assert!(d >= full / 2 && d <= full, "retry {retry}: {d:?}");
            }
        }
        assert_eq!(backoff(Duration::ZERO, Duration::ZERO, 3), Duration::ZERO);
    }
}
