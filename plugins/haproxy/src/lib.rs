//! Vigil health check for HAProxy: reads the stats page as CSV and judges one
//! backend (how many of its servers are up) and/or one frontend (OPEN or not).
//! A VRRP instance tracking it gives up mastership when its HAProxy can no longer
//! serve, not merely when the process dies. See README.md for the config keys.

pub mod stats;

use std::time::Duration;

use serde::Deserialize;
use vigil_sdk::http::Request;
use vigil_sdk::{
    Capability, CheckError, CheckResult, ConfigError, FieldError, HealthCheck, PluginInfo, Target,
};

fn default_path() -> String {
    "/stats;csv".into()
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
    /// The stats URI with `;csv` appended.
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default)]
    pub scheme: Scheme,
    /// Credentials for `stats auth`.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Backend (HAProxy `backend` or `listen` name) to judge by its servers.
    #[serde(default)]
    pub backend: Option<String>,
    /// Fewer servers up than this is down (default 1).
    #[serde(default)]
    pub min_up: Option<usize>,
    /// Frontend that must be OPEN.
    #[serde(default)]
    pub frontend: Option<String>,
    /// I/O timeout; unset = most of the check's own timeout
    /// ([`vigil_sdk::check_io_timeout`]), and never longer than that.
    #[serde(default, with = "vigil_sdk::config::duration::option")]
    pub timeout: Option<Duration>,
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue(FieldError {
        key: key.into(),
        reason: reason.into(),
    })
}

/// One configured HAProxy check.
#[derive(Debug)]
pub struct Haproxy {
    url: String,
    authorization: Option<String>,
    backend: Option<(String, usize)>,
    frontend: Option<String>,
    timeout: Duration,
}

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

impl Haproxy {
    /// Judges a stats response.
    fn judge(&self, status_code: u16, body: &str) -> Result<CheckResult, CheckError> {
        match status_code {
            200 => {}
            401 => {
                let hint = if self.authorization.is_some() {
                    "the configured user/password were rejected"
                } else {
                    "the stats page needs `user` and `password`"
                };
                return Ok(CheckResult::down(format!(
                    "{} answered HTTP 401: {hint}",
                    self.url
                )));
            }
            code => {
                return Ok(CheckResult::down(format!(
                    "{} answered HTTP {code}",
                    self.url
                )))
            }
        }
        let rows =
            stats::parse(body).map_err(|e| CheckError::Protocol(format!("{}: {e}", self.url)))?;
        let mut parts = Vec::new();
        if let Some(fe) = &self.frontend {
            parts.push(stats::judge_frontend(&rows, fe));
        }
        if let Some((be, min_up)) = &self.backend {
            parts.push(stats::judge_backend(&rows, be, *min_up));
        }
        let judged = stats::combine(parts).ok_or_else(|| {
            CheckError::Internal("neither backend nor frontend configured".into())
        })?;
        let mut result = match judged.verdict {
            stats::Verdict::Up => CheckResult::up(judged.message),
            stats::Verdict::Degraded => CheckResult::degraded(judged.message),
            stats::Verdict::Down => CheckResult::down(judged.message),
        };
        for (name, value) in judged.metrics {
            result = result.metric(&name, value);
        }
        Ok(result)
    }
}

impl HealthCheck for Haproxy {
    type Config = Config;

    fn info() -> PluginInfo {
        vigil_sdk::info(
            "haproxy",
            vigil_sdk::plugin_version!(),
            "Reads HAProxy's stats CSV: a backend's servers up (min_up) and/or a frontend OPEN",
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
        if config.backend.is_none() && config.frontend.is_none() {
            return Err(ConfigError::MissingKey("backend".into()));
        }
        for (key, name) in [("backend", &config.backend), ("frontend", &config.frontend)] {
            if name.as_deref() == Some("") {
                return Err(invalid(key, "must not be empty"));
            }
        }
        if config.min_up.is_some() && config.backend.is_none() {
            return Err(invalid("min_up", "needs `backend`"));
        }
        if config.password.is_some() && config.user.is_none() {
            return Err(ConfigError::MissingKey("user".into()));
        }
        if config.user.as_deref().is_some_and(|u| u.contains(':')) {
            return Err(invalid("user", "must not contain ':' (HTTP basic auth)"));
        }
        if config.timeout.is_some_and(|t| t.is_zero()) {
            return Err(invalid("timeout", "must be greater than zero"));
        }
        let authorization = config.user.as_ref().map(|user| {
            let pair = format!("{user}:{}", config.password.as_deref().unwrap_or_default());
            format!("Basic {}", stats::base64(pair.as_bytes()))
        });
        Ok(Haproxy {
            url: url(config.scheme, &target, &config.path),
            authorization,
            backend: config.backend.map(|b| (b, config.min_up.unwrap_or(1))),
            frontend: config.frontend,
            timeout: vigil_sdk::check_io_timeout(config.timeout),
        })
    }

    fn check(&mut self) -> Result<CheckResult, CheckError> {
        let mut request = Request::get(&self.url).timeout(self.timeout);
        if let Some(auth) = &self.authorization {
            request = request.header("authorization", auth);
        }
        let response = request.send()?;
        self.judge(response.status, &response.text())
    }
}

vigil_sdk::export_health_check!(Haproxy);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use vigil_sdk::Health;

    const CSV: &str = "\
# pxname,svname,qcur,qmax,scur,status,bck,
web,FRONTEND,,,4,OPEN,,
app,a,0,0,1,UP,0,
app,b,0,0,0,DOWN,0,
app,BACKEND,0,0,1,UP,,
";

    fn configure(json: &str) -> Result<Haproxy, ConfigError> {
        let target = Target {
            host: "127.0.0.1".into(),
            port: Some(8404),
        };
        Haproxy::new(vigil_sdk::config::from_json(json)?, target)
    }

    #[test]
    fn config() {
        let h = configure(r#"{"backend":"app","user":"admin","password":"s3cret"}"#).unwrap();
        assert_eq!(h.url, "http://127.0.0.1:8404/stats;csv");
        assert_eq!(h.authorization.as_deref(), Some("Basic YWRtaW46czNjcmV0"));
        assert_eq!(h.backend, Some(("app".into(), 1)));
        assert!(matches!(configure("{}"), Err(ConfigError::MissingKey(k)) if k == "backend"));
        assert!(matches!(configure(r#"{"frontend":"web","min_up":2}"#),
            Err(ConfigError::InvalidValue(f)) if f.key == "min_up"));
        assert!(matches!(configure(r#"{"backend":"app","password":"x"}"#),
            Err(ConfigError::MissingKey(k)) if k == "user"));
        assert!(matches!(configure(r#"{"backend":"app","min_up":-1}"#),
            Err(ConfigError::InvalidValue(f)) if f.key == "min_up"));
    }

    #[test]
    fn judges_responses() {
        let h = configure(r#"{"backend":"app","frontend":"web"}"#).unwrap();
        let r = h.judge(200, CSV).unwrap();
        assert_eq!(r.health, Health::Degraded);
        assert_eq!(
            r.message,
            "frontend 'web' is OPEN; backend 'app': 1/2 servers up; not up: b (DOWN)"
        );
        assert!(r
            .metrics
            .iter()
            .any(|m| m.name == "frontend_sessions" && m.value == 4.0));
        let h = configure(r#"{"backend":"app","min_up":2}"#).unwrap();
        assert_eq!(h.judge(200, CSV).unwrap().health, Health::Down);
        let r = h.judge(401, "").unwrap();
        assert_eq!(r.health, Health::Down);
        assert!(
            r.message.contains("needs `user` and `password`"),
            "{}",
            r.message
        );
        assert_eq!(h.judge(503, "").unwrap().health, Health::Down);
        assert!(matches!(
            h.judge(200, "<html>"),
            Err(CheckError::Protocol(_))
        ));
    }
}
