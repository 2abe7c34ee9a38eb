//! The browser fixtures: real Chromium through WebDriver (Debian's chromium + chromium-driver),
//! found at `CHROMEDRIVER` or the usual paths; with `BODYWORK_REQUIRE_BROWSER=1` (CI) a missing
//! driver is a failure, not a skip. Journeys live in `browser*.rs` modules and share these steps.

use std::process::Stdio;
use std::time::Duration;

use thirtyfour::prelude::*;

use super::app::{TestApp, PASSWORD};

fn chromedriver_path() -> Option<std::path::PathBuf> {
    if let Ok(p) = std::env::var("CHROMEDRIVER") {
        return Some(p.into());
    }
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

pub struct Driver {
    process: tokio::process::Child,
    pub url: String,
}

impl Driver {
    pub async fn start() -> Option<Driver> {
        Driver::start_in_zone(None).await
    }

    /// A driver whose browsers run on the clock of `zone` (an IANA name, through `TZ`), or the
    /// machine's.
    pub async fn start_in_zone(zone: Option<&str>) -> Option<Driver> {
        let Some(path) = chromedriver_path() else {
            if std::env::var("BODYWORK_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("chromedriver not found but BODYWORK_REQUIRE_BROWSER=1");
            }
            eprintln!("browser test skipped: chromedriver not found");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = tokio::process::Command::new(path);
        if let Some(zone) = zone {
            command.env("TZ", zone);
        }
        let process = command
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        // Ready means the driver answers `/status` with `ready: true`, not merely that its port
        // is open: on a loaded 2-core machine a session request sent earlier can be dropped.
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..300 {
            let ready = match client.get(format!("{url}/status")).send().await {
                Ok(r) => r
                    .json::<serde_json::Value>()
                    .await
                    .is_ok_and(|v| v["value"]["ready"] == true),
                Err(_) => false,
            };
            if ready {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(Driver { process, url })
    }

    pub async fn browser(&self, profile: &std::path::Path) -> WebDriver {
        let mut caps = DesiredCapabilities::chrome();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--window-size=1200,900",
        ] {
            caps.add_arg(arg).unwrap();
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.display()))
            .unwrap();
        if let Ok(bin) = std::env::var("CHROME_BIN") {
            caps.set_binary(&bin).unwrap();
        } else if std::path::Path::new("/usr/bin/chromium").exists() {
            caps.set_binary("/usr/bin/chromium").unwrap();
        }
        // A session request can fail when the machine is loaded (the connection to the driver
        // is reset while Chromium starts): try three times before failing the journey.
        let mut attempt = 1;
        loop {
            match WebDriver::new(&self.url, caps.clone()).await {
                Ok(b) => return b,
                Err(e) if attempt < 3 => {
                    eprintln!("browser session, attempt {attempt}: {e:?}");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                Err(e) => panic!("browser session: {e:?}"),
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.start_kill();
    }
}

/// Starts the driver and a browser, or returns None when chromedriver is missing.
pub async fn browser() -> Option<(Driver, WebDriver, tempfile::TempDir)> {
    let driver = Driver::start().await?;
    let profile = tempfile::tempdir().unwrap();
    let b = driver.browser(profile.path()).await;
    Some((driver, b, profile))
}

/// A browser on the clock of `zone` (see [`Driver::start_in_zone`]).
pub async fn browser_in_zone(zone: &str) -> Option<(Driver, WebDriver, tempfile::TempDir)> {
    let driver = Driver::start_in_zone(Some(zone)).await?;
    let profile = tempfile::tempdir().unwrap();
    let b = driver.browser(profile.path()).await;
    Some((driver, b, profile))
}

pub async fn finish(b: WebDriver, result: WebDriverResult<()>) {
    if result.is_err() {
        if let Ok(src) = b.source().await {
            eprintln!("page at failure:\n{src}");
        }
    }
    b.quit().await.ok();
    result.expect("browser journey");
}

/// Types `text` into the field with id `id`.
pub async fn type_into(b: &WebDriver, id: &str, text: &str) -> WebDriverResult<()> {
    b.query(By::Id(id)).first().await?.send_keys(text).await
}

/// Presses the main form's submit button.
pub async fn submit(b: &WebDriver) -> WebDriverResult<()> {
    b.query(By::Css("main button[type=submit]"))
        .first()
        .await?
        .click()
        .await
}

/// Registers a client with [`PASSWORD`], waits for the navigation to name them, and confirms
/// the address from the link in the mail ([`follow_verification`]).
pub async fn register(
    b: &WebDriver,
    app: &TestApp,
    name: &str,
    email: &str,
) -> WebDriverResult<()> {
    b.goto(app.url("/register")).await?;
    type_into(b, "name", name).await?;
    type_into(b, "email", email).await?;
    type_into(b, "password", PASSWORD).await?;
    submit(b).await?;
    b.query(By::Css("[data-testid=nav-user]")).first().await?;
    follow_verification(b, app, email).await
}

/// Opens the newest verification mail's link to `email` (read from the outbox: the mail's
/// text part) and presses its button; waits for the confirmation.
pub async fn follow_verification(b: &WebDriver, app: &TestApp, email: &str) -> WebDriverResult<()> {
    let link = app.mail_link(email, "verify_email", "/verify-email").await;
    b.goto(app.url(&link)).await?;
    press(b, "Confirm my email address").await?;
    b.query(By::XPath(
        "//p[contains(@class,'flash') and contains(., 'confirmed')]",
    ))
    .first()
    .await?;
    Ok(())
}

/// Logs out when logged in (and waits for the "Log in" link).
pub async fn log_out(b: &WebDriver) -> WebDriverResult<()> {
    if let Ok(out) = b
        .find(By::XPath("//button[normalize-space()='Log out']"))
        .await
    {
        out.click().await?;
        b.query(By::LinkText("Log in")).first().await?;
    }
    Ok(())
}

/// Logs in as `email` with `password` (logging out first), and waits for the navigation.
pub async fn log_in_with(
    b: &WebDriver,
    app: &TestApp,
    email: &str,
    password: &str,
) -> WebDriverResult<()> {
    log_out(b).await?;
    b.goto(app.url("/login")).await?;
    type_into(b, "email", email).await?;
    type_into(b, "password", password).await?;
    submit(b).await?;
    // Logged in, or (an account with two-factor sign-in) asked for its code next: wait for
    // whichever page comes, as the old page may still be showing.
    for _ in 0..100 {
        if !b
            .find_all(By::Css("[data-testid=nav-user]"))
            .await?
            .is_empty()
        {
            return Ok(());
        }
        if !b.find_all(By::Id("code")).await?.is_empty() {
            let code = super::fresh_totp_code(app, email).await;
            type_into(b, "code", &code).await?;
            submit(b).await?;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    b.query(By::Css("[data-testid=nav-user]")).first().await?;
    Ok(())
}

/// Logs in as `email` with the tests' [`PASSWORD`].
pub async fn log_in_as(b: &WebDriver, app: &TestApp, email: &str) -> WebDriverResult<()> {
    log_in_with(b, app, email, PASSWORD).await
}

/// Fills in the short health form: "None of these apply to me" when `yes` is empty, else
/// "Some apply" and a tick for each of `yes` (question ids). Ticks already there (a prefilled
/// form) that are not in `yes` are taken off.
pub async fn answer(b: &WebDriver, yes: &[&str]) -> WebDriverResult<()> {
    let choice = if yes.is_empty() { "none" } else { "some" };
    b.query(By::Id(format!("applies-{choice}")))
        .first()
        .await?
        .click()
        .await?;
    if yes.is_empty() {
        return Ok(());
    }
    for id in bodywork::domain::screening::questionnaire()
        .questions
        .iter()
        .map(|q| q.id.as_str())
    {
        let boxed = b.query(By::Id(format!("q-{id}"))).first().await?;
        if boxed.is_selected().await? != yes.contains(&id) {
            boxed.click().await?;
        }
    }
    Ok(())
}

/// Clicks the button labelled `label`.
pub async fn press(b: &WebDriver, label: &str) -> WebDriverResult<()> {
    b.query(By::XPath(format!("//button[normalize-space()='{label}']")))
        .first()
        .await?
        .click()
        .await
}

/// Opens the booking form of the first free time that can still be cancelled online (times
/// inside the cancellation window ask for an acknowledgement first).
pub async fn pick_first_slot(b: &WebDriver) -> WebDriverResult<()> {
    b.query(By::Css("a.slot:not(.late)"))
        .first()
        .await?
        .click()
        .await?;
    b.query(By::Css("[data-health-form]")).first().await?;
    Ok(())
}
