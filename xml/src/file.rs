//! Reading XML documents from files that someone else named (a test node description
//! and the files it refers to): only regular files, opened without blocking (a FIFO
//! must not stall the reader), and no larger than a document may be.

use std::io::Read;
use std::path::Path;

use crate::tree::MAX_DOCUMENT_BYTES;

/// `O_NONBLOCK` on Linux: opening a FIFO for reading then returns at once.
const O_NONBLOCK: i32 = 0o4000;

/// Why a document file was not read.
#[derive(Debug, thiserror::Error)]
pub enum DocumentFileError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a regular file")]
    NotRegular,
    #[error("larger than the limit of {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
}

/// The text of the regular file at `path`, at most [`MAX_DOCUMENT_BYTES`] long.
pub fn read_document(path: &Path) -> Result<String, DocumentFileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(DocumentFileError::NotRegular);
    }
    if meta.len() > MAX_DOCUMENT_BYTES as u64 {
        return Err(DocumentFileError::TooLarge);
    }
    let mut text = String::new();
    // The file may grow while it is read: never take more than the limit.
    file.take(MAX_DOCUMENT_BYTES as u64 + 1)
        .read_to_string(&mut text)?;
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(DocumentFileError::TooLarge);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifos_and_devices_are_refused_without_blocking() {
        let dir = std::env::temp_dir().join(format!("rvirt-docfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo.xml");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        assert!(matches!(
            read_document(&fifo),
            Err(DocumentFileError::NotRegular)
        ));
        assert!(matches!(
            read_document(Path::new("/dev/zero")),
            Err(DocumentFileError::NotRegular)
        ));
        assert!(matches!(
            read_document(&dir),
            Err(DocumentFileError::NotRegular)
        ));
        let big = dir.join("big.xml");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_DOCUMENT_BYTES as u64 + 1).unwrap();
        assert!(matches!(
            read_document(&big),
            Err(DocumentFileError::TooLarge)
        ));
        let ok = dir.join("ok.xml");
        std::fs::write(&ok, "<node/>").unwrap();
        assert_eq!(read_document(&ok).unwrap(), "<node/>");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
