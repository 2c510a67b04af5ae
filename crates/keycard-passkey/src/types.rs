//! What goes in and out of [`Passkeys`](crate::Passkeys): a started ceremony, the browser's reply, the
//! user a passkey is for, a verified assertion, a passkey as a settings page lists it.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keycard::factor::PasskeyRecord;
use keycard::Timestamp;
use serde::Serialize;

/// A ceremony just begun: send all three to the browser (as JSON: `Json(ceremony)` serialises to
/// `{"options": …, "token": …, "expires_at": …}`).
#[derive(Clone, Serialize)]
#[non_exhaustive]
pub struct Ceremony {
    /// What the browser's WebAuthn call takes: `{"publicKey": {…}}` (and `"mediation": "conditional"`
    /// for a sign-in). In JavaScript, `PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey)`
    /// for a registration, `parseRequestOptionsFromJSON` for a sign-in or a second step.
    pub options: serde_json::Value,
    /// The ceremony token (a signed, URL-safe string): the browser sends it back with its answer
    /// ([`BrowserReply::token`]). Single use; the ceremony's state stays on the server.
    pub token: String,
    /// When the ceremony expires (milliseconds since the Unix epoch in JSON).
    pub expires_at: Timestamp,
}

impl fmt::Debug for Ceremony {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ceremony")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What the browser posts back to finish a ceremony.
#[derive(Clone, Copy)]
pub struct BrowserReply<'a> {
    /// The [`Ceremony::token`] it was given.
    pub token: &'a str,
    /// The credential's JSON: `JSON.stringify(credential)` (its `toJSON()`) of what
    /// `navigator.credentials.create` or `.get` returned. At most 64 KiB.
    pub credential: &'a str,
}

impl fmt::Debug for BrowserReply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserReply")
            .field("token", &"<redacted>")
            .field("credential_len", &self.credential.len())
            .finish()
    }
}

/// The user a new passkey is for.
#[derive(Debug, Clone, Copy)]
pub struct PasskeyUser<'a> {
    /// The user key (`CachedUser::user_key`): whose account the passkey signs in to.
    pub key: &'a str,
    /// The name the user signs in with ("ann@example.com"): the authenticator shows it in its list of
    /// passkeys and keeps it. Never an identifier: it may change.
    pub name: &'a str,
    /// The name to show ("Ann"). When one of the two is empty, the other stands in for it.
    pub display_name: &'a str,
}

/// A passkey answer that verified: whose account, and which passkey.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The account it signs in to.
    pub user_key: String,
    /// The passkey used (its credential id, base64url, as the browser names it and
    /// [`PasskeyInfo::id`] lists it).
    pub passkey_id: String,
    /// The authenticator verified the user (PIN, biometric): always true (passkeys require it).
    pub user_verified: bool,
    /// The passkey can be backed up (a synced passkey: iCloud Keychain, Google Password Manager, a
    /// password manager).
    pub backup_eligible: bool,
    /// The passkey is backed up now.
    pub backed_up: bool,
    /// The authenticator's signature counter (0 for most synced passkeys, which keep none).
    pub counter: u32,
}

impl fmt::Debug for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("user_key", &self.user_key)
            .field("passkey_id", &IdPrefix(&self.passkey_id))
            .field("user_verified", &self.user_verified)
            .field("backup_eligible", &self.backup_eligible)
            .field("backed_up", &self.backed_up)
            .field("counter", &self.counter)
            .finish()
    }
}

/// A passkey as the account's settings page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasskeyInfo {
    /// Its credential id, base64url: what [`rename`](crate::Passkeys::rename) and
    /// [`remove`](crate::Passkeys::remove) take (a form field, a URL segment).
    pub id: String,
    /// The name the user gave it.
    pub name: String,
    /// When it was added.
    pub created_at: Timestamp,
    /// When it last signed in (or answered a second step).
    pub last_used_at: Option<Timestamp>,
}

impl From<&PasskeyRecord> for PasskeyInfo {
    fn from(r: &PasskeyRecord) -> Self {
        PasskeyInfo {
            id: encode_id(&r.id),
            name: r.name.clone(),
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

/// A credential id as the browser and [`PasskeyInfo::id`] write it: base64url, no padding.
pub(crate) fn encode_id(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// A credential id from its base64url form (padding tolerated); `None` if it is not one.
pub(crate) fn decode_id(id: &str) -> Option<Vec<u8>> {
    let id = id.trim().trim_end_matches('=');
    if id.is_empty() || id.len() > 1366 {
        return None; // credential ids are at most 1023 bytes
    }
    URL_SAFE_NO_PAD.decode(id).ok()
}

/// The first characters of a credential id (base64url), for logs: enough to tell passkeys apart, never
/// the whole id.
pub(crate) struct IdPrefix<'a>(pub(crate) &'a str);

impl fmt::Display for IdPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = self
            .0
            .char_indices()
            .nth(6)
            .map_or(self.0.len(), |(i, _)| i);
        write!(f, "{}…", &self.0[..end])
    }
}

impl fmt::Debug for IdPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
