//! `webhook`: Vigil notifier that POSTs every VRRP transition as a JSON document.
//! See README.md for the config and the document format.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use vigil_sdk::config::duration;
use vigil_sdk::http::{Request, Response, Url};
use vigil_sdk::{
    Capability, CheckError, ConfigError, FieldError, Notifier, NotifyError, PluginInfo, Transition,
};

/// The notifier's config table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where to send (`http://` or `https://`); the authority must be granted.
    pub url: String,
    #[serde(default = "default_method")]
    pub method: String,
    /// Request headers, e.g. `Authorization`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Static fields added to every document (the transition's own fields win).
    #[serde(default)]
    pub fields: Map<String, Value>,
    /// Delivery timeout; unset = most of the notifier's own timeout
    /// ([`vigil_sdk::notify_io_timeout`]), and never longer than that.
    #[serde(default, with = "duration::option")]
    pub timeout: Option<Duration>,
    /// Accepted status codes, inclusive `[low, high]` (default 2xx).
    #[serde(default = "default_status")]
    pub status: [u16; 2],
}

fn default_method() -> String {
    "POST".into()
}

fn default_status() -> [u16; 2] {
    [200, 299]
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue(FieldError {
        key: key.into(),
        reason: reason.into(),
    })
}

/// Formats milliseconds since the Unix epoch as RFC 3339 UTC (`...T12:00:00.123Z`).
pub fn rfc3339(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant), valid for every u64 day count we can get.
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

/// The JSON document sent for one transition.
pub fn document(event: &Transition, fields: &Map<String, Value>) -> Value {
    let mut doc = fields.clone();
    let own = [
        ("kind", Value::from(event.kind.as_str())),
        ("name", Value::from(event.name.as_str())),
        ("old_state", Value::from(event.old_state.as_str())),
        ("new_state", Value::from(event.new_state.as_str())),
        ("priority", Value::from(event.priority)),
        ("reason", Value::from(event.reason.as_str())),
        ("time", Value::from(rfc3339(event.unix_time_ms))),
        ("unix_time_ms", Value::from(event.unix_time_ms)),
    ];
    for (k, v) in own {
        doc.insert(k.to_owned(), v);
    }
    Value::Object(doc)
}

/// The configured notifier.
#[derive(Debug)]
pub struct Webhook {
    url: String,
    method: String,
    headers: Vec<(String, String)>,
    fields: Map<String, Value>,
    timeout: Duration,
    status: [u16; 2],
}

impl Webhook {
    /// Maps the receiver's answer: outside `status` is `rejected`.
    pub fn judge(&self, r: &Response) -> Result<(), NotifyError> {
        if (self.status[0]..=self.status[1]).contains(&r.status) {
            return Ok(());
        }
        let body: String = r.text().chars().take(200).collect();
        Err(NotifyError::Rejected(format!(
            "{} answered {}: {}",
            self.url,
            r.status,
            body.trim()
        )))
    }
}

fn notify_error(e: CheckError) -> NotifyError {
    match e {
        CheckError::Denied(m) => NotifyError::Denied(m),
        CheckError::Timeout => NotifyError::Io("timed out".into()),
        CheckError::Internal(m) => NotifyError::Internal(m),
        CheckError::ConnectionRefused(m)
        | CheckError::NameResolution(m)
        | CheckError::Io(m)
        | CheckError::Protocol(m) => NotifyError::Io(m),
    }
}

impl Notifier for Webhook {
    type Config = Config;

    fn info() -> PluginInfo {
        vigil_sdk::info(
            "webhook",
            vigil_sdk::plugin_version!(),
            "POSTs each VRRP transition as JSON to a URL",
            &[Capability::Http],
        )
    }

    fn new(config: Config) -> Result<Self, ConfigError> {
        Url::parse(&config.url).map_err(|e| invalid("url", e))?;
        if config.method.is_empty() || !config.method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(invalid(
                "method",
                "must be an HTTP method such as POST or PUT",
            ));
        }
        let [lo, hi] = config.status;
        if !(100..=999).contains(&lo) || !(lo..=999).contains(&hi) {
            return Err(invalid(
                "status",
                "must be [low, high] with 100 <= low <= high <= 999",
            ));
        }
        if config.timeout.is_some_and(|t| t.is_zero()) {
            return Err(invalid("timeout", "must be more than zero"));
        }
        Ok(Webhook {
            url: config.url,
            method: config.method.to_ascii_uppercase(),
            headers: config.headers.into_iter().collect(),
            fields: config.fields,
            timeout: vigil_sdk::notify_io_timeout(config.timeout),
            status: config.status,
        })
    }

    fn notify(&mut self, event: &Transition) -> Result<(), NotifyError> {
        let body = document(event, &self.fields).to_string();
        let mut req = Request::post(&self.url)
            .method(&self.method)
            .header("content-type", "application/json")
            .timeout(self.timeout)
            .max_body(64 * 1024)
            .body(body);
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let resp = req.send().map_err(notify_error)?;
        self.judge(&resp)
    }
}

vigil_sdk::export_notifier!(Webhook);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;
    use vigil_sdk::{config, VrrpState};

    use super::*;

    fn event() -> Transition {
        Transition {
            kind: "instance".into(),
            name: "VI_1".into(),
            old_state: VrrpState::Backup,
            new_state: VrrpState::Master,
            priority: 150,
            reason: "master down timer expired".into(),
            unix_time_ms: 1_764_072_000_123,
        }
    }

    #[test]
    fn times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_764_072_000_123), "2025-11-25T12:00:00.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn documents() {
        let fields = json!({"cluster": "edge", "name": "ignored"});
        let doc = document(&event(), fields.as_object().unwrap());
        assert_eq!(
            doc,
            json!({
                "cluster": "edge", "kind": "instance", "name": "VI_1", "old_state": "BACKUP",
                "new_state": "MASTER", "priority": 150, "reason": "master down timer expired",
                "time": "2025-11-25T12:00:00.123Z", "unix_time_ms": 1_764_072_000_123u64
            })
        );
    }

    #[test]
    fn config_and_judging() {
        let new = |j: &str| Webhook::new(config::from_json(j)?);
        assert_eq!(
            new("{}").unwrap_err(),
            ConfigError::MissingKey("url".into())
        );
        assert!(
            matches!(new(r#"{"url": "mailto:x"}"#), Err(ConfigError::InvalidValue(f)) if f.key == "url")
        );
        assert!(new(r#"{"url": "http://h/", "status": [300, 200]}"#).is_err());
        let w = new(r#"{"url": "https://hooks.example/x", "headers": {"Authorization": "Bearer t"}, "fields": {"site": "a"}}"#)
            .unwrap();
        assert_eq!(w.headers, vec![("Authorization".into(), "Bearer t".into())]);
        let r = |status| Response {
            status,
            headers: vec![],
            body: b"nope\n".to_vec(),
        };
        assert!(w.judge(&r(204)).is_ok());
        assert_eq!(
            w.judge(&r(500)).unwrap_err(),
            NotifyError::Rejected("https://hooks.example/x answered 500: nope".into())
        );
    }

    #[test]
    fn posts_to_a_local_receiver() {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut req = Vec::new();
            let mut b = [0u8; 4096];
            while !req.ends_with(b"}") {
                let n = s.read(&mut b).unwrap();
                req.extend_from_slice(&b[..n]);
            }
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
            String::from_utf8(req).unwrap()
        });
        let mut w = Webhook::new(
            config::from_json(&format!(r#"{{"url": "http://127.0.0.1:{port}/hook"}}"#)).unwrap(),
        )
        .unwrap();
        w.notify(&event()).unwrap();
        let req = server.join().unwrap();
        assert!(req.starts_with("POST /hook HTTP/1.1"), "{req}");
        assert!(req.contains("\"new_state\":\"MASTER\""), "{req}");
    }
}
