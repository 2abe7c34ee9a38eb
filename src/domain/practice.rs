//! Where and how to reach a therapist: the studio's street address, a phone, mobile visits
//! within a radius of their city; and the one rule of a booking's visit (studio or mobile),
//! which every way of booking applies (`services::booking::resolve_visit`).

use crate::domain::appointment::Visit;
use crate::domain::gazetteer::{self, GeoPoint};
use crate::domain::FieldErrors;

/// A street address (the studio's, or a mobile client's): 5 to 200 characters on one line.
pub const ADDRESS_MIN_CHARS: usize = 5;
pub const ADDRESS_MAX_CHARS: usize = 200;
/// A phone: 7 to 20 digits, with `+ ( ) - .` and spaces, at most 30 characters in all.
pub const PHONE_MIN_DIGITS: usize = 7;
pub const PHONE_MAX_DIGITS: usize = 20;
pub const PHONE_MAX_CHARS: usize = 30;
/// How far a mobile therapist may say they travel from their city, in km.
pub const RADIUS_MIN_KM: i32 = 1;
pub const RADIUS_MAX_KM: i32 = 500;

/// A street address as typed, trimmed, its inner runs of white space made one space (an
/// address is shown on one line). `Err` says what is wrong, for the field.
pub fn parse_address(input: &str, whose: &str) -> Result<String, String> {
    let joined = input.split_whitespace().collect::<Vec<_>>().join(" ");
    let n = joined.chars().count();
    if n == 0 {
        return Err(format!("Enter {whose} street address."));
    }
    if joined.chars().any(char::is_control) {
        return Err("An address can't hold control characters.".into());
    }
    if !(ADDRESS_MIN_CHARS..=ADDRESS_MAX_CHARS).contains(&n) {
        return Err(format!(
            "An address has {ADDRESS_MIN_CHARS} to {ADDRESS_MAX_CHARS} characters, like \"12 Elm Street, Suite 3\"."
        ));
    }
    if !joined.chars().any(char::is_alphabetic) {
        return Err("An address names a street, like \"12 Elm Street\".".into());
    }
    Ok(joined)
}

/// A phone number as typed (trimmed): 7 to 20 digits, with `+` only in front, and `( ) - .`
/// and spaces between them.
pub fn parse_phone(input: &str) -> Result<String, String> {
    let p = input.trim();
    let message = || {
        format!(
            "Enter a phone number of {PHONE_MIN_DIGITS} to {PHONE_MAX_DIGITS} digits, like \"+1 (617) 555-0142\"; only + ( ) - . and spaces may go between the digits."
        )
    };
    if p.chars().count() > PHONE_MAX_CHARS {
        return Err(message());
    }
    let allowed = |(i, c): (usize, char)| {
        c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '-' | '.') || (c == '+' && i == 0)
    };
    if !p.char_indices().all(allowed) {
        return Err(message());
    }
    let digits = p.chars().filter(char::is_ascii_digit).count();
    if !(PHONE_MIN_DIGITS..=PHONE_MAX_DIGITS).contains(&digits) {
        return Err(message());
    }
    Ok(p.to_string())
}

/// The number for a `tel:` link: the digits, with the leading `+` when there is one.
pub fn tel_uri(phone: &str) -> String {
    let plus = if phone.trim_start().starts_with('+') {
        "+"
    } else {
        ""
    };
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    format!("tel:{plus}{digits}")
}

/// A mobile radius as typed (a form's text or the API's number as text).
pub fn parse_radius(input: &str) -> Result<i32, String> {
    let message = || {
        format!(
            "Enter how far you travel for mobile visits: a whole number of km from {RADIUS_MIN_KM} to {RADIUS_MAX_KM}."
        )
    };
    match input.trim() {
        "" => Err(message()),
        s => match s.parse::<i32>() {
            Ok(km) if (RADIUS_MIN_KM..=RADIUS_MAX_KM).contains(&km) => Ok(km),
            _ => Err(message()),
        },
    }
}

/// What a therapist offers, as a booking sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VisitOffer {
    /// They have a studio address.
    pub studio: bool,
    /// They offer mobile visits within this many km of `base` (None: no mobile visits).
    pub mobile_radius_km: Option<i32>,
    /// Their city, where the radius is measured from.
    pub base: Option<GeoPoint>,
}

impl VisitOffer {
    pub fn offers(&self, visit: Visit) -> bool {
        match visit {
            Visit::Studio => self.studio,
            Visit::Mobile => self.mobile_radius_km.is_some() && self.base.is_some(),
        }
    }

    /// The visit a booking that does not say gets: the studio when there is one, else mobile
    /// (so clients written before visits existed keep booking studios as before).
    pub fn default_visit(&self) -> Visit {
        if self.studio {
            Visit::Studio
        } else {
            Visit::Mobile
        }
    }
}

/// What a client asks for: the kind of visit (None: [`VisitOffer::default_visit`]) and, for a
/// mobile visit, their street address and city.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VisitRequest {
    pub visit: Option<Visit>,
    pub client_address: String,
    pub client_city: String,
}

/// A mobile visit's address as kept (encrypted) on the booking: the street as typed and the
/// city the gazetteer found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientAddress {
    pub street: String,
    pub city: String,
}

impl ClientAddress {
    /// One line, as pages show it.
    pub fn line(&self) -> String {
        format!("{}, {}", self.street, self.city)
    }
}

/// A visit the rule accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum VisitPlan {
    Studio,
    Mobile {
        address: ClientAddress,
        /// From the therapist's city to the client's, km.
        distance_km: f64,
    },
}

impl VisitPlan {
    pub fn visit(&self) -> Visit {
        match self {
            VisitPlan::Studio => Visit::Studio,
            VisitPlan::Mobile { .. } => Visit::Mobile,
        }
    }
}

/// Why a visit can't be booked: a code for the API, the field it concerns and what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitRefusal {
    /// `studio_unavailable`, `mobile_unavailable`, `address_required` (with `fields`), or
    /// `outside_mobile_area`.
    pub code: &'static str,
    pub fields: FieldErrors,
    pub message: String,
}

fn refusal(code: &'static str, field: &str, message: String) -> VisitRefusal {
    let mut fields = FieldErrors::new();
    fields.insert(field.into(), message.clone());
    VisitRefusal {
        code,
        fields,
        message,
    }
}

/// The visit rule: a studio visit needs a studio address; a mobile visit needs a therapist who
/// offers them, the client's street address and a city of the gazetteer within the radius of
/// the therapist's city.
pub fn choose_visit(offer: &VisitOffer, req: &VisitRequest) -> Result<VisitPlan, VisitRefusal> {
    let visit = req.visit.unwrap_or(offer.default_visit());
    match visit {
        Visit::Studio if offer.studio => Ok(VisitPlan::Studio),
        Visit::Studio => Err(refusal(
            "studio_unavailable",
            "visit",
            "This therapist has no studio to visit: they see clients at home only (choose a mobile visit).".into(),
        )),
        Visit::Mobile => {
            let (Some(radius), Some(base)) = (offer.mobile_radius_km, offer.base) else {
                return Err(refusal(
                    "mobile_unavailable",
                    "visit",
                    "This therapist does not offer mobile visits: the session is at their studio."
                        .into(),
                ));
            };
            let mut fields = FieldErrors::new();
            let street = parse_address(&req.client_address, "the")
                .map_err(|e| fields.insert("client_address".into(), e))
                .ok();
            let near = if req.client_city.trim().is_empty() {
                fields.insert(
                    "client_city".into(),
                    "Enter the city of the address, like \"Cambridge, MA\".".into(),
                );
                None
            } else {
                gazetteer::resolve_near(&req.client_city)
                    .map_err(|e| fields.insert("client_city".into(), e))
                    .ok()
            };
            let (Some(street), Some(near)) = (street, near) else {
                return Err(VisitRefusal {
                    code: "address_required",
                    fields,
                    message: "A mobile visit needs the address where the session takes place."
                        .into(),
                });
            };
            let distance_km = gazetteer::distance_km(base, near.point);
            if distance_km > radius as f64 {
                return Err(refusal(
                    "outside_mobile_area",
                    "client_city",
                    format!(
                        "{} is about {:.0} km away: this therapist travels up to {radius} km for mobile visits. Choose a visit at their studio or another therapist.",
                        near.label, distance_km
                    ),
                ));
            }
            Ok(VisitPlan::Mobile {
                address: ClientAddress {
                    street,
                    city: near.label,
                },
                distance_km,
            })
        }
    }
}

/// The visit rule again for a booking that moves: the place stays what was booked (the studio,
/// or the client's address), so it must still be one the therapist offers now. A therapist
/// who has since closed their studio, stopped mobile visits or narrowed their radius is not
/// moved to; the client cancels and books what is offered.
pub fn recheck_visit(
    offer: &VisitOffer,
    visit: Visit,
    address: Option<&ClientAddress>,
) -> Result<(), VisitRefusal> {
    let req = VisitRequest {
        visit: Some(visit),
        client_address: address.map(|a| a.street.clone()).unwrap_or_default(),
        client_city: address.map(|a| a.city.clone()).unwrap_or_default(),
    };
    choose_visit(offer, &req)
        .map(|_| ())
        .map_err(|r| VisitRefusal {
            message: format!(
                "This booking can't be moved: the place it was booked for is no longer offered. {}",
                r.message
            ),
            ..r
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boston() -> GeoPoint {
        let p = gazetteer::find_place("Boston", Some("MA")).unwrap();
        GeoPoint {
            lat: p.lat,
            lon: p.lon,
        }
    }

    fn mobile(visit: Option<Visit>, address: &str, city: &str) -> VisitRequest {
        VisitRequest {
            visit,
            client_address: address.into(),
            client_city: city.into(),
        }
    }

    #[test]
    fn addresses_and_phones_have_their_limits() {
        assert_eq!(
            parse_address("  12  Elm\nStreet ", "your").unwrap(),
            "12 Elm Street"
        );
        assert!(parse_address("", "your").unwrap_err().contains("your"));
        assert!(parse_address("12 E", "your").is_err());
        assert!(parse_address("12345 67890", "your").is_err());
        assert!(parse_address(&"a".repeat(ADDRESS_MAX_CHARS + 1), "your").is_err());
        assert!(parse_address(&"a".repeat(ADDRESS_MAX_CHARS), "your").is_ok());
        assert_eq!(
            parse_phone(" +1 (617) 555-0142 ").unwrap(),
            "+1 (617) 555-0142"
        );
        assert!(parse_phone("617.555.0142").is_ok());
        assert!(parse_phone("555-0142").is_ok());
        assert!(parse_phone("555-014").is_err());
        assert!(parse_phone("1-800-FLOWERS").is_err());
        assert!(parse_phone("617+555+0142").is_err());
        assert!(parse_phone(&"1".repeat(21)).is_err());
        assert_eq!(tel_uri("+1 (617) 555-0142"), "tel:+16175550142");
        assert_eq!(tel_uri("617.555.0142"), "tel:6175550142");
    }

    #[test]
    fn a_radius_is_a_whole_number_of_km_in_range() {
        assert_eq!(parse_radius(" 25 "), Ok(25));
        assert_eq!(parse_radius("1"), Ok(1));
        assert_eq!(parse_radius("500"), Ok(500));
        for bad in ["", "0", "501", "-3", "2.5", "far"] {
            assert!(parse_radius(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_visit_rule() {
        let studio_only = VisitOffer {
            studio: true,
            mobile_radius_km: None,
            base: Some(boston()),
        };
        let mobile_only = VisitOffer {
            studio: false,
            mobile_radius_km: Some(20),
            base: Some(boston()),
        };
        // Defaults: the studio when there is one, else mobile.
        assert_eq!(
            choose_visit(&studio_only, &VisitRequest::default()),
            Ok(VisitPlan::Studio)
        );
        assert_eq!(
            choose_visit(&mobile_only, &VisitRequest::default())
                .unwrap_err()
                .code,
            "address_required"
        );
        assert_eq!(
            choose_visit(&mobile_only, &mobile(Some(Visit::Studio), "", ""))
                .unwrap_err()
                .code,
            "studio_unavailable"
        );
        assert_eq!(
            choose_visit(
                &studio_only,
                &mobile(Some(Visit::Mobile), "12 Elm St", "Cambridge, MA")
            )
            .unwrap_err()
            .code,
            "mobile_unavailable"
        );
        let no_city =
            choose_visit(&mobile_only, &mobile(Some(Visit::Mobile), "12 Elm St", "")).unwrap_err();
        assert_eq!(no_city.code, "address_required");
        assert!(no_city.fields.contains_key("client_city"));
        assert!(!no_city.fields.contains_key("client_address"));
        let far = choose_visit(
            &mobile_only,
            &mobile(Some(Visit::Mobile), "12 Elm St", "Worcester, MA"),
        )
        .unwrap_err();
        assert_eq!(far.code, "outside_mobile_area");
        assert!(far.message.contains("20 km"), "{}", far.message);
        match choose_visit(&mobile_only, &mobile(None, " 12 Elm St ", "cambridge, ma")) {
            Ok(VisitPlan::Mobile {
                address,
                distance_km,
            }) => {
                assert_eq!(address.line(), "12 Elm St, Cambridge, MA");
                assert!(distance_km > 0.0 && distance_km < 20.0);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_move_keeps_its_place_only_while_it_is_offered() {
        let both = VisitOffer {
            studio: true,
            mobile_radius_km: Some(20),
            base: Some(boston()),
        };
        let cambridge = ClientAddress {
            street: "12 Elm St".into(),
            city: "Cambridge, MA".into(),
        };
        assert_eq!(recheck_visit(&both, Visit::Studio, None), Ok(()));
        assert_eq!(
            recheck_visit(&both, Visit::Mobile, Some(&cambridge)),
            Ok(())
        );
        // The studio closed: a studio booking can't move.
        let closed = VisitOffer {
            studio: false,
            ..both
        };
        let refused = recheck_visit(&closed, Visit::Studio, None).unwrap_err();
        assert_eq!(refused.code, "studio_unavailable");
        assert!(refused.message.starts_with("This booking can't be moved"));
        // Mobile visits stopped, or the radius shrank below the client's distance.
        let no_mobile = VisitOffer {
            mobile_radius_km: None,
            ..both
        };
        assert_eq!(
            recheck_visit(&no_mobile, Visit::Mobile, Some(&cambridge))
                .unwrap_err()
                .code,
            "mobile_unavailable"
        );
        let narrow = VisitOffer {
            mobile_radius_km: Some(1),
            ..both
        };
        assert_eq!(
            recheck_visit(&narrow, Visit::Mobile, Some(&cambridge))
                .unwrap_err()
                .code,
            "outside_mobile_area"
        );
    }
}
