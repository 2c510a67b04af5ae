//! The queue on tokio's paused clock: retries, backoff, give-ups, a full queue, closing. No test sleeps:
//! the clock jumps to each timer when every task is waiting.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keycard_mail::{
    async_trait, MailError, MailErrorKind, MailQueue, MailStats, Mailer, Message, RecordingMailer,
};
use tokio::sync::Semaphore;
use tokio::time::Instant;

fn message(n: usize) -> Message {
    Message::new(
        "ada@example.com",
        format!("message {n}"),
        "https://example.com/x\n",
    )
    .expect("a valid message")
}

const DEADLINE: Duration = Duration::from_secs(600);

/// (sent, retried, failed, dropped, pending)
fn counts(s: MailStats) -> (u64, u64, u64, u64, u64) {
    (s.sent, s.retried, s.failed, s.dropped, s.pending)
}

#[tokio::test(start_paused = true)]
async fn a_transient_failure_is_retried_and_the_message_sent() {
    let mailer = RecordingMailer::new();
    mailer.fail_next_transient(2);
    let queue = MailQueue::new(mailer.clone());
    queue.send(message(1));
    let stats = queue.close(DEADLINE).await;
    assert_eq!(counts(stats), (1, 2, 0, 0, 0));
    assert_eq!(mailer.attempts(), 3);
    assert_eq!(mailer.messages()[0].subject(), "message 1");
}

#[tokio::test(start_paused = true)]
async fn a_permanent_failure_is_not_retried() {
    let mailer = RecordingMailer::new();
    mailer.fail_next_permanent(1);
    let queue = MailQueue::new(mailer.clone());
    queue.send(message(1));
    queue.send(message(2));
    let stats = queue.close(DEADLINE).await;
    assert_eq!(counts(stats), (1, 0, 1, 0, 0));
    assert_eq!(mailer.attempts(), 2);
}

#[tokio::test(start_paused = true)]
async fn retries_are_bounded_then_the_message_counts_as_failed() {
    let mailer = RecordingMailer::new();
    mailer.fail_next_transient(10);
    let queue = MailQueue::new(mailer.clone());
    queue.send(message(1));
    let stats = queue.close(DEADLINE).await;
    assert_eq!(counts(stats), (0, 3, 1, 0, 0));
    assert_eq!(mailer.attempts(), 4, "one attempt and 3 retries");

    let none = RecordingMailer::new();
    none.fail_next_transient(10);
    let queue = MailQueue::builder().retries(0).start(none.clone());
    queue.send(message(1));
    assert_eq!(counts(queue.close(DEADLINE).await), (0, 0, 1, 0, 0));
    assert_eq!(none.attempts(), 1);
}

/// Fails every attempt (transient) and notes when each came, on tokio's clock.
#[derive(Clone, Default)]
struct Clocked(Arc<Mutex<Vec<Instant>>>);

#[async_trait]
impl Mailer for Clocked {
    async fn send(&self, _message: &Message) -> Result<(), MailError> {
        self.0.lock().expect("lock").push(Instant::now());
        Err(MailError::transient(MailErrorKind::Connect, "refused"))
    }
}

#[tokio::test(start_paused = true)]
async fn the_waits_double_with_jitter_between_half_and_all() {
    let mailer = Clocked::default();
    let queue = MailQueue::builder()
        .retries(4)
        .backoff(Duration::from_secs(1), Duration::from_secs(3))
        .start(mailer.clone());
    queue.send(message(1));
    queue.close(DEADLINE).await;
    let at = mailer.0.lock().expect("lock").clone();
    assert_eq!(at.len(), 5);
    // The full waits: 1 s, 2 s, then capped at 3 s; each drawn in [full/2, full].
    for (i, full) in [1000u64, 2000, 3000, 3000].into_iter().enumerate() {
        let waited = at[i + 1] - at[i];
        let full = Duration::from_millis(full);
        assert!(
            waited >= full / 2 && waited <= full + Duration::from_millis(5),
            "wait {i}: {waited:?} for a full wait of {full:?}"
        );
    }
}

/// Holds every send until a permit is added.
#[derive(Clone)]
struct Gate(Arc<Semaphore>, RecordingMailer);

#[async_trait]
impl Mailer for Gate {
    async fn send(&self, message: &Message) -> Result<(), MailError> {
        let permit =
            self.0.acquire().await.map_err(|_| {
                MailError::permanent(MailErrorKind::Unavailable, "the gate was closed")
            })?;
        permit.forget();
        self.1.send(message).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_drops_and_counts_without_waiting() {
    let gate = Gate(Arc::new(Semaphore::new(0)), RecordingMailer::new());
    let queue = MailQueue::builder()
        .capacity(2)
        .concurrency(1)
        .start(gate.clone());
    // The worker has not run yet (one thread, no await in between): the channel takes 2, drops 8.
    let started = Instant::now();
    for n in 0..10 {
        queue.send(message(n));
    }
    assert_eq!(started.elapsed(), Duration::ZERO, "send never waits");
    assert_eq!(counts(queue.stats()), (0, 0, 0, 8, 2));

    // The worker takes one message and waits in the mailer; the channel has room for one more.
    tokio::task::yield_now().await;
    gate.0.add_permits(100);
    let stats = queue.close(DEADLINE).await;
    assert_eq!((stats.sent, stats.dropped, stats.pending), (2, 8, 0));
    let subjects: Vec<String> = gate
        .1
        .messages()
        .iter()
        .map(|m| m.subject().to_owned())
        .collect();
    assert_eq!(subjects, ["message 0", "message 1"]);
}

#[tokio::test(start_paused = true)]
async fn close_gives_up_at_its_deadline_and_later_sends_are_dropped() {
    let gate = Gate(Arc::new(Semaphore::new(0)), RecordingMailer::new());
    let queue = MailQueue::builder()
        .attempt_timeout(Duration::from_secs(3600))
        .start(gate.clone());
    queue.send(message(1));
    queue.send(message(2));
    let before = Instant::now();
    let stats = queue.close(Duration::from_secs(5)).await;
    let took = before.elapsed();
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(6),
        "{took:?}"
    );
    assert_eq!(counts(stats), (0, 0, 0, 2, 0));

    queue.send(message(3));
    assert_eq!(queue.stats().dropped, 3);
    // A second close returns at once with the same counts.
    assert_eq!(queue.close(DEADLINE).await, queue.stats());
}

#[tokio::test(start_paused = true)]
async fn a_hung_attempt_is_cut_off_and_retried() {
    let gate = Gate(Arc::new(Semaphore::new(0)), RecordingMailer::new());
    let queue = MailQueue::builder()
        .attempt_timeout(Duration::from_secs(30))
        .retries(1)
        .start(gate.clone());
    queue.send(message(1));
    let stats = queue.close(DEADLINE).await;
    assert_eq!(counts(stats), (0, 1, 1, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn close_drains_what_was_accepted_with_many_messages_in_flight() {
    let mailer = RecordingMailer::new();
    // The first 3 attempts fail (transient): 3 messages are retried once each, 3 at a time in flight.
    mailer.fail_next_transient(3);
    let queue = MailQueue::builder()
        .concurrency(3)
        .capacity(64)
        .start(mailer.clone());
    for n in 0..50 {
        queue.send(message(n));
    }
    let mid = queue.stats();
    assert_eq!(mid.pending, 50);
    let stats = queue.close(DEADLINE).await;
    assert_eq!(counts(stats), (50, 3, 0, 0, 0));
    assert_eq!(mailer.messages().len(), 50);
}
