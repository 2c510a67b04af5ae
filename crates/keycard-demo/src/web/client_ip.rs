//! The client address the sign-in throttle counts failures by.

use std::net::{IpAddr, Ipv4Addr};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use keycard_axum::ClientIpSource;

/// The request's client address by the app's [`ClientIpSource`], the one its session layer records with
/// new sessions: the TCP peer (`ConnectInfo`) by default, the address a single trusted reverse proxy
/// appended to `X-Forwarded-For` when configured so (then clients behind the proxy are told apart), or
/// `0.0.0.0` when there is none (no connect info, or `ClientIpSource::None`: every client then shares
/// one throttle bucket per account).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    ClientIpSource: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let source = ClientIpSource::from_ref(state);
        Ok(ClientIp(
            source
                .resolve(&parts.headers, &parts.extensions)
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        ))
    }
}
