//! Turning a request's answer (or its absence) into a recorded operation.

use super::browser::{Answer, Failure};
use crate::history::{Event, Op, OpKind, OpResult, Recorder};

/// An operation being run: invoked when drafted, recorded when finished.
#[derive(Debug)]
pub struct Draft {
    op: Op,
}

/// What an answer meant for the operation.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// It took effect (`None`: decide from the status as a read or a write does).
    pub took_effect: Option<bool>,
    /// Answered as this user (an email).
    pub as_user: Option<String>,
    /// Answered as signed out.
    pub anonymous: bool,
    /// The version shown.
    pub version: Option<u64>,
    /// The session it created.
    pub creates: Option<String>,
}

/// Where and as what an operation runs.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The client.
    pub client: u32,
    /// The user.
    pub user: &'a str,
    /// The logical session whose cookie it sends.
    pub session: Option<&'a str>,
    /// The node (`None`: the CLI).
    pub node: Option<usize>,
}

impl Draft {
    /// Invoke `kind` now.
    pub fn start(rec: &Recorder, kind: OpKind, target: Target<'_>) -> Draft {
        Draft {
            op: Op {
                id: rec.next_id(),
                client: target.client,
                kind,
                user: target.user.to_owned(),
                session: target.session.map(str::to_owned),
                node: target.node.and_then(|n| u32::try_from(n).ok()),
                start_us: rec.now_us(),
                end_us: 0,
                status: None,
                result: OpResult::Info,
                timed_out: false,
                error: None,
                as_user: None,
                anonymous: false,
                version: None,
                creates: None,
                ends: Vec::new(),
                sure_of_password: false,
            },
        }
    }

    /// A sign-in whose client is sure of the account and its password.
    pub fn sure_of_password(mut self, sure: bool) -> Draft {
        self.op.sure_of_password = sure;
        self
    }

    /// The sessions it ends if it takes effect.
    pub fn ends(mut self, sessions: Vec<String>) -> Draft {
        self.op.ends = sessions;
        self
    }

    /// Record it with an HTTP outcome; `judge` reads a complete answer. Returns the recorded result.
    pub fn finish(
        mut self,
        rec: &Recorder,
        outcome: &Result<Answer, Failure>,
        judge: impl FnOnce(&Answer) -> Verdict,
    ) -> OpResult {
        self.op.end_us = rec.now_us();
        match outcome {
            Err(Failure::Refused(e)) => {
                self.op.result = OpResult::Fail;
                self.op.error = Some(e.clone());
                // Nothing was sent: nothing it would end was ended.
                self.op.ends.clear();
            }
            Err(Failure::Timeout) => {
                self.op.timed_out = true;
                self.op.error = Some("client timeout".to_owned());
            }
            Err(Failure::Lost(e)) => self.op.error = Some(e.clone()),
            Ok(answer) => {
                self.op.status = Some(answer.status);
                let verdict = judge(answer);
                self.op.anonymous = verdict.anonymous;
                self.op.version = verdict.version;
                self.op.creates = verdict.creates.clone();
                self.op.as_user = verdict.as_user;
                self.op.result = match (verdict.took_effect, answer.status) {
                    (Some(true), _) => OpResult::Ok,
                    // A 5xx may have run in the store all the same (a paused Redis runs the script later).
                    (_, 500..) => OpResult::Info,
                    (Some(false), _) => OpResult::Fail,
                    (None, _) => OpResult::Ok,
                };
            }
        }
        self.record(rec)
    }

    /// Record it with this result as it is (the CLI).
    pub fn finish_as(
        mut self,
        rec: &Recorder,
        result: OpResult,
        timed_out: bool,
        error: Option<String>,
    ) -> OpResult {
        self.op.end_us = rec.now_us();
        self.op.result = result;
        self.op.timed_out = timed_out;
        self.op.error = error;
        self.record(rec)
    }

    fn record(self, rec: &Recorder) -> OpResult {
        let result = self.op.result;
        rec.record(Event::Op(self.op));
        result
    }
}

/// A `/me` answer: 200 with the email and version it shows, or 401.
pub fn judge_me(answer: &Answer) -> Verdict {
    match answer.status {
        200 => {
            let json: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
            let email = json["email"].as_str().unwrap_or_default();
            Verdict {
                took_effect: Some(true),
                as_user: Some(email.to_owned()),
                version: json["version"].as_u64(),
                ..Verdict::default()
            }
        }
        401 => Verdict {
            took_effect: Some(true),
            anonymous: true,
            ..Verdict::default()
        },
        _ => Verdict {
            took_effect: Some(false),
            ..Verdict::default()
        },
    }
}

/// A form answered with a redirect to `expected` took effect as the user; a redirect to the sign-in page
/// (or a 401) means the session was treated as signed out; anything else took no effect.
pub fn judge_form(answer: &Answer, expected: &str, user: &str) -> Verdict {
    let location = answer.location.as_deref().unwrap_or_default();
    if answer.status == 303 && location == expected {
        return Verdict {
            took_effect: Some(true),
            as_user: Some(user.to_owned()),
            ..Verdict::default()
        };
    }
    Verdict {
        took_effect: Some(false),
        anonymous: answer.status == 401
            || (answer.status == 303 && location.starts_with("/session/new")),
        ..Verdict::default()
    }
}
