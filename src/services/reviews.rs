//! Reviews of completed appointments, one path for the pages and the API.
//!
//! **Who and when.** The client of a completed appointment writes one review of it, within
//! `domain::review::REVIEW_WINDOW_DAYS` of its end ([`create`]: a verified client, like
//! booking; 404 for someone else's appointment). The reviewed therapist replies once
//! ([`reply`]). An admin hides a review with a reason ([`hide`], audited): from then on it is
//! shown to its author (marked hidden, with the reason) and to admins only, and it no longer
//! counts in the rating.
//!
//! **What the database refuses.** `reviews.appointment_id` is unique (one review per
//! appointment) and `review_replies.review_id` is unique (one reply per review): two requests
//! at once both pass the checks, the database refuses the second, answered 409
//! (`review_exists`, `review_already_replied`). A trigger refuses a review of an appointment
//! that is not completed or not by its client, and an edit of a review's stars.
//!
//! **The rating.** `therapists.rating_count` and `rating_sum` (the shown reviews) are a
//! listing column of the directory index (`search::index`), written by [`refresh_rating`] in
//! the transaction of each change that moves them (a review, a hiding); the average is
//! `domain::review::average`, the one computation every face reads.
//!
//! **What a review holds.** The client's own stars and words, trimmed, nothing else: never the
//! screening, its outcome or notes. Pages escape it like any text.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::schema::{review_replies, reviews, therapists, users};
use crate::db::{write_transaction, Backend, DbConnection};
use crate::domain::paging::Page;
use crate::domain::review::{self as rules, ReviewInput};
use crate::error::AppError;
use crate::models::appointment::Appointment;
use crate::models::audit;
use crate::models::now;
use crate::models::therapist::Therapist;
use crate::models::user::User;
use crate::services::access::{self, Proof};

/// A therapist's reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
    pub created_at: NaiveDateTime,
}

/// Why and when a review was hidden: shown to its author and admins only.
#[derive(Debug, Clone)]
pub struct Hidden {
    pub at: NaiveDateTime,
    pub reason: String,
}

/// A review as its reader may see it.
#[derive(Debug, Clone)]
pub struct ReviewView {
    pub id: i64,
    pub appointment_id: i64,
    pub therapist_id: i64,
    pub rating: i32,
    pub text: String,
    /// The author's first name and initial (`domain::review::author_label`).
    pub author: String,
    pub created_at: NaiveDateTime,
    pub reply: Option<Reply>,
    /// Set when hidden, for the readers who may see a hidden review (its author, admins).
    pub hidden: Option<Hidden>,
}

impl ReviewView {
    /// "★★★★☆": the stars, for pages (the number is said beside them for screen readers).
    pub fn stars(&self) -> String {
        stars(self.rating)
    }
    /// The day it was written ("30 Nov 2026", UTC).
    pub fn day(&self) -> String {
        self.created_at.format("%-d %b %Y").to_string()
    }
}

/// `rating` filled stars out of five.
pub fn stars(rating: i32) -> String {
    let r = rating.clamp(0, 5) as usize;
    format!("{}{}", "★".repeat(r), "☆".repeat(5 - r))
}

/// Which reviews a list holds.
#[derive(Debug, Clone, Copy)]
enum Scope {
    /// A therapist's reviews as the public sees them, and a hidden one to its author.
    Public {
        therapist_id: i64,
        viewer: Option<i64>,
    },
    /// A therapist's own reviews (hidden ones are not theirs to see).
    Therapist(i64),
    /// Every review, hidden ones included (admins).
    All,
}

fn scoped(scope: Scope) -> reviews::BoxedQuery<'static, Backend> {
    let q = reviews::table.into_boxed();
    match scope {
        Scope::Public {
            therapist_id,
            viewer,
        } => {
            let q = q.filter(reviews::therapist_id.eq(therapist_id));
            match viewer {
                Some(v) => q.filter(reviews::hidden_at.is_null().or(reviews::client_id.eq(v))),
                None => q.filter(reviews::hidden_at.is_null()),
            }
        }
        Scope::Therapist(t) => q
            .filter(reviews::therapist_id.eq(t))
            .filter(reviews::hidden_at.is_null()),
        Scope::All => q,
    }
}

type DetailRow = (
    (i64, i64, i64, i64, i32, String, NaiveDateTime),
    (Option<NaiveDateTime>, Option<String>),
    String,
    Option<(String, NaiveDateTime)>,
);

/// The reviews of `ids`, in that order, with their authors and replies; hidden details only
/// where `sees_hidden(client_id)` holds.
fn details(
    conn: &mut DbConnection,
    ids: &[i64],
    sees_hidden: impl Fn(i64) -> bool,
) -> Result<Vec<ReviewView>, AppError> {
    let rows: Vec<DetailRow> = reviews::table
        .inner_join(users::table.on(users::id.eq(reviews::client_id)))
        .left_join(review_replies::table)
        .filter(reviews::id.eq_any(ids))
        .select((
            (
                reviews::id,
                reviews::appointment_id,
                reviews::therapist_id,
                reviews::client_id,
                reviews::rating,
                reviews::body,
                reviews::created_at,
            ),
            (reviews::hidden_at, reviews::hidden_reason),
            users::name,
            (review_replies::body, review_replies::created_at).nullable(),
        ))
        .load(conn)?;
    let mut by_id: HashMap<i64, ReviewView> = rows
        .into_iter()
        .map(
            |(
                (id, appointment_id, therapist_id, client_id, rating, text, created_at),
                (hidden_at, hidden_reason),
                name,
                reply,
            )| {
                let hidden = match (hidden_at, hidden_reason) {
                    (Some(at), Some(reason)) if sees_hidden(client_id) => {
                        Some(Hidden { at, reason })
                    }
                    _ => None,
                };
                (
                    id,
                    ReviewView {
                        id,
                        appointment_id,
                        therapist_id,
                        rating,
                        text,
                        author: rules::author_label(&name),
                        created_at,
                        reply: reply.map(|(text, created_at)| Reply { text, created_at }),
                        hidden,
                    },
                )
            },
        )
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// One page of a scope, newest first, and the total.
fn page_of(
    conn: &mut DbConnection,
    scope: Scope,
    page: Page,
    sees_hidden: impl Fn(i64) -> bool,
) -> Result<(i64, Vec<ReviewView>), AppError> {
    let total: i64 = scoped(scope).count().get_result(conn)?;
    if total <= page.offset() {
        return Ok((total, Vec::new()));
    }
    let ids: Vec<i64> = scoped(scope)
        .order((reviews::created_at.desc(), reviews::id.desc()))
        .limit(page.per_page)
        .offset(page.offset())
        .select(reviews::id)
        .load(conn)?;
    Ok((total, details(conn, &ids, sees_hidden)?))
}

/// A therapist's reviews as `viewer` sees them: the shown ones, and a hidden one to its author
/// (with why). 404 for a therapist who is suspended or does not exist.
pub fn public_list(
    conn: &mut DbConnection,
    therapist_id: i64,
    viewer: Option<&User>,
    page: Page,
) -> Result<(i64, Vec<ReviewView>), AppError> {
    let t = Therapist::find(conn, therapist_id)?;
    if t.suspended_at.is_some() {
        return Err(AppError::NotFound);
    }
    shown_to(conn, therapist_id, viewer.map(|u| u.id), page)
}

/// [`public_list`] of a therapist the caller already found listed (its public profile, which is
/// 404 for a suspended one), as the user `viewer` (None: a visitor) sees them.
pub fn shown_to(
    conn: &mut DbConnection,
    therapist_id: i64,
    viewer: Option<i64>,
    page: Page,
) -> Result<(i64, Vec<ReviewView>), AppError> {
    page_of(
        conn,
        Scope::Public {
            therapist_id,
            viewer,
        },
        page,
        |author| Some(author) == viewer,
    )
}

/// The therapist's own reviews (not the hidden ones), newest first.
pub fn of_therapist(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    page: Page,
) -> Result<(i64, Vec<ReviewView>), AppError> {
    let t = Therapist::find_by_user(conn, therapist.id())?.ok_or(AppError::NotFound)?;
    page_of(conn, Scope::Therapist(t.id), page, |_| false)
}

/// A review in the admin's list: the review and the reviewed therapist's name.
pub type AdminLine = (ReviewView, String);

/// Every review, hidden ones included with why, newest first (admins).
pub fn for_admin(
    conn: &mut DbConnection,
    _admin: &access::Admin,
    page: Page,
) -> Result<(i64, Vec<AdminLine>), AppError> {
    let (total, views) = page_of(conn, Scope::All, page, |_| true)?;
    let ids: Vec<i64> = views.iter().map(|v| v.therapist_id).collect();
    let names: HashMap<i64, String> = therapists::table
        .inner_join(users::table)
        .filter(therapists::id.eq_any(&ids))
        .select((therapists::id, users::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    Ok((
        total,
        views
            .into_iter()
            .map(|v| {
                let name = names.get(&v.therapist_id).cloned().unwrap_or_default();
                (v, name)
            })
            .collect(),
    ))
}

/// One review as `viewer` may see it: its author (hidden or not, with why), an admin (with
/// why), the reviewed therapist and everyone else while it is shown; 404 otherwise.
pub fn one(conn: &mut DbConnection, viewer: &User, id: i64) -> Result<ReviewView, AppError> {
    let (client_id, hidden): (i64, bool) = reviews::table
        .find(id)
        .select((reviews::client_id, reviews::hidden_at.is_not_null()))
        .first(conn)?;
    let admin = viewer.role() == crate::domain::account::Role::Admin;
    let sees_hidden = |author: i64| admin || author == viewer.id;
    if hidden && !sees_hidden(client_id) {
        return Err(AppError::NotFound);
    }
    details(conn, &[id], sees_hidden)?
        .pop()
        .ok_or(AppError::NotFound)
}

/// The client's review of their appointment, if they wrote one (hidden or not, with why).
pub fn of_appointment(
    conn: &mut DbConnection,
    client: &User,
    appointment_id: i64,
) -> Result<Option<ReviewView>, AppError> {
    let id: Option<i64> = reviews::table
        .filter(reviews::appointment_id.eq(appointment_id))
        .filter(reviews::client_id.eq(client.id))
        .select(reviews::id)
        .first(conn)
        .optional()?;
    match id {
        None => Ok(None),
        Some(id) => Ok(details(conn, &[id], |_| true)?.pop()),
    }
}

/// Whether `client` may review appointment `id` at `now` (their own, completed, in the window,
/// not reviewed yet): what a page offers the form by.
pub fn may_review(
    conn: &mut DbConnection,
    client: &User,
    appt: &Appointment,
    now_utc: DateTime<Utc>,
) -> Result<bool, AppError> {
    if appt.client_id != client.id
        || rules::may_review(appt.status, appt.ends_at.and_utc(), now_utc).is_err()
    {
        return Ok(false);
    }
    let written: i64 = reviews::table
        .filter(reviews::appointment_id.eq(appt.id))
        .count()
        .get_result(conn)?;
    Ok(written == 0)
}

fn unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// The client's review of their completed appointment `appointment_id` (404 for another's,
/// 422 `review_not_completed` / `review_too_late`, 409 `review_exists`). Returns its id.
pub fn create(
    conn: &mut DbConnection,
    client: &access::VerifiedClient,
    appointment_id: i64,
    input: &ReviewInput,
    now_utc: DateTime<Utc>,
) -> Result<i64, AppError> {
    let me = client.id();
    write_transaction(conn, |conn| {
        let appt = Appointment::find(conn, appointment_id)?;
        if appt.client_id != me {
            return Err(AppError::NotFound);
        }
        rules::may_review(appt.status, appt.ends_at.and_utc(), now_utc).map_err(|r| {
            AppError::Rule {
                code: r.code(),
                message: r.message().into(),
            }
        })?;
        let inserted = diesel::insert_into(reviews::table)
            .values((
                reviews::appointment_id.eq(appt.id),
                reviews::therapist_id.eq(appt.therapist_id),
                reviews::client_id.eq(me),
                reviews::rating.eq(input.rating),
                reviews::body.eq(&input.text),
                reviews::created_at.eq(now()),
            ))
            .returning(reviews::id)
            .get_result::<i64>(conn);
        let id = match inserted {
            Err(e) if unique_violation(&e) => {
                return Err(AppError::Conflict {
                    code: "review_exists",
                    message: "You already reviewed this appointment.".into(),
                })
            }
            other => other?,
        };
        refresh_rating(conn, appt.therapist_id)?;
        audit::record(
            conn,
            Some(me),
            "review.create",
            "review",
            Some(id),
            &format!("review of appointment {} ({} stars)", appt.id, input.rating),
        )?;
        Ok(id)
    })
}

/// The reviewed therapist's one reply (404 for another therapist's review or a hidden one,
/// 409 `review_already_replied`).
pub fn reply(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    review_id: i64,
    text: &str,
) -> Result<(), AppError> {
    let me = therapist.id();
    write_transaction(conn, |conn| {
        let t = Therapist::find_by_user(conn, me)?.ok_or(AppError::NotFound)?;
        let (owner, hidden): (i64, bool) = reviews::table
            .find(review_id)
            .select((reviews::therapist_id, reviews::hidden_at.is_not_null()))
            .first(conn)?;
        if owner != t.id || hidden {
            return Err(AppError::NotFound);
        }
        let inserted = diesel::insert_into(review_replies::table)
            .values((
                review_replies::review_id.eq(review_id),
                review_replies::author_user_id.eq(me),
                review_replies::body.eq(text),
                review_replies::created_at.eq(now()),
            ))
            .execute(conn);
        match inserted {
            Err(e) if unique_violation(&e) => {
                return Err(AppError::Conflict {
                    code: "review_already_replied",
                    message: "This review already has your reply.".into(),
                })
            }
            other => {
                other?;
            }
        }
        audit::record(
            conn,
            Some(me),
            "review.reply",
            "review",
            Some(review_id),
            "reply to a review",
        )?;
        Ok(())
    })
}

/// Hides a review (an admin, with a reason): from then on only its author and admins see it,
/// and it no longer counts in the rating. 409 `review_already_hidden` when it was.
pub fn hide(
    conn: &mut DbConnection,
    admin: &access::Admin,
    review_id: i64,
    reason: &str,
) -> Result<(), AppError> {
    let me = admin.id();
    write_transaction(conn, |conn| {
        let therapist_id: i64 = reviews::table
            .find(review_id)
            .select(reviews::therapist_id)
            .first(conn)?;
        let changed = diesel::update(
            reviews::table
                .find(review_id)
                .filter(reviews::hidden_at.is_null()),
        )
        .set((
            reviews::hidden_at.eq(now()),
            reviews::hidden_reason.eq(reason),
            reviews::hidden_by.eq(me),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(AppError::Conflict {
                code: "review_already_hidden",
                message: "This review is hidden already.".into(),
            });
        }
        refresh_rating(conn, therapist_id)?;
        audit::record(
            conn,
            Some(me),
            "review.hide",
            "review",
            Some(review_id),
            &format!("review hidden: {reason}"),
        )?;
        Ok(())
    })
}

/// Writes the therapist's rating (count and sum of the stars of the reviews not hidden) from
/// their reviews, in the caller's transaction: the one place it is computed.
pub fn refresh_rating(conn: &mut DbConnection, therapist_id: i64) -> Result<(), AppError> {
    let shown: Vec<i32> = reviews::table
        .filter(reviews::therapist_id.eq(therapist_id))
        .filter(reviews::hidden_at.is_null())
        .select(reviews::rating)
        .load(conn)?;
    diesel::update(therapists::table.find(therapist_id))
        .set((
            therapists::rating_count.eq(shown.len() as i32),
            therapists::rating_sum.eq(shown.iter().sum::<i32>()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes the reviews `client_id` wrote (their account's erasure, inside its transaction) and
/// refreshes the ratings they counted in. Returns the reviews deleted.
pub fn destroy_of_client(conn: &mut DbConnection, client_id: i64) -> Result<usize, AppError> {
    let therapist_ids: Vec<i64> = reviews::table
        .filter(reviews::client_id.eq(client_id))
        .select(reviews::therapist_id)
        .distinct()
        .load(conn)?;
    let n =
        diesel::delete(reviews::table.filter(reviews::client_id.eq(client_id))).execute(conn)?;
    for t in therapist_ids {
        refresh_rating(conn, t)?;
    }
    Ok(n)
}
