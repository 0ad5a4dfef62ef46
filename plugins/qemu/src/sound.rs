//! `<sound>` and `<audio>` → `-device` and `-audiodev`, as libvirt writes them: an HDA
//! controller (`intel-hda`, `ich9-intel-hda`) with its codec, or an AC97 / ES1370 card,
//! each on the audio backend `audio1` (the first `<audio>`).

use rvirt_xml::domain::GenericDevice;

use crate::argv::{unsupported, ArgvResult, Cmd};
use crate::devices::{pci_addr, Ctx};

/// `-audiodev` of one `<audio>` backend.
pub(crate) fn audio(c: &mut Cmd, a: &GenericDevice) -> ArgvResult<()> {
    let id = a.attr("id").unwrap_or("1");
    match a.attr("type") {
        Some(t @ ("none" | "spice")) => {
            c.opt("-audiodev", format!("{t},id=audio{id}"));
            Ok(())
        }
        Some(other) => unsupported(format!(
            "domain/devices/audio/@type '{other}' is not supported"
        )),
        None => unsupported("domain/devices/audio/@type is required"),
    }
}

/// The HDA codec device of a `<codec type>`.
fn codec(kind: Option<&str>) -> ArgvResult<&'static str> {
    Ok(match kind {
        None | Some("duplex") => "hda-duplex",
        Some("micro") => "hda-micro",
        Some("output") => "hda-output",
        Some(other) => {
            return unsupported(format!(
                "domain/devices/sound/codec/@type '{other}' is not supported"
            ))
        }
    })
}

/// `-device` of sound card number `n`.
pub(crate) fn sound(c: &mut Cmd, x: &Ctx, s: &GenericDevice, n: usize) -> ArgvResult<()> {
    let model = s.attr("model").unwrap_or_default();
    let p = format!("domain/devices/sound[@model='{model}']");
    let audiodev = s
        .element
        .child("audio")
        .and_then(|a| a.attr("id"))
        .unwrap_or("1");
    let addr = pci_addr(x, &s.info, &p)?;
    let id = format!("sound{n}");
    match model {
        "ich6" | "ich9" => {
            let hda = if model == "ich6" {
                "intel-hda"
            } else {
                "ich9-intel-hda"
            };
            c.opt("-device", format!("{hda},id={id}{addr}"));
            let codecs: Vec<Option<&str>> = s
                .element
                .children
                .iter()
                .filter(|e| e.name == "codec")
                .map(|e| e.attr("type"))
                .collect();
            let codecs = if codecs.is_empty() {
                vec![None]
            } else {
                codecs
            };
            for (cad, kind) in codecs.into_iter().enumerate() {
                c.opt(
                    "-device",
                    format!(
                        "{},id={id}-codec{cad},bus={id}.0,cad={cad},audiodev=audio{audiodev}",
                        codec(kind)?
                    ),
                );
            }
        }
        "ac97" | "es1370" => {
            let dev = model.to_uppercase();
            c.opt(
                "-device",
                format!("{dev},id={id},audiodev=audio{audiodev}{addr}"),
            );
        }
        other => return unsupported(format!("{p}: model '{other}' is not supported")),
    }
    Ok(())
}
