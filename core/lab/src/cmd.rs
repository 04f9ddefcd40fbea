//! Running external tools (`ip`, `sysctl`, `tshark`, `keepalived`) with errors that carry the
//! command line and its stderr.

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::error::{LabError, Result};

/// Directories searched after `PATH`: `ip` and `keepalived` live in `/usr/sbin`, which is often
/// missing from a non-login `PATH` (cargo test, CI).
const SBIN_FALLBACK: &[&str] = &["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// Finds an executable like `which(1)`, also looking in the sbin directories.
pub fn which(tool: &str) -> Option<PathBuf> {
    if tool.contains('/') {
        let p = PathBuf::from(tool);
        return is_executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(SBIN_FALLBACK.iter().map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// [`which`], as an error the caller can turn into "skipped: ...".
pub(crate) fn require(tool: &str) -> Result<PathBuf> {
    which(tool).ok_or_else(|| LabError::MissingTool(tool.to_owned()))
}

/// Checks what a lab needs before building one: root, plus the given tools (`ip` is always
/// required). Tests call it first and print `skipped: <error>` when it fails.
pub fn preflight(tools: &[&str]) -> Result<()> {
    if !rustix::process::geteuid().is_root() {
        return Err(LabError::NotRoot);
    }
    require("ip")?;
    for t in tools {
        require(t)?;
    }
    Ok(())
}

/// Renders a command line for error messages (quoted only where needed).
pub(crate) fn display(program: &OsStr, args: &[OsString]) -> String {
    let mut s = quote(program);
    for a in args {
        s.push(' ');
        s.push_str(&quote(a));
    }
    s
}

fn quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=%,@+".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A command about to run: program + args, kept as data so errors can print it.
#[derive(Debug, Clone)]
pub(crate) struct Cmd {
    pub program: OsString,
    pub args: Vec<OsString>,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Cmd {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
        }
    }

    /// `ip` itself, resolved to an absolute path so a short `PATH` does not matter.
    pub fn ip() -> Result<Self> {
        Ok(Cmd::new(require("ip")?))
    }

    /// `ip netns exec NS program`: the program runs inside the namespace (the pid of the spawned
    /// child is the program's own, because `ip netns exec` execs it).
    pub fn in_netns(ns: &str, program: impl AsRef<OsStr>) -> Result<Self> {
        let program = program.as_ref();
        // Resolve here: `ip netns exec` uses execvp with our PATH, which may lack /usr/sbin.
        let resolved = match program.to_str() {
            Some(p) => which(p).map_or_else(|| program.to_owned(), PathBuf::into_os_string),
            None => program.to_owned(),
        };
        Ok(Cmd::ip()?.args(["netns", "exec", ns]).arg(resolved))
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.args.push(a.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn display(&self) -> String {
        display(&self.program, &self.args)
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args).stdin(Stdio::null());
        c
    }

    /// Runs to completion and returns the output whatever the exit status.
    pub fn output(&self) -> Result<Output> {
        self.command().output().map_err(|source| LabError::Spawn {
            cmd: self.display(),
            source,
        })
    }

    /// Runs to completion; a non-zero exit becomes [`LabError::Command`]. Returns stdout.
    pub fn run(&self) -> Result<String> {
        let out = self.output()?;
        check(self, &out)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// Turns a failed [`Output`] into [`LabError::Command`].
pub(crate) fn check(cmd: &Cmd, out: &Output) -> Result<()> {
    if out.status.success() {
        return Ok(());
    }
    let mut msg = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if msg.is_empty() {
        msg = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    }
    Err(LabError::Command {
        cmd: cmd.display(),
        status: out.status.to_string(),
        stderr: msg,
    })
}

/// Polls `poll` every 10 ms until it yields `Some`, an error, or `timeout` passes. The closure
/// runs at least once, so a zero timeout still checks the condition.
pub fn wait_until<T>(
    timeout: Duration,
    what: &str,
    mut poll: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = poll()? {
            return Ok(v);
        }
        if start.elapsed() >= timeout {
            return Err(LabError::Timeout {
                what: what.to_owned(),
                after: timeout,
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        let args: Vec<OsString> = ["-n", "ns-1", "a b", "it's"]
            .iter()
            .map(Into::into)
            .collect();
        assert_eq!(
            display(OsStr::new("ip"), &args),
            r"ip -n ns-1 'a b' 'it'\''s'"
        );
    }

    #[test]
    fn wait_until_times_out_and_succeeds() {
        let err = wait_until(Duration::ZERO, "never", || Ok(None::<()>));
        assert!(matches!(err, Err(LabError::Timeout { .. })));
        let mut n = 0;
        let v = wait_until(Duration::from_secs(5), "third try", || {
            n += 1;
            Ok((n == 3).then_some(n))
        });
        assert_eq!(v.ok(), Some(3));
    }

    #[test]
    fn which_finds_sh() {
        assert!(which("sh").is_some());
        assert!(which("definitely-not-a-tool-vigil").is_none());
        let err = require("definitely-not-a-tool-vigil");
        assert!(matches!(err, Err(LabError::MissingTool(t)) if t == "definitely-not-a-tool-vigil"));
    }
}
