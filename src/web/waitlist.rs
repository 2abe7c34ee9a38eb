//! The waitlist pages: the "Tell me if a time comes free" form (on the therapist's profile,
//! and this module's page when it comes back with errors), the client's own list `/waitlist`
//! with a remove button each. The rules are `services::waitlist`'s.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{NaiveDate, Utc};

use crate::domain::waitlist::default_range;
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::http::app_state;
use crate::services::access;
use crate::services::directory;
use crate::services::waitlist::{self, range_words, EntryView, JoinRequest};
use crate::services::with_conn;
use crate::web::filters;
use crate::web::{redirect_with_flash, render, As, CsrfForm, PageResult};

/// The form "Tell me if a time comes free": what it shows and what was typed.
#[derive(Debug, Clone)]
pub struct WaitForm {
    pub therapist_id: i64,
    pub therapist_name: String,
    /// (service id, "Swedish, 60 min").
    pub services: Vec<(i64, String)>,
    pub service_id: i64,
    pub from: String,
    pub to: String,
    pub errors: FieldErrors,
}

impl WaitForm {
    /// The form for a day with no free time: that day and the next seven.
    pub fn for_day(
        therapist_id: i64,
        therapist_name: &str,
        services: &[crate::models::service::Service],
        service_id: i64,
        day: NaiveDate,
    ) -> WaitForm {
        let (from, to) = default_range(day);
        WaitForm {
            therapist_id,
            therapist_name: therapist_name.to_string(),
            services: services.iter().map(|s| (s.id, service_label(s))).collect(),
            service_id,
            from: from.to_string(),
            to: to.to_string(),
            errors: FieldErrors::new(),
        }
    }

    pub fn is_selected(&self, id: &i64) -> bool {
        self.service_id == *id
    }

    pub fn error_list(&self) -> &FieldErrors {
        &self.errors
    }

    pub fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

fn service_label(s: &crate::models::service::Service) -> String {
    let name = crate::domain::technique::find(&s.technique_slug)
        .map(|t| t.name)
        .unwrap_or(&s.technique_slug);
    format!("{name}, {} min", s.duration_min)
}

#[derive(Template)]
#[template(path = "waitlist/join.html")]
pub struct JoinPage {
    pub ctx: crate::web::PageCtx,
    pub wait: WaitForm,
}

/// `POST /waitlist`: joins; a refusal comes back on the form with the message next to its field.
pub async fn join(
    req: HttpRequest,
    user: As<access::VerifiedClient>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> PageResult<HttpResponse> {
    let field = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let therapist_id: i64 = field("therapist_id")
        .parse()
        .map_err(|_| AppError::NotFound)?;
    let state = app_state(&req);
    let now = Utc::now();
    let profile = with_conn(&state.pool, move |conn| {
        directory::public_profile(conn, therapist_id, now.date_naive())
    })
    .await?;
    let mut wait = WaitForm {
        therapist_id,
        therapist_name: profile.name.clone(),
        services: profile
            .services
            .iter()
            .map(|s| (s.id, service_label(s)))
            .collect(),
        service_id: field("service_id").parse().unwrap_or(0),
        from: field("from"),
        to: field("to"),
        errors: FieldErrors::new(),
    };
    let date =
        |v: &str, what: &str, errors: &mut FieldErrors, key: &str| match v.parse::<NaiveDate>() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.insert(
                    key.into(),
                    format!("Enter the {what} as a date (YYYY-MM-DD)."),
                );
                None
            }
        };
    let from = date(&wait.from, "first day", &mut wait.errors, "from");
    let to = date(&wait.to, "last day", &mut wait.errors, "to");
    let (Some(from), Some(to)) = (from, to) else {
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &JoinPage {
                ctx: user.ctx,
                wait,
            },
        );
    };
    let request = JoinRequest {
        therapist_id,
        service_id: wait.service_id,
        from,
        to,
    };
    let client = user.who.clone();
    match with_conn(&state.pool, move |conn| {
        waitlist::join(conn, &client, &request, now)
    })
    .await
    {
        Ok(_) => Ok(redirect_with_flash(
            "/waitlist",
            format!(
                "You are on {}'s waitlist for {}. We will mail you when a time comes free.",
                profile.name,
                range_words(from, to)
            ),
        )),
        Err(
            e @ (AppError::FieldRule { .. } | AppError::Rule { .. } | AppError::Conflict { .. }),
        ) => {
            let field = e
                .fields()
                .and_then(|f| f.keys().next().cloned())
                // The therapist has no field of its own on the form: the service stands for it.
                .filter(|f| f == "from" || f == "to")
                .unwrap_or_else(|| "service_id".into());
            wait.errors.insert(field, e.public_message());
            render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &JoinPage {
                    ctx: user.ctx,
                    wait,
                },
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "waitlist/list.html")]
pub struct ListPage {
    pub ctx: crate::web::PageCtx,
    pub entries: Vec<EntryView>,
}

impl ListPage {
    pub fn range(&self, e: &EntryView) -> String {
        range_words(e.line.from_date, e.line.to_date)
    }
}

/// `GET /waitlist`: the client's active entries.
pub async fn list(req: HttpRequest, user: As<access::Client>) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let me = user.who.clone();
    let entries = with_conn(&state.pool, move |conn| {
        waitlist::list(conn, &me, Utc::now())
    })
    .await?;
    render(
        StatusCode::OK,
        &ListPage {
            ctx: user.ctx,
            entries,
        },
    )
}

/// `POST /waitlist/{id}/remove`.
pub async fn remove(
    req: HttpRequest,
    user: As<access::Client>,
    id: web::Path<i64>,
    CsrfForm(_form): CsrfForm<HashMap<String, String>>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let (me, id) = (user.who.clone(), id.into_inner());
    with_conn(&state.pool, move |conn| waitlist::remove(conn, &me, id)).await?;
    Ok(redirect_with_flash(
        "/waitlist",
        "Removed from your waitlist: you will get no more mails about it.",
    ))
}
