//! Public pages: the technique guide, search results and therapist profiles.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::gazetteer::DistanceUnit;
use crate::domain::profile::LANGUAGES;
use crate::domain::technique::{Technique, CATALOGUE};
use crate::error::{AppError, FieldErrors};
use crate::services::directory::{
    self, PublicProfile, SearchHit, SearchQuery, SearchResult, DEFAULT_RADIUS_KM,
    DEFAULT_RADIUS_MI, MAX_RADIUS_KM, MAX_RADIUS_MI,
};
use crate::services::with_conn;
use crate::web::filters;
use crate::web::format::{self, zone_city};
use crate::web::{app_state, render, PageCtx, PageResult};

#[derive(Template)]
#[template(path = "directory/techniques.html")]
pub struct TechniquesPage {
    pub ctx: PageCtx,
    pub techniques: &'static [Technique],
}

pub async fn techniques(ctx: PageCtx) -> PageResult<HttpResponse> {
    render(
        StatusCode::OK,
        &TechniquesPage {
            ctx,
            techniques: CATALOGUE,
        },
    )
}

#[derive(Template)]
#[template(path = "directory/search.html")]
pub struct SearchPage {
    pub ctx: PageCtx,
    pub q: SearchQuery,
    pub errors: FieldErrors,
    pub result: Option<SearchResult>,
    pub techniques: &'static [Technique],
    pub languages: &'static [(&'static str, &'static str)],
    /// The query string without `page`, for pagination links.
    pub base_query: String,
    /// The visitor has self-check answers in their session (the "suits me" filter can be used).
    pub remembered: bool,
    /// The choices of the price filter, in cents.
    pub price_caps: Vec<i64>,
    /// The deployment's distance unit: the cards' distances and the radius field.
    pub unit: DistanceUnit,
    /// When the page is made (next free times are said relative to it).
    pub now: DateTime<Utc>,
}

impl SearchPage {
    pub fn val<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }
    pub fn checked(&self, v: &Option<String>) -> bool {
        matches!(v.as_deref(), Some("true") | Some("on") | Some("1"))
    }
    pub fn verified_any(&self) -> bool {
        matches!(self.q.verified.as_deref(), Some("any") | Some("false"))
    }
    pub fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
    /// "tomorrow, 09:00 New York time": the next free time on the therapist's clock.
    pub fn next_free(&self, hit: &SearchHit) -> Option<String> {
        let t = DateTime::parse_from_rfc3339(hit.next_free_at.as_deref()?).ok()?;
        let tz: Tz = hit
            .timezone
            .as_deref()
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::UTC);
        Some(format::local_time(t.with_timezone(&Utc), tz, self.now))
    }
    /// "3.2 mi", in the deployment's unit (the line's own figure, as the API gives it).
    pub fn distance(&self, hit: &SearchHit) -> Option<String> {
        let value = match self.unit {
            DistanceUnit::Mi => hit.distance_mi,
            DistanceUnit::Km => hit.distance_km,
        };
        value.map(|v| format::distance(v, self.unit))
    }
    /// "Deep tissue, 60 min, $110" (the searched technique's service), else "from $90".
    pub fn price_line(&self, hit: &SearchHit) -> Option<String> {
        match (
            hit.service_technique.as_deref(),
            hit.service_duration_min,
            hit.service_price_cents,
        ) {
            (Some(t), Some(d), Some(p)) => Some(format!(
                "{}, {d} min, {}",
                format::technique_name(t),
                format::money(p)
            )),
            _ => hit
                .price_from_cents
                .map(|p| format!("from {}", format::money(p))),
        }
    }
    /// The profile, at the free times of the searched technique's service when there is one.
    pub fn profile_link(&self, hit: &SearchHit) -> String {
        match hit.service_id {
            Some(s) => format!("/therapists/{}?service={s}#book", hit.id),
            None => format!("/therapists/{}", hit.id),
        }
    }
    /// The radius field's name: `radius_mi` on a page in miles, else `radius_km`.
    pub fn radius_field(&self) -> &'static str {
        match self.unit {
            DistanceUnit::Mi => "radius_mi",
            DistanceUnit::Km => "radius_km",
        }
    }
    /// The radius as asked, in the page's unit (a `radius_km` of an older link converted).
    pub fn radius_value(&self) -> String {
        let asked = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        match self.unit {
            DistanceUnit::Km => asked(&self.q.radius_km).unwrap_or_default(),
            DistanceUnit::Mi => asked(&self.q.radius_mi)
                .or_else(|| {
                    asked(&self.q.radius_km)
                        .and_then(|km| km.parse::<f64>().ok())
                        .filter(|km| km.is_finite())
                        .map(|km| {
                            let mi = (DistanceUnit::Mi.of_km(km) * 10.0).round() / 10.0;
                            mi.to_string()
                        })
                })
                .unwrap_or_default(),
        }
    }
    /// The radius searched when none is given, and the widest, in the page's unit.
    pub fn radius_bounds(&self) -> (f64, f64) {
        match self.unit {
            DistanceUnit::Mi => (DEFAULT_RADIUS_MI, MAX_RADIUS_MI),
            DistanceUnit::Km => (DEFAULT_RADIUS_KM, MAX_RADIUS_KM),
        }
    }
    /// The radius field's message: either unit's (an older link may carry `radius_km`).
    pub fn radius_error(&self) -> Option<&String> {
        self.error("radius_mi").or_else(|| self.error("radius_km"))
    }
    pub fn pages(&self) -> i64 {
        self.result
            .as_ref()
            .map_or(0, |r| (r.total + r.per_page - 1) / r.per_page)
    }
    pub fn page_link(&self, page: i64) -> String {
        if self.base_query.is_empty() {
            format!("/therapists?page={page}")
        } else {
            format!("/therapists?{}&page={page}", self.base_query)
        }
    }
}

pub async fn search(
    req: HttpRequest,
    ctx: PageCtx,
    q: web::Query<SearchQuery>,
) -> PageResult<HttpResponse> {
    let q = q.into_inner();
    let today = Utc::now().date_naive();
    let mut base = q.clone();
    base.page = None;
    let base_query = serde_urlencoded::to_string(&base)
        .unwrap_or_default()
        .split('&')
        .filter(|kv| !kv.ends_with('=') && !kv.is_empty())
        .collect::<Vec<_>>()
        .join("&");
    let mut page = SearchPage {
        ctx,
        q: q.clone(),
        errors: FieldErrors::new(),
        result: None,
        techniques: CATALOGUE,
        languages: LANGUAGES,
        base_query,
        remembered: false,
        price_caps: directory::price_caps(q.max_price.as_deref()),
        unit: app_state(&req).settings.distance_unit,
        now: Utc::now(),
    };
    let remembered = crate::web::remembered_answers(&req);
    page.remembered = remembered.is_some();
    let params = match directory::parse_page_search(&q, today, remembered.as_ref(), page.unit) {
        Ok(p) => p,
        Err(AppError::Validation { fields, .. }) => {
            page.errors = fields;
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(e) => return Err(e.into()),
    };
    let state = app_state(&req);
    match state.search(params, today).await {
        Ok(r) => {
            page.result = Some(r);
            render(StatusCode::OK, &page)
        }
        Err(AppError::Rule { message, .. }) => {
            page.errors.insert("near".into(), message);
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "directory/profile.html")]
pub struct ProfilePage {
    pub ctx: PageCtx,
    pub p: PublicProfile,
    pub license_status: String,
    /// The service whose free times are shown.
    pub service_id: Option<i64>,
    /// Free times by local day: (label, [(start rfc3339, "09:00")]).
    pub days: Vec<(String, Vec<(String, String)>)>,
    pub zone: String,
    pub from: chrono::NaiveDate,
    /// `from` as a person reads it ("today", "Mon 7 Dec").
    pub from_label: String,
    pub next_from: String,
    pub prev_from: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
pub struct ProfileQuery {
    pub service: Option<i64>,
    pub from: Option<chrono::NaiveDate>,
}

impl ProfilePage {
    pub fn is_selected(&self, id: &i64) -> bool {
        self.service_id == Some(*id)
    }
    pub fn trained_in_several(&self) -> bool {
        self.p.techniques.len() >= 2
    }
}

pub async fn profile(
    req: HttpRequest,
    ctx: PageCtx,
    id: web::Path<i64>,
    q: web::Query<ProfileQuery>,
) -> PageResult<HttpResponse> {
    let today = Utc::now().date_naive();
    let id = id.into_inner();
    let state = app_state(&req);
    let p = with_conn(&state.pool, move |conn| {
        directory::public_profile(conn, id, today)
    })
    .await?;
    let license_status = p
        .license
        .as_ref()
        .map(|l| l.license_status(today).to_string())
        .unwrap_or_default();
    let tz: Tz = crate::models::therapist::zone(&p.therapist.timezone);
    let local_today = Utc::now().with_timezone(&tz).date_naive();
    let from = q
        .from
        .unwrap_or(local_today)
        .max(local_today)
        .min(local_today + chrono::Duration::days(365));
    // The chosen service, else the first one.
    let service_id = q
        .service
        .filter(|s| p.services.iter().any(|x| x.id == *s))
        .or(p.services.first().map(|s| s.id));
    let days = match service_id {
        Some(sid) => {
            let (_, slots) = with_conn(&state.pool, move |conn| {
                crate::services::booking::slots(
                    conn,
                    id,
                    sid,
                    from,
                    from + chrono::Duration::days(6),
                    Utc::now(),
                )
            })
            .await?;
            crate::web::format::group_by_day(&slots, tz, Utc::now())
        }
        None => Vec::new(),
    };
    let prev = from - chrono::Duration::days(7);
    render(
        StatusCode::OK,
        &ProfilePage {
            ctx,
            p,
            license_status,
            service_id,
            days,
            zone: zone_city(tz),
            from,
            from_label: format::day_words(from, local_today),
            next_from: (from + chrono::Duration::days(7)).to_string(),
            prev_from: (from > local_today).then(|| prev.max(local_today).to_string()),
        },
    )
}
