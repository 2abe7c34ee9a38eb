//! The OpenAPI document is what the API fuzzer (`.ci/fuzz`, Schemathesis) holds the server to,
//! so it must describe every route of `/api/v1`: each operation of the route table with its
//! method, its path parameters, its bearer requirement and the errors its access gives, the
//! error body on every error answer, and the paging bounds.

use bodywork::api::openapi::openapi_path;
use bodywork::domain::paging::{MAX_PAGE, MAX_PER_PAGE};
use bodywork::startup::{route_table, Access};
use serde_json::Value;

use crate::builders::spawn_app;

async fn spec() -> Value {
    let app = spawn_app().await;
    app.get("/api/openapi.json").await.json().await.unwrap()
}

#[tokio::test]
async fn every_api_route_is_documented_and_nothing_else() {
    let spec = spec().await;
    let paths = spec["paths"].as_object().unwrap();
    let mut table = Vec::new();
    for r in route_table() {
        // The API and the operations' probes a scraper or a proxy calls.
        if !r.path.starts_with("/api/v1") && !["/readyz", "/metrics"].contains(&r.path) {
            continue;
        }
        let path = openapi_path(r.path);
        let method = r.method.as_str().to_lowercase();
        assert!(
            paths
                .get(&path)
                .and_then(|p| p.get(&method))
                .is_some_and(Value::is_object),
            "{method} {path} is served but not in /api/openapi.json"
        );
        table.push((method, path));
    }
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            assert!(
                table.iter().any(|(m, p)| m == method && p == path),
                "{method} {path} is documented but not served"
            );
        }
    }
}

#[tokio::test]
async fn operations_declare_parameters_access_and_error_bodies() {
    let spec = spec().await;
    assert!(spec["components"]["schemas"]["ErrorOut"].is_object());
    for r in route_table() {
        if !r.path.starts_with("/api/v1") {
            continue;
        }
        let path = openapi_path(r.path);
        let method = r.method.as_str().to_lowercase();
        let op = &spec["paths"][&path][&method];
        let what = format!("{method} {path}");
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        // Every `{name}` of the path is a declared, required path parameter.
        for name in path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.split('}').next())
        {
            assert!(
                params
                    .iter()
                    .any(|p| p["in"] == "path" && p["name"] == name && p["required"] == true),
                "{what}: path parameter {name} undeclared"
            );
        }
        let responses = op["responses"].as_object().unwrap();
        let has = |status: &str| responses.contains_key(status);
        match r.access {
            Access::Public | Access::Token => {}
            Access::Signed => {
                assert!(has("401") && has("403"), "{what}: 401 or 403 undocumented");
                assert_eq!(op["security"][0]["bearer"], Value::Array(vec![]), "{what}");
            }
            Access::Enrolling => {
                assert!(has("401"), "{what}: 401 undocumented");
                assert_eq!(op["security"][0]["bearer"], Value::Array(vec![]), "{what}");
            }
            Access::Only(_) => {
                assert!(has("401") && has("403"), "{what}: 401 or 403 undocumented");
                assert_eq!(op["security"][0]["bearer"], Value::Array(vec![]), "{what}");
            }
        }
        if op.get("requestBody").is_some() {
            assert!(has("400") && has("413"), "{what}: 400 or 413 undocumented");
        }
        if path.contains('{') {
            assert!(has("404"), "{what}: 404 undocumented");
        }
        for (status, response) in responses {
            if status.starts_with(['4', '5']) {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorOut",
                    "{what}: {status} has no error body"
                );
            }
        }
        for p in &params {
            let max = match p["name"].as_str() {
                Some("page") => MAX_PAGE,
                Some("per_page") => MAX_PER_PAGE,
                _ => continue,
            };
            assert_eq!(p["schema"]["minimum"], 1, "{what}");
            assert_eq!(p["schema"]["maximum"], max, "{what}");
            assert!(has("422"), "{what}: a paged list without its 422");
        }
    }
}
