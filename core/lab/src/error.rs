//! One error type for the whole crate: every failure names the command that failed and what it
//! printed, because a lab problem is almost always diagnosed from the `ip`/tool stderr.

use std::io;
use std::time::Duration;

/// Everything that can go wrong while building, using or tearing down a lab.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// Network namespaces need root (CAP_NET_ADMIN + CAP_SYS_ADMIN); callers usually skip.
    #[error("not running as root (network namespaces need CAP_NET_ADMIN and CAP_SYS_ADMIN)")]
    NotRoot,
    /// A required external tool (`ip`, `keepalived`, `tshark`, ...) is not installed; callers
    /// usually print "skipped" rather than fail.
    #[error("required tool `{0}` not found (looked in PATH, /usr/sbin, /sbin)")]
    MissingTool(String),
    /// A command ran but exited unsuccessfully.
    #[error("`{cmd}` failed ({status}): {stderr}")]
    Command {
        /// The command line, roughly shell-quoted.
        cmd: String,
        /// Exit status as text (`exit status: 2`, `signal: 9`).
        status: String,
        /// Its trimmed stderr (or stdout when stderr was empty).
        stderr: String,
    },
    /// A command could not be started at all.
    #[error("cannot run `{cmd}`: {source}")]
    Spawn {
        /// The command line.
        cmd: String,
        /// Why `exec` failed.
        source: io::Error,
    },
    /// A filesystem or process-control operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What we were doing.
        what: String,
        /// The OS error.
        source: io::Error,
    },
    /// A tool printed something we could not understand.
    #[error("cannot parse output of `{cmd}`: {detail}")]
    Parse {
        /// The command whose output was bad.
        cmd: String,
        /// What was wrong.
        detail: String,
    },
    /// A condition did not become true before its deadline.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// The condition, in words.
        what: String,
        /// How long we waited.
        after: Duration,
    },
    /// The caller asked for something the lab refuses (bad name, non-documentation address, ...).
    #[error("invalid lab request: {0}")]
    Invalid(String),
    /// The lab was already cleaned up (explicitly, on Drop, or from a signal handler).
    #[error("lab {0} was already cleaned up")]
    CleanedUp(String),
}

/// Result alias used throughout the crate.
pub type Result<T, E = LabError> = std::result::Result<T, E>;

impl LabError {
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        LabError::Io {
            what: what.into(),
            source,
        }
    }
}
