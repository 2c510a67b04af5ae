//! One-time tokens in Redis ([`OneTimeStore`]), in the subject's slot like everything else of a user.
//!
//! A token is a hash `{prefix}{tt}o:<token hash hex>` (`v` format, `pp` purpose, `sj` subject, `c` the
//! code's keyed hash, `ca`/`ea` created and expiry, `al` attempts left, `pl` the payload bytes), and a
//! subject's tokens of one purpose are a set `{prefix}{tt}os:<purpose>:<subject>`. The token hash carries
//! the subject's tag ([`OneTimeStore::route_tag`] answers the tag the sessions use), so a link names its
//! slot without naming its subject; a hash without a tag of this layout is unknown without I/O. Every
//! step is one script on one slot; a code guess is two: the first reserves an attempt (`HINCRBY al -1`)
//! and returns the record, Rust compares the code, the second consumes it (one winner) or drops a spent
//! one. Keys expire at the token's deadline (`PEXPIRE`, the set with its longest token), so
//! [`sweep_one_time`](OneTimeStore::sweep_one_time) has nothing to do.

use keycard::onetime::{CodeRedemption, OneTimeRecord, OneTimeStore};
use keycard::token::TokenHash;
use keycard::{RouteTag, StoreError, Timestamp};
use redis::Value;

use crate::codec::{
    array, bytes, int, is_nil, malformed, parse_hash, parse_ts, str_arg, text, ts_arg,
};
use crate::connect::RedisStore;
use crate::layout::{base, tag_of, tag_of_token};
use crate::scripts::SCRIPTS;
use crate::BACKEND;

/// Values per token in a script reply: `[token, purpose, subject, code, ca, ea, al, payload]`.
const WIDTH: usize = 8;

fn token_key(base: &str, token: &TokenHash) -> String {
    format!("{base}o:{}", token.to_hex())
}

fn subject_key(base: &str, purpose: &str, subject: &str) -> String {
    format!("{base}os:{purpose}:{subject}")
}

fn parse(f: &[Value]) -> Result<OneTimeRecord, &'static str> {
    if f.len() != WIDTH {
        return Err("one-time record has the wrong number of fields");
    }
    let attempts = int(&f[6]).ok_or("malformed attempts")?;
    Ok(OneTimeRecord {
        token: parse_hash(&f[0])?,
        purpose: text(&f[1]).ok_or("malformed purpose")?.to_owned(),
        subject: text(&f[2]).ok_or("malformed subject")?.to_owned(),
        code: if is_nil(&f[3]) {
            None
        } else {
            Some(parse_hash(&f[3])?)
        },
        created_at: parse_ts(&f[4])?,
        expires_at: parse_ts(&f[5])?,
        attempts_left: u32::try_from(attempts.max(0)).unwrap_or(0),
        payload: bytes(&f[7]).ok_or("malformed payload")?.to_vec(),
    })
}

/// A reply `{1, token...}` / `{0}` / `{-1, reason}` → the record, if any.
fn reply_record(
    operation: &'static str,
    reply: Value,
) -> Result<Option<OneTimeRecord>, StoreError> {
    let items = array(reply).ok_or_else(|| malformed(operation))?;
    match items.first().and_then(int) {
        Some(0) => Ok(None),
        Some(-1) => {
            let reason = items.get(1).and_then(text).unwrap_or("undecodable record");
            tracing::warn!(
                backend = BACKEND,
                operation,
                reason,
                "undecodable one-time record treated as absent"
            );
            Ok(None)
        }
        Some(1) if items.len() == 1 + WIDTH => match parse(&items[1..]) {
            Ok(r) => Ok(Some(r)),
            Err(reason) => {
                tracing::warn!(
                    backend = BACKEND,
                    operation,
                    reason,
                    "undecodable one-time record treated as absent"
                );
                Ok(None)
            }
        },
        _ => Err(malformed(operation)),
    }
}

impl RedisStore {
    /// `find` (consume `false`) and `redeem` (consume `true`).
    async fn one_time_lookup(
        &self,
        operation: &'static str,
        purpose: &str,
        token: &TokenHash,
        now: Timestamp,
        consume: bool,
    ) -> Result<Option<OneTimeRecord>, StoreError> {
        let Some(tag) = tag_of_token(token) else {
            return Ok(None);
        };
        let b = base(self.key_prefix(), tag);
        let keys = [token_key(&b, token)];
        let args = vec![
            token.to_hex().into_bytes(),
            str_arg(purpose),
            ts_arg(now),
            if consume {
                b"1".to_vec()
            } else {
                b"0".to_vec()
            },
        ];
        let reply = self
            .run(operation, &SCRIPTS.one_time_find, &b, &keys, args)
            .await?;
        reply_record(operation, reply)
    }

    async fn one_time_take(
        &self,
        record: &OneTimeRecord,
        only_spent: bool,
    ) -> Result<Option<OneTimeRecord>, StoreError> {
        const OP: &str = "redeem_code";
        let b = base(self.key_prefix(), tag_of(&record.subject));
        let keys = [token_key(&b, &record.token)];
        let args = vec![
            record.token.to_hex().into_bytes(),
            if only_spent {
                b"1".to_vec()
            } else {
                b"0".to_vec()
            },
        ];
        let reply = self
            .run(OP, &SCRIPTS.one_time_take, &b, &keys, args)
            .await?;
        reply_record(OP, reply)
    }
}

#[async_trait::async_trait]
impl OneTimeStore for RedisStore {
    async fn issue(&self, r: OneTimeRecord, supersede: bool) -> Result<(), StoreError> {
        const OP: &str = "issue";
        let tag = tag_of(&r.subject);
        if tag_of_token(&r.token) != Some(tag) {
            return Err(crate::err(
                OP,
                "the token does not carry the subject's route tag (issue tokens through OneTimeTokens \
                 over this store)",
            ));
        }
        let b = base(self.key_prefix(), tag);
        let keys = [
            token_key(&b, &r.token),
            subject_key(&b, &r.purpose, &r.subject),
        ];
        let args = vec![
            r.token.to_hex().into_bytes(),
            str_arg(&r.purpose),
            str_arg(&r.subject),
            r.code.map(|c| c.to_hex().into_bytes()).unwrap_or_default(),
            ts_arg(r.created_at),
            ts_arg(r.expires_at),
            r.attempts_left.to_string().into_bytes(),
            r.payload,
            ts_arg(r.created_at),
            if supersede {
                b"1".to_vec()
            } else {
                b"0".to_vec()
            },
        ];
        match int(&self
            .run(OP, &SCRIPTS.one_time_issue, &b, &keys, args)
            .await?)
        {
            Some(0 | 1) => Ok(()),
            _ => Err(malformed(OP)),
        }
    }

    async fn find(
        &self,
        purpose: &str,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<OneTimeRecord>, StoreError> {
        self.one_time_lookup("find", purpose, token, now, false)
            .await
    }

    async fn redeem(
        &self,
        purpose: &str,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<OneTimeRecord>, StoreError> {
        self.one_time_lookup("redeem", purpose, token, now, true)
            .await
    }

    async fn redeem_code(
        &self,
        purpose: &str,
        subject: &str,
        code: &TokenHash,
        now: Timestamp,
    ) -> Result<CodeRedemption, StoreError> {
        const OP: &str = "redeem_code";
        let b = base(self.key_prefix(), tag_of(subject));
        let keys = [subject_key(&b, purpose, subject)];
        let args = vec![str_arg(purpose), str_arg(subject), ts_arg(now)];
        let reply = self
            .run(OP, &SCRIPTS.one_time_code, &b, &keys, args)
            .await?;
        let Some(reserved) = reply_record(OP, reply)? else {
            return Ok(CodeRedemption::Unknown);
        };
        if reserved.code.as_ref().is_some_and(|c| c.matches(code)) {
            return Ok(match self.one_time_take(&reserved, false).await? {
                Some(r) => CodeRedemption::Redeemed(r),
                None => CodeRedemption::Unknown, // another right guess took it first
            });
        }
        if reserved.attempts_left == 0 {
            self.one_time_take(&reserved, true).await?;
        }
        Ok(CodeRedemption::Wrong {
            attempts_left: reserved.attempts_left,
        })
    }

    async fn revoke(&self, purpose: &str, subject: &str) -> Result<usize, StoreError> {
        const OP: &str = "revoke";
        let b = base(self.key_prefix(), tag_of(subject));
        let keys = [subject_key(&b, purpose, subject)];
        let args = vec![str_arg(purpose), str_arg(subject)];
        match int(&self
            .run(OP, &SCRIPTS.one_time_revoke, &b, &keys, args)
            .await?)
        {
            Some(n) => Ok(usize::try_from(n).unwrap_or(0)),
            None => Err(malformed(OP)),
        }
    }

    async fn sweep_one_time(&self, _now: Timestamp) -> Result<usize, StoreError> {
        Ok(0) // keys expire at their deadline
    }

    fn route_tag(&self, subject: &str) -> Option<RouteTag> {
        Some(RouteTag(tag_of(subject)))
    }
}
