//! rvirsh: a virsh-compatible command line shell for rvirt.

mod cmds;
mod ctl;
mod fmt;
mod opts;
mod qmp_json;
mod run;
mod shell;

use std::process::ExitCode;

use anyhow::{bail, Context as _};

const USAGE: &str = "\
Usage: rvirsh [OPTION]... [COMMAND [ARG]...]

A virsh-compatible shell for rvirt and libvirt daemons. Without a command it starts an
interactive shell with line editing, history and tab completion.

Options:
  -c, --connect=URI   hypervisor connection URI
  -r, --readonly      open a read-only connection
  -q, --quiet         quiet mode: no blank line after each command
  -h, --help          print this help and exit
  -v, --version       print the version and exit

Connection URI, first one set wins:
  1. -c/--connect URI
  2. $RVIRT_DEFAULT_URI
  3. $LIBVIRT_DEFAULT_URI
  4. qemu:///system

Examples: rvirsh -c test:///default list --all
          rvirsh -c 'test+unix:///default?socket=/run/rvirt/rvirt-sock' dominfo test

Run 'rvirsh help' for the list of commands, 'rvirsh help COMMAND' for one command.
";

/// Parsed command line of the program itself.
#[derive(Debug, Default, PartialEq)]
struct Cli {
    uri: Option<String>,
    read_only: bool,
    quiet: bool,
    help: bool,
    version: bool,
    command: Vec<String>,
}

fn parse_cli(args: &[String]) -> anyhow::Result<Cli> {
    let mut cli = Cli::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-c" | "--connect" => {
                cli.uri = Some(it.next().context("option -c requires a URI")?.clone())
            }
            s if s.starts_with("--connect=") => cli.uri = Some(s["--connect=".len()..].to_string()),
            s if s.starts_with("-c") && s.len() > 2 => cli.uri = Some(s[2..].to_string()),
            "-r" | "--readonly" => cli.read_only = true,
            "-q" | "--quiet" => cli.quiet = true,
            "-h" | "--help" => cli.help = true,
            "-v" | "--version" | "-V" => cli.version = true,
            "--" => {
                cli.command = it.cloned().collect();
                break;
            }
            s if s.starts_with('-') && cli.command.is_empty() => {
                bail!("unsupported option '{s}'. See --help.")
            }
            _ => {
                cli.command = std::iter::once(a.clone()).chain(it.cloned()).collect();
                break;
            }
        }
    }
    Ok(cli)
}

/// The URI to use: -c, then RVIRT_DEFAULT_URI, then LIBVIRT_DEFAULT_URI, then qemu:///system.
fn default_uri(cli: Option<&str>, env: impl Fn(&str) -> Option<String>) -> String {
    cli.map(str::to_string)
        .or_else(|| env("RVIRT_DEFAULT_URI").filter(|s| !s.is_empty()))
        .or_else(|| env("LIBVIRT_DEFAULT_URI").filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "qemu:///system".to_string())
}

fn real_main() -> anyhow::Result<bool> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = parse_cli(&args)?;
    if cli.help {
        print!("{USAGE}");
        return Ok(true);
    }
    if cli.version {
        let v = cmds::LIBVIRT_COMPAT_VERSION;
        println!(
            "{} (compatible with virsh {}.{}.{})",
            env!("CARGO_PKG_VERSION"),
            v / 1_000_000,
            v % 1_000_000 / 1000,
            v % 1000
        );
        return Ok(true);
    }
    let uri = default_uri(cli.uri.as_deref(), |k| std::env::var(k).ok());
    let mut ctl = ctl::Ctl::new(uri, cli.read_only);
    run::set_quiet(cli.quiet);
    let ok = if cli.command.is_empty() {
        shell::run(&mut ctl)
    } else if cli.command.len() == 1
        && cli.command[0].contains(|c: char| c.is_whitespace() || c == ';')
    {
        // A single quoted argument holding one or more commands, like virsh accepts; all run,
        // the last one's status counts.
        opts::split_commands(&cli.command[0])
            .iter()
            .fold(true, |_, w| run::run_words(&mut ctl, w))
    } else {
        run::run_words(&mut ctl, &cli.command)
    };
    ctl.close();
    Ok(ok)
}

fn main() -> ExitCode {
    match real_main() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn cli_parsing() {
        let c = parse_cli(&s(&["-c", "test:///default", "-r", "list", "--all"])).unwrap();
        assert_eq!(c.uri.as_deref(), Some("test:///default"));
        assert!(c.read_only);
        assert_eq!(c.command, s(&["list", "--all"]));
        let c = parse_cli(&s(&["--connect=x", "dominfo", "-r"])).unwrap();
        assert_eq!(c.uri.as_deref(), Some("x"));
        assert!(!c.read_only);
        assert_eq!(c.command, s(&["dominfo", "-r"]));
        assert!(parse_cli(&s(&["--bogus"])).is_err());
    }

    #[test]
    fn uri_precedence() {
        let env = |k: &str| match k {
            "RVIRT_DEFAULT_URI" => Some("rv:///".to_string()),
            "LIBVIRT_DEFAULT_URI" => Some("lv:///".to_string()),
            _ => None,
        };
        assert_eq!(default_uri(Some("c:///"), env), "c:///");
        assert_eq!(default_uri(None, env), "rv:///");
        assert_eq!(
            default_uri(None, |k| (k == "LIBVIRT_DEFAULT_URI")
                .then(|| "lv:///".to_string())),
            "lv:///"
        );
        assert_eq!(default_uri(None, |_| None), "qemu:///system");
    }
}
