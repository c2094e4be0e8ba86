//! Checks of single values: social credit codes, account ids, keys, currencies, dates, text.
//!
//! Each check returns a [`Rejection`] naming the rule, so an operation can simply `?` it.

use ed25519_dalek::VerifyingKey;
use vchain_proto::v1::ErrorCode;

use crate::error::Rejection;

/// Longest account id, organisation id or trade document field, in bytes.
pub const ID_LEN_MAX: usize = 64;
/// Longest name, reason, payment reference or other free text, in bytes.
pub const TEXT_LEN_MAX: usize = 256;
/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// The characters of a unified social credit code, in check-digit order (GB 32100-2015):
/// digits and capital letters without I, O, Z, S and V.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weight of each of the first 17 characters: 3^i mod 31.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Checks a unified social credit code (统一社会信用代码): 18 characters from the code's
/// alphabet whose last character is the check character of the first 17.
pub fn uscc(code: &str) -> Result<(), Rejection> {
    let bad = |why: &str| {
        Err(Rejection::new(
            ErrorCode::InvalidUscc,
            format!("unified social credit code {code:?} {why}"),
        ))
    };
    let bytes = code.as_bytes();
    if bytes.len() != 18 {
        return bad("must have 18 characters");
    }
    let mut values = [0u32; 18];
    for (value, byte) in values.iter_mut().zip(bytes) {
        match USCC_ALPHABET.iter().position(|c| c == byte) {
            Some(position) => *value = position as u32,
            None => return bad("has a character outside 0-9 and A-Y without I, O, Z, S, V"),
        }
    }
    if uscc_check_value(&values[..17]) != values[17] {
        return bad("has a wrong check character");
    }
    Ok(())
}

/// The check value (an index into the alphabet) of the first 17 characters' values.
fn uscc_check_value(values: &[u32]) -> u32 {
    let sum: u32 = values.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    (31 - sum % 31) % 31
}

/// Completes a 17-character prefix into a valid code by appending its check character.
/// Used by dev mode and tests to make codes; `None` if the prefix is not 17 alphabet characters.
pub fn uscc_with_check(prefix: &str) -> Option<String> {
    let bytes = prefix.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let values: Option<Vec<u32>> = bytes
        .iter()
        .map(|b| USCC_ALPHABET.iter().position(|c| c == b).map(|p| p as u32))
        .collect();
    let check = uscc_check_value(&values?);
    Some(format!("{prefix}{}", USCC_ALPHABET[check as usize] as char))
}

/// Checks an account or organisation id: 3 to 64 of `a-z 0-9 . _ -`, starting with a letter
/// or digit. No `/`, so ids never collide inside state keys.
pub fn account_id(id: &str) -> Result<(), Rejection> {
    let ok_len = (3..=ID_LEN_MAX).contains(&id.len());
    let ok_chars = id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    let ok_start = id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if ok_len && ok_chars && ok_start {
        Ok(())
    } else {
        Err(Rejection::new(
            ErrorCode::InvalidAccountId,
            format!("account id {id:?} must be 3-{ID_LEN_MAX} characters of a-z, 0-9, '.', '_', '-' starting with a letter or digit"),
        ))
    }
}

/// Checks a key offered for registration: 32 bytes, a valid curve point, and not of small
/// order. A small-order key satisfies the signature equation for every message, so it would
/// authenticate anyone; the signature rule ([`crate::signature`]) refuses it too.
pub fn public_key(bytes: &[u8]) -> Result<VerifyingKey, Rejection> {
    let bad = |why: &str| {
        Rejection::new(
            ErrorCode::InvalidPublicKey,
            format!("public key {}: {why}", hex::encode(bytes)),
        )
    };
    let array: [u8; 32] = bytes.try_into().map_err(|_| bad("must be 32 bytes"))?;
    let key = VerifyingKey::from_bytes(&array).map_err(|_| bad("is not a valid ed25519 point"))?;
    if key.is_weak() {
        return Err(bad("is a weak (small-order) key"));
    }
    Ok(key)
}

/// ISO 4217 alphabetic codes vchain accepts. Amounts are always integer minor units.
const CURRENCIES: &[&str] = &[
    "AUD", "CAD", "CHF", "CNY", "EUR", "GBP", "HKD", "JPY", "KRW", "MOP", "NZD", "SGD", "THB",
    "TWD", "USD",
];

/// Checks an ISO 4217 currency code.
pub fn currency(code: &str) -> Result<(), Rejection> {
    if CURRENCIES.contains(&code) {
        Ok(())
    } else {
        Err(Rejection::new(
            ErrorCode::InvalidCurrency,
            format!(
                "currency {code:?} is not an ISO 4217 code vchain accepts ({})",
                CURRENCIES.join(", ")
            ),
        ))
    }
}

/// Checks an amount in minor units: positive.
pub fn amount(what: &str, value: u64) -> Result<(), Rejection> {
    if value == 0 {
        Err(Rejection::new(
            ErrorCode::InvalidAmount,
            format!("{what} must be a positive number of minor units"),
        ))
    } else {
        Ok(())
    }
}

/// Checks free text: within `max` bytes, and present if `required`.
pub fn text(what: &str, value: &str, required: bool, max: usize) -> Result<(), Rejection> {
    if required && value.trim().is_empty() {
        return Err(Rejection::new(
            ErrorCode::InvalidArgument,
            format!("{what} is required"),
        ));
    }
    if value.len() > max {
        return Err(Rejection::new(
            ErrorCode::InvalidArgument,
            format!("{what} is {} bytes, longer than {max}", value.len()),
        ));
    }
    Ok(())
}

/// Checks a SHA-256 digest field.
pub fn digest(what: &str, bytes: &[u8]) -> Result<(), Rejection> {
    if bytes.len() == 32 {
        Ok(())
    } else {
        Err(Rejection::new(
            ErrorCode::InvalidArgument,
            format!(
                "{what} must be a 32-byte SHA-256 digest, got {} bytes",
                bytes.len()
            ),
        ))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number: the inverse of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Parses an ISO 8601 calendar date `YYYY-MM-DD` (years 1970-9999) into a day number.
pub fn date(text: &str) -> Result<u32, Rejection> {
    let bad = || {
        Rejection::new(
            ErrorCode::InvalidDate,
            format!("date {text:?} is not a valid YYYY-MM-DD date from 1970 on"),
        )
    };
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return Err(bad());
    }
    let number = |range: std::ops::Range<usize>| -> Result<u32, Rejection> {
        let part = &text[range];
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if year < 1970
        || !(1..=12).contains(&month)
        || day == 0
        || day > month_days[(month - 1) as usize]
    {
        return Err(bad());
    }
    u32::try_from(days_from_civil(i64::from(year), month, day)).map_err(|_| bad())
}

/// Formats a day number as `YYYY-MM-DD`.
pub fn format_date(day: u32) -> String {
    let (year, month, day) = civil_from_days(i64::from(day));
    format!("{year:04}-{month:02}-{day:02}")
}

/// The chain-local day of a block timestamp: which calendar day it is in the chain's time zone.
pub fn local_day(timestamp_ms: u64, utc_offset_minutes: i32) -> u32 {
    let local_ms = i64::try_from(timestamp_ms)
        .unwrap_or(i64::MAX)
        .saturating_add(i64::from(utc_offset_minutes) * 60_000);
    u32::try_from(local_ms.div_euclid(DAY_MS)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uscc_accepts_published_codes_and_rejects_corruptions() {
        // Codes printed on real business licences.
        for code in [
            "91350100M000100Y43",
            "91110000802100433B",
            "91440300708461136T",
        ] {
            assert_eq!(uscc(code), Ok(()), "{code}");
        }
        let cases = [
            ("91350100M000100Y44", "wrong check character"),
            ("91350100M000100Y4", "must have 18 characters"),
            ("91350100M000100Y433", "must have 18 characters"),
            ("91350100M0001O0Y43", "outside"),
            ("91350100m000100Y43", "outside"),
        ];
        for (code, why) in cases {
            let error = uscc(code).expect_err(code);
            assert_eq!(error.code, ErrorCode::InvalidUscc);
            assert!(error.message.contains(why), "{code}: {}", error.message);
        }
    }

    #[test]
    fn uscc_with_check_makes_valid_codes() {
        let code = uscc_with_check("91310000MA1FL0000").expect("17 alphabet characters");
        assert_eq!(uscc(&code), Ok(()));
        assert_eq!(uscc_with_check("91310000MA1FL000"), None);
        assert_eq!(uscc_with_check("91310000MA1FL000I"), None);
    }

    #[test]
    fn account_ids() {
        for ok in ["acme", "acme-treasury.01", "a_b", "000"] {
            assert_eq!(account_id(ok), Ok(()), "{ok}");
        }
        for bad in [
            "ab",
            "Acme",
            "acme/1",
            "-acme",
            "",
            "a b c",
            &"a".repeat(65),
        ] {
            assert_eq!(
                account_id(bad).map_err(|e| e.code),
                Err(ErrorCode::InvalidAccountId),
                "{bad}"
            );
        }
    }

    #[test]
    fn public_keys_must_be_valid_and_strong() {
        let good = ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key();
        assert!(public_key(good.as_bytes()).is_ok());
        assert_eq!(
            public_key(&[1; 31]).map_err(|e| e.code).err(),
            Some(ErrorCode::InvalidPublicKey)
        );
        // The identity point (0, 1) encodes as 1 followed by zeros: small order, so weak.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let error = public_key(&identity).expect_err("weak key");
        assert!(error.message.contains("weak"), "{}", error.message);
    }

    #[test]
    fn dates_parse_strictly_and_round_trip() {
        assert_eq!(date("1970-01-01"), Ok(0));
        assert_eq!(date("2024-02-29"), Ok(19_782));
        assert_eq!(format_date(19_782), "2024-02-29");
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-1-01",
            "1969-12-31",
            "2024-01-32",
            "2024/01/01",
            "+024-01-01",
        ] {
            assert_eq!(
                date(bad).map_err(|e| e.code),
                Err(ErrorCode::InvalidDate),
                "{bad}"
            );
        }
        for day in [0u32, 59, 365, 10_957, 19_782, 2_932_896] {
            assert_eq!(date(&format_date(day)), Ok(day));
        }
    }

    #[test]
    fn local_day_follows_the_chain_time_zone() {
        // 2024-01-01T16:00:00Z is already 2024-01-02 in UTC+8.
        let ts = 1_704_124_800_000u64;
        assert_eq!(format_date(local_day(ts, 0)), "2024-01-01");
        assert_eq!(format_date(local_day(ts, 480)), "2024-01-02");
    }

    #[test]
    fn currencies_amounts_text_digests() {
        assert!(currency("CNY").is_ok());
        assert_eq!(
            currency("cny").map_err(|e| e.code),
            Err(ErrorCode::InvalidCurrency)
        );
        assert_eq!(
            currency("XXX").map_err(|e| e.code),
            Err(ErrorCode::InvalidCurrency)
        );
        assert_eq!(
            amount("face amount", 0).map_err(|e| e.code),
            Err(ErrorCode::InvalidAmount)
        );
        assert!(amount("face amount", 1).is_ok());
        assert!(text("reason", " ", true, 10).is_err());
        assert!(text("reason", "", false, 10).is_ok());
        assert!(text("reason", "12345678901", false, 10).is_err());
        assert!(digest("hash", &[0; 32]).is_ok());
        assert!(digest("hash", &[0; 20]).is_err());
    }
}
