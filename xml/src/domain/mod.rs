//! Domain (virtual machine) XML: `<domain>`.

mod chardev;
mod clock;
mod cpu;
mod devcheck;
mod devices;
mod disk;
pub(crate) mod errs;
mod features;
mod generic;
mod implicit;
mod info;
mod interface;
pub mod metadata;
mod misc;
#[cfg(test)]
mod oracle_tests;
mod os;
pub mod simple;
mod top;
mod tune;
mod validate;

pub use chardev::{CharDev, ChrKind};
pub use clock::{ClockDef, Timer};
pub use cpu::CpuDef;
pub use devices::Device;
pub use disk::{ChainImage, Controller, Disk, DiskDriver};
pub use features::{feature_on, insert_feature, Feature};
pub use generic::GenericDevice;
pub use info::{Address, DeviceInfo};
pub use interface::{normalize_mac, random_mac, Interface, LivePlug, LivePort};
pub use misc::{Graphics, Input, MemBalloon, Rng, Video, Watchdog};
pub use os::{Loader, Nvram, OsDef};
pub use validate::LIFECYCLE_ACTIONS;
pub use validate::{check_object_name, MAX_VCPUS};

use crate::out::{Attrs, Out};
use crate::tree::{parse_root, Element};
use crate::{Uuid, XmlError};

/// Namespace of the test driver's private elements.
pub const TEST_NS: &str = "http://libvirt.org/schemas/domain/test/1.0";

/// A value from a small fixed vocabulary (domain type, OS type, lifecycle actions, clock
/// offset, boot devices). Known words are shared static strings, so a definition does not
/// allocate for them; anything else is owned.
pub type Word = std::borrow::Cow<'static, str>;

const VOCABULARY: &[&str] = &[
    "test",
    "kvm",
    "qemu",
    "xen",
    "lxc",
    "hvm",
    "linux",
    "exe",
    "static",
    "auto",
    "destroy",
    "restart",
    "preserve",
    "rename-restart",
    "coredump-destroy",
    "coredump-restart",
    "utc",
    "localtime",
    "timezone",
    "variable",
    "hd",
    "cdrom",
    "fd",
    "network",
];

/// Interns `s` when it is a known vocabulary word.
pub fn word(s: &str) -> Word {
    match VOCABULARY.iter().find(|w| **w == s) {
        Some(w) => Word::Borrowed(w),
        None => Word::Owned(s.to_string()),
    }
}

/// A domain definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainDef {
    /// `<domain type>`: test, kvm, qemu, xen, ...
    pub domain_type: Word,
    /// `<name>`.
    pub name: String,
    /// `<uuid>`, generated when absent.
    pub uuid: Uuid,
    /// `<title>`, `<description>`, `<vcpu cpuset>`, `<resource><partition>` (boxed: most
    /// domains set none of them). Read with [`DomainDef::extras`], change with
    /// [`DomainDef::extras_mut`].
    pub extras: Option<Box<DomainExtras>>,
    /// `<metadata>` preserved as a raw element tree (boxed: rarely present).
    pub metadata: Option<Box<Element>>,
    /// `<memory>` in KiB.
    pub memory_kib: u64,
    /// `<currentMemory>` in KiB (defaults to, and is capped at, `memory_kib`).
    pub current_memory_kib: u64,
    /// `<vcpu>` maximum.
    pub vcpus: u32,
    /// `<vcpu current>`, defaults to `vcpus`.
    pub current_vcpus: u32,
    /// `<vcpu placement>` (static or auto).
    pub vcpu_placement: Word,
    /// `<os><type>` text: hvm, xen, linux, exe.
    pub os_type: Word,
    /// `<os><type arch>`.
    pub arch: Option<String>,
    /// `<os><type machine>`.
    pub machine: Option<String>,
    /// The rest of `<os>`.
    pub os: OsDef,
    /// `<features>` flags in libvirt order.
    pub features: Vec<Feature>,
    /// `<cpu>` (boxed: rarely present and large).
    pub cpu: Option<Box<CpuDef>>,
    /// `<clock>`.
    pub clock: ClockDef,
    /// `<on_poweroff>`.
    pub on_poweroff: Word,
    /// `<on_reboot>`.
    pub on_reboot: Word,
    /// `<on_crash>`.
    pub on_crash: Word,
    /// `<devices><emulator>`.
    pub emulator: Option<String>,
    /// Devices in document order (formatted in libvirt's category order).
    pub devices: Vec<Device>,
    /// Test driver `<test:runstate>` (initial state for test:/// node files).
    pub test_runstate: Option<u32>,
}

/// The rarely-set top-level parts of a domain definition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DomainExtras {
    /// `<title>`.
    pub title: Option<String>,
    /// `<description>`.
    pub description: Option<String>,
    /// `<vcpu cpuset>`.
    pub cpuset: Option<String>,
    /// `<resource><partition>`.
    pub resource_partition: Option<String>,
    /// `<resource><fibrechannel appid>`.
    pub resource_appid: Option<String>,
    /// `<memory dumpCore>`.
    pub dump_core: Option<String>,
    /// Elements described declaratively ([`simple::TOP`]), in canonical form.
    pub simple: Vec<Element>,
}

static NO_EXTRAS: DomainExtras = DomainExtras {
    title: None,
    description: None,
    cpuset: None,
    resource_partition: None,
    resource_appid: None,
    dump_core: None,
    simple: Vec::new(),
};

impl DomainDef {
    /// Title, description, cpuset and resource partition (all unset when absent).
    pub fn extras(&self) -> &DomainExtras {
        self.extras.as_deref().unwrap_or(&NO_EXTRAS)
    }

    /// Mutable access to them, allocating on first change.
    pub fn extras_mut(&mut self) -> &mut DomainExtras {
        self.extras.get_or_insert_with(Default::default)
    }

    /// Parses a `<domain>` document.
    pub fn parse(xml: &str) -> Result<DomainDef, XmlError> {
        let root = parse_root(xml, "domain")?;
        DomainDef::from_element(&root)
    }

    /// Parses a `<domain>` document, validating it against libvirt's schema first when
    /// `opts` asks for it (`VIR_DOMAIN_DEFINE_VALIDATE`, `VIR_DOMAIN_START_VALIDATE`).
    /// Either way, bad values of attributes the schema enumerates are refused, as
    /// libvirt's parsers do, in the order libvirt reads the document.
    pub fn parse_with(xml: &str, opts: crate::ParseOptions) -> Result<DomainDef, XmlError> {
        let root = crate::schema::parse_lenient(xml, "domain", crate::Schema::Domain, opts)?;
        DomainDef::build(&root, true, opts).map_err(devcheck::reword)
    }

    /// Builds a definition from an already parsed `<domain>` element.
    pub fn from_element(e: &Element) -> Result<DomainDef, XmlError> {
        DomainDef::build(e, false, crate::ParseOptions::default())
    }

    /// Reads the top-level parts, then the devices, then makes libvirt's checks on the
    /// whole; `check` also refuses bad enumerated values.
    fn build(e: &Element, check: bool, opts: crate::ParseOptions) -> Result<DomainDef, XmlError> {
        let mut d = top::parse(e, check)?;
        top::check_rest(e, check)?;
        if let Some(devs) = e.child("devices") {
            if check {
                top::check_values_of(e, devs, &[])?;
            }
            d.emulator = devs.child_text("emulator");
            d.devices = devices::parse(devs, &d.os_type, opts.default_usb)?;
            let numa = e.child("cpu").and_then(|c| c.child("numa")).is_some();
            devcheck::memory_devices(&d.devices, d.memory_kib, numa)?;
        }
        top::finish(&d)?;
        let raw_boot_order = e.child("devices").is_some_and(|devs| {
            devs.children
                .iter()
                .any(|c| c.child("boot").is_some_and(|b| b.attr("order").is_some()))
        });
        if !raw_boot_order {
            d.apply_boot_default();
        }
        Ok(d)
    }

    /// libvirt boots from the first disk when an HVM guest names no boot device (here
    /// or, checked by the caller on the document, as any device's boot order).
    fn apply_boot_default(&mut self) {
        let per_device = self.devices.iter().any(|d| match d {
            Device::Disk(x) => x.info.boot_order.is_some(),
            Device::Interface(x) => x.info.boot_order.is_some(),
            _ => false,
        });
        let bootloader = self.extras().simple.iter().any(|s| s.name == "bootloader");
        if self.os_type == "hvm" && self.os.boot_devs.is_empty() && !per_device && !bootloader {
            self.os.boot_devs = vec![Word::Borrowed("hd")];
        }
    }

    /// All disks.
    pub fn disks(&self) -> impl Iterator<Item = &Disk> {
        self.devices.iter().filter_map(|d| match d {
            Device::Disk(x) => Some(x),
            _ => None,
        })
    }

    /// All network interfaces.
    pub fn interfaces(&self) -> impl Iterator<Item = &Interface> {
        self.devices.iter().filter_map(|d| match d {
            Device::Interface(x) => Some(x),
            _ => None,
        })
    }

    /// Mutable access to all network interfaces.
    pub fn interfaces_mut(&mut self) -> impl Iterator<Item = &mut Interface> {
        self.devices.iter_mut().filter_map(|d| match d {
            Device::Interface(x) => Some(x),
            _ => None,
        })
    }

    /// Formats the definition; `live_id` adds `id='N'` and runtime details.
    pub fn to_xml(&self, live_id: Option<i32>) -> String {
        let mut out = Out::new();
        let attrs = Attrs::new()
            .add("type", &self.domain_type)
            .opt("id", live_id)
            .opt("xmlns:test", self.test_runstate.map(|_| TEST_NS));
        out.open("domain", &attrs);
        self.write_general(&mut out);
        self.write_os(&mut out);
        features::write_features(&mut out, &self.features);
        if let Some(c) = &self.cpu {
            c.write(&mut out);
        }
        self.clock.write(&mut out);
        out.text("on_poweroff", &Attrs::new(), &self.on_poweroff);
        out.text("on_reboot", &Attrs::new(), &self.on_reboot);
        out.text("on_crash", &Attrs::new(), &self.on_crash);
        simple::write(
            &mut out,
            &self.extras().simple,
            simple::Anchor::AfterLifecycle,
        );
        devices::write(
            &mut out,
            self.emulator.as_deref(),
            &self.devices,
            live_id.is_some(),
        );
        simple::write(
            &mut out,
            &self.extras().simple,
            simple::Anchor::AfterDevices,
        );
        if let Some(r) = self.test_runstate {
            out.text("test:runstate", &Attrs::new(), &r.to_string());
        }
        out.close("domain");
        out.finish()
    }

    fn write_general(&self, out: &mut Out) {
        out.text("name", &Attrs::new(), &self.name);
        out.text("uuid", &Attrs::new(), &self.uuid.to_string());
        let x = self.extras();
        simple::write(out, &x.simple, simple::Anchor::AfterUuid);
        out.opt_text("title", x.title.as_ref());
        out.opt_text("description", x.description.as_ref());
        if let Some(m) = &self.metadata {
            if m.children.is_empty() {
                m.write(out);
            } else {
                out.open("metadata", &Attrs::new());
                for c in &m.children {
                    c.write_foreign(out);
                }
                out.close("metadata");
            }
        }
        simple::write(out, &x.simple, simple::Anchor::BeforeMemory);
        let kib = Attrs::new().add("unit", "KiB");
        match &x.dump_core {
            Some(dc) => {
                let mem = kib.clone().add("dumpCore", dc);
                out.text("memory", &mem, &self.memory_kib.to_string());
            }
            None => out.text("memory", &kib, &self.memory_kib.to_string()),
        }
        out.text("currentMemory", &kib, &self.current_memory_kib.to_string());
        simple::write(out, &x.simple, simple::Anchor::AfterMemory);
        let va = Attrs::new()
            .add("placement", &self.vcpu_placement)
            .opt("cpuset", x.cpuset.as_ref())
            .opt(
                "current",
                (self.current_vcpus != self.vcpus).then_some(self.current_vcpus),
            );
        out.text("vcpu", &va, &self.vcpus.to_string());
        simple::write(out, &x.simple, simple::Anchor::AfterVcpu);
        if x.resource_partition.is_some() || x.resource_appid.is_some() {
            out.open("resource", &Attrs::new());
            out.opt_text("partition", x.resource_partition.as_ref());
            if let Some(a) = &x.resource_appid {
                out.empty("fibrechannel", &Attrs::new().add("appid", a));
            }
            out.close("resource");
        }
    }

    fn write_os(&self, out: &mut Out) {
        simple::write(out, &self.extras().simple, simple::Anchor::BeforeOs);
        out.open(
            "os",
            &Attrs::new().opt("firmware", self.os.opts().firmware.as_ref()),
        );
        let ta = Attrs::new()
            .opt("arch", self.arch.as_ref())
            .opt("machine", self.machine.as_ref());
        out.text("type", &ta, &self.os_type);
        self.os.write_body(out);
        out.close("os");
        simple::write(out, &self.extras().simple, simple::Anchor::AfterOs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::strip_virsh;

    macro_rules! fixture {
        ($p:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/data/compat/",
                $p
            ))
        };
    }

    const DEFAULT_TEST_DOMAIN: &str = "<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory>8388608</memory>
  <currentMemory>2097152</currentMemory>
  <vcpu>2</vcpu>
  <os>
    <type>hvm</type>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default' bridge='virbr0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x1' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x2' function='0x0'/>
    </memballoon>
  </devices>
</domain>";

    #[test]
    fn fixture_round_trip() {
        let want = strip_virsh(fixture!("virsh-testdriver/dumpxml-test.txt"));
        let d = DomainDef::parse(&want).unwrap();
        assert_eq!(d.to_xml(Some(1)), want);
        assert_eq!(d.name, "test");
        assert_eq!(d.memory_kib, 8388608);
        assert_eq!(d.current_memory_kib, 2097152);
        assert_eq!((d.vcpus, d.current_vcpus), (2, 2));
        let disk = d.disks().next().unwrap();
        assert_eq!(
            (disk.target_dev.as_str(), disk.source.as_deref()),
            ("vda", Some("/guest/diskimage1"))
        );
        let nic = d.interfaces().next().unwrap();
        assert_eq!(nic.mac, "aa:bb:cc:dd:ee:ff");
        assert_eq!(nic.source.as_deref(), Some("default"));
    }

    #[test]
    fn test_driver_default_becomes_fixture() {
        let want = strip_virsh(fixture!("virsh-testdriver/dumpxml-test.txt"));
        let mut d = DomainDef::parse(DEFAULT_TEST_DOMAIN).unwrap();
        d.arch = Some("i686".into());
        d.interfaces_mut().next().unwrap().target_dev = Some("testnet0".into());
        assert_eq!(d.to_xml(Some(1)), want);
        assert!(d.to_xml(None).starts_with("<domain type='test'>\n"));
    }

    #[test]
    fn qemu_tiny_files() {
        for xml in [fixture!("qemu/tiny-kvm.xml"), fixture!("qemu/tiny-tcg.xml")] {
            let d = DomainDef::parse(xml).unwrap();
            assert_eq!(d.memory_kib, 131072);
            assert_eq!(d.machine.as_deref(), Some("pc"));
            assert_eq!(d.emulator.as_deref(), Some("/usr/bin/qemu-system-x86_64"));
            let out = d.to_xml(None);
            assert!(out.contains("<memballoon model='none'/>"));
            assert!(out.contains("<type arch='x86_64' machine='pc'>hvm</type>"));
            assert!(out.contains("<on_reboot>destroy</on_reboot>"));
            assert_eq!(DomainDef::parse(&out).unwrap(), d);
        }
    }

    const FULL: &str = r#"<domain type='kvm'>
  <name>full</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <title>A title</title>
  <metadata>
    <app:data xmlns:app="http://example.org/app">
      <app:item key="x">v</app:item>
    </app:data>
  </metadata>
  <memory unit='KiB'>1048576</memory>
  <currentMemory unit='KiB'>524288</currentMemory>
  <vcpu placement='static' current='1'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader>
    <nvram>/var/lib/libvirt/qemu/nvram/full_VARS.fd</nvram>
    <kernel>/boot/vmlinuz</kernel>
    <initrd>/boot/initrd.img</initrd>
    <cmdline>console=ttyS0</cmdline>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <cpu mode='host-passthrough' check='none' migratable='on'/>
  <clock offset='utc'>
    <timer name='rtc' tickpolicy='catchup'/>
  </clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>coredump-destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none' io='native'/>
      <source file='/var/lib/libvirt/images/full.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <boot order='1'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </disk>
    <controller type='usb' index='0' model='qemu-xhci'/>
    <controller type='sata' index='0'/>
    <controller type='virtio-serial' index='0'/>
    <interface type='user'>
      <mac address='52:54:00:aa:bb:cc'/>
      <model type='virtio'/>
    </interface>
    <interface type='network'>
      <mac address='52:54:00:aa:bb:cd'/>
      <source network='default'/>
      <model type='e1000'/>
      <boot order='2'/>
    </interface>
    <serial type='pty'>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <channel type='unix'>
      <source mode='bind' path='/run/ga.sock'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <input type='tablet' bus='usb'/>
    <input type='keyboard' bus='ps2'/>
    <graphics type='vnc' port='-1' autoport='yes'>
      <listen type='address'/>
    </graphics>
    <video>
      <model type='virtio' heads='1' primary='yes'/>
    </video>
    <watchdog model='i6300esb' action='poweroff'/>
    <memballoon model='virtio'>
      <stats period='10'/>
    </memballoon>
    <rng model='virtio'>
      <backend model='random'>/dev/urandom</backend>
    </rng>
  </devices>
</domain>
"#;

    #[test]
    fn common_qemu_devices_round_trip() {
        let d = DomainDef::parse(FULL).unwrap();
        assert_eq!(d.to_xml(None), FULL);
        assert_eq!(d.current_vcpus, 1);
        assert_eq!(d.disks().count(), 2);
        assert_eq!(d.interfaces().count(), 2);
    }

    #[test]
    fn device_order_is_libvirts() {
        let x = "<domain type='qemu'><name>o</name><memory>1024</memory><os><type>hvm</type></os>
          <devices><memballoon model='none'/><input type='mouse'/><disk type='file'><target dev='vdb'/></disk></devices></domain>";
        let out = DomainDef::parse(x).unwrap().to_xml(None);
        let disk = out.find("<disk").unwrap();
        let input = out.find("<input").unwrap();
        let balloon = out.find("<memballoon").unwrap();
        assert!(disk < input && input < balloon);
        assert!(out.contains("<boot dev='hd'/>"));
        assert!(out.contains("<clock offset='utc'/>"));
    }

    #[test]
    fn memory_units() {
        let x = |u: &str| {
            format!("<domain type='test'><name>m</name><memory unit='{u}'>2</memory><os><type>hvm</type></os></domain>")
        };
        assert_eq!(
            DomainDef::parse(&x("GiB")).unwrap().memory_kib,
            2 * 1024 * 1024
        );
        assert_eq!(DomainDef::parse(&x("MB")).unwrap().memory_kib, 1954);
        assert_eq!(DomainDef::parse(&x("bytes")).unwrap().memory_kib, 1);
        assert_eq!(DomainDef::parse(&x("furlong")).unwrap_err().code(), 8);
    }

    #[test]
    fn errors() {
        let cases = [
            (
                "<domain type='test'><memory>1</memory><os><type>hvm</type></os></domain>",
                XmlError::MissingElement("domain/name".into()),
            ),
            (
                "<domain type='test'><name>x</name><os><type>hvm</type></os></domain>",
                XmlError::NoMemory,
            ),
            (
                "<domain type='test'><name>x</name><memory>1</memory></domain>",
                super::errs::xml("an os <type> must be specified".into()),
            ),
        ];
        for (xml, want) in cases {
            assert_eq!(DomainDef::parse(xml), Err(want), "{xml}");
        }
        assert!(matches!(
            DomainDef::parse("<domain"),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(
            DomainDef::parse("<network/>"),
            Err(XmlError::WrongRoot { .. })
        ));
        let bad_vcpu = "<domain type='test'><name>x</name><memory>1</memory><vcpu current='3'>2</vcpu><os><type>hvm</type></os></domain>";
        assert_eq!(DomainDef::parse(bad_vcpu).unwrap_err().code(), 67);
    }

    #[test]
    fn missing_uuid_generated_and_runstate() {
        let x = "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><test:runstate>3</test:runstate><name>r</name><memory>1</memory><os><type>hvm</type></os></domain>";
        let d = DomainDef::parse(x).unwrap();
        assert_ne!(d.uuid, Uuid::default());
        assert_eq!(d.test_runstate, Some(3));
        assert_eq!(DomainDef::parse(&d.to_xml(None)).unwrap(), d);
    }
}
