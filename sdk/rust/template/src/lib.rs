//! A minimal Vigil health check: connects to the target and, if configured, sends
//! a line and expects a prefix in the reply.

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use serde::Deserialize;
use vigil_sdk::net::{io_error, TcpStream};
use vigil_sdk::{Capability, CheckError, CheckResult, ConfigError, HealthCheck, PluginInfo, Target};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Unset: 85 % of the check's own timeout, which the host passes in
    /// VIGIL_CHECK_TIMEOUT_MS; set: clamped to that (see `check_io_timeout`).
    #[serde(default, with = "vigil_sdk::config::duration::option")]
    timeout: Option<Duration>,
    /// e.g. "PING"; a line ending is added.
    #[serde(default)]
    send: Option<String>,
    /// e.g. "+PONG"; the first reply line must start with it.
    #[serde(default)]
    expect: Option<String>,
}

struct MyCheck {
    target: Target,
    config: Config,
    /// Connect + reply, within the check's timeout.
    timeout: Duration,
}

impl HealthCheck for MyCheck {
    type Config = Config;

    fn info() -> PluginInfo {
        vigil_sdk::info("my-check", vigil_sdk::plugin_version!(), "Line-protocol check", &[Capability::Tcp])
    }

    fn new(config: Config, target: Target) -> Result<Self, ConfigError> {
        if target.port.is_none() {
            return Err(ConfigError::InvalidTarget("the target needs a port".into()));
        }
        let timeout = vigil_sdk::check_io_timeout(config.timeout);
        Ok(MyCheck { target, config, timeout })
    }

    fn check(&mut self) -> Result<CheckResult, CheckError> {
        let started = Instant::now();
        let mut stream = TcpStream::connect_target(&self.target, None, self.timeout)?;
        // The reply gets what is left, so the whole check ends in time.
        let left = self.timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(CheckError::Timeout);
        }
        stream.set_timeout(left);
        if let Some(line) = &self.config.send {
            write!(stream, "{line}\r\n").and_then(|()| stream.flush()).map_err(io_error)?;
        }
        let Some(expect) = &self.config.expect else {
            return Ok(CheckResult::up("port open"));
        };
        let mut reply = String::new();
        BufReader::new(stream).read_line(&mut reply).map_err(io_error)?;
        if reply.starts_with(expect.as_str()) {
            Ok(CheckResult::up(format!("replied {}", reply.trim_end())))
        } else {
            Ok(CheckResult::down(format!("replied {:?}, expected {expect:?}", reply.trim_end())))
        }
    }
}

vigil_sdk::export_health_check!(MyCheck);
