//! The therapist's clients (`/api/v1/me/clients`) and an appointment's session notes
//! (`/api/v1/appointments/{id}/notes`): `services::clients` and `services::notes` underneath.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiAs, ApiUser, ListOut};
use crate::domain::notes::{parse_search, Soap};
use crate::domain::paging::PageQuery;
use crate::error::{ApiResult, AppError};
use crate::http::app_state;
use crate::services::access::{self, Proof};
use crate::services::clients::{self, ClientLine};
use crate::services::notes::{self, NoteVersion, Notes};
use crate::services::with_conn;

/// A JSON answer holding people's details or notes: never cached.
fn private<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Debug, Deserialize)]
pub struct ClientsQuery {
    pub q: Option<String>,
    #[serde(flatten)]
    pub paging: PageQuery,
}

/// A client of the therapist.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientOut {
    pub client_id: i64,
    /// "Deleted client" once they erased their account.
    pub name: String,
    pub email: String,
    /// Appointments that took place: started, and confirmed or completed (cancelled ones,
    /// unanswered requests and no-shows are not visits).
    pub visits: i64,
    /// The start of the latest visit (RFC 3339, UTC), null without one.
    pub last_visit: Option<String>,
    /// The start of the earliest requested or confirmed appointment to come, null without one.
    pub next_visit: Option<String>,
}

impl From<ClientLine> for ClientOut {
    fn from(l: ClientLine) -> Self {
        ClientOut {
            client_id: l.client_id,
            name: l.name,
            email: l.email,
            visits: l.visits,
            last_visit: l.last_visit.map(rfc3339),
            next_visit: l.next_visit.map(rfc3339),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/me/clients", tag = "therapist",
    params(("q" = Option<String>, Query, description = "part of the name or email, any letter case (at most 200 characters)"),
           ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query)),
    responses((status = 200, description = "{total, page, per_page, results: [ClientOut]}: the people who booked this therapist, by name"),
              (status = 401), (status = 403), (status = 422, description = "a bad q, page or per_page")))]
pub async fn list(
    req: HttpRequest,
    me: ApiAs<access::Therapist>,
    q: web::Query<ClientsQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let page = q.paging.parse().map_err(AppError::validation)?;
    let text = parse_search(q.q.as_deref()).map_err(AppError::validation)?;
    let state = app_state(&req);
    let therapist = me.who;
    let (total, rows) = with_conn(&state.pool, move |conn| {
        clients::list(conn, &therapist, text.as_deref(), page, Utc::now())
    })
    .await?;
    Ok(private(&ListOut {
        total,
        page: page.page,
        per_page: page.per_page,
        results: rows.into_iter().map(ClientOut::from).collect::<Vec<_>>(),
    }))
}

/// One appointment of a client with this therapist.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientAppointmentOut {
    pub id: i64,
    pub starts_at: String,
    pub ends_at: String,
    /// `requested`, `confirmed`, `completed`, `cancelled` or `no_show`.
    pub status: String,
    pub technique: String,
    pub duration_min: i32,
    /// Whether session notes were written (read them at `/api/v1/appointments/{id}/notes`).
    pub has_notes: bool,
    /// How many versions the notes have.
    pub note_versions: i64,
}

/// A client's file: who they are, their visits, and their appointments with this therapist.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientFileOut {
    #[serde(flatten)]
    pub client: ClientOut,
    /// Newest first.
    pub appointments: Vec<ClientAppointmentOut>,
}

#[utoipa::path(get, path = "/api/v1/me/clients/{id}", tag = "therapist",
    responses((status = 200, body = ClientFileOut), (status = 401), (status = 403),
              (status = 404, description = "this person never booked this therapist")))]
pub async fn file(
    req: HttpRequest,
    me: ApiAs<access::Therapist>,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let (therapist, id) = (me.who, id.into_inner());
    let f = with_conn(&state.pool, move |conn| {
        clients::file(conn, None, &therapist, id, Utc::now())
    })
    .await?;
    Ok(private(&ClientFileOut {
        client: f.line.into(),
        appointments: f
            .appointments
            .into_iter()
            .map(|a| ClientAppointmentOut {
                id: a.appt.id,
                starts_at: rfc3339(a.appt.starts_at),
                ends_at: rfc3339(a.appt.ends_at),
                status: a.appt.status.as_str().into(),
                technique: a.technique,
                duration_min: a.duration_min,
                has_notes: a.note_versions > 0,
                note_versions: a.note_versions,
            })
            .collect(),
    }))
}

/// A new version of the notes (SOAP). Each part up to 5,000 characters, at least one not
/// blank; a missing part is blank.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NotesBody {
    #[serde(default)]
    pub subjective: String,
    #[serde(default)]
    pub objective: String,
    #[serde(default)]
    pub assessment: String,
    #[serde(default)]
    pub plan: String,
}

/// One version of the notes.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteVersionOut {
    pub version: i32,
    /// When it was saved (RFC 3339, UTC).
    pub created_at: String,
    /// Who wrote it.
    pub author: String,
    pub author_user_id: i64,
    pub subjective: String,
    pub objective: String,
    pub assessment: String,
    pub plan: String,
}

impl From<&NoteVersion> for NoteVersionOut {
    fn from(v: &NoteVersion) -> Self {
        NoteVersionOut {
            version: v.version,
            created_at: rfc3339(v.created_at),
            author: v.author_name.clone(),
            author_user_id: v.author_user_id,
            subjective: v.soap.subjective.clone(),
            objective: v.soap.objective.clone(),
            assessment: v.soap.assessment.clone(),
            plan: v.soap.plan.clone(),
        }
    }
}

/// An appointment's notes: the current version and every version.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotesOut {
    pub appointment_id: i64,
    /// The newest version, null when none was written.
    pub current: Option<NoteVersionOut>,
    /// Every version, newest first (the current one included): edits never overwrite.
    pub history: Vec<NoteVersionOut>,
}

fn notes_out(appointment_id: i64, n: &Notes) -> NotesOut {
    NotesOut {
        appointment_id,
        current: n.current().map(NoteVersionOut::from),
        history: n.versions.iter().map(NoteVersionOut::from).collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/appointments/{id}/notes", tag = "appointments",
    responses((status = 200, body = NotesOut, description = "for the appointment's therapist and its client; a read by anyone but the author is in the client's access log"),
              (status = 401), (status = 404, description = "anyone else, admins included")))]
pub async fn get(req: HttpRequest, caller: ApiUser, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let state = app_state(&req);
    let st = state.clone();
    let (user, id) = (caller.user, id.into_inner());
    let n = with_conn(&state.pool, move |conn| {
        notes::read(conn, &st.cipher, &user, id, "api")
    })
    .await?;
    Ok(private(&notes_out(id, &n)))
}

#[utoipa::path(put, path = "/api/v1/appointments/{id}/notes", tag = "appointments", request_body = NotesBody,
    responses((status = 200, body = NotesOut, description = "a new version was appended"),
              (status = 401), (status = 404, description = "not this therapist's appointment (anyone else, admins included)"),
              (status = 409, description = "notes_conflict: saved by another request at the same moment"),
              (status = 422, description = "notes_before_start, notes_cancelled, notes_not_confirmed; or a part over 5,000 characters, or every part blank (fields)")))]
pub async fn put(
    req: HttpRequest,
    caller: ApiUser,
    id: web::Path<i64>,
    body: web::Json<NotesBody>,
) -> ApiResult<HttpResponse> {
    // Only the appointment's therapist writes; to anyone else the notes do not exist.
    let therapist = access::Therapist::prove(caller.user).map_err(|_| AppError::NotFound)?;
    let b = body.into_inner();
    let soap = Soap::parse(&b.subjective, &b.objective, &b.assessment, &b.plan)
        .map_err(AppError::validation)?;
    let state = app_state(&req);
    let st = state.clone();
    let id = id.into_inner();
    let n = with_conn(&state.pool, move |conn| {
        notes::write(conn, &st.cipher, &therapist, id, &soap, Utc::now())?;
        notes::read(conn, &st.cipher, therapist.user(), id, "api")
    })
    .await?;
    Ok(private(&notes_out(id, &n)))
}
