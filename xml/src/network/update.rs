//! The numbers `virNetworkUpdate` carries: `virNetworkUpdateCommand` and
//! `virNetworkUpdateSection`, with the names virsh gives them.

/// `VIR_NETWORK_UPDATE_AFFECT_LIVE` / `_CONFIG` (`_CURRENT` is 0).
pub use rvirt_protocol::facts::network_affect::{CONFIG as AFFECT_CONFIG, LIVE as AFFECT_LIVE};

/// `virNetworkUpdateCommand`.
pub mod command {
    pub const MODIFY: u32 = 1;
    pub const DELETE: u32 = 2;
    pub const ADD_LAST: u32 = 3;
    pub const ADD_FIRST: u32 = 4;
}

/// `virNetworkUpdateSection`.
pub mod section {
    pub const BRIDGE: u32 = 1;
    pub const DOMAIN: u32 = 2;
    pub const IP: u32 = 3;
    pub const IP_DHCP_HOST: u32 = 4;
    pub const IP_DHCP_RANGE: u32 = 5;
    pub const FORWARD: u32 = 6;
    pub const FORWARD_INTERFACE: u32 = 7;
    pub const FORWARD_PF: u32 = 8;
    pub const PORTGROUP: u32 = 9;
    pub const DNS_HOST: u32 = 10;
    pub const DNS_TXT: u32 = 11;
    pub const DNS_SRV: u32 = 12;
}

/// Section names by number (virsh's names, `none` for 0).
pub const SECTION_NAMES: [&str; 13] = [
    "none",
    "bridge",
    "domain",
    "ip",
    "ip-dhcp-host",
    "ip-dhcp-range",
    "forward",
    "forward-interface",
    "forward-pf",
    "portgroup",
    "dns-host",
    "dns-txt",
    "dns-srv",
];

/// The command virsh names `name` (`add` is `add-last`).
pub fn command_named(name: &str) -> Option<u32> {
    Some(match name {
        "modify" => command::MODIFY,
        "delete" => command::DELETE,
        "add" | "add-last" => command::ADD_LAST,
        "add-first" => command::ADD_FIRST,
        _ => return None,
    })
}

/// The section virsh names `name`.
pub fn section_named(name: &str) -> Option<u32> {
    SECTION_NAMES
        .iter()
        .position(|s| *s == name)
        .map(|i| i as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_agree() {
        let named = [
            ("bridge", section::BRIDGE),
            ("domain", section::DOMAIN),
            ("ip", section::IP),
            ("forward", section::FORWARD),
            ("forward-pf", section::FORWARD_PF),
            ("ip-dhcp-host", section::IP_DHCP_HOST),
            ("ip-dhcp-range", section::IP_DHCP_RANGE),
            ("forward-interface", section::FORWARD_INTERFACE),
            ("portgroup", section::PORTGROUP),
            ("dns-host", section::DNS_HOST),
            ("dns-txt", section::DNS_TXT),
            ("dns-srv", section::DNS_SRV),
        ];
        for (name, n) in named {
            assert_eq!(section_named(name), Some(n), "{name}");
        }
        assert_eq!(command_named("add"), command_named("add-last"));
        assert_eq!(command_named("nosuch"), None);
    }
}
