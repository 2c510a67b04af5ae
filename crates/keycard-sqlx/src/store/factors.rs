//! Second factors in SQL ([`FactorStore`]): `{prefix}totp` (one row per user), `{prefix}recovery_codes`
//! (one row per unused code) and `{prefix}passkeys` (one row per credential, its id the key). The
//! claiming steps are one statement each, so concurrent uses have one winner: a TOTP step is claimed by
//! an `UPDATE … WHERE last_step < $step`, a recovery code used by a `DELETE` of its row.

use keycard::factor::{FactorStore, PasskeyRecord, TotpRecord};
use keycard::token::TokenHash;
use keycard::{StoreError, Timestamp};

use super::SqlStore;
use crate::backend::{Arg, Backend, Exec, Row};
use crate::codec::{read_ts, ts};
use crate::schema::render;

const TOTP: &str = "SELECT sealed_secret, enabled_at, last_step FROM {p}totp WHERE user_key = $1";
const TOTP_UPSERT: &str = "INSERT INTO {p}totp (user_key, sealed_secret, enabled_at, last_step) \
    VALUES ($1, $2, $3, $4) ON CONFLICT (user_key) DO UPDATE SET sealed_secret = excluded.sealed_secret, \
    enabled_at = excluded.enabled_at, last_step = excluded.last_step";
const TOTP_DELETE: &str = "DELETE FROM {p}totp WHERE user_key = $1";
const TOTP_CLAIM: &str = "UPDATE {p}totp SET last_step = $2 \
    WHERE user_key = $1 AND (last_step IS NULL OR last_step < $2)";
const CODES_DELETE: &str = "DELETE FROM {p}recovery_codes WHERE user_key = $1";
const CODE_INSERT: &str = "INSERT INTO {p}recovery_codes (user_key, code) VALUES ($1, $2)";
const CODES_COUNT: &str = "SELECT COUNT(*) FROM {p}recovery_codes WHERE user_key = $1";
const CODE_USE: &str = "DELETE FROM {p}recovery_codes WHERE user_key = $1 AND code = $2";
const PASSKEY_COLS: &str = "id, name, data, created_at, last_used_at";
const PASSKEYS: &str = "SELECT {cols} FROM {p}passkeys WHERE user_key = $1 ORDER BY created_at, id";
const PASSKEY_INSERT: &str = "INSERT INTO {p}passkeys (id, user_key, name, data, created_at, \
    last_used_at) VALUES ($1, $2, $3, $4, $5, $6)";
const PASSKEY_UPDATE: &str =
    "UPDATE {p}passkeys SET data = $3, last_used_at = $4 WHERE user_key = $1 AND id = $2";
const PASSKEY_RENAME: &str = "UPDATE {p}passkeys SET name = $3 WHERE user_key = $1 AND id = $2";
const PASSKEY_DELETE: &str = "DELETE FROM {p}passkeys WHERE user_key = $1 AND id = $2";
const PASSKEY_OWNER: &str = "SELECT user_key FROM {p}passkeys WHERE id = $1";

fn sql<B: Backend>(template: &str, prefix: &str) -> String {
    render::<B>(&template.replace("{cols}", PASSKEY_COLS), prefix)
}

fn passkey_from_row(row: &impl Row) -> Result<PasskeyRecord, &'static str> {
    Ok(PasskeyRecord {
        id: row.bytes(0).map_err(|_| "id is not bytes")?.to_vec(),
        name: row.text(1).map_err(|_| "name is not text")?.to_owned(),
        data: row.bytes(2).map_err(|_| "data is not bytes")?.to_vec(),
        created_at: read_ts(row, 3)?,
        last_used_at: match row
            .opt_int(4)
            .map_err(|_| "last_used_at is not an integer")?
        {
            Some(_) => Some(read_ts(row, 4)?),
            None => None,
        },
    })
}

fn count(n: u64) -> bool {
    n > 0
}

#[async_trait::async_trait]
impl<B: Backend> FactorStore for SqlStore<B> {
    async fn totp(&self, user_key: &str) -> Result<Option<TotpRecord>, StoreError> {
        let q = sql::<B>(TOTP, self.config.table_prefix());
        self.bounded("totp", async {
            let Some(row) = B::on_pool(&self.pool)
                .fetch_optional(&q, &[Arg::Text(user_key)])
                .await?
            else {
                return Ok(None);
            };
            let decoded = (|| -> Result<TotpRecord, &'static str> {
                Ok(TotpRecord {
                    sealed_secret: row
                        .bytes(0)
                        .map_err(|_| "sealed_secret is not bytes")?
                        .to_vec(),
                    enabled_at: read_ts(&row, 1)?,
                    last_step: row
                        .opt_int(2)
                        .map_err(|_| "last_step is not an integer")?
                        .and_then(|s| u64::try_from(s).ok()),
                })
            })();
            match decoded {
                Ok(t) => Ok(Some(t)),
                Err(reason) => {
                    crate::codec::warn_undecodable(B::NAME, "totp", reason);
                    Ok(None)
                }
            }
        })
        .await
    }

    async fn set_totp(&self, user_key: &str, record: Option<TotpRecord>) -> Result<(), StoreError> {
        let prefix = self.config.table_prefix();
        let (upsert, delete) = (sql::<B>(TOTP_UPSERT, prefix), sql::<B>(TOTP_DELETE, prefix));
        self.bounded("set_totp", async {
            let mut db = B::on_pool(&self.pool);
            match &record {
                Some(t) => {
                    db.execute(
                        &upsert,
                        &[
                            Arg::Text(user_key),
                            Arg::Bytes(&t.sealed_secret),
                            Arg::Int(ts(t.enabled_at)),
                            Arg::OptInt(t.last_step.and_then(|s| i64::try_from(s).ok())),
                        ],
                    )
                    .await?
                }
                None => db.execute(&delete, &[Arg::Text(user_key)]).await?,
            };
            Ok(())
        })
        .await
    }

    async fn claim_totp_step(&self, user_key: &str, step: u64) -> Result<bool, StoreError> {
        let q = sql::<B>(TOTP_CLAIM, self.config.table_prefix());
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        self.bounded("claim_totp_step", async {
            let n = B::on_pool(&self.pool)
                .execute(&q, &[Arg::Text(user_key), Arg::Int(step)])
                .await?;
            Ok(count(n))
        })
        .await
    }

    async fn set_recovery_codes(
        &self,
        user_key: &str,
        codes: Vec<TokenHash>,
    ) -> Result<(), StoreError> {
        let prefix = self.config.table_prefix();
        let (delete, insert) = (
            sql::<B>(CODES_DELETE, prefix),
            sql::<B>(CODE_INSERT, prefix),
        );
        self.bounded("set_recovery_codes", async {
            let mut tx = B::begin(&self.pool).await?;
            tx.execute(&delete, &[Arg::Text(user_key)]).await?;
            for c in &codes {
                tx.execute(&insert, &[Arg::Text(user_key), Arg::Bytes(&c.0)])
                    .await?;
            }
            B::commit(tx).await
        })
        .await
    }

    async fn recovery_codes_left(&self, user_key: &str) -> Result<usize, StoreError> {
        let q = sql::<B>(CODES_COUNT, self.config.table_prefix());
        self.bounded("recovery_codes_left", async {
            let row = B::on_pool(&self.pool)
                .fetch_optional(&q, &[Arg::Text(user_key)])
                .await?;
            Ok(match row {
                Some(r) => usize::try_from(r.int(0)?).unwrap_or(0),
                None => 0,
            })
        })
        .await
    }

    async fn use_recovery_code(
        &self,
        user_key: &str,
        code: &TokenHash,
    ) -> Result<bool, StoreError> {
        let q = sql::<B>(CODE_USE, self.config.table_prefix());
        self.bounded("use_recovery_code", async {
            let n = B::on_pool(&self.pool)
                .execute(&q, &[Arg::Text(user_key), Arg::Bytes(&code.0)])
                .await?;
            Ok(count(n))
        })
        .await
    }

    async fn passkeys(&self, user_key: &str) -> Result<Vec<PasskeyRecord>, StoreError> {
        let q = sql::<B>(PASSKEYS, self.config.table_prefix());
        self.bounded("passkeys", async {
            let rows = B::on_pool(&self.pool)
                .fetch_all(&q, &[Arg::Text(user_key)])
                .await?;
            Ok(rows
                .iter()
                .filter_map(|r| match passkey_from_row(r) {
                    Ok(p) => Some(p),
                    Err(reason) => {
                        crate::codec::warn_undecodable(B::NAME, "passkeys", reason);
                        None
                    }
                })
                .collect())
        })
        .await
    }

    async fn add_passkey(&self, user_key: &str, p: PasskeyRecord) -> Result<(), StoreError> {
        let q = sql::<B>(PASSKEY_INSERT, self.config.table_prefix());
        self.bounded("add_passkey", async {
            B::on_pool(&self.pool)
                .execute(
                    &q,
                    &[
                        Arg::Bytes(&p.id),
                        Arg::Text(user_key),
                        Arg::Text(&p.name),
                        Arg::Bytes(&p.data),
                        Arg::Int(ts(p.created_at)),
                        Arg::OptInt(p.last_used_at.map(ts)),
                    ],
                )
                .await
                .map(drop)
        })
        .await
    }

    async fn update_passkey(
        &self,
        user_key: &str,
        id: &[u8],
        data: Vec<u8>,
        used_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let q = sql::<B>(PASSKEY_UPDATE, self.config.table_prefix());
        self.bounded("update_passkey", async {
            let n = B::on_pool(&self.pool)
                .execute(
                    &q,
                    &[
                        Arg::Text(user_key),
                        Arg::Bytes(id),
                        Arg::Bytes(&data),
                        Arg::Int(ts(used_at)),
                    ],
                )
                .await?;
            Ok(count(n))
        })
        .await
    }

    async fn rename_passkey(
        &self,
        user_key: &str,
        id: &[u8],
        name: &str,
    ) -> Result<bool, StoreError> {
        let q = sql::<B>(PASSKEY_RENAME, self.config.table_prefix());
        self.bounded("rename_passkey", async {
            let n = B::on_pool(&self.pool)
                .execute(&q, &[Arg::Text(user_key), Arg::Bytes(id), Arg::Text(name)])
                .await?;
            Ok(count(n))
        })
        .await
    }

    async fn remove_passkey(&self, user_key: &str, id: &[u8]) -> Result<bool, StoreError> {
        let q = sql::<B>(PASSKEY_DELETE, self.config.table_prefix());
        self.bounded("remove_passkey", async {
            let n = B::on_pool(&self.pool)
                .execute(&q, &[Arg::Text(user_key), Arg::Bytes(id)])
                .await?;
            Ok(count(n))
        })
        .await
    }

    async fn passkey_owner(&self, id: &[u8]) -> Result<Option<String>, StoreError> {
        let q = sql::<B>(PASSKEY_OWNER, self.config.table_prefix());
        self.bounded("passkey_owner", async {
            match B::on_pool(&self.pool)
                .fetch_optional(&q, &[Arg::Bytes(id)])
                .await?
            {
                Some(row) => Ok(Some(row.text(0)?.to_owned())),
                None => Ok(None),
            }
        })
        .await
    }
}
