//! The memory store's `fetch`: a read under sharded locks that never waits, the renewal decided in
//! place, a session whose credentials are no longer its user's ended on the way.

use std::sync::Arc;

use super::{MemoryStore, TokenEntry, Which, FOREVER, LAST_GRACE};
use crate::clock::Timestamp;
use crate::store::{FetchOutcome, RenewalPlan, SessionRecord, TokenUse};
use crate::token::TokenHash;
use crate::user::{credentials_match, CachedUser};

impl<U: CachedUser> MemoryStore<U> {
    /// End `rec`, whose credentials are not its user's any more, and say so.
    pub(super) fn end_for_credentials<T>(&self, rec: &SessionRecord) -> FetchOutcome<T> {
        let fp = self
            .users
            .get(&rec.user_key)
            .map(|slot| slot.cell.fingerprint());
        // Only if it still does not match (checked under the user's lock): a concurrent sync may have
        // replaced the user in between.
        self.remove_sessions(&rec.user_key, Which::These(vec![rec.session_id]), |r| {
            fp.is_some_and(|fp| !credentials_match(r.auth_fingerprint, fp))
        });
        FetchOutcome::Ended {
            session_id: rec.session_id,
            user_key: rec.user_key.to_string(),
        }
    }

    /// [`Store::fetch`]: it never waits (sharded locks held only while reading or rewriting the entries),
    /// so [`Store::fetch_ready`] answers with it too.
    pub(super) fn fetch_in_memory(
        &self,
        token: &TokenHash,
        now: Timestamp,
        plan: &RenewalPlan,
    ) -> FetchOutcome<U> {
        let Some((until, mut rec, (mut user, fp))) = self.tokens.get(token, |e| {
            (e.until, e.session.clone(), e.user.load_with_fingerprint())
        }) else {
            return FetchOutcome::NotFound;
        };
        if now >= until || !rec.is_live(now) {
            return FetchOutcome::NotFound;
        }
        let Some(mut token_use) = rec.token_use(token, now) else {
            return FetchOutcome::NotFound;
        };
        if !credentials_match(rec.auth_fingerprint, fp) {
            return self.end_for_credentials(&rec);
        }
        let mut renewed = false;
        if plan.is_due(&rec, token_use) {
            // Renewal: decide again under the session's write lock, so exactly one caller rotates.
            let step = self.sessions.update(&rec.session_id, |current| {
                let cur = current.clone();
                if !cur.is_live(now) {
                    return None;
                }
                match cur.token_use(token, now)? {
                    // Somebody else rotated first.
                    TokenUse::Grace => Some((cur, TokenUse::Grace, None)),
                    TokenUse::Current if !plan.is_due(&cur, TokenUse::Current) => {
                        Some((cur, TokenUse::Current, None))
                    }
                    TokenUse::Current => {
                        let cell = self.tokens.get(token, |e| e.user.clone())?;
                        let next = plan.next_token.hash();
                        let mut new_rec = (*cur).clone();
                        new_rec.renewed_at = now;
                        new_rec.idle_deadline = plan.idle_deadline.min(cur.absolute_deadline);
                        new_rec.current_token = next;
                        new_rec.previous_token = Some((*token, plan.grace_until));
                        if let Some((older, _)) = cur.previous_token {
                            self.tokens.remove(&older);
                        }
                        let new_rec = Arc::new(new_rec);
                        // The successor's entry, and the presented token's, now a grace entry (its key is
                        // the new record's previous token).
                        self.tokens.insert(TokenEntry {
                            session: new_rec.clone(),
                            user: cell.clone(),
                            until: FOREVER,
                        });
                        self.tokens.insert(TokenEntry {
                            session: new_rec.clone(),
                            user: cell.clone(),
                            // Never FOREVER, which marks a current token's entry (a grace window that
                            // saturated the clock ends 1 ms earlier).
                            until: plan.grace_until.min(LAST_GRACE),
                        });
                        *current = new_rec.clone();
                        Some((new_rec, TokenUse::Current, Some(cell)))
                    }
                }
            });
            let Some(Some((now_rec, now_use, renewed_with))) = step else {
                return FetchOutcome::NotFound;
            };
            rec = now_rec;
            token_use = now_use;
            if let Some(cell) = renewed_with {
                self.bump_live_until(&rec.user_key, rec.expires_at());
                user = cell.load();
                renewed = true;
            }
        }
        FetchOutcome::Found {
            session: rec,
            user,
            token_use,
            renewed,
        }
    }
}
