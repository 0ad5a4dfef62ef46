//! Running the host's storage tools (parted, mkfs, mount, lvm, ...), with libvirt's
//! error for a command that fails.

use std::process::Command;

use crate::error::{SResult, StorageError};

/// Runs `prog` with `args`: its standard output, or libvirt's `Child process (...)
/// unexpected exit status N: STDERR` (with stderr's trailing newline when `keep_newline`,
/// as libvirt reports some tools).
pub fn run_with(prog: &str, args: &[&str], keep_newline: bool) -> SResult<String> {
    let out = Command::new(prog)
        .args(args)
        .output()
        .map_err(|e| StorageError::io(format!("Cannot run {prog}"), &e))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stderr = if keep_newline {
            &stderr
        } else {
            stderr.trim_end()
        };
        return Err(StorageError::Internal(format!(
            "Child process ({prog} {}) unexpected exit status {}: {stderr}",
            args.join(" "),
            out.status.code().unwrap_or(-1),
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// [`run_with`], stderr's trailing blanks trimmed.
pub fn run(prog: &str, args: &[&str]) -> SResult<String> {
    run_with(prog, args, false)
}

/// `name` on the usual system paths, or the bare name for `PATH` to find.
pub fn program(name: &str) -> String {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .map(|d| format!("{d}/{name}"))
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or_else(|| name.to_string())
}

/// The program at `path`, where libvirt's build runs it (`/bin/mount`), so that the
/// command lines in errors read as libvirt's; else the same name found as [`program`]
/// finds it.
pub fn libvirt_program(path: &str) -> String {
    if std::path::Path::new(path).exists() {
        return path.to_string();
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    program(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_worded_like_libvirt() {
        let e = run("sh", &["-c", "echo out; echo bad >&2; exit 3"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "internal error: Child process (sh -c echo out; echo bad >&2; exit 3) \
             unexpected exit status 3: bad"
        );
        let e = run_with("sh", &["-c", "echo bad >&2; exit 1"], true).unwrap_err();
        assert!(e.to_string().ends_with(": bad\n"), "{e}");
        assert_eq!(run("sh", &["-c", "echo out"]).unwrap(), "out\n");
        assert!(program("sh").ends_with("/sh"));
        assert_eq!(libvirt_program("/bin/sh"), "/bin/sh");
        assert!(libvirt_program("/no/such/dir/sh").ends_with("/sh"));
    }
}
