//! `GET /static/app.css`, `GET /static/favicon.svg`, `GET /favicon.ico` (`web/routes/assets.rs`), and the
//! pages that link them: one stylesheet and an icon, no inline script or style (W3, issue 9: a strict
//! CSP allows neither), a label for every field, the current page marked.

use reqwest::StatusCode;

use crate::common::TestApp;
use crate::every_page::every_page;
use crate::has_signed_in_nav;

#[tokio::test]
async fn pages_link_one_stylesheet_and_an_icon_mark_the_current_page_and_inline_nothing() {
    let app = TestApp::start().await;
    let b = app.browser();
    let css = b.get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(css.body.contains(":focus-visible"), "visible focus");
    assert!(css.set_cookies().is_empty(), "no cookie work for assets");
    for icon in ["/static/favicon.svg", "/favicon.ico"] {
        let res = b.get(icon).await;
        assert_eq!(res.status, StatusCode::OK, "{icon}");
        assert_eq!(res.headers["content-type"], "image/svg+xml");
    }

    let anonymous = ["/", "/registration/new", "/session/new"];
    for path in anonymous {
        let page = b.get(path).await;
        assert_plain_page(path, &page.body);
    }
    b.registered("alice@example.com").await;
    for (path, link) in [
        ("/", None),
        ("/profile", Some("/profile")),
        ("/plan/edit", Some("/plan/edit")),
        ("/pro", Some("/pro")),
        ("/sessions", Some("/sessions")),
    ] {
        let page = b.get(path).await;
        assert_plain_page(path, &page.body);
        assert!(has_signed_in_nav(&page.body, "alice@example.com"), "{path}");
        assert_eq!(
            page.body.matches(r#"aria-current="page""#).count(),
            1,
            "{path}"
        );
        if let Some(link) = link {
            assert!(
                page.body
                    .contains(&format!(r#"<a href="{link}" aria-current="page">"#)),
                "{path} marks its link"
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn w3_no_page_has_inline_script_or_style_and_the_stylesheet_is_a_file() {
    let app = TestApp::start().await;
    let mut html_pages = 0;
    for (what, page) in every_page(&app).await {
        let html = page
            .headers
            .get("content-type")
            .is_some_and(|ct| ct.to_str().unwrap().starts_with("text/html"));
        if !html {
            continue; // JSON, the stylesheet itself, plain text
        }
        let body = page.body.to_ascii_lowercase();
        for inline in ["<script", "<style", "style=", "javascript:", " on"] {
            let found = match inline {
                // Event handler attributes (`onclick=`, …): ` on` followed by letters and `=`.
                " on" => body.split(" on").skip(1).any(|rest| {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphabetic())
                        .collect();
                    !name.is_empty() && rest[name.len()..].starts_with('=')
                }),
                "<script" => has_inline_script(&body),
                other => body.contains(other),
            };
            assert!(!found, "{what}: inline {inline:?} in {}", page.body);
        }
        html_pages += 1;
        assert!(
            body.contains(r#"<link rel="stylesheet" href="/static/app.css">"#),
            "{what}"
        );
    }
    assert!(html_pages >= 15, "{html_pages} pages checked");
    let css = app.browser().get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(css.body.contains(".flash"), "the rules moved into the file");
    assert!(
        css.set_cookies().is_empty(),
        "no cookie work for the stylesheet"
    );
    app.stop().await;
}

/// A `<script>` that is not a file of the app's own (`<script src="/static/…">`).
fn has_inline_script(html: &str) -> bool {
    html.split("<script")
        .skip(1)
        .any(|rest| !rest.starts_with(r#" src="/static/"#))
}

/// The page links the stylesheet and the icon, and has no inline script or style (a strict CSP allows
/// neither), and every form field has a label.
fn assert_plain_page(path: &str, html: &str) {
    assert!(
        html.contains(r#"<link rel="stylesheet" href="/static/app.css">"#),
        "{path}"
    );
    assert!(
        html.contains(r#"<link rel="icon" href="/static/favicon.svg""#),
        "{path}"
    );
    assert!(!has_inline_script(html), "{path} has an inline script");
    for inline in ["<style", " style=", "onclick=", "onsubmit="] {
        assert!(!html.contains(inline), "{path} has {inline}");
    }
    for input in html.split("<input").skip(1) {
        let tag = &input[..input.find('>').expect("tag end")];
        if tag.contains(r#"type="hidden""#)
            || tag.contains(" hidden")
            || tag.contains(r#"type="radio""#)
        {
            continue;
        }
        let id = tag
            .split(r#"id=""#)
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_else(|| panic!("{path}: an input without an id: {tag}"));
        assert!(
            html.contains(&format!(r#"<label for="{id}""#)),
            "{path}: no label for {id}"
        );
        assert!(
            tag.contains("autocomplete="),
            "{path}: {id} has no autocomplete"
        );
    }
}
