//! Decoding a plugin's config (JSON from the host) into its `Config` type, with
//! errors mapped onto the WIT `config-error` so the host can name the bad key.

use serde::de::DeserializeOwned;

use crate::{ConfigError, FieldError};

/// The key reported when an error concerns the config as a whole.
const ROOT: &str = "(config)";

/// Decodes `json` into `T`, mapping serde errors onto [`ConfigError`].
///
/// An unknown field becomes `UnknownKey`, a missing one `MissingKey`, anything else
/// `InvalidValue`. Keys are dotted paths (`tls.ca`, `status[1]`), recovered from the
/// error position because serde_json does not track them itself. An empty string
/// is read as `{}` (a plugin table without keys).
pub fn from_json<T: DeserializeOwned>(json: &str) -> Result<T, ConfigError> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|e| map_error(json, &e))
}

fn map_error(json: &str, e: &serde_json::Error) -> ConfigError {
    let full = e.to_string();
    // serde_json appends " at line L column C"; the key path replaces it.
    let msg = match full.rfind(" at line ") {
        Some(i) if e.line() > 0 => &full[..i],
        _ => full.as_str(),
    };
    if e.is_syntax() || e.is_eof() || e.is_io() {
        return ConfigError::InvalidValue(FieldError {
            key: ROOT.into(),
            reason: format!("config is not valid JSON: {full}"),
        });
    }
    let frames = scan_path(json, offset_of(json, e.line(), e.column()));
    if let Some(field) = backticked(msg, "unknown field `") {
        // Reported just after the key: the innermost frame is the object holding it.
        let container = frames.len().saturating_sub(1);
        return ConfigError::UnknownKey(join(&frames[..container], Some(field)));
    }
    if let Some(field) = backticked(msg, "missing field `") {
        // Reported after the object's closing brace: the frames lead to the object.
        return ConfigError::MissingKey(join(&frames, Some(field)));
    }
    let key = join(&frames, None);
    ConfigError::InvalidValue(FieldError {
        key: if key.is_empty() { ROOT.into() } else { key },
        reason: msg.to_owned(),
    })
}

/// The text between `prefix` and the next backtick, when `msg` starts with `prefix`.
fn backticked<'a>(msg: &'a str, prefix: &str) -> Option<&'a str> {
    msg.strip_prefix(prefix)?.split('`').next()
}

/// Byte offset of serde_json's 1-based line and column.
fn offset_of(json: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in json.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return (offset + column).min(json.len());
        }
        offset += l.len();
    }
    json.len()
}

#[derive(Debug)]
enum Frame {
    /// An object and the key whose value is being read (None before the first key).
    Object {
        key: Option<String>,
        expecting_key: bool,
    },
    Array {
        index: usize,
    },
}

/// Walks `json` up to `end` and returns the open containers there.
fn scan_path(json: &str, end: usize) -> Vec<Frame> {
    let mut frames: Vec<Frame> = Vec::new();
    let mut chars = json[..json.len().min(end)].chars();
    while let Some(c) = chars.next() {
        match c {
            '{' => frames.push(Frame::Object {
                key: None,
                expecting_key: true,
            }),
            '[' => frames.push(Frame::Array { index: 0 }),
            '}' | ']' => {
                frames.pop();
            }
            ',' => match frames.last_mut() {
                Some(Frame::Array { index }) => *index += 1,
                Some(Frame::Object { expecting_key, .. }) => *expecting_key = true,
                None => {}
            },
            ':' => {
                if let Some(Frame::Object { expecting_key, .. }) = frames.last_mut() {
                    *expecting_key = false;
                }
            }
            '"' => {
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(esc) = chars.next() {
                                s.push(match esc {
                                    'n' => '\n',
                                    't' => '\t',
                                    other => other,
                                });
                            }
                        }
                        other => s.push(other),
                    }
                }
                if let Some(Frame::Object {
                    key,
                    expecting_key: true,
                }) = frames.last_mut()
                {
                    *key = Some(s);
                }
            }
            _ => {}
        }
    }
    frames
}

fn join(frames: &[Frame], last: Option<&str>) -> String {
    let mut path = String::new();
    let push_key = |path: &mut String, k: &str| {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(k);
    };
    for f in frames {
        match f {
            Frame::Object { key: Some(k), .. } => push_key(&mut path, k),
            Frame::Object { key: None, .. } => {}
            Frame::Array { index } => path.push_str(&format!("[{index}]")),
        }
    }
    if let Some(k) = last {
        push_key(&mut path, k);
    }
    path
}

/// A serde `with` helper for durations written as `"500ms"`, `"2s"`, `"1m"`, `"1h"`,
/// `"1m30s"`, `"1.5s"`, or a number of seconds (`2`, `0.5`).
///
/// ```ignore
/// #[serde(default = "default_timeout", with = "vigil_sdk::config::duration")]
/// timeout: std::time::Duration,
/// ```
pub mod duration {
    use std::fmt;
    use std::time::Duration;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    /// Parses a duration string as described in the module docs.
    pub fn parse(s: &str) -> Result<Duration, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty duration".into());
        }
        let mut rest = s;
        let mut total = 0f64;
        while !rest.is_empty() {
            let num_end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if num_end == 0 {
                return Err(format!("invalid duration {s:?}: expected a number"));
            }
            let value: f64 = rest[..num_end].parse().map_err(|_| {
                format!("invalid duration {s:?}: bad number {:?}", &rest[..num_end])
            })?;
            rest = rest[num_end..].trim_start();
            let unit_end = rest
                .find(|c: char| !c.is_alphabetic())
                .unwrap_or(rest.len());
            let scale = match &rest[..unit_end] {
                "" | "s" | "sec" | "secs" => 1.0,
                "ms" => 1e-3,
                "us" | "µs" => 1e-6,
                "ns" => 1e-9,
                "m" | "min" | "mins" => 60.0,
                "h" => 3600.0,
                other => {
                    return Err(format!(
                        "invalid duration {s:?}: unknown unit {other:?} (use ms, s, m or h)"
                    ))
                }
            };
            if unit_end == 0 && !rest.is_empty() {
                return Err(format!("invalid duration {s:?}"));
            }
            total += value * scale;
            rest = rest[unit_end..].trim_start();
        }
        seconds(total)
    }

    fn seconds(secs: f64) -> Result<Duration, String> {
        Duration::try_from_secs_f64(secs).map_err(|_| format!("invalid duration: {secs} seconds"))
    }

    /// Formats a duration the way [`parse`] reads it back (`"1500ms"`, `"2s"`).
    pub fn format(d: Duration) -> String {
        if d.subsec_nanos() == 0 {
            format!("{}s", d.as_secs())
        } else if d.subsec_nanos().is_multiple_of(1_000_000) {
            format!("{}ms", d.as_millis())
        } else {
            format!("{}us", d.as_micros())
        }
    }

    struct DurationVisitor;

    impl Visitor<'_> for DurationVisitor {
        type Value = Duration;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration such as \"500ms\", \"2s\", \"1m\" or a number of seconds")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
            Ok(Duration::from_secs(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
            u64::try_from(v)
                .map(Duration::from_secs)
                .map_err(|_| E::custom(format!("invalid duration: {v} seconds (negative)")))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
            seconds(v).map_err(E::custom)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            parse(v).map_err(E::custom)
        }
    }

    /// serde `deserialize_with`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(DurationVisitor)
    }

    /// serde `serialize_with`.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }

    /// The same for `Option<Duration>` (pair it with `#[serde(default)]`).
    pub mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        #[derive(Deserialize)]
        struct Wrap(#[serde(with = "super")] Duration);

        /// serde `deserialize_with`.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
        }

        /// serde `serialize_with`.
        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        ca: String,
        #[serde(default)]
        verify: bool,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Cfg {
        port: u16,
        #[serde(default, with = "duration::option")]
        timeout: Option<Duration>,
        #[serde(default)]
        tls: Option<Inner>,
        #[serde(default)]
        codes: Vec<u16>,
    }

    fn err(json: &str) -> ConfigError {
        match from_json::<Cfg>(json) {
            Ok(c) => panic!("expected an error, got {c:?}"),
            Err(e) => e,
        }
    }

    fn invalid(key: &str, reason_part: &str, e: ConfigError) {
        match e {
            ConfigError::InvalidValue(f) => {
                assert_eq!(f.key, key);
                assert!(
                    f.reason.contains(reason_part),
                    "{:?} lacks {reason_part:?}",
                    f.reason
                );
            }
            other => panic!("expected InvalidValue({key}), got {other:?}"),
        }
    }

    #[test]
    fn decodes_and_defaults() {
        let c: Cfg = from_json(r#"{"port": 80, "timeout": "1.5s"}"#).unwrap();
        assert_eq!(c.port, 80);
        assert_eq!(c.timeout, Some(Duration::from_millis(1500)));
        assert!(from_json::<Cfg>("").is_err()); // port is required
    }

    #[test]
    fn unknown_and_missing_keys_have_paths() {
        assert_eq!(
            err(r#"{"port": 1, "prot": 2}"#),
            ConfigError::UnknownKey("prot".into())
        );
        assert_eq!(
            err(r#"{"port": 1, "tls": {"ca": "x", "verfy": true}}"#),
            ConfigError::UnknownKey("tls.verfy".into())
        );
        assert_eq!(err(r#"{}"#), ConfigError::MissingKey("port".into()));
        assert_eq!(err("  "), ConfigError::MissingKey("port".into()));
        assert_eq!(
            err("{\"port\": 1,\n \"tls\": {\"verify\": true}}"),
            ConfigError::MissingKey("tls.ca".into())
        );
    }

    #[test]
    fn invalid_values_have_paths() {
        invalid("port", "expected u16", err(r#"{"port": "eighty"}"#));
        invalid("port", "70000", err(r#"{"port": 70000}"#));
        invalid(
            "timeout",
            "unknown unit",
            err(r#"{"port": 1, "timeout": "5 parsecs"}"#),
        );
        invalid(
            "codes[2]",
            "expected u16",
            err(r#"{"port": 1, "codes": [200, 201, "x"]}"#),
        );
        invalid(
            "tls.ca",
            "expected a string",
            err(r#"{"port": 1, "tls": {"ca": 5}}"#),
        );
        invalid("(config)", "not valid JSON", err(r#"{"port": "#));
        invalid("(config)", "expected struct", err(r#""x""#));
    }

    #[test]
    fn durations() {
        let p = |s| duration::parse(s).unwrap();
        assert_eq!(p("500ms"), Duration::from_millis(500));
        assert_eq!(p("2s"), Duration::from_secs(2));
        assert_eq!(p("2"), Duration::from_secs(2));
        assert_eq!(p("1m"), Duration::from_secs(60));
        assert_eq!(p("1m30s"), Duration::from_secs(90));
        assert_eq!(p("1h"), Duration::from_secs(3600));
        assert_eq!(p(" 0.25 s "), Duration::from_millis(250));
        assert_eq!(p("100us"), Duration::from_micros(100));
        for bad in ["", "s", "-1s", "1x", "1.2.3s", "ms5"] {
            assert!(duration::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(duration::format(Duration::from_millis(1500)), "1500ms");
        assert_eq!(duration::format(Duration::from_secs(3)), "3s");
        #[derive(Deserialize)]
        struct D {
            #[serde(with = "duration")]
            t: Duration,
        }
        let d: D = serde_json::from_str(r#"{"t": 0.5}"#).unwrap();
        assert_eq!(d.t, Duration::from_millis(500));
        let d: D = serde_json::from_str(r#"{"t": 3}"#).unwrap();
        assert_eq!(d.t, Duration::from_secs(3));
        assert!(serde_json::from_str::<D>(r#"{"t": -3}"#).is_err());
    }
}
