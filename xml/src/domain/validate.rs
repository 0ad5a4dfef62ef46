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

/// A memory size element (`<memory>`, `<currentMemory>`) in KiB, refused with
/// libvirt's wording: an unknown unit is an invalid argument, anything but a number an
/// XML error naming the element.
pub fn size_kib(m: &Element) -> Result<u64, XmlError> {
    let unit = m.attr("unit");
    if let Some(u) = unit.filter(|u| crate::units::unit_scale(u).is_none()) {
        return Err(super::errs::invalid_arg(format!("unknown suffix '{u}'")));
    }
    to_kib(&m.name, &m.text, unit).map_err(|_| {
        super::errs::xml_util(format!(
            "Invalid value '{}' for element or attribute './{}[1]'",
            m.text.trim(),
            m.name
        ))
    })
}

/// `<memory>` in KiB; missing or zero is libvirt's "Memory size must be specified".
pub fn memory_kib(e: &Element) -> Result<u64, XmlError> {
    let m = e.child("memory").ok_or(XmlError::NoMemory)?;
    let kib = size_kib(m)?;
    if kib == 0 {
        return Err(XmlError::NoMemory);
    }
    Ok(kib)
}

/// The inclusive ranges of a libvirt CPU list (`0-3,6,^2`); exclusions and unreadable
/// parts are skipped, as only the extent matters to the callers.
pub fn cpu_ranges(list: &str) -> impl Iterator<Item = (u32, u32)> + '_ {
    list.split(',').filter_map(|part| {
        let part = part.trim();
        if part.starts_with('^') {
            return None;
        }
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let (lo, hi): (u32, u32) = (lo.trim().parse().ok()?, hi.trim().parse().ok()?);
        (lo <= hi).then_some((lo, hi))
    })
}

/// libvirt's check of the vCPUs the NUMA cells name against `<vcpu>`: `count` vCPUs
/// named, the highest being `max_id`.
pub fn numa_vcpus(vcpus: u32, count: u32, max_id: Option<u32>) -> Result<(), XmlError> {
    if count > vcpus {
        return Err(super::errs::internal(
            "Number of CPUs in <numa> exceeds the <vcpu> count".into(),
        ));
    }
    if vcpus == 0 || max_id.is_some_and(|m| m >= vcpus) {
        return Err(super::errs::internal(
            "CPU IDs in <numa> exceed the <vcpu> count".into(),
        ));
    }
    Ok(())
}

/// The actions `<on_poweroff>`, `<on_reboot>` and `<on_crash>` may name.
pub const LIFECYCLE_ACTIONS: [&str; 6] = [
    "destroy",
    "restart",
    "preserve",
    "rename-restart",
    "coredump-destroy",
    "coredump-restart",
];

/// A lifecycle action of `<on_NAME>`: an unknown one is refused as libvirt's parser does.
pub fn lifecycle_action(name: &str, v: &str) -> Result<(), XmlError> {
    if LIFECYCLE_ACTIONS.contains(&v) {
        return Ok(());
    }
    Err(super::errs::unsupported(format!(
        "unknown {name} action: {v}"
    )))
}

/// libvirt's later check that power-off and reboot take no core-dumping action.
pub fn lifecycle_allowed(event: &str, v: &str) -> Result<(), XmlError> {
    if v.starts_with("coredump-") {
        return Err(super::errs::unsupported(format!(
            "Lifecycle event '{event}' doesn't support '{v}' action"
        )));
    }
    Ok(())
}

/// The OS types libvirt knows.
const OS_TYPES: &[&str] = &["hvm", "xen", "linux", "exe", "uml", "xenpvh"];

/// The architectures libvirt knows.
const ARCHES: &[&str] = &[
    "aarch64",
    "alpha",
    "armv6l",
    "armv7l",
    "armv7b",
    "cris",
    "i686",
    "ia64",
    "lm32",
    "loongarch64",
    "m68k",
    "microblaze",
    "microblazeel",
    "mips",
    "mipsel",
    "mips64",
    "mips64el",
    "openrisc",
    "parisc",
    "parisc64",
    "ppc",
    "ppcle",
    "ppc64",
    "ppc64le",
    "ppcemb",
    "riscv32",
    "riscv64",
    "s390",
    "s390x",
    "sh4",
    "sh4eb",
    "sparc",
    "sparc64",
    "unicore32",
    "x86_64",
    "xtensa",
    "xtensaeb",
];

/// `<os><type>`: an OS type and architecture libvirt knows.
pub fn os_type(t: &Element) -> Result<(), XmlError> {
    let os = t.text.trim();
    if !OS_TYPES.contains(&os) {
        return Err(super::errs::unsupported(format!("unknown OS type '{os}'")));
    }
    match t.attr("arch") {
        Some(a) if !ARCHES.contains(&a) => Err(super::errs::unsupported(format!(
            "Unknown architecture {a}"
        ))),
        _ => Ok(()),
    }
}

/// `<metadata>` as libvirt keeps it: only elements in a namespace of their own.
pub fn metadata(m: &Element) -> Element {
    let mut m = m.clone();
    m.children
        .retain(|c| c.name.contains(':') || c.attrs.iter().any(|(k, _)| k == "xmlns"));
    m
}

/// The `<vcpu>` count: an unsigned 32-bit number no greater than [`MAX_VCPUS`].
pub fn vcpu_count(text: &str) -> Result<u32, XmlError> {
    let n: u32 = text.parse().map_err(|_| XmlError::VcpuNotInteger)?;
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

    /// Refusals checked against libvirt 9.0's test driver.
    #[test]
    fn top_level_refusals_worded_like_libvirt() {
        let d = |pre: &str, post: &str| {
            let x = format!(
                "<domain type='test'><name>a</name>{pre}<os><type>hvm</type></os>{post}</domain>"
            );
            DomainDef::parse(&x).unwrap_err()
        };
        let m = "<memory>1024</memory>";
        let cases = [
            (d("<memory unit='furlong'>1</memory>", ""), 8, "invalid argument: unknown suffix 'furlong'"),
            (d("<memory>-5</memory>", ""), 27, "XML error: Invalid value '-5' for element or attribute './memory[1]'"),
            (d(&format!("{m}<vcpu current='5'>4</vcpu>"), ""), 67, "unsupported configuration: maximum vCPU count must not be less than current vCPU count"),
            (d(&format!("{m}<vcpu>0</vcpu>"), ""), 1, "internal error: CPU IDs in <numa> exceed the <vcpu> count"),
            (d(m, "<on_reboot>explode</on_reboot>"), 67, "unsupported configuration: unknown on_reboot action: explode"),
            (d(m, "<on_poweroff>coredump-destroy</on_poweroff>"), 67, "unsupported configuration: Lifecycle event 'poweroff' doesn't support 'coredump-destroy' action"),
            (d(m, "<on_lockfailure>x</on_lockfailure>"), 67, "unsupported configuration: unknown on_lockfailure action: x"),
            (d(m, "<genid>x</genid>"), 1, "internal error: malformed genid element"),
            (d(m, "<cpu><numa><cell cpus='0-3' memory='1'/></numa></cpu>"), 1, "internal error: Number of CPUs in <numa> exceeds the <vcpu> count"),
        ];
        for (e, code, text) in cases {
            assert_eq!((e.code(), e.to_string().as_str()), (code, text));
        }
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
