//! Remember-me series in Redis ([`RememberStore`]), in the user's slot like everything else of the user.
//!
//! A series is a hash `{prefix}{tt}r:<series hex>` (`v` format, `uk` user key, `ca` created, `ua` used,
//! `ea` deadline, `ct` current token hash, `pt`/`pu` the previous token hash and its grace deadline, `af`
//! the credential fingerprint), and a user's series ids are a sorted set `{prefix}{tt}ri:<user key>`
//! scored by each series' deadline. The series id carries the user's tag ([`RememberStore::route_tag`]
//! answers the tag the sessions use), so a cookie's series id names its slot without naming its user; an
//! id without a tag of this layout is unknown without a round trip. Each primitive is one script on one
//! slot; [`redeem`](RememberStore::redeem) is one `EVALSHA` that decides and writes atomically.
//!
//! Lifetimes follow the crate's rule: `PEXPIRE` of the remaining lifetime on the caller's clock,
//! moved by every rotation; the set lives as long as its longest-lived series.
//! [`sweep_series`](RememberStore::sweep_series) therefore has nothing to do: Redis deletes series hashes
//! at their deadline, and the per-user set is pruned of dead ids whenever a script reads or writes it
//! (`create_series`, `series`, `delete_user_series`, and a redemption that deletes). It answers 0
//! without I/O (the series past their deadline on the caller's clock are invisible to every read until
//! Redis expires them).

use keycard::remember::{RedeemPlan, Redemption, RememberStore, SeriesId, SeriesRecord};
use keycard::token::TokenHash;
use keycard::{RouteTag, StoreError, Timestamp};
use redis::Value;

use crate::codec::{
    array, fingerprint_arg, int, is_nil, malformed, parse_fingerprint, parse_hash, parse_series_id,
    parse_ts, str_arg, text, ts_arg,
};
use crate::connect::RedisStore;
use crate::layout::{base, series_index_key, series_key, tag_of, tag_of_series};
use crate::scripts::SCRIPTS;
use crate::{err, BACKEND};

/// Values per series in a script reply: `[id, v, uk, ca, ua, ea, ct, pt, pu, af]`.
pub(crate) const SERIES_WIDTH: usize = 10;
/// The series hash's `v` field.
const SERIES_FORMAT: &str = "1";

/// A series as the scripts return it -> a record.
pub(crate) fn parse_series(f: &[Value]) -> Result<SeriesRecord, &'static str> {
    if f.len() != SERIES_WIDTH {
        return Err("series record has the wrong number of fields");
    }
    let series_id = parse_series_id(&f[0])?;
    if text(&f[1]) != Some(SERIES_FORMAT) {
        return Err("unknown series format version");
    }
    let previous_token = match (&f[7], &f[8]) {
        (h, _) if is_nil(h) => None,
        (h, until) => Some((parse_hash(h)?, parse_ts(until)?)),
    };
    Ok(SeriesRecord {
        series_id,
        user_key: text(&f[2]).ok_or("malformed user key")?.to_owned(),
        created_at: parse_ts(&f[3])?,
        used_at: parse_ts(&f[4])?,
        expires_at: parse_ts(&f[5])?,
        current_token: parse_hash(&f[6])?,
        previous_token,
        auth_fingerprint: parse_fingerprint(&f[9])?,
    })
}

fn warn_series(operation: &'static str, series_id: &str, reason: &str) {
    tracing::warn!(
        backend = BACKEND,
        operation,
        series_id,
        reason,
        "undecodable remember-me series treated as absent"
    );
}

/// A reply `{code, series...}` -> the series, or `None` (logged) when it does not decode.
fn series_of(operation: &'static str, id: &SeriesId, items: &[Value]) -> Option<SeriesRecord> {
    match parse_series(&items[1..]) {
        Ok(s) => Some(s),
        Err(reason) => {
            warn_series(operation, &id.to_hex(), reason);
            None
        }
    }
}

#[async_trait::async_trait]
impl RememberStore for RedisStore {
    async fn create_series(&self, series: SeriesRecord) -> Result<(), StoreError> {
        const OP: &str = "create_series";
        let tag = tag_of(&series.user_key);
        if tag_of_series(&series.series_id) != Some(tag) {
            return Err(err(
                OP,
                "the series id does not carry the user's route tag (issue series through a RememberMe \
                 over this store)",
            ));
        }
        let b = base(self.key_prefix(), tag);
        let keys = [
            series_key(&b, &series.series_id),
            series_index_key(&b, &series.user_key),
        ];
        let args = vec![
            series.series_id.to_hex().into_bytes(),
            str_arg(&series.user_key),
            ts_arg(series.created_at),
            ts_arg(series.used_at),
            ts_arg(series.expires_at),
            series.current_token.to_hex().into_bytes(),
            fingerprint_arg(series.auth_fingerprint),
        ];
        match int(&self
            .run(OP, &SCRIPTS.remember_create, &b, &keys, args)
            .await?)
        {
            Some(1) => Ok(()),
            Some(0) => {
                tracing::debug!(series_id = %series.series_id.to_hex(), "remember-me series already expired at creation; nothing written");
                Ok(())
            }
            _ => Err(malformed(OP)),
        }
    }

    async fn redeem(
        &self,
        series_id: &SeriesId,
        presented: &TokenHash,
        plan: RedeemPlan,
    ) -> Result<Redemption, StoreError> {
        const OP: &str = "redeem";
        let Some(tag) = tag_of_series(series_id) else {
            return Ok(Redemption::Unknown);
        };
        let b = base(self.key_prefix(), tag);
        let keys = [series_key(&b, series_id)];
        let args = vec![
            series_id.to_hex().into_bytes(),
            presented.to_hex().into_bytes(),
            plan.next_token.to_hex().into_bytes(),
            ts_arg(plan.now),
            ts_arg(plan.grace_until),
            ts_arg(plan.expires_at),
            // The alternates as one argument, comma-separated ('' for none).
            plan.alternates
                .iter()
                .flatten()
                .map(|t| t.to_hex())
                .collect::<Vec<_>>()
                .join(",")
                .into_bytes(),
        ];
        let reply = self
            .run(OP, &SCRIPTS.remember_redeem, &b, &keys, args)
            .await?;
        let items = array(reply).ok_or_else(|| malformed(OP))?;
        match items.first().and_then(int) {
            Some(0) => Ok(Redemption::Unknown),
            Some(-1) => {
                let reason = items.get(1).and_then(text).unwrap_or("undecodable record");
                warn_series(OP, &series_id.to_hex(), reason);
                Ok(Redemption::Unknown)
            }
            Some(1) if items.len() == 1 + SERIES_WIDTH => {
                Ok(series_of(OP, series_id, &items)
                    .map_or(Redemption::Unknown, Redemption::Rotated))
            }
            Some(2) if items.len() == 1 + SERIES_WIDTH => {
                Ok(series_of(OP, series_id, &items).map_or(Redemption::Unknown, Redemption::Grace))
            }
            Some(3) => match items.get(1).and_then(text) {
                Some(uk) => Ok(Redemption::Theft {
                    user_key: uk.to_owned(),
                }),
                None => Err(malformed(OP)),
            },
            _ => Err(malformed(OP)),
        }
    }

    async fn delete_series(&self, series_id: &SeriesId) -> Result<Option<String>, StoreError> {
        const OP: &str = "delete_series";
        let Some(tag) = tag_of_series(series_id) else {
            return Ok(None);
        };
        let b = base(self.key_prefix(), tag);
        let keys = [series_key(&b, series_id)];
        let args = vec![series_id.to_hex().into_bytes()];
        let reply = self
            .run(OP, &SCRIPTS.remember_delete, &b, &keys, args)
            .await?;
        let items = array(reply).ok_or_else(|| malformed(OP))?;
        match items.first().and_then(int) {
            Some(0) => Ok(None),
            Some(-1) => {
                let reason = items.get(1).and_then(text).unwrap_or("undecodable record");
                warn_series(OP, &series_id.to_hex(), reason);
                Ok(None)
            }
            Some(1) => match items.get(1).and_then(text) {
                Some(uk) => Ok(Some(uk.to_owned())),
                None => Err(malformed(OP)),
            },
            _ => Err(malformed(OP)),
        }
    }

    async fn delete_user_series(
        &self,
        user_key: &str,
        except: Option<&SeriesId>,
    ) -> Result<usize, StoreError> {
        const OP: &str = "delete_user_series";
        let b = base(self.key_prefix(), tag_of(user_key));
        let keys = [series_index_key(&b, user_key)];
        let args = vec![
            str_arg(user_key),
            except.map(|s| s.to_hex().into_bytes()).unwrap_or_default(),
        ];
        int(&self
            .run(OP, &SCRIPTS.remember_delete_user, &b, &keys, args)
            .await?)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| malformed(OP))
    }

    async fn series(
        &self,
        user_key: &str,
        now: Timestamp,
    ) -> Result<Vec<SeriesRecord>, StoreError> {
        const OP: &str = "series";
        let b = base(self.key_prefix(), tag_of(user_key));
        let keys = [series_index_key(&b, user_key)];
        let args = vec![str_arg(user_key), ts_arg(now)];
        let reply = self
            .run(OP, &SCRIPTS.remember_series, &b, &keys, args)
            .await?;
        let mut out = Vec::new();
        for entry in array(reply).ok_or_else(|| malformed(OP))? {
            let fields = array(entry).ok_or_else(|| malformed(OP))?;
            if fields.len() != SERIES_WIDTH {
                let id = fields.first().and_then(text).unwrap_or("?");
                let reason = fields.get(1).and_then(text).unwrap_or("undecodable record");
                warn_series(OP, id, reason);
                continue;
            }
            match parse_series(&fields) {
                Ok(s) if s.user_key == user_key && now < s.expires_at => out.push(s),
                Ok(_) => {}
                Err(reason) => warn_series(OP, text(&fields[0]).unwrap_or("?"), reason),
            }
        }
        out.sort_by_key(|s| (s.created_at, s.series_id));
        Ok(out)
    }

    async fn sweep_series(&self, _now: Timestamp) -> Result<usize, StoreError> {
        // Series hashes expire at their deadline; the per-user sets are pruned as they are used (module
        // docs).
        Ok(0)
    }

    fn route_tag(&self, user_key: &str) -> Option<RouteTag> {
        Some(RouteTag(tag_of(user_key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn series_parse_reads_the_script_fields_and_rejects_bad_ones() {
        let id = SeriesId([0x12; 16]);
        let good = vec![
            bulk(&id.to_hex()),
            bulk("1"),
            bulk("u1"),
            bulk("10"),
            bulk("20"),
            bulk("30"),
            bulk(&"ab".repeat(32)),
            Value::Nil,
            Value::Nil,
            Value::Nil,
        ];
        let s = parse_series(&good).unwrap();
        assert_eq!(s.series_id, id);
        assert_eq!(
            (s.created_at, s.used_at, s.expires_at),
            (Timestamp(10), Timestamp(20), Timestamp(30))
        );
        assert_eq!(s.current_token, TokenHash([0xab; 32]));
        assert_eq!((s.previous_token, s.auth_fingerprint), (None, None));
        let mut full = good.clone();
        full[7] = bulk(&"cd".repeat(32));
        full[8] = bulk("25");
        full[9] = bulk(&"ef".repeat(16));
        let s = parse_series(&full).unwrap();
        assert_eq!(
            s.previous_token,
            Some((TokenHash([0xcd; 32]), Timestamp(25)))
        );
        assert_eq!(s.auth_fingerprint, Some(keycard::Fingerprint([0xef; 16])));
        for (i, v) in [
            (0, bulk("xyz")),
            (1, bulk("2")),
            (2, Value::Nil),
            (5, bulk("later")),
            (6, bulk("short")),
            (8, Value::Nil),
            (9, bulk("not hex")),
        ] {
            let mut bad = full.clone();
            bad[i] = v;
            assert!(parse_series(&bad).is_err(), "field {i}");
        }
        assert!(parse_series(&good[..9]).is_err());
    }
}
