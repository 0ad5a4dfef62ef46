//! `virNetworkGetDHCPLeases`: the lease helper's records of a network, in the API's form.

use std::net::IpAddr;

use rvirt_plugin_api::protocol::RemoteNetworkDhcpLease;

use crate::config::Config;
use crate::leases;
use crate::state::Net;

/// `virIPAddrType`.
const IPV4: i32 = 0;
const IPV6: i32 = 1;

/// The current leases of `net`, those of `mac` only when given (case-insensitively).
pub fn leases(cfg: &Config, net: &Net, mac: Option<&str>) -> Vec<RemoteNetworkDhcpLease> {
    let def = net.current();
    let Some(br) = &def.bridge else {
        return Vec::new();
    };
    let all = leases::current(leases::read(&cfg.leases_file(br)), leases::now());
    all.into_iter()
        .filter(|l| mac.is_none_or(|m| l.mac.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(m))))
        .filter_map(|l| {
            let addr: IpAddr = l.ip.parse().ok()?;
            let prefix = def
                .ips
                .iter()
                .find(|i| i.address.is_ipv4() == addr.is_ipv4())
                .and_then(|i| i.effective_prefix())
                .unwrap_or(0);
            Some(RemoteNetworkDhcpLease {
                iface: br.clone(),
                expirytime: l.expiry,
                r#type: if addr.is_ipv4() { IPV4 } else { IPV6 },
                mac: l.mac,
                iaid: l.iaid,
                ipaddr: l.ip,
                prefix,
                hostname: l.hostname,
                clientid: l.client_id,
            })
        })
        .collect()
}
