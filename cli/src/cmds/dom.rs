//! Domain lifecycle: define, undefine, create, start, shutdown, reboot, reset, destroy,
//! suspend, resume.

use super::cmd;
use rvirt_protocol as p;
use rvirt_protocol::facts;
use rvirt_protocol::RemoteClient;

use crate::ctl::{is_no_support, CmdError, Context, Ctl};
use crate::opts::{Args, Cmd, Complete, Opt};

use super::{flag_bits, read_file};

pub const CMDS: &[Cmd] = &[
    cmd("create", "create a domain from an XML file", "Create a domain.", CREATE, create),
    cmd("define", "define (but don't start) a domain from an XML file", "Define a domain.", DEFINE, define),
    cmd("destroy", "destroy (stop) a domain", "Forcefully stop a given domain, but leave its resources intact.", DESTROY, destroy),
    cmd("reboot", "reboot a domain", "Run a reboot command in the target domain.", MODE, reboot),
    cmd("reset", "reset a domain", "Reset the target domain as if by power button", &[Opt::domain()], reset),
    cmd("resume", "resume a domain", "Resume a previously suspended domain.", &[Opt::domain()], resume),
    cmd("shutdown", "gracefully shutdown a domain", "Run shutdown in the target domain.", MODE, shutdown),
    cmd("start", "start a (previously defined) inactive domain", "Start a domain, either from the last managedsave\n    state, or via a fresh boot if no managedsave state\n    is present.", START, start),
    cmd("suspend", "suspend a domain", "Suspend a running domain.", &[Opt::domain()], suspend),
    cmd("undefine", "undefine a domain", "Undefine an inactive domain, or convert persistent to transient.", UNDEFINE, undefine),
];

const CREATE: &[Opt] = &[
    Opt::file("file containing an XML domain description"),
    Opt::flag("console", "attach to console after creation"),
    Opt::flag("paused", "leave the guest paused after creation"),
    Opt::flag(
        "autodestroy",
        "automatically destroy the guest when virsh disconnects",
    ),
    Opt::flag("validate", "validate the XML against the schema"),
];
const DEFINE: &[Opt] = &[
    Opt::file("file containing an XML domain description"),
    Opt::flag("validate", "validate the XML against the schema"),
];
const DESTROY: &[Opt] = &[Opt::domain(), Opt::flag("graceful", "terminate gracefully")];
const MODE: &[Opt] = &[
    Opt::domain(),
    Opt::string("mode", "shutdown mode: acpi|agent|initctl|signal|paravirt"),
];
const START: &[Opt] = &[
    Opt::req("domain", "name of the inactive domain").completes(Complete::Domain),
    Opt::flag("console", "attach to console after creation"),
    Opt::flag("paused", "leave the guest paused after creation"),
    Opt::flag(
        "autodestroy",
        "automatically destroy the guest when virsh disconnects",
    ),
    Opt::flag("bypass-cache", "avoid file system cache when loading"),
    Opt::flag(
        "force-boot",
        "force fresh boot by discarding any managed save",
    ),
    Opt::flag(
        "reset-nvram",
        "re-initialize NVRAM from its pristine template",
    ),
];
const UNDEFINE: &[Opt] = &[
    Opt::req("domain", "domain name or uuid").completes(Complete::Domain),
    Opt::flag("managed-save", "remove domain managed state file"),
    Opt::string("storage", "remove associated storage volumes (comma separated list of targets or source paths) (see domblklist)"),
    Opt::flag("remove-all-storage", "remove all associated storage volumes (use with caution)"),
    Opt::flag("delete-storage-volume-snapshots", "delete snapshots associated with volume(s)"),
    Opt::flag("wipe-storage", "wipe data on the removed volumes"),
    Opt::flag("snapshots-metadata", "remove all domain snapshot metadata (vm must be inactive)"),
    Opt::flag("checkpoints-metadata", "remove all domain checkpoint metadata (vm must be inactive)"),
    Opt::flag("nvram", "remove nvram file"),
    Opt::flag("keep-nvram", "keep nvram file"),
    Opt::flag("tpm", "remove TPM state"),
    Opt::flag("keep-tpm", "keep TPM state"),
];

fn define(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let file = a.req("file")?;
    let xml = read_file(file)?;
    let flags = flag_bits(a, &[("validate", facts::domain_define::VALIDATE)]);
    let c = ctl.conn()?;
    let r = if flags == 0 {
        c.domain_define_xml(&p::RemoteDomainDefineXmlArgs { xml })
            .map(|r| r.dom)
    } else {
        c.domain_define_xml_flags(&p::RemoteDomainDefineXmlFlagsArgs { xml, flags })
            .map(|r| r.dom)
    };
    let dom = r.ctx(|| format!("Failed to define domain from {file}"))?;
    println!("Domain '{}' defined from {file}", dom.name);
    Ok(())
}

fn create(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let file = a.req("file")?;
    let xml_desc = read_file(file)?;
    let flags = flag_bits(
        a,
        &[
            ("paused", facts::domain_start::PAUSED),
            ("autodestroy", facts::domain_start::AUTODESTROY),
            ("validate", facts::domain_start::VALIDATE),
        ],
    );
    let r = ctl
        .conn()?
        .domain_create_xml(&p::RemoteDomainCreateXmlArgs { xml_desc, flags });
    let dom = r.ctx(|| format!("Failed to create domain from {file}"))?;
    println!("Domain '{}' created from {file}", dom.dom.name);
    Ok(())
}

fn start(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let name = a.req("domain")?;
    let dom = ctl
        .conn()?
        .domain_lookup_by_name(&p::RemoteDomainLookupByNameArgs { name: name.into() });
    let dom = match dom {
        Ok(r) => r.dom,
        Err(_) => ctl.domain(name)?,
    };
    if dom.id >= 0 {
        return Err(CmdError::Msg("Domain is already active".into()));
    }
    let flags = flag_bits(
        a,
        &[
            ("paused", facts::domain_start::PAUSED),
            ("autodestroy", facts::domain_start::AUTODESTROY),
            ("bypass-cache", facts::domain_start::BYPASS_CACHE),
            ("force-boot", facts::domain_start::FORCE_BOOT),
            ("reset-nvram", facts::domain_start::RESET_NVRAM),
        ],
    );
    let c = ctl.conn()?;
    let r = if flags == 0 {
        c.domain_create(&p::RemoteDomainCreateArgs { dom: dom.clone() })
    } else {
        c.domain_create_with_flags(&p::RemoteDomainCreateWithFlagsArgs {
            dom: dom.clone(),
            flags,
        })
        .map(|_| ())
    };
    r.ctx(|| format!("Failed to start domain '{}'", dom.name))?;
    println!("Domain '{}' started", dom.name);
    Ok(())
}

/// Looks up the domain and runs one call on it, printing virsh's success or failure text.
fn simple(
    ctl: &mut Ctl,
    a: &Args,
    call: impl FnOnce(
        &rvirt_core::client::Connect,
        p::RemoteNonnullDomain,
    ) -> Result<(), rvirt_protocol::RemoteError>,
    fail: &str,
    done: &str,
) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let name = dom.name.clone();
    super::act(ctl, super::DOMAIN, dom, &name, call, fail, done)
}

fn destroy(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let graceful = a.has("graceful");
    simple(
        ctl,
        a,
        |c, dom| {
            if graceful {
                c.domain_destroy_flags(&p::RemoteDomainDestroyFlagsArgs {
                    dom,
                    flags: facts::domain_destroy::GRACEFUL,
                })
            } else {
                c.domain_destroy(&p::RemoteDomainDestroyArgs { dom })
            }
        },
        "destroy",
        "destroyed",
    )
}

fn mode_flags(a: &Args) -> Result<u32, CmdError> {
    let mut flags = 0;
    for m in a.get("mode").into_iter().flat_map(|m| m.split(',')) {
        flags |= match m {
            "acpi" => 1,
            "agent" => 2,
            "initctl" => 4,
            "signal" => 8,
            "paravirt" => 16,
            other => return Err(CmdError::Msg(format!("Unknown mode {other} value, expecting 'acpi', 'agent', 'initctl', 'signal', or 'paravirt'"))),
        };
    }
    Ok(flags)
}

fn shutdown(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let flags = mode_flags(a)?;
    simple(
        ctl,
        a,
        |c, dom| {
            if flags == 0 {
                c.domain_shutdown(&p::RemoteDomainShutdownArgs { dom })
            } else {
                c.domain_shutdown_flags(&p::RemoteDomainShutdownFlagsArgs { dom, flags })
            }
        },
        "shutdown",
        "is being shutdown",
    )
}

fn reboot(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let flags = mode_flags(a)?;
    simple(
        ctl,
        a,
        |c, dom| c.domain_reboot(&p::RemoteDomainRebootArgs { dom, flags }),
        "reboot",
        "is being rebooted",
    )
}

fn reset(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    simple(
        ctl,
        a,
        |c, dom| c.domain_reset(&p::RemoteDomainResetArgs { dom, flags: 0 }),
        "reset",
        "was reset",
    )
}

fn suspend(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    simple(
        ctl,
        a,
        |c, dom| c.domain_suspend(&p::RemoteDomainSuspendArgs { dom }),
        "suspend",
        "suspended",
    )
}

fn resume(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    simple(
        ctl,
        a,
        |c, dom| c.domain_resume(&p::RemoteDomainResumeArgs { dom }),
        "resume",
        "resumed",
    )
}

/// Storage volumes of a domain's disks: (target, source path).
fn disk_sources(xml: &str) -> Vec<(String, String)> {
    let Ok(root) = rvirt_xml::tree::parse_document(xml) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for disk in root
        .child("devices")
        .into_iter()
        .flat_map(|d| d.children_named("disk"))
    {
        if disk
            .attr("device")
            .is_some_and(|d| d == "cdrom" || d == "floppy")
        {
            continue;
        }
        let target = disk
            .child("target")
            .and_then(|t| t.attr_s("dev"))
            .unwrap_or_default();
        let source = disk
            .child("source")
            .and_then(|s| s.attr_s("file").or_else(|| s.attr_s("dev")));
        if let Some(source) = source {
            out.push((target, source));
        }
    }
    out
}

fn undefine(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let name = dom.name.clone();
    let flags = flag_bits(
        a,
        &[
            ("managed-save", facts::domain_undefine::MANAGED_SAVE),
            (
                "snapshots-metadata",
                facts::domain_undefine::SNAPSHOTS_METADATA,
            ),
            ("nvram", facts::domain_undefine::NVRAM),
            ("keep-nvram", facts::domain_undefine::KEEP_NVRAM),
            (
                "checkpoints-metadata",
                facts::domain_undefine::CHECKPOINTS_METADATA,
            ),
            ("tpm", facts::domain_undefine::TPM),
            ("keep-tpm", facts::domain_undefine::KEEP_TPM),
        ],
    );
    let wanted: Vec<String> = a
        .get("storage")
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let remove_all = a.has("remove-all-storage");
    let c = ctl.conn()?;
    // As virsh: without --managed-save, a managed save image is refused here.
    let has_managed_save = c
        .domain_has_managed_save_image(&p::RemoteDomainHasManagedSaveImageArgs {
            dom: dom.clone(),
            flags: 0,
        })
        .is_ok_and(|r| r.result != 0);
    if has_managed_save && flags & facts::domain_undefine::MANAGED_SAVE == 0 {
        return Err(CmdError::Msg(
            "Refusing to undefine while domain managed save image exists".into(),
        ));
    }
    let mut vols = Vec::new();
    if remove_all || !wanted.is_empty() {
        let xml = c
            .domain_get_xml_desc(&p::RemoteDomainGetXmlDescArgs {
                dom: dom.clone(),
                flags: 0,
            })?
            .xml;
        for (target, source) in disk_sources(&xml) {
            if remove_all || wanted.iter().any(|w| *w == target || *w == source) {
                match c.storage_vol_lookup_by_path(&p::RemoteStorageVolLookupByPathArgs { path: source.clone() }) {
                    Ok(v) => vols.push((target, source, v.vol)),
                    Err(_) => eprintln!("error: Storage volume '{target}'({source}) is not managed by libvirt. Remove it manually.\n"),
                }
            }
        }
    }
    let r = c.domain_undefine_flags(&p::RemoteDomainUndefineFlagsArgs {
        dom: dom.clone(),
        flags,
    });
    let r = match r {
        Err(e) if flags == 0 && is_no_support(&e) => {
            c.domain_undefine(&p::RemoteDomainUndefineArgs { dom })
        }
        other => other,
    };
    r.ctx(|| format!("Failed to undefine domain '{name}'"))?;
    println!("Domain '{name}' has been undefined");
    let wipe = a.has("wipe-storage");
    let mut failed = false;
    for (target, source, vol) in vols {
        if wipe {
            let _ = c.storage_vol_wipe(&p::RemoteStorageVolWipeArgs {
                vol: vol.clone(),
                flags: 0,
            });
        }
        match c.storage_vol_delete(&p::RemoteStorageVolDeleteArgs { vol, flags: 0 }) {
            Ok(()) => println!("Volume '{target}'({source}) removed."),
            Err(e) => {
                eprintln!(
                    "error: Failed to remove storage volume '{target}'({source})\nerror: {}",
                    e.text()
                );
                failed = true;
            }
        }
    }
    if failed {
        return Err(CmdError::Msg(
            "Failed to remove some storage volumes".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disks() {
        let xml = "<domain><devices><disk type='file' device='disk'><source file='/a.img'/><target dev='vda'/></disk>\
                   <disk device='cdrom'><source file='/x.iso'/><target dev='hdc'/></disk></devices></domain>";
        assert_eq!(
            disk_sources(xml),
            vec![("vda".to_string(), "/a.img".to_string())]
        );
    }
}
