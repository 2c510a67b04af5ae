//! The reset and sign-in-link requests answer the same, byte for byte, whether or not the address has an
//! account; and requests for mail are limited per address.

use reqwest::StatusCode;

use crate::common::Page;
use crate::Mailed;

fn answer(p: &Page) -> (StatusCode, Option<String>, Vec<String>, String) {
    (
        p.status,
        p.location().map(str::to_owned),
        p.set_cookies(),
        p.body.clone(),
    )
}

#[tokio::test]
async fn reset_and_link_requests_answer_the_same_for_known_and_unknown_addresses() {
    let Some(m) = Mailed::start("email::enumeration").await else {
        return;
    };
    m.registered("known@example.com").await;
    for path in ["/password/reset", "/session/link"] {
        let (a, b) = (m.app.browser(), m.app.browser());
        let known = a.post(path, &[("email", "known@example.com")]).await;
        let unknown = b.post(path, &[("email", "nobody@example.com")]).await;
        assert_eq!(answer(&known), answer(&unknown), "{path}");
        assert_eq!(known.status, StatusCode::SEE_OTHER);
        // The pages the redirects lead to are the same too (but for each page's own CSRF token).
        let to = known.location().expect("a redirect").to_owned();
        let strip = |p: Page| {
            let token = p.csrf_token();
            p.body.replace(&token, "")
        };
        assert_eq!(
            strip(a.get(&to).await),
            strip(b.get(&to).await),
            "{path} -> {to}"
        );
    }
    m.mail("known@example.com", "Reset your password").await;
    m.mail("known@example.com", "Your sign-in link").await;
    assert!(
        m.smtp.messages_for("nobody@example.com").is_empty(),
        "no mail to an unknown address"
    );
}

#[tokio::test]
async fn requests_for_mail_are_limited_per_address() {
    let Some(m) = Mailed::start("email::enumeration").await else {
        return;
    };
    for i in 0..5 {
        let p = m
            .app
            .browser_from(format!("127.0.0.{}", i + 20).parse().expect("ip"))
            .post("/password/reset", &[("email", "target@example.com")])
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "request {i}");
    }
    let p = m
        .app
        .browser_from("127.0.0.99".parse().expect("ip"))
        .post("/password/reset", &[("email", "target@example.com")])
        .await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(p.headers.contains_key("retry-after"));
}
