//! `rvirt-leaseshelper`: the `dhcp-script` dnsmasq runs for every lease change of an
//! rvirt network. It keeps the network's leases in the JSON file named by
//! `RVIRT_LEASES_FILE` (set by the network driver when it starts dnsmasq), and answers
//! dnsmasq's `init` call with the leases it knows, so a restarted dnsmasq keeps them.
//!
//! Usage (by dnsmasq): `rvirt-leaseshelper add|old|del MAC IP [HOSTNAME]` or `init`.

use std::path::PathBuf;
use std::process::ExitCode;

use rvirt_driver_network::leases::{self, Lease, LEASES_FILE_ENV};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = env(LEASES_FILE_ENV).map(PathBuf::from) else {
        eprintln!("rvirt-leaseshelper: {LEASES_FILE_ENV} is not set");
        return ExitCode::FAILURE;
    };
    let all = leases::read(&path);
    match args.first().map(String::as_str) {
        Some("init") => {
            print!(
                "{}",
                leases::init_lines(&leases::current(all, leases::now()))
            );
            ExitCode::SUCCESS
        }
        Some(action @ ("add" | "old" | "del")) if args.len() >= 3 => {
            let lease = Lease {
                mac: Some(args[1].clone()).filter(|m| !m.is_empty()),
                ip: args[2].clone(),
                hostname: args
                    .get(3)
                    .cloned()
                    .or_else(|| env("DNSMASQ_SUPPLIED_HOSTNAME")),
                client_id: env("DNSMASQ_CLIENT_ID"),
                iaid: env("DNSMASQ_IAID"),
                expiry: env("DNSMASQ_LEASE_EXPIRES")
                    .and_then(|e| e.parse().ok())
                    .unwrap_or(0),
            };
            let mut all = leases::current(all, leases::now());
            leases::apply(&mut all, action, lease);
            match leases::write(&path, &all) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("rvirt-leaseshelper: cannot write {}: {e}", path.display());
                    ExitCode::FAILURE
                }
            }
        }
        // dnsmasq also calls with `tftp` and other actions; nothing to record.
        Some(_) => ExitCode::SUCCESS,
        None => {
            eprintln!("usage: rvirt-leaseshelper add|old|del MAC IP [HOSTNAME] | init");
            ExitCode::FAILURE
        }
    }
}
