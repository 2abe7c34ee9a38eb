//! Access, route by route, from the route table in the code (`startup::route_table`): anonymous
//! callers are sent to log in (pages) or get 401 (API), every other role gets 403 or 404, and
//! whatever lives under `/admin` or `/api/v1/admin` is declared admin only; a route declared
//! public answers anyone.

use bodywork::domain::account::Role;
use bodywork::startup::{route_table, Access};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::builders::{csrf_from, new_client, page_login, spawn_app, TestApp};

/// The path with every parameter filled in (ids that name nothing).
fn concrete(path: &str) -> String {
    path.replace("{queue:licenses|training}", "licenses")
        .replace("{token}", "aVeryUnlikelyFeedTokenThatNobodyHasAtAll00")
        .replace("{id}", "987654")
        .replace("{version}", "1")
        .replace("{size}", "card")
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// A browser's session: its own cookie jar, and the CSRF token its forms carry.
struct Browser {
    client: reqwest::Client,
    csrf: String,
}

impl Browser {
    async fn anonymous(app: &TestApp) -> Browser {
        let client = new_client();
        let html = client
            .get(app.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        Browser {
            csrf: csrf_from(&html),
            client,
        }
    }

    async fn logged_in(app: &TestApp, email: &str) -> Browser {
        let client = page_login(app, email).await;
        let html = client
            .get(app.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        Browser {
            csrf: csrf_from(&html),
            client,
        }
    }

    /// The route called as this browser would: forms carry the CSRF token.
    async fn call(&self, app: &TestApp, method: &Method, path: &str) -> reqwest::Response {
        let mut req = self.client.request(method.clone(), app.url(path));
        if *method == Method::POST {
            req = req.form(&[("csrf_token", self.csrf.as_str())]);
        }
        req.send().await.unwrap()
    }
}

async fn api_call(
    app: &TestApp,
    method: &Method,
    path: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut req = new_client().request(method.clone(), app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if *method == Method::POST || *method == Method::PUT {
        req = req.json(&json!({}));
    }
    req.send().await.unwrap()
}

fn sent_to_login(r: &reqwest::Response) -> bool {
    r.status() == StatusCode::SEE_OTHER
        && r.headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| l.starts_with("/login"))
}

#[tokio::test]
async fn every_route_refuses_whoever_may_not_call_it() {
    let app = spawn_app().await;
    let (_, admin_token) = app.api_admin("admin@example.com").await;
    let (_, therapist_token) = app.api_user("therapist@example.com", "therapist").await;
    let (_, client_token) = app.api_user("client@example.com", "client").await;
    let anonymous = Browser::anonymous(&app).await;
    let browsers = [
        (
            Role::Admin,
            Browser::logged_in(&app, "admin@example.com").await,
            admin_token,
        ),
        (
            Role::Therapist,
            Browser::logged_in(&app, "therapist@example.com").await,
            therapist_token,
        ),
        (
            Role::Client,
            Browser::logged_in(&app, "client@example.com").await,
            client_token,
        ),
    ];

    let table = route_table();
    assert!(table.len() > 100, "the whole table is walked");
    let mut wrong = Vec::new();
    let mut checked = 0;
    for route in &table {
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let path = concrete(route.path);
        let what = format!("{} {} ({:?})", route.method, route.path, route.access);
        let admin_scope =
            route.path.starts_with("/admin") || route.path.starts_with("/api/v1/admin");
        if admin_scope && route.access != Access::Only(Role::Admin) {
            wrong.push(format!(
                "{what}: under an admin scope but not declared admin only"
            ));
        }
        if route.access == Access::Public {
            // Declared public, and really answered to anyone (a page or a list: a form sent
            // empty may rightly be refused, as a login without a password is).
            if method != Method::GET {
                continue;
            }
            let r = if is_api(&path) {
                api_call(&app, &method, &path, None).await
            } else {
                anonymous.call(&app, &method, &path).await
            };
            if r.status() == StatusCode::UNAUTHORIZED || sent_to_login(&r) {
                wrong.push(format!(
                    "{what}: declared public, anonymous got {}",
                    r.status()
                ));
            }
            continue;
        }
        checked += 1;
        // Anonymous.
        let r = if is_api(&path) {
            api_call(&app, &method, &path, None).await
        } else {
            anonymous.call(&app, &method, &path).await
        };
        let ok = match route.access {
            Access::Token => r.status() == StatusCode::NOT_FOUND,
            _ if is_api(&path) => r.status() == StatusCode::UNAUTHORIZED,
            _ => sent_to_login(&r),
        };
        if !ok {
            wrong.push(format!("{what}: anonymous got {}", r.status()));
        }
        // Every other role.
        let Access::Only(role) = route.access else {
            continue;
        };
        for (other, browser, token) in &browsers {
            if *other == role {
                continue;
            }
            let r = if is_api(&path) {
                api_call(&app, &method, &path, Some(token)).await
            } else {
                browser.call(&app, &method, &path).await
            };
            if r.status() != StatusCode::FORBIDDEN && r.status() != StatusCode::NOT_FOUND {
                wrong.push(format!("{what}: {other:?} got {}", r.status()));
            }
        }
    }
    assert!(checked > 80, "{checked} routes checked");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
