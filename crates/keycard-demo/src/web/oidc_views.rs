//! The identity-provider pages' data: the sign-in page's buttons and the account's linked identities.

use askama::Template;

use crate::web::time_view::TimeView;
use crate::web::views::Layout;

/// The account's linked identities page ([`crate::web::routes::identities`]).
pub const IDENTITIES_PATH: &str = "/account/identities";

/// "Sign in with {name}": a configured provider.
#[derive(Debug, Clone)]
pub struct ProviderButton {
    /// The key (`/auth/oidc/{key}`).
    pub key: String,
    /// The name shown.
    pub name: String,
}

impl ProviderButton {
    /// Every configured provider, in configuration order.
    pub fn all(oidc: &keycard_oidc::Oidc) -> Vec<ProviderButton> {
        oidc.providers()
            .into_iter()
            .map(|p| ProviderButton {
                key: p.key,
                name: p.name,
            })
            .collect()
    }
}

/// One linked identity as the page shows it.
#[derive(Debug, Clone)]
pub struct IdentityRow {
    /// The provider's key (the unlink form's field).
    pub provider: String,
    /// Its name.
    pub provider_name: String,
    /// The subject (the unlink form's field; not shown).
    pub subject: String,
    /// The email the provider gave when linked ("" for none).
    pub email: String,
    /// When linked.
    pub linked: TimeView,
    /// When last used to sign in.
    pub last_used: Option<TimeView>,
}

/// `GET /account/identities`.
#[derive(Debug, Template)]
#[template(path = "account_identities.html")]
pub struct IdentitiesPage {
    /// Frame.
    pub layout: Layout,
    /// The linked identities, oldest first.
    pub identities: Vec<IdentityRow>,
    /// The configured providers (one "Link" button each).
    pub providers: Vec<ProviderButton>,
    /// The session is in sudo mode: the buttons act; otherwise they ask for the password first.
    pub sudo: bool,
    /// An identity may be unlinked (another way to sign in is left).
    pub can_remove: bool,
}

/// The page a form that starts a flow answers with: the browser goes on to the provider by a meta
/// refresh (or the link), a navigation of its own, because the pages' CSP (`form-action 'self'`)
/// forbids a form's redirect to another origin.
#[derive(Debug, Template)]
#[template(path = "oidc_continue.html")]
pub struct ContinuePage {
    /// Frame.
    pub layout: Layout,
    /// The provider's name.
    pub name: String,
    /// Its authorization URL.
    pub url: String,
}
