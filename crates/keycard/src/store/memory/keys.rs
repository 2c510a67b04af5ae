//! The hasher of the memory store's maps keyed by token hash or session id.

use std::hash::{BuildHasher, Hasher};

/// Token hashes and session ids are uniformly random (SHA-256 output and CSPRNG bytes) and only values the
/// server issued reach the store (cookies are signature-checked first), so their first 8 bytes are already a
/// good hash: no need to run SipHash over them on every request.
#[derive(Clone, Copy, Default)]
pub(super) struct RandomKeyState;

pub(super) struct RandomKeyHasher(u64);

impl BuildHasher for RandomKeyState {
    type Hasher = RandomKeyHasher;
    fn build_hasher(&self) -> RandomKeyHasher {
        RandomKeyHasher(0)
    }
}

impl RandomKeyHasher {
    fn mix(&mut self, word: u64) {
        self.0 = self.0.rotate_left(5) ^ word;
    }
}

impl Hasher for RandomKeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Arrays hash as their bytes (a length prefix is written for slices only, via write_usize).
        // Whole words first (fixed-size copies, no `memcpy` call), then the zero-padded rest: the same
        // value as folding zero-padded 8-byte chunks.
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(word);
            self.mix(u64::from_le_bytes(b));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(b));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }
}
