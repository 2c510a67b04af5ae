//! Remember-me series in SQL ([`RememberStore`]): one row per series in `{prefix}remember`. A rotation is
//! one conditional `UPDATE … WHERE current_token = $presented … RETURNING`, so of any number of concurrent
//! redemptions exactly one changes the row (a retry cookie's alternate tokens match too); the others read it back and find their token as the grace
//! token. Tokens only move forward, so a token that is neither current nor the grace token stays so:
//! deleting the series for it (theft) is right even if another redemption ran in between.

use keycard::remember::{RedeemPlan, Redemption, RememberStore, SeriesId, SeriesRecord};
use keycard::token::TokenHash;
use keycard::{Fingerprint, StoreError, Timestamp};

use super::SqlStore;
use crate::backend::{Arg, Backend, Exec, Row};
use crate::codec::{read_fingerprint, read_ts, ts};
use crate::schema::render;

const COLS: &str = "series_id, user_key, created_at, used_at, expires_at, current_token, \
                    previous_token, previous_until, auth_fingerprint";
/// $1 series id, $2 presented, $3 next, $4 now, $5 grace until, $6 new deadline, $7-$9 a retry cookie's
/// alternates (NULL: none, and `current_token = NULL` is never true; as many as
/// [`MAX_RETRY_CHAIN`](keycard::remember::MAX_RETRY_CHAIN)).
const ROTATE: &str = "UPDATE {p}remember SET previous_token = current_token, previous_until = $5, \
    current_token = $3, used_at = $4, expires_at = $6 \
    WHERE series_id = $1 AND (current_token = $2 OR current_token = $7 OR current_token = $8 \
    OR current_token = $9) AND expires_at > $4 \
    RETURNING {cols}";
/// $1 series id, $2 now.
const LIVE: &str = "SELECT {cols} FROM {p}remember WHERE series_id = $1 AND expires_at > $2";
const INSERT: &str = "INSERT INTO {p}remember ({cols}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const DELETE_ONE: &str = "DELETE FROM {p}remember WHERE series_id = $1 RETURNING user_key";
/// $1 user key, $2 the series to keep (NULL: none).
const DELETE_USER: &str =
    "DELETE FROM {p}remember WHERE user_key = $1 AND ($2 IS NULL OR series_id <> $2)";
const LIST: &str = "SELECT {cols} FROM {p}remember WHERE user_key = $1 AND expires_at > $2 \
    ORDER BY created_at, series_id";
const SWEEP: &str = "DELETE FROM {p}remember WHERE expires_at <= $1";

fn sql<B: Backend>(template: &str, prefix: &str) -> String {
    render::<B>(&template.replace("{cols}", COLS), prefix)
}

fn hash(b: &[u8]) -> Result<TokenHash, &'static str> {
    <[u8; 32]>::try_from(b)
        .map(TokenHash)
        .map_err(|_| "a token hash is not 32 bytes")
}

fn series_from_row(row: &impl Row) -> Result<SeriesRecord, &'static str> {
    let id = row.bytes(0).map_err(|_| "the series id is not bytes")?;
    let series_id = SeriesId(<[u8; 16]>::try_from(id).map_err(|_| "a series id is not 16 bytes")?);
    let previous = match (
        row.opt_bytes(6)
            .map_err(|_| "previous_token is not bytes")?,
        row.opt_int(7)
            .map_err(|_| "previous_until is not an integer")?,
    ) {
        (Some(t), Some(_)) => Some((hash(t)?, read_ts(row, 7)?)),
        _ => None,
    };
    Ok(SeriesRecord {
        series_id,
        user_key: row.text(1).map_err(|_| "user_key is not text")?.to_owned(),
        created_at: read_ts(row, 2)?,
        used_at: read_ts(row, 3)?,
        expires_at: read_ts(row, 4)?,
        current_token: hash(row.bytes(5).map_err(|_| "current_token is not bytes")?)?,
        previous_token: previous,
        auth_fingerprint: read_fingerprint(row, 8)?,
    })
}

impl<B: Backend> SqlStore<B> {
    fn series_or_warn(&self, row: &B::Row, op: &'static str) -> Option<SeriesRecord>
    where
        B::Row: Row,
    {
        match series_from_row(row) {
            Ok(s) => Some(s),
            Err(reason) => {
                crate::codec::warn_undecodable(B::NAME, op, reason);
                None
            }
        }
    }
}

fn fp(f: &Option<Fingerprint>) -> Option<&[u8]> {
    f.as_ref().map(|f| &f.0[..])
}

fn at(t: Timestamp) -> Arg<'static> {
    Arg::Int(ts(t))
}

#[async_trait::async_trait]
impl<B: Backend> RememberStore for SqlStore<B> {
    async fn create_series(&self, s: SeriesRecord) -> Result<(), StoreError> {
        let q = sql::<B>(INSERT, self.config.table_prefix());
        let (prev, until) = match &s.previous_token {
            Some((t, u)) => (Some(&t.0[..]), Some(ts(*u))),
            None => (None, None),
        };
        self.bounded("create_series", async {
            B::on_pool(&self.pool)
                .execute(
                    &q,
                    &[
                        Arg::Bytes(&s.series_id.0),
                        Arg::Text(&s.user_key),
                        at(s.created_at),
                        at(s.used_at),
                        at(s.expires_at),
                        Arg::Bytes(&s.current_token.0),
                        Arg::OptBytes(prev),
                        Arg::OptInt(until),
                        Arg::OptBytes(fp(&s.auth_fingerprint)),
                    ],
                )
                .await
                .map(drop)
        })
        .await
    }

    async fn redeem(
        &self,
        series_id: &SeriesId,
        presented: &TokenHash,
        plan: RedeemPlan,
    ) -> Result<Redemption, StoreError> {
        let prefix = self.config.table_prefix();
        let (rotate, live, delete) = (
            sql::<B>(ROTATE, prefix),
            sql::<B>(LIVE, prefix),
            sql::<B>(DELETE_ONE, prefix),
        );
        self.bounded("redeem", async {
            let mut db = B::on_pool(&self.pool);
            let rotated = db
                .fetch_optional(
                    &rotate,
                    &[
                        Arg::Bytes(&series_id.0),
                        Arg::Bytes(&presented.0),
                        Arg::Bytes(&plan.next_token.0),
                        at(plan.now),
                        at(plan.grace_until),
                        at(plan.expires_at),
                        Arg::OptBytes(plan.alternates[0].as_ref().map(|t| &t.0[..])),
                        Arg::OptBytes(plan.alternates[1].as_ref().map(|t| &t.0[..])),
                        Arg::OptBytes(plan.alternates[2].as_ref().map(|t| &t.0[..])),
                    ],
                )
                .await?;
            if let Some(row) = rotated {
                return Ok(match self.series_or_warn(&row, "redeem") {
                    Some(s) => Redemption::Rotated(s),
                    None => Redemption::Unknown,
                });
            }
            let Some(row) = db
                .fetch_optional(&live, &[Arg::Bytes(&series_id.0), at(plan.now)])
                .await?
            else {
                return Ok(Redemption::Unknown);
            };
            let Some(s) = self.series_or_warn(&row, "redeem") else {
                return Ok(Redemption::Unknown);
            };
            match s.previous_token {
                Some((prev, until))
                    if (&prev == presented || plan.is_alternate(&prev)) && plan.now < until =>
                {
                    Ok(Redemption::Grace(s))
                }
                _ => {
                    db.fetch_optional(&delete, &[Arg::Bytes(&series_id.0)])
                        .await?;
                    Ok(Redemption::Theft {
                        user_key: s.user_key,
                    })
                }
            }
        })
        .await
    }

    async fn delete_series(&self, series_id: &SeriesId) -> Result<Option<String>, StoreError> {
        let q = sql::<B>(DELETE_ONE, self.config.table_prefix());
        self.bounded("delete_series", async {
            match B::on_pool(&self.pool)
                .fetch_optional(&q, &[Arg::Bytes(&series_id.0)])
                .await?
            {
                Some(row) => Ok(Some(row.text(0)?.to_owned())),
                None => Ok(None),
            }
        })
        .await
    }

    async fn delete_user_series(
        &self,
        user_key: &str,
        except: Option<&SeriesId>,
    ) -> Result<usize, StoreError> {
        let q = sql::<B>(DELETE_USER, self.config.table_prefix());
        self.bounded("delete_user_series", async {
            let n = B::on_pool(&self.pool)
                .execute(
                    &q,
                    &[
                        Arg::Text(user_key),
                        Arg::OptBytes(except.map(|id| &id.0[..])),
                    ],
                )
                .await?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
        .await
    }

    async fn series(
        &self,
        user_key: &str,
        now: Timestamp,
    ) -> Result<Vec<SeriesRecord>, StoreError> {
        let q = sql::<B>(LIST, self.config.table_prefix());
        self.bounded("series", async {
            let rows = B::on_pool(&self.pool)
                .fetch_all(&q, &[Arg::Text(user_key), at(now)])
                .await?;
            Ok(rows
                .iter()
                .filter_map(|r| self.series_or_warn(r, "series"))
                .collect())
        })
        .await
    }

    async fn sweep_series(&self, now: Timestamp) -> Result<usize, StoreError> {
        let q = sql::<B>(SWEEP, self.config.table_prefix());
        self.bounded("sweep_series", async {
            let n = B::on_pool(&self.pool).execute(&q, &[at(now)]).await?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
        .await
    }
}
