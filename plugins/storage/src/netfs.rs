//! `netfs` pools: a network file system (NFS, CIFS, GlusterFS's FUSE client) mounted
//! on the target directory by the `fs` backend (`fs.rs`; `mount.rs` has the command
//! libvirt runs). Build makes the directory (a formatting flag is refused: there is no
//! device).
//!
//! Source discovery asks a host's NFS server for its exports (`showmount --no-headers
//! --exports HOST`), one `<source>` of format `nfs` per exported directory. libvirt
//! also asks GlusterFS (`gluster volume info`) when its CLI is installed; this driver
//! does not.

use rvirt_xml::storage::{PoolHost, PoolSource};

use crate::cmd::{libvirt_program, run};
use crate::error::{SResult, StorageError};

/// The exports `showmount` lists for `host`, or libvirt's error when it cannot.
pub fn find_sources(spec: Option<&str>) -> SResult<String> {
    let host = crate::backend::discovery_source(spec, "netfs")?.hosts[0]
        .name
        .clone();
    let out = run(
        &libvirt_program("/sbin/showmount"),
        &["--no-headers", "--exports", &host],
    )
    .map_err(|e| {
        tracing::warn!("{e}");
        StorageError::Failed(format!("no storage pools were found on host '{host}'"))
    })?;
    let sources: Vec<PoolSource> = out
        .lines()
        .filter_map(export_dir)
        .map(|dir| PoolSource {
            hosts: vec![PoolHost {
                name: host.clone(),
                port: 0,
            }],
            dir: Some(dir.to_string()),
            format: Some("nfs".into()),
            ..PoolSource::default()
        })
        .collect();
    Ok(rvirt_xml::storage::sources_to_xml("netfs", &sources))
}

/// The directory of a `showmount` line (`/a dir  client1,client2`): what comes before
/// the blanks and the last field, blanks inside it kept (libvirt's `^(/.*\S) +\S+$`).
fn export_dir(line: &str) -> Option<&str> {
    let (head, clients) = line.rsplit_once(' ')?;
    if clients.is_empty() || clients.contains(char::is_whitespace) {
        return None;
    }
    let dir = head.trim_end_matches(' ');
    let last = dir.chars().last()?;
    (dir.starts_with('/') && !last.is_whitespace()).then_some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn showmount_lines_give_directories() {
        assert_eq!(export_dir("/srv/nfs 127.0.0.1"), Some("/srv/nfs"));
        assert_eq!(export_dir("/A dir   a.b,c.d"), Some("/A dir"));
        assert_eq!(export_dir("/tmp (everyone)"), Some("/tmp"));
        assert_eq!(export_dir("relative x"), None);
        assert_eq!(export_dir("/trailing x "), None);
        assert_eq!(export_dir("/alone"), None);
    }

    #[test]
    fn discovery_needs_one_host() {
        assert_eq!(
            find_sources(None).unwrap_err().to_string(),
            "invalid argument: hostname must be specified for netfs sources"
        );
        let two = "<source><host name='a'/><host name='b'/></source>";
        assert_eq!(
            find_sources(Some(two)).unwrap_err().to_string(),
            "invalid argument: Expected exactly 1 host for the storage pool"
        );
    }
}
