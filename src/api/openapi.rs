//! `GET /api/openapi.json`: the OpenAPI 3 description, generated from the handlers.

use actix_web::HttpResponse;
use utoipa::OpenApi;

use crate::api::{admin, appointments, auth, me, UserOut};

#[derive(OpenApi)]
#[openapi(
    info(title = "Bodywork API", description = "Massage therapist directory and booking. Errors: {\"error\": {\"code\", \"message\", \"fields\"}}."),
    paths(
        auth::register,
        auth::login,
        auth::logout,
        auth::me,
        me::get_booking_policy,
        admin::licenses,
        appointments::get,
    ),
    components(schemas(
        UserOut,
        auth::RegisterBody,
        auth::RegisterOut,
        auth::LoginBody,
        auth::LoginOut,
        me::BookingPolicyOut,
        admin::LicenseQueueOut,
        appointments::AppointmentOut,
        appointments::ScreeningSummaryOut,
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
