//! The app secret: given (`SECRET_KEY`), or a development secret generated once and kept beside the
//! SQLite database (mode 0600), with a warning at every start.
//!
//! Every key the app uses is derived from this one secret under its own label (cookie signing in
//! `keycard`, CSRF tokens in `keycard-axum` (see [`crate::web::csrf`]), flash messages in
//! [`crate::web::flash`]), so no two uses share a key.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The app secret. `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wrap secret bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// A 64-byte key for one purpose, separated from every other use of the secret by its `label`: the
    /// label's key `K = HMAC-SHA256(secret, label)`, as every key of the app is derived, expanded to 64
    /// bytes as HKDF-Expand (RFC 5869) does with no info, `HMAC-SHA256(K, 0x01)` then
    /// `HMAC-SHA256(K, first 32 bytes || 0x02)`: the size of a `cookie::Key` (the flash's signed cookie).
    pub fn derive_key(&self, label: &str) -> [u8; 64] {
        let hmac = |key: &[u8], parts: &[&[u8]]| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
                .expect("HMAC-SHA256 accepts keys of any length");
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes()
        };
        let key = hmac(&self.0, &[label.as_bytes()]);
        let first = hmac(&key, &[&[1]]);
        let second = hmac(&key, &[first.as_slice(), &[2]]);
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&first);
        out[32..].copy_from_slice(&second);
        out
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes>)", self.0.len())
    }
}

/// Where the secret comes from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// `SECRET_KEY`.
    Given(Secret),
    /// A development secret in this file (generated if missing).
    File(PathBuf),
    /// A development secret for this process only (in-memory SQLite).
    Ephemeral,
}

/// The secret could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    /// I/O on the secret file failed.
    #[error("cannot {action} the development secret {path}: {source}; set SECRET_KEY or fix the file's permissions")]
    Io {
        /// `read`, `create`, ….
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file holds too little.
    #[error("the development secret {path} is shorter than 64 bytes; delete it to generate a new one, or set SECRET_KEY")]
    TooShort {
        /// The file.
        path: PathBuf,
    },
}

/// Bytes of randomness in a generated secret (base64-encoded into 88 characters).
const GENERATED_BYTES: usize = 64;

/// The secret `source` names, generating the development secret file when it does not exist yet.
pub fn resolve(source: &SecretSource) -> Result<Secret, SecretFileError> {
    match source {
        SecretSource::Given(s) => Ok(s.clone()),
        SecretSource::Ephemeral => {
            tracing::warn!(
                "SECRET_KEY is not set: using a random secret for this process only; set SECRET_KEY \
                 (at least 64 bytes, e.g. `openssl rand -base64 64`) outside development"
            );
            Ok(Secret::new(generate()?.into_bytes()))
        }
        SecretSource::File(path) => {
            let secret = load_or_create(path)?;
            tracing::warn!(
                path = %path.display(),
                "SECRET_KEY is not set: using the development secret kept in this file; set SECRET_KEY \
                 (at least 64 bytes, e.g. `openssl rand -base64 64`) outside development"
            );
            Ok(secret)
        }
    }
}

fn generate() -> Result<String, SecretFileError> {
    let mut bytes = [0u8; GENERATED_BYTES];
    getrandom::getrandom(&mut bytes).map_err(|e| SecretFileError::Io {
        action: "generate",
        path: PathBuf::from("(random)"),
        source: io::Error::other(e.to_string()),
    })?;
    Ok(STANDARD.encode(bytes))
}

fn load_or_create(path: &Path) -> Result<Secret, SecretFileError> {
    let io_err = |action: &'static str| {
        let path = path.to_path_buf();
        move |source| SecretFileError::Io {
            action,
            path,
            source,
        }
    };
    match read_secret(path) {
        Ok(s) => return Ok(s),
        Err(SecretFileError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        super::private_dir::create_private_dir(dir).map_err(io_err("create the directory of"))?;
    }
    let value = generate()?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(value.as_bytes())
                .and_then(|()| f.write_all(b"\n"))
                .and_then(|()| f.sync_all())
                .map_err(io_err("write"))?;
            tracing::info!(path = %path.display(), "generated a development secret (mode 0600)");
            Ok(Secret::new(value.into_bytes()))
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read_secret(path),
        Err(e) => Err(io_err("create")(e)),
    }
}

fn read_secret(path: &Path) -> Result<Secret, SecretFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| SecretFileError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    let value = text.trim();
    if value.len() < keycard::token::MIN_SECRET_LEN {
        return Err(SecretFileError::TooShort {
            path: path.to_path_buf(),
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "the development secret is readable by other users; run chmod 600 on it");
            }
        }
    }
    Ok(Secret::new(value.as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_are_separated_by_their_label() {
        let secret = Secret::new(vec![7; 64]);
        let a = secret.derive_key("a");
        assert_eq!(a, secret.derive_key("a"), "stable");
        assert_ne!(a, secret.derive_key("b"), "one key per label");
        assert_ne!(
            a,
            Secret::new(vec![8; 64]).derive_key("a"),
            "one key per secret"
        );
        assert_ne!(a[..32], a[32..], "two different halves");
    }

    #[test]
    fn generated_file_is_private_and_stable() {
        let dir = std::env::temp_dir().join(format!("keycard-secret-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("sub").join("x.secret_key");
        let a = resolve(&SecretSource::File(path.clone())).expect("generated");
        let b = resolve(&SecretSource::File(path.clone())).expect("read back");
        assert_eq!(a.as_bytes(), b.as_bytes());
        assert!(a.as_bytes().len() >= 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{a:?}").contains(&String::from_utf8_lossy(a.as_bytes()).to_string()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
