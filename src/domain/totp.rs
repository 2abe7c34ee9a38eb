//! Two-factor sign-in (TOTP, RFC 6238): the rules, without storage. SHA-1, 6 digits, 30-second
//! steps, one step of clock skew either way (`totp-rs` computes the codes). A code is accepted
//! only for a step later than the last one the account used, so a code seen over someone's
//! shoulder, or sent twice, does not work again. Recovery codes are 16 random base32 letters and
//! digits (80 bits), shown once in groups of four, each usable once.

use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Digits of a code.
pub const DIGITS: usize = 6;
/// Seconds of a time step.
pub const STEP_SECS: u64 = 30;
/// Steps of clock skew allowed either way.
pub const SKEW_STEPS: u16 = 1;
/// Recovery codes made at confirmation.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (without its dashes).
pub const RECOVERY_CHARS: usize = 16;
/// How long the login page waits for the code after a right password (seconds).
pub const PENDING_LOGIN_SECS: i64 = 300;
/// The issuer the authenticator app shows beside the account.
pub const ISSUER: &str = "Bodywork";
/// Bytes of a new secret (160 bits, RFC 4226's recommendation).
pub const SECRET_BYTES: usize = 20;

/// The codes of the errors the second factor answers with.
pub const TOTP_REQUIRED: &str = "totp_required";
pub const INVALID_TOTP: &str = "invalid_totp";
pub const TOTP_ENROLMENT_REQUIRED: &str = "totp_enrolment_required";
pub const TOTP_ALREADY_ENABLED: &str = "totp_already_enabled";
pub const TOTP_NOT_PENDING: &str = "totp_not_pending";
pub const TOTP_NOT_ENABLED: &str = "totp_not_enabled";

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// What a person typed as their second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactor {
    /// Six digits from the app.
    Code(String),
    /// A recovery code, normalised (upper case, no dashes or spaces).
    Recovery(String),
}

impl SecondFactor {
    /// Reads a code (spaces allowed: "123 456") or a recovery code (any case, dashes and
    /// spaces allowed). None for anything else.
    pub fn parse(input: &str) -> Option<SecondFactor> {
        if input.len() > 64 {
            return None;
        }
        let plain: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if plain.len() == DIGITS && plain.chars().all(|c| c.is_ascii_digit()) {
            return Some(SecondFactor::Code(plain));
        }
        let upper = plain.to_ascii_uppercase();
        (upper.len() == RECOVERY_CHARS && upper.bytes().all(|b| BASE32.contains(&b)))
            .then_some(SecondFactor::Recovery(upper))
    }
}

/// The TOTP of a secret for an account (its name shows in the app).
pub fn totp(secret: &[u8], account: &str) -> Result<Totp, String> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_SECS)
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', ""))
        .build()
        .map_err(|e| format!("TOTP: {e}"))
}

/// The secret as base32 (what the person types into an app without a camera).
pub fn secret_base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The secret of a base32 text (a configured demo secret).
pub fn secret_from_base32(text: &str) -> Option<Vec<u8>> {
    Secret::try_from_base32(text.trim())
        .ok()
        .map(|s| s.as_bytes().to_vec())
}

/// The step `code` is valid for at `unix_secs` (within the skew) when it is later than `last`,
/// the last step the account used; None for a wrong code or a step already used.
pub fn accepted_step(totp: &Totp, code: &str, unix_secs: u64, last: Option<i64>) -> Option<i64> {
    let step = totp.check(code, unix_secs)? as i64;
    match last {
        Some(last) if step <= last => None,
        _ => Some(step),
    }
}

/// The `otpauth://` URI as a QR code: an SVG image as a `data:` URI for an `<img src>` (escaped
/// like any attribute, so no markup of the page is unescaped), drawn by the `qrcode` crate
/// from the URI's modules only. Empty when the URI is too long for a QR code (never for ours).
pub fn qr_data_uri(uri: &str) -> String {
    use base64::Engine as _;
    use qrcode::render::svg;
    let Ok(code) = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M) else {
        return String::new();
    };
    let image = code
        .render::<svg::Color>()
        .min_dimensions(220, 220)
        .dark_color(svg::Color("#1b1b1b"))
        .light_color(svg::Color("#ffffff"))
        .build();
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(image)
    )
}

/// A recovery code from 10 random bytes: 16 base32 characters in groups of four
/// ("ABCD-EFGH-JKLM-NPQR").
pub fn recovery_code(bytes: [u8; 10]) -> String {
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | b as u128;
    }
    let chars: Vec<char> = (0..RECOVERY_CHARS)
        .map(|i| BASE32[((bits >> (75 - 5 * i)) & 31) as usize] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_sha1_vectors_in_six_digits() {
        let t = totp(SECRET, "a@example.com").unwrap();
        // RFC 6238 appendix B (SHA-1, 8 digits) ends in these six.
        assert_eq!(t.generate(59).to_string(), "287082");
        assert_eq!(t.generate(1111111109).to_string(), "081804");
        assert_eq!(t.generate(2000000000).to_string(), "279037");
    }

    #[test]
    fn one_step_of_skew_and_never_a_step_twice() {
        let t = totp(SECRET, "a@example.com").unwrap();
        let now = 1_000_000_020u64;
        let step = (now / STEP_SECS) as i64;
        let code = t.generate(now).to_string();
        assert_eq!(accepted_step(&t, &code, now, None), Some(step));
        assert_eq!(accepted_step(&t, &code, now + 30, None), Some(step));
        assert_eq!(accepted_step(&t, &code, now - 30, None), Some(step));
        assert_eq!(accepted_step(&t, &code, now + 60, None), None);
        assert_eq!(accepted_step(&t, &code, now, Some(step)), None);
        assert_eq!(accepted_step(&t, &code, now, Some(step + 1)), None);
        assert_eq!(accepted_step(&t, &code, now, Some(step - 1)), Some(step));
        assert_eq!(accepted_step(&t, "000000x", now, None), None);
    }

    #[test]
    fn reads_codes_and_recovery_codes() {
        assert_eq!(
            SecondFactor::parse(" 123 456 "),
            Some(SecondFactor::Code("123456".into()))
        );
        assert_eq!(
            SecondFactor::parse("abcd-efgh-ijkl-mn23"),
            Some(SecondFactor::Recovery("ABCDEFGHIJKLMN23".into()))
        );
        assert_eq!(SecondFactor::parse("12345"), None);
        assert_eq!(SecondFactor::parse("ABCD-EFGH-IJKL-MN01"), None);
        assert_eq!(SecondFactor::parse(""), None);
        assert_eq!(SecondFactor::parse(&"1".repeat(100)), None);
    }

    #[test]
    fn recovery_codes_are_sixteen_base32_characters_in_fours() {
        let c = recovery_code([0xff; 10]);
        assert_eq!(c, "7777-7777-7777-7777");
        let c = recovery_code([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(c.len(), 19);
        assert!(matches!(
            SecondFactor::parse(&c),
            Some(SecondFactor::Recovery(_))
        ));
    }

    #[test]
    fn the_qr_code_is_an_svg_image_without_the_uri_text() {
        use base64::Engine as _;
        let uri = totp(SECRET, "a@example.com").unwrap().to_url().unwrap();
        let src = qr_data_uri(&uri);
        let b64 = src
            .strip_prefix("data:image/svg+xml;base64,")
            .expect("a data URI");
        let svg = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap();
        assert!(
            svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
            "{svg}"
        );
        assert!(!svg.contains("otpauth") && !svg.contains("example.com"));
    }

    #[test]
    fn the_secret_round_trips_through_base32() {
        let b32 = secret_base32(SECRET);
        assert_eq!(secret_from_base32(&b32).unwrap(), SECRET);
        let uri = totp(SECRET, "a@example.com").unwrap().to_url().unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Bodywork:a%40example.com?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={b32}")), "{uri}");
    }
}
