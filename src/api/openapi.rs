//! `GET /api/openapi.json`: the OpenAPI 3 description, generated from the handlers.

use actix_web::HttpResponse;
use utoipa::{OpenApi, ToSchema};

use crate::api::{
    account, admin, appointments, auth, calendar, courses, directory, me, notes, notifications,
    reviews, schedule, screening, totp, waitlist, UserOut,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Bodywork API", description = "Massage therapist directory and booking. Errors: {\"error\": {\"code\", \"message\", \"fields\"}}. An admin who has not set up two-factor sign-in (POST /api/v1/me/totp) gets 403 totp_enrolment_required on every route but GET /api/v1/me, /api/v1/me/totp* and POST /api/v1/auth/logout."),
    paths(
        auth::register,
        auth::login,
        auth::logout,
        auth::me,
        totp::status,
        totp::start,
        totp::confirm,
        totp::disable,
        notifications::get_notifications,
        notifications::put_notifications,
        auth::verify_email,
        auth::resend_verification,
        auth::password_reset,
        auth::password_reset_confirm,
        auth::accept_invite,
        account::change_password,
        account::change_email,
        account::export,
        account::delete_me,
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
        me::put_photo,
        me::delete_photo,
        me::hours,
        directory::techniques,
        directory::search,
        directory::therapist,
        admin::licenses,
        admin::dashboard,
        admin::expiring,
        admin::stats_bookings,
        admin::stats_expiring,
        admin::stats_queue_age,
        admin::credential_verify,
        admin::credential_reject,
        admin::training,
        admin::therapists,
        admin::therapist,
        admin::suspend,
        admin::reinstate,
        admin::cancel_upcoming,
        admin::flagged,
        admin::outbox,
        admin::outbox_send_again,
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
        notes::get,
        notes::put,
        reviews::create,
        reviews::list,
        reviews::reply,
        reviews::hide,
        reviews::admin_list,
        notes::list,
        notes::file,
        appointments::availability,
        appointments::enter,
        appointments::answer_screening,
        appointments::keep,
        courses::create,
        courses::get,
        courses::cancel,
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
        waitlist::join,
        waitlist::mine,
        waitlist::remove,
        crate::api::ops::readyz,
        crate::api::ops::metrics,
    ),
    components(schemas(
        UserOut,
        crate::api::ops::ReadyOut,
        auth::RegisterBody,
        auth::RegisterOut,
        auth::LoginBody,
        auth::LoginOut,
        totp::TotpStatusOut,
        totp::TotpEnrolmentOut,
        totp::TotpCodeBody,
        totp::RecoveryCodesOut,
        totp::TotpDisableBody,
        auth::TokenBody,
        auth::EmailBody,
        auth::TokenPasswordBody,
        account::PasswordChangeBody,
        account::EmailChangeBody,
        account::DeleteAccountBody,
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
        crate::services::photos::PhotoUrls,
        me::HoursOut,
        me::WeekHoursOut,
        admin::WeeklyCountsOut,
        admin::WeekCountOut,
        admin::QueueAgeOut,
        crate::domain::stats::AgeGroup,
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
        admin::CancelledUpcomingOut,
        admin::FlaggedBookingOut,
        admin::OutboxOut,
        admin::SentAgainOut,
        notifications::NotificationsBody,
        admin::AdminBody,
        admin::AuditOut,
        appointments::AppointmentOut,
        notes::ClientOut,
        notes::ClientAppointmentOut,
        notes::ClientFileOut,
        notes::NotesBody,
        notes::NoteVersionOut,
        notes::NotesOut,
        reviews::ReviewBody,
        reviews::ReplyBody,
        reviews::HideBody,
        reviews::ReplyOut,
        reviews::ReviewOut,
        appointments::ScreeningOut,
        appointments::ReasonOut,
        appointments::BookBody,
        appointments::EnterBody,
        appointments::AnswerBody,
        appointments::KeepBody,
        appointments::AlternativeOut,
        courses::CourseBody,
        courses::CourseBookedOut,
        courses::CourseSessionOut,
        courses::SkippedOut,
        courses::CourseOut,
        courses::CourseCancelBody,
        courses::CourseCancelOut,
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
        waitlist::WaitlistBody,
        waitlist::CreatedOut,
        waitlist::WaitlistEntryOut,
        waitlist::WaitlistListOut,
        ErrorOut,
        ErrorDetailOut,
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

/// Every error answer of the API: `{"error": {"code", "message", "fields", "screening"}}`
/// (what `error::json_error` writes).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorOut {
    pub error: ErrorDetailOut,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetailOut {
    /// A stable code (`validation_failed`, `not_found`, `slot_taken`, ...): the responses name
    /// the codes each operation can give.
    pub code: String,
    /// What went wrong, in words a person can read.
    pub message: String,
    /// A message per field of the input, for `validation_failed` and other field rules.
    pub fields: Option<std::collections::BTreeMap<String, String>>,
    /// The screening's result, for a booking the answers refused (`screening_*` codes).
    #[schema(value_type = Option<Object>)]
    pub screening: Option<serde_json::Value>,
    /// `screening_decline` of a booking: this therapist's services in the suggested
    /// techniques ([AlternativeOut]).
    #[schema(value_type = Option<Vec<Object>>)]
    pub alternatives: Option<Vec<serde_json::Value>>,
    /// `course_conflict`: the sessions that could not be booked.
    #[schema(value_type = Option<Vec<Object>>)]
    pub conflicts: Option<Vec<serde_json::Value>>,
}

/// Who may call an operation, as the route table declares it (`startup::route_table`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Anyone (a route of its own token counts as this).
    Anyone,
    /// Any holder of a live bearer token but an admin without two-factor sign-in.
    Signed,
    /// Any holder of a live bearer token (the two-factor setup, `/api/v1/me`, logout).
    Enrolling,
    /// Only this role.
    Only(crate::domain::account::Role),
}

/// One route of `/api` as the route table declares it: `path` as OpenAPI writes it
/// ([`openapi_path`]).
#[derive(Debug, Clone)]
pub struct Declared {
    pub method: String,
    pub path: String,
    pub caller: Caller,
}

/// The document served at `/api/openapi.json`: the handlers' annotations, and what every
/// operation of `/api/v1` shares, written once here from the route table's declarations
/// instead of on each handler: the bearer requirement, the path parameters (`{id}` is an
/// integer), the errors the guards and extractors give (401 without a live token, 403 for
/// another role, 400 for a body or query that cannot be read, 413 for a body over the limit,
/// 404 for an id that names nothing, 503 when the database is busy), the paging bounds with
/// their 422, and the error body on every 4xx and 5xx answer.
pub fn document(routes: &[Declared]) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    conventions(&mut doc, routes);
    doc
}

fn conventions(openapi: &mut utoipa::openapi::OpenApi, routes: &[Declared]) {
    use crate::domain::account::Role;
    use crate::domain::paging::{MAX_PAGE, MAX_PER_PAGE};
    use utoipa::openapi::path::{HttpMethod, ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, Response};

    for (path, item) in openapi.paths.paths.iter_mut() {
        let ops = [
            (HttpMethod::Get, &mut item.get),
            (HttpMethod::Put, &mut item.put),
            (HttpMethod::Post, &mut item.post),
            (HttpMethod::Delete, &mut item.delete),
            (HttpMethod::Patch, &mut item.patch),
        ];
        for (method, op) in ops {
            let Some(op) = op.as_mut() else { continue };
            let access = routes
                .iter()
                .find(|r| r.method.eq_ignore_ascii_case(method_name(&method)) && r.path == *path)
                .map(|r| r.caller);
            // The path's parameters the handler's annotation does not name.
            let named: Vec<String> = op
                .parameters
                .iter()
                .flatten()
                .filter(|p| p.parameter_in == ParameterIn::Path)
                .map(|p| p.name.clone())
                .collect();
            let in_path = path_params(path);
            for name in &in_path {
                if named.contains(name) {
                    continue;
                }
                let schema = ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)));
                op.parameters.get_or_insert_with(Vec::new).push(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(schema))
                        .build(),
                );
            }
            // `page` and `per_page` by the one paging policy (`domain::paging`).
            let mut paged = false;
            for p in op.parameters.iter_mut().flatten() {
                let max = match (&p.parameter_in, p.name.as_str()) {
                    (ParameterIn::Query, "page") => MAX_PAGE,
                    (ParameterIn::Query, "per_page") => MAX_PER_PAGE,
                    _ => continue,
                };
                paged = true;
                p.schema = Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                        .minimum(Some(1))
                        .maximum(Some(max))
                        .into(),
                );
            }
            let has_query = op
                .parameters
                .iter()
                .flatten()
                .any(|p| p.parameter_in == ParameterIn::Query);
            let has_body = op.request_body.is_some();
            let mut common: Vec<(&str, &str)> = Vec::new();
            if has_body || has_query {
                common.push((
                    "400",
                    "bad_request: a body or query that cannot be read (malformed JSON, a wrong type, a missing field)",
                ));
            }
            match access {
                Some(Caller::Signed) => {
                    common.push(("401", "unauthorized: no live bearer token"));
                    common.push((
                        "403",
                        "totp_enrolment_required: an admin who has not set up two-factor sign-in",
                    ));
                }
                Some(Caller::Enrolling) => {
                    common.push(("401", "unauthorized: no live bearer token"));
                }
                Some(Caller::Only(role)) => {
                    common.push(("401", "unauthorized: no live bearer token"));
                    common.push((
                        "403",
                        match role {
                            Role::Admin => "forbidden: only an admin may (totp_enrolment_required: an admin who has not set up two-factor sign-in)",
                            Role::Therapist => "forbidden: only a therapist may",
                            Role::Client => "forbidden: only a client may",
                        },
                    ));
                }
                _ => {}
            }
            if paged {
                common.push((
                    "422",
                    "validation_failed: `page` or `per_page` out of its range (`fields` names it)",
                ));
            }
            if !in_path.is_empty() {
                common.push((
                    "404",
                    "not_found: no such id (or not one the caller may see)",
                ));
            }
            if has_body {
                common.push(("413", "payload_too_large: the body is over the limit"));
            }
            common.push((
                "503",
                "unavailable: the database is busy; the same request again will go through",
            ));
            for (status, description) in common {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| RefOr::T(Response::new(description)));
            }
            // Every error answer has the error body.
            for (status, response) in op.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                if status.starts_with(['4', '5']) && response.content.is_empty() {
                    response.content.insert(
                        "application/json".into(),
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorOut")))
                            .build(),
                    );
                }
            }
            if matches!(
                access,
                Some(Caller::Signed | Caller::Enrolling | Caller::Only(_))
            ) {
                op.security = Some(vec![SecurityRequirement::new(
                    "bearer",
                    Vec::<String>::new(),
                )]);
            }
        }
    }
}

fn method_name(m: &utoipa::openapi::path::HttpMethod) -> &'static str {
    use utoipa::openapi::path::HttpMethod;
    match m {
        HttpMethod::Get => "GET",
        HttpMethod::Put => "PUT",
        HttpMethod::Post => "POST",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Head => "HEAD",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Trace => "TRACE",
    }
}

/// A route table path as OpenAPI writes it: `{queue:licenses|training}` → `{queue}`.
pub fn openapi_path(route: &str) -> String {
    route
        .split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.split_once(':')) {
                Some((name, _)) => format!("{{{name}}}"),
                None => seg.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// The names of a path's `{parameters}`.
fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|seg| {
            let name = seg.strip_prefix('{')?.split('}').next()?;
            Some(name.to_string())
        })
        .collect()
}

/// `GET /api/openapi.json`, the [`document`] of these routes.
pub fn openapi_response(routes: &[Declared]) -> HttpResponse {
    HttpResponse::Ok().json(document(routes))
}
