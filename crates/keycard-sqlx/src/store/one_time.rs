//! One-time tokens in SQL ([`OneTimeStore`]): one row per token in `{prefix}one_time`, keyed by the
//! token's hash. A redemption is one `DELETE … RETURNING`, so of any number of concurrent redemptions
//! exactly one gets the row. A code guess first reserves an attempt with one conditional `UPDATE …
//! RETURNING` (refused when none is left), and only then compares the code: however many guesses race,
//! at most the allowed number are ever compared; a right code then deletes the row (one winner).

use keycard::onetime::{CodeRedemption, OneTimeRecord, OneTimeStore};
use keycard::token::TokenHash;
use keycard::{StoreError, Timestamp};

use super::SqlStore;
use crate::backend::{Arg, Backend, Exec, Row};
use crate::codec::{read_ts, ts};
use crate::schema::render;

const COLS: &str = "token, purpose, subject, code, created_at, expires_at, attempts_left, payload";
/// $1 purpose, $2 subject.
const SUPERSEDE: &str = "DELETE FROM {p}one_time WHERE purpose = $1 AND subject = $2";
const INSERT: &str = "INSERT INTO {p}one_time ({cols}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// $1 token, $2 purpose, $3 now.
const FIND: &str = "SELECT {cols} FROM {p}one_time \
    WHERE token = $1 AND purpose = $2 AND expires_at > $3 AND attempts_left > 0";
/// $1 token, $2 purpose, $3 now.
const REDEEM: &str = "DELETE FROM {p}one_time \
    WHERE token = $1 AND purpose = $2 AND expires_at > $3 AND attempts_left > 0 RETURNING {cols}";
/// $1 purpose, $2 subject, $3 now: one attempt of the newest live record with a code.
const RESERVE: &str = "UPDATE {p}one_time SET attempts_left = attempts_left - 1 \
    WHERE attempts_left > 0 AND expires_at > $3 AND token = (SELECT token FROM {p}one_time \
      WHERE purpose = $1 AND subject = $2 AND code IS NOT NULL AND expires_at > $3 \
      AND attempts_left > 0 ORDER BY created_at DESC, token LIMIT 1) \
    RETURNING {cols}";
/// $1 token.
const CONSUME: &str = "DELETE FROM {p}one_time WHERE token = $1 RETURNING {cols}";
/// $1 token.
const DROP_SPENT: &str = "DELETE FROM {p}one_time WHERE token = $1 AND attempts_left <= 0";
/// $1 now.
const SWEEP: &str = "DELETE FROM {p}one_time WHERE expires_at <= $1 OR attempts_left <= 0";

fn sql<B: Backend>(template: &str, prefix: &str) -> String {
    render::<B>(&template.replace("{cols}", COLS), prefix)
}

fn hash(b: &[u8]) -> Result<TokenHash, &'static str> {
    <[u8; 32]>::try_from(b)
        .map(TokenHash)
        .map_err(|_| "a token hash is not 32 bytes")
}

fn record_from_row(row: &impl Row) -> Result<OneTimeRecord, &'static str> {
    let attempts = row.int(6).map_err(|_| "attempts_left is not an integer")?;
    Ok(OneTimeRecord {
        token: hash(row.bytes(0).map_err(|_| "token is not bytes")?)?,
        purpose: row.text(1).map_err(|_| "purpose is not text")?.to_owned(),
        subject: row.text(2).map_err(|_| "subject is not text")?.to_owned(),
        code: row
            .opt_bytes(3)
            .map_err(|_| "code is not bytes")?
            .map(hash)
            .transpose()?,
        created_at: read_ts(row, 4)?,
        expires_at: read_ts(row, 5)?,
        attempts_left: u32::try_from(attempts.max(0)).unwrap_or(0),
        payload: row.bytes(7).map_err(|_| "payload is not bytes")?.to_vec(),
    })
}

impl<B: Backend> SqlStore<B> {
    fn one_time_or_warn(&self, row: &B::Row, op: &'static str) -> Option<OneTimeRecord>
    where
        B::Row: Row,
    {
        match record_from_row(row) {
            Ok(r) => Some(r),
            Err(reason) => {
                crate::codec::warn_undecodable(B::NAME, op, reason);
                None
            }
        }
    }
}

#[async_trait::async_trait]
impl<B: Backend> OneTimeStore for SqlStore<B> {
    async fn issue(&self, r: OneTimeRecord, supersede: bool) -> Result<(), StoreError> {
        let prefix = self.config.table_prefix();
        let (supersede_sql, insert) = (sql::<B>(SUPERSEDE, prefix), sql::<B>(INSERT, prefix));
        self.bounded("issue", async {
            let mut tx = B::begin(&self.pool).await?;
            if supersede {
                tx.execute(
                    &supersede_sql,
                    &[Arg::Text(&r.purpose), Arg::Text(&r.subject)],
                )
                .await?;
            }
            tx.execute(
                &insert,
                &[
                    Arg::Bytes(&r.token.0),
                    Arg::Text(&r.purpose),
                    Arg::Text(&r.subject),
                    Arg::OptBytes(r.code.as_ref().map(|c| &c.0[..])),
                    Arg::Int(ts(r.created_at)),
                    Arg::Int(ts(r.expires_at)),
                    Arg::Int(i64::from(r.attempts_left)),
                    Arg::Bytes(&r.payload),
                ],
            )
            .await?;
            B::commit(tx).await
        })
        .await
    }

    async fn find(
        &self,
        purpose: &str,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<OneTimeRecord>, StoreError> {
        let q = sql::<B>(FIND, self.config.table_prefix());
        self.bounded("find", async {
            let row = B::on_pool(&self.pool)
                .fetch_optional(
                    &q,
                    &[Arg::Bytes(&token.0), Arg::Text(purpose), Arg::Int(ts(now))],
                )
                .await?;
            Ok(row.and_then(|r| self.one_time_or_warn(&r, "find")))
        })
        .await
    }

    async fn redeem(
        &self,
        purpose: &str,
        token: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<OneTimeRecord>, StoreError> {
        let q = sql::<B>(REDEEM, self.config.table_prefix());
        self.bounded("redeem", async {
            let row = B::on_pool(&self.pool)
                .fetch_optional(
                    &q,
                    &[Arg::Bytes(&token.0), Arg::Text(purpose), Arg::Int(ts(now))],
                )
                .await?;
            Ok(row.and_then(|r| self.one_time_or_warn(&r, "redeem")))
        })
        .await
    }

    async fn redeem_code(
        &self,
        purpose: &str,
        subject: &str,
        code: &TokenHash,
        now: Timestamp,
    ) -> Result<CodeRedemption, StoreError> {
        let prefix = self.config.table_prefix();
        let (reserve, consume, drop_spent) = (
            sql::<B>(RESERVE, prefix),
            sql::<B>(CONSUME, prefix),
            sql::<B>(DROP_SPENT, prefix),
        );
        self.bounded("redeem_code", async {
            let mut db = B::on_pool(&self.pool);
            let Some(row) = db
                .fetch_optional(
                    &reserve,
                    &[Arg::Text(purpose), Arg::Text(subject), Arg::Int(ts(now))],
                )
                .await?
            else {
                return Ok(CodeRedemption::Unknown);
            };
            let Some(r) = self.one_time_or_warn(&row, "redeem_code") else {
                return Ok(CodeRedemption::Unknown);
            };
            let right = r.code.as_ref().is_some_and(|c| c.matches(code));
            if right {
                let row = db
                    .fetch_optional(&consume, &[Arg::Bytes(&r.token.0)])
                    .await?;
                return Ok(
                    match row.and_then(|r| self.one_time_or_warn(&r, "redeem_code")) {
                        Some(r) => CodeRedemption::Redeemed(r),
                        // Another right guess consumed it first.
                        None => CodeRedemption::Unknown,
                    },
                );
            }
            if r.attempts_left == 0 {
                db.execute(&drop_spent, &[Arg::Bytes(&r.token.0)]).await?;
            }
            Ok(CodeRedemption::Wrong {
                attempts_left: r.attempts_left,
            })
        })
        .await
    }

    async fn revoke(&self, purpose: &str, subject: &str) -> Result<usize, StoreError> {
        let q = sql::<B>(SUPERSEDE, self.config.table_prefix());
        self.bounded("revoke", async {
            let n = B::on_pool(&self.pool)
                .execute(&q, &[Arg::Text(purpose), Arg::Text(subject)])
                .await?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
        .await
    }

    async fn sweep_one_time(&self, now: Timestamp) -> Result<usize, StoreError> {
        let q = sql::<B>(SWEEP, self.config.table_prefix());
        self.bounded("sweep_one_time", async {
            let n = B::on_pool(&self.pool)
                .execute(&q, &[Arg::Int(ts(now))])
                .await?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
        .await
    }
}
