//! Packet capture on the lab switch with tshark, and reading captures back as fields.
//!
//! The capture runs on the switch's `br0`, which is promiscuous: it sees multicast and the
//! unicast between ports alike, without touching any host. tshark (not tcpdump) because the
//! tests decode VRRP with Wireshark's dissector (`vrrp.checksum.status`, ...).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cmd::{require, Cmd};
use crate::error::{LabError, Result};
use crate::host::{spawn_in, Process, Signal};
use crate::lab::Lab;

/// How long tshark may take to open the interface, and to flush after SIGINT.
const TSHARK_TIMEOUT: Duration = Duration::from_secs(10);

/// A running (or stopped) tshark writing a pcapng file into the lab dir.
#[derive(Debug)]
pub struct Capture {
    proc: Process,
    file: PathBuf,
    stopped: bool,
}

impl Capture {
    /// Starts `tshark -i br0 -w <lab dir>/<name>.pcapng` in the switch namespace (created if
    /// needed) and returns once tshark says it is capturing, so nothing sent afterwards is
    /// missed. [`LabError::MissingTool`]`("tshark")` when it is not installed.
    pub fn start(lab: &Lab, name: &str) -> Result<Capture> {
        require("tshark")?;
        let sw = lab.add_switch()?;
        let file = lab.dir().join(format!("{name}.pcapng"));
        let log = lab.dir().join(format!("{name}.tshark.log"));
        let args = ["-i", "br0", "-n", "-q", "-w"]
            .iter()
            .map(OsStr::new)
            .chain([file.as_os_str()]);
        let proc = spawn_in(lab.shared(), &sw, "tshark", args, &log)?;
        crate::wait_until(TSHARK_TIMEOUT, "tshark to start capturing on br0", || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Capturing on") {
                return Ok(Some(()));
            }
            if let Some(st) = proc.try_wait()? {
                return Err(LabError::Command {
                    cmd: format!("tshark -i br0 -w {} (in {sw})", file.display()),
                    status: st.to_string(),
                    stderr: text.trim().to_owned(),
                });
            }
            Ok(None)
        })?;
        Ok(Capture {
            proc,
            file,
            stopped: false,
        })
    }

    /// The pcapng file (complete only after [`Capture::stop`]).
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Stops tshark with SIGINT and waits for it to exit so the file is flushed (SIGKILL after
    /// 10 s). Idempotent. Returns the file.
    pub fn stop(&mut self) -> Result<&Path> {
        if !self.stopped {
            self.stopped = true;
            self.proc.signal(Signal::Int)?;
            if self.proc.wait_timeout(TSHARK_TIMEOUT)?.is_none() {
                self.proc.terminate(Duration::ZERO)?;
            }
        }
        Ok(&self.file)
    }

    /// [`tshark_fields`] on this capture; it must be stopped first (a file still being written
    /// reads as truncated).
    pub fn fields(&self, filter: &str, fields: &[&str]) -> Result<Vec<Vec<String>>> {
        if !self.stopped {
            return Err(LabError::Invalid(
                "stop the capture before reading it".to_owned(),
            ));
        }
        tshark_fields(&self.file, filter, fields)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        // Best effort, no wait: lab cleanup reaps it.
        if !self.stopped {
            let _ = self.proc.signal(Signal::Int);
        }
    }
}

/// `tshark -r FILE -n -Y FILTER -T fields -e F...`: one row per matching packet, one string
/// per field (empty when absent; repeated fields joined with `,`).
pub fn tshark_fields(file: &Path, filter: &str, fields: &[&str]) -> Result<Vec<Vec<String>>> {
    let mut cmd = Cmd::new(require("tshark")?)
        .arg("-r")
        .arg(file)
        .args(["-n", "-Y", filter, "-T", "fields"])
        .args([
            "-E",
            "separator=/t",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
        ]);
    for f in fields {
        cmd = cmd.args(["-e", f]);
    }
    let out = cmd.run()?;
    Ok(out
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect())
}
