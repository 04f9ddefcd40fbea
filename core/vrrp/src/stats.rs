//! Counters: every dropped packet is counted by reason, so operators can tell
//! a misconfigured peer from an attack from a broken link.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::packet::DecodeError;

/// Why a received packet was discarded. The daemon exports these as metric
/// labels ([`DropReason::as_str`]), so the names are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum DropReason {
    /// Shorter than the VRRP header.
    TooShort,
    /// Version nibble not 2 or 3.
    BadVersion,
    /// VRRPv2 received over IPv6.
    V2OverIpv6,
    /// Type nibble not Advertisement.
    BadType,
    /// Length not what the address count implies (truncated or trailing bytes).
    BadLength,
    /// No instance with this VRID on the receiving interface (RFC 9568 §7.1).
    UnknownVrid,
    /// The instance is not running (Initialize state).
    NotRunning,
    /// TTL / hop limit not 255 on a multicast advert, or below the unicast minimum.
    BadTtl,
    /// A version other than the instance's.
    VersionMismatch,
    /// Checksum mismatch.
    BadChecksum,
    /// We own the addresses (priority 255): owners ignore adverts (RFC 9568 §7.1).
    LocalIsOwner,
    /// Auth Type differs from ours (RFC 3768 §7.1).
    AuthTypeMismatch,
    /// IP Authentication Header (Auth Type 2), which Vigil does not implement.
    AuthAh,
    /// Wrong simple-text password.
    AuthFailure,
    /// v2 advert interval differs from ours (RFC 3768 §7.1 MUST discard).
    IntervalMismatch,
    /// Address list differs from ours and the sender is not the owner (RFC 9568 §7.1).
    AddressListMismatch,
    /// Unicast advert from a source that is not a configured peer.
    NotAPeer,
    /// Multicast advert while configured for unicast, or the reverse.
    WrongDestination,
    /// Our own advert looped back.
    OwnAdvert,
}

impl DropReason {
    /// Every reason, in declaration order (the index order of [`DropCounters`]).
    pub const ALL: [DropReason; 19] = [
        DropReason::TooShort,
        DropReason::BadVersion,
        DropReason::V2OverIpv6,
        DropReason::BadType,
        DropReason::BadLength,
        DropReason::UnknownVrid,
        DropReason::NotRunning,
        DropReason::BadTtl,
        DropReason::VersionMismatch,
        DropReason::BadChecksum,
        DropReason::LocalIsOwner,
        DropReason::AuthTypeMismatch,
        DropReason::AuthAh,
        DropReason::AuthFailure,
        DropReason::IntervalMismatch,
        DropReason::AddressListMismatch,
        DropReason::NotAPeer,
        DropReason::WrongDestination,
        DropReason::OwnAdvert,
    ];

    /// Stable snake_case name, used as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::TooShort => "too_short",
            DropReason::BadVersion => "bad_version",
            DropReason::V2OverIpv6 => "v2_over_ipv6",
            DropReason::BadType => "bad_type",
            DropReason::BadLength => "bad_length",
            DropReason::UnknownVrid => "unknown_vrid",
            DropReason::NotRunning => "not_running",
            DropReason::BadTtl => "bad_ttl",
            DropReason::VersionMismatch => "version_mismatch",
            DropReason::BadChecksum => "bad_checksum",
            DropReason::LocalIsOwner => "local_is_owner",
            DropReason::AuthTypeMismatch => "auth_type_mismatch",
            DropReason::AuthAh => "auth_ah",
            DropReason::AuthFailure => "auth_failure",
            DropReason::IntervalMismatch => "interval_mismatch",
            DropReason::AddressListMismatch => "address_list_mismatch",
            DropReason::NotAPeer => "not_a_peer",
            DropReason::WrongDestination => "wrong_destination",
            DropReason::OwnAdvert => "own_advert",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<DecodeError> for DropReason {
    fn from(e: DecodeError) -> DropReason {
        match e {
            DecodeError::TooShort { .. } => DropReason::TooShort,
            DecodeError::BadVersion(_) => DropReason::BadVersion,
            DecodeError::V2OverIpv6 => DropReason::V2OverIpv6,
            DecodeError::BadType(_) => DropReason::BadType,
            DecodeError::BadLength { .. } => DropReason::BadLength,
        }
    }
}

/// One counter per [`DropReason`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropCounters([u64; DropReason::ALL.len()]);

impl DropCounters {
    /// Count one drop.
    pub fn bump(&mut self, reason: DropReason) {
        if let Some(c) = self.0.get_mut(reason as usize) {
            *c = c.saturating_add(1);
        }
    }

    /// Drops for one reason.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0.get(reason as usize).copied().unwrap_or(0)
    }

    /// All drops.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Non-zero counters, by reason.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|r| (*r, self.get(*r)))
            .filter(|(_, n)| *n > 0)
    }
}

/// Per-instance protocol counters (in the spirit of RFC 6527's MIB).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Adverts that passed validation.
    pub adverts_received: u64,
    /// Adverts sent (one per destination).
    pub adverts_sent: u64,
    /// Priority-0 adverts received.
    pub priority_zero_received: u64,
    /// Priority-0 adverts sent.
    pub priority_zero_sent: u64,
    /// Transitions into Master.
    pub became_master: u64,
    /// Transitions out of Master.
    pub released_master: u64,
    /// Drops by reason.
    pub drops: DropCounters,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_index_order_and_names_are_unique() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::ALL.len());
    }
}
