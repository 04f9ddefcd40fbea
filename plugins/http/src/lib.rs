//! `http`: Vigil's HTTP(S) health check, the equivalent of keepalived's
//! `HTTP_GET`/`SSL_GET`: status codes, an MD5 digest of the body (as `genhash`
//! prints it), body regexes and response headers. See README.md for the config.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use regex_lite::Regex;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use vigil_sdk::config::duration;
use vigil_sdk::http::{Request, Response, Url};
use vigil_sdk::{
    Capability, CheckError, CheckResult, ConfigError, FieldError, HealthCheck, PluginInfo, Target,
};

/// The check's config table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Path and query to request on the target (default `/`).
    #[serde(default)]
    pub path: Option<String>,
    /// A full URL instead of target + `path` (then `scheme` and `port` must be unset).
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default)]
    pub scheme: SchemeName,
    /// Overrides the target's port (keepalived `connect_port`).
    #[serde(default)]
    pub port: Option<u16>,
    /// The `Host` header to send (keepalived `virtualhost`).
    #[serde(default)]
    pub virtualhost: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request body (for POST/PUT checks).
    #[serde(default)]
    pub body: Option<String>,
    /// Accepted status codes: numbers, `"200-299"` ranges or `"2xx"` classes.
    #[serde(default = "default_status", deserialize_with = "status_list")]
    pub status: Vec<StatusRange>,
    /// MD5 of the body, hex (keepalived `digest`, as printed by `genhash`).
    #[serde(default)]
    pub digest: Option<String>,
    /// A regex the body must match.
    #[serde(default)]
    pub regex: Option<String>,
    /// A regex the body must not match.
    #[serde(default)]
    pub regex_no_match: Option<String>,
    /// Response headers that must be present, each containing the given substring
    /// (`""` = present with any value). Names are case-insensitive.
    #[serde(default)]
    pub expect_headers: BTreeMap<String, String>,
    /// I/O timeout; unset = most of the check's own timeout
    /// ([`vigil_sdk::check_io_timeout`]), and never longer than that.
    #[serde(default, with = "duration::option")]
    pub timeout: Option<Duration>,
    /// Body bytes read at most; the rest is ignored (and fails a `digest`).
    #[serde(default = "default_max_body")]
    pub max_body: usize,
}

fn default_method() -> String {
    "GET".into()
}

fn default_status() -> Vec<StatusRange> {
    vec![StatusRange(200, 200)]
}

fn default_max_body() -> usize {
    1 << 20
}

/// `http` or `https`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemeName {
    #[default]
    Http,
    Https,
}

/// An inclusive range of status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange(pub u16, pub u16);

impl StatusRange {
    /// Parses `200`, `"200-299"` or `"2xx"`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let code = |t: &str| -> Result<u16, String> {
            match t.trim().parse::<u16>() {
                Ok(c) if (100..=999).contains(&c) => Ok(c),
                _ => Err(format!("invalid status code {t:?}")),
            }
        };
        if let Some(class) = s.strip_suffix("xx").or_else(|| s.strip_suffix("XX")) {
            let d = code(&format!("{class}00"))?;
            return Ok(StatusRange(d, d + 99));
        }
        match s.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (code(a)?, code(b)?);
                if a > b {
                    return Err(format!("empty status range {s:?}"));
                }
                Ok(StatusRange(a, b))
            }
            None => code(s).map(|c| StatusRange(c, c)),
        }
    }

    pub fn contains(&self, code: u16) -> bool {
        (self.0..=self.1).contains(&code)
    }
}

impl fmt::Display for StatusRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == self.1 {
            write!(f, "{}", self.0)
        } else {
            write!(f, "{}-{}", self.0, self.1)
        }
    }
}

/// One status spec (number or string), parsed where it stands so that errors
/// carry its position (serde's untagged enums would lose it).
impl<'de> Deserialize<'de> for StatusRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StatusVisitor)
    }
}

struct StatusVisitor;

impl<'de> de::Visitor<'de> for StatusVisitor {
    type Value = StatusRange;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a status code, \"200-299\" or \"2xx\"")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusRange, E> {
        StatusRange::parse(&v.to_string()).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusRange, E> {
        StatusRange::parse(&v.to_string()).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusRange, E> {
        StatusRange::parse(v).map_err(E::custom)
    }
}

/// Accepts one status or a list of them.
fn status_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<StatusRange>, D::Error> {
    struct ListVisitor;

    impl<'de> de::Visitor<'de> for ListVisitor {
        type Value = Vec<StatusRange>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a status or a list of statuses")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            StatusVisitor.visit_u64(v).map(|s| vec![s])
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            StatusVisitor.visit_i64(v).map(|s| vec![s])
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            StatusVisitor.visit_str(v).map(|s| vec![s])
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(s) = seq.next_element::<StatusRange>()? {
                out.push(s);
            }
            if out.is_empty() {
                return Err(de::Error::custom("at least one status is needed"));
            }
            Ok(out)
        }
    }

    d.deserialize_any(ListVisitor)
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue(FieldError {
        key: key.into(),
        reason: reason.into(),
    })
}

fn regex(key: &str, re: Option<String>) -> Result<Option<Regex>, ConfigError> {
    re.map(|r| Regex::new(&r).map_err(|e| invalid(key, e.to_string())))
        .transpose()
}

/// What a response must look like; pure, so it is unit-tested natively.
#[derive(Debug)]
pub struct Expectations {
    pub status: Vec<StatusRange>,
    pub digest: Option<String>,
    pub regex: Option<Regex>,
    pub regex_no_match: Option<Regex>,
    pub headers: Vec<(String, String)>,
}

/// Lowercase hex MD5, as keepalived's `genhash` prints it.
pub fn md5_hex(body: &[u8]) -> String {
    format!("{:x}", md5::compute(body))
}

impl Expectations {
    /// Judges a response; `Ok` = up, `Err` = the reason it is down.
    pub fn judge(&self, r: &Response) -> Result<(), String> {
        if !self.status.iter().any(|s| s.contains(r.status)) {
            let want: Vec<String> = self.status.iter().map(|s| s.to_string()).collect();
            return Err(format!("status {}, expected {}", r.status, want.join(", ")));
        }
        for (name, want) in &self.headers {
            match r.header(name) {
                None => return Err(format!("no {name} header")),
                Some(v) if !v.contains(want.as_str()) => {
                    return Err(format!("header {name}: {v:?} lacks {want:?}"))
                }
                Some(_) => {}
            }
        }
        if let Some(want) = &self.digest {
            let got = md5_hex(&r.body);
            if &got != want {
                let cut = if r.truncated() {
                    " (body cut at max_body)"
                } else {
                    ""
                };
                return Err(format!("body MD5 {got}, expected {want}{cut}"));
            }
        }
        if self.regex.is_some() || self.regex_no_match.is_some() {
            let text = r.text();
            if let Some(re) = &self.regex {
                if !re.is_match(&text) {
                    return Err(format!("body does not match /{}/", re.as_str()));
                }
            }
            if let Some(re) = &self.regex_no_match {
                if let Some(m) = re.find(&text) {
                    return Err(format!("body matches /{}/ ({:?})", re.as_str(), m.as_str()));
                }
            }
        }
        Ok(())
    }
}

/// The configured check.
#[derive(Debug)]
pub struct HttpCheck {
    url: String,
    method: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    timeout: Duration,
    max_body: usize,
    expect: Expectations,
}

/// Formats a target host for a URL authority (IPv6 in brackets).
fn url_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

impl HttpCheck {
    /// The URL this check requests.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn build_url(config: &Config, target: &Target) -> Result<String, ConfigError> {
        if let Some(url) = &config.url {
            if config.path.is_some() || config.port.is_some() || config.scheme != SchemeName::Http {
                return Err(invalid(
                    "url",
                    "`url` replaces `path`, `port` and `scheme`; set only one way",
                ));
            }
            Url::parse(url).map_err(|e| invalid("url", e))?;
            return Ok(url.clone());
        }
        if target.host.is_empty() {
            return Err(ConfigError::InvalidTarget("no host (or set `url`)".into()));
        }
        let (scheme, default_port) = match config.scheme {
            SchemeName::Http => ("http", 80),
            SchemeName::Https => ("https", 443),
        };
        let port = config.port.or(target.port).unwrap_or(default_port);
        let path = config.path.as_deref().unwrap_or("/");
        if !path.starts_with('/') {
            return Err(invalid("path", "must start with /"));
        }
        let url = format!("{scheme}://{}:{port}{path}", url_host(&target.host));
        Url::parse(&url).map_err(|e| ConfigError::InvalidTarget(format!("{url}: {e}")))?;
        Ok(url)
    }
}

impl HealthCheck for HttpCheck {
    type Config = Config;

    fn info() -> PluginInfo {
        vigil_sdk::info(
            "http",
            vigil_sdk::plugin_version!(),
            "HTTP(S) check: status, MD5 digest, body regex, headers (keepalived HTTP_GET/SSL_GET)",
            &[Capability::Http],
        )
    }

    fn new(config: Config, target: Target) -> Result<Self, ConfigError> {
        let url = Self::build_url(&config, &target)?;
        if config.method.is_empty() || !config.method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(invalid(
                "method",
                "must be an HTTP method such as GET or HEAD",
            ));
        }
        if config.timeout.is_some_and(|t| t.is_zero()) {
            return Err(invalid("timeout", "must be more than zero"));
        }
        let digest = match config.digest {
            Some(d) => {
                let d = d.trim().to_ascii_lowercase();
                if d.len() != 32 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid(
                        "digest",
                        "must be 32 hex digits (an MD5 as genhash prints it)",
                    ));
                }
                Some(d)
            }
            None => None,
        };
        let mut headers: Vec<(String, String)> = Vec::new();
        for (k, v) in config.headers {
            if k.eq_ignore_ascii_case("host") {
                return Err(invalid("headers", "set the Host header with `virtualhost`"));
            }
            headers.push((k, v));
        }
        if let Some(vhost) = config.virtualhost {
            vigil_sdk::http::validate_virtual_host(&vhost)
                .map_err(|e| invalid("virtualhost", e))?;
            headers.push(("host".into(), vhost));
        }
        Ok(HttpCheck {
            url,
            method: config.method.to_ascii_uppercase(),
            headers,
            body: config.body,
            timeout: vigil_sdk::check_io_timeout(config.timeout),
            max_body: config.max_body,
            expect: Expectations {
                status: config.status,
                digest,
                regex: regex("regex", config.regex)?,
                regex_no_match: regex("regex_no_match", config.regex_no_match)?,
                headers: config.expect_headers.into_iter().collect(),
            },
        })
    }

    fn check(&mut self) -> Result<CheckResult, CheckError> {
        let mut req = Request::get(&self.url)
            .method(&self.method)
            .timeout(self.timeout)
            .max_body(self.max_body);
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        if let Some(body) = &self.body {
            req = req.body(body.as_bytes());
        }
        let start = Instant::now();
        let resp = req.send()?;
        let elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
        let result = match self.expect.judge(&resp) {
            Ok(()) => CheckResult::up(format!(
                "{} {} in {elapsed_ms:.1} ms, {} bytes",
                self.method,
                resp.status,
                resp.body.len()
            )),
            Err(why) => CheckResult::down(format!("{}: {why}", self.url)),
        };
        Ok(result
            .metric("status", f64::from(resp.status))
            .metric("response_ms", elapsed_ms)
            .metric("body_bytes", resp.body.len() as f64))
    }
}

vigil_sdk::export_health_check!(HttpCheck);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use vigil_sdk::config;

    use super::*;

    fn target() -> Target {
        Target {
            host: "192.0.2.10".into(),
            port: Some(8080),
        }
    }

    fn new(json: &str) -> Result<HttpCheck, ConfigError> {
        HttpCheck::new(config::from_json(json)?, target())
    }

    fn resp(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn status_ranges() {
        assert_eq!(StatusRange::parse("200").unwrap(), StatusRange(200, 200));
        assert_eq!(
            StatusRange::parse("200-299").unwrap(),
            StatusRange(200, 299)
        );
        assert_eq!(StatusRange::parse("3xx").unwrap(), StatusRange(300, 399));
        for bad in ["", "20", "299-200", "abc", "1000", "9xx0"] {
            assert!(StatusRange::parse(bad).is_err(), "{bad}");
        }
        let c = new(r#"{"status": [200, "301-302", "4xx"]}"#).unwrap();
        assert_eq!(
            c.expect.status,
            vec![
                StatusRange(200, 200),
                StatusRange(301, 302),
                StatusRange(400, 499)
            ]
        );
        assert_eq!(
            new(r#"{"status": 204}"#).unwrap().expect.status,
            vec![StatusRange(204, 204)]
        );
        let e = new(r#"{"status": ["20x"]}"#).unwrap_err();
        assert!(
            matches!(&e, ConfigError::InvalidValue(f) if f.key == "status[0]"),
            "{e:?}"
        );
        assert!(new(r#"{"status": []}"#).is_err());
    }

    #[test]
    fn urls() {
        assert_eq!(new("{}").unwrap().url(), "http://192.0.2.10:8080/");
        let c = new(r#"{"scheme": "https", "path": "/health?x=1", "port": 8443}"#).unwrap();
        assert_eq!(c.url(), "https://192.0.2.10:8443/health?x=1");
        let c = HttpCheck::new(
            config::from_json("{}").unwrap(),
            Target {
                host: "2001:db8::1".into(),
                port: None,
            },
        )
        .unwrap();
        assert_eq!(c.url(), "http://[2001:db8::1]:80/");
        assert_eq!(
            new(r#"{"url": "https://example.com/x"}"#).unwrap().url(),
            "https://example.com/x"
        );
        assert!(matches!(
            new(r#"{"url": "https://e.com/", "path": "/"}"#),
            Err(ConfigError::InvalidValue(_))
        ));
        assert!(matches!(
            new(r#"{"url": "ftp://e.com/"}"#),
            Err(ConfigError::InvalidValue(_))
        ));
        assert!(matches!(
            new(r#"{"path": "x"}"#),
            Err(ConfigError::InvalidValue(_))
        ));
        assert!(matches!(
            new(r#"{"scheme": "gopher"}"#),
            Err(ConfigError::InvalidValue(_))
        ));
        assert_eq!(
            new(r#"{"virtualhost": "www.example.com"}"#)
                .unwrap()
                .headers,
            vec![("host".into(), "www.example.com".into())]
        );
        assert!(new(r#"{"headers": {"Host": "x"}}"#).is_err());
        assert!(matches!(
            new(r#"{"virtualhost": "www.example.com/x"}"#),
            Err(ConfigError::InvalidValue(f)) if f.key == "virtualhost"
        ));
        assert_eq!(
            new(r#"{"methd": "GET"}"#).unwrap_err(),
            ConfigError::UnknownKey("methd".into())
        );
    }

    #[test]
    fn judging() {
        let ok = new("{}").unwrap();
        assert!(ok.expect.judge(&resp(200, "hi")).is_ok());
        assert_eq!(
            ok.expect.judge(&resp(503, "")).unwrap_err(),
            "status 503, expected 200"
        );

        // genhash / md5sum of "hello\n"
        let c = new(r#"{"digest": "B1946AC92492D2347C6235B4D2611184"}"#).unwrap();
        assert!(c.expect.judge(&resp(200, "hello\n")).is_ok());
        assert!(c
            .expect
            .judge(&resp(200, "hello"))
            .unwrap_err()
            .contains("expected b1946ac92492d2347c6235b4d2611184"));
        assert!(new(r#"{"digest": "abc"}"#).is_err());

        let c = new(r#"{"regex": "Welcome to \\w+", "regex_no_match": "(?i)error"}"#).unwrap();
        assert!(c
            .expect
            .judge(&resp(200, "<h1>Welcome to nginx!</h1>"))
            .is_ok());
        assert!(c
            .expect
            .judge(&resp(200, "<h1>Hello</h1>"))
            .unwrap_err()
            .contains("does not match"));
        assert!(c
            .expect
            .judge(&resp(200, "Welcome to nginx! ERROR"))
            .unwrap_err()
            .contains("ERROR"));
        assert!(
            matches!(new(r#"{"regex": "("}"#), Err(ConfigError::InvalidValue(f)) if f.key == "regex")
        );

        let c = new(r#"{"expect_headers": {"Content-Type": "text/html", "X-Cache": ""}}"#).unwrap();
        assert_eq!(
            c.expect.judge(&resp(200, "")).unwrap_err(),
            "no X-Cache header"
        );
        let mut r = resp(200, "");
        r.headers.push(("x-cache".into(), "HIT".into()));
        assert!(c.expect.judge(&r).is_ok());
        r.headers[0].1 = "application/json".into();
        assert!(c
            .expect
            .judge(&r)
            .unwrap_err()
            .contains("lacks \"text/html\""));
    }
}
