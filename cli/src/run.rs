//! Running one command line: look up, parse, connect if needed, run, report errors.

use crate::cmds;
use crate::ctl::{CmdError, Ctl};
use crate::opts::{parse, ParseError};

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
    use std::io::Write;
    let _ = std::io::stdout().flush();
    match r {
        Ok(()) => true,
        Err(e) => {
            report(&e);
            false
        }
    }
}
