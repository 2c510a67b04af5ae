//! Linked identities in SQL ([`IdentityStore`]): `{prefix}identities`, one row per (provider, subject),
//! its primary key. A link is one `INSERT … ON CONFLICT DO NOTHING`, so of concurrent links of one pair
//! exactly one inserts; the others read the owner.

use keycard::identity::{IdentityRecord, IdentityStore, LinkOutcome};
use keycard::{StoreError, Timestamp};

use super::SqlStore;
use crate::backend::{Arg, Backend, Exec, Row};
use crate::codec::{read_ts, ts};
use crate::schema::render;

const COLS: &str = "provider, subject, user_key, email, created_at, last_used_at";
const FIND: &str = "SELECT {cols} FROM {p}identities WHERE provider = $1 AND subject = $2";
const LIST: &str =
    "SELECT {cols} FROM {p}identities WHERE user_key = $1 ORDER BY created_at, provider, subject";
const INSERT: &str = "INSERT INTO {p}identities ({cols}) VALUES ($1, $2, $3, $4, $5, $6) \
    ON CONFLICT (provider, subject) DO NOTHING";
const OWNER: &str = "SELECT user_key FROM {p}identities WHERE provider = $1 AND subject = $2";
const TOUCH: &str =
    "UPDATE {p}identities SET last_used_at = $3 WHERE provider = $1 AND subject = $2";
const DELETE: &str =
    "DELETE FROM {p}identities WHERE user_key = $1 AND provider = $2 AND subject = $3";
const DELETE_ALL: &str = "DELETE FROM {p}identities WHERE user_key = $1";

fn sql<B: Backend>(template: &str, prefix: &str) -> String {
    render::<B>(&template.replace("{cols}", COLS), prefix)
}

fn from_row(row: &impl Row) -> Result<IdentityRecord, &'static str> {
    let email = row.text(3).map_err(|_| "email is not text")?;
    Ok(IdentityRecord {
        provider: row.text(0).map_err(|_| "provider is not text")?.to_owned(),
        subject: row.text(1).map_err(|_| "subject is not text")?.to_owned(),
        user_key: row.text(2).map_err(|_| "user_key is not text")?.to_owned(),
        email: (!email.is_empty()).then(|| email.to_owned()),
        created_at: read_ts(row, 4)?,
        last_used_at: match row
            .opt_int(5)
            .map_err(|_| "last_used_at is not an integer")?
        {
            Some(_) => Some(read_ts(row, 5)?),
            None => None,
        },
    })
}

fn decoded<B: Backend>(row: &impl Row) -> Option<IdentityRecord> {
    match from_row(row) {
        Ok(r) => Some(r),
        Err(reason) => {
            crate::codec::warn_undecodable(B::NAME, "identities", reason);
            None
        }
    }
}

#[async_trait::async_trait]
impl<B: Backend> IdentityStore for SqlStore<B> {
    async fn find_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<IdentityRecord>, StoreError> {
        let q = sql::<B>(FIND, self.config.table_prefix());
        self.bounded("find_identity", async {
            let row = B::on_pool(&self.pool)
                .fetch_optional(&q, &[Arg::Text(provider), Arg::Text(subject)])
                .await?;
            Ok(row.as_ref().and_then(decoded::<B>))
        })
        .await
    }

    async fn identities(&self, user_key: &str) -> Result<Vec<IdentityRecord>, StoreError> {
        let q = sql::<B>(LIST, self.config.table_prefix());
        self.bounded("identities", async {
            let rows = B::on_pool(&self.pool)
                .fetch_all(&q, &[Arg::Text(user_key)])
                .await?;
            Ok(rows.iter().filter_map(decoded::<B>).collect())
        })
        .await
    }

    async fn link(&self, r: IdentityRecord) -> Result<LinkOutcome, StoreError> {
        let prefix = self.config.table_prefix();
        let (insert, owner) = (sql::<B>(INSERT, prefix), sql::<B>(OWNER, prefix));
        self.bounded("link", async {
            let mut db = B::on_pool(&self.pool);
            // Rows are never moved to another user, so the owner read after a refused insert is the
            // one that won; an unlink in between (no row) means the insert may be tried again.
            for _ in 0..3 {
                let n = db
                    .execute(
                        &insert,
                        &[
                            Arg::Text(&r.provider),
                            Arg::Text(&r.subject),
                            Arg::Text(&r.user_key),
                            Arg::Text(r.email.as_deref().unwrap_or("")),
                            Arg::Int(ts(r.created_at)),
                            Arg::OptInt(r.last_used_at.map(ts)),
                        ],
                    )
                    .await?;
                if n > 0 {
                    return Ok(LinkOutcome::Linked);
                }
                if let Some(row) = db
                    .fetch_optional(&owner, &[Arg::Text(&r.provider), Arg::Text(&r.subject)])
                    .await?
                {
                    return Ok(LinkOutcome::Taken {
                        user_key: row.text(0)?.to_owned(),
                    });
                }
            }
            Err(sqlx::Error::Protocol(
                "the identity was linked and unlinked three times during one link".into(),
            ))
        })
        .await
    }

    async fn touch_identity(
        &self,
        provider: &str,
        subject: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let q = sql::<B>(TOUCH, self.config.table_prefix());
        self.bounded("touch_identity", async {
            let n = B::on_pool(&self.pool)
                .execute(
                    &q,
                    &[Arg::Text(provider), Arg::Text(subject), Arg::Int(ts(at))],
                )
                .await?;
            Ok(n > 0)
        })
        .await
    }

    async fn unlink(
        &self,
        user_key: &str,
        provider: &str,
        subject: &str,
    ) -> Result<bool, StoreError> {
        let q = sql::<B>(DELETE, self.config.table_prefix());
        self.bounded("unlink", async {
            let n = B::on_pool(&self.pool)
                .execute(
                    &q,
                    &[Arg::Text(user_key), Arg::Text(provider), Arg::Text(subject)],
                )
                .await?;
            Ok(n > 0)
        })
        .await
    }

    async fn unlink_all(&self, user_key: &str) -> Result<usize, StoreError> {
        let q = sql::<B>(DELETE_ALL, self.config.table_prefix());
        self.bounded("unlink_all", async {
            let n = B::on_pool(&self.pool)
                .execute(&q, &[Arg::Text(user_key)])
                .await?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
        .await
    }
}
