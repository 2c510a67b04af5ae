//! One request's CSRF state, shared by the layer and the [`CsrfToken`](crate::CsrfToken) extractor: the
//! key, what the request is bound to (read through the session handle, so a sign-in made by the handler
//! is seen), and the anonymous CSRF cookie it carried or was given.

use std::sync::{Arc, Mutex, MutexGuard};

use keycard::CachedUser;

use crate::auth::Auth;
use crate::csrf::rejection::CsrfRejection;
use crate::csrf::token::{self, CsrfKey, Raw};
use crate::state::Bound;

/// The session state of a request, without its user type.
pub(crate) trait SessionSource: Send + Sync + 'static {
    fn bound(&self, observe: bool) -> Bound;
}

impl<U: CachedUser> SessionSource for Auth<U> {
    fn bound(&self, observe: bool) -> Bound {
        Auth::bound(self, observe)
    }
}

/// The anonymous CSRF cookie: the value the request carried (well-shaped, exactly once), and a new value
/// this response must set, with whether it was made after the session changed.
struct Anonymous {
    presented: Option<String>,
    issued: Option<(String, bool)>,
}

struct Inner {
    key: Arc<CsrfKey>,
    session: Box<dyn SessionSource>,
    /// What the request was bound to when it arrived (the session id; `None` inside: anonymous).
    arrived: Bound,
    anonymous: Mutex<Anonymous>,
}

/// One request's CSRF state (cheap to clone: one `Arc`).
#[derive(Clone)]
pub(crate) struct CsrfContext(Arc<Inner>);

impl CsrfContext {
    pub(crate) fn new(
        key: Arc<CsrfKey>,
        session: impl SessionSource,
        presented: Option<String>,
    ) -> Self {
        let arrived = session.bound(false);
        CsrfContext(Arc::new(Inner {
            key,
            session: Box::new(session),
            arrived,
            anonymous: Mutex::new(Anonymous {
                presented,
                issued: None,
            }),
        }))
    }

    fn anonymous(&self) -> MutexGuard<'_, Anonymous> {
        self.0
            .anonymous
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the session changed since the request arrived (sign-in, sign-out, another user): both
    /// states known and naming different sessions.
    fn changed(&self, now: &Bound) -> bool {
        let known = |b: &Bound| !matches!(b, Bound::Unknown);
        known(&self.0.arrived) && known(now) && self.0.arrived.session_id() != now.session_id()
    }

    /// The secret a token presented with this request must unmask to, as the request arrived: `None`
    /// when anonymous without a CSRF cookie (no token can match).
    pub(crate) fn expected(&self) -> Result<Option<Raw>, CsrfRejection> {
        match &self.0.arrived {
            Bound::Session(s) => Ok(Some(self.0.key.for_session(&s.session_id, s.created_at))),
            Bound::Anonymous => Ok(self
                .anonymous()
                .presented
                .as_deref()
                .map(|v| self.0.key.for_anonymous(v))),
            Bound::Unknown => Err(CsrfRejection::SessionUnavailable),
        }
    }

    /// A masked token for a page rendered now: bound to the session, or to the anonymous CSRF cookie. A
    /// new cookie value (set on the response) when the request has none, or when the session changed
    /// during this request, so the page's token is the one the next request will be checked against.
    pub(crate) fn token(&self) -> Result<String, CsrfRejection> {
        let now = self.0.session.bound(true);
        let raw = match &now {
            Bound::Session(s) => self.0.key.for_session(&s.session_id, s.created_at),
            Bound::Unknown => return Err(CsrfRejection::SessionUnavailable),
            Bound::Anonymous => {
                let changed = self.changed(&now);
                let mut anon = self.anonymous();
                let value = match (&anon.issued, &anon.presented) {
                    (Some((v, after)), _) if *after == changed => v.clone(),
                    (_, Some(v)) if !changed => v.clone(),
                    _ => {
                        let v =
                            token::new_cookie_value().map_err(|_| CsrfRejection::NoRandomness)?;
                        anon.issued = Some((v.clone(), changed));
                        v
                    }
                };
                self.0.key.for_anonymous(&value)
            }
        };
        token::mask(&raw).map_err(|_| CsrfRejection::NoRandomness)
    }

    /// The anonymous CSRF cookie the response must set: whenever the session changed during the request,
    /// a value made after the change (the one a page of this response was given, or a fresh one), so no
    /// value known before survives a sign-in or sign-out; else the value a page was given, if any. `Err`
    /// when a fresh value was needed and the random generator failed (the caller clears the cookie).
    pub(crate) fn cookie_to_set(&self) -> Result<Option<String>, CsrfRejection> {
        let now = self.bound_now();
        let changed = self.changed(&now);
        let issued = self.anonymous().issued.clone();
        match issued {
            Some((v, after)) if after == changed => Ok(Some(v)),
            _ if changed => token::new_cookie_value()
                .map(Some)
                .map_err(|_| CsrfRejection::NoRandomness),
            _ => Ok(None),
        }
    }

    fn bound_now(&self) -> Bound {
        self.0.session.bound(false)
    }
}
