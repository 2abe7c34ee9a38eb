//! The browser test: real Chromium through WebDriver (Debian's chromium + chromium-driver).
//! It runs whenever `chromedriver` is found; with `BODYWORK_REQUIRE_BROWSER=1` (CI) a missing
//! driver is a failure, not a skip.

use std::process::Stdio;
use std::time::Duration;

use thirtyfour::prelude::*;

use crate::directory::{make_therapist, Spec};
use crate::helpers::{spawn_app, PASSWORD};

fn chromedriver_path() -> Option<std::path::PathBuf> {
    if let Ok(p) = std::env::var("CHROMEDRIVER") {
        return Some(p.into());
    }
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

struct Driver {
    process: tokio::process::Child,
    url: String,
}

impl Driver {
    async fn start() -> Option<Driver> {
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
        let process = tokio::process::Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(Driver {
            process,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    async fn browser(&self, profile: &std::path::Path) -> WebDriver {
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
        WebDriver::new(&self.url, caps)
            .await
            .expect("browser session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.start_kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_register_logout_login_shows_the_name_in_the_navigation() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let app = spawn_app().await;
    let (admin_id, _) = app.api_admin("admin@example.com").await;
    make_therapist(
        &app,
        admin_id,
        Spec { email: "shiatsu@example.com", name: "Browser Shiatsu", techniques: &["shiatsu"], hours: 700, ..Default::default() },
    )
    .await;
    let profile = tempfile::tempdir().unwrap();
    let b = driver.browser(profile.path()).await;
    let result = async {
        b.goto(app.url("/register")).await?;
        b.find(By::Id("name"))
            .await?
            .send_keys("Rosa Parks-Lee")
            .await?;
        b.find(By::Id("email"))
            .await?
            .send_keys("rosa@example.com")
            .await?;
        b.find(By::Id("password"))
            .await?
            .send_keys(PASSWORD)
            .await?;
        b.find(By::Css("main button[type=submit]"))
            .await?
            .click()
            .await?;
        let nav = b.query(By::Css("[data-testid=nav-user]")).first().await?;
        assert_eq!(nav.text().await?, "Rosa Parks-Lee");

        b.find(By::XPath("//button[normalize-space()='Log out']"))
            .await?
            .click()
            .await?;
        b.find(By::LinkText("Log in")).await?.click().await?;
        b.find(By::Id("email"))
            .await?
            .send_keys("rosa@example.com")
            .await?;
        b.find(By::Id("password"))
            .await?
            .send_keys(PASSWORD)
            .await?;
        b.find(By::Css("main button[type=submit]"))
            .await?
            .click()
            .await?;
        let nav = b.query(By::Css("[data-testid=nav-user]")).first().await?;
        assert_eq!(nav.text().await?, "Rosa Parks-Lee");
        let flash = b.find(By::Css(".flash")).await?.text().await?;
        assert!(flash.contains("Welcome back"), "{flash}");

        // Search from the home page and open a profile.
        b.goto(app.url("/")).await?;
        b.find(By::Id("technique")).await?.send_keys("Shiatsu").await?;
        b.find(By::Id("near")).await?.send_keys("Boston, MA").await?;
        b.find(By::Css("form.search button[type=submit]")).await?.click().await?;
        let count = b.query(By::Css("[data-testid=result-count]")).first().await?.text().await?;
        assert_eq!(count, "1 therapist");
        b.find(By::PartialLinkText("View and book")).await?.click().await?;
        let h1 = b.query(By::Tag("h1")).first().await?.text().await?;
        assert_eq!(h1, "Browser Shiatsu");
        let badges = b.find(By::Css(".badges")).await?.text().await?;
        assert!(badges.contains("License verified") && badges.contains("700 training hours"), "{badges}");
        Ok::<_, WebDriverError>(())
    }
    .await;
    if result.is_err() {
        let shot = std::env::temp_dir().join("bodywork-browser-failure.png");
        if b.screenshot(&shot).await.is_ok() {
            eprintln!("screenshot of the failure: {}", shot.display());
        }
        if let Ok(src) = b.source().await {
            eprintln!("page at failure:\n{src}");
        }
    }
    b.quit().await.ok();
    result.expect("browser journey");
}
