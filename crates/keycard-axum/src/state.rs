//! The request state the layer and the auth handle share: what the request resolved to, the cookie
//! change to write, the layer's settings. A leaf: it knows no handle, no layer, no extractor.

use std::marker::PhantomData;
use std::net::IpAddr;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue};
use keycard::{SessionMetadata, SessionRecord, TokenUse};

use crate::config::{ClientIpSource, USER_AGENT_MAX_CHARS};
use crate::cookie::CookieWriter;

/// Settings shared by every request of one layer.
#[derive(Debug, Clone)]
pub(crate) struct LayerConfig {
    pub(crate) writer: CookieWriter,
    pub(crate) ip_source: ClientIpSource,
    /// How recent a proof of password [`RecentlyAuthenticated`](crate::RecentlyAuthenticated) accepts.
    pub(crate) sudo_max_age: std::time::Duration,
    /// The remember-me cookie, when the layer redeems remember-me cookies.
    pub(crate) remember: Option<CookieWriter>,
    /// The open session watches of this layer (`Auth::watch`), bounded per session.
    pub(crate) watches: Arc<crate::watch_slots::WatchSlots>,
    /// Whether a request's `Authorization: Bearer` value is its session (`SessionLayer::accept_bearer`).
    pub(crate) bearer: bool,
}

/// How a request presents its session, and so how a change goes back out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// The session cookie (`Set-Cookie`).
    Cookie,
    /// `Authorization: Bearer` (`Set-Auth-Token`; never a cookie).
    Bearer,
}

/// What the request resolved to.
pub(crate) enum Phase<U> {
    /// No session: no cookie, a refused cookie, or one naming no live session.
    Anonymous,
    /// A live session.
    SignedIn {
        user: Arc<U>,
        session: Arc<SessionRecord>,
        token_use: TokenUse,
    },
    /// The store (or a user loader) failed: neither signed in nor anonymous. `session` is the session the
    /// request had resolved to, if it got that far.
    Unavailable { session: Option<Arc<SessionRecord>> },
}

impl<U> Clone for Phase<U> {
    fn clone(&self) -> Self {
        match self {
            Phase::Anonymous => Phase::Anonymous,
            Phase::SignedIn {
                user,
                session,
                token_use,
            } => Phase::SignedIn {
                user: user.clone(),
                session: session.clone(),
                token_use: *token_use,
            },
            Phase::Unavailable { session } => Phase::Unavailable {
                session: session.clone(),
            },
        }
    }
}

/// What a request is bound to, for its CSRF token: a session, nothing, or unknown (the store failed).
#[derive(Clone)]
pub(crate) enum Bound {
    Session(Arc<SessionRecord>),
    Anonymous,
    Unknown,
}

impl Bound {
    /// The session id, if it is one; `None` for anonymous and unknown alike.
    pub(crate) fn session_id(&self) -> Option<keycard::SessionId> {
        match self {
            Bound::Session(s) => Some(s.session_id),
            _ => None,
        }
    }
}

impl<U> Phase<U> {
    pub(crate) fn bound(&self) -> Bound {
        match self {
            Phase::SignedIn { session, .. } => Bound::Session(session.clone()),
            Phase::Anonymous => Bound::Anonymous,
            Phase::Unavailable { .. } => Bound::Unknown,
        }
    }
}

/// A cookie change for the layer to write on the response.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum CookieChange {
    Set(keycard::CookieValue),
    Clear,
}

/// What the layer writes on a request's response (`Auth::take_response_effects`).
pub(crate) struct ResponseEffects {
    /// Where the session change goes: `Set-Cookie`, or `Set-Auth-Token` for a bearer request.
    pub(crate) transport: Transport,
    /// The session cookie change.
    pub(crate) session: Option<CookieChange>,
    /// The remember-me cookie change.
    pub(crate) remember: Option<CookieChange>,
    /// Whether the response depends on the cookie (the request carried it, or a handler read the
    /// session state): `Vary: Cookie`.
    pub(crate) depends_on_cookie: bool,
}

/// One request's session state, behind the auth handle's lock.
pub(crate) struct State<U> {
    pub(crate) phase: Phase<U>,
    /// `assign_current_user` for this request.
    pub(crate) assigned: Option<Arc<U>>,
    /// The well-shaped cookie value the request carried, kept only while the store could not resolve it
    /// (so a later sign-in or sign-out can still end that session).
    pub(crate) presented: Option<String>,
    pub(crate) cookie: Option<CookieChange>,
    /// Whether the request carried the session cookie (in any shape).
    pub(crate) carried: bool,
    /// Whether anything read the session state (an extractor ran): the response depends on the cookie.
    pub(crate) observed: bool,
    /// User agent and client address, captured when a handler extracts the handle (the only way to reach
    /// `create`), so requests that never sign in pay nothing for them.
    pub(crate) info: Option<RequestInfo>,
    /// The well-shaped remember-me cookie the request carried (its series ends at sign-out).
    pub(crate) remember_presented: Option<String>,
    /// The remember-me cookie change to write.
    pub(crate) remember_cookie: Option<CookieChange>,
    /// Served from a replaced token in its grace window (a session token just renewed, a remember-me
    /// cookie just redeemed): read-only for identity, every operation that would sign in, sync, rotate
    /// or sign out is refused.
    pub(crate) read_only: bool,
    /// Cookie or bearer.
    pub(crate) transport: Transport,
}

impl<U> State<U> {
    pub(crate) fn new(
        phase: Phase<U>,
        presented: Option<String>,
        cookie: Option<CookieChange>,
        carried: bool,
    ) -> Self {
        let read_only = matches!(
            phase,
            Phase::SignedIn {
                token_use: TokenUse::Grace,
                ..
            }
        );
        State {
            read_only,
            phase,
            assigned: None,
            presented,
            cookie,
            carried,
            observed: false,
            info: None,
            remember_presented: None,
            remember_cookie: None,
            transport: Transport::Cookie,
        }
    }
}

/// Facts about the request, kept for the metadata of a sign-in.
pub(crate) struct RequestInfo {
    user_agent: Option<HeaderValue>,
    ip: Option<IpAddr>,
}

impl RequestInfo {
    pub(crate) fn capture(
        headers: &HeaderMap,
        extensions: &http::Extensions,
        source: ClientIpSource,
    ) -> Self {
        RequestInfo {
            user_agent: headers.get(http::header::USER_AGENT).cloned(),
            ip: source.resolve(headers, extensions),
        }
    }

    /// Nothing known about the request.
    pub(crate) fn empty() -> Self {
        RequestInfo {
            user_agent: None,
            ip: None,
        }
    }

    pub(crate) fn metadata(&self) -> SessionMetadata {
        SessionMetadata {
            user_agent: self.user_agent.as_ref().map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .chars()
                    .take(USER_AGENT_MAX_CHARS)
                    .collect()
            }),
            ip: self.ip.map(|ip| ip.to_string()),
            fields: Default::default(),
        }
    }
}

/// Left in a request by a `ReloadUser` layer that ran before any `SessionLayer` for `U` (it was added
/// outside it, or there is none): the user was not reloaded, so every extractor must refuse the request
/// rather than hand out the cached user (issue 9, W8).
pub(crate) struct ReloadSkipped<U>(PhantomData<fn() -> U>);

impl<U> ReloadSkipped<U> {
    pub(crate) fn new() -> Self {
        ReloadSkipped(PhantomData)
    }
}

impl<U> Clone for ReloadSkipped<U> {
    fn clone(&self) -> Self {
        ReloadSkipped::new()
    }
}
