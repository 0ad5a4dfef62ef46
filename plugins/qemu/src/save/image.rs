//! The saved-image file format, libvirt's: a fixed header (`LibvirtQemudSave` magic,
//! version 2, length of the data that follows, whether the guest was running, the
//! compression format and the cookie's offset), then the domain XML (NUL-terminated),
//! an optional cookie (NUL-terminated) and zero padding up to the data length, then
//! QEMU's migration stream. The 32-bit fields are in host byte order; a reader whose
//! version looks too large swaps them. An image being written carries the
//! `LibvirtQemudPart` magic until QEMU has finished.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The largest XML (and cookie) section an image may announce: far above any domain
/// definition, far below what would hurt the daemon to read.
const MAX_DATA_LEN: u64 = 64 * 1024 * 1024;

/// The magic of a complete image.
pub const MAGIC: &[u8; 16] = b"LibvirtQemudSave";
/// The magic of an image still being written.
pub const PARTIAL: &[u8; 16] = b"LibvirtQemudPart";
/// The newest header version (version 2 added the cookie).
pub const VERSION: u32 = 2;
/// Bytes of the header: magic, five 32-bit fields, fourteen unused.
pub const HEADER_LEN: usize = 16 + 4 * 5 + 4 * 14;
/// Room left after the XML so that `save-image-define` can store a longer one.
pub const XML_PAD: u32 = 64 * 1024;
/// `compressed` of an uncompressed ("raw") stream, the only format read here.
pub const FORMAT_RAW: u32 = 0;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("failed to read qemu header")]
    Short,
    #[error("save image is incomplete")]
    Incomplete,
    #[error("image magic is incorrect")]
    Magic,
    #[error("image version is not supported ({0} > {VERSION})")]
    Version(u32),
    #[error("compressed save images (format {0}) are not supported")]
    Compressed(u32),
    #[error("failed to read domain XML")]
    Xml,
    #[error("new xml too large to fit in file")]
    TooLarge,
    #[error("cannot {what} '{path}': {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
}

impl ImageError {
    pub fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ImageError {
        let path = path.display().to_string();
        move |source| ImageError::Io { what, path, source }
    }
}

/// The header's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub complete: bool,
    pub version: u32,
    /// Bytes of XML, cookie and padding.
    pub data_len: u32,
    pub was_running: bool,
    pub compressed: u32,
    /// Offset of the cookie within the data; 0 without one.
    pub cookie_offset: u32,
}

impl Header {
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..16].copy_from_slice(if self.complete { MAGIC } else { PARTIAL });
        let fields = [
            self.version,
            self.data_len,
            u32::from(self.was_running),
            self.compressed,
            self.cookie_offset,
        ];
        for (i, v) in fields.iter().enumerate() {
            b[16 + 4 * i..20 + 4 * i].copy_from_slice(&v.to_ne_bytes());
        }
        b
    }

    pub fn decode(b: &[u8]) -> Result<Header, ImageError> {
        if b.len() < HEADER_LEN {
            return Err(ImageError::Short);
        }
        let complete = match &b[..16] {
            m if m == MAGIC => true,
            m if m == PARTIAL => return Err(ImageError::Incomplete),
            _ => return Err(ImageError::Magic),
        };
        let field = |i: usize, swap: bool| {
            let v = u32::from_ne_bytes(b[16 + 4 * i..20 + 4 * i].try_into().expect("4 bytes"));
            if swap {
                v.swap_bytes()
            } else {
                v
            }
        };
        // An image from a host of the other byte order.
        let swap = field(0, false) > VERSION;
        let h = Header {
            complete,
            version: field(0, swap),
            data_len: field(1, swap),
            was_running: field(2, swap) != 0,
            compressed: field(3, swap),
            cookie_offset: field(4, swap),
        };
        if h.version > VERSION {
            return Err(ImageError::Version(h.version));
        }
        Ok(h)
    }
}

/// An image's header and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub header: Header,
    pub xml: String,
    pub cookie: Option<String>,
}

/// Splits the data into the XML and the cookie.
fn split_data(h: &Header, data: &[u8]) -> Result<(String, Option<String>), ImageError> {
    let text = |b: &[u8]| -> Result<String, ImageError> {
        let end = b.iter().position(|c| *c == 0).ok_or(ImageError::Xml)?;
        String::from_utf8(b[..end].to_vec()).map_err(|_| ImageError::Xml)
    };
    let xml = text(data)?;
    if xml.is_empty() {
        return Err(ImageError::Xml);
    }
    let cookie = match h.cookie_offset as usize {
        0 => None,
        at if h.version >= 2 && at < data.len() => Some(text(&data[at..])?),
        _ => None,
    };
    Ok((xml, cookie))
}

impl Image {
    /// A new image's header and data (its data length not yet fixed).
    pub fn new(xml: String, was_running: bool) -> Image {
        Image {
            header: Header {
                complete: false,
                version: VERSION,
                data_len: 0,
                was_running,
                compressed: FORMAT_RAW,
                cookie_offset: 0,
            },
            xml,
            cookie: None,
        }
    }

    /// Reads the header and data of the image at `path`; the file is left positioned
    /// at the migration stream.
    pub fn open(path: &Path, write: bool) -> Result<(Image, File), ImageError> {
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(write)
            .open(path)
            .map_err(ImageError::io("open", path))?;
        let mut head = [0u8; HEADER_LEN];
        f.read_exact(&mut head).map_err(|_| ImageError::Short)?;
        let header = Header::decode(&head)?;
        // The length comes from the file: it must fit in it (a corrupt or crafted image
        // must not make the daemon allocate gigabytes, which would abort it).
        let size = f.metadata().map_err(ImageError::io("stat", path))?.len();
        let len = u64::from(header.data_len);
        if len > size.saturating_sub(HEADER_LEN as u64) || len > MAX_DATA_LEN {
            return Err(ImageError::Xml);
        }
        let mut data = vec![0u8; len as usize];
        f.read_exact(&mut data).map_err(|_| ImageError::Xml)?;
        let (xml, cookie) = split_data(&header, &data)?;
        Ok((
            Image {
                header,
                xml,
                cookie,
            },
            f,
        ))
    }

    /// Header and data as written: the data padded to `data_len`, chosen now (the XML and
    /// cookie plus [`XML_PAD`]) unless it was read from a file, where they must fit.
    pub fn encode(&mut self) -> Result<Vec<u8>, ImageError> {
        let mut data = self.xml.as_bytes().to_vec();
        data.push(0);
        let xml_len = data.len() as u32;
        if let Some(c) = &self.cookie {
            data.extend_from_slice(c.as_bytes());
            data.push(0);
            self.header.cookie_offset = xml_len;
        }
        let used = data.len() as u32;
        if self.header.data_len == 0 {
            self.header.data_len = used + XML_PAD;
        } else if used > self.header.data_len {
            return Err(ImageError::TooLarge);
        }
        data.resize(self.header.data_len as usize, 0);
        let mut out = self.header.encode().to_vec();
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// Rewrites header and data of an existing image in place (its stream untouched).
    pub fn rewrite(&mut self, f: &mut File, path: &Path) -> Result<(), ImageError> {
        let bytes = self.encode()?;
        f.seek(SeekFrom::Start(0))
            .and_then(|_| f.write_all(&bytes))
            .and_then(|_| f.sync_all())
            .map_err(ImageError::io("write", path))
    }

    /// Marks the image at `path` complete: its magic becomes [`MAGIC`].
    pub fn finish(&mut self, f: &mut File, path: &Path) -> Result<(), ImageError> {
        self.header.complete = true;
        f.seek(SeekFrom::Start(0))
            .and_then(|_| f.write_all(&self.header.encode()))
            .and_then(|_| f.sync_all())
            .map_err(ImageError::io("write", path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_is_libvirts() {
        let h = Header {
            complete: true,
            version: 2,
            data_len: 0x10203,
            was_running: true,
            compressed: 0,
            cookie_offset: 7,
        };
        let b = h.encode();
        assert_eq!(b.len(), 92);
        assert_eq!(&b[..16], b"LibvirtQemudSave");
        assert_eq!(&b[16..20], &2u32.to_ne_bytes());
        assert_eq!(&b[20..24], &0x10203u32.to_ne_bytes());
        assert_eq!(&b[24..28], &1u32.to_ne_bytes());
        assert_eq!(&b[32..36], &7u32.to_ne_bytes());
        assert!(b[36..].iter().all(|c| *c == 0));
        assert_eq!(Header::decode(&b).unwrap(), h);
    }

    #[test]
    fn other_byte_order_and_bad_magic() {
        let h = Header {
            complete: true,
            version: 2,
            data_len: 100,
            was_running: false,
            compressed: 0,
            cookie_offset: 0,
        };
        let mut b = h.encode();
        for i in 0..5 {
            b[16 + 4 * i..20 + 4 * i].reverse();
        }
        assert_eq!(Header::decode(&b).unwrap(), h);
        let mut part = Header {
            complete: false,
            ..h
        }
        .encode();
        assert!(matches!(Header::decode(&part), Err(ImageError::Incomplete)));
        part[0] = b'X';
        assert!(matches!(Header::decode(&part), Err(ImageError::Magic)));
        assert!(matches!(
            Header::decode(&part[..10]),
            Err(ImageError::Short)
        ));
    }

    /// A header announcing more XML than the file holds is refused before anything is
    /// allocated for it (4 GiB would abort the daemon).
    #[test]
    fn an_announced_length_beyond_the_file_is_refused() {
        let h = Header {
            complete: true,
            version: 2,
            data_len: u32::MAX,
            was_running: false,
            compressed: 0,
            cookie_offset: 0,
        };
        let path = std::env::temp_dir().join(format!("rvirt-save-len-{}", std::process::id()));
        let mut b = h.encode().to_vec();
        b.extend_from_slice(b"<domain/>\0");
        std::fs::write(&path, &b).unwrap();
        let r = Image::open(&path, false);
        let _ = std::fs::remove_file(&path);
        assert!(matches!(r, Err(ImageError::Xml)));
    }

    #[test]
    fn data_is_padded_and_must_fit_when_rewritten() {
        let mut img = Image::new("<domain/>".into(), true);
        img.cookie = Some("<cookie/>".into());
        let bytes = img.encode().unwrap();
        assert_eq!(img.header.data_len, 20 + XML_PAD);
        assert_eq!(img.header.cookie_offset, 10);
        assert_eq!(bytes.len(), HEADER_LEN + 20 + XML_PAD as usize);
        let (xml, cookie) = split_data(&img.header, &bytes[HEADER_LEN..]).unwrap();
        assert_eq!(
            (xml.as_str(), cookie.as_deref()),
            ("<domain/>", Some("<cookie/>"))
        );
        img.xml = "x".repeat(XML_PAD as usize + 20);
        assert!(matches!(img.encode(), Err(ImageError::TooLarge)));
    }
}
