//! Deliberately broken near caches (feature `soak-faults`, off by default): the soak
//! (`crates/keycard-soak`) turns one on in a demo build of its own to show that its checker catches the
//! broken cache. **Never turn one on in a process that serves anybody**: each breaks invariant 10.

use std::sync::atomic::{AtomicU8, Ordering::SeqCst};

/// A broken near cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SoakFault {
    /// Every near cache of this process drops the `Session` invalidations its channel delivers (another
    /// node's sign-out or revocation of one session).
    IgnoreSessionInvalidations,
    /// Every near cache of this process drops the `User` invalidations its channel delivers (another
    /// node's `put_user`, sync, or ending of every session of a user).
    IgnoreUserInvalidations,
}

static ACTIVE: AtomicU8 = AtomicU8::new(0);

/// Break every near cache of this process as `fault` says, from now on.
pub fn activate(fault: SoakFault) {
    let code = match fault {
        SoakFault::IgnoreSessionInvalidations => 1,
        SoakFault::IgnoreUserInvalidations => 2,
    };
    ACTIVE.store(code, SeqCst);
}

/// Whether the active fault drops `Session` invalidations.
pub(super) fn ignores_sessions() -> bool {
    ACTIVE.load(SeqCst) == 1
}

/// Whether the active fault drops `User` invalidations.
pub(super) fn ignores_users() -> bool {
    ACTIVE.load(SeqCst) == 2
}
