//! `GET /api/openapi.json`: the OpenAPI 3 description, generated from the handlers.

use actix_web::HttpResponse;
use utoipa::OpenApi;

use crate::api::{
    admin, appointments, auth, calendar, directory, me, schedule, screening, UserOut,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Bodywork API", description = "Massage therapist directory and booking. Errors: {\"error\": {\"code\", \"message\", \"fields\"}}."),
    paths(
        auth::register,
        auth::login,
        auth::logout,
        auth::me,
        me::get_booking_policy,
        me::get_profile,
        me::put_profile,
        me::list_services,
        me::add_service,
        me::update_service,
        me::retire_service,
        me::submit_license,
        me::submit_training,
        me::credentials,
        directory::techniques,
        directory::search,
        directory::therapist,
        admin::licenses,
        admin::dashboard,
        admin::expiring,
        admin::credential_verify,
        admin::credential_reject,
        admin::training,
        admin::therapists,
        admin::therapist,
        admin::suspend,
        admin::reinstate,
        admin::flagged,
        admin::admins,
        admin::invite_admin,
        admin::audit,
        appointments::get,
        appointments::create,
        appointments::my_bookings,
        appointments::my_appointments,
        appointments::my_agenda,
        appointments::my_week,
        appointments::confirm,
        appointments::decline,
        appointments::cancel,
        appointments::complete,
        appointments::no_show,
        appointments::reschedule,
        appointments::access_log,
        appointments::availability,
        calendar::appointment_ics,
        calendar::create_feed,
        calendar::revoke_feed,
        schedule::get_weekly,
        schedule::put_weekly,
        schedule::list_time_off,
        schedule::add_time_off,
        schedule::remove_time_off,
        schedule::put_policy,
        screening::questionnaire,
        screening::evaluate,
    ),
    components(schemas(
        UserOut,
        auth::RegisterBody,
        auth::RegisterOut,
        auth::LoginBody,
        auth::LoginOut,
        me::BookingPolicyOut,
        crate::domain::profile::ProfileInput,
        me::ProfileOut,
        me::ServiceBody,
        me::LicenseBody,
        me::TrainingBody,
        me::CredentialOut,
        me::CredentialsOut,
        me::LicenseRecordOut,
        me::TrainingRecordOut,
        directory::TechniqueOut,
        directory::ServiceOut,
        directory::LicenseOut,
        directory::TherapistOut,
        crate::services::directory::SearchHit,
        admin::LicenseQueueOut,
        admin::DecisionOut,
        admin::TrainingQueueOut,
        admin::ReasonBody,
        admin::DecidedOut,
        admin::ExpiringLicenseOut,
        admin::DashboardOut,
        admin::AdminTherapistOut,
        admin::UpcomingOut,
        admin::AdminTherapistDetailOut,
        admin::StandingOut,
        admin::FlaggedBookingOut,
        admin::AdminBody,
        admin::AuditOut,
        appointments::AppointmentOut,
        appointments::ScreeningOut,
        appointments::ReasonOut,
        appointments::BookBody,
        appointments::AlternativeOut,
        appointments::BookingLine,
        appointments::AgendaOut,
        appointments::WeekOut,
        appointments::WeekDayOut,
        appointments::DaySpanOut,
        appointments::TimeOffSpanOut,
        appointments::ConfirmBody,
        appointments::ReasonBody,
        appointments::RescheduleBody,
        appointments::AccessOut,
        appointments::SlotOut,
        appointments::SlotsOut,
        calendar::FeedOut,
        schedule::TimeOffBody,
        schedule::TimeOffOut,
        crate::domain::schedule::WeeklyRangeInput,
        crate::domain::schedule::PolicyInput,
        screening::QuestionOut,
        screening::QuestionnaireOut,
        screening::GroupOut,
        screening::EvaluateBody,
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
