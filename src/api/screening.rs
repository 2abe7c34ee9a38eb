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
    /// The id of the checklist heading (`groups`) the booking form lists it under.
    pub group: String,
    /// The question as a checklist item (a phrase the client ticks when it applies).
    pub label: String,
}

/// A heading of the booking form's checklist, in the order shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupOut {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionnaireOut {
    pub version: i32,
    pub questions: Vec<QuestionOut>,
    /// The checklist's headings; answers stay per question (`answers` of a booking).
    pub groups: Vec<GroupOut>,
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
                group: x.group.clone(),
                label: x.label.clone(),
            })
            .collect(),
        groups: q
            .groups
            .iter()
            .map(|g| GroupOut {
                id: g.id.clone(),
                title: g.title.clone(),
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
