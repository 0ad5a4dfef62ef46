//! The value checks libvirt's domain parser makes on every definition, whatever the driver:
//! names, memory and the vCPU count.

use crate::tree::Element;
use crate::units::to_kib;
use crate::XmlError;

/// Most vCPUs a definition may ask for. libvirt allocates per vCPU while parsing and
/// aborts on counts near 2³²; no hypervisor runs more than a few thousand (QEMU's largest
/// machine types allow 4096), so anything above this is refused at parse time. Drivers
/// check their own, lower, machine limits on top.
pub const MAX_VCPUS: u32 = 16384;

/// libvirt's checks on a domain or storage pool name: no '/', no newline. `raw` is the
/// `<name>` text as written (a newline around the name counts too).
pub fn check_object_name(raw: &str, name: &str) -> Result<(), XmlError> {
    if name.contains('/') {
        return Err(XmlError::NameSlash(name.to_string()));
    }
    XmlError::check_illegal_chars("name", raw, &['\n'])
}

/// The `<name>` text as written, for [`check_object_name`].
pub fn raw_name(e: &Element) -> &str {
    e.child("name").map(|n| n.text.as_str()).unwrap_or_default()
}

/// `<memory>` in KiB; missing or zero is libvirt's "Memory size must be specified".
pub fn memory_kib(e: &Element) -> Result<u64, XmlError> {
    let m = e.child("memory").ok_or(XmlError::NoMemory)?;
    let kib = to_kib("domain/memory", &m.text, m.attr("unit"))?;
    if kib == 0 {
        return Err(XmlError::NoMemory);
    }
    Ok(kib)
}

/// The `<vcpu>` count: an unsigned 32-bit number no greater than [`MAX_VCPUS`].
pub fn vcpu_count(text: &str) -> Result<u32, XmlError> {
    let n: u32 = text.trim().parse().map_err(|_| XmlError::VcpuNotInteger)?;
    if n > MAX_VCPUS {
        return Err(XmlError::TooManyVcpus { max: MAX_VCPUS });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DomainDef;
    use crate::XML_DETAIL;

    fn doc(name: &str, memory: &str, vcpu: &str) -> String {
        format!(
            "<domain type='test'><name>{name}</name><memory>{memory}</memory>\
             <vcpu>{vcpu}</vcpu><os><type>hvm</type></os></domain>"
        )
    }

    #[test]
    fn names_with_slash_or_newline_are_refused() {
        let e = DomainDef::parse(&doc("../../etc/evil", "1024", "1")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "XML error: name ../../etc/evil cannot contain '/'"
        );
        let e = DomainDef::parse(&doc("a\nb", "1024", "1")).unwrap_err();
        assert_eq!(e.to_string(), "invalid char in name: \n");
        assert_eq!(e.code(), XML_DETAIL);
        // A newline around the name is still a newline in it, as in libvirt.
        assert!(DomainDef::parse(&doc("\n  a\n", "1024", "1")).is_err());
        // Tabs and spaces are fine.
        assert_eq!(
            DomainDef::parse(&doc("a\tb c", "1024", "1")).unwrap().name,
            "a\tb c"
        );
    }

    #[test]
    fn names_with_nul_or_controls_are_not_xml() {
        for name in ["a\0b", "a&#0;b", "a\u{1}b", "a&#1;b", "a&#x1b;b"] {
            assert!(
                matches!(
                    DomainDef::parse(&doc(name, "1024", "1")),
                    Err(XmlError::Malformed(_))
                ),
                "{name:?}"
            );
        }
    }

    #[test]
    fn zero_or_missing_memory_is_refused() {
        for m in ["0", "0 ", "1023 "] {
            let x = format!(
                "<domain type='test'><name>a</name><memory unit='b'>{m}</memory><os><type>hvm</type></os></domain>"
            );
            let r = DomainDef::parse(&x);
            if m.starts_with('0') {
                assert_eq!(r.unwrap_err(), XmlError::NoMemory, "{m}");
            } else {
                assert!(r.unwrap().memory_kib > 0);
            }
        }
        let x = "<domain type='test'><name>a</name><os><type>hvm</type></os></domain>";
        assert_eq!(DomainDef::parse(x).unwrap_err(), XmlError::NoMemory);
    }

    #[test]
    fn vcpu_counts_are_bounded() {
        assert_eq!(
            DomainDef::parse(&doc("a", "1024", "4294967295")).unwrap_err(),
            XmlError::TooManyVcpus { max: MAX_VCPUS }
        );
        for bad in ["4294967296", "-1", "many"] {
            let e = DomainDef::parse(&doc("a", "1024", bad)).unwrap_err();
            assert_eq!(
                e.to_string(),
                "XML error: maximum vcpus count must be an integer"
            );
        }
        let max = MAX_VCPUS.to_string();
        assert_eq!(
            DomainDef::parse(&doc("a", "1024", &max)).unwrap().vcpus,
            MAX_VCPUS
        );
    }
}
