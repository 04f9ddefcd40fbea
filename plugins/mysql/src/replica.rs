//! Judging a replica from `SHOW REPLICA STATUS` / `SHOW SLAVE STATUS`.
//!
//! Column names differ by server: MySQL >= 8.0.22 says `Replica_*` and `*_Source`,
//! MariaDB and older MySQL say `Slave_*` and `*_Master`; both are accepted.

use crate::protocol::ResultSet;

/// The statements to try, newest first: MySQL 8.4 dropped `SHOW SLAVE STATUS`,
/// servers before MySQL 8.0.22 / MariaDB 10.5.1 lack `SHOW REPLICA STATUS`.
pub const STATEMENTS: [&str; 2] = ["SHOW REPLICA STATUS", "SHOW SLAVE STATUS"];

const IO_RUNNING: &[&str] = &["Replica_IO_Running", "Slave_IO_Running"];
const SQL_RUNNING: &[&str] = &["Replica_SQL_Running", "Slave_SQL_Running"];
const LAG: &[&str] = &["Seconds_Behind_Source", "Seconds_Behind_Master"];
const IO_ERROR: &[&str] = &["Last_IO_Error"];
const SQL_ERROR: &[&str] = &["Last_SQL_Error"];

/// Lag limits in seconds: over `warn` is degraded, over `max` is down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub warn: Option<u64>,
    pub max: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Up,
    Degraded,
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub message: String,
    /// Seconds behind the source, when the server knows.
    pub lag: Option<u64>,
}

fn down(message: String, lag: Option<u64>) -> Judgement {
    Judgement {
        verdict: Verdict::Down,
        message,
        lag,
    }
}

/// Judges the status rows. Errors are protocol errors: the result is not a replica
/// status at all (a column is missing).
pub fn judge(rs: &ResultSet, limits: Limits) -> Result<Judgement, String> {
    if rs.rows.is_empty() {
        return Ok(down(
            "server is not a replica (replica status is empty)".into(),
            None,
        ));
    }
    let value = |names: &[&str]| -> Result<Option<String>, String> {
        rs.first_value(names)
            .map(|v| v.map(str::to_string))
            .ok_or_else(|| format!("replica status has no {} column", names.join("/")))
    };
    let io = value(IO_RUNNING)?;
    let sql = value(SQL_RUNNING)?;
    let lag_text = value(LAG)?;
    let lag = match lag_text.as_deref() {
        None => None,
        Some(t) => Some(
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("replica lag {t:?} is not a number of seconds"))?,
        ),
    };
    let last_error = |names: &[&str]| {
        rs.first_value(names)
            .flatten()
            .filter(|e| !e.is_empty())
            .map(|e| format!(": {e}"))
            .unwrap_or_default()
    };
    let io = io.unwrap_or_default();
    if io != "Yes" {
        return Ok(down(
            format!(
                "replica IO thread is not running ({}={io}){}",
                IO_RUNNING[1],
                last_error(IO_ERROR)
            ),
            lag,
        ));
    }
    let sql = sql.unwrap_or_default();
    if sql != "Yes" {
        return Ok(down(
            format!(
                "replica SQL thread is not running ({}={sql}){}",
                SQL_RUNNING[1],
                last_error(SQL_ERROR)
            ),
            lag,
        ));
    }
    let Some(lag) = lag else {
        return Ok(down("replica lag is unknown (NULL)".into(), None));
    };
    if let Some(max) = limits.max.filter(|&m| lag > m) {
        return Ok(down(
            format!("replica is {lag} s behind its source (max {max} s)"),
            Some(lag),
        ));
    }
    if let Some(warn) = limits.warn.filter(|&w| lag > w) {
        return Ok(Judgement {
            verdict: Verdict::Degraded,
            message: format!("replica is {lag} s behind its source (warning above {warn} s)"),
            lag: Some(lag),
        });
    }
    Ok(Judgement {
        verdict: Verdict::Up,
        message: format!("replica running, {lag} s behind its source"),
        lag: Some(lag),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn status(io: &str, sql: &str, lag: Option<&str>, io_err: &str) -> ResultSet {
        ResultSet {
            columns: [
                "Slave_IO_State",
                "Slave_IO_Running",
                "Slave_SQL_Running",
                "Last_IO_Error",
                "Seconds_Behind_Master",
            ]
            .map(String::from)
            .to_vec(),
            rows: vec![vec![
                Some(String::new()),
                Some(io.into()),
                Some(sql.into()),
                Some(io_err.into()),
                lag.map(String::from),
            ]],
        }
    }

    const LIMITS: Limits = Limits {
        warn: Some(10),
        max: Some(60),
    };

    #[test]
    fn healthy_lagging_and_broken() {
        let j = judge(&status("Yes", "Yes", Some("0"), ""), LIMITS).unwrap();
        assert_eq!(j.verdict, Verdict::Up);
        assert_eq!(j.lag, Some(0));
        // Limits are inclusive: exactly at the limit is still fine.
        let j = judge(&status("Yes", "Yes", Some("10"), ""), LIMITS).unwrap();
        assert_eq!(j.verdict, Verdict::Up);
        let j = judge(&status("Yes", "Yes", Some("11"), ""), LIMITS).unwrap();
        assert_eq!(j.verdict, Verdict::Degraded);
        let j = judge(&status("Yes", "Yes", Some("61"), ""), LIMITS).unwrap();
        assert_eq!(j.verdict, Verdict::Down);
        assert!(j.message.contains("61 s behind"), "{}", j.message);
        let j = judge(&status("Yes", "Yes", Some("5000"), ""), Limits::default()).unwrap();
        assert_eq!(j.verdict, Verdict::Up);
    }

    #[test]
    fn stopped_threads_and_unknown_lag_are_down() {
        let j = judge(
            &status("Connecting", "Yes", None, "error connecting to master"),
            LIMITS,
        )
        .unwrap();
        assert_eq!(j.verdict, Verdict::Down);
        assert_eq!(
            j.message,
            "replica IO thread is not running (Slave_IO_Running=Connecting): error connecting to master"
        );
        let j = judge(&status("Yes", "No", None, ""), LIMITS).unwrap();
        assert_eq!(j.verdict, Verdict::Down);
        assert!(j.message.contains("SQL thread"));
        let j = judge(&status("Yes", "Yes", None, ""), LIMITS).unwrap();
        assert_eq!(j.verdict, Verdict::Down);
        assert!(j.message.contains("unknown"));
    }

    #[test]
    fn not_a_replica_and_wrong_columns() {
        let j = judge(&ResultSet::default(), LIMITS).unwrap();
        assert_eq!(j.verdict, Verdict::Down);
        assert!(j.message.contains("not a replica"));
        let rs = ResultSet {
            columns: vec!["1".into()],
            rows: vec![vec![Some("1".into())]],
        };
        assert!(judge(&rs, LIMITS).unwrap_err().contains("Slave_IO_Running"));
        let mut rs = status("Yes", "Yes", Some("soon"), "");
        assert!(judge(&rs, LIMITS).is_err());
        rs.rows[0][4] = Some("3".into());
        assert_eq!(judge(&rs, LIMITS).unwrap().lag, Some(3));
    }

    #[test]
    fn accepts_mysql_8_column_names() {
        let rs = ResultSet {
            columns: [
                "Replica_IO_Running",
                "Replica_SQL_Running",
                "Seconds_Behind_Source",
            ]
            .map(String::from)
            .to_vec(),
            rows: vec![vec![
                Some("Yes".into()),
                Some("Yes".into()),
                Some("2".into()),
            ]],
        };
        let j = judge(&rs, LIMITS).unwrap();
        assert_eq!(j.verdict, Verdict::Up);
        assert_eq!(j.lag, Some(2));
    }
}
