//! The demo's routes, exactly as issue 3's table lists them; [`crate::web::router`] puts them together.
//!
//! | route | handler |
//! |---|---|
//! | `GET /` | [`home::show`] |
//! | `GET /registration/new`, `POST /registration` | [`registration`] |
//! | `GET /session/new`, `POST /session`, `POST /session/delete` | [`session`] |
//! | `GET /profile`, `GET /me` | [`profile`] (cached user, no database read) |
//! | `GET /plan/edit`, `POST /plan` | [`plan`] (database update, then sync) |
//! | `GET /pro` | [`pro`] (behind `ReloadUser`: the database decides) |
//! | `GET /sessions`, `POST /sessions/{id}/delete`, `POST /sessions/delete-others` | [`sessions`] |
//! | `POST /account/password` | [`account`] |
//! | `GET /healthz` | [`health`] |
//! | `GET /static/app.css` | [`assets`] (the stylesheet: the CSP allows no inline style) |

pub mod account;
pub mod assets;
pub mod health;
pub mod home;
pub mod plan;
pub mod pro;
pub mod profile;
pub mod registration;
pub mod session;
pub mod sessions;
