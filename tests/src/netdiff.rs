//! Shared parts of the differentials of the network driver against libvirtd: cleanup
//! of libvirtd's networks, and dumps and dnsmasq files made comparable.

use crate::virsh;

/// Destroys and undefines a network on drop, whatever state it is in.
pub struct Undefine(pub String, pub &'static str);

impl Drop for Undefine {
    fn drop(&mut self) {
        let _ = virsh::run(&self.0, &["net-destroy", self.1]);
        let _ = virsh::run(&self.0, &["net-undefine", self.1]);
        // libvirt 9.0 leaves the pid file of the network's dnsmasq behind.
        let _ = std::fs::remove_file(format!("/run/libvirt/network/{}.pid", self.1));
        // And the (empty) port directories of a network that had ports.
        let dir = format!("/run/libvirt/network/{}", self.1);
        let _ = std::fs::remove_dir(format!("{dir}/ports"));
        let _ = std::fs::remove_dir(dir);
    }
}

/// The dump with the random parts (the bridge MAC chosen at define) replaced.
pub fn normalized(xml: &str) -> String {
    xml.lines()
        .map(|l| {
            if l.trim_start().starts_with("<mac address='52:54:00:") && !l.contains("12:34:56") {
                "  <mac address='RANDOM'/>".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The configuration lines with file paths reduced to their file names.
pub fn conf_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| match l.split_once('=') {
            Some((k, v)) if v.starts_with('/') && !k.starts_with("tftp") => {
                format!("{k}={}", v.rsplit('/').next().unwrap_or(v))
            }
            _ => l.to_string(),
        })
        .collect()
}

pub fn read(path: impl AsRef<std::path::Path>) -> String {
    let p = path.as_ref();
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}
