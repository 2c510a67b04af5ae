//! # keycard-demo: the Pow guide's app on keycard + axum
//!
//! Users with a plan (`free`, `pro`, `pro-trial`); a profile that shows the **cached** plan; a pro area that
//! reloads the user from the **database** ([`keycard_axum::ReloadUser`]); a plan page that updates the
//! database and then syncs the cache with a new session token (`Auth::create`, the guide's `sync_user`);
//! a background job that ends trials and updates every session through `put_user`; a CLI.
//!
//! The binary (`src/main.rs`) is thin: tests drive the same router through [`app::build_app`].
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | the settings (flags and environment, checked into a [`config::Config`]), the app secret, the command line |
//! | [`domain`] | users and plans, the database, the credentials cache, the plan job, the login throttle, `users set-plan` |
//! | [`web`] | the router, the routes, the session, CSRF and security-header layers' settings, flash cookies, pages, the stylesheet, error responses |
//! | [`app`] | putting them together, and serving |
//! | [`server`] | the HTTP server loop: the header-read timeout, the connection limit, graceful shutdown |
//! | [`clock`] | the one clock everything reads |
//! | [`soak_faults`] | `KEYCARD_SOAK_FAULT`: a deliberately broken near cache (feature `soak-faults` only), for the soak |
//!
//! Dependencies point one way, `app` → `web` → `domain` → `config`, with `clock` and `server` leaves;
//! `scripts/module-cycles.py crates/keycard-demo/src` checks there is no import cycle.

pub mod app;
pub mod clock;
pub mod config;
pub mod domain;
pub mod server;
pub mod soak_faults;
pub mod web;
