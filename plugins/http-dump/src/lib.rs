//! `http-dump`: fetches a page, renders it to text the way `elinks -dump` does,
//! prints the dump on stdout (the host shows it in `vigil plugin run`) and checks
//! the text: strings it must contain, strings it must not, a regex. See README.md.

pub mod html;
pub mod render;

#[cfg(test)]
mod elinks_tests;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use regex_lite::Regex;
use serde::Deserialize;
use vigil_sdk::config::duration;
use vigil_sdk::http::{Request, Url};
use vigil_sdk::{
    Capability, CheckError, CheckResult, ConfigError, FieldError, HealthCheck, PluginInfo, Target,
};

use crate::render::{render, Dump};

/// The check's config table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Path and query on the target (default `/`).
    #[serde(default)]
    pub path: Option<String>,
    /// A full URL instead of target + `path` (then `scheme` and `port` must be unset).
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub scheme: Scheme,
    /// Overrides the target's port.
    #[serde(default)]
    pub port: Option<u16>,
    /// The `Host` header to send.
    #[serde(default)]
    pub virtualhost: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Accepted status codes (default `[200]`).
    #[serde(default = "default_status")]
    pub status: Vec<u16>,
    /// Strings the text must contain (whitespace-insensitive).
    #[serde(default)]
    pub contains: Vec<String>,
    /// Strings the text must not contain (whitespace-insensitive).
    #[serde(default)]
    pub not_contains: Vec<String>,
    /// A regex the dump (as printed, with line breaks) must match.
    #[serde(default)]
    pub regex: Option<String>,
    /// Columns of the dump (elinks' default is 80).
    #[serde(default = "default_width")]
    pub width: usize,
    /// Print the dump on stdout.
    #[serde(default = "default_true")]
    pub print: bool,
    /// I/O timeout; unset = most of the check's own timeout
    /// ([`vigil_sdk::check_io_timeout`]), and never longer than that.
    #[serde(default, with = "duration::option")]
    pub timeout: Option<Duration>,
    #[serde(default = "default_max_body")]
    pub max_body: usize,
}

/// `http` or `https`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    #[default]
    Http,
    Https,
}

fn default_status() -> Vec<u16> {
    vec![200]
}

fn default_width() -> usize {
    80
}

fn default_true() -> bool {
    true
}

fn default_max_body() -> usize {
    1 << 20
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue(FieldError {
        key: key.into(),
        reason: reason.into(),
    })
}

/// Collapses whitespace runs to one space, so phrases match across line wraps.
pub fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the text must (not) contain; pure, unit-tested natively.
#[derive(Debug)]
pub struct TextRules {
    pub contains: Vec<String>,
    pub not_contains: Vec<String>,
    pub regex: Option<Regex>,
}

impl TextRules {
    /// `Ok` = up, `Err` = why the page is wrong.
    pub fn judge(&self, dump: &str) -> Result<(), String> {
        let flat = normalize(dump);
        if let Some(missing) = self.contains.iter().find(|s| !flat.contains(s.as_str())) {
            return Err(format!("text lacks {missing:?}"));
        }
        if let Some(found) = self.not_contains.iter().find(|s| flat.contains(s.as_str())) {
            return Err(format!("text contains {found:?}"));
        }
        if let Some(re) = &self.regex {
            if !re.is_match(dump) {
                return Err(format!("text does not match /{}/", re.as_str()));
            }
        }
        Ok(())
    }
}

/// The configured check.
#[derive(Debug)]
pub struct HttpDump {
    url: String,
    headers: Vec<(String, String)>,
    status: Vec<u16>,
    rules: TextRules,
    width: usize,
    print: bool,
    timeout: Duration,
    max_body: usize,
}

impl HttpDump {
    /// Renders a fetched body for this check's URL.
    pub fn render(&self, body: &[u8]) -> Dump {
        render(&String::from_utf8_lossy(body), Some(&self.url), self.width)
    }
}

impl HealthCheck for HttpDump {
    type Config = Config;

    fn info() -> PluginInfo {
        vigil_sdk::info(
            "http-dump",
            vigil_sdk::plugin_version!(),
            "Fetches a page, renders it as text like elinks -dump, and matches the text",
            &[Capability::Http],
        )
    }

    fn new(config: Config, target: Target) -> Result<Self, ConfigError> {
        let url = match &config.url {
            Some(url) => {
                if config.path.is_some() || config.port.is_some() || config.scheme != Scheme::Http {
                    return Err(invalid(
                        "url",
                        "`url` replaces `path`, `port` and `scheme`; set only one way",
                    ));
                }
                Url::parse(url).map_err(|e| invalid("url", e))?;
                url.clone()
            }
            None => {
                if target.host.is_empty() {
                    return Err(ConfigError::InvalidTarget("no host (or set `url`)".into()));
                }
                let (scheme, default_port) = match config.scheme {
                    Scheme::Http => ("http", 80),
                    Scheme::Https => ("https", 443),
                };
                let host = if target.host.contains(':') && !target.host.starts_with('[') {
                    format!("[{}]", target.host)
                } else {
                    target.host.clone()
                };
                let path = config.path.as_deref().unwrap_or("/");
                if !path.starts_with('/') {
                    return Err(invalid("path", "must start with /"));
                }
                let port = config.port.or(target.port).unwrap_or(default_port);
                let url = format!("{scheme}://{host}:{port}{path}");
                Url::parse(&url).map_err(|e| ConfigError::InvalidTarget(format!("{url}: {e}")))?;
                url
            }
        };
        if config.status.is_empty() || config.status.iter().any(|s| !(100..=999).contains(s)) {
            return Err(invalid(
                "status",
                "a non-empty list of status codes (100-999)",
            ));
        }
        if !(20..=1000).contains(&config.width) {
            return Err(invalid("width", "must be between 20 and 1000"));
        }
        if config.timeout.is_some_and(|t| t.is_zero()) {
            return Err(invalid("timeout", "must be more than zero"));
        }
        if let Some(i) = config.contains.iter().position(|s| normalize(s).is_empty()) {
            return Err(invalid(&format!("contains[{i}]"), "must not be blank"));
        }
        if let Some(i) = config
            .not_contains
            .iter()
            .position(|s| normalize(s).is_empty())
        {
            return Err(invalid(&format!("not_contains[{i}]"), "must not be blank"));
        }
        let regex = config
            .regex
            .map(|r| Regex::new(&r).map_err(|e| invalid("regex", e.to_string())))
            .transpose()?;
        let mut headers: Vec<(String, String)> = config.headers.into_iter().collect();
        if headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            return Err(invalid("headers", "set the Host header with `virtualhost`"));
        }
        if let Some(v) = config.virtualhost {
            vigil_sdk::http::validate_virtual_host(&v).map_err(|e| invalid("virtualhost", e))?;
            headers.push(("host".into(), v));
        }
        Ok(HttpDump {
            url,
            headers,
            status: config.status,
            rules: TextRules {
                contains: config.contains.iter().map(|s| normalize(s)).collect(),
                not_contains: config.not_contains.iter().map(|s| normalize(s)).collect(),
                regex,
            },
            width: config.width,
            print: config.print,
            timeout: vigil_sdk::check_io_timeout(config.timeout),
            max_body: config.max_body,
        })
    }

    fn check(&mut self) -> Result<CheckResult, CheckError> {
        let mut req = Request::get(&self.url)
            .timeout(self.timeout)
            .max_body(self.max_body);
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let start = Instant::now();
        let resp = req.send()?;
        let elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
        let dump = self.render(&resp.body);
        let full = dump.full();
        if self.print {
            print!("{full}");
        }
        let verdict = if !self.status.contains(&resp.status) {
            Err(format!(
                "status {}, expected {:?}",
                resp.status, self.status
            ))
        } else {
            self.rules.judge(&full)
        };
        let result = match verdict {
            Ok(()) => CheckResult::up(format!(
                "{} {}: {} lines, {} links",
                self.url,
                resp.status,
                dump.text.lines().count(),
                dump.links.len()
            )),
            Err(why) => CheckResult::down(format!("{}: {why}", self.url)),
        };
        Ok(result
            .metric("status", f64::from(resp.status))
            .metric("response_ms", elapsed_ms)
            .metric("body_bytes", resp.body.len() as f64)
            .metric("text_bytes", dump.text.len() as f64)
            .metric("links", dump.links.len() as f64))
    }
}

vigil_sdk::export_health_check!(HttpDump);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use vigil_sdk::config;

    use super::*;

    fn new(json: &str) -> Result<HttpDump, ConfigError> {
        HttpDump::new(
            config::from_json(json)?,
            Target {
                host: "192.0.2.5".into(),
                port: None,
            },
        )
    }

    #[test]
    fn config() {
        let c = new(r#"{"path": "/status", "contains": ["Welcome  to\nnginx"]}"#).unwrap();
        assert_eq!(c.url, "http://192.0.2.5:80/status");
        assert_eq!(c.rules.contains, vec!["Welcome to nginx"]);
        assert!(
            matches!(new(r#"{"contains": [" "]}"#), Err(ConfigError::InvalidValue(f)) if f.key == "contains[0]")
        );
        assert!(
            matches!(new(r#"{"regex": "["}"#), Err(ConfigError::InvalidValue(f)) if f.key == "regex")
        );
        assert!(
            matches!(new(r#"{"width": 5}"#), Err(ConfigError::InvalidValue(f)) if f.key == "width")
        );
        assert_eq!(
            new(r#"{"contain": []}"#).unwrap_err(),
            ConfigError::UnknownKey("contain".into())
        );
        assert_eq!(
            new(r#"{"virtualhost": "www.example.com"}"#)
                .unwrap()
                .headers,
            vec![("host".to_string(), "www.example.com".to_string())]
        );
        assert!(
            matches!(new(r#"{"virtualhost": "a b"}"#), Err(ConfigError::InvalidValue(f)) if f.key == "virtualhost")
        );
        assert!(
            matches!(new(r#"{"headers": {"HOST": "x"}}"#), Err(ConfigError::InvalidValue(f)) if f.key == "headers")
        );
    }

    #[test]
    fn judging_text() {
        let c = new(r#"{"contains": ["successfully installed and working"], "not_contains": ["Error"], "regex": "(?m)^References$"}"#)
            .unwrap();
        let page = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/nginx-welcome.html"
        ))
        .unwrap();
        let dump = c.render(&page).full();
        assert_eq!(c.rules.judge(&dump), Ok(()));
        assert!(c.rules.judge("   Error: installed and\n working").is_err());
        assert!(c
            .rules
            .judge(&dump.replace("References", "Refs"))
            .unwrap_err()
            .contains("does not match"));
    }
}
