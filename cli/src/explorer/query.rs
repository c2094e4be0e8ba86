//! The query string of an API request (`?before=12&limit=20`), read by hand: the explorer's
//! parameters are a few integers, flags and ids, which do not need a form-decoding crate.
//!
//! Owns: parsing and bounding parameters. Must not depend on: the node.

use std::collections::BTreeMap;

use super::error::ApiError;

/// Longest query string read; the explorer's parameters are short.
pub(crate) const QUERY_BYTES_MAX: usize = 2_048;

/// The parameters of one request.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Params(BTreeMap<String, String>);

impl Params {
    /// Parses `raw` (without the `?`): `name=value` pairs joined by `&`, percent-decoded, `+`
    /// read as a space. A name given twice keeps its last value.
    pub(crate) fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let raw = raw.unwrap_or_default();
        if raw.len() > QUERY_BYTES_MAX {
            return Err(ApiError::bad_request(format!(
                "the query string is {} bytes; at most {QUERY_BYTES_MAX}",
                raw.len()
            )));
        }
        let mut params = BTreeMap::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            params.insert(decode(name)?, decode(value)?);
        }
        Ok(Self(params))
    }

    /// A text parameter (empty when absent).
    pub(crate) fn text(&self, name: &str) -> String {
        self.0.get(name).cloned().unwrap_or_default()
    }

    /// A flag: `1`/`true` sets it, absent/`0`/`false` does not.
    pub(crate) fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.0.get(name).map(String::as_str) {
            None | Some("" | "0" | "false") => Ok(false),
            Some("1" | "true") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "{name}={other:?}: give 1 or 0"
            ))),
        }
    }

    /// An unsigned integer parameter, `None` when absent.
    pub(crate) fn number(&self, name: &str) -> Result<Option<u64>, ApiError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => v
                .parse::<u64>()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("{name}={v:?} is not a number"))),
        }
    }

    /// A page size: `default` when absent, refused above `max` or at 0.
    pub(crate) fn limit(&self, default: u64, max: u64) -> Result<u64, ApiError> {
        match self.number("limit")? {
            None => Ok(default),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err(ApiError::bad_request(format!(
                "limit={n}: a page holds 1 to {max}"
            ))),
        }
    }
}

/// Percent-decoding of one name or value.
fn decode(s: &str) -> Result<String, ApiError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("bad percent-encoding in {s:?}"))
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ApiError::bad_request(format!("{s:?} is not UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_are_percent_decoded() {
        let p = Params::parse(Some("before=12&token=V%30001&q=a+b&flag")).expect("parses");
        assert_eq!(p.number("before").expect("number"), Some(12));
        assert_eq!(p.text("token"), "V0001");
        assert_eq!(p.text("q"), "a b");
        assert_eq!(p.text("flag"), "");
        assert_eq!(p.text("absent"), "");
        assert_eq!(Params::parse(None).expect("empty"), Params::default());
    }

    #[test]
    fn bad_parameters_are_refused_with_what_is_wrong() {
        assert!(Params::parse(Some("a=%4")).is_err());
        assert!(Params::parse(Some("a=%zz")).is_err());
        assert!(Params::parse(Some("a=%ff")).is_err(), "not UTF-8");
        let long = "a=".to_owned() + &"x".repeat(QUERY_BYTES_MAX);
        assert!(Params::parse(Some(&long)).is_err());
        let p = Params::parse(Some("n=-1&open=maybe")).expect("parses");
        let e = p.number("n").expect_err("not a number");
        assert_eq!(e.code, "BAD_REQUEST");
        assert!(p.flag("open").is_err());
    }

    #[test]
    fn page_sizes_are_bounded() {
        let p = |q: &str| Params::parse(Some(q)).expect("parses");
        assert_eq!(p("").limit(20, 50).expect("default"), 20);
        assert_eq!(p("limit=50").limit(20, 50).expect("max"), 50);
        assert!(p("limit=51").limit(20, 50).is_err());
        assert!(p("limit=0").limit(20, 50).is_err());
        assert!(p("open=1").flag("open").expect("flag"));
        assert!(!p("open=0").flag("open").expect("flag"));
    }
}
