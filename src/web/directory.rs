//! Public pages: the technique guide, search results and therapist profiles.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::appointment::cannot_cancel_online;
use crate::domain::gazetteer::DistanceUnit;
use crate::domain::profile::LANGUAGES;
use crate::domain::technique::{Technique, CATALOGUE};
use crate::error::{AppError, FieldErrors};
use crate::services::directory::{
    self, PublicProfile, SearchHit, SearchQuery, SearchResult, DEFAULT_RADIUS_KM,
    DEFAULT_RADIUS_MI, MAX_RADIUS_KM, MAX_RADIUS_MI,
};
use crate::services::with_conn_quick;
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
    /// The minimum ratings offered (`domain::review::MIN_RATING_CHOICES`).
    pub min_ratings: &'static [(&'static str, &'static str)],
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
            hit.service_technique,
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

/// The search page depends on the visitor's self-check cookie (the "suits me" filter), so a
/// cache must key it by cookie; with the answers there, the page (filtered by health answers)
/// is not stored at all.
fn private_to_the_visitor(resp: &mut HttpResponse, has_answers: bool) {
    use actix_web::http::header::{HeaderValue, CACHE_CONTROL, VARY};
    resp.headers_mut()
        .insert(VARY, HeaderValue::from_static("Cookie"));
    if has_answers {
        resp.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
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
        min_ratings: &crate::domain::review::MIN_RATING_CHOICES,
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
            let mut resp = render(StatusCode::OK, &page)?;
            private_to_the_visitor(&mut resp, remembered.is_some());
            Ok(resp)
        }
        Err(AppError::Rule { message, .. }) => {
            page.errors.insert("near".into(), message);
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// A free time as the profile offers it.
#[derive(Debug, Clone)]
pub struct SlotView {
    pub at: DateTime<Utc>,
    /// "09:00" on the therapist's clock.
    pub label: String,
    /// Inside the therapist's cancellation window: "can't be cancelled online" once confirmed
    /// (`domain::appointment::cannot_cancel_online`).
    pub late: bool,
}

/// A local day of free times: a few of them in the strip, all of them on the day's own list.
#[derive(Debug, Clone)]
pub struct DayView {
    pub date: chrono::NaiveDate,
    /// "Tomorrow, Monday 30 November".
    pub heading: String,
    /// The times shown (a few spread over the day in the strip, all on a day's list).
    pub shown: Vec<SlotView>,
    /// How many more the day has ("7 more times").
    pub more: usize,
}

/// How many times a day shows in the strip of the next days.
pub const STRIP_TIMES: usize = 4;
/// How many days the strip shows.
pub const STRIP_DAYS: i64 = 7;
/// Times in the strip are at least this far apart, so that the few shown spread over the day.
const STRIP_SPREAD_MIN: i64 = 120;

/// Up to `n` of a day's times (sorted), spread out: the first, then each next one at least
/// `spread_min` minutes after the last taken; when that leaves fewer than `n`, the earliest of
/// the others fill up (in order).
pub fn spread(times: &[DateTime<Utc>], n: usize, spread_min: i64) -> Vec<usize> {
    let mut picked: Vec<usize> = Vec::new();
    for (i, t) in times.iter().enumerate() {
        if picked.len() == n {
            break;
        }
        match picked.last() {
            Some(&last) if *t - times[last] < chrono::Duration::minutes(spread_min) => {}
            _ => picked.push(i),
        }
    }
    let mut i = 0;
    while picked.len() < n && i < times.len() {
        if !picked.contains(&i) {
            picked.push(i);
        }
        i += 1;
    }
    picked.sort_unstable();
    picked
}

/// The free slots of `dates` by local day, each day even without times; a day keeps all its
/// times when `all`, else a few spread over it ([`spread`]). `slots` are sorted by start.
fn day_views(
    slots: &[crate::domain::availability::Interval],
    dates: impl Iterator<Item = chrono::NaiveDate>,
    tz: Tz,
    now: DateTime<Utc>,
    window_hours: i32,
    all: bool,
) -> Vec<DayView> {
    use chrono::Timelike;
    let today = now.with_timezone(&tz).date_naive();
    // Each start on the therapist's clock, once; sorted by start, so by local date too.
    let local: Vec<(chrono::NaiveDate, chrono::NaiveTime)> = slots
        .iter()
        .map(|s| {
            let l = s.start.with_timezone(&tz).naive_local();
            (l.date(), l.time())
        })
        .collect();
    dates
        .map(|date| {
            let first = local.partition_point(|(d, _)| *d < date);
            let end = local.partition_point(|(d, _)| *d <= date);
            let starts: Vec<DateTime<Utc>> = slots[first..end].iter().map(|s| s.start).collect();
            let keep: Vec<usize> = if all {
                (0..starts.len()).collect()
            } else {
                spread(&starts, STRIP_TIMES, STRIP_SPREAD_MIN)
            };
            DayView {
                date,
                heading: format::day_heading(date, today),
                more: starts.len() - keep.len(),
                shown: keep
                    .into_iter()
                    .map(|i| {
                        let clock = local[first + i].1;
                        SlotView {
                            at: starts[i],
                            label: format!("{:02}:{:02}", clock.hour(), clock.minute()),
                            late: cannot_cancel_online(starts[i], now, window_hours),
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

impl DayView {
    /// Some time shown is inside the cancellation window.
    pub fn any_late(&self) -> bool {
        self.shown.iter().any(|s| s.late)
    }
    /// Some time shown is outside it.
    pub fn any_open(&self) -> bool {
        self.shown.iter().any(|s| !s.late)
    }
}

#[derive(Template)]
#[template(path = "directory/profile.html")]
pub struct ProfilePage {
    pub ctx: PageCtx,
    /// Shared with the profile cache (`services::directory::ProfileCache`).
    pub p: std::sync::Arc<PublicProfile>,
    pub license_status: String,
    /// The service whose free times are shown.
    pub service_id: Option<i64>,
    /// The strip of the next days (a few times each), or the one day asked for (all its times).
    pub days: Vec<DayView>,
    /// A day's full list is shown (`?day=`), not the strip.
    pub one_day: bool,
    pub zone: String,
    /// The IANA name of the therapist's zone (the viewer's clock is put beside it by script).
    pub zone_name: &'static str,
    pub from: chrono::NaiveDate,
    /// `from` as a person reads it ("today", "Mon 7 Dec").
    pub from_label: String,
    pub next_from: String,
    pub prev_from: Option<String>,
    /// The first free time shown, for the "Book" action: (booking link, "tomorrow, 09:00").
    pub first: Option<(String, String)>,
    /// Some shown time is inside the cancellation window.
    pub any_late: bool,
    /// A shown day has no free time: the waitlist form for a client (from that day).
    pub wait: Option<crate::web::waitlist::WaitForm>,
    /// The same for a visitor not logged in: the login link that comes back here.
    pub wait_login: Option<String>,
    /// The average rating to one decimal (None without reviews), and as stars.
    pub rating_avg: Option<f64>,
    pub avg_stars: String,
    /// A page of the reviews (a hidden one only to its author, marked).
    pub reviews: Vec<crate::services::reviews::ReviewView>,
    pub reviews_paging: crate::web::admin::Paging,
}

#[derive(Debug, serde::Deserialize)]
pub struct ProfileQuery {
    pub service: Option<i64>,
    pub from: Option<chrono::NaiveDate>,
    /// One day's full list of times.
    pub day: Option<chrono::NaiveDate>,
    /// The page of the reviews (10 a page; a bad value shows the first).
    pub page: Option<String>,
}

/// Reviews on a page of the profile.
pub const PROFILE_REVIEWS_PER_PAGE: i64 = 10;

impl ProfilePage {
    pub fn is_selected(&self, id: &i64) -> bool {
        self.service_id == Some(*id)
    }
    pub fn trained_in_several(&self) -> bool {
        self.p.techniques.len() >= 2
    }
    /// The booking page of a time of the chosen service.
    pub fn book_link(&self, start: &DateTime<Utc>) -> String {
        book_link(self.p.therapist.id, self.service_id.unwrap_or(0), *start)
    }
    /// A day's full list of times.
    pub fn day_link(&self, date: impl std::fmt::Display) -> String {
        self.link(&format!("day={date}"))
    }
    /// The strip of seven days from `date`.
    pub fn from_link(&self, date: impl std::fmt::Display) -> String {
        self.link(&format!("from={date}"))
    }
    /// No time to show at all.
    pub fn no_times(&self) -> bool {
        self.days.iter().all(|d| d.shown.is_empty())
    }
    /// This profile at the chosen service, with more query (`day=...`, `from=...`).
    pub fn link(&self, more: &str) -> String {
        let id = self.p.therapist.id;
        match (self.service_id, more.is_empty()) {
            (Some(s), false) => format!("/therapists/{id}?service={s}&{more}#book"),
            (Some(s), true) => format!("/therapists/{id}?service={s}#book"),
            (None, _) => format!("/therapists/{id}?{more}#book"),
        }
    }
}

/// The booking page of a time: its start in UTC to the second, percent-encoded
/// (`2026-12-01T14%3A00%3A00Z`), as the booking form reads it back (RFC 3339).
fn book_link(therapist: i64, service: i64, start: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    // Digit by digit rather than through padded formatting: a profile page has 28 of them.
    fn digits(s: &mut String, n: u32, width: u32) {
        for p in (0..width).rev() {
            s.push(char::from(b'0' + (n / 10u32.pow(p) % 10) as u8));
        }
    }
    let mut s = String::with_capacity(64);
    let _ = write!(s, "/book?therapist={therapist}&service={service}&start=");
    digits(&mut s, start.year().clamp(0, 9999) as u32, 4);
    s.push('-');
    digits(&mut s, start.month(), 2);
    s.push('-');
    digits(&mut s, start.day(), 2);
    s.push('T');
    digits(&mut s, start.hour(), 2);
    s.push_str("%3A");
    digits(&mut s, start.minute(), 2);
    s.push_str("%3A");
    digits(&mut s, start.second(), 2);
    s.push('Z');
    s
}

pub async fn profile(
    req: HttpRequest,
    ctx: PageCtx,
    id: web::Path<i64>,
    q: web::Query<ProfileQuery>,
) -> PageResult<HttpResponse> {
    let now = Utc::now();
    let today = now.date_naive();
    let id = id.into_inner();
    let state = app_state(&req);
    let reviews_page = crate::domain::paging::Page {
        page: q
            .page
            .as_deref()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|p| (1..=crate::domain::paging::MAX_PAGE).contains(p))
            .unwrap_or(1),
        per_page: PROFILE_REVIEWS_PER_PAGE,
    };
    let (p, schedule_version) = state.public_profile(id, today).await?;
    let viewer = ctx.user.as_ref().map(|u| u.id);
    let (reviews_total, reviews) = with_conn_quick(&state.pool, state.sqlite(), move |conn| {
        crate::services::reviews::shown_to(conn, id, viewer, reviews_page)
    })
    .await?;
    let rating_avg =
        crate::domain::review::shown_average(p.therapist.rating_sum, p.therapist.rating_count);
    let avg_stars =
        crate::services::reviews::stars(rating_avg.map(|a| a.round() as i32).unwrap_or(0));
    let license_status = p
        .license
        .as_ref()
        .map(|l| l.license_status(today).to_string())
        .unwrap_or_default();
    let tz: Tz = crate::models::therapist::zone(&p.therapist.timezone);
    let local_today = now.with_timezone(&tz).date_naive();
    let last = local_today + chrono::Duration::days(365);
    let day = q.day.map(|d| d.clamp(local_today, last));
    let from = day
        .or(q.from)
        .unwrap_or(local_today)
        .clamp(local_today, last);
    let to = match day {
        Some(d) => d,
        None => from + chrono::Duration::days(STRIP_DAYS - 1),
    };
    // The chosen service, else the first one.
    let service_id = q
        .service
        .filter(|s| p.services.iter().any(|x| x.id == *s))
        .or(p.services.first().map(|s| s.id));
    let days = match service_id {
        Some(sid) => {
            // The engine's slots, kept per schedule version (the API's availability reads the
            // same), with the notice and advance window of `now` applied.
            let raw = state
                .engine
                .slots(
                    &state.pool,
                    state.sqlite(),
                    (id, sid),
                    (from, to),
                    false,
                    schedule_version,
                )
                .await?;
            let slots: Vec<_> = raw.bookable(now).map(|(_, s)| *s).collect();
            day_views(
                &slots,
                from.iter_days().take_while(|d| *d <= to),
                tz,
                now,
                raw.cancellation_window_hours,
                day.is_some(),
            )
        }
        None => Vec::new(),
    };
    let first = days
        .iter()
        .flat_map(|d| d.shown.first().map(|s| (d, s)))
        .next()
        .map(|(_, s)| {
            (
                book_link(id, service_id.unwrap_or(0), s.at),
                format::local_time(s.at, tz, now),
            )
        });
    let any_late = days.iter().any(|d| d.shown.iter().any(|s| s.late));
    // The first shown day without a free time offers the waitlist from that day.
    let empty_day = days.iter().find(|d| d.shown.is_empty()).map(|d| d.date);
    let (mut wait, mut wait_login) = (None, None);
    if let (Some(day), Some(sid)) = (empty_day, service_id) {
        match &ctx.user {
            Some(u) if u.is_client() => {
                wait = Some(crate::web::waitlist::WaitForm::for_day(
                    id,
                    &p.name,
                    &p.services,
                    sid,
                    day,
                ))
            }
            Some(_) => {}
            None => {
                let back = format!("/therapists/{id}?service={sid}&day={day}");
                wait_login = Some(format!(
                    "/login?{}",
                    serde_urlencoded::to_string([("next", back)]).unwrap_or_default()
                ));
            }
        }
    }
    let step = if day.is_some() { 1 } else { STRIP_DAYS };
    let prev = from - chrono::Duration::days(step);
    render(
        StatusCode::OK,
        &ProfilePage {
            ctx,
            p,
            license_status,
            service_id,
            days,
            one_day: day.is_some(),
            zone: zone_city(tz),
            zone_name: tz.name(),
            from,
            from_label: format::day_words(from, local_today),
            next_from: (from + chrono::Duration::days(step)).to_string(),
            prev_from: (from > local_today).then(|| prev.max(local_today).to_string()),
            first,
            any_late,
            wait,
            wait_login,
            rating_avg,
            avg_stars,
            reviews,
            reviews_paging: crate::web::admin::Paging {
                total: reviews_total,
                page: reviews_page.page,
                per_page: reviews_page.per_page,
                base: String::new(),
                path: "",
            },
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_few_times_spread_over_the_day() {
        let at = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).unwrap();
        // 09:00 to 16:45 every 15 minutes.
        let times: Vec<_> = (9..17)
            .flat_map(|h| [0, 15, 30, 45].map(|m| at(h, m)))
            .collect();
        let picked: Vec<_> = spread(&times, 4, 120)
            .into_iter()
            .map(|i| times[i])
            .collect();
        assert_eq!(picked, [at(9, 0), at(11, 0), at(13, 0), at(15, 0)]);
        // A short day fills up with the earliest of the rest.
        let short = [at(9, 0), at(9, 15), at(9, 30)];
        assert_eq!(spread(&short, 4, 120), [0, 1, 2]);
        let some = [at(9, 0), at(9, 15), at(12, 0), at(12, 15), at(12, 30)];
        assert_eq!(spread(&some, 4, 120), [0, 1, 2, 3]);
        assert!(spread(&[], 4, 120).is_empty());
    }

    #[test]
    fn booking_links_encode_the_time() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 14, 5, 9).unwrap();
        let link = book_link(3, 5, at);
        assert_eq!(
            link,
            "/book?therapist=3&service=5&start=2026-12-01T14%3A05%3A09Z"
        );
        // What the booking form's query reads back is the time as RFC 3339.
        let query = link.split_once('?').unwrap().1;
        let fields: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        assert_eq!(
            fields[2],
            (
                "start".into(),
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        );
    }
}
