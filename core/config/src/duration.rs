//! Duration strings: `"100ms"`, `"1s"`, `"2.5s"`.
//!
//! Parsed exactly into [`Duration`] (no floating point, so `"0.1s"` is
//! exactly 100 ms), and formatted back so that `parse(format(d)) == d`.
//! Bare numbers are refused because `advert_int 1` in keepalived means
//! seconds while other tools mean milliseconds.

use std::time::Duration;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Parse `<digits>ms` or `<digits>[.<up to 9 digits>]s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad_unit = || {
        "use whole milliseconds (\"100ms\") or seconds with up to 9 decimals (\"2.5s\")".to_string()
    };
    if let Some(ms) = text.strip_suffix("ms") {
        let n = parse_digits(ms).ok_or_else(|| {
            if ms.contains('.') {
                "milliseconds must be whole; write fractions in seconds (\"0.0015s\")".to_string()
            } else {
                bad_unit()
            }
        })?;
        return Ok(Duration::from_millis(n));
    }
    let Some(s) = text.strip_suffix('s') else {
        return Err(bad_unit());
    };
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    let secs = parse_digits(whole).ok_or_else(bad_unit)?;
    let nanos = match frac {
        None => 0,
        Some(f) => {
            if f.is_empty() || f.len() > 9 {
                return Err("seconds take 1 to 9 decimals".to_string());
            }
            let n = parse_digits(f).ok_or_else(bad_unit)?;
            // Scale to nanoseconds: "5" -> 500_000_000.
            let scale = 10u64.pow(9 - u32::try_from(f.len()).unwrap_or(9));
            n * scale
        }
    };
    // nanos < 1e9, so `Duration::new` cannot carry into (and overflow) secs.
    let nanos = u32::try_from(nanos).map_err(|_| bad_unit())?;
    Ok(Duration::new(secs, nanos))
}

/// Parse ASCII digits only (no sign, no spaces, no `_`) into a `u64`.
fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// keepalived's decimal seconds (`1`, `0.5`, `.456`, `0.000001`), as its
/// `read_decimal_unsigned` accepts them.
pub(crate) fn parse_decimal_seconds(text: &str) -> Option<Duration> {
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let secs = if whole.is_empty() {
        0
    } else {
        parse_digits(whole)?
    };
    if frac.len() > 9 || (!frac.is_empty() && parse_digits(frac).is_none()) {
        return None;
    }
    let nanos = if frac.is_empty() {
        0
    } else {
        parse_digits(frac)? * 10u64.pow(9 - u32::try_from(frac.len()).ok()?)
    };
    Some(Duration::new(secs, u32::try_from(nanos).ok()?))
}

/// The canonical string of a duration: `"0s"`, `"100ms"`, `"3s"`, `"2.5s"`,
/// `"0.000001s"`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let nanos = u64::from(d.subsec_nanos());
    if nanos == 0 {
        return format!("{secs}s");
    }
    if secs == 0 && nanos % 1_000_000 == 0 {
        return format!("{}ms", nanos / 1_000_000);
    }
    let mut frac = format!("{nanos:09}");
    while frac.ends_with('0') {
        frac.pop();
    }
    format!("{secs}.{frac}s")
}

/// Total nanoseconds, saturating (durations here are far below 584 years).
pub(crate) fn as_nanos(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(NANOS_PER_SEC)
        .saturating_add(u64::from(d.subsec_nanos()))
}

/// serde helpers so the model prints durations as the strings users write.
pub(crate) mod ser {
    use std::time::Duration;

    use serde::Serializer;

    pub fn duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub fn opt_duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::format_duration(*d)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("2.5s"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("0.1s"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("0.000001s"), Ok(Duration::from_micros(1)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0ms"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("40.95s"), Ok(Duration::from_millis(40950)));
    }

    #[test]
    fn rejects_the_rest() {
        for bad in [
            "",
            "1",
            "1m",
            "1h",
            "s",
            "ms",
            ".5s",
            "1.s",
            "-1s",
            "+1s",
            " 1s",
            "1 s",
            "1.5ms",
            "1.0000000001s",
            "1_000ms",
            "1e3ms",
            "99999999999999999999s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should not parse");
        }
        assert!(parse_duration("1.5ms")
            .err()
            .unwrap_or_default()
            .contains("whole"));
    }

    #[test]
    fn formats_round_trip() {
        for ms in [
            0u64, 1, 10, 100, 999, 1000, 1500, 2500, 40950, 255_000, 3_600_000,
        ] {
            let d = Duration::from_millis(ms);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{ms} ms");
        }
        for ns in [1u64, 1_000, 123_456_789, 1_000_000_001] {
            let d = Duration::from_nanos(ns);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{ns} ns");
        }
        assert_eq!(format_duration(Duration::from_millis(100)), "100ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(5)), "5s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn keepalived_decimals() {
        assert_eq!(parse_decimal_seconds("1"), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_decimal_seconds("0.5"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_decimal_seconds(".456"),
            Some(Duration::from_millis(456))
        );
        assert_eq!(
            parse_decimal_seconds("0.000001"),
            Some(Duration::from_micros(1))
        );
        for bad in ["", ".", "1.2.3", "-1", "1e3", "0.1234567890", "abc", "12e"] {
            assert_eq!(parse_decimal_seconds(bad), None, "{bad:?}");
        }
    }
}
