//! `/api/v1/screening/*`: the questionnaire and the self-check (nothing stored).

use std::collections::BTreeMap;

use actix_web::web;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::screening::{self, Evaluation, ScreeningError};
use crate::error::{ApiResult, AppError, FieldErrors};

#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionOut {
    pub id: String,
    pub text: String,
    pub why: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionnaireOut {
    pub version: i32,
    pub questions: Vec<QuestionOut>,
}

#[utoipa::path(get, path = "/api/v1/screening/questionnaire", tag = "screening",
    responses((status = 200, body = QuestionnaireOut)))]
pub async fn questionnaire() -> web::Json<QuestionnaireOut> {
    let q = screening::questionnaire();
    web::Json(QuestionnaireOut {
        version: q.version,
        questions: q
            .questions
            .iter()
            .map(|x| QuestionOut {
                id: x.id.clone(),
                text: x.text.clone(),
                why: x.why.clone(),
            })
            .collect(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EvaluateBody {
    pub technique: String,
    pub answers: BTreeMap<String, bool>,
}

#[utoipa::path(post, path = "/api/v1/screening/evaluate", tag = "screening", request_body = EvaluateBody,
    responses((status = 200, description = "{outcome, reasons: [{question_id, outcome, message}], suggested_techniques}"),
              (status = 422, description = "unknown technique or question, missing answer")))]
pub async fn evaluate(body: web::Json<EvaluateBody>) -> ApiResult<web::Json<Evaluation>> {
    let b = body.into_inner();
    screening::evaluate(screening::questionnaire(), &b.technique, &b.answers)
        .map(web::Json)
        .map_err(|e| {
            let mut f = FieldErrors::new();
            match e {
                ScreeningError::UnknownTechnique(t) => f.insert(
                    "technique".into(),
                    format!("\"{t}\" is not a technique we list."),
                ),
                ScreeningError::UnknownQuestion(q) => f.insert(
                    "answers".into(),
                    format!("\"{q}\" is not one of our questions."),
                ),
                ScreeningError::MissingAnswer(q) => f.insert(
                    "answers".into(),
                    format!("Please answer every question (missing: {q})."),
                ),
            };
            AppError::validation(f).into()
        })
}
