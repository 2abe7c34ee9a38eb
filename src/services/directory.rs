//! The directory: search and public profiles. The client's question is the article's: is this
//! therapist licensed, trained 500 hours or more, offering my technique, near me, free when I am?
//!
//!
//! The search itself (the index, the caches, how a search is answered) is the search engine's:
//! `crate::search`. This module parses what people ask and builds the public profile.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::schema::users;
use crate::db::DbConnection;
use crate::domain::credential::{license_counts, CredentialStatus};
use crate::domain::gazetteer::{self, DistanceUnit};
use crate::domain::paging::Page;
use crate::domain::{profile, screening, technique, FieldErrors};
use crate::error::AppError;
pub use crate::search::engine::{
    search, search_request, search_synced, SearchHit, SearchParams, SearchResult, Sort,
    HOURS_BADGE, MAX_CANDIDATES,
};

pub const DEFAULT_RADIUS_KM: f64 = 25.0;
pub const MAX_RADIUS_KM: f64 = 500.0;
/// The radius of a page searching in miles when none is given (about 24 km).
pub const DEFAULT_RADIUS_MI: f64 = 15.0;
/// The widest radius in miles (about [`MAX_RADIUS_KM`]).
pub const MAX_RADIUS_MI: f64 = 310.0;
pub const MAX_QUERY_CHARS: usize = 100;
/// The highest `max_price` accepted, in cents.
pub const MAX_PRICE_CENTS: i64 = 10_000_000;
/// The choices a page offers for `max_price`, in cents.
pub const PRICE_CAPS_CENTS: [i64; 5] = [6_000, 8_000, 10_000, 12_000, 15_000];
/// How far ahead `available_on` may look, in days.
pub const MAX_DATE_AHEAD_DAYS: i64 = 365;

/// The search parameters as they arrive (query string of the page or the API). Every value is
/// text here, so that a bad one becomes a message next to its field ([`SearchQuery::parse`]); the
/// OpenAPI document describes each with its real type.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// A technique slug (`/api/v1/techniques`).
    pub technique: Option<String>,
    /// A city ("Boston", "Boston, MA") or "lat,lon".
    pub near: Option<String>,
    /// 1 to 500, default 25 (with `near`).
    #[param(value_type = Option<f64>)]
    pub radius_km: Option<String>,
    /// The radius in miles instead of `radius_km`: 1 to 310.
    #[param(value_type = Option<f64>)]
    pub radius_mi: Option<String>,
    /// `true` (default: currently verified licenses only) or `any`.
    pub verified: Option<String>,
    /// Minimum verified training hours (0 to 10000).
    #[param(value_type = Option<i32>)]
    pub min_hours: Option<String>,
    /// YYYY-MM-DD: has a free slot that day.
    pub available_on: Option<String>,
    /// Words in the name or bio.
    pub q: Option<String>,
    /// Accepting new clients only.
    #[param(value_type = Option<bool>)]
    pub accepting: Option<String>,
    /// An ISO 639-1 code, e.g. `es`.
    pub language: Option<String>,
    /// Offers mobile visits.
    #[param(value_type = Option<bool>)]
    pub mobile: Option<String>,
    /// In cents: the therapist's cheapest service costs at most this (1 to 10000000).
    #[param(value_type = Option<i64>)]
    pub max_price: Option<String>,
    /// The average rating is at least this: 1 to 5 (halves allowed, e.g. 4.5); therapists
    /// without reviews are left out.
    #[param(value_type = Option<f64>)]
    pub min_rating: Option<String>,
    /// `distance`, `soonest`, `hours`, `price` or `rating` (best rated first, then more
    /// reviews).
    pub sort: Option<String>,
    /// 1 to 100000, default 1.
    #[param(value_type = Option<i64>)]
    pub page: Option<String>,
    /// 1 to 100, default 20.
    #[param(value_type = Option<i64>)]
    pub per_page: Option<String>,
    /// Pages only: `mine` keeps the techniques that suit the self-check answers kept
    /// (encrypted) in the visitor's session cookie; the answers never travel in the URL.
    #[param(ignore)]
    pub suits: Option<String>,
}

/// The price choices of a search form: [`PRICE_CAPS_CENTS`], and the one asked for when it is
/// another valid amount (so that the form shows what was searched).
pub fn price_caps(asked: Option<&str>) -> Vec<i64> {
    let mut caps = PRICE_CAPS_CENTS.to_vec();
    if let Some(c) = asked.and_then(|s| s.trim().parse::<i64>().ok()) {
        if (1..=MAX_PRICE_CENTS).contains(&c) && !caps.contains(&c) {
            caps.push(c);
            caps.sort_unstable();
        }
    }
    caps
}

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse_flag(errors: &mut FieldErrors, field: &str, v: &Option<String>) -> bool {
    match blank(v).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") | Some("0") | Some("off") | Some("no") => false,
        Some("true") | Some("1") | Some("on") | Some("yes") => true,
        Some(_) => {
            errors.insert(field.into(), "Use true or false.".into());
            false
        }
    }
}

impl SearchQuery {
    /// Parses every parameter, collecting a message per bad field.
    pub fn parse(&self, today: NaiveDate) -> Result<SearchParams, AppError> {
        let mut e = FieldErrors::new();
        let technique = match blank(&self.technique) {
            None => None,
            Some(s) => match technique::find(s) {
                Some(t) => Some(t.slug),
                None => {
                    e.insert(
                        "technique".into(),
                        format!("\"{s}\" is not a technique we list."),
                    );
                    None
                }
            },
        };
        let near = match blank(&self.near) {
            None => None,
            Some(s) => gazetteer::resolve_near(s)
                .map_err(|m| e.insert("near".into(), m))
                .ok(),
        };
        let radius_km = match (blank(&self.radius_km), blank(&self.radius_mi)) {
            (None, None) => DEFAULT_RADIUS_KM,
            (Some(_), Some(_)) => {
                e.insert(
                    "radius_mi".into(),
                    "Give the radius in km or in miles, not both.".into(),
                );
                DEFAULT_RADIUS_KM
            }
            (Some(s), None) => match s.parse::<f64>() {
                Ok(r) if r.is_finite() && (1.0..=MAX_RADIUS_KM).contains(&r) => r,
                _ => {
                    e.insert(
                        "radius_km".into(),
                        format!("The radius is 1 to {MAX_RADIUS_KM} km."),
                    );
                    DEFAULT_RADIUS_KM
                }
            },
            (None, Some(s)) => match s.parse::<f64>() {
                Ok(r) if r.is_finite() && (1.0..=MAX_RADIUS_MI).contains(&r) => {
                    DistanceUnit::Mi.to_km(r)
                }
                _ => {
                    e.insert(
                        "radius_mi".into(),
                        format!("The radius is 1 to {MAX_RADIUS_MI} miles."),
                    );
                    DEFAULT_RADIUS_KM
                }
            },
        };
        if (blank(&self.radius_km).is_some() || blank(&self.radius_mi).is_some())
            && blank(&self.near).is_none()
        {
            e.insert(
                "near".into(),
                "Say near where, for a radius to mean something.".into(),
            );
        }
        let verified_only = match blank(&self.verified)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("true") | Some("1") | Some("on") => true,
            Some("any") | Some("false") | Some("0") => false,
            Some(_) => {
                e.insert(
                    "verified".into(),
                    "Use true (verified licenses only) or any.".into(),
                );
                true
            }
        };
        let min_hours = match blank(&self.min_hours) {
            None => None,
            Some(s) => match s.parse::<i32>() {
                Ok(h) if (0..=10_000).contains(&h) => Some(h).filter(|h| *h > 0),
                _ => {
                    e.insert(
                        "min_hours".into(),
                        "Minimum training hours is a whole number from 0 to 10000.".into(),
                    );
                    None
                }
            },
        };
        let available_on = match blank(&self.available_on) {
            None => None,
            Some(s) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) if d < today => {
                    e.insert(
                        "available_on".into(),
                        "Choose today or a later date.".into(),
                    );
                    None
                }
                Ok(d) if (d - today).num_days() > MAX_DATE_AHEAD_DAYS => {
                    e.insert(
                        "available_on".into(),
                        "Choose a date within the next year.".into(),
                    );
                    None
                }
                Ok(d) => Some(d),
                Err(_) => {
                    e.insert("available_on".into(), "Enter a date as YYYY-MM-DD.".into());
                    None
                }
            },
        };
        let words = match blank(&self.q) {
            None => Vec::new(),
            Some(s) if s.chars().count() > MAX_QUERY_CHARS => {
                e.insert(
                    "q".into(),
                    format!("Search words have at most {MAX_QUERY_CHARS} characters."),
                );
                Vec::new()
            }
            Some(s) => s
                .split_whitespace()
                .take(8)
                .map(str::to_lowercase)
                .collect(),
        };
        let accepting_only = parse_flag(&mut e, "accepting", &self.accepting);
        let mobile_only = parse_flag(&mut e, "mobile", &self.mobile);
        let language = match blank(&self.language) {
            None => None,
            Some(s) => {
                let code = s.to_ascii_lowercase();
                match profile::LANGUAGES
                    .iter()
                    .find(|(c, n)| *c == code || n.eq_ignore_ascii_case(s))
                {
                    Some((c, _)) => Some(*c),
                    None => {
                        e.insert(
                            "language".into(),
                            format!("\"{s}\" is not a language we list."),
                        );
                        None
                    }
                }
            }
        };
        let max_price_cents = match blank(&self.max_price) {
            None => None,
            Some(s) => match s.parse::<i64>() {
                Ok(c) if (1..=MAX_PRICE_CENTS).contains(&c) => Some(c),
                _ => {
                    e.insert(
                        "max_price".into(),
                        format!("The highest price is a whole number of cents from 1 to {MAX_PRICE_CENTS}."),
                    );
                    None
                }
            },
        };
        let min_rating = match blank(&self.min_rating) {
            None => None,
            Some(s) => match s.parse::<f64>() {
                Ok(r) if r.is_finite() && (1.0..=5.0).contains(&r) => Some(r),
                _ => {
                    e.insert(
                        "min_rating".into(),
                        "The minimum rating is a number of stars from 1 to 5.".into(),
                    );
                    None
                }
            },
        };
        let sort = match blank(&self.sort) {
            None if near.is_some() => Sort::Distance,
            None => Sort::Hours,
            Some("distance") => {
                if blank(&self.near).is_none() {
                    e.insert(
                        "sort".into(),
                        "Sorting by distance needs a place (near).".into(),
                    );
                }
                Sort::Distance
            }
            Some("soonest") => Sort::Soonest,
            Some("hours") => Sort::Hours,
            Some("price") => Sort::Price,
            Some("rating") => Sort::Rating,
            Some(_) => {
                e.insert(
                    "sort".into(),
                    "Sort by distance, soonest, hours, price or rating.".into(),
                );
                Sort::Hours
            }
        };
        let Page { page, per_page } =
            Page::parse_into(self.page.as_deref(), self.per_page.as_deref(), &mut e);
        if !e.is_empty() {
            return Err(AppError::validation(e));
        }
        Ok(SearchParams {
            technique,
            near,
            radius_km,
            verified_only,
            min_hours,
            available_on,
            words,
            accepting_only,
            language,
            mobile_only,
            max_price_cents,
            min_rating,
            sort,
            page,
            per_page,
            techniques_any: None,
        })
    }
}

/// The page's search: [`SearchQuery::parse`], in the deployment's distance unit (a page in
/// miles searches [`DEFAULT_RADIUS_MI`] when no radius is given, as its form says), then the
/// "suits my answers" filter (`suits=mine`): the techniques the self-check answers remembered in
/// the visitor's session allow (`domain::screening::suitable_techniques`). Without remembered
/// answers that is a field error on `suits`; incomplete answers leave the filter out.
pub fn parse_page_search(
    q: &SearchQuery,
    today: NaiveDate,
    remembered: Option<&BTreeMap<String, bool>>,
    unit: DistanceUnit,
) -> Result<SearchParams, AppError> {
    let mut p = q.parse(today)?;
    if unit == DistanceUnit::Mi && blank(&q.radius_km).is_none() && blank(&q.radius_mi).is_none() {
        p.radius_km = DistanceUnit::Mi.to_km(DEFAULT_RADIUS_MI);
    }
    if q.suits.as_deref() == Some("mine") {
        match remembered {
            Some(answers) => {
                p.techniques_any =
                    screening::suitable_techniques(screening::questionnaire(), answers).ok();
            }
            None => {
                return Err(AppError::field(
                    "suits",
                    "Answer the self-check first: your answers stay in this browser session only.",
                ))
            }
        }
    }
    Ok(p)
}

/// A therapist's public profile: what a client needs to decide.
pub struct PublicProfile {
    pub therapist: crate::models::therapist::Therapist,
    pub name: String,
    pub techniques: Vec<&'static technique::Technique>,
    pub services: Vec<crate::models::service::Service>,
    /// The license that counts: the verified one expiring last, else the latest submission.
    pub license: Option<crate::models::credential::License>,
    pub license_verified: bool,
    pub training_hours: i32,
    pub hours_verified: bool,
    pub languages: Vec<&'static str>,
    /// The therapist's cancellation window: a confirmed booking starting sooner than this can't
    /// be cancelled or moved online by its client (`domain::appointment::cannot_cancel_online`).
    pub cancellation_window_hours: i32,
    /// The therapist's photo, if they have one.
    pub photo: Option<crate::services::photos::PhotoUrls>,
}

impl PublicProfile {
    pub fn city_label(&self) -> Option<String> {
        self.therapist
            .city
            .as_ref()
            .map(|c| match &self.therapist.region {
                Some(r) => format!("{c}, {r}"),
                None => c.clone(),
            })
    }

    pub fn offers(&self, slug: &str) -> bool {
        self.techniques.iter().any(|t| t.slug == slug)
    }
}

/// The profile of a therapist who is not suspended, or 404.
pub fn public_profile(
    conn: &mut DbConnection,
    id: i64,
    today: NaiveDate,
) -> Result<PublicProfile, AppError> {
    let therapist = crate::models::therapist::Therapist::find(conn, id)?;
    if therapist.suspended_at.is_some() {
        return Err(AppError::NotFound);
    }
    let name = users::table
        .find(therapist.user_id)
        .select(users::name)
        .first(conn)?;
    let slugs = crate::services::profile::techniques_of(conn, id)?;
    let mut techniques: Vec<&'static technique::Technique> =
        slugs.iter().filter_map(|s| technique::find(s)).collect();
    techniques.sort_by_key(|t| technique::CATALOGUE.iter().position(|c| c.slug == t.slug));
    let services = crate::services::profile::services_of(conn, id, false)?;
    let licenses = crate::models::credential::licenses_of(conn, id)?;
    let license = licenses
        .iter()
        .filter(|l| l.status() == CredentialStatus::Verified)
        .max_by_key(|l| l.expires_on)
        .or_else(|| licenses.first())
        .cloned();
    let license_verified = license_counts(therapist.license_verified_until, today);
    let languages = therapist
        .languages
        .split(',')
        .filter_map(profile::language_name)
        .collect();
    let cancellation_window_hours =
        crate::models::booking_policy::BookingPolicy::find(conn, id)?.cancellation_window_hours;
    Ok(PublicProfile {
        cancellation_window_hours,
        name,
        techniques,
        services,
        license,
        license_verified,
        training_hours: therapist.verified_hours,
        hours_verified: therapist.verified_hours >= HOURS_BADGE,
        languages,
        photo: crate::services::photos::PhotoUrls::of(therapist.id, therapist.photo_version),
        therapist,
    })
}

/// How many public profiles are kept in memory (a few KB each).
const KEPT_PROFILES: usize = 20_000;

/// A profile with what it was read at.
#[derive(Clone)]
struct KeptProfile {
    /// The therapist's directory stamp and schedule version in the directory index, synced
    /// before the profile was read (so the profile is at least that recent).
    at: (i64, i64),
    /// The day the license's "verified" was decided for (`license_counts`).
    today: NaiveDate,
    profile: Arc<PublicProfile>,
}

/// Public profiles kept in memory (the profile page, the booking form, the API's profile), each
/// under the therapist's directory stamp and schedule version it was read at. Everything a
/// profile shows moves one of the two in the transaction that changes it (database triggers: the
/// stamp follows the therapist's columns, the user's name and the licenses; the schedule version
/// follows the services, the booking policy and the time zone), and a request reuses a profile
/// only when the directory index, synced after the request arrived, has the therapist at that
/// very stamp and version, and for the same day. So a kept profile is never stale.
pub struct ProfileCache(quick_cache::sync::Cache<i64, KeptProfile>);

impl Default for ProfileCache {
    fn default() -> Self {
        ProfileCache(quick_cache::sync::Cache::new(KEPT_PROFILES))
    }
}

impl ProfileCache {
    fn kept(&self, id: i64, at: (i64, i64), today: NaiveDate) -> Option<Arc<PublicProfile>> {
        self.0
            .get(&id)
            .filter(|k| k.at == at && k.today == today)
            .map(|k| k.profile)
    }

    /// Reads the profile and keeps it under `at` (None: a suspended or unknown therapist, whose
    /// answer is not kept).
    fn read(
        &self,
        conn: &mut DbConnection,
        id: i64,
        at: Option<(i64, i64)>,
        today: NaiveDate,
    ) -> Result<Arc<PublicProfile>, AppError> {
        let profile = Arc::new(public_profile(conn, id, today)?);
        if let Some(at) = at {
            self.0.insert(
                id,
                KeptProfile {
                    at,
                    today,
                    profile: profile.clone(),
                },
            );
        }
        Ok(profile)
    }
}

/// The therapist's (directory stamp, schedule version) in a synced index, when listed and not
/// suspended.
fn profile_version(index: &crate::search::index::Index, id: i64) -> Option<(i64, i64)> {
    index
        .get(id)
        .filter(|e| !e.suspended)
        .map(|e| (e.stamp(), e.schedule_version))
}

/// [`public_profile`] for a request, from memory when kept at the therapist's current version
/// ([`ProfileCache`]), with the therapist's schedule version in the index synced for it (None
/// when not listed or suspended), which the caller may hand to the slots of the same request. The directory index is synced first, as a search's is: on SQLite on the
/// request's thread, where a profile not kept is also read (indexed reads); on PostgreSQL the
/// request waits for a sync begun after it arrived, and a profile not kept is read on the
/// blocking pool.
pub async fn public_profile_request(
    pool: &crate::db::Pool,
    sqlite: bool,
    directory: &Arc<crate::search::DirectoryIndex>,
    cache: &Arc<ProfileCache>,
    id: i64,
    today: NaiveDate,
) -> Result<(Arc<PublicProfile>, Option<i64>), AppError> {
    let (directory, cache) = (directory.clone(), cache.clone());
    if !sqlite {
        directory.synced(pool).await?;
        let at = profile_version(&directory.read(), id);
        let version = at.map(|(_, v)| v);
        if let Some(p) = at.and_then(|at| cache.kept(id, at, today)) {
            return Ok((p, version));
        }
        let p = crate::db::with_conn(pool, move |conn| cache.read(conn, id, at, today)).await?;
        return Ok((p, version));
    }
    crate::db::with_conn_quick(pool, true, move |conn| {
        let index = directory.sync(conn)?;
        let at = profile_version(&index, id);
        drop(index);
        let version = at.map(|(_, v)| v);
        if let Some(p) = at.and_then(|at| cache.kept(id, at, today)) {
            return Ok((p, version));
        }
        Ok((cache.read(conn, id, at, today)?, version))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(km: Option<&str>, mi: Option<&str>) -> SearchQuery {
        SearchQuery {
            near: Some("Boston".into()),
            radius_km: km.map(Into::into),
            radius_mi: mi.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn a_radius_in_miles_is_searched_in_km_and_a_page_in_miles_defaults_to_15_miles() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let p = near(None, Some("10")).parse(today).unwrap();
        assert!((p.radius_km - 16.09344).abs() < 1e-9);
        let p = near(None, None).parse(today).unwrap();
        assert_eq!(
            p.radius_km, DEFAULT_RADIUS_KM,
            "the API's default stays 25 km"
        );
        let page = |q: SearchQuery, unit| parse_page_search(&q, today, None, unit).unwrap();
        assert!((page(near(None, None), DistanceUnit::Mi).radius_km - 24.14016).abs() < 1e-9);
        assert_eq!(
            page(near(None, None), DistanceUnit::Km).radius_km,
            DEFAULT_RADIUS_KM
        );
        assert_eq!(
            page(near(Some("10"), None), DistanceUnit::Mi).radius_km,
            10.0
        );
        for (km, mi) in [
            (None, Some("311")),
            (None, Some("x")),
            (Some("5"), Some("5")),
        ] {
            match near(km, mi).parse(today) {
                Err(AppError::Validation { fields, .. }) => {
                    assert!(
                        fields.contains_key("radius_mi"),
                        "{km:?} {mi:?}: {fields:?}"
                    )
                }
                other => panic!("{km:?} {mi:?}: {other:?}"),
            }
        }
    }
}
