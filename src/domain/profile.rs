//! A therapist's profile, services and credentials, parsed from what they typed.

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::domain::account::PersonName;
use crate::domain::gazetteer::{self, Place};
use crate::domain::practice;
use crate::domain::technique;
use crate::domain::FieldErrors;

pub const BIO_MAX_CHARS: usize = 2000;
pub const DURATION_MIN: i32 = 15;
pub const DURATION_MAX: i32 = 240;
/// $10,000: more than any massage costs, so a typo is caught.
pub const PRICE_MAX_CENTS: i64 = 1_000_000;
pub const TRAINING_HOURS_MAX: i32 = 5000;

/// Languages a therapist can list (ISO 639-1 code, name).
pub const LANGUAGES: &[(&str, &str)] = &[
    ("en", "English"),
    ("es", "Spanish"),
    ("zh", "Chinese"),
    ("fr", "French"),
    ("de", "German"),
    ("it", "Italian"),
    ("pt", "Portuguese"),
    ("ru", "Russian"),
    ("ja", "Japanese"),
    ("ko", "Korean"),
    ("vi", "Vietnamese"),
    ("tl", "Tagalog"),
    ("ar", "Arabic"),
    ("hi", "Hindi"),
    ("pl", "Polish"),
    ("ht", "Haitian Creole"),
];

pub fn language_name(code: &str) -> Option<&'static str> {
    LANGUAGES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// Profile fields as typed.
// The page's form (urlencoded: every value text, a checkbox sent as `on` when checked and not
// at all when unchecked, see `unchecked_as_no`) and the API's JSON body (`PUT
// /api/v1/me/profile`: booleans, omitted ones taking their default) both deserialize into it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = ProfileBody)]
pub struct ProfileInput {
    #[serde(default)]
    #[schema(required = true)]
    pub name: String,
    #[serde(default)]
    pub bio: String,
    /// A city of the gazetteer: "Boston" or "Boston, MA".
    #[serde(default)]
    #[schema(required = true)]
    pub city: String,
    /// IANA zone; omitted or empty means the city's zone.
    #[serde(default)]
    pub timezone: String,
    #[serde(default)]
    #[schema(required = true)]
    pub techniques: Vec<String>,
    /// ISO 639-1 codes; default ["en"].
    #[serde(default)]
    pub languages: Vec<String>,
    /// Default true.
    #[serde(default, deserialize_with = "flag")]
    pub accepting_new_clients: Option<bool>,
    /// Default true.
    #[serde(default, deserialize_with = "flag")]
    pub in_studio: Option<bool>,
    /// Omitted: kept as stored (false for a new profile). Needs `mobile_radius_km`.
    #[serde(default, deserialize_with = "flag")]
    pub mobile: Option<bool>,
    /// The studio's street address (5 to 200 characters): in-studio bookings exactly when set.
    /// Omitted: kept as stored; `null` or "" removes it.
    #[serde(default, deserialize_with = "text_or_clear")]
    #[schema(value_type = Option<String>)]
    pub address: Option<String>,
    /// A phone for clients (7 to 20 digits with `+ ( ) - .` and spaces). Omitted: kept as
    /// stored; `null` or "" removes it.
    #[serde(default, deserialize_with = "text_or_clear")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<String>,
    /// How far from their city a mobile therapist travels, km (1 to 500); required when
    /// `mobile`. Omitted: kept as stored.
    #[serde(default, deserialize_with = "text_or_clear")]
    #[schema(value_type = Option<i32>)]
    pub mobile_radius_km: Option<String>,
}

/// A practice field as sent: absent stays `None` (keep what is stored), `null` is `Some("")`
/// (remove it), a string or a number is its text (checked by the parse, so a bad value is a
/// field error, not a refused body).
fn text_or_clear<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Text;
    impl<'de> serde::de::Visitor<'de> for Text {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string, a number or null")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Some(String::new()))
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Some(String::new()))
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(Text)
        }
    }
    d.deserialize_any(Text)
}

/// What is stored of the practice, which fields left out of a request keep.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredPractice {
    pub address: Option<String>,
    pub phone: Option<String>,
    pub mobile: bool,
    pub mobile_radius_km: Option<i32>,
}

impl ProfileInput {
    /// The form's reading of the flags: a checkbox left unchecked is not sent, so an absent
    /// flag means no (where the JSON body's means the default).
    pub fn unchecked_as_no(mut self) -> Self {
        for f in [&mut self.accepting_new_clients, &mut self.mobile] {
            *f = Some(f.unwrap_or(false));
        }
        // The form has no studio box: the address field says it.
        self.in_studio = None;
        self
    }
}

/// A flag as JSON sends it (`true`, `false`, `null`) or as a checked checkbox of a form does
/// (`on`; also `true` and `false` as text).
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct Flag;
    impl<'de> serde::de::Visitor<'de> for Flag {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("true, false or null (a form's checkbox: on)")
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            match v {
                "on" | "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
            }
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(Flag)
        }
    }
    d.deserialize_any(Flag)
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub name: PersonName,
    pub bio: String,
    pub place: &'static Place,
    pub timezone: Tz,
    pub techniques: Vec<&'static str>,
    pub languages: Vec<&'static str>,
    pub accepting_new_clients: bool,
    /// Exactly when there is an address (`therapists.in_studio`, the search filter).
    pub in_studio: bool,
    pub mobile: bool,
    pub address: Option<String>,
    pub phone: Option<String>,
    /// Some exactly when `mobile`.
    pub mobile_radius_km: Option<i32>,
}

impl Profile {
    /// The languages as stored: codes between commas (",en,es,").
    pub fn languages_column(&self) -> String {
        format!(",{},", self.languages.join(","))
    }
}

/// Parses the profile; the practice fields left out of the input keep `stored`.
pub fn parse_profile(
    input: &ProfileInput,
    stored: &StoredPractice,
) -> Result<Profile, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = PersonName::parse(&input.name)
        .map_err(|e| errors.insert("name".into(), e))
        .ok();
    let bio = input.bio.trim().replace("\r\n", "\n");
    if bio.chars().count() > BIO_MAX_CHARS {
        errors.insert(
            "bio".into(),
            format!("A bio has at most {BIO_MAX_CHARS} characters."),
        );
    }
    let place = match input.city.trim() {
        "" => {
            errors.insert("city".into(), "Enter the city you work in.".into());
            None
        }
        city => {
            let (n, st) = match city.rsplit_once(',') {
                Some((n, st)) if st.trim().len() == 2 => (n.trim(), Some(st.trim())),
                _ => (city, None),
            };
            let found = gazetteer::find_place(n, st);
            if found.is_none() {
                errors.insert(
                    "city".into(),
                    format!("We do not know \"{city}\". Choose a city over about 15,000 people, like \"Boston, MA\"."),
                );
            }
            found
        }
    };
    let timezone = match input.timezone.trim() {
        "" => place.map(|p| p.tz),
        tz => match tz.parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                errors.insert(
                    "timezone".into(),
                    format!("\"{tz}\" is not a time zone name such as America/New_York."),
                );
                None
            }
        },
    };
    let mut techniques = Vec::new();
    for slug in &input.techniques {
        match technique::find(slug.trim()) {
            Some(t) if !techniques.contains(&t.slug) => techniques.push(t.slug),
            Some(_) => {}
            None => {
                errors.insert(
                    "techniques".into(),
                    format!("\"{slug}\" is not a technique we list."),
                );
            }
        }
    }
    if techniques.is_empty() && !errors.contains_key("techniques") {
        errors.insert(
            "techniques".into(),
            "Choose at least one technique you offer.".into(),
        );
    }
    let mut languages = Vec::new();
    for code in &input.languages {
        let code = code.trim().to_ascii_lowercase();
        match LANGUAGES.iter().find(|(c, _)| *c == code) {
            Some((c, _)) if !languages.contains(c) => languages.push(*c),
            Some(_) => {}
            None => {
                errors.insert(
                    "languages".into(),
                    format!("\"{code}\" is not a language code we list."),
                );
            }
        }
    }
    if languages.is_empty() && !errors.contains_key("languages") {
        languages.push("en");
    }
    let address = match &input.address {
        None => stored.address.clone(),
        Some(a) if a.trim().is_empty() => None,
        Some(a) => practice::parse_address(a, "your studio's")
            .map_err(|e| errors.insert("address".into(), e))
            .ok(),
    };
    let phone = match &input.phone {
        None => stored.phone.clone(),
        Some(p) if p.trim().is_empty() => None,
        Some(p) => practice::parse_phone(p)
            .map_err(|e| errors.insert("phone".into(), e))
            .ok(),
    };
    let mobile = input.mobile.unwrap_or(stored.mobile);
    // The radius is measured from the city, which the profile always has (checked above).
    let mobile_radius_km = match (&input.mobile_radius_km, mobile) {
        (_, false) => None,
        (None, true) => match stored.mobile_radius_km {
            Some(km) => Some(km),
            None => {
                errors.insert(
                    "mobile_radius_km".into(),
                    practice::parse_radius("").unwrap_err(),
                );
                None
            }
        },
        (Some(km), true) => practice::parse_radius(km)
            .map_err(|e| errors.insert("mobile_radius_km".into(), e))
            .ok(),
    };
    let in_studio = address.is_some() || errors.contains_key("address");
    if input.in_studio == Some(true) && !in_studio {
        errors.insert(
            "address".into(),
            "Enter your studio's street address to take bookings in your studio.".into(),
        );
    } else if input.in_studio == Some(false) && in_studio {
        errors.insert(
            "address".into(),
            "In-studio visits follow the address: remove the address to stop them.".into(),
        );
    } else if !in_studio && !mobile {
        errors.insert(
            "address".into(),
            "Enter your studio's street address, offer mobile visits, or both.".into(),
        );
    }
    match (name, place, timezone, errors.is_empty()) {
        (Some(name), Some(place), Some(timezone), true) => Ok(Profile {
            name,
            bio,
            place,
            timezone,
            techniques,
            languages,
            accepting_new_clients: input.accepting_new_clients.unwrap_or(true),
            in_studio: address.is_some(),
            mobile,
            address,
            phone,
            mobile_radius_km,
        }),
        _ => Err(errors),
    }
}

/// A service as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ServiceInput {
    #[serde(default)]
    pub technique: String,
    pub duration_min: Option<i32>,
    pub price_cents: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceSpec {
    pub technique: &'static str,
    pub duration_min: i32,
    pub price_cents: i64,
}

pub fn parse_service(input: &ServiceInput) -> Result<ServiceSpec, FieldErrors> {
    let mut errors = FieldErrors::new();
    let technique = technique::find(input.technique.trim()).map(|t| t.slug);
    if technique.is_none() {
        errors.insert(
            "technique".into(),
            "Choose a technique from the list.".into(),
        );
    }
    let duration = input.duration_min.unwrap_or(0);
    if !(DURATION_MIN..=DURATION_MAX).contains(&duration) || duration % 5 != 0 {
        errors.insert(
            "duration_min".into(),
            format!("A session lasts {DURATION_MIN} to {DURATION_MAX} minutes, in steps of 5."),
        );
    }
    let price = input.price_cents.unwrap_or(-1);
    if !(0..=PRICE_MAX_CENTS).contains(&price) {
        errors.insert(
            "price_cents".into(),
            "Enter a price from $0 to $10,000.".into(),
        );
    }
    match technique {
        Some(technique) if errors.is_empty() => Ok(ServiceSpec {
            technique,
            duration_min: duration,
            price_cents: price,
        }),
        _ => Err(errors),
    }
}

/// A license as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct LicenseInput {
    #[serde(default)]
    pub jurisdiction: String,
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub issuing_body: String,
    pub expires_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseSpec {
    pub jurisdiction: String,
    pub number: String,
    pub issuing_body: String,
    pub expires_on: NaiveDate,
}

fn text_field(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
    label: &str,
    max: usize,
) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.insert(field.into(), format!("Enter the {label}."));
    } else if v.chars().count() > max {
        errors.insert(
            field.into(),
            format!("The {label} has at most {max} characters."),
        );
    } else if v.chars().any(|c| c.is_control()) {
        errors.insert(
            field.into(),
            format!("The {label} cannot contain control characters."),
        );
    }
    v.to_string()
}

/// A license's expiry is at most this many years ahead (boards renew every one to five years).
pub const LICENSE_MAX_YEARS: i64 = 10;

pub fn parse_license(input: &LicenseInput, today: NaiveDate) -> Result<LicenseSpec, FieldErrors> {
    let mut errors = FieldErrors::new();
    let jurisdiction = text_field(
        &mut errors,
        "jurisdiction",
        &input.jurisdiction,
        "jurisdiction (state or board area)",
        100,
    );
    let number = text_field(&mut errors, "number", &input.number, "license number", 40);
    if !errors.contains_key("number")
        && !number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-./ ".contains(c))
    {
        errors.insert(
            "number".into(),
            "A license number has letters, digits, spaces, dots, dashes or slashes.".into(),
        );
    }
    let issuing_body = text_field(
        &mut errors,
        "issuing_body",
        &input.issuing_body,
        "issuing body",
        200,
    );
    let expires_on = match input.expires_on {
        None => {
            errors.insert(
                "expires_on".into(),
                "Enter the expiry date (YYYY-MM-DD).".into(),
            );
            None
        }
        Some(d) if d <= today => {
            errors.insert(
                "expires_on".into(),
                "This license has already expired: submit a current one.".into(),
            );
            None
        }
        Some(d) if (d - today).num_days() > LICENSE_MAX_YEARS * 366 => {
            errors.insert(
                "expires_on".into(),
                format!("A license runs at most {LICENSE_MAX_YEARS} years: check the expiry date."),
            );
            None
        }
        Some(d) => Some(d),
    };
    match expires_on {
        Some(expires_on) if errors.is_empty() => Ok(LicenseSpec {
            jurisdiction,
            number: number.to_ascii_uppercase(),
            issuing_body,
            expires_on,
        }),
        _ => Err(errors),
    }
}

/// A training record as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TrainingInput {
    #[serde(default)]
    pub program: String,
    pub hours: Option<i32>,
    pub completed_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingSpec {
    pub program: String,
    pub hours: i32,
    pub completed_on: NaiveDate,
}

pub fn parse_training(
    input: &TrainingInput,
    today: NaiveDate,
) -> Result<TrainingSpec, FieldErrors> {
    let mut errors = FieldErrors::new();
    let program = text_field(&mut errors, "program", &input.program, "program name", 200);
    let hours = input.hours.unwrap_or(0);
    if !(1..=TRAINING_HOURS_MAX).contains(&hours) {
        errors.insert(
            "hours".into(),
            format!("Enter the hours of this program, 1 to {TRAINING_HOURS_MAX}."),
        );
    }
    let earliest = NaiveDate::from_ymd_opt(1950, 1, 1).expect("valid date");
    let completed_on = match input.completed_on {
        None => {
            errors.insert(
                "completed_on".into(),
                "Enter the completion date (YYYY-MM-DD).".into(),
            );
            None
        }
        Some(d) if d > today || d < earliest => {
            errors.insert(
                "completed_on".into(),
                "The completion date must be in the past.".into(),
            );
            None
        }
        Some(d) => Some(d),
    };
    match completed_on {
        Some(completed_on) if errors.is_empty() => Ok(TrainingSpec {
            program,
            hours,
            completed_on,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    #[test]
    fn profile_takes_the_zone_of_its_city_and_refuses_unknown_things() {
        let ok = parse_profile(
            &ProfileInput {
                name: "Maya".into(),
                city: "denver, co".into(),
                techniques: vec!["swedish".into(), "swedish".into()],
                languages: vec!["ES".into()],
                address: Some("12 Elm Street".into()),
                ..Default::default()
            },
            &StoredPractice::default(),
        )
        .unwrap();
        assert!(ok.in_studio);
        assert_eq!(ok.timezone, chrono_tz::America::Denver);
        assert_eq!(ok.techniques, vec!["swedish"]);
        assert_eq!(ok.languages_column(), ",es,");
        let bad = parse_profile(
            &ProfileInput {
                name: "".into(),
                city: "Atlantis".into(),
                timezone: "Mars/Olympus".into(),
                techniques: vec!["reiki".into()],
                languages: vec!["xx".into()],
                in_studio: Some(false),
                mobile: Some(false),
                ..Default::default()
            },
            &StoredPractice::default(),
        )
        .unwrap_err();
        for f in [
            "name",
            "city",
            "timezone",
            "techniques",
            "languages",
            "address",
        ] {
            assert!(bad.contains_key(f), "{f}: {bad:?}");
        }
    }

    #[test]
    fn the_form_and_the_json_body_read_into_one_input() {
        let form: ProfileInput = serde_html_form::from_str(
            "name=Maya&city=Boston&techniques=swedish&techniques=shiatsu&in_studio=on",
        )
        .unwrap();
        assert_eq!(form.techniques, ["swedish", "shiatsu"]);
        assert_eq!(
            (form.accepting_new_clients, form.in_studio, form.mobile),
            (None, Some(true), None)
        );
        let form = form.unchecked_as_no();
        assert_eq!(
            (form.accepting_new_clients, form.in_studio, form.mobile),
            (Some(false), None, Some(false))
        );
        let none: ProfileInput = serde_html_form::from_str("name=Maya").unwrap();
        assert!(none.techniques.is_empty() && none.city.is_empty());
        let json: ProfileInput = serde_json::from_str(
            r#"{"name": "Maya", "city": "Boston", "techniques": ["swedish"], "mobile": true, "in_studio": null}"#,
        )
        .unwrap();
        assert_eq!(
            (json.accepting_new_clients, json.in_studio, json.mobile),
            (None, None, Some(true))
        );
        assert!(serde_json::from_str::<ProfileInput>(r#"{"mobile": "maybe"}"#).is_err());
        assert!(serde_json::from_str::<ProfileInput>(r#"{"mobile": 1}"#).is_err());
    }

    #[test]
    fn practice_fields_left_out_keep_what_is_stored_and_in_studio_follows_the_address() {
        let base = || ProfileInput {
            name: "Maya".into(),
            city: "Boston, MA".into(),
            techniques: vec!["swedish".into()],
            ..Default::default()
        };
        let stored = StoredPractice {
            address: Some("1 Main St".into()),
            phone: Some("617 555 0100".into()),
            mobile: true,
            mobile_radius_km: Some(30),
        };
        let kept = parse_profile(&base(), &stored).unwrap();
        assert_eq!(
            (
                kept.address.as_deref(),
                kept.phone.as_deref(),
                kept.mobile,
                kept.mobile_radius_km,
                kept.in_studio
            ),
            (
                Some("1 Main St"),
                Some("617 555 0100"),
                true,
                Some(30),
                true
            )
        );
        let json: ProfileInput = serde_json::from_str(
            r#"{"name": "Maya", "city": "Boston", "techniques": ["swedish"], "address": null, "phone": "", "mobile_radius_km": 12}"#,
        )
        .unwrap();
        let cleared = parse_profile(&json, &stored).unwrap();
        assert_eq!(
            (
                cleared.address,
                cleared.phone,
                cleared.mobile_radius_km,
                cleared.in_studio
            ),
            (None, None, Some(12), false)
        );
        // Mobile without a radius; neither studio nor mobile; a contradicting in_studio.
        let no_radius = ProfileInput {
            mobile: Some(true),
            ..base()
        };
        assert!(parse_profile(&no_radius, &StoredPractice::default())
            .unwrap_err()
            .contains_key("mobile_radius_km"));
        assert!(parse_profile(&base(), &StoredPractice::default())
            .unwrap_err()
            .contains_key("address"));
        let claims_studio = ProfileInput {
            in_studio: Some(true),
            mobile: Some(true),
            mobile_radius_km: Some("10".into()),
            ..base()
        };
        assert!(parse_profile(&claims_studio, &StoredPractice::default())
            .unwrap_err()
            .contains_key("address"));
        let bad = ProfileInput {
            address: Some("12".into()),
            phone: Some("call me".into()),
            mobile: Some(true),
            mobile_radius_km: Some("900".into()),
            ..base()
        };
        let e = parse_profile(&bad, &stored).unwrap_err();
        for f in ["address", "phone", "mobile_radius_km"] {
            assert!(e.contains_key(f), "{f}: {e:?}");
        }
    }

    #[test]
    fn services_have_bounded_durations_and_prices() {
        let s = |d, p| ServiceInput {
            technique: "swedish".into(),
            duration_min: Some(d),
            price_cents: Some(p),
        };
        assert!(parse_service(&s(60, 9000)).is_ok());
        assert!(parse_service(&s(15, 0)).is_ok());
        assert!(parse_service(&s(240, PRICE_MAX_CENTS)).is_ok());
        assert!(parse_service(&s(10, 9000))
            .unwrap_err()
            .contains_key("duration_min"));
        assert!(parse_service(&s(241, 9000))
            .unwrap_err()
            .contains_key("duration_min"));
        assert!(parse_service(&s(62, 9000))
            .unwrap_err()
            .contains_key("duration_min"));
        assert!(parse_service(&s(60, -1))
            .unwrap_err()
            .contains_key("price_cents"));
        assert!(parse_service(&s(60, PRICE_MAX_CENTS + 1))
            .unwrap_err()
            .contains_key("price_cents"));
    }

    #[test]
    fn licenses_must_not_be_expired_and_training_must_be_past() {
        let l = LicenseInput {
            jurisdiction: "MA".into(),
            number: "lmt-123".into(),
            issuing_body: "MA Board".into(),
            expires_on: Some(today()),
        };
        assert!(parse_license(&l, today())
            .unwrap_err()
            .contains_key("expires_on"));
        let later = LicenseInput {
            expires_on: today().succ_opt(),
            ..l
        };
        assert_eq!(parse_license(&later, today()).unwrap().number, "LMT-123");
        let far = LicenseInput {
            expires_on: chrono::NaiveDate::from_ymd_opt(9999, 1, 1),
            ..later.clone()
        };
        assert!(parse_license(&far, today())
            .unwrap_err()
            .contains_key("expires_on"));
        let t = TrainingInput {
            program: "Diploma".into(),
            hours: Some(500),
            completed_on: today().succ_opt(),
        };
        assert!(parse_training(&t, today())
            .unwrap_err()
            .contains_key("completed_on"));
        let t = TrainingInput {
            completed_on: Some(today()),
            hours: Some(0),
            ..t
        };
        assert!(parse_training(&t, today())
            .unwrap_err()
            .contains_key("hours"));
    }
}
