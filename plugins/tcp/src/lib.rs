//! `tcp`: Vigil's TCP health check (keepalived `TCP_CHECK`, plus send/expect).
//!
//! Connects to the target; optionally sends a request and reads the reply until it
//! contains `expect` (or matches `expect_regex`). See README.md for the config.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use regex_lite::Regex;
use serde::Deserialize;
use vigil_sdk::config::duration;
use vigil_sdk::net::{io_error, TcpStream};
use vigil_sdk::{
    Capability, CheckError, CheckResult, ConfigError, FieldError, HealthCheck, PluginInfo, Target,
};

/// The check's config table (`[checks.NAME.plugin]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Overrides the target's port (keepalived `connect_port`).
    #[serde(default)]
    pub port: Option<u16>,
    /// Connect timeout, and the time allowed for the reply; unset = most of the
    /// check's own timeout ([`vigil_sdk::check_io_timeout`]). Connect and reply
    /// together never take longer than that budget either.
    #[serde(default, with = "duration::option")]
    pub timeout: Option<Duration>,
    /// Bytes to send after connecting; `\r`, `\n`, `\t`, `\\`, `\0`, `\xHH` escapes.
    #[serde(default)]
    pub send: Option<String>,
    /// A substring the reply must contain (same escapes as `send`).
    #[serde(default)]
    pub expect: Option<String>,
    /// A regex the reply (as lossy UTF-8) must match.
    #[serde(default)]
    pub expect_regex: Option<String>,
    /// The most reply bytes read while looking for a match.
    #[serde(default = "default_max_reply")]
    pub max_reply: usize,
}

fn default_max_reply() -> usize {
    4096
}

/// What the reply must look like.
#[derive(Debug)]
pub enum Expect {
    Bytes(Vec<u8>),
    Regex(Regex),
}

impl Expect {
    /// Whether `reply` satisfies the expectation.
    pub fn matches(&self, reply: &[u8]) -> bool {
        match self {
            Expect::Bytes(needle) => {
                needle.is_empty() || reply.windows(needle.len()).any(|w| w == needle.as_slice())
            }
            Expect::Regex(re) => re.is_match(&String::from_utf8_lossy(reply)),
        }
    }

    fn describe(&self) -> String {
        match self {
            Expect::Bytes(b) => format!("{:?}", String::from_utf8_lossy(b)),
            Expect::Regex(re) => format!("/{}/", re.as_str()),
        }
    }
}

/// Decodes `\r`, `\n`, `\t`, `\\`, `\0` and `\xHH` escapes, so configs can write
/// control characters in TOML literal strings or plain JSON.
pub fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('0') => out.push(0),
            Some('\\') => out.push(b'\\'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte =
                    u8::from_str_radix(&hex, 16).map_err(|_| format!("bad escape \\x{hex}"))?;
                out.push(byte);
            }
            Some(other) => return Err(format!("unknown escape \\{other}")),
            None => return Err("trailing backslash".into()),
        }
    }
    Ok(out)
}

/// A printable excerpt of a reply for messages.
pub fn snippet(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply);
    let mut s: String = text.chars().take(80).collect();
    if text.chars().count() > 80 {
        s.push_str("...");
    }
    format!("{s:?}")
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue(FieldError {
        key: key.into(),
        reason: reason.into(),
    })
}

/// The configured check.
#[derive(Debug)]
pub struct TcpCheck {
    host: String,
    port: u16,
    /// For the connect, and again for the reply.
    timeout: Duration,
    /// For the whole check, when the host told the check's timeout.
    budget: Option<Duration>,
    send: Option<Vec<u8>>,
    expect: Option<Expect>,
    max_reply: usize,
}

impl TcpCheck {
    /// Reads until the expectation matches, the peer closes, `max_reply` bytes or
    /// `deadline`. Returns the reply and whether it matched.
    fn read_reply(
        &self,
        stream: &mut TcpStream,
        expect: &Expect,
        deadline: Instant,
    ) -> Result<(Vec<u8>, bool), CheckError> {
        let mut reply = Vec::new();
        let mut buf = [0u8; 1024];
        while reply.len() < self.max_reply {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                if reply.is_empty() {
                    return Err(CheckError::Timeout);
                }
                break;
            }
            stream.set_timeout(left);
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    reply.extend_from_slice(&buf[..n]);
                    if expect.matches(&reply) {
                        return Ok((reply, true));
                    }
                }
                Err(e) => match io_error(e) {
                    // Silence after a partial reply is a wrong answer, not a timeout.
                    CheckError::Timeout if !reply.is_empty() => break,
                    e => return Err(e),
                },
            }
        }
        reply.truncate(self.max_reply);
        let matched = expect.matches(&reply);
        Ok((reply, matched))
    }
}

impl HealthCheck for TcpCheck {
    type Config = Config;

    fn info() -> PluginInfo {
        vigil_sdk::info(
            "tcp",
            vigil_sdk::plugin_version!(),
            "TCP connect check with optional send/expect (keepalived TCP_CHECK)",
            &[Capability::Tcp],
        )
    }

    fn new(config: Config, target: Target) -> Result<Self, ConfigError> {
        let port = config.port.or(target.port).ok_or_else(|| {
            ConfigError::InvalidTarget(format!(
                "{}: no port (give the target a port or set `port`)",
                target.host
            ))
        })?;
        if config.timeout.is_some_and(|t| t.is_zero()) {
            return Err(invalid("timeout", "must be more than zero"));
        }
        let send = config
            .send
            .as_deref()
            .map(unescape)
            .transpose()
            .map_err(|e| invalid("send", e))?;
        let expect = match (config.expect, config.expect_regex) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "expect_regex",
                    "set either `expect` or `expect_regex`, not both",
                ))
            }
            (Some(s), None) => Some(Expect::Bytes(
                unescape(&s).map_err(|e| invalid("expect", e))?,
            )),
            (None, Some(re)) => Some(Expect::Regex(
                Regex::new(&re).map_err(|e| invalid("expect_regex", e.to_string()))?,
            )),
            (None, None) => None,
        };
        if config.max_reply == 0 {
            return Err(invalid("max_reply", "must be more than zero"));
        }
        Ok(TcpCheck {
            host: target.host,
            port,
            timeout: vigil_sdk::check_io_timeout(config.timeout),
            budget: vigil_sdk::check_timeout().map(vigil_sdk::io_budget),
            send,
            expect,
            max_reply: config.max_reply,
        })
    }

    fn check(&mut self) -> Result<CheckResult, CheckError> {
        let start = Instant::now();
        let end = self.budget.map(|b| start + b);
        // `timeout` from now, but not past the whole check's budget.
        let step = |now: Instant| match end {
            Some(end) => (now + self.timeout).min(end),
            None => now + self.timeout,
        };
        let connect_by = step(start).saturating_duration_since(start);
        let mut stream = TcpStream::connect(&self.host, self.port, connect_by)?;
        let connect_ms = ms(start.elapsed());
        let peer = stream.peer_addr();
        if let Some(send) = &self.send {
            let now = Instant::now();
            let left = step(now).saturating_duration_since(now);
            if left.is_zero() {
                return Err(CheckError::Timeout);
            }
            stream.set_timeout(left);
            stream
                .write_all(send)
                .and_then(|()| stream.flush())
                .map_err(io_error)?;
        }
        let Some(expect) = &self.expect else {
            return Ok(
                CheckResult::up(format!("connected to {peer} in {connect_ms:.1} ms"))
                    .metric("connect_ms", connect_ms),
            );
        };
        let (reply, matched) = self.read_reply(&mut stream, expect, step(Instant::now()))?;
        let total_ms = ms(start.elapsed());
        let result = if matched {
            CheckResult::up(format!(
                "{peer} replied {} in {total_ms:.1} ms",
                expect.describe()
            ))
        } else if reply.is_empty() {
            CheckResult::down(format!(
                "{peer} closed without replying (expected {})",
                expect.describe()
            ))
        } else {
            CheckResult::down(format!(
                "{peer} replied {} without {}",
                snippet(&reply),
                expect.describe()
            ))
        };
        Ok(result
            .metric("connect_ms", connect_ms)
            .metric("response_ms", total_ms)
            .metric("reply_bytes", reply.len() as f64))
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

vigil_sdk::export_health_check!(TcpCheck);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::net::TcpListener;

    use vigil_sdk::{config, Health};

    use super::*;

    fn target(port: Option<u16>) -> Target {
        Target {
            host: "127.0.0.1".into(),
            port,
        }
    }

    fn new(json: &str, port: Option<u16>) -> Result<TcpCheck, ConfigError> {
        TcpCheck::new(config::from_json(json)?, target(port))
    }

    #[test]
    fn unescapes() {
        assert_eq!(unescape(r"PING\r\n").unwrap(), b"PING\r\n");
        assert_eq!(unescape(r"a\\b\x41\0\t").unwrap(), b"a\\bA\0\t");
        assert_eq!(unescape("real\r\n").unwrap(), b"real\r\n");
        assert!(unescape(r"\q").is_err());
        assert!(unescape(r"\xZZ").is_err());
        assert!(unescape("x\\").is_err());
    }

    #[test]
    fn config_errors() {
        assert!(matches!(
            new("{}", None),
            Err(ConfigError::InvalidTarget(_))
        ));
        assert_eq!(new("{}", Some(80)).unwrap().port, 80);
        assert_eq!(new(r#"{"port": 81}"#, Some(80)).unwrap().port, 81);
        assert_eq!(
            new(r#"{"exepct": "x"}"#, Some(1)).unwrap_err(),
            ConfigError::UnknownKey("exepct".into())
        );
        let e = new(r#"{"expect": "a", "expect_regex": "b"}"#, Some(1)).unwrap_err();
        assert!(matches!(e, ConfigError::InvalidValue(f) if f.key == "expect_regex"));
        let e = new(r#"{"expect_regex": "(unclosed"}"#, Some(1)).unwrap_err();
        assert!(matches!(e, ConfigError::InvalidValue(f) if f.key == "expect_regex"));
        let e = new(r#"{"send": "\\q"}"#, Some(1)).unwrap_err();
        assert!(matches!(e, ConfigError::InvalidValue(f) if f.key == "send"));
        let e = new(r#"{"timeout": "0s"}"#, Some(1)).unwrap_err();
        assert!(matches!(e, ConfigError::InvalidValue(f) if f.key == "timeout"));
    }

    #[test]
    fn matching() {
        assert!(Expect::Bytes(b"+PONG".to_vec()).matches(b"+PONG\r\n"));
        assert!(!Expect::Bytes(b"+PONG".to_vec()).matches(b"-ERR"));
        assert!(Expect::Regex(Regex::new(r"^220 .*SMTP").unwrap()).matches(b"220 mx ESMTP ready"));
        assert_eq!(snippet(b"ab\n"), r#""ab\n""#);
    }

    /// A one-shot server: reads a line (if `read`), then writes `reply` and lingers.
    fn serve(reply: &'static [u8], read: bool) -> (u16, std::thread::JoinHandle<()>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            if read {
                let mut b = [0u8; 64];
                let _ = s.read(&mut b);
            }
            s.write_all(reply).unwrap();
            std::thread::sleep(Duration::from_millis(300));
        });
        (port, h)
    }

    #[test]
    fn send_expect_against_a_local_server() {
        let (port, h) = serve(b"+PONG\r\n", true);
        let mut c = new(
            r#"{"send": "PING\\r\\n", "expect": "+PONG", "timeout": "2s"}"#,
            Some(port),
        )
        .unwrap();
        let r = c.check().unwrap();
        assert_eq!(r.health, Health::Up, "{}", r.message);
        assert!(r.metrics.iter().any(|m| m.name == "connect_ms"));
        h.join().unwrap();

        let (port, h) = serve(b"-ERR nope\r\n", true);
        let mut c = new(
            r#"{"send": "PING\r\n", "expect": "+PONG", "timeout": "200ms"}"#,
            Some(port),
        )
        .unwrap();
        let r = c.check().unwrap();
        assert_eq!(r.health, Health::Down, "{}", r.message);
        assert!(r.message.contains("-ERR nope"), "{}", r.message);
        h.join().unwrap();

        let (port, h) = serve(b"", false);
        let mut c = new(r#"{"expect": "220", "timeout": "100ms"}"#, Some(port)).unwrap();
        assert_eq!(c.check().unwrap_err(), CheckError::Timeout);
        h.join().unwrap();
    }

    #[test]
    fn connect_and_reply_share_the_checks_budget() {
        // Natively no host sets VIGIL_CHECK_TIMEOUT_MS: the SDK's fallback.
        let c = new("{}", Some(1)).unwrap();
        assert_eq!(c.timeout, vigil_sdk::budget::DEFAULT_IO_TIMEOUT);
        assert_eq!(c.budget, None);

        // As under a host with a short check timeout: the explicit per-step
        // timeout (1 s) gives way to the whole check's budget.
        let (port, h) = serve(b"", false);
        let mut c = new(r#"{"expect": "220", "timeout": "1s"}"#, Some(port)).unwrap();
        c.budget = Some(Duration::from_millis(150));
        let started = Instant::now();
        assert_eq!(c.check().unwrap_err(), CheckError::Timeout);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(140) && took < Duration::from_millis(290),
            "{took:?}"
        );
        h.join().unwrap();
    }

    #[test]
    fn plain_connect_and_refused() {
        let (port, h) = serve(b"", false);
        let r = new("{}", Some(port)).unwrap().check().unwrap();
        assert_eq!(r.health, Health::Up);
        h.join().unwrap();
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = new("{}", Some(closed)).unwrap().check().unwrap_err();
        assert!(matches!(e, CheckError::ConnectionRefused(_)), "{e:?}");
    }
}
