//! What the app is about, without HTTP: the users and their plans, the database, the credentials cache,
//! the background plan job, the login throttle, and the plan change the CLI makes.

pub mod cache;
pub mod db;
pub mod email;
pub mod factors;
pub mod mail;
pub mod oidc;
pub mod passkeys;
pub mod plan_admin;
pub mod plan_job;
pub mod throttle;
pub mod users;
