//! The operations a history is made of, and the strategies that generate them.

use proptest::prelude::*;

use super::{GRACE, IDLE, RENEW, USERS};

/// Picks one of the cookies or sessions issued so far (modulo how many there are); shrinks toward the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pick(pub(crate) usize);

impl Pick {
    pub(crate) fn index(self, len: usize) -> usize {
        self.0 % len
    }
}

impl Arbitrary for Pick {
    type Parameters = ();
    type Strategy = proptest::strategy::Map<std::ops::Range<usize>, fn(usize) -> Pick>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        (0..64usize).prop_map(Pick)
    }
}

/// What a background write carries.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Freshness {
    /// The row's next version.
    Newer,
    /// The row's current version again.
    Same,
    /// An older version (`back` versions behind, at least 0).
    Older { back: u64 },
}

#[derive(Debug, Clone)]
pub(crate) enum Op {
    SignIn { user: u32 },
    Fetch { cookie: Pick },
    FetchForged,
    Advance { ms: u64 },
    PutUser { user: u32, fresh: Freshness },
    Sync { session: Pick, fresh: Freshness },
    Regenerate { session: Pick },
    Delete { cookie: Pick },
    DeleteSession { session: Pick },
    DeleteUserSessions { user: u32, except: Option<Pick> },
    Sweep,
    Sessions { user: u32 },
    Users,
}

fn freshness() -> impl Strategy<Value = Freshness> {
    prop_oneof![
        3 => Just(Freshness::Newer),
        1 => Just(Freshness::Same),
        2 => (1u64..4).prop_map(|back| Freshness::Older { back }),
    ]
}

fn advance() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(1),
        Just(GRACE - 1),
        Just(GRACE),
        Just(RENEW - 1),
        Just(RENEW),
        Just(IDLE - RENEW),
        Just(IDLE - 1),
        0..2_000u64,
        0..(IDLE + 10_000),
    ]
}

pub(crate) fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..USERS).prop_map(|user| Op::SignIn { user }),
        10 => any::<Pick>().prop_map(|cookie| Op::Fetch { cookie }),
        1 => Just(Op::FetchForged),
        6 => advance().prop_map(|ms| Op::Advance { ms }),
        3 => (0..USERS, freshness()).prop_map(|(user, fresh)| Op::PutUser { user, fresh }),
        2 => (any::<Pick>(), freshness()).prop_map(|(session, fresh)| Op::Sync { session, fresh }),
        1 => any::<Pick>().prop_map(|session| Op::Regenerate { session }),
        2 => any::<Pick>().prop_map(|cookie| Op::Delete { cookie }),
        1 => any::<Pick>().prop_map(|session| Op::DeleteSession { session }),
        1 => (0..USERS, proptest::option::of(any::<Pick>()))
            .prop_map(|(user, except)| Op::DeleteUserSessions { user, except }),
        1 => Just(Op::Sweep),
        2 => (0..USERS).prop_map(|user| Op::Sessions { user }),
        1 => Just(Op::Users),
    ]
}
