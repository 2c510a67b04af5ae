//! The operations that end sessions (sign-out, ending one session, every other session, a password
//! change, a reopened remembered browser), each followed by probes of what it ended.

use super::actor::Actor;
use super::browser::{session_id_of, Browser, Send};
use super::ops::signed_in;
use super::record::{judge_form, judge_me, Draft, Target, Verdict};
use crate::history::{OpKind, OpResult};

impl Actor {
    pub(super) async fn sign_out(&mut self) {
        let Some((mut b, email, node)) = self.ready_browser(Self::random_browser).await else {
            return;
        };
        let ends: Vec<String> = b.label.iter().cloned().collect();
        let draft = self
            .draft(OpKind::SignOut, &email, &b, Some(node))
            .ends(ends);
        let base = self.ctx.nodes[node].clone();
        let dead = b.clone();
        let out = b.post(&base, "/session/delete", &[], Send::Session).await;
        let result = draft.finish(&self.ctx.rec, &out, |a| Verdict {
            // Signed in or not, the answer is the same redirect: it tells nothing of who it served.
            took_effect: Some(a.status == 303 && a.location.as_deref() == Some("/")),
            ..Verdict::default()
        });
        match result {
            OpResult::Fail => self.put_back(b),
            _ => self.ended(dead).await,
        }
    }

    /// A session ended (or may have): read it at once where it was warm, and later again.
    pub(super) async fn ended(&mut self, mut dead: Browser) {
        let email = dead.owner.clone().unwrap_or_default();
        let warm = dead.warm_on;
        self.me_of(&mut dead, &email, warm).await;
        self.probe_later(&dead);
    }

    /// A password browser ends `target` from another node, after warming it where it will be read.
    pub(super) async fn revoke_one(&mut self) {
        let Some((mut actor, email)) = self.password_browser() else {
            return;
        };
        let Some((mut target, _)) = self.random_browser() else {
            self.put_back(actor);
            return;
        };
        let warm = self.node();
        if self.me_of(&mut target, &email, warm).await {
            self.put_back(actor);
            return; // already gone
        }
        let node = self.other_node(warm);
        if !self.session_csrf(&mut actor, &email, node).await {
            self.put_back(actor);
            self.put_back(target);
            return;
        }
        let base = self.ctx.nodes[node].clone();
        let draft = self.draft(OpKind::RevokeOne, &email, &actor, Some(node));
        let listing = actor.get(&base, "/sessions", Send::Session).await;
        let id = match &listing {
            Ok(a) if a.status == 200 => session_id_of(&a.body, &target.user_agent),
            _ => None,
        };
        let Some(id) = id else {
            draft.finish(&self.ctx.rec, &listing, |a| Verdict {
                took_effect: Some(false),
                anonymous: a.status == 303
                    && a.location
                        .as_deref()
                        .is_some_and(|l| l.starts_with("/session/new")),
                ..Verdict::default()
            });
            self.keep_unless_signed_out(actor, &listing);
            self.put_back(target);
            return;
        };
        let draft = draft.ends(target.label.iter().cloned().collect());
        let out = actor
            .post(&base, &format!("/sessions/{id}/delete"), &[], Send::Session)
            .await;
        let result = draft.finish(&self.ctx.rec, &out, |a| judge_form(a, "/sessions", &email));
        self.keep_unless_signed_out(actor, &out);
        match result {
            OpResult::Fail => self.put_back(target),
            _ => self.ended(target).await,
        }
    }

    /// "Sign out everywhere else" from a password browser.
    pub(super) async fn revoke_all(&mut self) {
        let Some((mut actor, email, node)) = self.ready_browser(Self::password_browser).await
        else {
            return;
        };
        let others = self.others();
        let draft = self
            .draft(OpKind::RevokeAll, &email, &actor, Some(node))
            .ends(others.iter().filter_map(|b| b.label.clone()).collect());
        let base = self.ctx.nodes[node].clone();
        let out = actor
            .post(&base, "/sessions/delete-others", &[], Send::Session)
            .await;
        let result = draft.finish(&self.ctx.rec, &out, |a| judge_form(a, "/sessions", &email));
        self.settle_others(result, others).await;
        self.keep_unless_signed_out(actor, &out);
    }

    /// A password change from a password browser: every other session ends.
    pub(super) async fn password(&mut self) {
        let Some((mut actor, email, node)) = self.ready_browser(Self::password_browser).await
        else {
            return;
        };
        let current = self
            .account
            .as_ref()
            .map(|a| a.password.clone())
            .unwrap_or_default();
        let new = format!("soak-{}", self.rng.hex(12));
        let others = self.others();
        let draft = self
            .draft(OpKind::Password, &email, &actor, Some(node))
            .ends(others.iter().filter_map(|b| b.label.clone()).collect());
        let base = self.ctx.nodes[node].clone();
        let form = [
            ("current_password", current.as_str()),
            ("password", new.as_str()),
            ("password_confirmation", new.as_str()),
        ];
        let out = actor
            .post(&base, "/account/password", &form, Send::Session)
            .await;
        let result = draft.finish(&self.ctx.rec, &out, |a| judge_form(a, "/profile", &email));
        if let Some(account) = self.account.as_mut() {
            match result {
                OpResult::Ok => {
                    account.password = new;
                    account.other_passwords.clear();
                }
                OpResult::Info => {
                    // It may have happened or not: either password, and those it may have been.
                    let before = std::mem::replace(&mut account.password, new);
                    account.other_passwords.push(before);
                }
                OpResult::Fail => {
                    if matches!(&out, Ok(a) if a.status == 422) {
                        // The current password given was not it.
                        account.try_another_password();
                    }
                }
            }
        }
        self.settle_others(result, others).await;
        self.keep_unless_signed_out(actor, &out);
    }

    /// Every open browser but the one taken out, and the closed one (whose series ends too).
    fn others(&mut self) -> Vec<Browser> {
        match self.account.as_mut() {
            Some(a) => {
                a.closed = None;
                std::mem::take(&mut a.browsers)
            }
            None => Vec::new(),
        }
    }

    async fn settle_others(&mut self, result: OpResult, others: Vec<Browser>) {
        if result == OpResult::Fail {
            if let Some(a) = self.account.as_mut() {
                a.browsers.extend(others);
            }
            return;
        }
        for b in others {
            self.ended(b).await;
        }
    }

    /// Reopen the closed browser: only its remember-me cookie, on any node.
    pub(super) async fn reopen(&mut self) {
        let Some(mut b) = self.account.as_mut().and_then(|a| a.closed.take()) else {
            return;
        };
        let email = b.owner.clone().unwrap_or_default();
        let node = self.node();
        let label = self.label();
        let old = b.clone();
        let draft = Draft::start(
            &self.ctx.rec,
            OpKind::Reopen,
            Target {
                client: self.id,
                user: &email,
                session: None,
                node: Some(node),
            },
        )
        .ends(old.label.iter().cloned().collect());
        let base = self.ctx.nodes[node].clone();
        let out = b.get(&base, "/me", Send::Remember).await;
        let result = draft.finish(&self.ctx.rec, &out, |a| {
            let mut v = judge_me(a);
            v.took_effect = Some(a.status == 200 && a.new_session);
            v.creates = (a.status == 200 && a.new_session).then(|| label.clone());
            v.anonymous = false; // no session was sent: a 401 says the series is gone
            v
        });
        match (result, &out) {
            (OpResult::Ok, _) => {
                signed_in(&mut b, label, &email, node, false);
                self.put_back(b);
                self.ended(old).await;
            }
            // A 5xx carries a retry cookie (already taken): try again later, as a browser would, however
            // many times in a row it failed (a retry cookie of a retry cookie was taken for theft when
            // neither failed attempt wrote: issue 24's finding, fixed in keycard's retry chains).
            (OpResult::Info, Ok(_)) => {
                if let Some(a) = self.account.as_mut() {
                    a.closed = Some(b);
                }
            }
            // No answer: the remember-me cookie is in doubt; never presented again.
            _ => {}
        }
    }
}
