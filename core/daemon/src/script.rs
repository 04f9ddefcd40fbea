//! The native, unsandboxed runner: keepalived-compatible `vrrp_script`
//! commands and notify scripts (`unsandboxed_script = "..."` in the config).
//!
//! Scripts run with the daemon's privileges unless a `user` is given, so
//! they are the escape hatch for what a sandboxed plugin cannot do, and are
//! marked as such in status and logs. The runner gives every script its own
//! process group and kills the whole group when the timeout passes: a
//! script that forks a hung child (`curl` without a timeout, say) must not
//! leave it behind, nor block the caller.

use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{Pid, User};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// How much of a script's output is kept for logs and `vigil plugin run`.
const OUTPUT_LIMIT: usize = 16 * 1024;

/// A command to run.
#[derive(Clone, Debug)]
pub struct Script {
    /// The command line, run by `/bin/sh -c`.
    pub command: String,
    /// Run as this user (and its primary group) instead of the daemon's.
    pub user: Option<String>,
    /// Kill the script (and its process group) after this long.
    pub timeout: Duration,
}

/// How a script ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptStatus {
    /// It exited with this code (0 is success, as for keepalived).
    Exited(i32),
    /// A signal ended it.
    Signalled(i32),
    /// It ran past its timeout and was killed.
    TimedOut,
    /// It could not be started at all.
    SpawnFailed(String),
}

/// The outcome of one run.
#[derive(Clone, Debug)]
pub struct ScriptReport {
    /// How it ended.
    pub status: ScriptStatus,
    /// Standard output and error, interleaved per stream, cut at 16 KiB.
    pub output: String,
    /// Wall time from spawn to exit (or kill).
    pub elapsed: Duration,
}

impl ScriptReport {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.status == ScriptStatus::Exited(0)
    }
}

impl std::fmt::Display for ScriptStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptStatus::Exited(c) => write!(f, "exited with status {c}"),
            ScriptStatus::Signalled(s) => write!(f, "killed by signal {s}"),
            ScriptStatus::TimedOut => f.write_str("timed out (killed)"),
            ScriptStatus::SpawnFailed(e) => write!(f, "could not start: {e}"),
        }
    }
}

impl Script {
    /// Run once with extra arguments (`$1`...: keepalived's notify arguments)
    /// and environment.
    pub async fn run(&self, args: &[String], env: &[(String, String)]) -> ScriptReport {
        let started = Instant::now();
        let report = |status, output| ScriptReport {
            status,
            output,
            elapsed: started.elapsed(),
        };
        let mut cmd = Command::new("/bin/sh");
        // As keepalived does, the arguments are appended to the command line:
        // `sh -c 'CMD "$@"' vigil-script ARGS...` passes them through unsplit.
        let line = if args.is_empty() {
            self.command.clone()
        } else {
            format!("{} \"$@\"", self.command)
        };
        cmd.arg("-c")
            .arg(&line)
            .arg("vigil-script")
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(name) = &self.user {
            match User::from_name(name) {
                Ok(Some(u)) => {
                    cmd.uid(u.uid.as_raw()).gid(u.gid.as_raw());
                }
                Ok(None) => {
                    return report(
                        ScriptStatus::SpawnFailed(format!("no such user {name:?}")),
                        String::new(),
                    )
                }
                Err(e) => {
                    return report(
                        ScriptStatus::SpawnFailed(format!("looking up user {name:?}: {e}")),
                        String::new(),
                    )
                }
            }
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return report(ScriptStatus::SpawnFailed(e.to_string()), String::new()),
        };
        let pgid = child.id().and_then(|id| i32::try_from(id).ok());
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let collect = async move {
            let mut out = Vec::new();
            let mut err = Vec::new();
            let read_out = async {
                if let Some(mut s) = stdout {
                    let _ = read_limited(&mut s, &mut out).await;
                }
            };
            let read_err = async {
                if let Some(mut s) = stderr {
                    let _ = read_limited(&mut s, &mut err).await;
                }
            };
            tokio::join!(read_out, read_err);
            out.extend_from_slice(&err);
            String::from_utf8_lossy(&out).into_owned()
        };
        let run = async {
            let (status, output) = tokio::join!(child.wait(), collect);
            (status, output)
        };
        match tokio::time::timeout(self.timeout, run).await {
            Ok((Ok(status), output)) => {
                use std::os::unix::process::ExitStatusExt;
                let s = match (status.code(), status.signal()) {
                    (Some(c), _) => ScriptStatus::Exited(c),
                    (None, Some(sig)) => ScriptStatus::Signalled(sig),
                    (None, None) => ScriptStatus::Exited(-1),
                };
                report(s, output)
            }
            Ok((Err(e), output)) => report(ScriptStatus::SpawnFailed(e.to_string()), output),
            Err(_) => {
                // The whole group: the shell and whatever it started.
                if let Some(pg) = pgid {
                    let _ = killpg(Pid::from_raw(pg), Signal::SIGKILL);
                }
                report(ScriptStatus::TimedOut, String::new())
            }
        }
    }
}

/// Read to EOF, keeping at most [`OUTPUT_LIMIT`] bytes (the rest is drained
/// so the script never blocks on a full pipe).
async fn read_limited<R: tokio::io::AsyncRead + Unpin>(
    r: &mut R,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        let room = OUTPUT_LIMIT.saturating_sub(out.len());
        out.extend_from_slice(buf.get(..n.min(room)).unwrap_or_default());
    }
}

/// keepalived's arguments for a `notify` script: `TYPE NAME STATE PRIORITY`,
/// e.g. `INSTANCE VI_1 MASTER 150` or `GROUP G1 BACKUP 0`.
pub fn notify_args(kind: &str, name: &str, state: &str, priority: u8) -> Vec<String> {
    vec![
        kind.to_ascii_uppercase(),
        name.to_string(),
        state.to_ascii_uppercase(),
        priority.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn script(cmd: &str, timeout_ms: u64) -> Script {
        Script {
            command: cmd.into(),
            user: None,
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn exit_codes_and_output() {
        let rt = rt();
        let ok = rt.block_on(script("echo hello; echo oops >&2", 5000).run(&[], &[]));
        assert!(ok.success(), "{ok:?}");
        assert_eq!(ok.output, "hello\noops\n");
        let bad = rt.block_on(script("exit 3", 5000).run(&[], &[]));
        assert_eq!(bad.status, ScriptStatus::Exited(3));
        assert!(!bad.success());
        let sig = rt.block_on(script("kill -TERM $$", 5000).run(&[], &[]));
        assert_eq!(sig.status, ScriptStatus::Signalled(15));
    }

    #[test]
    fn keepalived_notify_arguments_are_appended_to_the_command() {
        let rt = rt();
        let args = notify_args("instance", "VI 1", "master", 150);
        let r = rt.block_on(script("printf '%s|' first", 5000).run(&args, &[]));
        assert_eq!(r.output, "first|INSTANCE|VI 1|MASTER|150|");
        let env = [("VIGIL_X".to_string(), "x".to_string())];
        let r = rt.block_on(script("echo $VIGIL_X", 5000).run(&[], &env));
        assert_eq!(r.output, "x\n");
    }

    #[test]
    fn a_hung_script_and_its_children_are_killed_at_the_timeout() {
        let rt = rt();
        let marker = std::env::temp_dir().join(format!("vigil-script-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        // The child outlives the shell unless the whole group is killed.
        let cmd = format!("(sleep 1; touch {}) & sleep 30", marker.display());
        let r = rt.block_on(script(&cmd, 200).run(&[], &[]));
        assert_eq!(r.status, ScriptStatus::TimedOut);
        assert!(r.elapsed < Duration::from_secs(5), "{:?}", r.elapsed);
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!marker.exists(), "the background child survived the kill");
    }

    #[test]
    fn unknown_user_is_a_clear_failure() {
        let rt = rt();
        let mut s = script("true", 1000);
        s.user = Some("no-such-user-vigil".into());
        let r = rt.block_on(s.run(&[], &[]));
        assert!(matches!(r.status, ScriptStatus::SpawnFailed(ref m) if m.contains("no such user")));
    }

    #[test]
    fn runs_as_the_given_user() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: needs root to switch users");
            return;
        }
        let rt = rt();
        let mut s = script("id -u", 5000);
        s.user = Some("nobody".into());
        let r = rt.block_on(s.run(&[], &[]));
        let nobody = User::from_name("nobody").unwrap().unwrap();
        assert_eq!(r.output.trim(), nobody.uid.to_string());
    }

    #[test]
    fn output_is_capped_and_the_pipe_drained() {
        let rt = rt();
        let r = rt.block_on(script("head -c 1000000 /dev/zero | tr '\\0' x", 10_000).run(&[], &[]));
        assert!(r.success(), "{r:?}");
        assert_eq!(r.output.len(), OUTPUT_LIMIT);
    }
}
