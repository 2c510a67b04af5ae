//! The pages of the second factors (askama templates in `templates/`).

use askama::Template;

use crate::web::layout::Layout;

/// `GET /session/two-factor`, and a refused code.
#[derive(Debug, Template)]
#[template(path = "session_two_factor.html")]
pub struct TwoFactorPage {
    /// Frame.
    pub layout: Layout,
    /// The account has an authenticator app: ask for its code.
    pub totp: bool,
    /// The account has a passkey: offer it.
    pub passkey: bool,
    /// What went wrong with the last code.
    pub error: Option<String>,
}

/// `GET /account/totp` (sudo): set up an authenticator app.
#[derive(Debug, Template)]
#[template(path = "account_totp.html")]
pub struct TotpPage {
    /// Frame.
    pub layout: Layout,
    /// An authenticator is on already (a new one replaces it).
    pub enabled: bool,
    /// Recovery codes not used yet.
    pub recovery_codes_left: usize,
    /// The QR code, an SVG document made by keycard-totp (no script).
    pub qr_svg: String,
    /// The `otpauth://` URI, as text.
    pub uri: String,
    /// The secret in base32, for typing in.
    pub secret: String,
    /// The enrolment ticket (hidden field).
    pub ticket: String,
    /// What was wrong with the code.
    pub error: Option<String>,
}

/// New recovery codes, shown once.
#[derive(Debug, Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage {
    /// Frame.
    pub layout: Layout,
    /// What just happened ("Authenticator app turned on.").
    pub notice: &'static str,
    /// The codes, each as text.
    pub codes: Vec<String>,
}
