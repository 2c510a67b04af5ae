//! The passkeys page (an askama template in `templates/`).

use askama::Template;

use crate::web::layout::Layout;
use crate::web::time_view::TimeView;

/// One passkey in the list.
#[derive(Debug)]
pub struct PasskeyRow {
    /// Its credential id (base64url): the rename and remove forms' URL segment.
    pub id: String,
    /// The name the user gave it.
    pub name: String,
    /// When it was added.
    pub created: TimeView,
    /// When it last signed in or answered a second step.
    pub last_used: Option<TimeView>,
}

/// `GET /account/passkeys`.
#[derive(Debug, Template)]
#[template(path = "account_passkeys.html")]
pub struct PasskeysPage {
    /// Frame.
    pub layout: Layout,
    /// The account's passkeys, oldest first.
    pub passkeys: Vec<PasskeyRow>,
    /// The session is in sudo mode: the "Add a passkey" form runs the ceremony; otherwise the button
    /// asks for the password first.
    pub sudo: bool,
    /// A passkey may be removed (keycard-passkey's `can_remove`: another passkey, or a password, is left).
    pub can_remove: bool,
    /// What went wrong with the last change.
    pub error: Option<String>,
}
