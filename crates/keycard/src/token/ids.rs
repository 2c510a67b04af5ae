//! The stable, public ids: a session's and a remember-me series'. Random, 128 bits, their first two bytes
//! a [`RouteTag`] when the store routes by user; knowing one lets nobody use what it names.

use std::fmt;

use super::{RouteTag, TAG_LEN};

/// A 128-bit random session id: the stable, public handle of one sign-in (listing, revoking).
///
/// Unlike the token it survives renewals and `sync`; knowing it does not let anybody use the session.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct SessionId(pub [u8; 16]);

impl SessionId {
    /// A fresh random id from the OS CSPRNG.
    pub fn generate() -> SessionId {
        SessionId::generate_tagged(None)
    }

    /// A fresh id whose first two bytes are `tag` (the other 112 bits random); none: all 128 random.
    ///
    /// # Panics
    /// If the operating system cannot provide random bytes, as [`Token::generate`](crate::token::Token::generate).
    pub fn generate_tagged(tag: Option<RouteTag>) -> SessionId {
        let mut b = [0u8; 16];
        getrandom::getrandom(&mut b).expect("the OS random number generator failed");
        if let Some(tag) = tag {
            b[..TAG_LEN].copy_from_slice(&tag.0.to_be_bytes());
        }
        SessionId(b)
    }

    /// The routing tag in the first two bytes (meaningful only for an id made with a tag).
    pub fn route_tag(&self) -> RouteTag {
        RouteTag(u16::from_be_bytes([self.0[0], self.0[1]]))
    }

    /// Lower-case hex, 32 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parse the 32-character hex form.
    pub fn parse(s: &str) -> Option<SessionId> {
        if s.len() != 32 {
            return None;
        }
        let mut b = [0u8; 16];
        hex::decode_to_slice(s, &mut b).ok()?;
        Some(SessionId(b))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.to_hex())
    }
}

/// The stable id of a remember-me series (16 bytes): what the remember-me cookie names, what a listing
/// shows, what a session created from the series records ([`SessionRecord::remember_series`](crate::SessionRecord::remember_series)).
/// Like a [`SessionId`], its first two bytes are a [`RouteTag`] when the store routes by user.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct SeriesId(pub [u8; 16]);

impl SeriesId {
    /// A fresh random id from the OS CSPRNG.
    ///
    /// # Panics
    /// If the operating system cannot provide random bytes.
    pub fn generate() -> SeriesId {
        SeriesId::generate_tagged(None)
    }

    /// A fresh id whose first two bytes are `tag` (the other 112 bits random); none: all 128 random.
    ///
    /// # Panics
    /// If the operating system cannot provide random bytes.
    pub fn generate_tagged(tag: Option<RouteTag>) -> SeriesId {
        let mut b = [0u8; 16];
        getrandom::getrandom(&mut b).expect("the OS random number generator failed");
        if let Some(tag) = tag {
            b[..TAG_LEN].copy_from_slice(&tag.0.to_be_bytes());
        }
        SeriesId(b)
    }

    /// The routing tag in the first two bytes (meaningful only for an id made with a tag).
    pub fn route_tag(&self) -> RouteTag {
        RouteTag(u16::from_be_bytes([self.0[0], self.0[1]]))
    }

    /// Lower-case hex, 32 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parse [`to_hex`](Self::to_hex)'s output (a sessions page's form field); `None` if it is not 32
    /// hex digits.
    pub fn parse(s: &str) -> Option<SeriesId> {
        if s.len() != 32 {
            return None;
        }
        let mut b = [0u8; 16];
        hex::decode_to_slice(s, &mut b).ok()?;
        Some(SeriesId(b))
    }
}

impl fmt::Debug for SeriesId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeriesId({})", self.to_hex())
    }
}
