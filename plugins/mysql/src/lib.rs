//! Vigil health check for MySQL and MariaDB.
//!
//! Speaks the client protocol itself over `vigil_sdk::net::TcpStream` (a component
//! cannot link libmysqlclient): handshake v10, `mysql_native_password`, one text
//! query, optionally the replica status, then COM_QUIT. Every connection is fresh,
//! so a check also proves that new logins work (a full `max_connections`, a broken
//! grant or a wedged server all show up). See README.md for the config keys.

pub mod client;
pub mod protocol;
pub mod replica;

use std::time::{Duration, Instant};

use serde::Deserialize;
use vigil_sdk::net::TcpStream;
use vigil_sdk::{
    Capability, CheckError, CheckResult, ConfigError, FieldError, HealthCheck, PluginInfo, Target,
};

use client::{Conn, Error, Transport};
use protocol::{Login, ResultSet, WireError};

const DEFAULT_PORT: u16 = 3306;

fn default_query() -> String {
    "SELECT 1".into()
}

/// The check's table in Vigil's config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub user: String,
    #[serde(default)]
    pub password: String,
    /// Schema to log in to; a missing schema (or grant on it) fails the check.
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default = "default_query")]
    pub query: String,
    /// When set, the first value of the first row must equal this text.
    #[serde(default)]
    pub expect: Option<String>,
    /// The whole check (connect, login, queries) must finish within this;
    /// unset = most of the check's own timeout
    /// ([`vigil_sdk::check_io_timeout`]), and never longer than that.
    #[serde(default, with = "vigil_sdk::config::duration::option")]
    pub timeout: Option<Duration>,
    /// Check replication; implied by either lag limit.
    #[serde(default)]
    pub replica: Option<bool>,
    #[serde(default, with = "vigil_sdk::config::duration::option")]
    pub warn_replica_lag: Option<Duration>,
    #[serde(default, with = "vigil_sdk::config::duration::option")]
    pub max_replica_lag: Option<Duration>,
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue(FieldError {
        key: key.into(),
        reason: reason.into(),
    })
}

/// One configured MySQL check.
#[derive(Debug)]
pub struct Mysql {
    target: Target,
    config: Config,
    /// The whole check's deadline (see [`Config::timeout`]).
    timeout: Duration,
    replica: Option<replica::Limits>,
    /// Which replica-status statement this server understands, once known.
    replica_statement: Option<&'static str>,
}

impl Transport for TcpStream {
    fn set_io_timeout(&mut self, timeout: Duration) -> std::io::Result<()> {
        self.set_timeout(timeout);
        Ok(())
    }
}

/// A server's ERR packet is a verdict (the server answered, wrongly); everything
/// else is a check error.
fn classify(e: Error) -> Result<CheckResult, CheckError> {
    match e {
        Error::Wire(WireError::Server(e)) => Ok(CheckResult::down(e.to_string())),
        Error::Wire(WireError::Malformed(m)) => Err(CheckError::Protocol(m)),
        Error::Timeout => Err(CheckError::Timeout),
        Error::UnsupportedAuth(_) => Err(CheckError::Protocol(e.to_string())),
        Error::Io { .. } => Err(CheckError::Io(e.to_string())),
    }
}

impl Mysql {
    fn run<S: Transport>(
        &mut self,
        conn: &mut Conn<S>,
        started: Instant,
    ) -> Result<CheckResult, Error> {
        let login = Login {
            user: &self.config.user,
            password: &self.config.password,
            database: self.config.database.as_deref(),
        };
        let hs = conn.login(&login)?;
        let rs = conn.query(&self.config.query)?;
        let mut message = format!(
            "{}: {} returned {} row{}",
            hs.display_version(),
            self.config.query,
            rs.rows.len(),
            if rs.rows.len() == 1 { "" } else { "s" }
        );
        if let Some(expected) = &self.config.expect {
            let got = rs.rows.first().and_then(|r| r.first()).cloned().flatten();
            if got.as_deref() != Some(expected.as_str()) {
                let got = match (&got, rs.rows.is_empty()) {
                    (_, true) => "no rows".to_string(),
                    (None, false) => "NULL".to_string(),
                    (Some(v), false) => format!("{v:?}"),
                };
                return Ok(CheckResult::down(format!(
                    "{}: {} returned {got}, expected {expected:?}",
                    hs.display_version(),
                    self.config.query
                ))
                .metric("latency_ms", elapsed_ms(started)));
            }
        }
        let Some(limits) = self.replica else {
            return Ok(CheckResult::up(message).metric("latency_ms", elapsed_ms(started)));
        };
        let status = self.replica_status(conn)?;
        let judged =
            replica::judge(&status, limits).map_err(|m| Error::Wire(WireError::Malformed(m)))?;
        message.push_str("; ");
        message.push_str(&judged.message);
        let mut result = match judged.verdict {
            replica::Verdict::Up => CheckResult::up(message),
            replica::Verdict::Degraded => CheckResult::degraded(message),
            replica::Verdict::Down => CheckResult::down(message),
        };
        if let Some(lag) = judged.lag {
            result = result.metric("replica_lag_seconds", lag as f64);
        }
        Ok(result.metric("latency_ms", elapsed_ms(started)))
    }

    /// Runs the first replica-status statement the server knows, remembering it.
    fn replica_status<S: Transport>(&mut self, conn: &mut Conn<S>) -> Result<ResultSet, Error> {
        if let Some(stmt) = self.replica_statement {
            return conn.query(stmt);
        }
        let mut last = None;
        for stmt in replica::STATEMENTS {
            match conn.query(stmt) {
                Ok(rs) => {
                    self.replica_statement = Some(stmt);
                    return Ok(rs);
                }
                Err(Error::Wire(WireError::Server(e))) if e.code == protocol::ER_PARSE_ERROR => {
                    vigil_sdk::log::debug(&format!("{stmt} not understood, trying the next form"));
                    last = Some(Error::Wire(WireError::Server(e)));
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            Error::Wire(WireError::Malformed(
                "no replica status statement to try".into(),
            ))
        }))
    }
}

fn elapsed_ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

impl HealthCheck for Mysql {
    type Config = Config;

    fn info() -> PluginInfo {
        vigil_sdk::info(
            "mysql",
            vigil_sdk::plugin_version!(),
            "Logs in to MySQL/MariaDB, runs a query and optionally checks replica status and lag",
            &[Capability::Tcp],
        )
    }

    fn new(config: Config, target: Target) -> Result<Self, ConfigError> {
        if target.host.is_empty() {
            return Err(ConfigError::InvalidTarget("empty host".into()));
        }
        if config.user.is_empty() {
            return Err(invalid("user", "must not be empty"));
        }
        if config.query.trim().is_empty() {
            return Err(invalid("query", "must not be empty"));
        }
        if config.timeout.is_some_and(|t| t.is_zero()) {
            return Err(invalid("timeout", "must be greater than zero"));
        }
        let lag_set = config.warn_replica_lag.is_some() || config.max_replica_lag.is_some();
        if config.replica == Some(false) && lag_set {
            return Err(invalid(
                "replica",
                "is false, but a replica lag limit is set; remove one of them",
            ));
        }
        if let (Some(w), Some(m)) = (config.warn_replica_lag, config.max_replica_lag) {
            if w > m {
                return Err(invalid(
                    "warn_replica_lag",
                    "must not be greater than max_replica_lag",
                ));
            }
        }
        let replica = (config.replica.unwrap_or(false) || lag_set).then(|| replica::Limits {
            warn: config.warn_replica_lag.map(|d| d.as_secs()),
            max: config.max_replica_lag.map(|d| d.as_secs()),
        });
        Ok(Mysql {
            target,
            timeout: vigil_sdk::check_io_timeout(config.timeout),
            config,
            replica,
            replica_statement: None,
        })
    }

    fn check(&mut self) -> Result<CheckResult, CheckError> {
        let started = Instant::now();
        let stream = TcpStream::connect_target(&self.target, Some(DEFAULT_PORT), self.timeout)?;
        let mut conn = Conn::new(stream, started + self.timeout);
        let outcome = self.run(&mut conn, started);
        conn.quit();
        outcome.or_else(classify)
    }
}

vigil_sdk::export_health_check!(Mysql);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn target() -> Target {
        Target {
            host: "127.0.0.1".into(),
            port: None,
        }
    }

    fn configure(json: &str) -> Result<Mysql, ConfigError> {
        Mysql::new(vigil_sdk::config::from_json(json)?, target())
    }

    #[test]
    fn config_defaults_and_validation() {
        let m = configure(r#"{"user":"vigil"}"#).unwrap();
        assert_eq!(m.config.query, "SELECT 1");
        // Natively no host sets VIGIL_CHECK_TIMEOUT_MS: the SDK's fallback.
        assert_eq!(m.timeout, vigil_sdk::budget::DEFAULT_IO_TIMEOUT);
        assert_eq!(m.config.timeout, None);
        assert!(m.replica.is_none());

        let m =
            configure(r#"{"user":"vigil","warn_replica_lag":"10s","max_replica_lag":60}"#).unwrap();
        assert_eq!(
            m.replica,
            Some(replica::Limits {
                warn: Some(10),
                max: Some(60)
            })
        );
        let m = configure(r#"{"user":"vigil","replica":true}"#).unwrap();
        assert_eq!(m.replica, Some(replica::Limits::default()));

        assert!(matches!(configure("{}"), Err(ConfigError::MissingKey(k)) if k == "user"));
        assert!(matches!(
            configure(r#"{"user":"v","pasword":"x"}"#),
            Err(ConfigError::UnknownKey(k)) if k == "pasword"
        ));
        assert!(matches!(
            configure(r#"{"user":"v","replica":false,"max_replica_lag":5}"#),
            Err(ConfigError::InvalidValue(f)) if f.key == "replica"
        ));
        assert!(matches!(
            configure(r#"{"user":"v","warn_replica_lag":50,"max_replica_lag":5}"#),
            Err(ConfigError::InvalidValue(f)) if f.key == "warn_replica_lag"
        ));
        assert!(matches!(
            configure(r#"{"user":"v","timeout":0}"#),
            Err(ConfigError::InvalidValue(f)) if f.key == "timeout"
        ));
    }

    #[test]
    fn replica_check_falls_back_to_show_slave_status() {
        use client::scripted::*;
        let mut parse_error = vec![0xff, 0x28, 0x04, b'#'];
        parse_error.extend_from_slice(b"42000You have an error in your SQL syntax");
        let mut conn = script(&[
            (0, greeting(protocol::NATIVE_PASSWORD)),
            (2, OK.to_vec()),
            // SELECT 1
            (1, vec![1]),
            (2, col("1")),
            (3, EOF.to_vec()),
            (4, row(&[Some("1")])),
            (5, EOF.to_vec()),
            // SHOW REPLICA STATUS: unknown to this (older) server
            (1, parse_error),
            // SHOW SLAVE STATUS
            (1, vec![3]),
            (2, col("Slave_IO_Running")),
            (3, col("Slave_SQL_Running")),
            (4, col("Seconds_Behind_Master")),
            (5, EOF.to_vec()),
            (6, row(&[Some("Yes"), Some("Yes"), Some("42")])),
            (7, EOF.to_vec()),
        ]);
        let mut m =
            configure(r#"{"user":"vigil","warn_replica_lag":30,"max_replica_lag":60}"#).unwrap();
        let r = m.run(&mut conn, Instant::now()).unwrap();
        assert_eq!(r.health, vigil_sdk::Health::Degraded);
        assert_eq!(
            r.message,
            "8.0.36: SELECT 1 returned 1 row; replica is 42 s behind its source \
             (warning above 30 s)"
        );
        assert!(r
            .metrics
            .iter()
            .any(|m| m.name == "replica_lag_seconds" && m.value == 42.0));
        // The statement that worked is remembered for the next checks.
        assert_eq!(m.replica_statement, Some("SHOW SLAVE STATUS"));
    }

    #[test]
    fn server_errors_are_down_and_others_are_errors() {
        let denied = Error::Wire(WireError::Server(protocol::ServerError {
            code: 1045,
            state: Some("28000".into()),
            message: "Access denied for user 'vigil'@'127.0.0.1' (using password: YES)".into(),
        }));
        let r = classify(denied).unwrap();
        assert_eq!(r.health, vigil_sdk::Health::Down);
        assert!(r.message.contains("Access denied for user"));
        assert!(matches!(classify(Error::Timeout), Err(CheckError::Timeout)));
        assert!(matches!(
            classify(Error::UnsupportedAuth("client_ed25519".into())),
            Err(CheckError::Protocol(m)) if m.contains("client_ed25519")
        ));
        assert!(matches!(
            classify(Error::Wire(WireError::Malformed("bad".into()))),
            Err(CheckError::Protocol(m)) if m == "bad"
        ));
    }
}
