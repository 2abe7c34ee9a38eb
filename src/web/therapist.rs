//! The therapist's area (`/therapist`), therapists only.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::domain::account::Role;
use crate::services::therapists::{self, TherapistDashboard};
use crate::services::with_conn;
use crate::web::{app_state, render, LoggedIn, PageCtx, PageResult};

#[derive(Template)]
#[template(path = "therapist/dashboard.html")]
pub struct DashboardPage {
    pub ctx: PageCtx,
    pub d: TherapistDashboard,
    pub steps: Vec<&'static str>,
}

pub async fn dashboard(req: HttpRequest, user: LoggedIn) -> PageResult<HttpResponse> {
    let user = user.require(Role::Therapist)?;
    let state = app_state(&req);
    let user_id = user.session.user.id;
    let d = with_conn(&state.pool, move |conn| {
        therapists::dashboard(conn, user_id)
    })
    .await?;
    let steps = d.open_steps();
    render(
        StatusCode::OK,
        &DashboardPage {
            ctx: user.ctx,
            d,
            steps,
        },
    )
}
