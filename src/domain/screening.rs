//! Screening at booking: the questionnaire and its rules, as data (the questionnaire in
//! `screening-v1.toml`, whose header names the source article and whose `# source:` notes say
//! where each question and rule comes from).
//!
//! The questions and rules live in a versioned TOML file compiled into the binary
//! (`screening-v1.toml`), parsed with serde and checked by [`validate`]. [`evaluate`] combines
//! the client's yes/no answers with the chosen technique into an [`Evaluation`]: the strongest
//! outcome of the matched rules, a client-facing reason per rule, the therapist's notes, and the
//! techniques to suggest instead.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::technique::{self, CATALOGUE};

/// The questionnaire bookings are made with today.
const SHIPPED_FILE: &str = "screening-v1.toml";
const SHIPPED: &str = include_str!("screening-v1.toml");

static QUESTIONNAIRE: LazyLock<Questionnaire> = LazyLock::new(|| {
    parse(SHIPPED).unwrap_or_else(|e| {
        panic!("the screening questionnaire src/domain/{SHIPPED_FILE} is invalid: {e}")
    })
});

/// The shipped questionnaire, parsed and validated once. Panics with a clear message if the
/// compiled-in data is invalid (a unit test and startup make sure it is not).
pub fn questionnaire() -> &'static Questionnaire {
    &QUESTIONNAIRE
}

/// What every output says in place of an outcome while a booking the therapist entered waits
/// for its client's answers (the API's `screening_outcome: "pending"`).
pub const PENDING: &str = "pending";

/// [`PENDING`] in words, as the therapist's pages and the API's labels say it.
pub const PENDING_WORDS: &str = "Screening pending";

/// The one rule of what an appointment's outcome reads as: [`PENDING`] while its screening is
/// pending (`appointments.screening_pending`: the stored outcome is then no finding), else the
/// stored outcome. Every output of an outcome goes through it (pages, API, export); a pending
/// booking is neither flagged nor "ok".
pub fn shown_outcome(stored: &str, pending: bool) -> &str {
    if pending {
        PENDING
    } else {
        stored
    }
}

/// Whether a booking the therapist entered needs their decision once its client answered: a
/// `refer` or `decline` for its technique, or a clearance the client could not confirm. It is
/// never cancelled by itself: the therapist cancels with a reason, or keeps it with another
/// service.
pub fn entered_needs_decision(outcome: Outcome, clearance_confirmed: bool) -> bool {
    !outcome.allows_booking() || (outcome == Outcome::NeedsClearance && !clearance_confirmed)
}

/// The result of one rule, or of a whole screening. The order is the strength: the strongest
/// outcome of the matched rules wins.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing to flag.
    Ok,
    /// Booking allowed; the therapist sees a note.
    Caution,
    /// Booking allowed only once the client confirms their healthcare practitioner cleared them;
    /// the therapist must acknowledge the flag before confirming.
    NeedsClearance,
    /// Not this technique: suggest others.
    Decline,
    /// No booking: see a healthcare provider first.
    Refer,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Ok,
        Outcome::Caution,
        Outcome::NeedsClearance,
        Outcome::Decline,
        Outcome::Refer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Caution => "caution",
            Outcome::NeedsClearance => "needs_clearance",
            Outcome::Decline => "decline",
            Outcome::Refer => "refer",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The outcome in words a client understands (pages; the API keeps [`Outcome::as_str`]).
    pub fn client_words(self) -> &'static str {
        match self {
            Outcome::Ok => "Nothing in your answers stands in the way",
            Outcome::Caution => "You can book; your therapist will take care as noted",
            Outcome::NeedsClearance => "You can book once your healthcare practitioner has agreed",
            Outcome::Decline => "This technique is not right for you now",
            Outcome::Refer => "Please see a healthcare provider first",
        }
    }

    /// [`Outcome::client_words`] for a stored outcome (unknown text is shown as it is; a
    /// pending screening, see [`shown_outcome`], asks for the answers).
    pub fn client_words_str(stored: &str) -> &str {
        match Outcome::parse(stored) {
            Some(o) => o.client_words(),
            None if stored == PENDING => {
                "Your therapist is waiting for your answers to the health questions"
            }
            None => stored,
        }
    }

    /// Whether a booking with this outcome can go ahead at all (possibly with clearance).
    pub fn allows_booking(self) -> bool {
        self < Outcome::Decline
    }

    /// Whether the therapist must read and acknowledge this outcome before confirming (decline
    /// and refer are never stored: no booking is made).
    pub fn is_flagged(self) -> bool {
        match self {
            Outcome::Ok => false,
            Outcome::Caution | Outcome::NeedsClearance | Outcome::Decline | Outcome::Refer => true,
        }
    }

    /// [`Outcome::is_flagged`] for a stored outcome (unknown text is not flagged).
    pub fn is_flagged_str(stored: &str) -> bool {
        Outcome::parse(stored).is_some_and(Outcome::is_flagged)
    }

    /// In words for the therapist's pages and the API's `outcome_label`, never the stored text.
    pub fn words(self) -> &'static str {
        match self {
            Outcome::Ok => "Nothing to flag",
            Outcome::Caution => "Caution, with notes for you",
            Outcome::NeedsClearance => "Needs a healthcare practitioner's clearance",
            Outcome::Decline => "Not suitable for this technique",
            Outcome::Refer => "Should see a healthcare provider first",
        }
    }

    /// [`Outcome::words`] of a stored outcome ("Screening pending" for [`PENDING`], "Not
    /// screened" for unknown text).
    pub fn words_of(stored: &str) -> &'static str {
        match Outcome::parse(stored) {
            Some(o) => o.words(),
            None if stored == PENDING => PENDING_WORDS,
            None => "Not screened",
        }
    }

    /// The stored text of the flagged outcomes, for SQL filters.
    pub fn flagged_strs() -> Vec<&'static str> {
        Outcome::ALL
            .into_iter()
            .filter(|o| o.is_flagged())
            .map(Outcome::as_str)
            .collect()
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A yes/no question the client answers about themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Stable snake_case id: answers are keyed by it and stored with the questionnaire version.
    pub id: String,
    /// The question, in plain words.
    pub text: String,
    /// Why we ask, in plain words.
    pub why: String,
    /// The id of the [`Group`] the booking form lists it under.
    pub group: String,
    /// The question as a checklist item: a phrase the client ticks when it applies to them.
    pub label: String,
}

/// A heading of the booking form's checklist. Presentation only: a group never changes what a
/// question means or which rule applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Stable snake_case id, named by each question's `group`.
    pub id: String,
    /// The heading, for people.
    pub title: String,
}

/// The techniques a rule applies to: `"all"` or a list of catalogue slugs in the data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppliesTo {
    All,
    Only(Vec<String>),
}

impl AppliesTo {
    pub fn includes(&self, slug: &str) -> bool {
        match self {
            AppliesTo::All => true,
            AppliesTo::Only(slugs) => slugs.iter().any(|s| s == slug),
        }
    }
}

impl<'de> Deserialize<'de> for AppliesTo {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            List(Vec<String>),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Word(w) if w == "all" => Ok(AppliesTo::All),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "techniques must be \"all\" or a list of technique slugs, not {w:?}"
            ))),
            Raw::List(slugs) => Ok(AppliesTo::Only(slugs)),
        }
    }
}

/// When `question` is answered `answer` and the chosen technique is in `techniques`, the
/// screening gets `outcome`, the client reads `message` and the therapist `therapist_note`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub question: String,
    pub answer: bool,
    pub techniques: AppliesTo,
    pub outcome: Outcome,
    pub message: String,
    pub therapist_note: String,
    /// Techniques to offer instead or as well (kept only when fine for the client's answers).
    #[serde(default)]
    pub suggest: Vec<String>,
}

/// One version of the questionnaire with its rules.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Questionnaire {
    pub version: i32,
    /// The checklist's headings, in the order shown.
    pub groups: Vec<Group>,
    pub questions: Vec<Question>,
    pub rules: Vec<Rule>,
}

impl Questionnaire {
    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    /// The questions under their headings: groups in their order, questions in file order.
    pub fn grouped(&self) -> Vec<(&Group, Vec<&Question>)> {
        self.groups
            .iter()
            .map(|g| {
                (
                    g,
                    self.questions.iter().filter(|q| q.group == g.id).collect(),
                )
            })
            .collect()
    }

    /// The questions in the order the checklist shows them (by group).
    pub fn in_form_order(&self) -> Vec<&Question> {
        self.grouped().into_iter().flat_map(|(_, qs)| qs).collect()
    }
}

/// The short health form's first question: does anything on the list apply?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// "None of these apply to me": every answer is no.
    None,
    /// "Some apply": the ticked questions are yes, the others no; at least one must be ticked.
    Some,
}

impl Applies {
    /// The form's values: `none` and `some`.
    pub fn parse(s: &str) -> Option<Applies> {
        match s {
            "none" => Some(Applies::None),
            "some" => Some(Applies::Some),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Applies::None => "none",
            Applies::Some => "some",
        }
    }
}

/// What is wrong with a filled-in short form; `Display` is the message the client reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChecklistError {
    /// Neither "none apply" nor "some apply" was chosen, and nothing was ticked.
    NoChoice,
    /// "Some apply" with nothing ticked.
    NothingTicked,
    /// "None apply" and yet some ticked: we never drop a yes the client gave.
    NoneButTicked(usize),
    /// A ticked value that is not one of the questions.
    UnknownQuestion(String),
}

impl ChecklistError {
    /// Which part of the form the message belongs to: `applies` (the first choice) or
    /// `checklist`.
    pub fn field(&self) -> &'static str {
        match self {
            ChecklistError::NoChoice => "applies",
            ChecklistError::NothingTicked
            | ChecklistError::NoneButTicked(_)
            | ChecklistError::UnknownQuestion(_) => "checklist",
        }
    }
}

impl fmt::Display for ChecklistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChecklistError::NoChoice => {
                f.write_str("Choose \u{201c}None of these apply to me\u{201d} or \u{201c}Some apply\u{201d}.")
            }
            ChecklistError::NothingTicked => f.write_str(
                "You chose \u{201c}Some apply\u{201d}: tick each one that applies to you, or choose \u{201c}None of these apply to me\u{201d}.",
            ),
            ChecklistError::NoneButTicked(n) => write!(
                f,
                "You chose \u{201c}None of these apply to me\u{201d} but ticked {n}. Choose \u{201c}Some apply\u{201d} to keep {}, or untick {}.",
                if *n == 1 { "it" } else { "them" },
                if *n == 1 { "it" } else { "them" },
            ),
            ChecklistError::UnknownQuestion(_) => {
                f.write_str("Tick only the items listed here.")
            }
        }
    }
}

impl std::error::Error for ChecklistError {}

/// The full yes/no answers from the short form: the first choice (`applies`, when made) and the
/// ticked question ids. "None apply" means every answer is no; "some apply" means the ticked ones
/// are yes and needs at least one; no choice with ticks is read as "some apply" (the ticks say
/// it); a contradiction (none, yet ticked) is an error rather than a dropped yes.
pub fn checklist_answers(
    q: &Questionnaire,
    applies: Option<Applies>,
    ticked: &[String],
) -> Result<BTreeMap<String, bool>, ChecklistError> {
    if let Some(unknown) = ticked.iter().find(|id| q.question(id).is_none()) {
        return Err(ChecklistError::UnknownQuestion(unknown.clone()));
    }
    let ticked: BTreeSet<&str> = ticked.iter().map(String::as_str).collect();
    match (applies, ticked.is_empty()) {
        (None, true) => return Err(ChecklistError::NoChoice),
        (Some(Applies::Some), true) => return Err(ChecklistError::NothingTicked),
        (Some(Applies::None), false) => return Err(ChecklistError::NoneButTicked(ticked.len())),
        _ => {}
    }
    Ok(q.questions
        .iter()
        .map(|qn| (qn.id.clone(), ticked.contains(qn.id.as_str())))
        .collect())
}

/// The short form filled in from earlier answers (a self-check, a declined attempt): the choice
/// and the ticked ids. Answers to questions this questionnaire does not have are left out; `None`
/// when the earlier answers do not cover every question (nothing is guessed).
pub fn checklist_of(
    q: &Questionnaire,
    answers: &BTreeMap<String, bool>,
) -> Option<(Applies, BTreeSet<String>)> {
    check_answers(
        q,
        &answers
            .iter()
            .filter(|(id, _)| q.question(id).is_some())
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
    )
    .ok()?;
    let yes: BTreeSet<String> = q
        .questions
        .iter()
        .filter(|qn| answers.get(&qn.id) == Some(&true))
        .map(|qn| qn.id.clone())
        .collect();
    let applies = if yes.is_empty() {
        Applies::None
    } else {
        Applies::Some
    };
    Some((applies, yes))
}

/// Why a screening came out as it did: one per matched rule, for the client.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reason {
    pub question_id: String,
    pub outcome: Outcome,
    pub message: String,
}

/// The screening of one booking: answers combined with the chosen technique.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Evaluation {
    /// The strongest of all matched rules, `Ok` when none matched.
    pub outcome: Outcome,
    /// One per matched rule (client-facing message), strongest first.
    pub reasons: Vec<Reason>,
    /// Techniques to offer, in catalogue order.
    pub suggested_techniques: Vec<String>,
    /// For the therapist of the booking only: never serialized to the client.
    #[serde(skip)]
    pub therapist_notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScreeningError {
    UnknownTechnique(String),
    UnknownQuestion(String),
    MissingAnswer(String),
}

impl fmt::Display for ScreeningError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScreeningError::UnknownTechnique(s) => write!(f, "unknown technique {s:?}"),
            ScreeningError::UnknownQuestion(id) => write!(f, "unknown question {id:?}"),
            ScreeningError::MissingAnswer(id) => {
                write!(f, "the question {id:?} must be answered yes or no")
            }
        }
    }
}

impl std::error::Error for ScreeningError {}

/// Parses a questionnaire data file and validates it.
pub fn parse(text: &str) -> Result<Questionnaire, String> {
    let q: Questionnaire = toml::from_str(text).map_err(|e| e.to_string())?;
    validate(&q)?;
    Ok(q)
}

fn is_snake_case(s: &str) -> bool {
    s.split('_').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    }) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

/// Checks a questionnaire: version at least 1; question ids unique snake_case with text; each
/// rule on an existing question, with techniques and suggestions from the catalogue and a
/// message and note. The error names every problem found.
pub fn validate(q: &Questionnaire) -> Result<(), String> {
    let mut problems = Vec::new();
    if q.version < 1 {
        problems.push(format!("version must be at least 1, not {}", q.version));
    }
    if q.questions.is_empty() {
        problems.push("there are no questions".to_string());
    }
    let mut group_ids = HashSet::new();
    for g in &q.groups {
        if !is_snake_case(&g.id) {
            problems.push(format!("group id {:?} is not snake_case", g.id));
        }
        if !group_ids.insert(g.id.as_str()) {
            problems.push(format!("group id {:?} appears more than once", g.id));
        }
        if g.title.trim().is_empty() {
            problems.push(format!("group {:?} has no title", g.id));
        }
        if !q.questions.iter().any(|qn| qn.group == g.id) {
            problems.push(format!("group {:?} has no questions", g.id));
        }
    }
    let mut ids = HashSet::new();
    for question in &q.questions {
        let id = &question.id;
        if !is_snake_case(id) {
            problems.push(format!("question id {id:?} is not snake_case"));
        }
        if !ids.insert(id.as_str()) {
            problems.push(format!("question id {id:?} appears more than once"));
        }
        if question.text.trim().is_empty() {
            problems.push(format!("question {id:?} has no text"));
        }
        if question.why.trim().is_empty() {
            problems.push(format!("question {id:?} does not say why we ask"));
        }
        if question.label.trim().is_empty() {
            problems.push(format!("question {id:?} has no checklist label"));
        }
        if !group_ids.contains(question.group.as_str()) {
            problems.push(format!(
                "question {id:?} is in group {:?}, which is not listed",
                question.group
            ));
        }
    }
    for (i, rule) in q.rules.iter().enumerate() {
        let at = format!("rule {} (question {:?})", i + 1, rule.question);
        if !ids.contains(rule.question.as_str()) {
            problems.push(format!("{at}: no such question"));
        }
        if let AppliesTo::Only(slugs) = &rule.techniques {
            if slugs.is_empty() {
                problems.push(format!("{at}: the list of techniques is empty"));
            }
            for slug in slugs {
                if technique::find(slug).is_none() {
                    problems.push(format!("{at}: unknown technique {slug:?}"));
                }
            }
        }
        for slug in &rule.suggest {
            if technique::find(slug).is_none() {
                problems.push(format!("{at}: unknown suggested technique {slug:?}"));
            }
        }
        if rule.message.trim().is_empty() {
            problems.push(format!("{at}: no message for the client"));
        }
        if rule.therapist_note.trim().is_empty() {
            problems.push(format!("{at}: no note for the therapist"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn check_technique(slug: &str) -> Result<(), ScreeningError> {
    match technique::find(slug) {
        Some(_) => Ok(()),
        None => Err(ScreeningError::UnknownTechnique(slug.to_string())),
    }
}

/// Every answer is to a known question, and every question is answered.
fn check_answers(
    q: &Questionnaire,
    answers: &BTreeMap<String, bool>,
) -> Result<(), ScreeningError> {
    if let Some(unknown) = answers.keys().find(|id| q.question(id).is_none()) {
        return Err(ScreeningError::UnknownQuestion(unknown.clone()));
    }
    if let Some(missing) = q.questions.iter().find(|qn| !answers.contains_key(&qn.id)) {
        return Err(ScreeningError::MissingAnswer(missing.id.clone()));
    }
    Ok(())
}

/// The rules that match these (checked) answers for this technique, in file order.
fn matched_rules<'q>(
    q: &'q Questionnaire,
    technique: &str,
    answers: &BTreeMap<String, bool>,
) -> Vec<&'q Rule> {
    q.rules
        .iter()
        .filter(|r| answers.get(&r.question) == Some(&r.answer) && r.techniques.includes(technique))
        .collect()
}

fn strongest(rules: &[&Rule]) -> Outcome {
    rules.iter().map(|r| r.outcome).max().unwrap_or(Outcome::Ok)
}

fn is_suitable(q: &Questionnaire, technique: &str, answers: &BTreeMap<String, bool>) -> bool {
    strongest(&matched_rules(q, technique, answers)).allows_booking()
}

/// Screens a booking of `technique` with these answers. Every question must be answered; an
/// unknown question or technique is an error, never a guess.
pub fn evaluate(
    q: &Questionnaire,
    technique: &str,
    answers: &BTreeMap<String, bool>,
) -> Result<Evaluation, ScreeningError> {
    check_technique(technique)?;
    check_answers(q, answers)?;

    let mut rules = matched_rules(q, technique, answers);
    // Stable: rules of equal strength keep the order of the data file.
    rules.sort_by_key(|r| Reverse(r.outcome));
    let outcome = strongest(&rules);

    let suggested_techniques = if outcome == Outcome::Refer {
        Vec::new()
    } else {
        let fine = |slug: &str| slug != technique && is_suitable(q, slug, answers);
        let explicit: BTreeSet<&str> = rules
            .iter()
            .flat_map(|r| r.suggest.iter().map(String::as_str))
            .collect();
        let mut suggested: Vec<String> = CATALOGUE
            .iter()
            .filter(|t| explicit.contains(t.slug) && fine(t.slug))
            .map(|t| t.slug.to_string())
            .collect();
        if suggested.is_empty() && outcome == Outcome::Decline {
            suggested = CATALOGUE
                .iter()
                .filter(|t| fine(t.slug))
                .map(|t| t.slug.to_string())
                .collect();
        }
        suggested
    };

    Ok(Evaluation {
        outcome,
        reasons: rules
            .iter()
            .map(|r| Reason {
                question_id: r.question.clone(),
                outcome: r.outcome,
                message: r.message.clone(),
            })
            .collect(),
        suggested_techniques,
        therapist_notes: rules.iter().map(|r| r.therapist_note.clone()).collect(),
    })
}

/// The techniques whose evaluation with these answers is neither decline nor refer (catalogue order).
pub fn suitable_techniques(
    q: &Questionnaire,
    answers: &BTreeMap<String, bool>,
) -> Result<Vec<String>, ScreeningError> {
    check_answers(q, answers)?;
    Ok(CATALOGUE
        .iter()
        .filter(|t| is_suitable(q, t.slug, answers))
        .map(|t| t.slug.to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_pending_screening_reads_as_pending_never_as_its_stored_outcome() {
        use super::{shown_outcome, Outcome, PENDING};
        assert_eq!(shown_outcome("ok", true), PENDING);
        assert_eq!(shown_outcome("refer", false), "refer");
        assert!(!Outcome::is_flagged_str(shown_outcome("caution", true)));
        assert_eq!(Outcome::words_of(PENDING), "Screening pending");
        assert_ne!(Outcome::words_of(PENDING), Outcome::Ok.words());
        assert_ne!(
            Outcome::client_words_str(PENDING),
            Outcome::Ok.client_words()
        );
    }

    use super::*;
    use Outcome::*;

    fn q() -> &'static Questionnaire {
        questionnaire()
    }

    fn slugs() -> impl Iterator<Item = &'static str> {
        CATALOGUE.iter().map(|t| t.slug)
    }

    #[test]
    fn every_outcome_reads_in_words() {
        for o in Outcome::ALL {
            assert!(!o.words().contains('_'), "{}", o.words());
            assert_eq!(Outcome::words_of(o.as_str()), o.words());
        }
        assert_eq!(
            Outcome::words_of("needs_clearance"),
            "Needs a healthcare practitioner's clearance"
        );
        assert_eq!(Outcome::words_of("???"), "Not screened");
    }

    /// Every question answered: `yes` ones true, the others false.
    fn answers(yes: &[&str]) -> BTreeMap<String, bool> {
        for id in yes {
            assert!(q().question(id).is_some(), "no question {id}");
        }
        q().questions
            .iter()
            .map(|qn| (qn.id.clone(), yes.contains(&qn.id.as_str())))
            .collect()
    }

    fn eval(technique: &str, yes: &[&str]) -> Evaluation {
        evaluate(q(), technique, &answers(yes)).unwrap()
    }

    fn reasons(e: &Evaluation) -> Vec<(&str, Outcome)> {
        e.reasons
            .iter()
            .map(|r| (r.question_id.as_str(), r.outcome))
            .collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn all_but(excluded: &[&str]) -> Vec<String> {
        slugs()
            .filter(|s| !excluded.contains(s))
            .map(String::from)
            .collect()
    }

    /// The rules of the questionnaire in screening-v1.toml, written out by hand as a table: the
    /// outcome of answering yes to `question` alone and choosing `technique`.
    fn table(question: &str, technique: &str) -> Outcome {
        match question {
            "unhealed_fracture"
            | "organ_pain"
            | "fever"
            | "bowel_bladder_change"
            | "numbness_weakness"
            | "night_back_pain" => Refer,
            "persistent_back_pain_unseen" => Caution,
            "open_sore_or_skin_infection" => Decline,
            "blood_thinners" | "severe_osteoporosis" | "varicose_veins" => NeedsClearance,
            "rheumatoid_arthritis_flare" => match technique {
                "hot-stone" => Decline,
                _ => NeedsClearance,
            },
            "blood_clotting_disorder" => match technique {
                "deep-tissue" | "trigger-point" => NeedsClearance,
                _ => Ok,
            },
            "pregnant" => match technique {
                "deep-tissue" | "hot-stone" => Decline,
                "prenatal" => Caution,
                _ => Ok,
            },
            "impaired_temperature_sensitivity" => match technique {
                "hot-stone" => Decline,
                _ => Ok,
            },
            "heart_condition_recovery" | "metastatic_cancer" => NeedsClearance,
            "herniated_disc" => Caution,
            "sciatica_or_buttock_bruise" => Ok,
            other => panic!(
                "question {other} of the questionnaire in screening-v1.toml is not in this table"
            ),
        }
    }

    const TABLE_ROWS: usize = 19;

    /// A row that gives one outcome for every technique, through one rule.
    fn assert_row_for_all(question: &str, expected: Outcome) {
        for t in slugs() {
            let e = eval(t, &[question]);
            assert_eq!(e.outcome, expected, "{question} with {t}");
            assert_eq!(
                reasons(&e),
                vec![(question, expected)],
                "{question} with {t}"
            );
            assert_eq!(e.therapist_notes.len(), 1);
            if expected == Refer {
                assert!(e.suggested_techniques.is_empty());
                assert!(
                    e.reasons[0].message.contains("see a healthcare provider"),
                    "{question}: {}",
                    e.reasons[0].message
                );
            }
        }
    }

    // --- One test per row of the table (the questionnaire in screening-v1.toml) -------------

    #[test]
    fn row_unhealed_fracture_refers_for_all() {
        assert_row_for_all("unhealed_fracture", Refer);
        assert!(eval("swedish", &["unhealed_fracture"]).reasons[0]
            .message
            .contains("orthopedic physician"));
    }

    #[test]
    fn row_pain_from_an_organ_refers_for_all() {
        assert_row_for_all("organ_pain", Refer);
    }

    #[test]
    fn row_fever_chills_or_sweats_refers_for_all() {
        assert_row_for_all("fever", Refer);
    }

    #[test]
    fn row_bowel_or_bladder_change_refers_for_all() {
        assert_row_for_all("bowel_bladder_change", Refer);
    }

    #[test]
    fn row_numbness_or_weakness_refers_for_all() {
        assert_row_for_all("numbness_weakness", Refer);
    }

    #[test]
    fn row_back_pain_at_night_refers_for_all() {
        assert_row_for_all("night_back_pain", Refer);
    }

    #[test]
    fn row_persistent_unseen_back_pain_is_a_caution_for_all() {
        assert_row_for_all("persistent_back_pain_unseen", Caution);
        let e = eval("shiatsu", &["persistent_back_pain_unseen"]);
        assert!(e.reasons[0].message.contains("primary care provider"));
        assert!(e.suggested_techniques.is_empty());
    }

    #[test]
    fn row_open_sore_declines_all_and_asks_to_reschedule() {
        assert_row_for_all("open_sore_or_skin_infection", Decline);
        let e = eval("swedish", &["open_sore_or_skin_infection"]);
        // No technique is fine today, so there is nothing to suggest.
        assert!(e.suggested_techniques.is_empty());
        assert!(e.reasons[0].message.contains("book again once"));
    }

    #[test]
    fn row_blood_thinners_need_clearance_for_all() {
        assert_row_for_all("blood_thinners", NeedsClearance);
        assert!(eval("ayurvedic", &["blood_thinners"])
            .suggested_techniques
            .is_empty());
    }

    #[test]
    fn row_severe_osteoporosis_needs_clearance_for_all() {
        assert_row_for_all("severe_osteoporosis", NeedsClearance);
    }

    #[test]
    fn row_varicose_veins_need_clearance_and_a_caution_for_all() {
        for t in slugs() {
            let e = eval(t, &["varicose_veins"]);
            assert_eq!(e.outcome, NeedsClearance, "{t}");
            assert_eq!(
                reasons(&e),
                vec![
                    ("varicose_veins", NeedsClearance),
                    ("varicose_veins", Caution)
                ]
            );
            assert!(e
                .therapist_notes
                .iter()
                .any(|n| n.contains("Avoid the area of the varicose veins")));
        }
    }

    #[test]
    fn row_rheumatoid_arthritis_flare_needs_clearance_and_declines_hot_stone() {
        for t in slugs().filter(|&t| t != "hot-stone") {
            let e = eval(t, &["rheumatoid_arthritis_flare"]);
            assert_eq!(e.outcome, NeedsClearance, "{t}");
            assert_eq!(
                reasons(&e),
                vec![("rheumatoid_arthritis_flare", NeedsClearance)]
            );
        }
        let e = eval("hot-stone", &["rheumatoid_arthritis_flare"]);
        assert_eq!(e.outcome, Decline);
        assert_eq!(
            reasons(&e),
            vec![
                ("rheumatoid_arthritis_flare", Decline),
                ("rheumatoid_arthritis_flare", NeedsClearance)
            ]
        );
        // No explicit suggestion: every technique that is fine (clearance allowed) but hot stone.
        assert_eq!(e.suggested_techniques, all_but(&["hot-stone"]));
        assert!(e.therapist_notes.iter().any(|n| n.contains("No heat")));
    }

    #[test]
    fn row_blood_clotting_disorder_needs_clearance_for_deep_tissue_and_trigger_point_only() {
        for t in ["deep-tissue", "trigger-point"] {
            let e = eval(t, &["blood_clotting_disorder"]);
            assert_eq!(e.outcome, NeedsClearance, "{t}");
            assert_eq!(
                reasons(&e),
                vec![("blood_clotting_disorder", NeedsClearance)]
            );
        }
        for t in [
            "swedish",
            "shiatsu",
            "hot-stone",
            "prenatal",
            "ayurvedic",
            "gluteal",
        ] {
            let e = eval(t, &["blood_clotting_disorder"]);
            assert_eq!(e.outcome, Ok, "{t}");
            assert!(e.reasons.is_empty(), "{t}");
            assert!(e.therapist_notes.is_empty(), "{t}");
        }
    }

    #[test]
    fn row_pregnant_declines_deep_tissue_and_hot_stone_and_cautions_prenatal() {
        for t in ["deep-tissue", "hot-stone"] {
            let e = eval(t, &["pregnant"]);
            assert_eq!(e.outcome, Decline, "{t}");
            assert_eq!(reasons(&e), vec![("pregnant", Decline)]);
            assert_eq!(e.suggested_techniques, strings(&["swedish", "prenatal"]));
        }
        let e = eval("prenatal", &["pregnant"]);
        assert_eq!(e.outcome, Caution);
        assert_eq!(reasons(&e), vec![("pregnant", Caution)]);
        assert!(e.suggested_techniques.is_empty());
        assert!(e.therapist_notes[0].contains("trained in prenatal"));
        assert!(e.therapist_notes[0].contains("no essential oils"));
        assert!(e.therapist_notes[0].contains("labour-inducing pressure points"));
        for t in [
            "swedish",
            "shiatsu",
            "trigger-point",
            "ayurvedic",
            "gluteal",
        ] {
            let e = eval(t, &["pregnant"]);
            assert_eq!(e.outcome, Ok, "{t}");
            assert!(e.reasons.is_empty(), "{t}");
        }
    }

    #[test]
    fn row_impaired_temperature_sensitivity_declines_hot_stone_only() {
        let e = eval("hot-stone", &["impaired_temperature_sensitivity"]);
        assert_eq!(e.outcome, Decline);
        assert_eq!(
            reasons(&e),
            vec![("impaired_temperature_sensitivity", Decline)]
        );
        assert_eq!(e.suggested_techniques, all_but(&["hot-stone"]));
        for t in slugs().filter(|&t| t != "hot-stone") {
            let e = eval(t, &["impaired_temperature_sensitivity"]);
            assert_eq!(e.outcome, Ok, "{t}");
            assert!(e.reasons.is_empty(), "{t}");
        }
    }

    #[test]
    fn row_recovering_from_a_heart_condition_needs_clearance_for_all() {
        assert_row_for_all("heart_condition_recovery", NeedsClearance);
    }

    #[test]
    fn row_metastatic_cancer_needs_clearance_and_never_near_the_tumour() {
        for t in slugs() {
            let e = eval(t, &["metastatic_cancer"]);
            assert_eq!(e.outcome, NeedsClearance, "{t}");
            assert_eq!(
                reasons(&e),
                vec![
                    ("metastatic_cancer", NeedsClearance),
                    ("metastatic_cancer", Caution)
                ]
            );
            assert!(e
                .therapist_notes
                .iter()
                .any(|n| n.contains("Never work near the tumour")));
        }
    }

    #[test]
    fn row_herniated_disc_is_a_caution_with_no_forward_bending() {
        assert_row_for_all("herniated_disc", Caution);
        let e = eval("deep-tissue", &["herniated_disc"]);
        assert!(e.therapist_notes[0].contains("no forward-bending work"));
    }

    #[test]
    fn row_sciatica_or_buttock_bruise_is_ok_and_suggests_gluteal() {
        assert_row_for_all("sciatica_or_buttock_bruise", Ok);
        for t in slugs().filter(|&t| t != "gluteal") {
            let e = eval(t, &["sciatica_or_buttock_bruise"]);
            assert_eq!(e.suggested_techniques, strings(&["gluteal"]), "{t}");
        }
        // Never suggests the technique already chosen.
        let e = eval("gluteal", &["sciatica_or_buttock_bruise"]);
        assert!(e.suggested_techniques.is_empty());
    }

    // --- The whole table, for every technique ------------------------------------------------

    #[test]
    fn every_question_is_a_row_of_the_table_and_every_row_is_a_question() {
        assert_eq!(q().questions.len(), TABLE_ROWS);
        for qn in &q().questions {
            table(&qn.id, "swedish"); // panics for a question the table does not have
            assert!(
                q().rules.iter().any(|r| r.question == qn.id),
                "question {} has no rule",
                qn.id
            );
        }
    }

    #[test]
    fn every_technique_gets_the_outcome_the_table_says_for_every_question() {
        for qn in &q().questions {
            for t in slugs() {
                assert_eq!(
                    eval(t, &[&qn.id]).outcome,
                    table(&qn.id, t),
                    "{} with {t}",
                    qn.id
                );
            }
        }
    }

    #[test]
    fn every_rule_for_all_techniques_applies_to_each_catalogue_technique() {
        for rule in q().rules.iter().filter(|r| r.techniques == AppliesTo::All) {
            for t in slugs() {
                let e = eval(t, &[&rule.question]);
                assert!(
                    e.reasons
                        .iter()
                        .any(|r| r.question_id == rule.question && r.message == rule.message),
                    "rule on {} does not apply to {t}",
                    rule.question
                );
            }
        }
    }

    #[test]
    fn hot_stone_is_declined_for_flare_up_impaired_sensitivity_pregnancy_and_open_sores() {
        let declined: BTreeSet<&str> = q()
            .questions
            .iter()
            .map(|qn| qn.id.as_str())
            .filter(|id| eval("hot-stone", &[id]).outcome == Decline)
            .collect();
        assert_eq!(
            declined,
            BTreeSet::from([
                "impaired_temperature_sensitivity",
                "open_sore_or_skin_infection",
                "pregnant",
                "rheumatoid_arthritis_flare",
            ])
        );
    }

    #[test]
    fn deep_tissue_is_declined_for_pregnancy_and_needs_clearance_for_clotting() {
        assert_eq!(eval("deep-tissue", &["pregnant"]).outcome, Decline);
        assert_eq!(
            eval("deep-tissue", &["blood_clotting_disorder"]).outcome,
            NeedsClearance
        );
    }

    #[test]
    fn all_no_answers_are_ok_for_every_technique() {
        for t in slugs() {
            let e = eval(t, &[]);
            assert_eq!(e.outcome, Ok, "{t}");
            assert!(e.reasons.is_empty());
            assert!(e.suggested_techniques.is_empty());
            assert!(e.therapist_notes.is_empty());
        }
        assert_eq!(
            suitable_techniques(q(), &answers(&[])).unwrap(),
            all_but(&[])
        );
    }

    // --- Combinations --------------------------------------------------------------------------

    #[test]
    fn the_strongest_outcome_wins_and_every_reason_is_listed_strongest_first() {
        let e = eval("swedish", &["herniated_disc", "blood_thinners"]);
        assert_eq!(e.outcome, NeedsClearance);
        assert_eq!(
            reasons(&e),
            vec![
                ("blood_thinners", NeedsClearance),
                ("herniated_disc", Caution)
            ]
        );
        assert_eq!(e.therapist_notes.len(), 2);
        assert!(e.therapist_notes[1].contains("no forward-bending work"));

        let e = eval("deep-tissue", &["fever", "blood_thinners", "pregnant"]);
        assert_eq!(e.outcome, Refer);
        assert_eq!(
            reasons(&e),
            vec![
                ("fever", Refer),
                ("pregnant", Decline),
                ("blood_thinners", NeedsClearance)
            ]
        );
        assert!(e.suggested_techniques.is_empty(), "refer suggests nothing");
    }

    #[test]
    fn refer_suggests_nothing_even_with_an_explicit_suggestion() {
        let e = eval(
            "swedish",
            &["night_back_pain", "sciatica_or_buttock_bruise"],
        );
        assert_eq!(e.outcome, Refer);
        assert!(e.suggested_techniques.is_empty());
    }

    #[test]
    fn two_declines_for_hot_stone_list_both_reasons() {
        let e = eval(
            "hot-stone",
            &["pregnant", "impaired_temperature_sensitivity"],
        );
        assert_eq!(e.outcome, Decline);
        assert_eq!(
            reasons(&e),
            // Equal strength: the order of the data file.
            vec![
                ("pregnant", Decline),
                ("impaired_temperature_sensitivity", Decline)
            ]
        );
        assert_eq!(e.suggested_techniques, strings(&["swedish", "prenatal"]));
    }

    #[test]
    fn suggestions_keep_only_techniques_fine_for_the_answers() {
        // Pregnancy suggests Swedish and prenatal, but an open sore rules out every technique.
        let e = eval("deep-tissue", &["pregnant", "open_sore_or_skin_infection"]);
        assert_eq!(e.outcome, Decline);
        assert!(e.suggested_techniques.is_empty());

        // A clearance does not rule a suggestion out.
        let e = eval("hot-stone", &["pregnant", "blood_thinners"]);
        assert_eq!(e.outcome, Decline);
        assert_eq!(e.suggested_techniques, strings(&["swedish", "prenatal"]));
    }

    #[test]
    fn explicit_suggestions_are_merged_in_catalogue_order() {
        let e = eval("deep-tissue", &["pregnant", "sciatica_or_buttock_bruise"]);
        assert_eq!(e.outcome, Decline);
        assert_eq!(
            e.suggested_techniques,
            strings(&["swedish", "prenatal", "gluteal"])
        );
    }

    #[test]
    fn decline_without_explicit_suggestion_offers_every_suitable_technique() {
        let e = eval(
            "hot-stone",
            &["rheumatoid_arthritis_flare", "blood_clotting_disorder"],
        );
        assert_eq!(e.outcome, Decline);
        assert_eq!(e.suggested_techniques, all_but(&["hot-stone"]));
    }

    #[test]
    fn suitable_techniques_leave_out_declined_and_referred() {
        assert_eq!(
            suitable_techniques(q(), &answers(&["pregnant"])).unwrap(),
            all_but(&["deep-tissue", "hot-stone"])
        );
        assert_eq!(
            suitable_techniques(q(), &answers(&["pregnant", "rheumatoid_arthritis_flare"]))
                .unwrap(),
            all_but(&["deep-tissue", "hot-stone"])
        );
        assert!(suitable_techniques(q(), &answers(&["fever"]))
            .unwrap()
            .is_empty());
        assert!(
            suitable_techniques(q(), &answers(&["open_sore_or_skin_infection"]))
                .unwrap()
                .is_empty()
        );
    }

    // --- Errors, never guesses -----------------------------------------------------------------

    #[test]
    fn an_unknown_technique_is_an_error() {
        assert_eq!(
            evaluate(q(), "reiki", &answers(&[])),
            Err(ScreeningError::UnknownTechnique("reiki".into()))
        );
    }

    #[test]
    fn an_unknown_question_is_an_error() {
        let mut a = answers(&[]);
        a.insert("feeling_lucky".into(), true);
        assert_eq!(
            evaluate(q(), "swedish", &a),
            Err(ScreeningError::UnknownQuestion("feeling_lucky".into()))
        );
        assert_eq!(
            suitable_techniques(q(), &a),
            Err(ScreeningError::UnknownQuestion("feeling_lucky".into()))
        );
    }

    #[test]
    fn a_missing_answer_is_an_error_even_a_no() {
        let mut a = answers(&[]);
        a.remove("pregnant");
        assert_eq!(
            evaluate(q(), "swedish", &a),
            Err(ScreeningError::MissingAnswer("pregnant".into()))
        );
        assert_eq!(
            suitable_techniques(q(), &a),
            Err(ScreeningError::MissingAnswer("pregnant".into()))
        );
        assert_eq!(
            evaluate(q(), "swedish", &BTreeMap::new()),
            Err(ScreeningError::MissingAnswer(q().questions[0].id.clone()))
        );
    }

    // --- Types ---------------------------------------------------------------------------------

    #[test]
    fn outcomes_are_ordered_by_strength_and_round_trip_as_strings() {
        assert!(Ok < Caution && Caution < NeedsClearance);
        assert!(NeedsClearance < Decline && Decline < Refer);
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
            assert_eq!(
                serde_json::to_string(&o).unwrap(),
                format!("\"{}\"", o.as_str())
            );
        }
        assert_eq!(Outcome::parse("NeedsClearance"), None);
        assert!(NeedsClearance.allows_booking() && !Decline.allows_booking());
    }

    #[test]
    fn the_serialized_evaluation_never_contains_the_therapist_notes() {
        let e = eval("swedish", &["varicose_veins"]);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["outcome"], "needs_clearance");
        assert_eq!(json["reasons"][0]["question_id"], "varicose_veins");
        assert_eq!(json["reasons"][1]["outcome"], "caution");
        assert_eq!(json["suggested_techniques"], serde_json::json!([]));
        assert!(json.get("therapist_notes").is_none());
        assert!(!json.to_string().contains("Avoid the area"));
    }

    // --- The data file -------------------------------------------------------------------------

    #[test]
    fn the_shipped_questionnaire_is_valid() {
        let q = q();
        assert_eq!(validate(q), Result::Ok(()));
        assert_eq!(q.version, 1);
    }

    #[test]
    fn questions_and_messages_are_written_for_people() {
        for qn in &q().questions {
            assert!(qn.text.ends_with('?'), "{}", qn.id);
            assert!(qn.why.ends_with('.'), "{}", qn.id);
        }
        for r in &q().rules {
            let m = &r.message;
            match r.outcome {
                Refer => assert!(m.contains("see a healthcare provider"), "{m}"),
                Decline => assert!(
                    m.contains("choose another technique") || m.contains("book again"),
                    "{m}"
                ),
                NeedsClearance => assert!(m.contains("agreed"), "{m}"),
                Caution | Ok => {}
            }
        }
    }

    fn broken(f: impl FnOnce(&mut Questionnaire)) -> String {
        let mut q = q().clone();
        f(&mut q);
        validate(&q).unwrap_err()
    }

    #[test]
    fn validate_refuses_a_duplicate_question_id() {
        let err = broken(|q| {
            let first = q.questions[0].clone();
            q.questions.push(first);
        });
        assert!(
            err.contains("\"unhealed_fracture\" appears more than once"),
            "{err}"
        );
    }

    #[test]
    fn validate_refuses_ids_that_are_not_snake_case() {
        for bad in [
            "Fever",
            "night-back-pain",
            "_fever",
            "fever_",
            "a__b",
            "1st",
            "",
        ] {
            let err = broken(|q| q.questions[0].id = bad.to_string());
            assert!(err.contains("is not snake_case"), "{bad}: {err}");
        }
        assert!(is_snake_case("fever") && is_snake_case("fever_2"));
    }

    #[test]
    fn validate_refuses_an_unknown_technique_or_suggestion() {
        let err = broken(|q| q.rules[0].techniques = AppliesTo::Only(strings(&["reiki"])));
        assert!(err.contains("unknown technique \"reiki\""), "{err}");
        let err = broken(|q| q.rules[0].techniques = AppliesTo::Only(vec![]));
        assert!(err.contains("list of techniques is empty"), "{err}");
        let err = broken(|q| q.rules[0].suggest = strings(&["cupping"]));
        assert!(
            err.contains("unknown suggested technique \"cupping\""),
            "{err}"
        );
    }

    #[test]
    fn validate_refuses_a_rule_on_an_unknown_question() {
        let err = broken(|q| q.rules[0].question = "feeling_lucky".into());
        assert!(
            err.contains("\"feeling_lucky\"): no such question"),
            "{err}"
        );
        let err = broken(|q| {
            q.questions.retain(|qn| qn.id != "pregnant");
        });
        assert!(
            err.contains("(question \"pregnant\"): no such question"),
            "{err}"
        );
    }

    #[test]
    fn validate_refuses_version_zero_and_empty_texts() {
        let err = broken(|q| q.version = 0);
        assert!(err.contains("version must be at least 1"), "{err}");
        let err = broken(|q| q.questions[1].why = " ".into());
        assert!(err.contains("does not say why"), "{err}");
        let err = broken(|q| q.rules[1].message = String::new());
        assert!(err.contains("no message for the client"), "{err}");
        let err = broken(|q| q.rules[1].therapist_note = String::new());
        assert!(err.contains("no note for the therapist"), "{err}");
    }

    #[test]
    fn parse_refuses_malformed_data() {
        let ok = r#"
            version = 2
            [[groups]]
            id = "urgent"
            title = "Urgent signs"
            [[questions]]
            id = "fever"
            group = "urgent"
            label = "Fever"
            text = "Do you have a fever?"
            why = "Because."
            [[rules]]
            question = "fever"
            answer = true
            techniques = ["swedish"]
            outcome = "refer"
            message = "Please see a healthcare provider first."
            therapist_note = "Fever."
        "#;
        let parsed = parse(ok).unwrap();
        assert_eq!(parsed.version, 2);
        assert_eq!(
            parsed.rules[0].techniques,
            AppliesTo::Only(strings(&["swedish"]))
        );
        assert!(parsed.rules[0].suggest.is_empty());

        let err = parse(&ok.replace(r#"["swedish"]"#, r#""some""#)).unwrap_err();
        assert!(err.contains("techniques must be \"all\""), "{err}");
        let err = parse(&ok.replace(r#""refer""#, r#""maybe""#)).unwrap_err();
        assert!(err.contains("maybe"), "{err}");
        let err = parse(&ok.replace("answer = true", "answer = true\nseverity = 3")).unwrap_err();
        assert!(err.contains("severity"), "{err}");
        let err = parse(&ok.replace("answer = true\n", "")).unwrap_err();
        assert!(err.contains("answer"), "{err}");
        let err =
            parse(&ok.replace(r#"question = "fever""#, r#"question = "chills""#)).unwrap_err();
        assert!(err.contains("no such question"), "{err}");
    }

    // --- The short form (the checklist) --------------------------------------------------------

    fn ids(v: &[&str]) -> Vec<String> {
        strings(v)
    }

    #[test]
    fn every_question_is_in_exactly_one_listed_group_and_groups_are_in_order() {
        let titles: Vec<&str> = q().groups.iter().map(|g| g.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Urgent signs",
                "Conditions",
                "Medicines",
                "Pregnancy and skin"
            ]
        );
        let listed: Vec<&str> = q()
            .in_form_order()
            .iter()
            .map(|qn| qn.id.as_str())
            .collect();
        assert_eq!(listed.len(), q().questions.len());
        assert_eq!(listed.iter().collect::<BTreeSet<_>>().len(), listed.len());
        assert_eq!(listed[0], "unhealed_fracture");
        assert_eq!(listed.last(), Some(&"pregnant"));
        // Every refer question is an urgent sign.
        for r in q().rules.iter().filter(|r| r.outcome == Refer) {
            assert_eq!(q().question(&r.question).unwrap().group, "urgent");
        }
        for qn in &q().questions {
            assert!(!qn.label.ends_with('?'), "{}", qn.id);
        }
    }

    #[test]
    fn none_apply_means_every_answer_is_no() {
        let a = checklist_answers(q(), Some(Applies::None), &[]).unwrap();
        assert_eq!(a, answers(&[]));
    }

    #[test]
    fn some_apply_makes_the_ticked_ones_yes_and_the_rest_no() {
        let a = checklist_answers(q(), Some(Applies::Some), &ids(&["pregnant", "fever"])).unwrap();
        assert_eq!(a, answers(&["pregnant", "fever"]));
        // Ticks without the first choice say "some apply" by themselves.
        let a = checklist_answers(q(), None, &ids(&["herniated_disc"])).unwrap();
        assert_eq!(a, answers(&["herniated_disc"]));
    }

    #[test]
    fn the_short_form_refuses_what_it_cannot_read_without_guessing() {
        assert_eq!(
            checklist_answers(q(), None, &[]),
            Err(ChecklistError::NoChoice)
        );
        assert_eq!(
            checklist_answers(q(), Some(Applies::Some), &[]),
            Err(ChecklistError::NothingTicked)
        );
        assert_eq!(
            checklist_answers(q(), Some(Applies::None), &ids(&["pregnant"])),
            Err(ChecklistError::NoneButTicked(1))
        );
        assert_eq!(
            checklist_answers(q(), Some(Applies::Some), &ids(&["feeling_lucky"])),
            Err(ChecklistError::UnknownQuestion("feeling_lucky".into()))
        );
        assert_eq!(ChecklistError::NoChoice.field(), "applies");
        assert_eq!(ChecklistError::NothingTicked.field(), "checklist");
        assert!(ChecklistError::NoneButTicked(2)
            .to_string()
            .contains("ticked 2"));
        assert_eq!(Applies::parse("some"), Some(Applies::Some));
        assert_eq!(Applies::parse("yes"), None);
    }

    #[test]
    fn earlier_answers_fill_the_short_form_in_only_when_complete() {
        assert_eq!(
            checklist_of(q(), &answers(&[])),
            Some((Applies::None, BTreeSet::new()))
        );
        let (applies, yes) = checklist_of(q(), &answers(&["pregnant"])).unwrap();
        assert_eq!(applies, Applies::Some);
        assert_eq!(yes, BTreeSet::from(["pregnant".to_string()]));
        let mut partial = answers(&[]);
        partial.remove("fever");
        assert_eq!(checklist_of(q(), &partial), None);
        let mut extra = answers(&["fever"]);
        extra.insert("retired_question".into(), true);
        assert_eq!(
            checklist_of(q(), &extra).map(|(_, y)| y),
            Some(BTreeSet::from(["fever".to_string()]))
        );
    }

    #[test]
    fn validate_refuses_a_question_in_an_unlisted_group_and_an_empty_group() {
        let err = broken(|q| q.questions[0].group = "misc".into());
        assert!(err.contains("which is not listed"), "{err}");
        let err = broken(|q| {
            q.groups.push(Group {
                id: "extra".into(),
                title: "Extra".into(),
            })
        });
        assert!(err.contains("\"extra\" has no questions"), "{err}");
        let err = broken(|q| q.questions[2].label = " ".into());
        assert!(err.contains("no checklist label"), "{err}");
    }

    #[test]
    fn outcomes_have_words_for_clients() {
        for o in Outcome::ALL {
            assert!(!o.client_words().contains('_'), "{o}");
            assert_eq!(Outcome::client_words_str(o.as_str()), o.client_words());
        }
        assert_eq!(Outcome::client_words_str("legacy"), "legacy");
    }
}
