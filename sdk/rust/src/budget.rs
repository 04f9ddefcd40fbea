//! How long a plugin may spend on one call.
//!
//! The host runs every call under the check's (or notifier's) `timeout`; a call
//! still running at that deadline is stopped, its instance discarded, and the
//! check reported as failed by the sandbox instead of by the plugin. So that a
//! plugin can give up first, with its own [`CheckError::Timeout`], the host
//! tells every instance its timeout in an environment variable:
//!
//! - `VIGIL_CHECK_TIMEOUT_MS`: a health check's timeout, in milliseconds
//!   ([`check_timeout`]);
//! - `VIGIL_NOTIFY_TIMEOUT_MS`: a notifier's timeout ([`notify_timeout`]).
//!
//! A plugin's I/O should end a little before that: [`io_budget`] keeps 15 % of
//! the call's timeout (at least 20 ms, at most 1 s) for parsing and reporting.
//! [`check_io_timeout`] / [`notify_io_timeout`] turn an optional `timeout`
//! config key into the timeout to use: the budget when the key is unset, the
//! key clamped to the budget when it is set, and the key or
//! [`DEFAULT_IO_TIMEOUT`] when the host did not say (an older host, or a native
//! unit test).
//!
//! [`CheckError::Timeout`]: crate::CheckError::Timeout

use std::time::Duration;

/// The variable carrying a health check's timeout in milliseconds.
pub const CHECK_TIMEOUT_ENV: &str = "VIGIL_CHECK_TIMEOUT_MS";
/// The variable carrying a notifier's timeout in milliseconds.
pub const NOTIFY_TIMEOUT_ENV: &str = "VIGIL_NOTIFY_TIMEOUT_MS";
/// The I/O timeout when neither the config nor the host gives one.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Share of the call's timeout kept back from I/O, in percent.
const RESERVE_PERCENT: u32 = 15;
const MIN_RESERVE: Duration = Duration::from_millis(20);
const MAX_RESERVE: Duration = Duration::from_secs(1);

/// The check's timeout as the host set it (`VIGIL_CHECK_TIMEOUT_MS`), or `None`
/// outside a host that sets it (natively, in unit tests).
pub fn check_timeout() -> Option<Duration> {
    from_env(CHECK_TIMEOUT_ENV)
}

/// The notifier's timeout as the host set it (`VIGIL_NOTIFY_TIMEOUT_MS`).
pub fn notify_timeout() -> Option<Duration> {
    from_env(NOTIFY_TIMEOUT_ENV)
}

fn from_env(name: &str) -> Option<Duration> {
    parse_ms(&std::env::var(name).ok()?)
}

/// Parses the variable's value: whole milliseconds, more than zero.
pub fn parse_ms(value: &str) -> Option<Duration> {
    match value.trim().parse::<u64>() {
        Ok(ms) if ms > 0 => Some(Duration::from_millis(ms)),
        _ => None,
    }
}

/// The part of a call's timeout to spend on I/O: 85 % of it, keeping back at
/// least 20 ms and at most 1 s (never more than half) for the rest of the call.
/// A 1 s check gets 850 ms, a 10 s check 9 s.
pub fn io_budget(call_timeout: Duration) -> Duration {
    let reserve = (call_timeout * RESERVE_PERCENT / 100)
        .clamp(MIN_RESERVE, MAX_RESERVE)
        .min(call_timeout / 2);
    call_timeout.saturating_sub(reserve)
}

/// The I/O timeout for a plugin whose `timeout` key is `configured`, in a call
/// limited to `call_timeout`: the budget of the call when the key is unset, the
/// key clamped to that budget when set; without a call timeout, the key or
/// [`DEFAULT_IO_TIMEOUT`].
pub fn io_timeout(configured: Option<Duration>, call_timeout: Option<Duration>) -> Duration {
    match (configured, call_timeout.map(io_budget)) {
        (Some(c), Some(budget)) => c.min(budget),
        (None, Some(budget)) => budget,
        (Some(c), None) => c,
        (None, None) => DEFAULT_IO_TIMEOUT,
    }
}

/// [`io_timeout`] for a health check: its `timeout` key against
/// [`check_timeout`].
pub fn check_io_timeout(configured: Option<Duration>) -> Duration {
    io_timeout(configured, check_timeout())
}

/// [`io_timeout`] for a notifier: its `timeout` key against
/// [`notify_timeout`].
pub fn notify_io_timeout(configured: Option<Duration>) -> Duration {
    io_timeout(configured, notify_timeout())
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn parses_the_variable() {
        assert_eq!(parse_ms("1000"), Some(ms(1000)));
        assert_eq!(parse_ms(" 250\n"), Some(ms(250)));
        for bad in ["", "0", "-5", "1.5", "1s", "x"] {
            assert_eq!(parse_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn budget_leaves_time_to_report() {
        assert_eq!(io_budget(ms(1000)), ms(850));
        assert_eq!(io_budget(ms(2000)), ms(1700));
        assert_eq!(io_budget(ms(10_000)), ms(9000));
        assert_eq!(io_budget(ms(60_000)), ms(59_000));
        // Short timeouts keep 20 ms, but never more than half.
        assert_eq!(io_budget(ms(100)), ms(80));
        assert_eq!(io_budget(ms(30)), ms(15));
        assert_eq!(io_budget(ms(1)), Duration::from_micros(500));
        for t in [1, 10, 100, 999, 1000, 5000, 3_600_000] {
            let b = io_budget(ms(t));
            assert!(b < ms(t) && b >= ms(t) / 2, "{t} ms -> {b:?}");
        }
    }

    #[test]
    fn configured_timeouts_stay_inside_the_call() {
        let call = Some(ms(1000));
        assert_eq!(io_timeout(None, call), ms(850));
        assert_eq!(io_timeout(Some(ms(300)), call), ms(300));
        assert_eq!(io_timeout(Some(ms(5000)), call), ms(850));
        assert_eq!(io_timeout(Some(ms(300)), None), ms(300));
        assert_eq!(io_timeout(None, None), DEFAULT_IO_TIMEOUT);
    }

    #[test]
    fn natively_the_host_says_nothing() {
        if std::env::var_os(CHECK_TIMEOUT_ENV).is_none() {
            assert_eq!(check_timeout(), None);
            assert_eq!(check_io_timeout(Some(ms(7))), ms(7));
            assert_eq!(check_io_timeout(None), DEFAULT_IO_TIMEOUT);
        }
        if std::env::var_os(NOTIFY_TIMEOUT_ENV).is_none() {
            assert_eq!(notify_timeout(), None);
            assert_eq!(notify_io_timeout(None), DEFAULT_IO_TIMEOUT);
        }
    }
}
