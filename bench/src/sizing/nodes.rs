//! The Redis nodes of a sizing run, read the operator's way (`crate::resp`, beside keycard's own
//! connection): which nodes there are (`CLUSTER NODES`), their memory, keys, command counts and CPU
//! (`INFO`), and how the users' hash tags fall on the masters (`CLUSTER KEYSLOT`).

use std::collections::BTreeMap;

use serde_json::json;

use crate::resp::{command_calls, info_field, Resp};

/// One node: its address, whether it is a master, and the slot ranges it serves (a cluster master).
#[derive(Debug, Clone)]
pub struct Node {
    pub addr: String,
    pub master: bool,
    pub slots: Vec<(u16, u16)>,
}

/// What `INFO` says about one node at one moment.
#[derive(Debug, Clone)]
pub struct NodeStat {
    pub addr: String,
    pub master: bool,
    pub used_memory: u64,
    pub keys: u64,
    /// `calls` per command (`INFO commandstats`).
    pub calls: BTreeMap<String, u64>,
    /// `used_cpu_sys + used_cpu_user`, µs.
    pub cpu_us: f64,
}

/// `host:port` of every node a URL names: `redis://[user:pass@]host:port[/db]` is one node;
/// `redis+cluster://host:port,…` is every node its first seed lists in `CLUSTER NODES`.
pub fn discover(url: &str) -> Result<Vec<Node>, String> {
    let (scheme, rest) = url.split_once("://").ok_or("a URL without a scheme")?;
    let hosts = rest.split('/').next().unwrap_or(rest);
    let hosts = hosts.rsplit_once('@').map_or(hosts, |(_, h)| h);
    let seeds: Vec<&str> = hosts.split(',').filter(|s| !s.is_empty()).collect();
    let first = seeds.first().ok_or("a URL without a host")?;
    if !scheme.contains("cluster") {
        return Ok(vec![Node {
            addr: (*first).to_owned(),
            master: true,
            slots: vec![(0, 16383)],
        }]);
    }
    let mut r = Resp::connect(first).map_err(|e| format!("{first}: {e}"))?;
    let text = r.text(&["CLUSTER", "NODES"])?;
    let mut nodes = parse_cluster_nodes(&text);
    nodes.sort_by(|a, b| a.addr.cmp(&b.addr));
    if !nodes.iter().any(|n| n.master) {
        return Err(format!("{first}: CLUSTER NODES lists no master"));
    }
    Ok(nodes)
}

fn parse_cluster_nodes(text: &str) -> Vec<Node> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let addr = f.get(1)?.split('@').next()?.to_owned();
            let flags = f.get(2)?;
            if flags.contains("fail") || flags.contains("noaddr") {
                return None;
            }
            let slots = f
                .iter()
                .skip(8)
                .filter(|s| !s.starts_with('['))
                .filter_map(|s| {
                    let (a, b) = s.split_once('-').unwrap_or((s, s));
                    Some((a.parse().ok()?, b.parse().ok()?))
                })
                .collect();
            Some(Node {
                addr,
                master: flags.contains("master"),
                slots,
            })
        })
        .collect()
}

/// `FLUSHALL` every master: refused on the port every engineer shares (6379).
pub fn flush_masters(nodes: &[Node]) -> Result<(), String> {
    for n in nodes.iter().filter(|n| n.master) {
        if n.addr.ends_with(":6379") {
            return Err(format!(
                "refusing to FLUSHALL {}: --flush is for a Redis of the run's own",
                n.addr
            ));
        }
        let mut r = Resp::connect(&n.addr).map_err(|e| format!("{}: {e}", n.addr))?;
        r.cmd(&["FLUSHALL"])?;
    }
    Ok(())
}

pub fn snapshot(nodes: &[Node]) -> Result<Vec<NodeStat>, String> {
    nodes
        .iter()
        .map(|n| {
            let mut r = Resp::connect(&n.addr).map_err(|e| format!("{}: {e}", n.addr))?;
            let info = r.text(&["INFO"])?;
            let stats = r.text(&["INFO", "commandstats"])?;
            let num = |f: &str| info_field(&info, f).and_then(|v| v.parse::<f64>().ok());
            let keys = info
                .lines()
                .filter(|l| l.starts_with("db"))
                .filter_map(|l| {
                    l.split_once(":keys=")?
                        .1
                        .split(',')
                        .next()?
                        .parse::<u64>()
                        .ok()
                })
                .sum();
            Ok(NodeStat {
                addr: n.addr.clone(),
                master: n.master,
                used_memory: num("used_memory").unwrap_or(0.0) as u64,
                keys,
                calls: command_calls(&stats).into_iter().collect(),
                cpu_us: (num("used_cpu_sys").unwrap_or(0.0) + num("used_cpu_user").unwrap_or(0.0))
                    * 1e6,
            })
        })
        .collect()
}

/// What each master did between two snapshots: commands (all but the harness's own `INFO`), `EVALSHA`s,
/// CPU.
pub fn delta(before: &[NodeStat], after: &[NodeStat]) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = after
        .iter()
        .filter(|a| a.master)
        .map(|a| {
            let b = before.iter().find(|b| b.addr == a.addr);
            let calls = |s: Option<&NodeStat>, f: &dyn Fn(&str) -> bool| -> u64 {
                s.map_or(0, |s| {
                    s.calls.iter().filter(|(k, _)| f(k)).map(|(_, v)| v).sum()
                })
            };
            let not_info = |k: &str| k != "info";
            let evalsha = |k: &str| k == "evalsha" || k == "evalsha_ro";
            json!({
                "addr": a.addr,
                "commands": calls(Some(a), &not_info).saturating_sub(calls(b, &not_info)),
                "evalsha": calls(Some(a), &evalsha).saturating_sub(calls(b, &evalsha)),
                "cpu_us": a.cpu_us - b.map_or(0.0, |b| b.cpu_us),
            })
        })
        .collect();
    json!(rows)
}

/// How the users `1..=users` (user key: the id in decimal) fall on the masters through their hash tags:
/// per master the tags (of 256), the users, and the per-tag user counts' spread.
#[cfg(feature = "redis")]
pub fn users_by_master(nodes: &[Node], users: u64) -> Result<serde_json::Value, String> {
    let master = nodes.iter().find(|n| n.master).ok_or("no master")?;
    let mut r = Resp::connect(&master.addr).map_err(|e| format!("{}: {e}", master.addr))?;
    let mut per_tag: BTreeMap<String, u64> = BTreeMap::new();
    for u in 1..=users {
        *per_tag
            .entry(keycard_redis::hash_tag(&u.to_string()))
            .or_default() += 1;
    }
    let masters: Vec<&Node> = nodes.iter().filter(|n| n.master).collect();
    let mut rows: Vec<(u64, u64, Vec<u64>)> = vec![(0, 0, Vec::new()); masters.len()];
    for (tag, count) in &per_tag {
        let slot = r.int(&["CLUSTER", "KEYSLOT", &format!("{tag}x")])?;
        let i = masters
            .iter()
            .position(|m| {
                m.slots
                    .iter()
                    .any(|&(a, b)| (a as i64..=b as i64).contains(&slot))
            })
            .ok_or_else(|| format!("slot {slot} has no master"))?;
        rows[i].0 += 1;
        rows[i].1 += count;
        rows[i].2.push(*count);
    }
    let counts: Vec<u64> = per_tag.values().copied().collect();
    Ok(json!({
        "tags": per_tag.len(),
        "users_per_tag_min": counts.iter().min(),
        "users_per_tag_max": counts.iter().max(),
        "masters": masters.iter().zip(rows).map(|(m, (tags, users, _))| json!({
            "addr": m.addr,
            "slots": m.slots.iter().map(|(a, b)| u64::from(b - a) + 1).sum::<u64>(),
            "tags": tags,
            "users": users,
        })).collect::<Vec<_>>(),
    }))
}

#[cfg(not(feature = "redis"))]
pub fn users_by_master(_nodes: &[Node], _users: u64) -> Result<serde_json::Value, String> {
    Err("built without the `redis` feature".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_nodes_parse() {
        let text = "a1 127.0.0.1:7200@17200 myself,master - 0 0 1 connected 0-5460\n\
                    b2 127.0.0.1:7203@17203 slave a1 0 1 1 connected\n\
                    c3 127.0.0.1:7201@17201 master - 0 1 2 connected 5461-10922 [5461->-x]\n";
        let n = parse_cluster_nodes(text);
        assert_eq!(n.len(), 3);
        assert!(n[0].master && !n[1].master && n[2].master);
        assert_eq!(n[0].slots, vec![(0, 5460)]);
        assert_eq!(n[2].slots, vec![(5461, 10922)]);
        assert_eq!(n[1].addr, "127.0.0.1:7203");
    }
}
