//! Calendars: the private feed (`/calendar/{token}.ics`, the token is the credential), a
//! booking's .ics (`/bookings/{id}/calendar.ics`), and the therapist's page to turn the feed on,
//! rotate it or off (`/therapist/calendar`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::http::{feed_url, ics_response};
use crate::services::access;
use crate::services::{calendar, with_conn};
use crate::web::auth::EmptyForm;
use crate::web::{
    app_state, redirect_with_flash, render, As, CsrfForm, LoggedIn, PageCtx, PageResult,
};

/// `GET /calendar/{token}.ics`: a therapist's feed. No session: the secret token is the
/// credential; unknown, rotated and revoked tokens are 404.
pub async fn feed(req: HttpRequest, token: web::Path<String>) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let token = token.into_inner();
    let ics = with_conn(&state.pool, move |conn| {
        calendar::feed_for_token(conn, &token)
    })
    .await?;
    Ok(ics_response(ics, None))
}

/// `GET /bookings/{id}/calendar.ics`: the booking for its client's or therapist's calendar.
pub async fn booking_ics(
    req: HttpRequest,
    user: LoggedIn,
    id: web::Path<i64>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let id = id.into_inner();
    let viewer = user.session.user;
    let ics = with_conn(&state.pool, move |conn| {
        calendar::appointment_ics_for(conn, &viewer, id)
    })
    .await?;
    Ok(ics_response(ics, Some(id)))
}

#[derive(Template)]
#[template(path = "therapist/calendar.html")]
pub struct CalendarPage {
    pub ctx: PageCtx,
    /// A feed exists.
    pub active: bool,
    /// The URL of a feed just created: shown once, it cannot be shown again.
    pub new_url: Option<String>,
    pub days_back: i64,
    pub days_ahead: i64,
}

impl CalendarPage {
    /// The same URL with the `webcal:` scheme, which calendar apps open as a subscription.
    pub fn webcal_url(&self) -> Option<String> {
        let url = self.new_url.as_deref()?;
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))?;
        Some(format!("webcal://{rest}"))
    }
}

fn page(ctx: PageCtx, active: bool, new_url: Option<String>) -> PageResult<HttpResponse> {
    render(
        StatusCode::OK,
        &CalendarPage {
            ctx,
            active,
            new_url,
            days_back: calendar::FEED_DAYS_BACK,
            days_ahead: calendar::FEED_DAYS_AHEAD,
        },
    )
}

/// `GET /therapist/calendar`.
pub async fn calendar_page(
    req: HttpRequest,
    user: As<access::Therapist>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let _user_id = user.session.user.id;
    let active = with_conn(&state.pool, move |conn| calendar::has_feed(conn, &user.who)).await?;
    page(user.ctx, active, None)
}

/// `POST /therapist/calendar`: creates (or rotates) the feed and shows its URL, this once.
pub async fn create_feed(
    req: HttpRequest,
    user: As<access::Therapist>,
    _form: CsrfForm<EmptyForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let _user_id = user.session.user.id;
    let token = with_conn(&state.pool, move |conn| {
        calendar::create_feed_token(conn, &user.who)
    })
    .await?;
    let mut ctx = user.ctx;
    ctx.flash = Some(
        "Your new calendar feed is ready. Copy its address now: it cannot be shown again.".into(),
    );
    page(ctx, true, Some(feed_url(&req, &token)))
}

/// `POST /therapist/calendar/revoke`: turns the feed off.
pub async fn revoke_feed(
    req: HttpRequest,
    user: As<access::Therapist>,
    _form: CsrfForm<EmptyForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let _user_id = user.session.user.id;
    with_conn(&state.pool, move |conn| {
        calendar::revoke_feed_token(conn, &user.who)
    })
    .await?;
    Ok(redirect_with_flash(
        "/therapist/calendar",
        "Your calendar feed is turned off. Its address no longer works.",
    ))
}
