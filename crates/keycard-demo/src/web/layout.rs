//! The frame of every page: who is looking (the navigation depends on it), which page is current, the CSRF
//! token for the frame's sign-out form, the flash message.

use crate::domain::users::User;
use crate::web::flash::IncomingFlash;
use keycard_axum::CsrfToken;

/// Who is looking at the page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Viewer {
    /// Signed in as this email (from the cached user).
    SignedIn(String),
    /// Nobody is signed in.
    SignedOut,
    /// Not known (the session store could not answer): the navigation shows neither state.
    #[default]
    Unknown,
}

/// One link of the navigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavLink {
    /// Where it goes.
    pub href: &'static str,
    /// What it says.
    pub label: &'static str,
    /// Whether it is the page being shown (`aria-current="page"`).
    pub current: bool,
}

/// The pages a signed-in user's navigation links to.
const SIGNED_IN_LINKS: [(&str, &str); 4] = [
    ("/profile", "Profile"),
    ("/plan/edit", "Plan"),
    ("/pro", "Pro area"),
    ("/sessions", "Sessions"),
];
/// The pages a visitor's navigation links to.
const SIGNED_OUT_LINKS: [(&str, &str); 2] = [
    ("/registration/new", "Register"),
    ("/session/new", "Sign in"),
];

/// What every page's frame needs.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// The token for the page's forms.
    pub csrf: String,
    /// Who is looking.
    pub viewer: Viewer,
    /// A one-time message.
    pub flash: Option<String>,
    /// The path of the page shown, to mark it in the navigation ("" for none).
    pub current: &'static str,
}

impl Layout {
    /// The frame for a page, seen by `user` (or a visitor).
    pub fn new(csrf: &CsrfToken, user: Option<&User>, flash: &IncomingFlash) -> Self {
        Layout {
            csrf: csrf.to_string(),
            viewer: match user {
                Some(u) => Viewer::SignedIn(u.email.clone()),
                None => Viewer::SignedOut,
            },
            flash: flash.message.clone(),
            current: "",
        }
    }

    /// The same frame, marking the navigation's link to `path` as the current page.
    pub fn at(mut self, path: &'static str) -> Self {
        self.current = path;
        self
    }

    /// The signed-in user's email.
    pub fn signed_in_as(&self) -> Option<&str> {
        match &self.viewer {
            Viewer::SignedIn(email) => Some(email),
            _ => None,
        }
    }

    /// Whether the page is the home page (the brand link is then the current one).
    pub fn at_home(&self) -> bool {
        self.current == "/"
    }

    /// The navigation's links for this viewer.
    pub fn links(&self) -> Vec<NavLink> {
        let links: &[(&'static str, &'static str)] = match self.viewer {
            Viewer::SignedIn(_) => &SIGNED_IN_LINKS,
            Viewer::SignedOut => &SIGNED_OUT_LINKS,
            Viewer::Unknown => &[],
        };
        links
            .iter()
            .map(|&(href, label)| NavLink {
                href,
                label,
                current: href == self.current,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_navigation_depends_on_the_viewer_and_marks_the_current_page() {
        let mut layout = Layout {
            viewer: Viewer::SignedIn("a@example.com".into()),
            ..Layout::default()
        }
        .at("/sessions");
        let links = layout.links();
        assert_eq!(links.len(), 4);
        assert_eq!(
            links
                .iter()
                .filter(|l| l.current)
                .map(|l| l.href)
                .collect::<Vec<_>>(),
            ["/sessions"]
        );
        assert_eq!(layout.signed_in_as(), Some("a@example.com"));
        layout.viewer = Viewer::SignedOut;
        assert_eq!(layout.links().len(), 2);
        assert_eq!(layout.signed_in_as(), None);
        layout.viewer = Viewer::Unknown;
        assert!(layout.links().is_empty());
    }
}
