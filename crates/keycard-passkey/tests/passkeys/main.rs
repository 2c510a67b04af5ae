//! Passkey ceremonies driven end to end by a software authenticator (tests/common/authenticator.rs):
//! one module per behaviour.

#[path = "../common/mod.rs"]
mod common;

mod binding;
mod config;
mod counter;
mod duplicate;
mod manage;
mod origin;
mod register_then_sign_in;
mod single_use;
