//! `/account`: the logged-in person's own account: who they are, and their mail choices
//! (reminders before their sessions).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::services::preferences::{self, Notifications};
use crate::services::with_conn;
use crate::web::{app_state, redirect_with_flash, render, CsrfForm, LoggedIn, PageCtx, PageResult};

#[derive(Template)]
#[template(path = "account/account.html")]
pub struct AccountPage {
    pub ctx: PageCtx,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub reminders: bool,
    pub reminder_hours: i64,
    pub reminders_error: Option<String>,
}

async fn page_for(
    req: &HttpRequest,
    user: LoggedIn,
    status: StatusCode,
    shown: Option<bool>,
    reminders_error: Option<String>,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let u = user.session.user.clone();
    let user_id = u.id;
    let stored = with_conn(&state.pool, move |conn| {
        preferences::notifications(conn, user_id)
    })
    .await?;
    render(
        status,
        &AccountPage {
            ctx: user.ctx,
            role: u.role().as_str(),
            name: u.name,
            email: u.email,
            reminders: shown.unwrap_or(stored.reminders),
            reminder_hours: state.mail.reminder_hours,
            reminders_error,
        },
    )
}

pub async fn page(req: HttpRequest, user: LoggedIn) -> PageResult<HttpResponse> {
    page_for(&req, user, StatusCode::OK, None, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct NotificationsForm {
    /// `on` or `off`.
    #[serde(default)]
    pub reminders: String,
}

pub async fn save_notifications(
    req: HttpRequest,
    user: LoggedIn,
    CsrfForm(form): CsrfForm<NotificationsForm>,
) -> PageResult<HttpResponse> {
    let reminders = match form.reminders.trim() {
        "on" => true,
        "off" => false,
        _ => {
            return page_for(
                &req,
                user,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some("Choose whether you want reminders.".into()),
            )
            .await
        }
    };
    let state = app_state(&req);
    let user_id = user.session.user.id;
    with_conn(&state.pool, move |conn| {
        preferences::set_notifications(conn, user_id, Notifications { reminders })
    })
    .await?;
    Ok(redirect_with_flash(
        "/account",
        if reminders {
            "Saved: you get reminders before your sessions."
        } else {
            "Saved: no more reminders. Reminders already planned are withdrawn."
        },
    ))
}
