//! Which master serves which tag, as a cluster near cache needs it: the slot of each tag's shard channel
//! (CRC16 of the two hex digits between the braces, as Redis Cluster hashes them), the masters and
//! their tags from `CLUSTER SLOTS`, and a master's own word on what it serves (the `myself` line of its
//! `CLUSTER NODES`: still a master, still the owner of every slot the subscription covers, none of them
//! migrating).

use std::collections::BTreeMap;
use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo, ProtocolVersion, Value};

use crate::layout::TAGS;

/// Redis Cluster's slot count.
const SLOTS: u16 = 16384;

/// CRC16/XMODEM, the hash Redis Cluster takes of a key's hash tag.
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The slot of every key and shard channel of `tag` (`{a3}` hashes as `a3`).
pub(crate) fn slot_of_tag(tag: u16) -> u16 {
    crc16(format!("{tag:02x}").as_bytes()) % SLOTS
}

/// One master and the tags whose slots it serves.
#[derive(Debug, Clone)]
pub(crate) struct Master {
    /// Where to connect (the seed's credentials, RESP3).
    pub(crate) info: ConnectionInfo,
    /// `host:port`, for logs and status.
    pub(crate) addr: String,
    pub(crate) tags: Vec<u16>,
}

impl Master {
    pub(crate) fn slots(&self) -> Vec<u16> {
        self.tags.iter().map(|t| slot_of_tag(*t)).collect()
    }
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        _ => None,
    }
}

/// The masters serving the 256 tags, from one `CLUSTER SLOTS` reply; `template` gives the credentials.
/// `Err` when a tag's slot has no master.
pub(crate) fn masters_from_slots(
    reply: &Value,
    template: &ConnectionInfo,
) -> Result<Vec<Master>, String> {
    let Value::Array(ranges) = reply else {
        return Err(format!("CLUSTER SLOTS answered {reply:?}"));
    };
    // (start, end, host, port)
    let mut parsed = Vec::new();
    for r in ranges {
        let Value::Array(r) = r else { continue };
        let (Some(start), Some(end), Some(Value::Array(node))) =
            (r.first().and_then(int), r.get(1).and_then(int), r.get(2))
        else {
            continue;
        };
        let (Some(host), Some(port)) = (node.first().and_then(text), node.get(1).and_then(int))
        else {
            continue;
        };
        let Ok(port) = u16::try_from(port) else {
            continue;
        };
        parsed.push((start, end, host, port));
    }
    let mut by_addr: BTreeMap<(String, u16), Vec<u16>> = BTreeMap::new();
    for tag in 0..TAGS {
        let slot = i64::from(slot_of_tag(tag));
        let owner = parsed
            .iter()
            .find(|(a, b, _, _)| (*a..=*b).contains(&slot))
            .ok_or_else(|| format!("no master serves slot {slot} (tag {tag:02x})"))?;
        by_addr
            .entry((owner.2.clone(), owner.3))
            .or_default()
            .push(tag);
    }
    Ok(by_addr
        .into_iter()
        .map(|((host, port), tags)| {
            let mut info = template.clone();
            info.addr = ConnectionAddr::Tcp(host.clone(), port);
            info.redis.protocol = ProtocolVersion::RESP3;
            Master {
                info,
                addr: format!("{host}:{port}"),
                tags,
            }
        })
        .collect())
}

/// Ask `candidates` in turn for `CLUSTER SLOTS` (each bounded by `limit`): the masters of the first
/// that answers with every tag covered.
pub(crate) async fn discover(
    candidates: &[ConnectionInfo],
    limit: Duration,
) -> Result<Vec<Master>, String> {
    let mut why = String::from("no node to ask");
    for info in candidates {
        let mut info = info.clone();
        info.redis.protocol = ProtocolVersion::RESP2;
        let asked = tokio::time::timeout(limit, async {
            let client = redis::Client::open(info.clone())?;
            let mut conn = client.get_multiplexed_async_connection().await?;
            redis::cmd("CLUSTER")
                .arg("SLOTS")
                .query_async::<Value>(&mut conn)
                .await
        })
        .await;
        match asked {
            Ok(Ok(reply)) => match masters_from_slots(&reply, &info) {
                Ok(masters) => return Ok(masters),
                Err(e) => why = e,
            },
            Ok(Err(e)) => why = format!("{}: {e}", info.addr),
            Err(_) => why = format!("{}: no answer within {} ms", info.addr, limit.as_millis()),
        }
    }
    Err(why)
}

/// Whether a master's `CLUSTER NODES` reply says it still serves every slot of `slots` as a master, none
/// of them migrating away (`[slot->-node]`): `Err` says what changed.
pub(crate) fn serves(nodes: &Value, slots: &[u16]) -> Result<(), String> {
    let nodes = text(nodes).ok_or_else(|| format!("CLUSTER NODES answered {nodes:?}"))?;
    let line = nodes
        .lines()
        .find(|l| {
            l.split(' ')
                .nth(2)
                .is_some_and(|f| f.split(',').any(|x| x == "myself"))
        })
        .ok_or("CLUSTER NODES has no `myself` line")?;
    let fields: Vec<&str> = line.split(' ').collect();
    if !fields[2].split(',').any(|f| f == "master") {
        return Err("the node is no longer a master".to_owned());
    }
    let mut owned: Vec<(u16, u16)> = Vec::new();
    let mut migrating: Vec<u16> = Vec::new();
    for f in fields.iter().skip(8) {
        if let Some(inner) = f.strip_prefix('[') {
            if let Some((slot, _)) = inner.split_once("->-") {
                if let Ok(s) = slot.parse() {
                    migrating.push(s);
                }
            }
        } else if let Some((a, b)) = f.split_once('-') {
            if let (Ok(a), Ok(b)) = (a.parse(), b.parse()) {
                owned.push((a, b));
            }
        } else if let Ok(s) = f.parse() {
            owned.push((s, s));
        }
    }
    for s in slots {
        if !owned.iter().any(|(a, b)| (*a..=*b).contains(s)) {
            return Err(format!("slot {s} is no longer served by this master"));
        }
        if migrating.contains(s) {
            return Err(format!("slot {s} is migrating to another master"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_is_redis_clusters() {
        // The reference value of the Redis Cluster specification.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        // `CLUSTER KEYSLOT {a3}x` on Redis 7: the slot of `a3`.
        assert_eq!(slot_of_tag(0xa3), crc16(b"a3") % SLOTS);
        assert!((0..TAGS).all(|t| slot_of_tag(t) < SLOTS));
    }

    fn nodes(line: &str) -> Value {
        Value::BulkString(
            format!("abc 127.0.0.1:7001@17001 master - 0 1 2 connected 0-5460\n{line}\n")
                .into_bytes(),
        )
    }

    #[test]
    fn a_master_serves_its_slots_unless_one_moves_or_it_is_demoted() {
        let me = "def 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 5461-10922 12000";
        assert_eq!(serves(&nodes(me), &[5461, 7000, 10922, 12000]), Ok(()));
        assert!(serves(&nodes(me), &[100]).is_err());
        let moving = format!("{me} [7000->-abc]");
        assert!(serves(&nodes(&moving), &[7000]).is_err());
        assert_eq!(serves(&nodes(&moving), &[6000]), Ok(()));
        let importing = format!("{me} [100-<-abc]");
        assert!(serves(&nodes(&importing), &[100]).is_err());
        let replica = "def 127.0.0.1:7000@17000 myself,slave abc 0 0 1 connected";
        assert!(serves(&nodes(replica), &[]).is_err());
        assert!(serves(&Value::Nil, &[]).is_err());
    }
}
