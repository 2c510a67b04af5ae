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

pub mod checker;
pub mod history;
