//! Review pages (`services::reviews` underneath): the client's review form of a completed
//! booking (`/bookings/{id}/review`), the therapist's reviews with a reply form
//! (`/therapist/reviews`), and the admin's reviews with a hide form (`/admin/reviews`). The
//! public profile's reviews are in `web::directory`; the booking page's review section in
//! `web::booking`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use crate::domain::paging::{Page, PageQuery};
use crate::domain::review::{self as rules};
use crate::error::{AppError, FieldErrors};
use crate::services::access::{self, Proof};
use crate::services::booking::{self, AppointmentView};
use crate::services::reviews::{self, AdminLine, ReviewView};
use crate::services::with_conn;
use crate::web::admin::Paging;
use crate::web::filters;
use crate::web::{
    app_state, no_store, redirect_with_flash, render, As, CsrfForm, PageCtx, PageResult,
};

/// A page of a list without a filter form: a bad value is the error page (422).
fn page_of(q: &PageQuery) -> Result<Page, AppError> {
    q.parse().map_err(|fields| {
        let message = fields.values().cloned().collect::<Vec<_>>().join(" ");
        AppError::Validation { message, fields }
    })
}

fn paging(total: i64, page: Page, path: &'static str) -> Paging {
    Paging {
        total,
        page: page.page,
        per_page: page.per_page,
        base: if page.per_page == crate::domain::paging::DEFAULT_PER_PAGE {
            String::new()
        } else {
            format!("per_page={}", page.per_page)
        },
        path,
    }
}

// ---- The client's review -------------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReviewForm {
    pub rating: Option<String>,
    #[serde(default)]
    pub text: String,
}

#[derive(Template)]
#[template(path = "booking/review.html")]
pub struct ReviewPage {
    pub ctx: PageCtx,
    pub v: AppointmentView,
    pub form: ReviewForm,
    pub errors: FieldErrors,
    /// Why this booking takes no review (None: it does).
    pub refusal: Option<String>,
    /// The review already written.
    pub mine: Option<ReviewView>,
}

impl ReviewPage {
    pub fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
    pub fn checked(&self, r: &i32) -> bool {
        self.form.rating.as_deref().map(str::trim) == Some(r.to_string().as_str())
    }
    pub fn star_text(&self, r: &i32) -> String {
        "★".repeat((*r).clamp(0, 5) as usize)
    }
    pub fn ratings(&self) -> [i32; 5] {
        [5, 4, 3, 2, 1]
    }
    pub fn max_chars(&self) -> usize {
        rules::MAX_TEXT_CHARS
    }
}

async fn review_page(
    req: &HttpRequest,
    user: As<access::Client>,
    id: i64,
    form: ReviewForm,
    errors: FieldErrors,
    status: StatusCode,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let st = state.clone();
    let client = user.who.clone();
    let (v, mine) = with_conn(&state.pool, move |conn| {
        let v = booking::view(conn, &st.cipher, client.user(), id, "page")?;
        let mine = reviews::of_appointment(conn, client.user(), id)?;
        Ok::<_, AppError>((v, mine))
    })
    .await?;
    let refusal = match &mine {
        Some(_) => Some("You reviewed this appointment already.".to_string()),
        None => rules::may_review(v.appt.status, v.appt.ends_at.and_utc(), Utc::now())
            .err()
            .map(|r| r.message().to_string()),
    };
    no_store(render(
        status,
        &ReviewPage {
            ctx: user.ctx,
            v,
            form,
            errors,
            refusal,
            mine,
        },
    )?)
}

pub async fn review_form(
    req: HttpRequest,
    user: As<access::Client>,
    id: web::Path<i64>,
) -> PageResult<HttpResponse> {
    review_page(
        &req,
        user,
        id.into_inner(),
        ReviewForm::default(),
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn review_submit(
    req: HttpRequest,
    user: As<access::Client>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ReviewForm>,
) -> PageResult<HttpResponse> {
    let id = id.into_inner();
    let input = match rules::parse_review(form.rating.as_deref(), &form.text) {
        Ok(i) => i,
        Err(errors) => {
            return review_page(
                &req,
                user,
                id,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let client = access::VerifiedClient::verified(user.who.clone())?;
    let state = app_state(&req);
    match with_conn(&state.pool, move |conn| {
        reviews::create(conn, &client, id, &input, Utc::now())
    })
    .await
    {
        Ok(_) => Ok(redirect_with_flash(
            &format!("/bookings/{id}"),
            "Thank you: your review is published on the therapist's page.",
        )),
        Err(e @ (AppError::Rule { .. } | AppError::Conflict { .. })) => {
            let errors = FieldErrors::from([("rating".to_string(), e.public_message())]);
            review_page(
                &req,
                user,
                id,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- The therapist's reviews ---------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    pub text: String,
}

#[derive(Template)]
#[template(path = "therapist/reviews.html")]
pub struct TherapistReviewsPage {
    pub ctx: PageCtx,
    pub rows: Vec<ReviewView>,
    pub paging: Paging,
    pub rating_avg: Option<f64>,
    pub rating_count: i32,
    /// A refused reply.
    pub failed: Refusal,
}

impl TherapistReviewsPage {
    pub fn max_chars(&self) -> usize {
        rules::MAX_REPLY_CHARS
    }
}

async fn therapist_page(
    req: &HttpRequest,
    user: As<access::Therapist>,
    page: Page,
    failed: Refusal,
    status: StatusCode,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let therapist = user.who.clone();
    let (total, rows, th) = with_conn(&state.pool, move |conn| {
        let th = crate::services::therapists::own_profile(conn, &therapist)?;
        let (total, rows) = reviews::of_therapist(conn, &therapist, page)?;
        Ok::<_, AppError>((total, rows, th))
    })
    .await?;
    no_store(render(
        status,
        &TherapistReviewsPage {
            ctx: user.ctx,
            rows,
            paging: paging(total, page, "/therapist/reviews"),
            rating_avg: rules::shown_average(th.rating_sum, th.rating_count),
            rating_count: th.rating_count,
            failed,
        },
    )?)
}

pub async fn therapist_reviews(
    req: HttpRequest,
    user: As<access::Therapist>,
    q: web::Query<PageQuery>,
) -> PageResult<HttpResponse> {
    let page = page_of(&q)?;
    therapist_page(&req, user, page, Refusal::default(), StatusCode::OK).await
}

pub async fn reply(
    req: HttpRequest,
    user: As<access::Therapist>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ReplyForm>,
) -> PageResult<HttpResponse> {
    let id = id.into_inner();
    let therapist = user.who.clone();
    let parsed = rules::parse_reply(&form.text);
    match act_on_review(&req, parsed, move |conn, text| {
        reviews::reply(conn, &therapist, id, &text)
    })
    .await?
    {
        Ok(()) => Ok(redirect_with_flash(
            "/therapist/reviews",
            "Your reply is published under the review.",
        )),
        Err((why, status)) => {
            let failed = Refusal::of(id, &form.text, why);
            therapist_page(&req, user, Page::default(), failed, status).await
        }
    }
}

/// What a list page's form on one review typed, and why it was refused, shown beside that
/// review (the therapist's reply, the admin's reason to hide).
#[derive(Debug, Clone, Default)]
pub struct Refusal(Option<(i64, String, String)>);

impl Refusal {
    fn of(review: i64, typed: &str, why: String) -> Refusal {
        Refusal(Some((review, typed.to_string(), why)))
    }
    pub fn error_of(&self, review: &i64) -> Option<&str> {
        self.0
            .as_ref()
            .filter(|(r, _, _)| r == review)
            .map(|(_, _, e)| e.as_str())
    }
    pub fn typed(&self, review: &i64) -> &str {
        self.0
            .as_ref()
            .filter(|(r, _, _)| r == review)
            .map(|(_, t, _)| t.as_str())
            .unwrap_or("")
    }
}

/// A change to one review from a list page's form: what was typed, checked (`parsed`), then
/// `act`. A refusal comes back with its status for the page to show beside the review: the text
/// (422) or a conflict (409, such as a review answered already); any other error is the error
/// page.
async fn act_on_review<T: Send + 'static>(
    req: &HttpRequest,
    parsed: Result<T, FieldErrors>,
    act: impl FnOnce(&mut crate::db::DbConnection, T) -> Result<(), AppError> + Send + 'static,
) -> Result<Result<(), (String, StatusCode)>, AppError> {
    let value = match parsed {
        Ok(v) => v,
        Err(errors) => {
            let why = errors.into_values().next().unwrap_or_default();
            return Ok(Err((why, StatusCode::UNPROCESSABLE_ENTITY)));
        }
    };
    match with_conn(&app_state(req).pool, move |conn| act(conn, value)).await {
        Ok(()) => Ok(Ok(())),
        Err(e @ AppError::Conflict { .. }) => Ok(Err((e.public_message(), StatusCode::CONFLICT))),
        Err(e) => Err(e),
    }
}

// ---- The admin's reviews -------------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
pub struct HideForm {
    #[serde(default)]
    pub reason: String,
}

#[derive(Template)]
#[template(path = "admin/reviews.html")]
pub struct AdminReviewsPage {
    pub ctx: PageCtx,
    pub rows: Vec<AdminLine>,
    pub paging: Paging,
    /// A refused hiding.
    pub failed: Refusal,
}

async fn admin_page(
    req: &HttpRequest,
    user: As<access::Admin>,
    page: Page,
    failed: Refusal,
    status: StatusCode,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let admin = user.who.clone();
    let (total, rows) = with_conn(&state.pool, move |conn| {
        reviews::for_admin(conn, &admin, page)
    })
    .await?;
    no_store(render(
        status,
        &AdminReviewsPage {
            ctx: user.ctx,
            rows,
            paging: paging(total, page, "/admin/reviews"),
            failed,
        },
    )?)
}

pub async fn admin_reviews(
    req: HttpRequest,
    user: As<access::Admin>,
    q: web::Query<PageQuery>,
) -> PageResult<HttpResponse> {
    let page = page_of(&q)?;
    admin_page(&req, user, page, Refusal::default(), StatusCode::OK).await
}

pub async fn hide(
    req: HttpRequest,
    user: As<access::Admin>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<HideForm>,
) -> PageResult<HttpResponse> {
    let id = id.into_inner();
    let admin = user.who.clone();
    let parsed = rules::parse_hide_reason(&form.reason);
    match act_on_review(&req, parsed, move |conn, reason| {
        reviews::hide(conn, &admin, id, &reason)
    })
    .await?
    {
        Ok(()) => Ok(redirect_with_flash(
            "/admin/reviews",
            "The review is hidden: only its author and admins see it now.",
        )),
        Err((why, status)) => {
            let failed = Refusal::of(id, &form.reason, why);
            admin_page(&req, user, Page::default(), failed, status).await
        }
    }
}
