//! Accessibility of every page, for every role, at desktop and phone width: axe-core (the npm
//! package in `tests/browser`, installed by `npm ci`) injected into real Chromium over WebDriver.
//! Zero violations of any impact are allowed.
//!
//! The pages are found, not listed: the demo data (`serve --demo`) is loaded, and each role
//! (anonymous, client, therapist, admin) follows the links of the site from its home page,
//! visiting at most [`PER_ROUTE`] pages of each route of the route table. The test then checks
//! that every page route of the table (`GET`, not the API) was visited by some role: a new page
//! that no link reaches, or that the demo data does not show, fails here until it is linked or
//! named in [`NOT_PAGES`]. Some pages answer a form (a form with its errors, a screening outcome);
//! those are reached by submitting the form, in [`form_pages`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use thirtyfour::prelude::*;
use thirtyfour::TimeoutConfiguration;

use bodywork::demo::{fill, DEMO_PASSWORD};
use bodywork::services::crypto::AnswerCipher;
use bodywork::startup::route_table;

use crate::builders::browser::{log_in_with, log_out, press, submit, type_into, Driver};
use crate::builders::{spawn_app, with_conn, TestApp};

/// The widths every page is checked at (CSS pixels): a desktop and a phone.
const WIDTHS: [(u32, u32); 2] = [(1200, 900), (390, 844)];

/// How many pages of one route (`/therapists/{id}` with different ids or queries) are checked.
const PER_ROUTE: usize = 2;

/// The most pages one role visits (a bound, should the links ever loop through queries).
const MAX_PAGES: usize = 80;

/// GET routes that are not pages a person reads: files, images, feeds, the health checks and
/// the metrics.
const NOT_PAGES: [&str; 10] = [
    "/healthz",
    "/readyz",
    "/metrics",
    "/account/export",
    "/static/style.css",
    "/static/health-form.js",
    "/static/local-time.js",
    "/photos/{id}/{version}/{size}.jpg",
    "/calendar/{token}.ics",
    "/bookings/{id}/calendar.ics",
];

fn axe_source() -> Option<String> {
    let path = std::env::var("AXE_CORE_JS").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/node_modules/axe-core/axe.min.js"
        )
        .to_string()
    });
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(e) => {
            if std::env::var("BODYWORK_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("axe-core not found at {path} ({e}): run `npm ci --prefix tests/browser`");
            }
            eprintln!("axe test skipped: {path}: {e}");
            None
        }
    }
}

/// The page routes of the table: GET, outside the API, not in [`NOT_PAGES`].
fn page_routes() -> Vec<&'static str> {
    route_table()
        .into_iter()
        .filter(|r| r.method.as_str() == "GET")
        .map(|r| r.path)
        .filter(|p| !p.starts_with("/api/") && !NOT_PAGES.contains(p))
        .collect()
}

/// The route of the table a path belongs to (`{…}` matches one segment; `{name:a|b}` only a
/// or b).
fn route_of(routes: &[&'static str], path: &str) -> Option<&'static str> {
    let segs: Vec<&str> = path.split('/').collect();
    routes.iter().copied().find(|r| {
        let rs: Vec<&str> = r.split('/').collect();
        rs.len() == segs.len()
            && rs.iter().zip(&segs).all(|(r, s)| {
                match r.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                    Some(param) => match param.split_once(':') {
                        Some((_, alts)) => alts.split('|').any(|a| a == *s),
                        None => !s.is_empty(),
                    },
                    None => r == s,
                }
            })
    })
}

/// Runs axe on the page open in `b`; returns the violations, one line each.
async fn axe(b: &WebDriver, source: &str) -> WebDriverResult<Vec<String>> {
    b.execute(source, Vec::new()).await?;
    let out = b
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, { resultTypes: ['violations'] })
                 .then(r => done(JSON.stringify(r.violations.map(v => ({
                   id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)
                 })))))
                 .catch(e => done(JSON.stringify([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }])));"#,
            Vec::new(),
        )
        .await?;
    let text: String = out.convert()?;
    let list: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap_or_default();
    Ok(list.iter().map(|v| v.to_string()).collect())
}

/// No horizontal scrolling at this width.
async fn overflow(b: &WebDriver) -> WebDriverResult<Option<String>> {
    let out = b
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            Vec::new(),
        )
        .await?;
    let (scroll, inner): (i64, i64) = out.convert()?;
    Ok((scroll > inner).then(|| format!("page is {scroll} px wide in a {inner} px window")))
}

/// The same-origin links of the open page (paths with their queries).
async fn links(b: &WebDriver, base: &str) -> WebDriverResult<Vec<String>> {
    let out = b
        .execute(
            "return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);",
            Vec::new(),
        )
        .await?;
    let hrefs: Vec<String> = out.convert()?;
    Ok(hrefs
        .into_iter()
        .filter_map(|h| h.strip_prefix(base).map(str::to_string))
        .map(|h| h.split('#').next().unwrap_or_default().to_string())
        .filter(|h| h.starts_with('/'))
        .collect())
}

struct Checker {
    source: String,
    routes: Vec<&'static str>,
    /// Route → pages of it checked.
    seen: BTreeMap<&'static str, BTreeSet<String>>,
    failures: Vec<String>,
}

impl Checker {
    /// Checks the page open in `b` at every width; `label` names it in failures.
    async fn check_open_page(&mut self, b: &WebDriver, label: &str) -> WebDriverResult<()> {
        for (w, h) in WIDTHS {
            b.set_window_rect(0, 0, w, h).await?;
            for v in axe(b, &self.source).await? {
                self.failures.push(format!("{label} at {w} px: {v}"));
            }
            if let Some(o) = overflow(b).await? {
                self.failures.push(format!("{label} at {w} px: {o}"));
            }
        }
        Ok(())
    }

    /// Follows the links from `start` as the logged-in (or anonymous) browser `b`.
    async fn crawl(
        &mut self,
        b: &WebDriver,
        app: &TestApp,
        role: &str,
        start: &[&str],
    ) -> WebDriverResult<()> {
        let mut queue: VecDeque<String> = start.iter().map(|s| s.to_string()).collect();
        let mut visited = BTreeSet::new();
        while let Some(path) = queue.pop_front() {
            if visited.len() >= MAX_PAGES || !visited.insert(path.clone()) {
                continue;
            }
            let bare = path.split('?').next().unwrap_or_default();
            let Some(route) = route_of(&self.routes, bare) else {
                continue;
            };
            let pages = self.seen.entry(route).or_default();
            if pages.len() >= PER_ROUTE && !pages.contains(&path) {
                continue;
            }
            pages.insert(path.clone());
            b.goto(app.url(&path)).await?;
            // A page that sent this role elsewhere (a login, a 403) is checked under its own
            // route when it is reached as itself.
            let now = b.current_url().await?;
            if !now.path().eq(bare) {
                continue;
            }
            self.check_open_page(b, &format!("{role} {path}")).await?;
            for l in links(b, &app.address).await? {
                if !visited.contains(&l) {
                    queue.push_back(l);
                }
            }
        }
        Ok(())
    }
}

/// Pages that answer a form: the forms with their errors shown.
async fn form_pages(b: &WebDriver, app: &TestApp, c: &mut Checker) -> WebDriverResult<()> {
    // Log in with a wrong password: the form with its error.
    b.goto(app.url("/login")).await?;
    type_into(b, "email", "nobody@demo.bodywork.test").await?;
    type_into(b, "password", "not the password").await?;
    submit(b).await?;
    c.check_open_page(b, "anonymous login with an error")
        .await?;
    // Register with nothing filled in.
    b.goto(app.url("/register")).await?;
    submit(b).await?;
    c.check_open_page(b, "anonymous register with errors")
        .await?;
    // The pages the mails' links open (each link read from the outbox): the demo's pending
    // admin invitation, a password reset, a new account's verification, and a link that does
    // not work.
    app.api_post(
        "/api/v1/auth/password-reset",
        None,
        serde_json::json!({"email": "client@demo.bodywork.test"}),
    )
    .await;
    app.api_register("axe@example.com", "Axe Person", "client")
        .await;
    let links = [
        (
            app.mail_link(
                "grace@demo.bodywork.test",
                "admin_invitation",
                "/accept-invite",
            )
            .await,
            "the invitation's page",
        ),
        (
            app.mail_link(
                "client@demo.bodywork.test",
                "password_reset",
                "/password-reset/confirm",
            )
            .await,
            "the reset link's page",
        ),
        (
            app.mail_link("axe@example.com", "verify_email", "/verify-email")
                .await,
            "the verification link's page",
        ),
        (
            "/verify-email?token=no-such-token".to_string(),
            "a link that does not work",
        ),
    ];
    for (path, label) in links {
        b.goto(app.url(&path)).await?;
        let bare = path.split('?').next().unwrap_or_default();
        if let Some(route) = route_of(&c.routes, bare) {
            c.seen.entry(route).or_default().insert(path.clone());
        }
        c.check_open_page(b, &format!("anonymous {label}")).await?;
    }
    // The demo client's review form of their latest session with Maya (the demo leaves it to
    // review; booking pages are visited a few per route, so it is opened here), empty and
    // with its error.
    log_in_with(b, app, "client@demo.bodywork.test", DEMO_PASSWORD).await?;
    let reviewable: i64 = with_conn(app, |conn| {
        use bodywork::db::schema::{appointments, reviews, users};
        use diesel::prelude::*;
        let client: i64 = users::table
            .filter(users::email.eq("client@demo.bodywork.test"))
            .select(users::id)
            .first(conn)
            .expect("demo client");
        appointments::table
            .filter(appointments::client_id.eq(client))
            .filter(appointments::status.eq("completed"))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                reviews::table.filter(reviews::appointment_id.eq(appointments::id)),
            )))
            .order(appointments::starts_at.desc())
            .select(appointments::id)
            .first(conn)
            .expect("the demo leaves a session to review")
    });
    let path = format!("/bookings/{reviewable}/review");
    b.goto(app.url(&path)).await?;
    if let Some(route) = route_of(&c.routes, &path) {
        c.seen.entry(route).or_default().insert(path.clone());
    }
    c.check_open_page(b, "client review form").await?;
    submit(b).await?;
    c.check_open_page(b, "client review form with an error")
        .await?;
    log_out(b).await?;
    // An account that has not confirmed its address: the banner on its pages.
    log_in_with(b, app, "axe@example.com", crate::builders::PASSWORD).await?;
    b.goto(app.url("/account")).await?;
    c.check_open_page(b, "unconfirmed client /account").await?;
    // Two-factor sign-in: the setup (its QR code, a wrong code), the recovery codes, and the
    // login's code page (and its error).
    b.goto(app.url("/account/two-factor")).await?;
    c.check_open_page(b, "client two-factor setup").await?;
    press(b, "Set up two-factor sign-in").await?;
    c.check_open_page(b, "client two-factor setup with the QR code")
        .await?;
    type_into(b, "tf-code", "12345").await?;
    press(b, "Turn on two-factor sign-in").await?;
    c.check_open_page(b, "client two-factor setup with an error")
        .await?;
    let code = crate::builders::fresh_totp_code(app, "axe@example.com").await;
    type_into(b, "tf-code", &code).await?;
    press(b, "Turn on two-factor sign-in").await?;
    c.check_open_page(b, "client recovery codes").await?;
    log_out(b).await?;
    b.goto(app.url("/login")).await?;
    type_into(b, "email", "axe@example.com").await?;
    type_into(b, "password", crate::builders::PASSWORD).await?;
    submit(b).await?;
    // The password's answer is the code page: wait for it, so that the visit below cannot cut
    // the login short (under load the form's POST was still in flight, and the code page then
    // had no pending login to ask a code for).
    b.query(By::Id("code")).first().await?;
    b.goto(app.url("/login/two-factor")).await?;
    if let Some(route) = route_of(&c.routes, "/login/two-factor") {
        c.seen
            .entry(route)
            .or_default()
            .insert("/login/two-factor".into());
    }
    c.check_open_page(b, "anonymous login's code page").await?;
    type_into(b, "code", "12345").await?;
    submit(b).await?;
    c.check_open_page(b, "anonymous login's code page with an error")
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_axe_finds_no_violation_on_any_page_of_any_role_at_desktop_and_phone_width() {
    let Some(source) = axe_source() else {
        return;
    };
    let Some(driver) = Driver::start().await else {
        return;
    };
    let app = spawn_app().await;
    let cipher = AnswerCipher::from_settings(&app.settings).unwrap();
    let mail = app.mail_ctx();
    with_conn(&app, |conn| fill(conn, &mail, &cipher)).expect("demo data");
    let profile = tempfile::tempdir().unwrap();
    let b = driver.browser(profile.path()).await;
    b.update_timeouts(TimeoutConfiguration::new(
        Some(Duration::from_secs(60)),
        Some(Duration::from_secs(60)),
        Some(Duration::from_secs(0)),
    ))
    .await
    .unwrap();
    let mut c = Checker {
        source,
        routes: page_routes(),
        seen: BTreeMap::new(),
        failures: Vec::new(),
    };
    let result = async {
        c.crawl(&b, &app, "anonymous", &["/", "/login", "/register"])
            .await?;
        form_pages(&b, &app, &mut c).await?;
        for (role, email, start) in [
            ("client", "client@demo.bodywork.test", "/bookings"),
            ("therapist", "therapist@demo.bodywork.test", "/therapist"),
            ("admin", "admin@demo.bodywork.test", "/admin"),
        ] {
            log_in_with(&b, &app, email, DEMO_PASSWORD).await?;
            c.crawl(&b, &app, role, &[start, "/"]).await?;
            log_out(&b).await?;
        }
        Ok::<_, WebDriverError>(())
    }
    .await;
    b.quit().await.ok();
    result.expect("browser walk");
    let missed: Vec<&str> = c
        .routes
        .iter()
        .copied()
        .filter(|r| !c.seen.contains_key(r))
        .collect();
    let checked: usize = c.seen.values().map(BTreeSet::len).sum();
    eprintln!("axe checked {checked} pages of {} routes", c.seen.len());
    assert!(
        missed.is_empty(),
        "page routes no role reached by a link from the demo data: {missed:?}"
    );
    assert!(
        c.failures.is_empty(),
        "{} accessibility failures:\n{}",
        c.failures.len(),
        c.failures.join("\n")
    );
}

#[test]
fn route_matching_follows_the_table() {
    let routes = page_routes();
    assert_eq!(
        route_of(&routes, "/therapists/12"),
        Some("/therapists/{id}")
    );
    assert_eq!(route_of(&routes, "/therapists"), Some("/therapists"));
    assert_eq!(
        route_of(&routes, "/admin/licenses"),
        Some("/admin/licenses")
    );
    assert_eq!(route_of(&routes, "/nowhere/at/all"), None);
    assert!(!routes.contains(&"/healthz"));
    assert!(!routes.contains(&"/readyz") && !routes.contains(&"/metrics"));
}
