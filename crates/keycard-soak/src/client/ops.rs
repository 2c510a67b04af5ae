//! The operations, each recorded as it runs.

use super::actor::{Account, Actor};
use super::browser::{csrf_token, Answer, Browser, Failure, Send};
use super::cli;
use super::record::{judge_form, judge_me, Draft, Target, Verdict};
use crate::history::{OpKind, OpResult};

const PLANS: [&str; 3] = ["free", "pro", "pro-trial"];

impl Actor {
    fn new_browser(&mut self) -> Option<Browser> {
        let n = self.labels + 1;
        let ua = format!("keycard-soak c{} b{n} {}", self.id, self.rng.hex(3));
        match Browser::new(self.ip, &ua, self.ctx.timeout) {
            Ok(b) => Some(b),
            Err(e) => {
                tracing::error!(error = %e, "cannot build an HTTP client");
                None
            }
        }
    }

    /// An anonymous CSRF token (the sign-in page sets the cookie); not recorded: no session involved.
    async fn anonymous_csrf(&mut self, browser: &mut Browser, node: usize) -> bool {
        let base = self.ctx.nodes[node].clone();
        match browser.get(&base, "/session/new", Send::Anonymous).await {
            Ok(a) if a.status == 200 => {
                browser.csrf_token = csrf_token(&a.body);
                browser.csrf_token.is_some()
            }
            _ => false,
        }
    }

    /// The session's CSRF token, fetched (and recorded: the read may renew the token) when missing.
    pub(super) async fn session_csrf(
        &mut self,
        browser: &mut Browser,
        email: &str,
        node: usize,
    ) -> bool {
        if browser.csrf_token.is_some() {
            return true;
        }
        let draft = self.draft(OpKind::Csrf, email, browser, Some(node));
        let base = self.ctx.nodes[node].clone();
        let out = browser.get(&base, "/session/new", Send::Session).await;
        draft.finish(&self.ctx.rec, &out, |a| Verdict {
            took_effect: Some(a.status == 200),
            ..Verdict::default()
        });
        if let Ok(a) = &out {
            browser.csrf_token = (a.status == 200).then(|| csrf_token(&a.body)).flatten();
        }
        browser.csrf_token.is_some()
    }

    pub(super) fn draft(
        &self,
        kind: OpKind,
        email: &str,
        browser: &Browser,
        node: Option<usize>,
    ) -> Draft {
        Draft::start(
            &self.ctx.rec,
            kind,
            Target {
                client: self.id,
                user: email,
                session: browser.label.as_deref(),
                node,
            },
        )
    }

    /// `GET /me` with `browser`'s session on `node`; whether it answered as signed out.
    pub(super) async fn me_of(&mut self, browser: &mut Browser, email: &str, node: usize) -> bool {
        let draft = self.draft(OpKind::Me, email, browser, Some(node));
        let base = self.ctx.nodes[node].clone();
        let out = browser.get(&base, "/me", Send::Session).await;
        draft.finish(&self.ctx.rec, &out, judge_me);
        browser.warm_on = node;
        matches!(&out, Ok(a) if a.status == 401)
    }

    pub(super) fn take_browser(&mut self, which: Option<usize>) -> Option<(Browser, String)> {
        let account = self.account.as_mut()?;
        if account.browsers.is_empty() {
            return None;
        }
        let i = which.unwrap_or(0).min(account.browsers.len() - 1);
        Some((account.browsers.remove(i), account.email.clone()))
    }

    pub(super) fn put_back(&mut self, browser: Browser) {
        if let Some(a) = self.account.as_mut() {
            a.browsers.push(browser);
        }
    }

    /// A browser taken with `pick`, with its session's CSRF token and a random node to act on: `None` (the
    /// browser put back) when there is none or the token could not be had.
    pub(super) async fn ready_browser(
        &mut self,
        pick: fn(&mut Self) -> Option<(Browser, String)>,
    ) -> Option<(Browser, String, usize)> {
        let (mut b, email) = pick(self)?;
        let node = self.node();
        if !self.session_csrf(&mut b, &email, node).await {
            self.put_back(b);
            return None;
        }
        Some((b, email, node))
    }

    pub(super) fn random_browser(&mut self) -> Option<(Browser, String)> {
        let n = self.account.as_ref().map_or(0, |a| a.browsers.len());
        let i = self.rng.below(n);
        self.take_browser(Some(i))
    }

    /// A browser signed in with the password (sudo mode), taken out of the account.
    pub(super) fn password_browser(&mut self) -> Option<(Browser, String)> {
        let i = self
            .account
            .as_ref()?
            .browsers
            .iter()
            .position(|b| b.by_password)?;
        self.take_browser(Some(i))
    }

    pub(super) async fn me(&mut self) {
        let Some((mut b, email)) = self.random_browser() else {
            return;
        };
        let node = self.node();
        if !self.me_of(&mut b, &email, node).await {
            self.put_back(b);
        }
    }

    /// A plan change (a sync: the user's version + 1, the token rotates) on a node other than the one
    /// where another browser of the user is warm; that browser reads `/me` there once the bound has
    /// passed, and must see the new version (a near cache that kept the old user is caught).
    pub(super) async fn plan(&mut self) {
        let Some((mut b, email)) = self.random_browser() else {
            return;
        };
        let witness = self.take_browser(None);
        let node = match &witness {
            Some((w, _)) => self.other_node(w.warm_on),
            None => self.node(),
        };
        let (result, gone) = self.plan_on(&mut b, &email, node).await;
        if !gone {
            self.put_back(b);
        }
        if let Some((mut w, _)) = witness {
            if result == Some(OpResult::Ok) {
                tokio::time::sleep(self.ctx.bound + std::time::Duration::from_millis(300)).await;
                let warm = w.warm_on;
                if self.me_of(&mut w, &email, warm).await {
                    return;
                }
            }
            self.put_back(w);
        }
    }

    /// `POST /plan` with `b` on `node`: the result (`None`: not sent) and whether `b` was answered as
    /// signed out.
    async fn plan_on(
        &mut self,
        b: &mut Browser,
        email: &str,
        node: usize,
    ) -> (Option<OpResult>, bool) {
        if !self.session_csrf(b, email, node).await {
            return (None, false);
        }
        let plan = PLANS[self.rng.below(PLANS.len())];
        let draft = self.draft(OpKind::Plan, email, b, Some(node));
        let base = self.ctx.nodes[node].clone();
        let out = b
            .post(&base, "/plan", &[("plan", plan)], Send::Session)
            .await;
        let result = draft.finish(&self.ctx.rec, &out, |a| judge_form(a, "/profile", email));
        let mut gone = false;
        if let Ok(a) = &out {
            if a.status == 403 {
                b.csrf_token = None;
            }
            let to_sign_in = a
                .location
                .as_deref()
                .is_some_and(|l| l.starts_with("/session/new"));
            gone = a.status == 401 || (a.status == 303 && to_sign_in);
        }
        (Some(result), gone)
    }

    pub(super) async fn put_user(&mut self) {
        let Some(email) = self.account.as_ref().map(|a| a.email.clone()) else {
            return;
        };
        let plan = PLANS[self.rng.below(PLANS.len())];
        cli::set_plan(&self.ctx.rec, &self.ctx.cli, self.id, &email, plan).await;
    }

    /// Keep a browser unless the answer said its session is gone; a refused CSRF token is fetched again.
    pub(super) fn keep_unless_signed_out(&mut self, mut b: Browser, out: &Result<Answer, Failure>) {
        if let Ok(a) = out {
            if a.status == 403 {
                b.csrf_token = None;
            }
            let to_sign_in = a
                .location
                .as_deref()
                .is_some_and(|l| l.starts_with("/session/new"));
            if a.status == 401 || (a.status == 303 && to_sign_in) {
                return;
            }
        }
        self.put_back(b);
    }

    /// Sign up a new user: the client's account from now on, unless the registration was refused.
    pub(super) async fn sign_up(&mut self) {
        self.register(None).await;
    }

    /// Register in a new browser: a new user (`None`), or `again` the account's email and password (an
    /// earlier registration's answer was lost). A taken email (the account exists after all) keeps the
    /// account as it was, now known to exist.
    async fn register(&mut self, again: Option<(String, String)>) {
        let Some(mut b) = self.new_browser() else {
            return;
        };
        let node = self.node();
        if !self.anonymous_csrf(&mut b, node).await {
            return;
        }
        let (email, password) = match again {
            Some(known) => known,
            None => {
                self.sign_ups += 1;
                let email = format!(
                    "c{}-u{}-{}@soak.test",
                    self.id, self.sign_ups, self.ctx.run_tag
                );
                (email, format!("soak-{}", self.rng.hex(12)))
            }
        };
        let label = self.label();
        // A new browser: no session yet.
        let draft = self.draft(OpKind::SignUp, &email, &b, Some(node));
        let base = self.ctx.nodes[node].clone();
        let form = [
            ("email", email.as_str()),
            ("password", password.as_str()),
            ("password_confirmation", password.as_str()),
        ];
        let out = b.post(&base, "/registration", &form, Send::Anonymous).await;
        let result = draft.finish(&self.ctx.rec, &out, |a| created(a, &label, &email));
        if result == OpResult::Fail {
            if matches!(&out, Ok(a) if a.status == 422) {
                if let Some(a) = self.account.as_mut().filter(|a| a.email == email) {
                    a.maybe_unregistered = false;
                }
            }
            return;
        }
        let mut account = match self.account.take() {
            Some(a) if a.email == email => a,
            _ => Account {
                email: email.clone(),
                password,
                other_passwords: Vec::new(),
                maybe_unregistered: false,
                browsers: Vec::new(),
                closed: None,
                ops: 0,
            },
        };
        account.maybe_unregistered = result != OpResult::Ok;
        if result == OpResult::Ok {
            signed_in(&mut b, label, &email, node, true);
            account.browsers.push(b);
        }
        self.account = Some(account);
    }

    pub(super) async fn sign_in(&mut self, remember: bool) {
        let Some((email, password, sure)) = self.account.as_ref().map(|a| {
            let sure = !a.maybe_unregistered && a.other_passwords.is_empty();
            (a.email.clone(), a.password.clone(), sure)
        }) else {
            return;
        };
        let Some(mut b) = self.new_browser() else {
            return;
        };
        let node = self.node();
        if !self.anonymous_csrf(&mut b, node).await {
            return;
        }
        let label = self.label();
        // A new browser: no session yet.
        let draft = self
            .draft(OpKind::SignIn, &email, &b, Some(node))
            .sure_of_password(sure);
        let base = self.ctx.nodes[node].clone();
        let mut form = vec![("email", email.as_str()), ("password", password.as_str())];
        if remember {
            form.push(("remember_me", "on"));
        }
        let out = b.post(&base, "/session", &form, Send::Anonymous).await;
        let result = draft.finish(&self.ctx.rec, &out, |a| created(a, &label, &email));
        match result {
            OpResult::Ok => {
                if let Some(a) = self.account.as_mut() {
                    a.maybe_unregistered = false;
                    a.other_passwords.clear();
                }
                signed_in(&mut b, label, &email, node, true);
                self.put_back(b);
            }
            OpResult::Fail if matches!(&out, Ok(a) if a.status == 401) => {
                let Some(a) = self.account.as_mut() else {
                    return;
                };
                if a.maybe_unregistered {
                    // The sign-up's answer was lost, and the account answers as unknown: register it.
                    self.register(Some((email, password))).await;
                } else {
                    // After password changes whose answers were lost the password is one of several.
                    a.try_another_password();
                }
            }
            _ => {}
        }
    }
}

/// A sign-up or sign-in that answered 303 with a new session cookie created `label`.
fn created(answer: &Answer, label: &str, email: &str) -> Verdict {
    let ok = answer.status == 303 && answer.new_session;
    Verdict {
        took_effect: Some(ok),
        as_user: ok.then(|| email.to_owned()),
        creates: ok.then(|| label.to_owned()),
        ..Verdict::default()
    }
}

pub(super) fn signed_in(
    b: &mut Browser,
    label: String,
    email: &str,
    node: usize,
    by_password: bool,
) {
    b.label = Some(label);
    b.owner = Some(email.to_owned());
    b.by_password = by_password;
    b.csrf_token = None;
    b.warm_on = node;
}
