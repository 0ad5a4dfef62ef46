//! Whether a driver module file may be loaded at all. A module runs its constructors with
//! the daemon's privileges the moment it is `dlopen`ed, so before anything reads it the
//! loader applies sshd's "StrictModes" rules:
//!
//! - the module file, its directory and every directory above it are owned by root or by
//!   the daemon's own user (the effective uid);
//! - none of them is writable by its group or by other users; directories above the
//!   module directory may be world-writable only with the sticky bit (like `/tmp`), where
//!   nobody can rename or delete another user's entries;
//! - the module is a regular file: a FIFO, socket, device or directory is refused before it
//!   is opened, so a FIFO cannot hang start-up;
//! - a symbolic link is followed (distribution packages may link modules into place), and
//!   then its target and the target's directories must pass the same checks.
//!
//! The file is opened with `O_NOFOLLOW | O_NONBLOCK` and checked again with `fstat` on the
//! opened descriptor, so what was checked is what is read and, through
//! [`TrustedModule::dlopen_path`], what is loaded.

use std::fs::{File, Metadata};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

/// Why a module file or directory is not trusted. Each message is one line naming the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error("{what} {path} cannot be examined: {reason}")]
    Inspect {
        what: &'static str,
        path: String,
        reason: String,
    },
    #[error("{what} {path} is {kind}, not {expected}")]
    WrongType {
        what: &'static str,
        path: String,
        kind: &'static str,
        expected: &'static str,
    },
    #[error(
        "{what} {path} is owned by uid {uid}, but only root or the daemon's user (uid {euid}) may own it"
    )]
    Owner {
        what: &'static str,
        path: String,
        uid: u32,
        euid: u32,
    },
    #[error(
        "{what} {path} is writable by {who} (mode {mode:04o}), but only its owner may write to it"
    )]
    Writable {
        what: &'static str,
        path: String,
        who: &'static str,
        mode: u32,
    },
    #[error("{module} is not trusted: {reason}")]
    Directory {
        module: String,
        reason: Box<TrustError>,
    },
}

/// A module file that passed the checks, open for reading.
#[derive(Debug)]
pub struct TrustedModule {
    /// The opened file; reads of the module go through it.
    pub file: File,
    /// The file's canonical path (the target, when the module was named through a link).
    pub real_path: PathBuf,
}

impl TrustedModule {
    /// The path to hand to `dlopen` so that the checked file is the loaded one:
    /// `/proc/self/fd/N` for the opened descriptor, or the canonical path when `/proc` is
    /// not mounted (every directory on that path was checked, so it names the same file).
    ///
    /// The descriptor is kept open for the life of the process: glibc remembers the name
    /// every library was opened by, and a later `dlopen("/proc/self/fd/N")` with a reused
    /// number would be answered with the earlier library instead of opening the file.
    /// Libraries are never unloaded, so neither are their descriptors closed.
    pub fn dlopen_path(self) -> PathBuf {
        let by_fd = PathBuf::from(format!("/proc/self/fd/{}", self.file.as_raw_fd()));
        if by_fd.exists() {
            let _kept_open = self.file.into_raw_fd();
            by_fd
        } else {
            self.real_path
        }
    }
}

fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_file() {
        "a regular file"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "a special file"
    }
}

fn inspect(what: &'static str, path: &Path, e: std::io::Error) -> TrustError {
    TrustError::Inspect {
        what,
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Owner and write-bit rules shared by files and directories. `sticky_ok` admits a
/// group/world-writable directory with the sticky bit.
fn check_owner_and_mode(
    what: &'static str,
    path: &str,
    meta: &Metadata,
    sticky_ok: bool,
) -> Result<(), TrustError> {
    let (uid, me) = (meta.uid(), euid());
    if uid != 0 && uid != me {
        return Err(TrustError::Owner {
            what,
            path: path.to_string(),
            uid,
            euid: me,
        });
    }
    let mode = meta.mode() & 0o7777;
    let sticky = mode & 0o1000 != 0;
    if mode & 0o022 != 0 && !(sticky_ok && sticky) {
        let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
            (true, true) => "its group and other users",
            (true, false) => "its group",
            _ => "other users",
        };
        return Err(TrustError::Writable {
            what,
            path: path.to_string(),
            who,
            mode,
        });
    }
    Ok(())
}

/// Checks a canonical directory as a module directory and every directory above it.
fn check_canonical_dir(dir: &Path) -> Result<(), TrustError> {
    for (i, d) in dir.ancestors().enumerate() {
        let what = if i == 0 {
            "module directory"
        } else {
            "directory"
        };
        let meta = std::fs::symlink_metadata(d).map_err(|e| inspect(what, d, e))?;
        if !meta.is_dir() {
            return Err(TrustError::WrongType {
                what,
                path: d.display().to_string(),
                kind: kind_of(&meta),
                expected: "a directory",
            });
        }
        check_owner_and_mode(what, &d.display().to_string(), &meta, i > 0)?;
    }
    Ok(())
}

fn canonical_dir(dir: &Path) -> Result<PathBuf, TrustError> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::canonicalize(dir).map_err(|e| inspect("module directory", dir, e))
}

/// Checks a module directory (as configured) and the directories above it.
pub fn check_module_dir(dir: &Path) -> Result<(), TrustError> {
    check_canonical_dir(&canonical_dir(dir)?)
}

fn check_file_meta(what: &'static str, shown: &str, meta: &Metadata) -> Result<(), TrustError> {
    if !meta.is_file() {
        return Err(TrustError::WrongType {
            what,
            path: shown.to_string(),
            kind: kind_of(meta),
            expected: "a regular file",
        });
    }
    check_owner_and_mode(what, shown, meta, false)
}

/// Checks a module file and its directories and opens it, without reading it.
pub fn open_module(path: &Path) -> Result<TrustedModule, TrustError> {
    let shown = path.display().to_string();
    let in_dir = |reason: TrustError| TrustError::Directory {
        module: shown.clone(),
        reason: Box::new(reason),
    };
    let what = "module file";
    let name = path.file_name().ok_or_else(|| TrustError::WrongType {
        what,
        path: shown.clone(),
        kind: "a path without a file name",
        expected: "a regular file",
    })?;
    // A missing file is reported as such, before its directories are examined.
    std::fs::symlink_metadata(path).map_err(|e| inspect(what, path, e))?;
    let named_dir = canonical_dir(path.parent().unwrap_or(Path::new(""))).map_err(in_dir)?;
    check_canonical_dir(&named_dir).map_err(in_dir)?;
    let entry = named_dir.join(name);
    let lmeta = std::fs::symlink_metadata(&entry).map_err(|e| inspect(what, path, e))?;
    let (real, shown) = if lmeta.file_type().is_symlink() {
        let real = std::fs::canonicalize(&entry).map_err(|e| inspect(what, path, e))?;
        let target_shown = format!("{} (the target of {shown})", real.display());
        if let Some(dir) = real.parent() {
            check_canonical_dir(dir).map_err(|reason| TrustError::Directory {
                module: target_shown.clone(),
                reason: Box::new(reason),
            })?;
        }
        (real, target_shown)
    } else {
        (entry, shown)
    };
    // Refuse special files before opening them: opening a device can have side effects.
    let meta = std::fs::symlink_metadata(&real).map_err(|e| inspect(what, &real, e))?;
    check_file_meta(what, &shown, &meta)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
        .open(&real)
        .map_err(|e| inspect(what, &real, e))?;
    // The descriptor is what gets read and loaded: check it, not the name, again.
    let meta = file.metadata().map_err(|e| inspect(what, &real, e))?;
    check_file_meta(what, &shown, &meta)?;
    Ok(TrustedModule {
        file,
        real_path: real,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str) -> Dir {
            let p = std::env::temp_dir().join(format!("rvirt-trust-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).expect("create temp dir");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            Dir(p)
        }

        fn file(&self, name: &str, mode: u32) -> PathBuf {
            let p = self.0.join(name);
            std::fs::write(&p, b"module bytes").expect("write");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
            p
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn one_line(e: &TrustError, names: &Path) -> String {
        let text = e.to_string();
        assert!(!text.contains('\n'), "not one line: {text}");
        assert!(
            text.contains(&names.display().to_string()),
            "does not name {}: {text}",
            names.display()
        );
        text
    }

    #[test]
    fn a_private_file_in_a_private_directory_is_trusted_and_opened() {
        let d = Dir::new("ok");
        let p = d.file("m.so", 0o644);
        let t = open_module(&p).expect("trusted");
        assert_eq!(t.real_path, std::fs::canonicalize(&p).unwrap());
        let mut text = String::new();
        std::io::Read::read_to_string(&mut &t.file, &mut text).expect("read");
        assert_eq!(text, "module bytes");
        let dl = t.dlopen_path();
        assert_eq!(
            std::fs::canonicalize(&dl).unwrap(),
            std::fs::canonicalize(&p).unwrap(),
            "{} does not lead to the checked file",
            dl.display()
        );
    }

    #[test]
    fn group_or_world_writable_files_and_directories_are_refused() {
        let d = Dir::new("writable");
        let p = d.file("m.so", 0o666);
        let e = open_module(&p).expect_err("0666 file");
        assert!(
            matches!(e, TrustError::Writable { mode: 0o666, .. }),
            "{e:?}"
        );
        assert!(one_line(&e, &p).contains("other users"), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o664)).unwrap();
        let e = open_module(&p).expect_err("0664 file");
        assert!(one_line(&e, &p).contains("writable by its group (mode 0664)"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(open_module(&p).is_ok());
        // A world-writable module directory: refused even with the sticky bit.
        for mode in [0o777, 0o1777, 0o775] {
            std::fs::set_permissions(&d.0, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = open_module(&p).expect_err("writable directory");
            let TrustError::Directory { reason, .. } = &e else {
                panic!("{e:?}")
            };
            assert!(
                matches!(
                    **reason,
                    TrustError::Writable {
                        what: "module directory",
                        ..
                    }
                ),
                "{e:?}"
            );
            let text = one_line(&e, &p);
            assert!(text.contains(&format!("{mode:04o}")), "{text}");
            assert!(check_module_dir(&d.0).is_err());
        }
        std::fs::set_permissions(&d.0, std::fs::Permissions::from_mode(0o755)).unwrap();
        check_module_dir(&d.0).expect("private directory");
    }

    #[test]
    fn a_sticky_world_writable_parent_is_accepted_but_not_a_plain_one() {
        let outer = Dir::new("outer");
        let inner = outer.0.join("mods");
        std::fs::create_dir(&inner).unwrap();
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o755)).unwrap();
        let p = inner.join("m.so");
        std::fs::write(&p, b"x").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&outer.0, std::fs::Permissions::from_mode(0o1777)).unwrap();
        open_module(&p).expect("sticky parent like /tmp");
        std::fs::set_permissions(&outer.0, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = open_module(&p).expect_err("plain world-writable parent");
        let text = one_line(&e, &p);
        assert!(
            text.contains(&format!("directory {} is writable", outer.0.display())),
            "{text}"
        );
        std::fs::set_permissions(&outer.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn special_files_are_refused_without_being_opened() {
        let d = Dir::new("special");
        let fifo = d.0.join("m.so");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644))
            .expect("mkfifo");
        // Opening a FIFO for reading without O_NONBLOCK would block until a writer comes.
        let e = open_module(&fifo).expect_err("fifo");
        assert!(
            one_line(&e, &fifo).contains("is a FIFO, not a regular file"),
            "{e}"
        );
        let sub = d.0.join("dir.so");
        std::fs::create_dir(&sub).unwrap();
        let e = open_module(&sub).expect_err("directory");
        assert!(one_line(&e, &sub).contains("is a directory"), "{e}");
        let e = open_module(Path::new("/dev/null")).expect_err("device");
        assert!(
            e.to_string().contains("/dev/null is a character device"),
            "{e}"
        );
    }

    #[test]
    fn a_symlink_is_judged_by_its_target() {
        let mods = Dir::new("links");
        let store = Dir::new("store");
        let good = store.file("good.so", 0o644);
        let link = mods.0.join("m.so");
        std::os::unix::fs::symlink(&good, &link).unwrap();
        let t = open_module(&link).expect("link to a trusted file");
        assert_eq!(t.real_path, std::fs::canonicalize(&good).unwrap());
        std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = open_module(&link).expect_err("link to a writable file");
        let text = one_line(&e, &link);
        assert!(text.contains("(the target of"), "{text}");
        std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&store.0, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = open_module(&link).expect_err("link into a writable directory");
        assert!(matches!(e, TrustError::Directory { .. }), "{e:?}");
        one_line(&e, &link);
        let dangling = mods.0.join("gone.so");
        std::os::unix::fs::symlink(store.0.join("missing.so"), &dangling).unwrap();
        assert!(matches!(
            open_module(&dangling),
            Err(TrustError::Inspect { .. })
        ));
    }

    #[test]
    fn files_of_other_users_are_refused() {
        if euid() != 0 {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "this test must run as root under CI=true (it chowns a file)"
            );
            eprintln!("SKIP: not root, cannot give a file to another user");
            return;
        }
        let d = Dir::new("owner");
        let p = d.file("m.so", 0o644);
        std::os::unix::fs::chown(&p, Some(65534), Some(65534)).expect("chown");
        let e = open_module(&p).expect_err("nobody's file");
        assert!(matches!(e, TrustError::Owner { uid: 65534, .. }), "{e:?}");
        assert!(one_line(&e, &p).contains("owned by uid 65534"), "{e}");
        std::os::unix::fs::chown(&p, Some(0), Some(0)).expect("chown back");
        std::os::unix::fs::chown(&d.0, Some(65534), None).expect("chown dir");
        let e = open_module(&p).expect_err("nobody's directory");
        assert!(one_line(&e, &p).contains("module directory"), "{e}");
        std::os::unix::fs::chown(&d.0, Some(0), None).expect("chown dir back");
        open_module(&p).expect("root's file again");
    }
}
