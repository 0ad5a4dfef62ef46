//! One daemon per configuration: an exclusive `flock` on `rvirtd.pid` in the state
//! directory, taken before any module is initialised (libvirtd locks its pid file too). The lock
//! lives as long as the open file, so it vanishes with the process however it ends.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Why the pid file could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    #[error("cannot open pid file {0}: {1}")]
    Open(PathBuf, std::io::Error),
    #[error("another rvirtd (pid {pid}) already serves this configuration (pid file {path})")]
    Held { path: PathBuf, pid: String },
    #[error("cannot write pid file {0}: {1}")]
    Write(PathBuf, std::io::Error),
}

/// The held lock; released when dropped or when the process exits.
#[derive(Debug)]
pub struct PidFile {
    _file: File,
    path: PathBuf,
}

impl PidFile {
    /// Locks `path` (creating it) and writes this process's pid into it.
    pub fn acquire(path: &Path) -> Result<PidFile, PidFileError> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| PidFileError::Open(path.into(), e))?;
        if let Err(e) = file.try_lock() {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(match e {
                std::fs::TryLockError::WouldBlock => PidFileError::Held {
                    path: path.into(),
                    pid: if pid.is_empty() {
                        "unknown".into()
                    } else {
                        pid.into()
                    },
                },
                std::fs::TryLockError::Error(e) => PidFileError::Open(path.into(), e),
            });
        }
        let write = |f: &mut File| -> std::io::Result<()> {
            f.set_len(0)?;
            f.rewind()?;
            writeln!(f, "{}", std::process::id())?;
            f.flush()
        };
        write(&mut file).map_err(|e| PidFileError::Write(path.into(), e))?;
        Ok(PidFile {
            _file: file,
            path: path.into(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_pid() {
        let dir = std::env::temp_dir().join(format!("rvirt-pidfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rvirtd.pid");
        let first = PidFile::acquire(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        let e = PidFile::acquire(&path).unwrap_err().to_string();
        assert!(e.contains(&format!("pid {}", std::process::id())), "{e}");
        drop(first);
        PidFile::acquire(&path).expect("free again once the holder is gone");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
