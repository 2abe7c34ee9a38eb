//! The therapist's own profile, services and credentials.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;

use crate::db::schema::{
    appointments, licenses, services, therapist_techniques, therapists, training_records, users,
};
use crate::db::{write_transaction, DbConnection};
use crate::domain::appointment::AppointmentStatus;
use crate::domain::credential::CredentialStatus;
use crate::domain::gazetteer::{geo_cell, GeoPoint};
use crate::domain::profile::{
    parse_license, parse_profile, parse_service, parse_training, LicenseInput, ProfileInput,
    ServiceInput, StoredPractice, TrainingInput,
};
use crate::error::{AppError, FieldErrors};
use crate::models::audit;
use crate::models::credential::{License, TrainingRecord};
use crate::models::now;
use crate::models::service::{NewService, Service};
use crate::models::therapist::Therapist;
use crate::services::access::{self, Proof};
use crate::services::therapists::own_profile;

/// Recomputes the therapist's search summary from the rows it derives from: verified
/// training hours, the latest expiry among verified licenses, the lowest active price.
/// Every change of credentials or services calls it inside its transaction.
pub fn refresh_summary(conn: &mut DbConnection, therapist_id: i64) -> Result<(), AppError> {
    let hours: Vec<i32> = training_records::table
        .filter(training_records::therapist_id.eq(therapist_id))
        .filter(training_records::status.eq(CredentialStatus::Verified.as_str()))
        .select(training_records::hours)
        .load(conn)?;
    let until: Option<NaiveDate> = licenses::table
        .filter(licenses::therapist_id.eq(therapist_id))
        .filter(licenses::status.eq(CredentialStatus::Verified.as_str()))
        .select(licenses::expires_on)
        .order(licenses::expires_on.desc())
        .first(conn)
        .optional()?;
    let price: Option<i64> = services::table
        .filter(services::therapist_id.eq(therapist_id))
        .filter(services::retired_at.is_null())
        .select(services::price_cents)
        .order(services::price_cents.asc())
        .first(conn)
        .optional()?;
    diesel::update(therapists::table.find(therapist_id))
        .set((
            therapists::verified_hours.eq(hours.iter().sum::<i32>()),
            therapists::license_verified_until.eq(until),
            therapists::price_from_cents.eq(price),
        ))
        .execute(conn)?;
    Ok(())
}

/// Everything the profile form shows.
pub struct OwnProfile {
    pub therapist: Therapist,
    pub name: String,
    pub techniques: Vec<String>,
}

pub fn own(conn: &mut DbConnection, therapist: &access::Therapist) -> Result<OwnProfile, AppError> {
    let user_id = therapist.id();
    let therapist = own_profile(conn, therapist)?;
    let name = users::table.find(user_id).select(users::name).first(conn)?;
    let techniques = techniques_of(conn, therapist.id)?;
    Ok(OwnProfile {
        therapist,
        name,
        techniques,
    })
}

pub fn techniques_of(conn: &mut DbConnection, therapist_id: i64) -> Result<Vec<String>, AppError> {
    Ok(therapist_techniques::table
        .filter(therapist_techniques::therapist_id.eq(therapist_id))
        .select(therapist_techniques::technique_slug)
        .order(therapist_techniques::technique_slug)
        .load(conn)?)
}

/// The practice as stored, which the fields a request leaves out keep.
pub fn stored_practice(t: &Therapist) -> StoredPractice {
    StoredPractice {
        address: t.address.clone(),
        phone: t.phone.clone(),
        mobile: t.mobile,
        mobile_radius_km: t.mobile_radius_km,
    }
}

/// Saves the profile: the practice's address decides `in_studio` in the same transaction.
pub fn update_profile(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    input: &ProfileInput,
) -> Result<(), AppError> {
    let user_id = therapist.id();
    let therapist = own_profile(conn, therapist)?;
    let p = parse_profile(input, &stored_practice(&therapist)).map_err(AppError::validation)?;
    write_transaction(conn, |conn| {
        diesel::update(users::table.find(user_id))
            .set(users::name.eq(p.name.as_str()))
            .execute(conn)?;
        diesel::update(therapists::table.find(therapist.id))
            .set((
                therapists::bio.eq(&p.bio),
                therapists::city.eq(&p.place.name),
                therapists::region.eq(&p.place.state),
                therapists::latitude.eq(p.place.lat),
                therapists::longitude.eq(p.place.lon),
                therapists::geo_cell.eq(geo_cell(GeoPoint {
                    lat: p.place.lat,
                    lon: p.place.lon,
                })),
                therapists::timezone.eq(p.timezone.name()),
                therapists::accepting_new_clients.eq(p.accepting_new_clients),
                therapists::languages.eq(p.languages_column()),
                // The search filter `in_studio` moves with the address, here and only here
                // (the directory's stamp triggers see the change of `in_studio`).
                therapists::in_studio.eq(p.in_studio),
                therapists::mobile.eq(p.mobile),
                therapists::address.eq(&p.address),
                therapists::phone.eq(&p.phone),
                therapists::mobile_radius_km.eq(p.mobile_radius_km),
                therapists::updated_at.eq(now()),
            ))
            .execute(conn)?;
        diesel::delete(
            therapist_techniques::table.filter(therapist_techniques::therapist_id.eq(therapist.id)),
        )
        .execute(conn)?;
        for slug in &p.techniques {
            diesel::insert_into(therapist_techniques::table)
                .values((
                    therapist_techniques::therapist_id.eq(therapist.id),
                    therapist_techniques::technique_slug.eq(*slug),
                ))
                .execute(conn)?;
        }
        audit::record(
            conn,
            Some(user_id),
            "profile.update",
            "therapist",
            Some(therapist.id),
            &format!(
                "profile updated: {}, {} techniques",
                p.place.label(),
                p.techniques.len()
            ),
        )?;
        Ok(())
    })
}

pub fn services_of(
    conn: &mut DbConnection,
    therapist_id: i64,
    include_retired: bool,
) -> Result<Vec<Service>, AppError> {
    let mut q = services::table
        .filter(services::therapist_id.eq(therapist_id))
        .into_boxed();
    if !include_retired {
        q = q.filter(services::retired_at.is_null());
    }
    Ok(q.order((
        services::retired_at.is_not_null(),
        services::technique_slug,
        services::duration_min,
    ))
    .select(Service::as_select())
    .load(conn)?)
}

pub fn add_service(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    input: &ServiceInput,
) -> Result<Service, AppError> {
    let user_id = therapist.id();
    let spec = parse_service(input).map_err(AppError::validation)?;
    let therapist = own_profile(conn, therapist)?;
    let id = write_transaction(conn, |conn| {
        let id = NewService {
            therapist_id: therapist.id,
            technique_slug: spec.technique,
            duration_min: spec.duration_min,
            price_cents: spec.price_cents,
            created_at: now(),
        }
        .insert(conn)?;
        refresh_summary(conn, therapist.id)?;
        audit::record(
            conn,
            Some(user_id),
            "service.create",
            "service",
            Some(id),
            &format!(
                "{} {} min at {} cents",
                spec.technique, spec.duration_min, spec.price_cents
            ),
        )?;
        Ok::<_, AppError>(id)
    })?;
    Ok(Service::find(conn, id)?)
}

/// The therapist's own active service, or 404.
fn own_service(
    conn: &mut DbConnection,
    therapist_id: i64,
    service_id: i64,
) -> Result<Service, AppError> {
    let s = Service::find(conn, service_id)?;
    if s.therapist_id != therapist_id {
        return Err(AppError::NotFound);
    }
    Ok(s)
}

pub fn update_service(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    service_id: i64,
    input: &ServiceInput,
) -> Result<Service, AppError> {
    let user_id = therapist.id();
    let spec = parse_service(input).map_err(AppError::validation)?;
    let therapist = own_profile(conn, therapist)?;
    let s = own_service(conn, therapist.id, service_id)?;
    if s.retired_at.is_some() {
        return Err(AppError::Rule {
            code: "service_retired",
            message: "This service is retired; add a new one instead.".into(),
        });
    }
    write_transaction(conn, |conn| {
        // Upcoming bookings were screened for this technique: it stays (retire and add).
        if spec.technique != s.technique_slug {
            let active: i64 = appointments::table
                .filter(appointments::service_id.eq(service_id))
                .filter(appointments::status.eq_any(AppointmentStatus::active_strs()))
                .filter(appointments::ends_at.gt(now()))
                .count()
                .get_result(conn)?;
            if active > 0 {
                return Err(AppError::FieldRule {
                    code: "service_in_use",
                    message: format!(
                        "{active} upcoming booking(s) of this service were screened for its technique, so the technique cannot change. Retire this service and add one with the new technique; the bookings keep theirs."
                    ),
                    fields: FieldErrors::from([(
                        "technique".to_string(),
                        "Upcoming bookings use this technique: retire the service and add a new one instead.".to_string(),
                    )]),
                });
            }
        }
        diesel::update(services::table.find(service_id))
            .set((
                services::technique_slug.eq(spec.technique),
                services::duration_min.eq(spec.duration_min),
                services::price_cents.eq(spec.price_cents),
            ))
            .execute(conn)?;
        refresh_summary(conn, therapist.id)?;
        audit::record(
            conn,
            Some(user_id),
            "service.update",
            "service",
            Some(service_id),
            &format!(
                "{} {} min at {} cents (was {} {} min at {} cents)",
                spec.technique,
                spec.duration_min,
                spec.price_cents,
                s.technique_slug,
                s.duration_min,
                s.price_cents
            ),
        )?;
        Ok::<_, AppError>(())
    })?;
    Ok(Service::find(conn, service_id)?)
}

/// Retires a service: no new bookings; its past bookings keep pointing at it.
pub fn retire_service(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    service_id: i64,
) -> Result<(), AppError> {
    let user_id = therapist.id();
    let therapist = own_profile(conn, therapist)?;
    let s = own_service(conn, therapist.id, service_id)?;
    if s.retired_at.is_some() {
        return Ok(());
    }
    write_transaction(conn, |conn| {
        diesel::update(services::table.find(service_id))
            .set(services::retired_at.eq(now()))
            .execute(conn)?;
        refresh_summary(conn, therapist.id)?;
        audit::record(
            conn,
            Some(user_id),
            "service.retire",
            "service",
            Some(service_id),
            "service retired",
        )?;
        Ok(())
    })
}

pub fn submit_license(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    input: &LicenseInput,
) -> Result<License, AppError> {
    let user_id = therapist.id();
    let spec = parse_license(input, Utc::now().date_naive()).map_err(AppError::validation)?;
    let therapist = own_profile(conn, therapist)?;
    let id = write_transaction(conn, |conn| {
        let id: i64 = diesel::insert_into(licenses::table)
            .values((
                licenses::therapist_id.eq(therapist.id),
                licenses::jurisdiction.eq(&spec.jurisdiction),
                licenses::number.eq(&spec.number),
                licenses::issuing_body.eq(&spec.issuing_body),
                licenses::expires_on.eq(spec.expires_on),
                licenses::status.eq(CredentialStatus::Submitted.as_str()),
                licenses::submitted_at.eq(now()),
            ))
            .returning(licenses::id)
            .get_result(conn)?;
        audit::record(
            conn,
            Some(user_id),
            "license.submit",
            "license",
            Some(id),
            &format!(
                "license {} ({}) expiring {} submitted",
                spec.number, spec.jurisdiction, spec.expires_on
            ),
        )?;
        Ok::<_, AppError>(id)
    })?;
    Ok(crate::models::credential::find_license(conn, id)?)
}

pub fn submit_training(
    conn: &mut DbConnection,
    therapist: &access::Therapist,
    input: &TrainingInput,
) -> Result<TrainingRecord, AppError> {
    let user_id = therapist.id();
    let spec = parse_training(input, Utc::now().date_naive()).map_err(AppError::validation)?;
    let therapist = own_profile(conn, therapist)?;
    let id = write_transaction(conn, |conn| {
        let id: i64 = diesel::insert_into(training_records::table)
            .values((
                training_records::therapist_id.eq(therapist.id),
                training_records::program.eq(&spec.program),
                training_records::hours.eq(spec.hours),
                training_records::completed_on.eq(spec.completed_on),
                training_records::status.eq(CredentialStatus::Submitted.as_str()),
                training_records::submitted_at.eq(now()),
            ))
            .returning(training_records::id)
            .get_result(conn)?;
        audit::record(
            conn,
            Some(user_id),
            "training.submit",
            "training_record",
            Some(id),
            &format!(
                "training \"{}\" ({} hours) submitted",
                spec.program, spec.hours
            ),
        )?;
        Ok::<_, AppError>(id)
    })?;
    Ok(crate::models::credential::find_training(conn, id)?)
}
