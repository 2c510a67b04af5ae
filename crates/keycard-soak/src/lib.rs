//! # keycard-soak: a fault-injection soak of keycard-demo nodes, with a checker over the whole history
//!
//! The binary starts two or three `keycard-demo` nodes on one shared configuration (PostgreSQL + near
//! cache, Redis + near cache, a Redis Cluster of its own), runs clients with a mixed workload against
//! them, injects faults on a schedule, records every operation (invocation, completion, outcome) in a
//! history, and then checks the history against the invariants of docs/DESIGN.md ([`checker`]).
//!
//! | module | what it holds |
//! |---|---|
//! | [`history`] | the operations, faults and memory samples; the JSON-lines file; the run's clock |
//! | [`checker`] | the rules, each over the whole history, and the report |
//! | [`client`] | the workload: clients, browsers with their cookies, the operations and probes |
//! | [`services`] | the run's own stores: a scratch database, a redis-server, a Redis Cluster |
//! | [`proxy`] | the fault-injecting TCP proxy (latency, a dropped link) |
//! | [`nodes`] | the demo nodes as processes: start, SIGKILL, memory |
//! | [`faults`] | the fault schedule and each fault's injection and healing; the memory sampler |
//! | [`run`] | one run, start to finish |
//! | [`report`] | the figures, as text and JSON |
//! | [`rng`] | the seeded generator |

pub mod checker;
pub mod client;
pub mod faults;
pub mod history;
pub mod nodes;
pub mod proxy;
pub mod report;
pub mod rng;
pub mod run;
pub mod services;
