//! The admin area (`/admin`), admins only.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::domain::account::Role;
use crate::services::admin::{self, AdminDashboard};
use crate::services::with_conn;
use crate::web::{app_state, render, LoggedIn, PageCtx, PageResult};

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
pub struct DashboardPage {
    pub ctx: PageCtx,
    pub d: AdminDashboard,
}

pub async fn dashboard(req: HttpRequest, user: LoggedIn) -> PageResult<HttpResponse> {
    let user = user.require(Role::Admin)?;
    let state = app_state(&req);
    let d = with_conn(&state.pool, admin::dashboard).await?;
    render(StatusCode::OK, &DashboardPage { ctx: user.ctx, d })
}
