//! Vigil example health check in Rust, written with `vigil-sdk`.
//!
//! GET `http://<target><path>` and read the JSON body's `status` field: `"ok"` → up,
//! `"degraded"` → degraded, anything else → down; an HTTP status outside 2xx → down. Identical in
//! behaviour to the JavaScript, Python and C versions (see `examples/README.md`).
//!
//! The SDK decodes the config with serde (unknown keys and wrong types become the matching
//! `config-error`) and sends the request through `wasi:http`, so the check needs only the `http`
//! capability for its target.

use serde::Deserialize;
use vigil_sdk::http::Request;
use vigil_sdk::{
    Capability, CheckError, CheckResult, ConfigError, FieldError, HealthCheck, PluginInfo, Target,
};

/// At most this much body is read; a larger body is a protocol error.
const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Path of the health endpoint.
    #[serde(default = "default_path")]
    path: String,
    /// The body's field that holds the status.
    #[serde(default = "default_field")]
    field: String,
}

fn default_path() -> String {
    "/health".into()
}

fn default_field() -> String {
    "status".into()
}

#[derive(Debug)]
struct HealthEndpoint {
    url: String,
    field: String,
}

fn invalid(key: &str, reason: &str) -> ConfigError {
    ConfigError::InvalidValue(FieldError {
        key: key.into(),
        reason: reason.into(),
    })
}

impl HealthCheck for HealthEndpoint {
    type Config = Config;

    fn info() -> PluginInfo {
        vigil_sdk::info(
            "health-endpoint-rust",
            vigil_sdk::plugin_version!(),
            "GET a JSON health endpoint and map its status field to up/degraded/down",
            &[Capability::Http],
        )
    }

    fn new(config: Config, target: Target) -> Result<Self, ConfigError> {
        if !config.path.starts_with('/') {
            return Err(invalid("path", "must be a string starting with '/'"));
        }
        if config.field.is_empty() {
            return Err(invalid("field", "must be a non-empty string"));
        }
        if target.host.is_empty() {
            return Err(ConfigError::InvalidTarget("empty host".into()));
        }
        let host = if target.host.contains(':') {
            format!("[{}]", target.host)
        } else {
            target.host
        };
        let port = target.port.unwrap_or(80);
        Ok(HealthEndpoint {
            url: format!("http://{host}:{port}{}", config.path),
            field: config.field,
        })
    }

    fn check(&mut self) -> Result<CheckResult, CheckError> {
        let response = Request::get(&self.url).max_body(MAX_BODY + 1).send()?;
        let status = response.status;
        if !(200..=299).contains(&status) {
            return Ok(
                CheckResult::down(format!("HTTP {status}")).metric("http_status", status.into())
            );
        }
        if response.body.len() > MAX_BODY {
            return Err(CheckError::Protocol(format!(
                "body larger than {MAX_BODY} bytes"
            )));
        }
        let doc: serde_json::Value = serde_json::from_slice(&response.body)
            .map_err(|_| CheckError::Protocol("body is not JSON".into()))?;
        let field = &self.field;
        let Some(value) = doc.get(field).and_then(|v| v.as_str()) else {
            return Err(CheckError::Protocol(format!(
                "no string field \"{field}\" in the body"
            )));
        };
        vigil_sdk::log::debug(&format!("{}: {field}={value}", self.url));
        let result = match value {
            "ok" => CheckResult::up(format!("{field} ok (HTTP {status})")),
            "degraded" => CheckResult::degraded(format!("{field} degraded (HTTP {status})")),
            other => CheckResult::down(format!("{field} is \"{other}\" (HTTP {status})")),
        };
        Ok(result.metric("http_status", status.into()))
    }
}

vigil_sdk::export_health_check!(HealthEndpoint);
