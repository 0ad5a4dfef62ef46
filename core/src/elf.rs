//! A pre-flight check of a shared object before `dlopen`: the dynamic loader maps the
//! file's segments, and a truncated file makes the process die with SIGBUS when the missing
//! pages are touched. Checking that every header and loadable segment lies inside the file
//! turns that crash into a clear error.

/// Why a file is not a loadable 64-bit ELF shared object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    #[error("not an ELF file")]
    NotElf,
    #[error("not a 64-bit little-endian ELF file")]
    WrongClass,
    #[error("not a shared object (ELF type {0})")]
    NotShared(u16),
    #[error("the file is truncated: {0} ends past its size of {1} bytes")]
    Truncated(&'static str, u64),
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

/// Checks headers and segments of an ELF64 shared object against the file size.
pub fn check_shared_object(bytes: &[u8]) -> Result<(), ElfError> {
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    if bytes[4] != 2 || bytes[5] != 1 {
        return Err(ElfError::WrongClass);
    }
    let kind = u16_at(bytes, 16);
    if kind != 3 {
        return Err(ElfError::NotShared(kind));
    }
    let size = bytes.len() as u64;
    let within = |what: &'static str, off: u64, len: u64| {
        if off.checked_add(len).is_some_and(|end| end <= size) {
            Ok(())
        } else {
            Err(ElfError::Truncated(what, size))
        }
    };
    let (phoff, shoff) = (u64_at(bytes, 32), u64_at(bytes, 40));
    let (phentsize, phnum) = (u64::from(u16_at(bytes, 54)), u64::from(u16_at(bytes, 56)));
    let (shentsize, shnum) = (u64::from(u16_at(bytes, 58)), u64::from(u16_at(bytes, 60)));
    within("the program header table", phoff, phentsize * phnum)?;
    within("the section header table", shoff, shentsize * shnum)?;
    for i in 0..phnum {
        let ph = (phoff + i * phentsize) as usize;
        if phentsize < 56 {
            return Err(ElfError::Truncated("a program header", size));
        }
        let (p_type, p_offset, p_filesz) = (
            u32_at(bytes, ph),
            u64_at(bytes, ph + 8),
            u64_at(bytes, ph + 32),
        );
        if p_type == 1 {
            within("a loadable segment", p_offset, p_filesz)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_real_shared_object_and_rejects_truncations() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        // The test binary is an executable (PIE is ET_DYN too); either way its structure is whole.
        let whole = check_shared_object(&exe);
        assert!(
            whole.is_ok() || matches!(whole, Err(ElfError::NotShared(2))),
            "{whole:?}"
        );
        if whole.is_ok() {
            assert!(matches!(
                check_shared_object(&exe[..exe.len() / 2]),
                Err(ElfError::Truncated(..))
            ));
        }
        assert_eq!(
            check_shared_object(
                b"not an elf file at all, just some text that is long enough to read......"
            ),
            Err(ElfError::NotElf)
        );
        assert_eq!(check_shared_object(&exe[..10]), Err(ElfError::NotElf));
    }
}
