//! `keycard-soak`: see the crate's README.

fn main() {}
