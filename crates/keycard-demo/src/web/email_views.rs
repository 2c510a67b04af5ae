//! The pages of the accounts-by-email flows (askama templates in `templates/`).

use askama::Template;

use crate::web::layout::Layout;

/// `GET /password/reset`, and the page every `POST /password/reset` redirects to.
#[derive(Debug, Template)]
#[template(path = "password_reset_new.html")]
pub struct PasswordResetNewPage {
    /// Frame.
    pub layout: Layout,
    /// "If an account exists…": the same whatever address was typed.
    pub notice: Option<&'static str>,
    /// Too many requests.
    pub error: Option<String>,
}

/// `GET /password/reset/{token}` for a good link, and a refused new password.
#[derive(Debug, Template)]
#[template(path = "password_reset_edit.html")]
pub struct PasswordResetEditPage {
    /// Frame.
    pub layout: Layout,
    /// The account's address (the link's owner proved they read it).
    pub email: String,
    /// Where the form posts: the link itself.
    pub action: String,
    /// What is wrong with the new password.
    pub error: Option<String>,
}

/// The page a good link opens: what it does, and one button that POSTs (a GET never consumes a link).
#[derive(Debug, Template)]
#[template(path = "link_confirm.html")]
pub struct LinkConfirmPage {
    /// Frame.
    pub layout: Layout,
    /// Heading.
    pub title: &'static str,
    /// What pressing the button does.
    pub text: String,
    /// Where the button posts: the link itself.
    pub action: String,
    /// The button.
    pub button: &'static str,
}

/// A link that is not (or no longer) good: one answer for used, expired, superseded and forged links.
#[derive(Debug, Template)]
#[template(path = "link_invalid.html")]
pub struct LinkInvalidPage {
    /// Frame.
    pub layout: Layout,
    /// Where to ask for a new one.
    pub again_href: &'static str,
    /// What that link says.
    pub again_label: &'static str,
}

/// `GET /session/link/sent` (after `POST /session/link`) and `POST /session/code` failures.
#[derive(Debug, Template)]
#[template(path = "session_code.html")]
pub struct SessionCodePage {
    /// Frame.
    pub layout: Layout,
    /// A status line.
    pub notice: Option<&'static str>,
    /// What went wrong.
    pub error: Option<String>,
    /// The address typed (echoed into the code form).
    pub email: String,
}

/// One message of the development mailbox.
#[derive(Debug, Clone)]
pub struct MailView {
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Text part.
    pub text: String,
}

/// `GET /dev/mailbox`.
#[derive(Debug, Template)]
#[template(path = "dev_mailbox.html")]
pub struct DevMailboxPage {
    /// Frame.
    pub layout: Layout,
    /// How many messages it keeps.
    pub capacity: usize,
    /// Newest first.
    pub messages: Vec<MailView>,
}
