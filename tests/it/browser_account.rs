//! The account journey in real Chromium: register, confirm the address from the mail's link,
//! log out, reset the forgotten password from the mail's link, and log in with the new one.
//! The links are read from the mails as they arrived over SMTP at a sink in the test.

use thirtyfour::prelude::*;

use crate::builders::browser::{browser, finish, log_out, press, submit, type_into};
use crate::builders::{spawn_mailing_app, SmtpSink, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_registers_verifies_resets_the_password_by_mail_and_logs_in_with_the_new_one() {
    let Some((_driver, b, _profile)) = browser().await else {
        return;
    };
    let sink = SmtpSink::start().await;
    let app = spawn_mailing_app(sink.url(), |_| {}).await;
    let new_password = "marble kettle sunrise";
    let result = async {
        b.goto(app.url("/register")).await?;
        type_into(&b, "name", "Iris Client").await?;
        type_into(&b, "email", "iris@example.com").await?;
        type_into(&b, "password", PASSWORD).await?;
        submit(&b).await?;
        // Not confirmed yet: the banner says so on every page.
        b.query(By::Css("[data-testid=verify-banner]"))
            .first()
            .await?;
        let link = sink
            .link("iris@example.com", &app.address, "/verify-email")
            .await;
        b.goto(app.url(&link)).await?;
        press(&b, "Confirm my email address").await?;
        b.query(By::XPath(
            "//p[contains(@class,'flash') and contains(., 'confirmed')]",
        ))
        .first()
        .await?;
        b.goto(app.url("/account")).await?;
        let badge = b
            .query(By::Css("#email .badge"))
            .first()
            .await?
            .text()
            .await?;
        assert_eq!(badge, "Confirmed");
        assert!(b
            .find(By::Css("[data-testid=verify-banner]"))
            .await
            .is_err());

        log_out(&b).await?;
        b.goto(app.url("/login")).await?;
        b.query(By::LinkText("Forgot your password?"))
            .first()
            .await?
            .click()
            .await?;
        type_into(&b, "email", "iris@example.com").await?;
        submit(&b).await?;
        let flash = b.query(By::Css(".flash")).first().await?.text().await?;
        assert!(flash.contains("link to choose a new password"), "{flash}");

        let link = sink
            .link("iris@example.com", &app.address, "/password-reset/confirm")
            .await;
        b.goto(app.url(&link)).await?;
        type_into(&b, "password", new_password).await?;
        press(&b, "Save the new password").await?;
        let flash = b.query(By::Css(".flash")).first().await?.text().await?;
        assert!(flash.contains("Log in with the new one"), "{flash}");

        // The old password no longer works; the new one does.
        type_into(&b, "email", "iris@example.com").await?;
        type_into(&b, "password", PASSWORD).await?;
        submit(&b).await?;
        b.query(By::Id("login-error")).first().await?;
        b.query(By::Id("email")).first().await?.clear().await?;
        type_into(&b, "email", "iris@example.com").await?;
        type_into(&b, "password", new_password).await?;
        submit(&b).await?;
        let nav = b.query(By::Css("[data-testid=nav-user]")).first().await?;
        assert_eq!(nav.text().await?, "Iris Client");
        Ok(())
    }
    .await;
    finish(b, result).await;
}
