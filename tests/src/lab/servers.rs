//! Network storage servers inside the lab guest, on the loopback interface: the
//! kernel's NFS server and tgt's iSCSI target, with the clients rvirtd runs (mount.nfs,
//! showmount; iscsiadm and iscsid). Host programs from nfs-kernel-server, nfs-common,
//! rpcbind, tgt and open-iscsi.

use super::Lab;

/// Host programs of the NFS server and client.
const NFS_PROGRAMS: &[&str] = &[
    "/usr/sbin/rpcbind",
    "/usr/sbin/rpc.nfsd",
    "/usr/sbin/rpc.mountd",
    "/usr/sbin/exportfs",
    "/usr/sbin/showmount",
    "/usr/sbin/mount.nfs",
    "/usr/bin/mount",
    "/usr/bin/umount",
];

/// Host programs of the iSCSI target and initiator.
const ISCSI_PROGRAMS: &[&str] = &[
    "/usr/sbin/tgtd",
    "/usr/sbin/tgtadm",
    "/usr/sbin/iscsid",
    "/usr/sbin/iscsiadm",
    "/lib/udev/scsi_id",
];

/// What name resolution and the RPC library read.
const NET_FILES: &[&str] = &[
    "/etc/netconfig",
    "/etc/services",
    "/etc/protocols",
    "/etc/rpc",
];

/// The loopback interface and `localhost`.
const LOOPBACK: &str = "ip link set lo up\ngrep -q localhost /etc/hosts 2>/dev/null || echo '127.0.0.1 localhost' >> /etc/hosts\n";

/// Creates `/dev/disk/by-path` links of iSCSI LUNs as udev's `path_id` names them
/// (`ip-ADDR:PORT-iscsi-TARGET-lun-N`), and drops dangling ones, every 0.2 s.
const BY_PATH_LINKS: &str = r#"mkdir -p /dev/disk/by-path
lab_by_path() {
    while :; do
        for b in /sys/class/iscsi_session/session*/device/target*/*:*:*:*/block/*; do
            [ -e "$b" ] || continue
            s=${b#/sys/class/iscsi_session/session}; s=${s%%/*}
            lun=${b%/block/*}; lun=${lun##*:}
            c=/sys/class/iscsi_connection/connection$s:0
            t=$(cat /sys/class/iscsi_session/session$s/targetname)
            l=/dev/disk/by-path/ip-$(cat $c/persistent_address):$(cat $c/persistent_port)-iscsi-$t-lun-$lun
            [ -L "$l" ] || ln -s "../../${b##*/}" "$l"
        done
        for l in /dev/disk/by-path/*; do
            [ -L "$l" ] && [ ! -e "$l" ] && rm -f "$l"
        done
        sleep 0.2
    done
}
lab_by_path </dev/null >/dev/null 2>&1 &
"#;

impl Lab {
    fn net_files(mut self) -> Lab {
        for f in NET_FILES {
            self = self.host_file(f);
        }
        self
    }

    /// The kernel's NFS server (versions 3 and 4) exporting a tmpfs (mode 0755) at
    /// `export` to `127.0.0.1`, read-write without root squashing; rpcbind and mountd
    /// run, so `showmount` answers. The NFSv4 grace period is 10 s (the kernel's
    /// least). `LAB-NFS-FAILED` is printed when a server did not start.
    pub fn nfs_server(self, export: &str) -> Lab {
        let mut lab = self
            .modules(&["nfsd", "nfsv3", "nfsv4"])
            .binaries(NFS_PROGRAMS)
            .host_file("/etc/nfs.conf")
            .net_files();
        lab.prelude.push_str(LOOPBACK);
        lab.prelude.push_str(&format!(
            r#"echo '_rpc:x:102:65534::/run/rpcbind:/usr/sbin/nologin' >> /etc/passwd
echo 'nogroup:x:65534:' >> /etc/group
mkdir -p /var/lib/nfs /run/rpcbind /proc/fs/nfsd {export}
mount -t nfsd nfsd /proc/fs/nfsd
mount -t tmpfs -o mode=0755 tmpfs {export}
echo '{export} 127.0.0.1(rw,no_root_squash,fsid=1,sync,no_subtree_check)' > /etc/exports
echo 10 > /proc/fs/nfsd/nfsv4gracetime
echo 10 > /proc/fs/nfsd/nfsv4leasetime
{{ rpcbind && exportfs -ra && rpc.mountd && rpc.nfsd 2; }} || echo LAB-NFS-FAILED
"#
        ));
        lab
    }

    /// tgt's iSCSI target `iqn` on `127.0.0.1:3260` with one LUN per size in `luns`
    /// (LUN 1, 2, ...; sparse files), open to every initiator; iscsid runs with the
    /// initiator name `iqn.2026-12.org.rvirt:lab-initiator`, and LUN block devices get
    /// their `/dev/disk/by-path` links. `LAB-ISCSI-FAILED` is printed when the target
    /// or the initiator did not start.
    pub fn iscsi_target(self, iqn: &str, luns: &[u64]) -> Lab {
        let mut lab = self
            .modules(&["iscsi_tcp", "sd_mod"])
            .binaries(ISCSI_PROGRAMS)
            .host_file("/etc/iscsi/iscsid.conf")
            .net_files();
        lab.prelude.push_str(LOOPBACK);
        let mut sh = String::from(
            "mkdir -p /etc/iscsi /var/lib/iscsi /run/lock/iscsi /var/run/tgtd /var/lib/lab-luns\n\
             echo InitiatorName=iqn.2026-12.org.rvirt:lab-initiator > /etc/iscsi/initiatorname.iscsi\n\
             lab_wait() { n=0; until \"$@\" >/dev/null 2>&1; do n=$((n+1)); [ $n -gt 100 ] && return 1; sleep 0.1; done; }\n\
             lab_iscsi() {\n    tgtd || return 1\n    lab_wait tgtadm --op show --mode sys || return 1\n",
        );
        sh.push_str(&format!(
            "    tgtadm --lld iscsi --op new --mode target --tid 1 -T {iqn} || return 1\n"
        ));
        for (i, size) in luns.iter().enumerate() {
            let n = i + 1;
            sh.push_str(&format!(
                "    truncate -s {size} /var/lib/lab-luns/lun{n}.img\n    \
                 tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun {n} \
                 -b /var/lib/lab-luns/lun{n}.img || return 1\n"
            ));
        }
        sh.push_str(
            "    tgtadm --lld iscsi --op bind --mode target --tid 1 -I ALL || return 1\n    \
             iscsid || return 1\n    \
             lab_wait sh -c 'iscsiadm --mode session; r=$?; [ $r = 0 ] || [ $r = 21 ]'\n}\n\
             lab_iscsi || echo LAB-ISCSI-FAILED\n",
        );
        sh.push_str(BY_PATH_LINKS);
        lab.prelude.push_str(&sh);
        lab
    }
}
