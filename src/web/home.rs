//! The home page: what Bodywork is, the search form and the article's three checks.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;

use crate::domain::technique::{Technique, CATALOGUE};
use crate::web::{render, PageCtx, PageResult};

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub ctx: PageCtx,
    pub techniques: &'static [Technique],
}

pub async fn home(ctx: PageCtx) -> PageResult<HttpResponse> {
    render(
        StatusCode::OK,
        &HomePage {
            ctx,
            techniques: CATALOGUE,
        },
    )
}
