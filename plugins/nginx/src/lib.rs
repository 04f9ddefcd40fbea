//! Vigil health check for nginx: reads the `stub_status` page over HTTP(S) and
//! reports its counters as metrics. An nginx that answers the page is up; one
//! over `max_active` connections is degraded (it still serves, but is near its
//! `worker_connections`). See README.md for the config keys.

pub mod status;

use std::time::Duration;

use serde::Deserialize;
use vigil_sdk::http::Request;
use vigil_sdk::{
    Capability, CheckError, CheckResult, ConfigError, FieldError, HealthCheck, PluginInfo, Target,
};

fn default_path() -> String {
    "/nginx_status".into()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    #[default]
    Http,
    Https,
}

/// The check's table in Vigil's config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The location configured with `stub_status;`.
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default)]
    pub scheme: Scheme,
    /// Host header to send, for a stub_status location inside a name-based
    /// virtual server; the connection still goes to the target.
    #[serde(default)]
    pub virtualhost: Option<String>,
    /// I/O timeout; unset = most of the check's own timeout
    /// ([`vigil_sdk::check_io_timeout`]), and never longer than that.
    #[serde(default, with = "vigil_sdk::config::duration::option")]
    pub timeout: Option<Duration>,
    /// Above this many active connections the check is degraded.
    #[serde(default)]
    pub max_active: Option<u64>,
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue(FieldError {
        key: key.into(),
        reason: reason.into(),
    })
}

/// One configured nginx check.
#[derive(Debug)]
pub struct Nginx {
    url: String,
    virtualhost: Option<String>,
    timeout: Duration,
    max_active: Option<u64>,
}

/// `http://host:port/path`, with IPv6 literals bracketed.
fn url(scheme: Scheme, target: &Target, path: &str) -> String {
    let (name, default_port) = match scheme {
        Scheme::Http => ("http", 80),
        Scheme::Https => ("https", 443),
    };
    let host = if target.host.contains(':') && !target.host.starts_with('[') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    format!(
        "{name}://{host}:{}{path}",
        target.port.unwrap_or(default_port)
    )
}

/// Judges a response: non-200 is down, a page that is not stub_status is a
/// protocol error (the check is pointed at the wrong thing).
fn judge(
    url: &str,
    status_code: u16,
    body: &str,
    max_active: Option<u64>,
) -> Result<CheckResult, CheckError> {
    if status_code != 200 {
        return Ok(CheckResult::down(format!(
            "{url} answered HTTP {status_code}"
        )));
    }
    let s = status::parse(body).map_err(|e| CheckError::Protocol(format!("{url}: {e}")))?;
    let summary = format!(
        "{} active connections (reading {}, writing {}, waiting {}), {} requests",
        s.active, s.reading, s.writing, s.waiting, s.requests
    );
    let mut result = match max_active {
        Some(max) if s.active > max => {
            CheckResult::degraded(format!("{summary}: over max_active {max}"))
        }
        _ => CheckResult::up(summary),
    };
    for (name, value) in s.metrics() {
        result = result.metric(name, value as f64);
    }
    Ok(result)
}

impl HealthCheck for Nginx {
    type Config = Config;

    fn info() -> PluginInfo {
        vigil_sdk::info(
            "nginx",
            vigil_sdk::plugin_version!(),
            "Reads nginx's stub_status page: up when it answers, metrics for its counters",
            &[Capability::Http],
        )
    }

    fn new(config: Config, target: Target) -> Result<Self, ConfigError> {
        if target.host.is_empty() {
            return Err(ConfigError::InvalidTarget("empty host".into()));
        }
        if !config.path.starts_with('/') {
            return Err(invalid("path", "must start with '/'"));
        }
        if config
            .path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid(
                "path",
                "must not contain spaces or control characters",
            ));
        }
        if let Some(vh) = &config.virtualhost {
            vigil_sdk::http::validate_virtual_host(vh).map_err(|e| invalid("virtualhost", e))?;
        }
        if config.timeout.is_some_and(|t| t.is_zero()) {
            return Err(invalid("timeout", "must be greater than zero"));
        }
        Ok(Nginx {
            url: url(config.scheme, &target, &config.path),
            virtualhost: config.virtualhost,
            timeout: vigil_sdk::check_io_timeout(config.timeout),
            max_active: config.max_active,
        })
    }

    fn check(&mut self) -> Result<CheckResult, CheckError> {
        let mut request = Request::get(&self.url).timeout(self.timeout);
        if let Some(vh) = &self.virtualhost {
            request = request.header("host", vh);
        }
        let response = request.send()?;
        judge(
            &self.url,
            response.status,
            &response.text(),
            self.max_active,
        )
    }
}

vigil_sdk::export_health_check!(Nginx);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use vigil_sdk::Health;

    const PAGE: &str = "Active connections: 3 \nserver accepts handled requests\n 10 10 25 \n\
                        Reading: 0 Writing: 1 Waiting: 2 \n";

    fn configure(json: &str, port: Option<u16>) -> Result<Nginx, ConfigError> {
        let target = Target {
            host: "127.0.0.1".into(),
            port,
        };
        Nginx::new(vigil_sdk::config::from_json(json)?, target)
    }

    #[test]
    fn builds_urls() {
        assert_eq!(
            configure("{}", None).unwrap().url,
            "http://127.0.0.1:80/nginx_status"
        );
        assert_eq!(
            configure(r#"{"scheme":"https","path":"/basic_status"}"#, Some(8443))
                .unwrap()
                .url,
            "https://127.0.0.1:8443/basic_status"
        );
        let t = Target {
            host: "::1".into(),
            port: Some(81),
        };
        assert_eq!(url(Scheme::Http, &t, "/s"), "http://[::1]:81/s");
    }

    #[test]
    fn rejects_bad_config() {
        assert!(matches!(configure(r#"{"path":"status"}"#, None),
            Err(ConfigError::InvalidValue(f)) if f.key == "path"));
        assert!(matches!(configure(r#"{"scheme":"gopher"}"#, None),
            Err(ConfigError::InvalidValue(f)) if f.key == "scheme"));
        assert!(matches!(configure(r#"{"virtualhost":"a b"}"#, None),
            Err(ConfigError::InvalidValue(f)) if f.key == "virtualhost"));
        assert!(matches!(configure(r#"{"max_actve":1}"#, None),
            Err(ConfigError::UnknownKey(k)) if k == "max_actve"));
    }

    #[test]
    fn judges_pages() {
        let r = judge("u", 200, PAGE, None).unwrap();
        assert_eq!(r.health, Health::Up);
        assert_eq!(
            r.message,
            "3 active connections (reading 0, writing 1, waiting 2), 25 requests"
        );
        assert!(r
            .metrics
            .iter()
            .any(|m| m.name == "requests" && m.value == 25.0));
        assert_eq!(r.metrics.len(), 8);
        assert_eq!(judge("u", 200, PAGE, Some(3)).unwrap().health, Health::Up);
        let r = judge("u", 200, PAGE, Some(2)).unwrap();
        assert_eq!(r.health, Health::Degraded);
        assert!(r.message.ends_with("over max_active 2"));
        let r = judge("http://x/s", 404, "", None).unwrap();
        assert_eq!(r.health, Health::Down);
        assert_eq!(r.message, "http://x/s answered HTTP 404");
        assert!(matches!(judge("u", 200, "<html>", None),
            Err(CheckError::Protocol(m)) if m.contains("not an nginx stub_status page")));
    }
}
