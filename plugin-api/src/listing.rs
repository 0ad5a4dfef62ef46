//! `virConnectListAllDomains` filtering, the same in every hypervisor driver.

use rvirt_protocol::facts::{domain_list as list, domain_state as st};

/// What the listing filters of one domain look at.
#[derive(Debug, Clone, Copy, Default)]
pub struct DomainFacts {
    /// `virDomainState`.
    pub state: i32,
    pub active: bool,
    pub persistent: bool,
    pub managed_save: bool,
    pub autostart: bool,
    pub has_snapshot: bool,
    pub has_checkpoint: bool,
}

/// Whether one pair of opposite filters lets `value` through (neither or both set: no filter).
fn pair(flags: u32, yes: u32, no: u32, value: bool) -> bool {
    let (y, n) = (flags & yes != 0, flags & no != 0);
    y == n || (y && value) || (n && !value)
}

/// Whether a domain passes `flags`, libvirt's `VIR_CONNECT_LIST_DOMAINS_*` filters.
pub fn domain_matches(d: &DomainFacts, flags: u32) -> bool {
    let states = flags & (list::RUNNING | list::PAUSED | list::SHUTOFF | list::OTHER);
    let state_ok = states == 0
        || (flags & list::RUNNING != 0 && d.state == st::RUNNING)
        || (flags & list::PAUSED != 0 && d.state == st::PAUSED)
        || (flags & list::SHUTOFF != 0 && d.state == st::SHUTOFF)
        || (flags & list::OTHER != 0 && !matches!(d.state, st::RUNNING | st::PAUSED | st::SHUTOFF));
    state_ok
        && pair(flags, list::ACTIVE, list::INACTIVE, d.active)
        && pair(flags, list::PERSISTENT, list::TRANSIENT, d.persistent)
        && pair(
            flags,
            list::MANAGEDSAVE,
            list::NO_MANAGEDSAVE,
            d.managed_save,
        )
        && pair(flags, list::AUTOSTART, list::NO_AUTOSTART, d.autostart)
        && pair(flags, list::HAS_SNAPSHOT, list::NO_SNAPSHOT, d.has_snapshot)
        && pair(
            flags,
            list::HAS_CHECKPOINT,
            list::NO_CHECKPOINT,
            d.has_checkpoint,
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_combine_by_pair_and_state() {
        let running = DomainFacts {
            state: st::RUNNING,
            active: true,
            persistent: true,
            ..Default::default()
        };
        assert!(domain_matches(&running, 0));
        assert!(domain_matches(&running, list::ACTIVE | list::INACTIVE));
        assert!(domain_matches(&running, list::ACTIVE | list::PERSISTENT));
        assert!(!domain_matches(&running, list::INACTIVE));
        assert!(!domain_matches(&running, list::TRANSIENT));
        assert!(domain_matches(&running, list::RUNNING | list::SHUTOFF));
        assert!(!domain_matches(&running, list::PAUSED | list::SHUTOFF));
        assert!(!domain_matches(&running, list::OTHER));
        assert!(!domain_matches(&running, list::HAS_SNAPSHOT));
        assert!(domain_matches(
            &running,
            list::NO_SNAPSHOT | list::NO_AUTOSTART
        ));
        let crashed = DomainFacts {
            state: st::CRASHED,
            ..Default::default()
        };
        assert!(domain_matches(&crashed, list::OTHER));
    }
}
