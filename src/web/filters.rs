//! The askama filters of the page templates, defined once: `{{ cents|money }}`,
//! `{{ at|utc }}` (admin pages' audit stamps only), `{{ at|local_time(tz) }}` (every other time a
//! page shows), `{{ start|local_span(end, tz) }}`, `{{ tz|zone_city }}`,
//! `{{ slug|technique_name }}`.
//! A module that derives templates brings them in scope with `use crate::web::filters;`.
//!
//! Templates hand a filter its input and arguments by reference, one level deeper inside loops
//! and `if let`: the small traits below take a value at any depth of references.

use askama::Values;
use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

/// An amount in cents.
pub trait Cents {
    fn cents(&self) -> i64;
}

impl Cents for i64 {
    fn cents(&self) -> i64 {
        *self
    }
}

impl<T: Cents + ?Sized> Cents for &T {
    fn cents(&self) -> i64 {
        (**self).cents()
    }
}

/// An instant: a `NaiveDateTime` in UTC (as stored) or a `DateTime<Utc>`.
pub trait Instant {
    fn instant(&self) -> DateTime<Utc>;
}

impl Instant for NaiveDateTime {
    fn instant(&self) -> DateTime<Utc> {
        self.and_utc()
    }
}

impl Instant for DateTime<Utc> {
    fn instant(&self) -> DateTime<Utc> {
        *self
    }
}

impl<T: Instant + ?Sized> Instant for &T {
    fn instant(&self) -> DateTime<Utc> {
        (**self).instant()
    }
}

/// A time zone: a `Tz`, or an IANA name as stored (UTC when it is not one).
pub trait Zone {
    fn zone(&self) -> Tz;
}

impl Zone for Tz {
    fn zone(&self) -> Tz {
        *self
    }
}

impl Zone for str {
    fn zone(&self) -> Tz {
        self.parse().unwrap_or(chrono_tz::UTC)
    }
}

impl Zone for String {
    fn zone(&self) -> Tz {
        self.as_str().zone()
    }
}

impl<T: Zone + ?Sized> Zone for &T {
    fn zone(&self) -> Tz {
        (**self).zone()
    }
}

/// `{{ cents|money }}`: "$90", "$92.50".
#[askama::filter_fn]
pub fn money<C: Cents>(cents: C, _: &dyn Values) -> askama::Result<String> {
    Ok(crate::web::format::money(cents.cents()))
}

/// `{{ at|utc }}`: "2026-12-01 14:05 UTC".
#[askama::filter_fn]
pub fn utc<T: Instant>(at: T, _: &dyn Values) -> askama::Result<String> {
    Ok(crate::web::format::utc(&at.instant().naive_utc()))
}

/// `{{ at|local_time(tz) }}`: "tomorrow, 09:00 New York time", "Tue 8 Dec, 09:00 New York time"
/// (`web::format::local_time`, seen from now).
#[askama::filter_fn]
pub fn local_time<T: Instant, Z: Zone>(at: T, _: &dyn Values, tz: Z) -> askama::Result<String> {
    Ok(crate::web::format::local_time(
        at.instant(),
        tz.zone(),
        Utc::now(),
    ))
}

/// `{{ at|rfc3339 }}`: the instant in RFC 3339, UTC ("2026-11-30T14:00:00Z"), for a `data-at`.
#[askama::filter_fn]
pub fn rfc3339<T: Instant>(at: T, _: &dyn Values) -> askama::Result<String> {
    Ok(at
        .instant()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// `{{ tz|zone_name }}`: the IANA name ("America/New_York"), for a `data-zone`.
#[askama::filter_fn]
pub fn zone_name<Z: Zone>(tz: Z, _: &dyn Values) -> askama::Result<&'static str> {
    Ok(tz.zone().name())
}

/// `{{ start|local_span(end, tz) }}`: "Tue 8 Dec, 09:00 to 17:00 New York time".
#[askama::filter_fn]
pub fn local_span<T: Instant, E: Instant, Z: Zone>(
    start: T,
    _: &dyn Values,
    end: E,
    tz: Z,
) -> askama::Result<String> {
    Ok(crate::web::format::local_span(
        start.instant(),
        end.instant(),
        tz.zone(),
        Utc::now(),
    ))
}

/// `{{ tz|zone_city }}`: "New York".
#[askama::filter_fn]
pub fn zone_city<Z: Zone>(tz: Z, _: &dyn Values) -> askama::Result<String> {
    Ok(crate::web::format::zone_city(tz.zone()))
}

/// `{{ slug|technique_name }}`: the catalogue's name, or the slug itself when not listed.
#[askama::filter_fn]
pub fn technique_name<S: AsRef<str>>(slug: S, _: &dyn Values) -> askama::Result<String> {
    Ok(crate::web::format::technique_name(slug.as_ref()).to_string())
}

/// `{{ phone|tel }}`: the `tel:` link of a phone number (its digits, and a leading `+`).
#[askama::filter_fn]
pub fn tel<S: AsRef<str>>(phone: S, _: &dyn Values) -> askama::Result<String> {
    Ok(crate::domain::practice::tel_uri(phone.as_ref()))
}
