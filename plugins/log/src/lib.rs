//! `log`: Vigil notifier that writes one line per VRRP transition through the host's
//! log (and stdout). See README.md for the config and the placeholders.

use serde::Deserialize;
use vigil_sdk::{ConfigError, FieldError, Notifier, NotifyError, PluginInfo, Transition};

/// The default line: `instance VI_1: BACKUP -> MASTER (priority 150): reason`.
pub const DEFAULT_FORMAT: &str = "{kind} {name}: {old} -> {new} (priority {priority}): {reason}";

/// The notifier's config table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Text put before every line.
    #[serde(default)]
    pub prefix: String,
    /// The line, with `{kind}`, `{name}`, `{old}`, `{new}`, `{priority}`, `{reason}`,
    /// `{time}` (RFC 3339 UTC) and `{unix_ms}` placeholders.
    #[serde(default = "default_format")]
    pub format: String,
    /// The host log level: `trace`, `debug`, `info`, `warn` or `error`.
    #[serde(default = "default_level")]
    pub level: String,
    /// Also print the line on stdout.
    #[serde(default = "default_true")]
    pub stdout: bool,
}

fn default_format() -> String {
    DEFAULT_FORMAT.into()
}

fn default_level() -> String {
    "info".into()
}

fn default_true() -> bool {
    true
}

const PLACEHOLDERS: [&str; 8] = [
    "kind", "name", "old", "new", "priority", "reason", "time", "unix_ms",
];

/// One part of a parsed format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Field(&'static str),
}

/// Parses a format; `{{` and `}}` are literal braces.
pub fn parse_format(f: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = f.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                let field = PLACEHOLDERS.iter().find(|p| **p == name).ok_or_else(|| {
                    format!(
                        "unknown placeholder {{{name}}} (known: {})",
                        PLACEHOLDERS.join(", ")
                    )
                })?;
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Field(field));
            }
            '}' => return Err("unmatched } (write }} for a brace)".into()),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// RFC 3339 UTC with milliseconds.
pub fn rfc3339(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        unix_ms % 1000
    )
}

/// Renders `pieces` for one transition.
pub fn render(prefix: &str, pieces: &[Piece], e: &Transition) -> String {
    let mut line = prefix.to_owned();
    for p in pieces {
        match p {
            Piece::Text(t) => line.push_str(t),
            Piece::Field("kind") => line.push_str(&e.kind),
            Piece::Field("name") => line.push_str(&e.name),
            Piece::Field("old") => line.push_str(e.old_state.as_str()),
            Piece::Field("new") => line.push_str(e.new_state.as_str()),
            Piece::Field("priority") => line.push_str(&e.priority.to_string()),
            Piece::Field("reason") => line.push_str(&e.reason),
            Piece::Field("time") => line.push_str(&rfc3339(e.unix_time_ms)),
            Piece::Field(_) => line.push_str(&e.unix_time_ms.to_string()),
        }
    }
    // One event, one line, whatever the reason text contains.
    line.replace(['\n', '\r'], " ")
}

/// The configured notifier.
#[derive(Debug)]
pub struct LogNotifier {
    prefix: String,
    pieces: Vec<Piece>,
    level: fn(&str),
    stdout: bool,
}

impl Notifier for LogNotifier {
    type Config = Config;

    fn info() -> PluginInfo {
        vigil_sdk::info(
            "log",
            vigil_sdk::plugin_version!(),
            "Writes one log line per VRRP transition",
            &[],
        )
    }

    fn new(config: Config) -> Result<Self, ConfigError> {
        let invalid = |key: &str, reason: String| {
            ConfigError::InvalidValue(FieldError {
                key: key.into(),
                reason,
            })
        };
        let pieces = parse_format(&config.format).map_err(|e| invalid("format", e))?;
        let level: fn(&str) = match config.level.to_ascii_lowercase().as_str() {
            "trace" => vigil_sdk::log::trace,
            "debug" => vigil_sdk::log::debug,
            "info" => vigil_sdk::log::info,
            "warn" | "warning" => vigil_sdk::log::warn,
            "error" => vigil_sdk::log::error,
            other => {
                return Err(invalid(
                    "level",
                    format!("{other:?}: use trace, debug, info, warn or error"),
                ))
            }
        };
        Ok(LogNotifier {
            prefix: config.prefix,
            pieces,
            level,
            stdout: config.stdout,
        })
    }

    fn notify(&mut self, event: &Transition) -> Result<(), NotifyError> {
        let line = render(&self.prefix, &self.pieces, event);
        (self.level)(&line);
        if self.stdout {
            println!("{line}");
        }
        Ok(())
    }
}

vigil_sdk::export_notifier!(LogNotifier);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use vigil_sdk::{config, VrrpState};

    use super::*;

    fn event() -> Transition {
        Transition {
            kind: "group".into(),
            name: "G1".into(),
            old_state: VrrpState::Master,
            new_state: VrrpState::Fault,
            priority: 0,
            reason: "interface eth0\ndown".into(),
            unix_time_ms: 1_764_072_000_123,
        }
    }

    #[test]
    fn default_line() {
        let n = LogNotifier::new(config::from_json("{}").unwrap()).unwrap();
        assert_eq!(
            render(&n.prefix, &n.pieces, &event()),
            "group G1: MASTER -> FAULT (priority 0): interface eth0 down"
        );
    }

    #[test]
    fn custom_format() {
        let c = config::from_json(r#"{"prefix": "vrrp: ", "format": "{{{name}}} {new} at {time} ({unix_ms})", "level": "warn"}"#)
            .unwrap();
        let n = LogNotifier::new(c).unwrap();
        assert_eq!(
            render(&n.prefix, &n.pieces, &event()),
            "vrrp: {G1} FAULT at 2025-11-25T12:00:00.123Z (1764072000123)"
        );
    }

    #[test]
    fn bad_configs() {
        let new = |j: &str| LogNotifier::new(config::from_json(j)?);
        assert!(
            matches!(new(r#"{"format": "{nope}"}"#), Err(ConfigError::InvalidValue(f)) if f.key == "format")
        );
        assert!(
            matches!(new(r#"{"format": "a } b"}"#), Err(ConfigError::InvalidValue(f)) if f.key == "format")
        );
        assert!(
            matches!(new(r#"{"level": "loud"}"#), Err(ConfigError::InvalidValue(f)) if f.key == "level")
        );
        assert_eq!(
            new(r#"{"colour": 1}"#).unwrap_err(),
            ConfigError::UnknownKey("colour".into())
        );
    }
}
