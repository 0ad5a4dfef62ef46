//! Running one command line: look up, parse, connect if needed, run, report errors.

use crate::cmds;
use crate::ctl::{CmdError, Ctl};
use crate::opts::{parse, ParseError};

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// With `-q`, virsh drops the blank line it prints after every command it ran.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `-q` is in effect.
pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// Prints an error the way virsh does: `error: …` lines on stderr.
pub fn report(e: &CmdError) {
    for l in e.lines() {
        eprintln!("error: {l}");
    }
}

/// Runs one command given as words. Returns whether it succeeded.
pub fn run_words(ctl: &mut Ctl, words: &[String]) -> bool {
    let Some((name, rest)) = words.split_first() else {
        return true;
    };
    let Some(cmd) = cmds::find(name) else {
        eprintln!("error: {}", ParseError::UnknownCommand(name.clone()));
        return false;
    };
    let args = match parse(cmd, rest) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return false;
        }
    };
    if cmd.needs_conn {
        if let Err(e) = ctl.connect() {
            report(&e);
            return false;
        }
    }
    let r = (cmd.run)(ctl, &args);
    if let Err(e) = &r {
        report(e);
    }
    use std::io::Write;
    if !ctl.interactive && !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        // virsh ends every command it ran (even a failed one, after its error lines) with a
        // blank line in command mode.
        println!();
    }
    let _ = std::io::stdout().flush();
    r.is_ok()
}
