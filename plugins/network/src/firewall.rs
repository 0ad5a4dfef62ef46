//! The firewall of a running network, with the backend the configuration chooses:
//! nftables tables of our own ([`crate::host`]) or libvirt's iptables chains
//! ([`crate::iptables`]). The status file lists what was made either way, so removal
//! follows the status, whatever the configuration says by then.

use rvirt_xml::network::NetworkDef;

use crate::config::{Config, FirewallBackend};
use crate::error::NetError;
use crate::host;
use crate::iptables::Tools;
use crate::state::Status;

fn tools(cfg: &Config) -> Tools<'_> {
    Tools {
        v4: &cfg.iptables,
        v6: &cfg.ip6tables,
    }
}

/// Makes the network's rules and records them in `st`.
pub fn add(cfg: &Config, def: &NetworkDef, br: &str, st: &mut Status) -> Result<(), NetError> {
    match cfg.firewall_backend {
        FirewallBackend::Nftables => st.nft_tables = host::add_rules(&cfg.nft, def, br)?,
        FirewallBackend::Iptables => st.iptables_rules = tools(cfg).add(def, br)?,
    }
    Ok(())
}

/// Removes the rules `st` lists and forgets them.
pub fn remove(cfg: &Config, name: &str, st: &mut Status) {
    remove_listed(cfg, name, st);
    st.nft_tables.clear();
    st.iptables_rules.clear();
}

/// Removes the rules `st` lists (a status about to be dropped keeps its lists).
pub fn remove_listed(cfg: &Config, name: &str, st: &Status) {
    for t in st.nft_tables.iter().rev() {
        if let Err(e) = host::remove_table(&cfg.nft, t) {
            tracing::warn!("network '{name}': {e}");
        }
    }
    if !st.iptables_rules.is_empty() {
        tools(cfg).remove(&st.iptables_rules);
    }
}

/// Whether everything `st` lists is still in place.
pub fn intact(cfg: &Config, st: &Status) -> bool {
    st.nft_tables
        .iter()
        .all(|t| host::table_exists(&cfg.nft, t))
        && tools(cfg).all_present(&st.iptables_rules)
}
