//! Password hashing (argon2id) and verification of Pow hashes. (being written)
