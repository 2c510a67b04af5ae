//! Sign-in by email: a link (15 min) or the code of the same message (10 min, 5 guesses). Either is a
//! fresh authentication (sudo mode) and confirms the address; using one ends the other.

use reqwest::StatusCode;

use crate::Mailed;

const SUBJECT: &str = "Your sign-in link";

/// The code in a sign-in message: the one line of six digits.
fn code_of(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("a six-digit code line")
        .to_owned()
}

#[tokio::test]
async fn a_sign_in_link_signs_in_fresh_for_sudo_and_confirms_the_address() {
    let Some(m) = Mailed::start("email::sign_in").await else {
        return;
    };
    m.registered("link@example.com").await;
    let b = m.app.browser();
    let p = b
        .post("/session/link", &[("email", "link@example.com")])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location(), Some("/session/link/sent"));
    let mail = m.mail("link@example.com", SUBJECT).await;
    let link = m.link(&mail, "/session/link/");
    assert_eq!(b.get(&link).await.status, StatusCode::OK);
    assert!(b.me().await.is_none(), "a GET signs nobody in");
    let p = b.post(&link, &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let me = b.me().await.expect("signed in");
    assert_eq!(
        (me["email"].as_str(), me["confirmed"].as_bool()),
        (Some("link@example.com"), Some(true))
    );
    // A fresh authentication: "sign out all others" does not ask for the password.
    let p = b.post("/sessions/delete-others", &[]).await;
    assert_eq!(p.location(), Some("/sessions"));
    // The code of the same message is gone with the link.
    let code = code_of(mail.text.as_deref().unwrap_or(""));
    let other = m.app.browser();
    let p = other
        .post(
            "/session/code",
            &[("email", "link@example.com"), ("code", code.as_str())],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        b.post(&link, &[]).await.status,
        StatusCode::NOT_FOUND,
        "single use"
    );
}

#[tokio::test]
async fn a_sign_in_code_works_once_and_five_wrong_guesses_end_it() {
    let Some(m) = Mailed::start("email::sign_in").await else {
        return;
    };
    m.registered("code@example.com").await;
    let b = m.app.browser();
    b.post("/session/link", &[("email", "code@example.com")])
        .await;
    let code = code_of(
        m.mail("code@example.com", SUBJECT)
            .await
            .text
            .as_deref()
            .unwrap_or(""),
    );
    let p = b
        .post(
            "/session/code",
            &[("email", "code@example.com"), ("code", code.as_str())],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(b.me().await.is_some());
    // A second message; five wrong guesses (each from an address of its own, so the sign-in throttle's
    // per-address counters stay clear) end its code: the right one then fails too, as a wrong code.
    m.app
        .browser()
        .post("/session/link", &[("email", "code@example.com")])
        .await;
    let code = code_of(
        m.nth_mail("code@example.com", SUBJECT, 2)
            .await
            .text
            .as_deref()
            .unwrap_or(""),
    );
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for i in 0..5u8 {
        let guesser = m
            .app
            .browser_from(std::net::IpAddr::from([127, 0, 0, 30 + i]));
        let p = guesser
            .post(
                "/session/code",
                &[("email", "code@example.com"), ("code", wrong)],
            )
            .await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let c = m.app.browser_from(std::net::IpAddr::from([127, 0, 0, 40]));
    let p = c
        .post(
            "/session/code",
            &[("email", "code@example.com"), ("code", code.as_str())],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED, "out of guesses");
    assert!(p.body.contains("not right"), "{}", p.body);
    assert!(c.me().await.is_none());
}

#[tokio::test]
async fn a_sign_in_link_for_an_account_with_an_authenticator_app_leads_to_the_second_step() {
    let Some(m) = Mailed::start("email::sign_in").await else {
        return;
    };
    let owner = m.registered("twofa@example.com").await;
    // Turn the authenticator app on (the factors suite covers the pages; here only the link matters).
    let setup = owner.get("/account/totp").await;
    let secret = between(&setup.body, r#"id="totp-secret">"#, "<");
    let ticket = between(&setup.body, r#"name="ticket" value=""#, "\"");
    let secret = totp_rs::Secret::try_from_base32(&secret)
        .expect("base32")
        .as_bytes()
        .to_vec();
    let totp = &m.app.app.state.second.totp;
    let code = totp
        .code_at(&secret, keycard::Clock::now(&m.app.clock))
        .expect("code");
    let on = owner
        .post("/account/totp", &[("ticket", &ticket), ("code", &code)])
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);

    let b = m.app.browser();
    b.post("/session/link", &[("email", "twofa@example.com")])
        .await;
    let mail = m.mail("twofa@example.com", SUBJECT).await;
    let link = m.link(&mail, "/session/link/");
    let p = b.post(&link, &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(
        p.location(),
        Some("/session/two-factor"),
        "an inbox is one factor, not two"
    );
    assert!(b.me().await.is_none(), "not signed in before the code");
    m.app.advance(30);
    let code = totp
        .code_at(&secret, keycard::Clock::now(&m.app.clock))
        .expect("code");
    let p = b.post("/session/two-factor", &[("code", &code)]).await;
    assert_eq!(p.location(), Some("/profile"));
    assert!(b.me().await.is_some());
}

/// The text between `start` and the next `end` in `html`.
fn between(html: &str, start: &str, end: &str) -> String {
    let from = html.find(start).expect("start marker") + start.len();
    let len = html[from..].find(end).expect("end marker");
    html[from..from + len].to_owned()
}
