//! Commands about the shell itself: help, connect, quit/exit; and the editor helper.

use std::io::{BufRead, IsTerminal, Write};

use crate::ctl::{CmdError, Ctl};
use crate::opts::{Args, Cmd, Kind, Opt};

pub const CMDS: &[Cmd] = &[
    Cmd {
        name: "connect",
        help: "(re)connect to hypervisor",
        desc: "Connect to local hypervisor. This is built-in command after shell start up.",
        opts: CONNECT,
        run: connect,
        needs_conn: false,
    },
    Cmd {
        name: "exit",
        help: "quit this interactive terminal",
        desc: "",
        opts: &[],
        run: quit,
        needs_conn: false,
    },
    Cmd {
        name: "help",
        help: "print help",
        desc: "Prints global help, command specific help, or help for a group of related commands",
        opts: &[Opt::string(
            "command",
            "Prints global help, command specific help, or help for a group of related commands",
        )],
        run: help,
        needs_conn: false,
    },
    Cmd {
        name: "quit",
        help: "quit this interactive terminal",
        desc: "",
        opts: &[],
        run: quit,
        needs_conn: false,
    },
];

const CONNECT: &[Opt] = &[
    Opt::string("name", "hypervisor connection URI"),
    Opt::flag("readonly", "read-only connection"),
];

fn connect(ctl: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    ctl.reconnect(a.get("name"), a.has("readonly"))
}

/// Raised by `quit`/`exit`; the shell loop stops when it sees it.
pub static QUIT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn quit(_: &mut Ctl, _: &Args) -> Result<(), CmdError> {
    QUIT.store(true, std::sync::atomic::Ordering::SeqCst);
    Ok(())
}

fn help(_: &mut Ctl, a: &Args) -> Result<(), CmdError> {
    match a.get("command") {
        None => print!("{}", all_help()),
        Some(name) => {
            if let Some(c) = super::find(name) {
                print!("{}", command_help(c));
            } else if super::GROUPS.iter().any(|g| g.keyword == name) {
                print!("{}", group_help(name));
            } else {
                return Err(CmdError::Msg(format!(
                    "command or command group '{name}' doesn't exist"
                )));
            }
        }
    }
    Ok(())
}

/// The commands of a help keyword, sorted by name, with the group's title.
fn group_cmds(keyword: &str) -> (&'static str, Vec<&'static Cmd>) {
    let groups: Vec<_> = super::GROUPS
        .iter()
        .filter(|g| g.keyword == keyword)
        .collect();
    let mut cmds: Vec<&Cmd> = groups.iter().flat_map(|g| g.cmds.iter()).collect();
    cmds.sort_by_key(|c| c.name);
    (groups.first().map_or("", |g| g.title), cmds)
}

fn group_help(keyword: &str) -> String {
    let (title, cmds) = group_cmds(keyword);
    let mut s = format!(" {title} (help keyword '{keyword}'):\n");
    for c in cmds {
        s.push_str(&format!("    {:<30} {}\n", c.name, c.help));
    }
    s
}

/// `help` without arguments.
pub fn all_help() -> String {
    let mut s = String::from("Grouped commands:\n\n");
    let mut seen = Vec::new();
    for g in super::GROUPS {
        if seen.contains(&g.keyword) {
            continue;
        }
        seen.push(g.keyword);
        s.push_str(&group_help(g.keyword));
        s.push('\n');
    }
    s
}

/// `help COMMAND`.
pub fn command_help(c: &Cmd) -> String {
    let mut s = format!(
        "  NAME\n    {} - {}\n\n  SYNOPSIS\n    {}",
        c.name, c.help, c.name
    );
    let shortopt = c
        .opts
        .iter()
        .any(|o| matches!(o.kind, Kind::Str | Kind::Int));
    for o in c.opts {
        let n = o.name;
        let part = match o.kind {
            Kind::Bool => format!("[--{n}]"),
            Kind::Str if o.required => format!("<{n}>"),
            Kind::Int if o.required => format!("<{n}>"),
            Kind::Str | Kind::Named => format!("[--{n} <string>]"),
            Kind::Int => format!("[--{n} <number>]"),
            Kind::Argv if shortopt && o.required => format!("{{[--{n}] <string>}}..."),
            Kind::Argv if shortopt => format!("[[--{n}] <string>]..."),
            Kind::Argv if o.required => format!("<{n}>..."),
            Kind::Argv => format!("[<{n}>]..."),
        };
        s.push(' ');
        s.push_str(&part);
    }
    s.push('\n');
    if !c.desc.is_empty() {
        s.push_str(&format!("\n  DESCRIPTION\n    {}\n", c.desc));
    }
    if !c.opts.is_empty() {
        s.push_str("\n  OPTIONS\n");
        for o in c.opts {
            let n = o.name;
            let left = match o.kind {
                Kind::Bool => format!("--{n}"),
                Kind::Str | Kind::Int if o.required => format!(
                    "[--{n}] <{}>",
                    if o.kind == Kind::Int {
                        "number"
                    } else {
                        "string"
                    }
                ),
                Kind::Int => format!("--{n} <number>"),
                Kind::Str | Kind::Named => format!("--{n} <string>"),
                Kind::Argv if shortopt => format!("[--{n}] <string>"),
                Kind::Argv => format!("<{n}>"),
            };
            s.push_str(&format!("    {left:<15}  {}\n", o.help));
        }
    }
    s.push('\n');
    s
}

/// The persistent XML of an object (the `INACTIVE` flag, 1) for editing; when the driver
/// refuses that flag (libvirt's test driver does for networks and pools) the plain XML,
/// as virsh falls back too.
pub fn inactive_xml(
    get: impl Fn(u32) -> Result<String, rvirt_protocol::RemoteError>,
) -> Result<String, rvirt_protocol::RemoteError> {
    match get(1) {
        Err(e) if e.code == rvirt_protocol::error::code::INVALID_ARG => get(0),
        r => r,
    }
}

/// virsh's `*-edit` flow for one object: edit its XML, re-define it with `define` (which
/// returns the defined object's name) and print virsh's messages, naming the object the
/// way `label` does (`Network net0`, `Domain 'vm'`).
pub fn edit_and_define(
    xml: &str,
    kind: &str,
    name: &str,
    label: impl Fn(&str) -> String,
    define: impl FnOnce(String) -> Result<String, CmdError>,
) -> Result<(), CmdError> {
    let Some(new) = edit_text(xml, kind, name)? else {
        println!("{} XML configuration not changed.", label(name));
        return Ok(());
    };
    let defined = define(new)?;
    println!("{} XML configuration edited.", label(&defined));
    Ok(())
}

/// Lets the user edit `text` in `$VISUAL`/`$EDITOR` (default `vi`). Returns `None` when
/// unchanged. The result must be well-formed XML; on a terminal the user may retry.
pub fn edit_text(text: &str, kind: &str, name: &str) -> Result<Option<String>, CmdError> {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("rvirsh-{kind}-{name}-{}.xml", std::process::id()));
    std::fs::write(&path, text)?;
    let result = edit_loop(&path, text);
    let _ = std::fs::remove_file(&path);
    result
}

/// Lets the user edit plain `text` (a description) in the editor once; answers the text
/// as left.
pub fn edit_plain(text: &str, kind: &str, name: &str) -> Result<String, CmdError> {
    let path =
        std::env::temp_dir().join(format!("rvirsh-{kind}-{name}-{}.txt", std::process::id()));
    std::fs::write(&path, text)?;
    let result = run_editor(&path).and_then(|()| Ok(std::fs::read_to_string(&path)?));
    let _ = std::fs::remove_file(&path);
    result
}

fn run_editor(path: &std::path::Path) -> Result<(), CmdError> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(path)
        .status()?;
    if !status.success() {
        return Err(CmdError::Msg(format!("{editor}: command failed: {status}")));
    }
    Ok(())
}

fn edit_loop(path: &std::path::Path, original: &str) -> Result<Option<String>, CmdError> {
    loop {
        run_editor(path)?;
        let new = std::fs::read_to_string(path)?;
        if new == original {
            return Ok(None);
        }
        match rvirt_xml::tree::parse_document(&new) {
            Ok(_) => return Ok(Some(new)),
            Err(e) => {
                eprintln!("error: XML document failed to validate: {e}");
                if !std::io::stdin().is_terminal() || !ask("Failed. Try again? [y,n]: ") {
                    return Err(CmdError::Msg("edited XML is not well-formed".into()));
                }
            }
        }
    }
}

fn ask(prompt: &str) -> bool {
    print!("{prompt}");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominfo_help_like_virsh() {
        let c = super::super::find("dominfo").unwrap();
        let h = command_help(c);
        assert!(h.starts_with("  NAME\n    dominfo - domain information\n\n  SYNOPSIS\n    dominfo <domain> [--json]\n"));
        assert!(h.contains("\n  OPTIONS\n    [--domain] <string>  domain name, id or uuid\n"));
    }

    #[test]
    fn groups_listed() {
        let h = all_help();
        assert!(h.starts_with("Grouped commands:\n\n Domain Management (help keyword 'domain'):\n"));
        assert!(h.contains("    list                           list domains\n"));
    }
}
