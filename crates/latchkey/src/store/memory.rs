//! The memory store (being written by the lead; the API is final).
use super::*;
/// In-process store.
#[derive(Default)]
pub struct MemoryStore;
impl MemoryStore {
    /// A new store.
    pub fn new() -> Self { MemoryStore }
}
