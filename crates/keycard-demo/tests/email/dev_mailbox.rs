//! Without `SMTP_URL` the demo keeps its mail in the development mailbox, shown at `GET /dev/mailbox`
//! on a loopback address, and the flows work the same.

use reqwest::StatusCode;

use crate::common::TestApp;

#[tokio::test]
async fn without_smtp_mail_is_kept_in_the_development_mailbox() {
    let app = TestApp::start().await;
    let b = app.browser();
    b.registered("dev@example.com").await;
    let mut page = b.get("/dev/mailbox").await;
    for _ in 0..100 {
        if page.body.contains("Confirm your email address") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        page = b.get("/dev/mailbox").await;
    }
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("dev@example.com"));
    let prefix = format!("{}/confirm/", app.base);
    let start = page.body.find(&prefix).expect("the link is shown") + app.base.len();
    let link: String = page.body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'))
        .collect();
    assert_eq!(b.post(&link, &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(b.me().await.expect("signed in")["confirmed"], true);
}
