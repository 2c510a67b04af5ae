//! # keycard-demo: the Pow guide's app on keycard + axum
//!
//! Users with a plan (`free`, `pro`, `pro-trial`); a profile that shows the **cached** plan; a pro area that
//! reloads the user from the **database** ([`keycard_axum::ReloadUser`]); a plan page that updates the
//! database and then syncs the cache with a new session token (`Auth::create`, the guide's `sync_user`);
//! a background job that ends trials and updates every session through `put_user`; a CLI.
//!
//! The binary (`src/main.rs`) is thin: tests drive the same router through [`app::build_app`].

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod cookies;
pub mod csrf;
pub mod domain;
pub mod error;
pub mod extract;
pub mod flash;
pub mod routes;
pub mod state;
pub mod views;
