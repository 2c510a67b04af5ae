//! lettre's SMTP errors as [`MailError`]s: what failed, and whether a retry can help.

use std::error::Error as _;
use std::io;

use crate::error::{MailError, MailErrorKind};

/// Classify one of lettre's errors.
///
/// | lettre says | kind | retry helps |
/// |---|---|---|
/// | a 4xx reply | `Rejected` (with the code) | yes |
/// | a 5xx reply (refused recipient, failed login, …) | `Rejected` (with the code) | no |
/// | an I/O timeout | `Timeout` | yes |
/// | TLS: a certificate or handshake refused (`InvalidData` under the connection error), or lettre's TLS error | `Tls` | no |
/// | connection refused, reset, unreachable, name not resolved | `Connect` | yes |
/// | a reply that does not parse | `Connect` | yes |
/// | "STARTTLS is not supported", "not encrypted" | `Tls` | no |
/// | no common `AUTH` mechanism, other client errors | `Config` | no |
/// | the transport was shut down | `Unavailable` | no |
pub(super) fn smtp_error(e: &lettre::transport::smtp::Error) -> MailError {
    let detail = e.to_string();
    if let Some(code) = e.status() {
        let code = u16::from(code);
        let error = if e.is_transient() {
            MailError::transient(MailErrorKind::Rejected, detail)
        } else {
            MailError::permanent(MailErrorKind::Rejected, detail)
        };
        return error.with_code(code);
    }
    if e.is_timeout() {
        return MailError::transient(MailErrorKind::Timeout, detail);
    }
    if e.is_tls() {
        return MailError::permanent(MailErrorKind::Tls, detail);
    }
    if e.is_transport_shutdown() {
        return MailError::permanent(MailErrorKind::Unavailable, detail);
    }
    if e.is_client() {
        let tls = detail.contains("STARTTLS") || detail.contains("encrypted");
        let kind = if tls {
            MailErrorKind::Tls
        } else {
            MailErrorKind::Config
        };
        return MailError::permanent(kind, detail);
    }
    if e.is_response() {
        return MailError::transient(MailErrorKind::Connect, detail);
    }
    // Connection or network: a refused TLS handshake surfaces as `InvalidData` (rustls, through tokio-rustls).
    match io_kind(e) {
        Some(io::ErrorKind::InvalidData) => MailError::permanent(MailErrorKind::Tls, detail),
        Some(io::ErrorKind::TimedOut) => MailError::transient(MailErrorKind::Timeout, detail),
        _ => MailError::transient(MailErrorKind::Connect, detail),
    }
}

/// The kind of the first I/O error in `e`'s sources.
fn io_kind(e: &lettre::transport::smtp::Error) -> Option<io::ErrorKind> {
    let mut source = e.source();
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}
