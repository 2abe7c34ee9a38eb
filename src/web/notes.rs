//! The therapist's clients (`/therapist/clients`, `/therapist/clients/{id}`) and the session
//! notes section of the therapist's appointment page ([`NotesSection`], rendered by
//! `templates/therapist/_notes.html`; its form posts to `web::schedule::save_notes`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::domain::notes::{self as rules, parse_search, Soap, PARTS};
use crate::domain::paging::{PageQuery, DEFAULT_PER_PAGE};
use crate::error::{AppError, FieldErrors};
use crate::models::therapist::zone;
use crate::services::access;
use crate::services::booking::AppointmentView;
use crate::services::clients::{self, ClientFile, ClientLine};
use crate::services::notes::Notes;
use crate::services::with_conn;
use crate::web::admin::Paging;
use crate::web::filters;
use crate::web::{app_state, no_store, render, As, PageCtx, PageResult};

/// The notes form as posted (each part as typed).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NotesForm {
    #[serde(default)]
    pub subjective: String,
    #[serde(default)]
    pub objective: String,
    #[serde(default)]
    pub assessment: String,
    #[serde(default)]
    pub plan: String,
}

impl NotesForm {
    pub fn parse(&self) -> Result<Soap, FieldErrors> {
        Soap::parse(
            &self.subjective,
            &self.objective,
            &self.assessment,
            &self.plan,
        )
    }
    fn of(s: &Soap) -> NotesForm {
        NotesForm {
            subjective: s.subjective.clone(),
            objective: s.objective.clone(),
            assessment: s.assessment.clone(),
            plan: s.plan.clone(),
        }
    }
    fn get(&self, field: &str) -> &str {
        match field {
            "subjective" => &self.subjective,
            "objective" => &self.objective,
            "assessment" => &self.assessment,
            "plan" => &self.plan,
            _ => "",
        }
    }
}

/// A refused save of the notes, to show on the page again: what was typed, a message per
/// field, or the rule that refused it.
#[derive(Debug, Clone, Default)]
pub struct NotesTyped {
    pub form: NotesForm,
    pub errors: FieldErrors,
    pub error: Option<String>,
}

/// The session notes part of the therapist's appointment page.
#[derive(Debug, Clone)]
pub struct NotesSection {
    pub appointment_id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub tz: Tz,
    pub notes: Notes,
    /// Why notes can't be written now (None: they can).
    pub refusal: Option<&'static str>,
    /// The form's values: what was typed, else the current version.
    pub form: NotesForm,
    pub errors: FieldErrors,
    pub error: Option<String>,
}

impl NotesSection {
    pub fn build(
        v: &AppointmentView,
        notes: Notes,
        now: DateTime<Utc>,
        typed: Option<NotesTyped>,
    ) -> NotesSection {
        let refusal = rules::may_write(v.appt.status, v.starts(), now)
            .err()
            .map(|r| r.message());
        let typed = typed.unwrap_or_else(|| NotesTyped {
            form: notes
                .current()
                .map(|c| NotesForm::of(&c.soap))
                .unwrap_or_default(),
            ..Default::default()
        });
        NotesSection {
            appointment_id: v.appt.id,
            client_id: v.appt.client_id,
            client_name: v.client_name.clone(),
            tz: v.tz(),
            notes,
            refusal,
            form: typed.form,
            errors: typed.errors,
            error: typed.error,
        }
    }
    pub fn parts(&self) -> &'static [(&'static str, &'static str); 4] {
        &PARTS
    }
    pub fn value(&self, field: &str) -> &str {
        self.form.get(field)
    }
    pub fn error_of(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || self.error.is_some()
    }
    pub fn max_chars(&self) -> usize {
        rules::MAX_PART_CHARS
    }
}

// ---- Clients -------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct ClientsQuery {
    pub q: Option<String>,
    #[serde(flatten)]
    pub paging: PageQuery,
}

#[derive(Template)]
#[template(path = "therapist/clients.html")]
pub struct ClientsPage {
    pub ctx: PageCtx,
    pub q: String,
    pub error: Option<String>,
    pub rows: Vec<ClientLine>,
    pub paging: Paging,
    pub tz: Tz,
}

pub async fn clients(
    req: HttpRequest,
    user: As<access::Therapist>,
    q: web::Query<ClientsQuery>,
) -> PageResult<HttpResponse> {
    let q = q.into_inner();
    let text = q.q.clone().unwrap_or_default();
    let mut errors = FieldErrors::new();
    let page = crate::domain::paging::Page::parse_into(
        q.paging.page.as_deref(),
        q.paging.per_page.as_deref(),
        &mut errors,
    );
    let search = match parse_search(Some(&text)) {
        Ok(s) => s,
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    let state = app_state(&req);
    let therapist = user.who.clone();
    let bad = !errors.is_empty();
    let (total, rows, tz) = with_conn(&state.pool, move |conn| {
        let th = crate::services::therapists::own_profile(conn, &therapist)?;
        let (total, rows) = if bad {
            (0, Vec::new())
        } else {
            clients::list(conn, &therapist, search.as_deref(), page, Utc::now())?
        };
        Ok::<_, AppError>((total, rows, th.timezone))
    })
    .await?;
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if !text.trim().is_empty() {
        pairs.push(("q", text.trim().to_string()));
    }
    if page.per_page != DEFAULT_PER_PAGE {
        pairs.push(("per_page", page.per_page.to_string()));
    }
    let base = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let status = if bad {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    no_store(render(
        status,
        &ClientsPage {
            ctx: user.ctx,
            q: text,
            error: (bad).then(|| errors.into_values().collect::<Vec<_>>().join(" ")),
            rows,
            paging: Paging {
                total,
                page: page.page,
                per_page: page.per_page,
                base,
                path: "/therapist/clients",
            },
            tz: zone(&tz),
        },
    )?)
}

#[derive(Template)]
#[template(path = "therapist/client.html")]
pub struct ClientPage {
    pub ctx: PageCtx,
    pub f: ClientFile,
    pub tz: Tz,
    pub now: DateTime<Utc>,
}

pub async fn client(
    req: HttpRequest,
    user: As<access::Therapist>,
    id: web::Path<i64>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let st = state.clone();
    let (therapist, id) = (user.who.clone(), id.into_inner());
    let f = with_conn(&state.pool, move |conn| {
        clients::file(conn, Some((&st.cipher, "page")), &therapist, id, Utc::now())
    })
    .await?;
    let tz = zone(&f.timezone);
    no_store(render(
        StatusCode::OK,
        &ClientPage {
            ctx: user.ctx,
            f,
            tz,
            now: Utc::now(),
        },
    )?)
}
