//! Personal access tokens (issue 22): a session that never rotates, lives to its own expiry, shares the
//! cached user, is never fresh for sudo mode, and is not displaced by the per-user cap.

use keycard::{personal_token_value, CredentialsCache, PersonalTokenInfo, PersonalTokenRequest};

use super::prelude::*;

const TOKEN_TTL: Duration = Duration::from_secs(3 * 3600);

fn request(name: &str) -> PersonalTokenRequest<'_> {
    PersonalTokenRequest {
        name,
        scopes: &["read", "plans:write"],
        ttl: TOKEN_TTL,
    }
}

/// DESIGN "personal tokens": fetched again and again past the renewal interval and the idle and absolute
/// lifetimes of ordinary sessions, it never rotates and stays the same value; it carries its name and
/// scopes, no proof of password, and the one cached user (a `put_user` reaches it); at its expiry it is
/// gone.
pub async fn a_personal_token_never_rotates_and_lives_to_its_own_expiry(h: Harness) {
    let issued = h
        .cache
        .create_personal_token(
            user_c(1, "ann", 1, 1),
            request("deploy"),
            SessionMetadata::default(),
        )
        .await
        .expect("issued");
    assert!(issued.value.starts_with("kcpat_"));
    let value = issued.value.as_str();
    let bare = personal_token_value(value).expect("prefixed");
    assert!(
        h.fetch(bare).await.is_none(),
        "without its prefix it is no session cookie"
    );
    let session = h.sign_in(user_c(2, "bob", 1, 1)).await;
    assert!(
        h.fetch(&format!("kcpat_{}", session.cookie.as_str()))
            .await
            .is_none(),
        "a session's cookie with the prefix is no personal token"
    );
    let info = PersonalTokenInfo::of(&issued.session).expect("a personal token");
    assert_eq!(info.name, "deploy");
    assert!(info.has_scope("plans:write") && !info.has_scope("admin"));
    assert!(
        issued.session.authenticated_at.is_none(),
        "never fresh for sudo"
    );
    let mut elapsed = Duration::ZERO;
    while elapsed + IDLE < TOKEN_TTL {
        h.advance(IDLE - Duration::from_secs(1));
        elapsed += IDLE - Duration::from_secs(1);
        let a = h.must_fetch(value, "a live personal token").await;
        assert!(a.renewed.is_none(), "never rotated (after {elapsed:?})");
        assert_eq!(a.session.session_id, issued.session.session_id);
    }
    assert!(elapsed > ABSOLUTE, "past an ordinary session's whole life");
    h.put(user_c(1, "ann renamed", 2, 1)).await;
    let a = h.must_fetch(value, "after put_user").await;
    assert_eq!(a.user.name, "ann renamed", "the one cached user");
    h.advance(TOKEN_TTL - elapsed);
    assert!(h.fetch(value).await.is_none(), "dead at its expiry");
}

/// DESIGN "personal tokens": sign-ins past the per-user cap end the oldest *sessions*, never a personal
/// token; new credentials end it like any session signed in with the old ones.
pub async fn personal_tokens_are_not_displaced_but_end_with_the_credentials(h: Harness) {
    let cache: CredentialsCache<TestUser> = CredentialsCache::builder_arc(h.spy.clone())
        .secret(SECRET)
        .policy(test_policy().with_max_sessions_per_user(Some(2)))
        .clock(h.clock.clone())
        .build()
        .expect("valid");
    let issued = cache
        .create_personal_token(
            user_c(1, "ann", 1, 1),
            request("ci"),
            SessionMetadata::default(),
        )
        .await
        .expect("issued");
    let value = issued.value.as_str();
    for _ in 0..4 {
        cache
            .create(user_c(1, "ann", 1, 1), SessionMetadata::default())
            .await
            .expect("sign in");
    }
    let listed = cache.sessions(&key(1)).await.expect("sessions");
    assert_eq!(listed.len(), 3, "two sessions (the cap) and the token");
    assert!(cache.fetch(value).await.expect("fetch").is_some());
    cache
        .put_user(user_c(1, "ann", 2, 2))
        .await
        .expect("new credentials");
    assert!(
        cache.fetch(value).await.expect("fetch").is_none(),
        "a password change ends it"
    );
}
