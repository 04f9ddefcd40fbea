//! `vigil import`: keepalived.conf (the VRRP side) to Vigil's TOML.
//!
//! The importer reproduces what keepalived actually runs, not just what the
//! text says: where keepalived applies a default that differs from Vigil's
//! (`accept`, `check_unicast_src`, the priority of `state MASTER`), or
//! quietly adjusts a value (rounds an advert interval, drops a VRRPv3
//! password, clears `nopreempt` on a MASTER), the output says so explicitly
//! and a [`Note`] records it. Every keyword that is not converted is listed
//! in [`Conversion::unsupported`]; nothing is dropped silently. Values
//! keepalived would reject (and then ignore) are errors here, because the
//! intent is unclear.
//!
//! The produced TOML always passes [`crate::Config::parse`]: the converter
//! validates it, and maps any error back to the keepalived file and line.
//!
//! ```no_run
//! let c = vigil_config::keepalived::convert("/etc/keepalived/keepalived.conf")?;
//! for u in &c.unsupported {
//!     eprintln!("{u}");
//! }
//! print!("{}", c.toml);
//! # Ok::<(), vigil_config::keepalived::ImportError>(())
//! ```

mod convert;
mod glob;
mod reader;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Options of an import.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// keepalived's `--config-id`: lines starting `@ID` are kept only for
    /// this id, lines starting `@^ID` for every other. keepalived defaults to
    /// the host name; the importer runs elsewhere, so it takes none unless
    /// told, and reports the `@` lines it skipped.
    pub config_id: Option<String>,
}

/// The result of a successful import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conversion {
    /// Vigil TOML; each block starts with a comment naming its source.
    pub toml: String,
    /// Every keepalived keyword (or option) that was not converted.
    pub unsupported: Vec<Unsupported>,
    /// Where the output differs from the literal text to match what
    /// keepalived does.
    pub notes: Vec<Note>,
}

/// A keepalived keyword that was not converted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unsupported {
    /// The file it is in.
    pub file: PathBuf,
    /// Its line.
    pub line: usize,
    /// The keyword (or address option, or `@id` / `$NAME`).
    pub keyword: String,
    /// Why, e.g. "not yet supported".
    pub note: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.keyword,
            self.note
        )
    }
}

/// A value the importer wrote differently from the text, to match
/// keepalived's behaviour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The file.
    pub file: PathBuf,
    /// The line.
    pub line: usize,
    /// The keyword concerned.
    pub keyword: String,
    /// What was done and why.
    pub note: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.keyword,
            self.note
        )
    }
}

/// One reason an import failed, at a keepalived file and line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The keepalived file.
    pub file: PathBuf,
    /// The line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The top-level file cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration has errors; all of them are listed.
    #[error("{}", display_lines(problems))]
    Invalid {
        /// Every problem, in file order.
        problems: Vec<Problem>,
        /// The keywords not converted, as far as reading got.
        unsupported: Vec<Unsupported>,
    },
}

fn display_lines(p: &[Problem]) -> String {
    p.iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Convert the keepalived configuration at `path` (and its includes).
pub fn convert(path: impl AsRef<Path>) -> Result<Conversion, ImportError> {
    convert_with(path, &ImportOptions::default())
}

/// [`convert`] with options.
pub fn convert_with(
    path: impl AsRef<Path>,
    opts: &ImportOptions,
) -> Result<Conversion, ImportError> {
    let mut r = reader::Reader::new(opts);
    r.read_top(path.as_ref())?;
    convert::run(r)
}

/// Convert `text` as if read from `path` (includes resolve relative to
/// `path`'s directory). For tests, fuzzing and stdin.
pub fn convert_str(
    text: &str,
    path: impl AsRef<Path>,
    opts: &ImportOptions,
) -> Result<Conversion, ImportError> {
    let mut r = reader::Reader::new(opts);
    r.read_text(path.as_ref(), text);
    convert::run(r)
}
