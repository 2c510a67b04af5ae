//! One client: its user, its browsers, its pending probes, and the choice of the next operation.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::browser::Browser;
use super::ctx::Ctx;
use crate::rng::Rng;

/// The most users one client signs up in a run (the demo allows 10 registrations per address an hour).
const MAX_SIGN_UPS: u32 = 8;
/// The most open browsers (sessions) one user has at once.
const MAX_BROWSERS: usize = 3;
/// Probes after the deadline wait at most this long for their time.
const PROBE_GRACE: Duration = Duration::from_secs(5);

/// The user a client plays.
#[derive(Debug)]
pub(super) struct Account {
    pub(super) email: String,
    pub(super) password: String,
    /// After password changes whose answers were lost: the passwords it may be instead, tried in turn
    /// when a sign-in is refused (empty once a sign-in or a change has told).
    pub(super) other_passwords: Vec<String>,
    /// The sign-up's answer was lost (a 503, no answer): the account may not exist. A sign-in refused as
    /// if it did not signs up again with the same email and password instead of trying that password
    /// until the sign-in throttle locks the client out.
    pub(super) maybe_unregistered: bool,
    /// Open browsers, each with a live session (as far as the client knows).
    pub(super) browsers: Vec<Browser>,
    /// A closed browser that kept its remember-me cookie (its session cookie is gone).
    pub(super) closed: Option<Browser>,
    /// Operations run as this user.
    pub(super) ops: u32,
}

impl Account {
    /// The next password it may be (after a refusal): the current one goes to the back of the line.
    pub(super) fn try_another_password(&mut self) {
        if !self.other_passwords.is_empty() {
            let next = self.other_passwords.remove(0);
            let tried = std::mem::replace(&mut self.password, next);
            self.other_passwords.push(tried);
        }
    }
}

/// A read of an ended session's cookie, due at a time.
#[derive(Debug)]
pub(super) struct Probe {
    pub(super) browser: Browser,
    pub(super) node: usize,
    pub(super) due: Instant,
}

/// One client.
#[derive(Debug)]
pub struct Actor {
    pub(super) id: u32,
    pub(super) ip: IpAddr,
    pub(super) ctx: Arc<Ctx>,
    pub(super) rng: Rng,
    pub(super) account: Option<Account>,
    pub(super) sign_ups: u32,
    pub(super) labels: u32,
    pub(super) probes: Vec<Probe>,
}

impl Actor {
    /// Client `id` at `ip`.
    pub fn new(id: u32, ip: IpAddr, ctx: Arc<Ctx>) -> Actor {
        let rng = Rng::new(ctx.seed ^ (u64::from(id) + 1).wrapping_mul(0x9E37_79B9));
        Actor {
            id,
            ip,
            ctx,
            rng,
            account: None,
            sign_ups: 0,
            labels: 0,
            probes: Vec::new(),
        }
    }

    /// Run operations until the deadline, then the probes still pending.
    pub async fn run(mut self) {
        while Instant::now() < self.ctx.deadline {
            self.due_probes(false).await;
            self.step().await;
            let think = 10 + self.rng.below(50) as u64;
            tokio::time::sleep(Duration::from_millis(think)).await;
        }
        let until = Instant::now() + PROBE_GRACE;
        while !self.probes.is_empty() && Instant::now() < until {
            self.due_probes(false).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.due_probes(true).await;
    }

    /// A fresh logical session label.
    pub(super) fn label(&mut self) -> String {
        self.labels += 1;
        format!("c{}-s{}", self.id, self.labels)
    }

    /// A node at random.
    pub(super) fn node(&mut self) -> usize {
        self.rng.below(self.ctx.nodes.len())
    }

    /// A node other than `not` when there is one.
    pub(super) fn other_node(&mut self, not: usize) -> usize {
        let n = self.ctx.nodes.len();
        if n < 2 {
            return 0;
        }
        (not + 1 + self.rng.below(n - 1)) % n
    }

    /// Schedule the reads of an ended session: after the bound on its warm node and on another.
    pub(super) fn probe_later(&mut self, browser: &Browser) {
        let due = Instant::now() + self.ctx.bound + Duration::from_millis(300);
        let warm = browser.warm_on;
        let other = self.other_node(warm);
        for node in [warm, other] {
            self.probes.push(Probe {
                browser: browser.clone(),
                node,
                due,
            });
        }
    }

    async fn due_probes(&mut self, all: bool) {
        let now = Instant::now();
        let (due, later): (Vec<Probe>, Vec<Probe>) = std::mem::take(&mut self.probes)
            .into_iter()
            .partition(|p| all || p.due <= now);
        self.probes = later;
        for mut probe in due {
            let email = self
                .account
                .as_ref()
                .map(|a| a.email.clone())
                .unwrap_or_default();
            let user = probe.browser.owner.clone().unwrap_or(email);
            self.me_of(&mut probe.browser, &user, probe.node).await;
        }
    }

    async fn step(&mut self) {
        let Some(account) = self.account.as_mut() else {
            self.sign_up().await;
            return;
        };
        account.ops += 1;
        if account.browsers.is_empty() && account.closed.is_none() {
            if account.ops > 60 && self.sign_ups < MAX_SIGN_UPS {
                self.sign_up().await;
            } else {
                let remember = self.rng.chance(30);
                self.sign_in(remember).await;
            }
            return;
        }
        let open = account.browsers.len();
        let by_password = account.browsers.iter().any(|b| b.by_password);
        let can_close =
            account.closed.is_none() && account.browsers.iter().any(|b| b.remember.is_some());
        let weights = [
            if open > 0 { 40 } else { 0 },                    // 0 me
            if open > 0 { 10 } else { 0 },                    // 1 plan
            if open > 0 { 3 } else { 0 },                     // 2 put_user (CLI)
            if open < MAX_BROWSERS { 12 } else { 0 },         // 3 sign in
            if open >= 2 && by_password { 7 } else { 0 },     // 4 revoke one
            if open >= 2 && by_password { 2 } else { 0 },     // 5 revoke all
            if by_password { 2 } else { 0 },                  // 6 password
            if can_close { 4 } else { 0 },                    // 7 close a remembered browser
            if account.closed.is_some() { 6 } else { 0 },     // 8 reopen it
            if open > 0 { 4 } else { 0 },                     // 9 sign out
            if self.sign_ups < MAX_SIGN_UPS { 1 } else { 0 }, // 10 another user
        ];
        match self.rng.weighted(&weights) {
            Some(0) => self.me().await,
            Some(1) => self.plan().await,
            Some(2) => self.put_user().await,
            Some(3) => {
                let remember = self.rng.chance(30);
                self.sign_in(remember).await
            }
            Some(4) => self.revoke_one().await,
            Some(5) => self.revoke_all().await,
            Some(6) => self.password().await,
            Some(7) => self.close(),
            Some(8) => self.reopen().await,
            Some(9) => self.sign_out().await,
            Some(10) => self.sign_up().await,
            _ => {}
        }
    }

    /// Close a browser that has a remember-me cookie: its session cookie is gone (kept only to probe
    /// the session once a reopening ends it).
    fn close(&mut self) {
        let Some(account) = self.account.as_mut() else {
            return;
        };
        if let Some(i) = account.browsers.iter().position(|b| b.remember.is_some()) {
            account.closed = Some(account.browsers.remove(i));
        }
    }
}
