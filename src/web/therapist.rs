//! The therapist's area (`/therapist`), therapists only.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::services::booking::{self, Agenda, ListItem};
use crate::services::therapists::{self, TherapistDashboard};
use crate::services::with_conn;
use crate::web::filters;
use crate::web::{app_state, render, As, PageCtx, PageResult};

/// An inline Confirm or Decline of the dashboard that the rules refused: shown next to its
/// field on that request, with the reason as typed.
#[derive(Debug, Clone)]
pub struct InlineError {
    pub id: i64,
    /// `acknowledged_flags`, `reason`, or `action` (the request itself, e.g. changed meanwhile).
    pub field: &'static str,
    pub message: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "therapist/dashboard.html")]
pub struct DashboardPage {
    pub ctx: PageCtx,
    pub d: TherapistDashboard,
    pub a: Agenda,
    pub steps: Vec<&'static str>,
    pub failed: Option<InlineError>,
    pub now: chrono::DateTime<chrono::Utc>,
}

impl DashboardPage {
    /// "5 requests wait for you to confirm".
    pub fn waiting_words(&self) -> String {
        match self.a.waiting.len() {
            0 => "No requests wait for you".into(),
            1 => "1 request waits for you to confirm".into(),
            n => format!("{n} requests wait for you to confirm"),
        }
    }
    /// The refusal of this request's `field`, if the last action on it failed there.
    pub fn error_at(&self, i: &ListItem, field: &str) -> Option<&str> {
        self.failed
            .as_ref()
            .filter(|f| f.id == i.id && f.field == field)
            .map(|f| f.message.as_str())
    }
    /// The decline reason as typed for this request, when its action failed.
    pub fn typed_reason(&self, i: &ListItem) -> &str {
        self.failed
            .as_ref()
            .filter(|f| f.id == i.id)
            .map_or("", |f| f.reason.as_str())
    }
}

/// The dashboard, with `failed` when an inline Confirm or Decline was refused.
pub async fn dashboard_page(
    req: &HttpRequest,
    ctx: PageCtx,
    me: access::Therapist,
    failed: Option<InlineError>,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let now = chrono::Utc::now();
    let (d, a) = with_conn(&state.pool, move |conn| {
        Ok((
            therapists::dashboard(conn, &me)?,
            booking::agenda(conn, &me, now)?,
        ))
    })
    .await?;
    let steps = d.open_steps();
    let status = if failed.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(
        status,
        &DashboardPage {
            ctx,
            d,
            a,
            steps,
            failed,
            now,
        },
    )
}

pub async fn dashboard(req: HttpRequest, user: As<access::Therapist>) -> PageResult<HttpResponse> {
    let _user_id = user.session.user.id;
    let me = user.who.clone();
    dashboard_page(&req, user.ctx, me, None).await
}

// ---- Profile -------------------------------------------------------------------------------

use actix_web::web;
use serde::Deserialize;

use crate::domain::photo::PhotoError;
use crate::domain::profile::{LicenseInput, ProfileInput, ServiceInput, TrainingInput, LANGUAGES};
use crate::domain::technique::{Technique, CATALOGUE};
use crate::error::{AppError, FieldErrors};
use crate::models::credential::{License, TrainingRecord};
use crate::models::service::Service;
use crate::services::access;
use crate::services::photos::{self, PhotoUrls};
use crate::services::profile;
use crate::web::{redirect_with_flash, CsrfForm, CsrfUpload};

/// US zones offered in the form (any IANA name is accepted through the API).
pub const ZONES: &[&str] = &[
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Detroit",
    "America/Indiana/Indianapolis",
    "America/Boise",
    "America/Puerto_Rico",
];

#[derive(Template)]
#[template(path = "therapist/profile.html")]
pub struct ProfilePage {
    pub ctx: PageCtx,
    pub form: ProfileInput,
    pub errors: FieldErrors,
    pub all_techniques: &'static [Technique],
    pub languages: &'static [(&'static str, &'static str)],
    pub zones: &'static [&'static str],
    /// The stored photo, if any.
    pub photo: Option<PhotoUrls>,
    /// Why the last upload was refused.
    pub photo_error: Option<String>,
    /// The photo's removal asked without ticking the confirmation.
    pub remove_error: Option<String>,
}

impl ProfilePage {
    pub fn error(&self, f: &str) -> Option<&String> {
        self.errors.get(f)
    }
    pub fn has_technique(&self, slug: &str) -> bool {
        self.form.techniques.iter().any(|t| t == slug)
    }
    pub fn has_language(&self, code: &str) -> bool {
        self.form.languages.iter().any(|t| t == code)
    }
    /// A practice field's text as typed or stored ("" when none).
    pub fn text<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }
}

pub async fn profile_form(
    req: HttpRequest,
    user: As<access::Therapist>,
) -> PageResult<HttpResponse> {
    let me = user.who.clone();
    let state = app_state(&req);
    let _user_id = user.session.user.id;
    let own = with_conn(&state.pool, move |conn| profile::own(conn, &me)).await?;
    render(StatusCode::OK, &profile_page(user.ctx, own, None))
}

/// The profile page as stored, with the photo's refusal when there is one.
fn profile_page(
    ctx: PageCtx,
    own: profile::OwnProfile,
    photo_error: Option<String>,
) -> ProfilePage {
    let t = own.therapist;
    let photo = PhotoUrls::of(t.id, t.photo_version);
    let form = ProfileInput {
        name: own.name,
        bio: t.bio,
        city: match (t.city, t.region) {
            (Some(c), Some(r)) => format!("{c}, {r}"),
            (Some(c), None) => c,
            _ => String::new(),
        },
        timezone: t.timezone,
        techniques: own.techniques,
        languages: t
            .languages
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        accepting_new_clients: Some(t.accepting_new_clients),
        in_studio: Some(t.in_studio),
        mobile: Some(t.mobile),
        address: t.address,
        phone: t.phone,
        mobile_radius_km: t.mobile_radius_km.map(|km| km.to_string()),
    };
    ProfilePage {
        ctx,
        form,
        errors: FieldErrors::new(),
        all_techniques: CATALOGUE,
        languages: LANGUAGES,
        zones: ZONES,
        photo,
        photo_error,
        remove_error: None,
    }
}

pub async fn profile_save(
    req: HttpRequest,
    user: As<access::Therapist>,
    CsrfForm(form): CsrfForm<ProfileInput>,
) -> PageResult<HttpResponse> {
    let me = user.who.clone();
    let state = app_state(&req);
    let _user_id = user.session.user.id;
    let form = form.unchecked_as_no();
    let input = form.clone();
    match with_conn(&state.pool, move |conn| {
        profile::update_profile(conn, &me, &input)
    })
    .await
    {
        Ok(()) => Ok(redirect_with_flash("/therapist", "Your profile is saved.")),
        Err(AppError::Validation { fields, .. }) => {
            let me = user.who.clone();
            let own = with_conn(&state.pool, move |conn| profile::own(conn, &me)).await?;
            render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ProfilePage {
                    form,
                    errors: fields,
                    ..profile_page(user.ctx, own, None)
                },
            )
        }
        Err(e) => Err(e.into()),
    }
}

// ---- Photo ---------------------------------------------------------------------------------

/// Takes a new profile photo (multipart, CSRF checked): stored re-encoded, or the profile page
/// again with the reason next to the photo field.
pub async fn photo_upload(
    req: HttpRequest,
    user: As<access::Therapist>,
    upload: CsrfUpload,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let processed = if upload.too_large {
        Err(photos::refused(PhotoError::TooLarge))
    } else {
        let file = upload.file;
        web::block(move || photos::process(&file))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("photo worker: {e}")))?
    };
    let me = user.who.clone();
    let stored = match processed {
        Ok(photo) => with_conn(&state.pool, move |conn| photos::store(conn, &me, &photo)).await,
        Err(e) => Err(e),
    };
    match stored {
        Ok(_) => Ok(redirect_with_flash(
            "/therapist/profile",
            "Your photo is saved. Clients see it on your profile and in search results.",
        )),
        Err(AppError::Validation { fields, .. }) => {
            let me = user.who.clone();
            let own = with_conn(&state.pool, move |conn| profile::own(conn, &me)).await?;
            let why = fields.get(photos::FIELD).cloned();
            render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &profile_page(user.ctx, own, why),
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// The box that confirms a photo's removal (present when ticked).
#[derive(Debug, Deserialize)]
pub struct RemovePhotoForm {
    pub confirm: Option<String>,
}

pub async fn photo_remove(
    req: HttpRequest,
    user: As<access::Therapist>,
    CsrfForm(form): CsrfForm<RemovePhotoForm>,
) -> PageResult<HttpResponse> {
    let state = app_state(&req);
    let me = user.who.clone();
    if form.confirm.is_none() {
        let own = with_conn(&state.pool, move |conn| profile::own(conn, &me)).await?;
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ProfilePage {
                remove_error: Some(
                    "Tick the box to confirm that your photo should be removed.".into(),
                ),
                ..profile_page(user.ctx, own, None)
            },
        );
    }
    let me = user.who.clone();
    let removed = with_conn(&state.pool, move |conn| photos::remove(conn, &me)).await?;
    Ok(redirect_with_flash(
        "/therapist/profile",
        if removed {
            "Your photo is removed."
        } else {
            "There was no photo to remove."
        },
    ))
}

// ---- Services ------------------------------------------------------------------------------

/// A service form: dollars as typed ("90" or "92.50").
#[derive(Debug, Default, Deserialize, Clone)]
pub struct ServiceForm {
    #[serde(default)]
    pub technique: String,
    #[serde(default)]
    pub duration_min: String,
    #[serde(default)]
    pub price: String,
}

/// "$92.50", "92.5", "90" → cents; None when it is not an amount.
pub fn parse_dollars(s: &str) -> Option<i64> {
    let s = s.trim().trim_start_matches('$').replace(',', "");
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w.to_string(), f.to_string()),
        None => (s.clone(), String::new()),
    };
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
        || whole.len() > 9
    {
        return None;
    }
    let cents = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse::<i64>().ok()?
    };
    Some(whole.parse::<i64>().ok()? * 100 + cents)
}

impl ServiceForm {
    fn input(&self) -> ServiceInput {
        ServiceInput {
            technique: self.technique.clone(),
            duration_min: self.duration_min.trim().parse().ok(),
            price_cents: parse_dollars(&self.price),
        }
    }
}

#[derive(Template)]
#[template(path = "therapist/services.html")]
pub struct ServicesPage {
    pub ctx: PageCtx,
    pub services: Vec<Service>,
    pub form: ServiceForm,
    pub errors: FieldErrors,
    /// The service whose edit failed, with its errors.
    pub edit_id: Option<i64>,
    pub all_techniques: &'static [Technique],
}

impl ServicesPage {
    pub fn error(&self, f: &str) -> Option<&String> {
        if self.edit_id.is_none() {
            self.errors.get(f)
        } else {
            None
        }
    }
    pub fn edit_error(&self, id: &i64) -> Option<String> {
        if self.edit_id == Some(*id) && !self.errors.is_empty() {
            Some(self.errors.values().cloned().collect::<Vec<_>>().join(" "))
        } else {
            None
        }
    }
    pub fn dollars(&self, cents: &i64) -> String {
        format!("{}.{:02}", cents / 100, cents % 100)
    }
}

async fn services_page(
    req: &HttpRequest,
    ctx: PageCtx,
    me: access::Therapist,
    form: ServiceForm,
    errors: FieldErrors,
    edit_id: Option<i64>,
    status: StatusCode,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let services = with_conn(&state.pool, move |conn| {
        let t = therapists::own_profile(conn, &me)?;
        profile::services_of(conn, t.id, true)
    })
    .await?;
    render(
        status,
        &ServicesPage {
            ctx,
            services,
            form,
            errors,
            edit_id,
            all_techniques: CATALOGUE,
        },
    )
}

pub async fn services(req: HttpRequest, user: As<access::Therapist>) -> PageResult<HttpResponse> {
    let _id = user.session.user.id;
    let form = ServiceForm {
        duration_min: "60".into(),
        ..Default::default()
    };
    services_page(
        &req,
        user.ctx,
        user.who.clone(),
        form,
        FieldErrors::new(),
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn service_add(
    req: HttpRequest,
    user: As<access::Therapist>,
    CsrfForm(form): CsrfForm<ServiceForm>,
) -> PageResult<HttpResponse> {
    let me = user.who.clone();
    let state = app_state(&req);
    let _user_id = user.session.user.id;
    let input = form.input();
    match with_conn(&state.pool, move |conn| {
        profile::add_service(conn, &me, &input)
    })
    .await
    {
        Ok(s) => Ok(redirect_with_flash(
            "/therapist/services",
            format!(
                "Service added: {} {} min.",
                crate::web::format::technique_name(&s.technique_slug),
                s.duration_min
            ),
        )),
        Err(AppError::Validation { fields, .. }) => {
            let mut fields = fields;
            if let Some(m) = fields.remove("price_cents") {
                fields.insert("price".into(), m);
            }
            services_page(
                &req,
                user.ctx,
                user.who.clone(),
                form,
                fields,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn service_update(
    req: HttpRequest,
    user: As<access::Therapist>,
    id: web::Path<i64>,
    CsrfForm(form): CsrfForm<ServiceForm>,
) -> PageResult<HttpResponse> {
    let me = user.who.clone();
    let state = app_state(&req);
    let _user_id = user.session.user.id;
    let id = id.into_inner();
    let input = form.input();
    match with_conn(&state.pool, move |conn| {
        profile::update_service(conn, &me, id, &input)
    })
    .await
    {
        Ok(_) => Ok(redirect_with_flash(
            "/therapist/services",
            "Service updated.",
        )),
        Err(AppError::Validation { fields, .. } | AppError::FieldRule { fields, .. }) => {
            services_page(
                &req,
                user.ctx,
                user.who.clone(),
                ServiceForm::default(),
                fields,
                Some(id),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn service_retire(
    req: HttpRequest,
    user: As<access::Therapist>,
    id: web::Path<i64>,
    _form: CsrfForm<crate::web::auth::EmptyForm>,
) -> PageResult<HttpResponse> {
    let me = user.who.clone();
    let state = app_state(&req);
    let _user_id = user.session.user.id;
    let id = id.into_inner();
    with_conn(&state.pool, move |conn| {
        profile::retire_service(conn, &me, id)
    })
    .await?;
    Ok(redirect_with_flash(
        "/therapist/services",
        "Service retired. Its past bookings are kept.",
    ))
}

// ---- Credentials ---------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize, Clone)]
pub struct LicenseForm {
    #[serde(default)]
    pub jurisdiction: String,
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub issuing_body: String,
    #[serde(default)]
    pub expires_on: String,
}

#[derive(Debug, Default, Deserialize, Clone)]
pub struct TrainingForm {
    #[serde(default)]
    pub program: String,
    #[serde(default)]
    pub hours: String,
    #[serde(default)]
    pub completed_on: String,
}

fn date(s: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

#[derive(Template)]
#[template(path = "therapist/credentials.html")]
pub struct CredentialsPage {
    pub ctx: PageCtx,
    pub licenses: Vec<License>,
    pub training: Vec<TrainingRecord>,
    pub license_form: LicenseForm,
    pub training_form: TrainingForm,
    pub license_errors: FieldErrors,
    pub training_errors: FieldErrors,
    pub today: chrono::NaiveDate,
}

impl CredentialsPage {
    pub fn lerr(&self, f: &str) -> Option<&String> {
        self.license_errors.get(f)
    }
    pub fn terr(&self, f: &str) -> Option<&String> {
        self.training_errors.get(f)
    }
    pub fn license_status(&self, l: &License) -> &'static str {
        l.license_status(self.today).therapist_words()
    }
    pub fn training_status(&self, t: &TrainingRecord) -> &'static str {
        t.status().training_words()
    }
}

async fn credentials_page(
    req: &HttpRequest,
    ctx: PageCtx,
    me: access::Therapist,
    license_form: LicenseForm,
    training_form: TrainingForm,
    license_errors: FieldErrors,
    training_errors: FieldErrors,
) -> PageResult<HttpResponse> {
    let state = app_state(req);
    let (licenses, training) = with_conn(&state.pool, move |conn| {
        let t = therapists::own_profile(conn, &me)?;
        Ok((
            crate::models::credential::licenses_of(conn, t.id)?,
            crate::models::credential::training_of(conn, t.id)?,
        ))
    })
    .await?;
    let status = if license_errors.is_empty() && training_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        &CredentialsPage {
            ctx,
            licenses,
            training,
            license_form,
            training_form,
            license_errors,
            training_errors,
            today: chrono::Utc::now().date_naive(),
        },
    )
}

pub async fn credentials(
    req: HttpRequest,
    user: As<access::Therapist>,
) -> PageResult<HttpResponse> {
    let _id = user.session.user.id;
    credentials_page(
        &req,
        user.ctx,
        user.who.clone(),
        LicenseForm::default(),
        TrainingForm::default(),
        FieldErrors::new(),
        FieldErrors::new(),
    )
    .await
}

pub async fn license_submit(
    req: HttpRequest,
    user: As<access::Therapist>,
    CsrfForm(form): CsrfForm<LicenseForm>,
) -> PageResult<HttpResponse> {
    let me = user.who.clone();
    let state = app_state(&req);
    let _user_id = user.session.user.id;
    let input = LicenseInput {
        jurisdiction: form.jurisdiction.clone(),
        number: form.number.clone(),
        issuing_body: form.issuing_body.clone(),
        expires_on: date(&form.expires_on),
    };
    match with_conn(&state.pool, move |conn| {
        profile::submit_license(conn, &me, &input)
    })
    .await
    {
        Ok(_) => Ok(redirect_with_flash(
            "/therapist/credentials",
            "License submitted. We will verify it and tell you.",
        )),
        Err(AppError::Validation { fields, .. }) => {
            credentials_page(
                &req,
                user.ctx,
                user.who.clone(),
                form,
                TrainingForm::default(),
                fields,
                FieldErrors::new(),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn training_submit(
    req: HttpRequest,
    user: As<access::Therapist>,
    CsrfForm(form): CsrfForm<TrainingForm>,
) -> PageResult<HttpResponse> {
    let me = user.who.clone();
    let state = app_state(&req);
    let _user_id = user.session.user.id;
    let input = TrainingInput {
        program: form.program.clone(),
        hours: form.hours.trim().parse().ok(),
        completed_on: date(&form.completed_on),
    };
    match with_conn(&state.pool, move |conn| {
        profile::submit_training(conn, &me, &input)
    })
    .await
    {
        Ok(_) => Ok(redirect_with_flash(
            "/therapist/credentials",
            "Training record submitted for verification.",
        )),
        Err(AppError::Validation { fields, .. }) => {
            credentials_page(
                &req,
                user.ctx,
                user.who.clone(),
                LicenseForm::default(),
                form,
                FieldErrors::new(),
                fields,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- Booked hours --------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "therapist/hours.html")]
pub struct HoursPage {
    pub ctx: PageCtx,
    pub chart: crate::web::chart::BarChart,
    /// "New York": the clock the weeks follow.
    pub zone: String,
    /// The hours of the whole period, in words.
    pub total: String,
}

/// The therapist's booked hours per week over the last 12 weeks, as a chart and a table.
pub async fn hours(req: HttpRequest, user: As<access::Therapist>) -> PageResult<HttpResponse> {
    use crate::web::chart::{hours_text, week_label, BarChart};
    let me = user.who.clone();
    let state = app_state(&req);
    let h = with_conn(&state.pool, move |conn| {
        crate::services::stats::hours_per_week(conn, &me, chrono::Utc::now())
    })
    .await?;
    let zone = crate::web::format::zone_city(crate::models::therapist::zone(&h.timezone));
    let minutes: i64 = h.weeks.iter().map(|w| w.value).sum();
    let total = hours_text(minutes);
    let busiest = h
        .weeks
        .iter()
        .filter(|w| w.value > 0)
        .max_by_key(|w| w.value)
        .map(|w| {
            format!(
                ", most in the week of {} ({} hours)",
                week_label(w.week_start),
                hours_text(w.value)
            )
        })
        .unwrap_or_default();
    let span = match (h.weeks.first(), h.weeks.last()) {
        (Some(a), Some(b)) => format!(
            "from the week of {} to this week (of {})",
            week_label(a.week_start),
            week_label(b.week_start)
        ),
        _ => String::new(),
    };
    let chart = BarChart::weekly(
        "hours",
        "Booked hours per week",
        "Hours booked",
        &h.weeks,
        |m| (m as f64, hours_text(m)),
    )
    .described(format!(
        "Hours of confirmed and completed sessions per week, {span}: {total} hours in all{busiest}."
    ));
    render(
        StatusCode::OK,
        &HoursPage {
            ctx: user.ctx,
            chart,
            zone,
            total,
        },
    )
}
