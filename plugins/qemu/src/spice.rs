//! `<graphics type='spice'>` → `-spice`, with the properties libvirt 9.0 writes, in its
//! order: the port (0 for `<listen type='none'>`), the listen address, no ticketing (the
//! driver sets no password), the compression and streaming settings, the agent's mouse,
//! clipboard and file transfer switches, and seamless migration. TLS ports, passwords,
//! per-channel security and OpenGL are refused rather than left out.

use rvirt_xml::domain::Graphics;
use rvirt_xml::tree::Element;

use crate::argv::{esc, unsupported, ArgvResult, Cmd, Runtime};

const P: &str = "domain/devices/graphics[@type='spice']";

/// The `-spice` argument of `g`.
pub fn spice(c: &mut Cmd, g: &Graphics, rt: &Runtime) -> ArgvResult<()> {
    if g.passwd.is_some() {
        return unsupported(format!("{P}/@passwd is not supported"));
    }
    if let Some((_, v)) = g.attrs.iter().find(|(k, _)| k == "tlsPort") {
        if v != "-1" {
            return unsupported(format!("{P}/@tlsPort is not supported"));
        }
    }
    if let Some((k, _)) = g
        .attrs
        .iter()
        .find(|(k, _)| !matches!(k.as_str(), "tlsPort" | "defaultMode"))
    {
        return unsupported(format!("{P}/@{k} is not supported"));
    }
    let mut s = match g.listen_type.as_str() {
        "none" => "port=0".to_string(),
        "address" | "" => {
            let port = if g.autoport || g.port <= 0 {
                i32::from(rt.spice_port.unwrap_or(5900))
            } else {
                g.port
            };
            let addr = g.listen_address.as_deref().unwrap_or("127.0.0.1");
            format!("port={port},addr={}", esc(addr))
        }
        other => return unsupported(format!("{P}/listen/@type '{other}' is not supported")),
    };
    s.push_str(",disable-ticketing=on");
    for child in &g.children {
        s.push_str(&property(child)?);
    }
    s.push_str(",seamless-migration=on");
    c.opt("-spice", s);
    Ok(())
}

/// The `-spice` property of one child of `<graphics>`.
fn property(e: &Element) -> ArgvResult<String> {
    let value = |attr: &str| e.attr(attr).unwrap_or_default().to_string();
    Ok(match e.name.as_str() {
        "image" => format!(",image-compression={}", esc(&value("compression"))),
        "jpeg" => format!(",jpeg-wan-compression={}", esc(&value("compression"))),
        "zlib" => format!(",zlib-glz-wan-compression={}", esc(&value("compression"))),
        "playback" => format!(",playback-compression={}", esc(&value("compression"))),
        "streaming" => format!(",streaming-video={}", esc(&value("mode"))),
        "mouse" => match e.attr("mode") {
            Some("client") => ",agent-mouse=on".into(),
            Some("server") => ",agent-mouse=off".into(),
            _ => String::new(),
        },
        "clipboard" if e.attr("copypaste") == Some("no") => ",disable-copy-paste=on".into(),
        "clipboard" => String::new(),
        "filetransfer" if e.attr("enable") == Some("no") => ",disable-agent-file-xfer=on".into(),
        "filetransfer" => String::new(),
        "gl" if e.attr("enable") != Some("yes") => String::new(),
        other => return unsupported(format!("{P}/{other} is not supported")),
    })
}
