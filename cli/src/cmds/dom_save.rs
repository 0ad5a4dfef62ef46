//! Saved state files: managedsave-remove, managedsave-dumpxml, managedsave-define,
//! save-image-dumpxml, save-image-define.

use super::cmd;
use rvirt_protocol as p;
use rvirt_protocol::error::{code, domain};
use rvirt_protocol::facts;
use rvirt_protocol::{RemoteClient, RemoteError};

use crate::ctl::{CmdError, Context, Ctl};
use crate::opts::{Args, Cmd, Complete, Opt};

use super::{flag_bits, read_file};

pub const CMDS: &[Cmd] = &[
    cmd(
        "managedsave-define",
        "redefine the XML for a domain's managed save state file",
        "Replace the domain XML associated with a managed save state file",
        MS_DEFINE,
        managedsave_define,
    ),
    cmd(
        "managedsave-dumpxml",
        "Domain information of managed save state file in XML",
        "Dump XML of domain information for a managed save state file to stdout.",
        MS_DUMPXML,
        managedsave_dumpxml,
    ),
    cmd(
        "managedsave-remove",
        "Remove managed save of a domain",
        "Remove an existing managed save state file from a domain",
        &[Opt::domain()],
        managedsave_remove,
    ),
    cmd(
        "save-image-define",
        "redefine the XML for a domain's saved state file",
        "Replace the domain XML associated with a saved state file",
        IMG_DEFINE,
        save_image_define,
    ),
    cmd(
        "save-image-dumpxml",
        "saved state domain information in XML",
        "Dump XML of domain information for a saved state file to stdout.",
        IMG_DUMPXML,
        save_image_dumpxml,
    ),
];

const MS_DEFINE: &[Opt] = &[
    Opt::domain(),
    Opt::req("xml", "filename containing updated XML for the target").completes(Complete::File),
    Opt::flag("running", "set domain to be running on start"),
    Opt::flag("paused", "set domain to be paused on start"),
];
const MS_DUMPXML: &[Opt] = &[
    Opt::domain(),
    Opt::flag(
        "security-info",
        "include security sensitive information in XML dump",
    ),
];
const IMG_DEFINE: &[Opt] = &[
    Opt::req("file", "saved state file to modify").completes(Complete::File),
    Opt::req("xml", "filename containing updated XML for the target").completes(Complete::File),
    Opt::flag("running", "set domain to be running on restore"),
    Opt::flag("paused", "set domain to be paused on restore"),
];
const IMG_DUMPXML: &[Opt] = &[
    Opt::req("file", "saved state file to read").completes(Complete::File),
    Opt::flag(
        "security-info",
        "include security sensitive information in XML dump",
    ),
];

/// `--running`/`--paused` as `VIR_DOMAIN_SAVE_RUNNING`/`PAUSED`; both at once is the
/// error libvirt's client library gives before calling the daemon.
fn state_flags(a: &Args) -> Result<u32, RemoteError> {
    if a.has("running") && a.has("paused") {
        return Err(RemoteError::reported(
            code::INVALID_ARG,
            domain::DOMAIN,
            "Flags 'VIR_DOMAIN_SAVE_RUNNING' and 'VIR_DOMAIN_SAVE_PAUSED' are mutually exclusive",
        ));
    }
    Ok(flag_bits(
        a,
        &[
            ("running", facts::domain_save::RUNNING),
            ("paused", facts::domain_save::PAUSED),
        ],
    ))
}

fn managedsave_remove(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let dom = ctl.domain(a.req("domain")?)?;
    let name = dom.name.clone();
    let c = ctl.conn()?;
    let has = c
        .domain_has_managed_save_image(&p::RemoteDomainHasManagedSaveImageArgs {
            dom: dom.clone(),
            flags: 0,
        })
        .ctx(|| "Failed to check for domain managed save image".into())?;
    if has.result == 0 {
        // virsh ends neither message with a newline.
        print!("Domain '{name}' has no manage save image; removal skipped");
        return Ok(());
    }
    c.domain_managed_save_remove(&p::RemoteDomainManagedSaveRemoveArgs { dom, flags: 0 })
        .ctx(|| format!("Failed to remove managed save image for domain '{name}'"))?;
    print!("Removed managedsave image for domain '{name}'");
    Ok(())
}

fn managedsave_dumpxml(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let flags = flag_bits(a, &[("security-info", facts::domain_xml::SECURE)]);
    let dom = ctl.domain(a.req("domain")?)?;
    let r = ctl.conn()?.domain_managed_save_get_xml_desc(
        &p::RemoteDomainManagedSaveGetXmlDescArgs { dom, flags },
    )?;
    print!("{}", r.xml);
    Ok(())
}

fn managedsave_define(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    // virsh refuses both states itself here (save-image-define leaves it to libvirt).
    if a.has("running") && a.has("paused") {
        return Err(CmdError::Msg(
            "Options --running and --paused are mutually exclusive".into(),
        ));
    }
    let flags = flag_bits(
        a,
        &[
            ("running", facts::domain_save::RUNNING),
            ("paused", facts::domain_save::PAUSED),
        ],
    );
    let dom = ctl.domain(a.req("domain")?)?;
    let dxml = read_file(a.req("xml")?)?;
    let name = dom.name.clone();
    ctl.conn()?
        .domain_managed_save_define_xml(&p::RemoteDomainManagedSaveDefineXmlArgs {
            dom,
            dxml: Some(dxml),
            flags,
        })
        .ctx(|| format!("Failed to update {name} XML configuration"))?;
    println!("Managed save state file of domain '{name}' updated.");
    Ok(())
}

fn save_image_dumpxml(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let flags = flag_bits(a, &[("security-info", facts::domain_xml::SECURE)]);
    let file = a.req("file")?.to_string();
    let r = ctl
        .conn()?
        .domain_save_image_get_xml_desc(&p::RemoteDomainSaveImageGetXmlDescArgs { file, flags })?;
    print!("{}", r.xml);
    Ok(())
}

fn save_image_define(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    let file = a.req("file")?.to_string();
    let dxml = read_file(a.req("xml")?)?;
    let c = ctl.conn()?;
    state_flags(a)
        .and_then(|flags| {
            c.domain_save_image_define_xml(&p::RemoteDomainSaveImageDefineXmlArgs {
                file: file.clone(),
                dxml,
                flags,
            })
        })
        .ctx(|| format!("Failed to update {file}"))?;
    println!("State file {file} updated.");
    Ok(())
}
