//! DHCP leases of a network, as the lease helper (`rvirt-leaseshelper`, run by dnsmasq
//! as its `dhcp-script`) keeps them: a JSON array in `BRIDGE.status`, the format of
//! libvirt's own status files.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The environment variable naming the status file the helper maintains.
pub const LEASES_FILE_ENV: &str = "RVIRT_LEASES_FILE";

/// One lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    #[serde(rename = "ip-address")]
    pub ip: String,
    #[serde(
        rename = "mac-address",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub mac: Option<String>,
    #[serde(rename = "iaid", default, skip_serializing_if = "Option::is_none")]
    pub iaid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(rename = "client-id", default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Seconds since the epoch; 0 never expires.
    #[serde(rename = "expiry-time")]
    pub expiry: i64,
}

/// The leases in `path` (none when it does not exist or does not parse).
pub fn read(path: &Path) -> Vec<Lease> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Replaces the leases in `path` atomically.
pub fn write(path: &Path, leases: &[Lease]) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(leases).map_err(std::io::Error::other)?;
    crate::config::write_atomic(path, format!("{text}\n").as_bytes())
}

/// Applies one dnsmasq script call (`add`, `old`, `del`) to `leases`.
pub fn apply(leases: &mut Vec<Lease>, action: &str, lease: Lease) {
    leases.retain(|l| l.ip != lease.ip);
    if action != "del" {
        leases.push(lease);
    }
}

/// The leases still valid at `now`.
pub fn current(leases: Vec<Lease>, now: i64) -> Vec<Lease> {
    leases
        .into_iter()
        .filter(|l| l.expiry == 0 || l.expiry > now)
        .collect()
}

/// The lease database dnsmasq reads from an `init` call: one line per IPv4 lease,
/// `EXPIRY MAC IP HOSTNAME CLIENTID` with `*` for what is unknown.
pub fn init_lines(leases: &[Lease]) -> String {
    let star = |v: &Option<String>| v.clone().unwrap_or_else(|| "*".into());
    leases
        .iter()
        .filter(|l| !l.ip.contains(':'))
        .map(|l| {
            format!(
                "{} {} {} {} {}\n",
                l.expiry,
                star(&l.mac),
                l.ip,
                star(&l.hostname),
                star(&l.client_id)
            )
        })
        .collect()
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(ip: &str, expiry: i64) -> Lease {
        Lease {
            ip: ip.into(),
            mac: Some("52:54:00:aa:bb:cc".into()),
            iaid: None,
            hostname: None,
            client_id: None,
            expiry,
        }
    }

    #[test]
    fn add_replace_delete_and_expire() {
        let mut v = Vec::new();
        apply(&mut v, "add", lease("10.0.0.2", 100));
        apply(&mut v, "old", lease("10.0.0.2", 200));
        apply(&mut v, "add", lease("10.0.0.3", 50));
        assert_eq!(v.len(), 2);
        assert_eq!(current(v.clone(), 60), vec![lease("10.0.0.2", 200)]);
        apply(&mut v, "del", lease("10.0.0.2", 0));
        assert_eq!(v, vec![lease("10.0.0.3", 50)]);
        assert_eq!(init_lines(&v), "50 52:54:00:aa:bb:cc 10.0.0.3 * *\n");
    }

    #[test]
    fn json_uses_libvirts_keys() {
        let t = serde_json::to_string(&lease("10.0.0.2", 5)).unwrap();
        assert_eq!(
            t,
            r#"{"ip-address":"10.0.0.2","mac-address":"52:54:00:aa:bb:cc","expiry-time":5}"#
        );
        let dir = std::env::temp_dir().join(format!("rvirt-leases-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("virbr0.status");
        write(&p, &[lease("10.0.0.2", 5)]).unwrap();
        assert_eq!(read(&p), vec![lease("10.0.0.2", 5)]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
