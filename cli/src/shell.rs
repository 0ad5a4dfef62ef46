//! The interactive shell: line editing, history, and completion of commands, options and
//! object names.

use std::borrow::Cow;
use std::path::PathBuf;

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use rvirt_core::client::Connect;
use rvirt_protocol as p;
use rvirt_protocol::RemoteClient;

use crate::cmds;
use crate::ctl::Ctl;
use crate::opts::{split_words, Complete, Kind};

/// Completion state: the connection used to list object names.
pub struct ShellHelper {
    pub conn: Option<Connect>,
    files: FilenameCompleter,
}

impl Helper for ShellHelper {}
impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}
impl Validator for ShellHelper {}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before
            .rfind(|c: char| c.is_whitespace() || c == ';')
            .map_or(0, |i| i + 1);
        let word = &before[start..];
        let cmd_start = before.rfind(';').map_or(0, |i| i + 1);
        let prior = split_words(&before[cmd_start..start]);
        let want = match what_to_complete(&prior, word) {
            Want::File => return self.files.complete(line, pos, ctx),
            other => other,
        };
        let mut cands = self.candidates(want);
        cands.retain(|c| c.starts_with(word));
        cands.sort();
        cands.dedup();
        let pairs = cands
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: format!("{c} "),
            })
            .collect();
        Ok((start, pairs))
    }
}

/// What the word under the cursor should be.
#[derive(Debug, PartialEq, Eq)]
pub enum Want {
    Nothing,
    Command,
    Options(Vec<String>),
    Objects(Complete),
    File,
}

/// Decides what to complete from the words before the cursor and the partial word.
pub fn what_to_complete(prior: &[String], word: &str) -> Want {
    let Some((name, rest)) = prior.split_first() else {
        return Want::Command;
    };
    let Some(cmd) = cmds::find(name) else {
        return Want::Nothing;
    };
    let used: Vec<&str> = rest.iter().filter_map(|w| w.strip_prefix("--")).collect();
    if word.starts_with('-') {
        let opts = cmd
            .opts
            .iter()
            .filter(|o| o.kind == Kind::Argv || !used.contains(&o.name))
            .map(|o| format!("--{}", o.name))
            .collect();
        return Want::Options(opts);
    }
    // The value of a `--name` option just typed?
    if let Some(prev) = rest.last().and_then(|w| w.strip_prefix("--")) {
        if let Some(o) = cmd
            .opts
            .iter()
            .find(|o| o.name == prev && o.kind != Kind::Bool)
        {
            return complete_kind(o.complete);
        }
    }
    // Otherwise the next positional option.
    let mut positional = cmd.opts.iter().filter(|o| {
        matches!(o.kind, Kind::Str | Kind::Int | Kind::Argv) && !used.contains(&o.name)
    });
    let mut skip_value = false;
    let mut filled = 0;
    for w in rest {
        if skip_value {
            skip_value = false;
            continue;
        }
        if let Some(n) = w.strip_prefix("--") {
            skip_value = cmd.opts.iter().any(|o| o.name == n && o.kind != Kind::Bool);
            continue;
        }
        filled += 1;
    }
    match positional.nth(filled) {
        Some(o) => complete_kind(o.complete),
        None => Want::Options(
            cmd.opts
                .iter()
                .filter(|o| !used.contains(&o.name))
                .map(|o| format!("--{}", o.name))
                .collect(),
        ),
    }
}

fn complete_kind(c: Complete) -> Want {
    match c {
        Complete::None => Want::Nothing,
        Complete::File => Want::File,
        other => Want::Objects(other),
    }
}

impl ShellHelper {
    fn candidates(&self, want: Want) -> Vec<String> {
        match want {
            Want::Nothing | Want::File => Vec::new(),
            Want::Command => cmds::all().map(|c| c.name.to_string()).collect(),
            Want::Options(v) => v,
            Want::Objects(kind) => self.object_names(kind),
        }
    }

    fn object_names(&self, kind: Complete) -> Vec<String> {
        let Some(c) = &self.conn else {
            return Vec::new();
        };
        let r = match kind {
            Complete::Domain => c
                .connect_list_all_domains(&p::RemoteConnectListAllDomainsArgs {
                    need_results: 1,
                    flags: 0,
                })
                .map(|r| r.domains.into_iter().map(|d| d.name).collect()),
            Complete::Network => c
                .connect_list_all_networks(&p::RemoteConnectListAllNetworksArgs {
                    need_results: 1,
                    flags: 0,
                })
                .map(|r| r.nets.into_iter().map(|n| n.name).collect()),
            Complete::Pool => c
                .connect_list_all_storage_pools(&p::RemoteConnectListAllStoragePoolsArgs {
                    need_results: 1,
                    flags: 0,
                })
                .map(|r| r.pools.into_iter().map(|x| x.name).collect()),
            Complete::None | Complete::File => Ok(Vec::new()),
        };
        r.unwrap_or_default()
    }
}

fn history_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("rvirsh").join("history"))
}

/// Runs the interactive loop until `quit`, `exit` or end of input.
pub fn run(ctl: &mut Ctl) -> bool {
    ctl.interactive = true;
    println!("Welcome to rvirsh, the rvirt interactive terminal.\n");
    println!("Type:  'help' for help with commands");
    println!("       'quit' to quit\n");
    if let Err(e) = ctl.connect() {
        crate::run::report(&e);
    }
    let mut ed: Editor<ShellHelper, DefaultHistory> = match Editor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot start line editing: {e}");
            return false;
        }
    };
    ed.set_helper(Some(ShellHelper {
        conn: ctl.connection(),
        files: FilenameCompleter::new(),
    }));
    let hist = history_path();
    if let Some(h) = &hist {
        let _ = ed.load_history(h);
    }
    let mut ok = true;
    loop {
        if let Some(h) = ed.helper_mut() {
            h.conn = ctl.connection();
        }
        let prompt = if ctl.read_only {
            "rvirsh > "
        } else {
            "rvirsh # "
        };
        match ed.readline(prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = ed.add_history_entry(line.as_str());
                }
                for words in crate::opts::split_commands(&line) {
                    ok = crate::run::run_words(ctl, &words);
                }
                if cmds::quit_requested() {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => {
                println!();
                break;
            }
            Err(e) => {
                eprintln!("error: {e}");
                ok = false;
                break;
            }
        }
    }
    if let Some(h) = &hist {
        if let Some(dir) = h.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = ed.save_history(h);
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        split_words(s)
    }

    #[test]
    fn completion_targets() {
        assert_eq!(what_to_complete(&[], "li"), Want::Command);
        assert_eq!(
            what_to_complete(&w("dominfo"), "te"),
            Want::Objects(Complete::Domain)
        );
        assert_eq!(
            what_to_complete(&w("net-info"), ""),
            Want::Objects(Complete::Network)
        );
        assert_eq!(
            what_to_complete(&w("vol-list"), ""),
            Want::Objects(Complete::Pool)
        );
        assert_eq!(what_to_complete(&w("define"), ""), Want::File);
        assert_eq!(
            what_to_complete(&w("event --domain"), ""),
            Want::Objects(Complete::Domain)
        );
        match what_to_complete(&w("list --all"), "--") {
            Want::Options(o) => {
                assert!(o.contains(&"--name".to_string()));
                assert!(!o.contains(&"--all".to_string()));
            }
            other => panic!("{other:?}"),
        }
    }
}
