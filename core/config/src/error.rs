//! Errors of the TOML configuration: every one names the file, line, column,
//! the section (`instance "VI_1"`) and key path, so that a user can go
//! straight to the mistake; a file yields all its errors at once
//! ([`ConfigErrors`]), not just the first.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::Serialize;

/// One mistake in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct ConfigError {
    /// The file, as it was named to [`crate::Config::load`] or [`crate::Config::parse`].
    pub path: PathBuf,
    /// 1-based line; 0 when the error concerns the whole file (it cannot be read).
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The section: `global`, `instance "VI_1"`, `sync_group "G1"`, or
    /// `instance #2` when the name itself is missing.
    pub section: Option<String>,
    /// The key path inside the section, e.g. `virtual_addresses[1].dev`.
    pub key: Option<String>,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        f.write_str(": ")?;
        if let Some(s) = &self.section {
            write!(f, "{s}: ")?;
        }
        if let Some(k) = &self.key {
            write!(f, "key `{k}`: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

/// Every error found in one file, in file order. Never empty when returned
/// as an `Err`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The errors.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    /// How many errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for ConfigErrors {
    type Item = ConfigError;
    type IntoIter = std::vec::IntoIter<ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The kinds of mistakes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file cannot be read.
    #[error("cannot read: {message}")]
    Io {
        /// The OS error.
        message: String,
    },
    /// Not TOML.
    #[error("{message}")]
    Syntax {
        /// The parser's message.
        message: String,
    },
    /// Valid TOML that does not fit the schema: an unknown or missing key, or
    /// a value of the wrong type.
    #[error("{message}")]
    Schema {
        /// The deserializer's message.
        message: String,
    },
    /// A top-level table that the schema does not have.
    #[error("unknown section `{name}` (expected `global`, `instance`, `sync_group`, `plugin`, `check` or `notifier`)")]
    UnknownSection {
        /// The section name.
        name: String,
    },
    /// `[instance]` instead of `[[instance]]`.
    #[error("`{name}` must be an array of tables: write `[[{name}]]`")]
    NotArrayOfTables {
        /// The section name.
        name: String,
    },
    /// A duration string that does not parse.
    #[error("invalid duration {text:?}: {reason}")]
    Duration {
        /// What was written.
        text: String,
        /// Why it is wrong.
        reason: String,
    },
    /// A bare number where a duration is needed: the unit is ambiguous.
    #[error("a duration needs a unit: write \"{value}s\" (or \"{value}ms\")")]
    DurationUnit {
        /// The number as written.
        value: String,
    },
    /// Not an IP address.
    #[error("invalid IP address {text:?}")]
    Address {
        /// What was written.
        text: String,
    },
    /// A prefix length that is not a number or too long for the family.
    #[error("invalid prefix length {text:?} for {addr} (0..={max})")]
    Prefix {
        /// The prefix as written.
        text: String,
        /// The address.
        addr: IpAddr,
        /// The longest allowed prefix.
        max: u8,
    },
    /// A number outside its range.
    #[error("{value} is out of range: {expected}")]
    Range {
        /// The value.
        value: i64,
        /// The valid range and why.
        expected: String,
    },
    /// An advertisement interval the protocol version cannot carry.
    #[error("{text:?} is not a valid advert interval for VRRPv{version}: {expected}")]
    Interval {
        /// The interval as written.
        text: String,
        /// 2 or 3.
        version: u8,
        /// What the version allows.
        expected: String,
    },
    /// VRRPv2 with IPv6 addresses.
    #[error("VRRPv2 is IPv4 only (RFC 3768); this instance is IPv6{hint}")]
    V2Ipv6 {
        /// Where version 2 came from.
        hint: String,
    },
    /// VRRPv3 with a password.
    #[error("VRRPv3 has no authentication (RFC 9568 removed it); remove `authentication` or set `version = 2`")]
    V3Auth,
    /// IPsec AH authentication.
    #[error("authentication type \"ah\" is not supported (only \"none\" and \"pass\")")]
    AhNotSupported,
    /// A value that is not one of the allowed words.
    #[error("unknown value {text:?} (expected {expected})")]
    UnknownValue {
        /// What was written.
        text: String,
        /// The allowed values.
        expected: String,
    },
    /// An address of the other family in an instance.
    #[error("{addr} is {family}, but this instance is {instance_family} (from {decided_by})")]
    MixedFamily {
        /// The address.
        addr: IpAddr,
        /// Its family, `IPv4` or `IPv6`.
        family: String,
        /// The instance's family.
        instance_family: String,
        /// The key that decided the family.
        decided_by: String,
    },
    /// Two instances with one name.
    #[error("duplicate instance name {name:?} (first defined at line {first_line})")]
    DuplicateInstance {
        /// The name.
        name: String,
        /// Line of the first.
        first_line: usize,
    },
    /// Two instances that the receive path could not tell apart.
    #[error("VRID {vrid} ({family}) is already used on interface {interface:?} by instance {other:?} (line {other_line})")]
    DuplicateVrid {
        /// The VRID.
        vrid: u8,
        /// The family.
        family: String,
        /// The interface.
        interface: String,
        /// The other instance.
        other: String,
        /// Its line.
        other_line: usize,
    },
    /// Two sync groups with one name.
    #[error("duplicate sync group name {name:?} (first defined at line {first_line})")]
    DuplicateGroup {
        /// The name.
        name: String,
        /// Line of the first.
        first_line: usize,
    },
    /// A sync group names an instance that does not exist.
    #[error("unknown instance {name:?}")]
    UnknownInstance {
        /// The name.
        name: String,
    },
    /// A sync group names an instance twice, or an instance is in two groups.
    #[error("instance {name:?} is already in sync group {group:?}; an instance belongs to one group at most")]
    GroupMember {
        /// The instance.
        name: String,
        /// The group it is already in.
        group: String,
    },
    /// The same address twice.
    #[error("duplicate address {addr}")]
    DuplicateAddress {
        /// The address.
        addr: IpAddr,
    },
    /// An empty string or list where one is needed.
    #[error("must not be empty")]
    Empty,
    /// A name Linux would refuse as an interface name.
    #[error("invalid interface name {name:?}: {reason}")]
    InterfaceName {
        /// The name.
        name: String,
        /// Why.
        reason: String,
    },
    /// Any other rule; the message says which.
    #[error("{message}")]
    Invalid {
        /// The rule that was broken.
        message: String,
    },
}

/// Byte offset to 1-based (line, column), the column counted in characters.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let t = "a = 1\nbé = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 9), (2, 3)); // after the two-byte 'é'
        assert_eq!(line_col(t, 1000), (3, 1));
        // Inside a character: the character's own position.
        assert_eq!(line_col(t, 8), (2, 2));
    }
}
