//! libvirt's test-driver node file (`test:///path/to/node.xml`).
//!
//! A `<node>` root holds `<cpu>`, `<memory>` (KiB) and any number of
//! `<domain>`, `<network>`, `<pool>` (with `<volume>` children), `<interface>`
//! and `<device>` elements. Each object is either inline or given as
//! `file='relative/path.xml'`, resolved against the node file's directory.

use std::path::Path;

use crate::domain::DomainDef;
use crate::network::NetworkDef;
use crate::nodedev::NodeDeviceDef;
use crate::storage::{StoragePoolDef, StorageVolDef};
use crate::tree::{num, parse_document, parse_root, Element};
use crate::XmlError;

/// Host CPU description of the fake node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeCpu {
    /// `<model>` (default i686).
    pub model: String,
    /// `<mhz>` (default 1400).
    pub mhz: u32,
    /// `<nodes>` (default 2).
    pub nodes: u32,
    /// `<sockets>` (default 2).
    pub sockets: u32,
    /// `<cores>` (default 2).
    pub cores: u32,
    /// `<threads>` (default 2).
    pub threads: u32,
    /// Active CPUs: `<active>` capped at nodes*sockets*cores*threads.
    pub active: u32,
}

impl Default for NodeCpu {
    fn default() -> NodeCpu {
        NodeCpu {
            model: "i686".into(),
            mhz: 1400,
            nodes: 2,
            sockets: 2,
            cores: 2,
            threads: 2,
            active: 16,
        }
    }
}

/// Default node memory: 3 GiB in KiB.
pub const DEFAULT_MEMORY_KIB: u64 = 3 * 1024 * 1024;

/// A parsed test-driver node file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestNode {
    /// `<cpu>`.
    pub cpu: NodeCpu,
    /// `<memory>` in KiB.
    pub memory_kib: u64,
    /// Domains in file order.
    pub domains: Vec<DomainDef>,
    /// Networks in file order.
    pub networks: Vec<NetworkDef>,
    /// Pools with their volumes.
    pub pools: Vec<(StoragePoolDef, Vec<StorageVolDef>)>,
    /// Node devices.
    pub devices: Vec<NodeDeviceDef>,
    /// Host `<interface>` definitions, kept as element trees (not modelled).
    pub interfaces: Vec<Element>,
}

impl TestNode {
    /// Parses a node document; `file=` references are read relative to `base_dir`.
    pub fn parse(xml: &str, base_dir: &Path) -> Result<TestNode, XmlError> {
        let root = parse_root(xml, "node")?;
        let mut n = TestNode {
            cpu: parse_cpu(root.child("cpu"))?,
            memory_kib: match root.child_text("memory") {
                Some(m) => num("node/memory", &m)?,
                None => DEFAULT_MEMORY_KIB,
            },
            domains: Vec::new(),
            networks: Vec::new(),
            pools: Vec::new(),
            devices: Vec::new(),
            interfaces: Vec::new(),
        };
        for c in &root.children {
            n.add_object(c, base_dir)?;
        }
        Ok(n)
    }

    fn add_object(&mut self, c: &Element, base: &Path) -> Result<(), XmlError> {
        match c.name.as_str() {
            "domain" => self
                .domains
                .push(DomainDef::from_element(&resolve(c, base)?)?),
            "network" => self
                .networks
                .push(NetworkDef::from_element(&resolve(c, base)?)?),
            "device" => self
                .devices
                .push(NodeDeviceDef::from_element(&resolve(c, base)?)?),
            "interface" => self.interfaces.push(resolve(c, base)?),
            "pool" => self.pools.push(parse_pool(c, base)?),
            _ => {}
        }
        Ok(())
    }
}

/// Loads the element named by `file=`, or returns the inline element.
fn resolve(e: &Element, base: &Path) -> Result<Element, XmlError> {
    let Some(file) = e.attr("file") else {
        return Ok(e.clone());
    };
    let path = base.join(file);
    let text = crate::file::read_document(&path).map_err(|err| {
        XmlError::invalid(
            format!("node/{}/@file", e.name),
            format!("{} ({err})", path.display()),
        )
    })?;
    let root = parse_document(&text)?;
    if root.name != e.name {
        return Err(XmlError::Unexpected(format!(
            "{} (expected <{}> in {})",
            root.name,
            e.name,
            path.display()
        )));
    }
    Ok(root)
}

fn parse_pool(e: &Element, base: &Path) -> Result<(StoragePoolDef, Vec<StorageVolDef>), XmlError> {
    let mut pool_el = resolve(e, base)?;
    pool_el.children.retain(|c| c.name != "volume");
    let pool = StoragePoolDef::from_element(&pool_el)?;
    let mut vols = Vec::new();
    for v in e.children_named("volume") {
        let mut vol = StorageVolDef::from_element(&resolve(v, base)?, &pool.pool_type)?;
        if let (None, Some(dir)) = (&vol.target_path, &pool.target_path) {
            vol.target_path = Some(format!("{dir}/{}", vol.name));
        }
        vols.push(vol);
    }
    Ok((pool, vols))
}

fn parse_cpu(e: Option<&Element>) -> Result<NodeCpu, XmlError> {
    let mut cpu = NodeCpu::default();
    let Some(e) = e else {
        return Ok(cpu);
    };
    let get = |k: &str, d: u32| -> Result<u32, XmlError> {
        match e.child_text(k) {
            Some(v) => num(&format!("node/cpu/{k}"), &v),
            None => Ok(d),
        }
    };
    cpu.nodes = get("nodes", cpu.nodes)?;
    cpu.sockets = get("sockets", cpu.sockets)?;
    cpu.cores = get("cores", cpu.cores)?;
    cpu.threads = get("threads", cpu.threads)?;
    cpu.mhz = get("mhz", cpu.mhz)?;
    let total = cpu.nodes * cpu.sockets * cpu.cores * cpu.threads;
    cpu.active = get("active", total)?.min(total);
    if let Some(m) = e.child_text("model") {
        cpu.model = m.chars().take(31).collect();
    }
    Ok(cpu)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE: &str = "<?xml version='1.0'?>
<node>
  <!-- a comment -->
  <domain file='dom.xml'/>
  <domain type='test'>
    <name>inline</name>
    <memory>524288</memory>
    <os><type>hvm</type></os>
  </domain>
  <network file='net.xml'/>
  <pool file='pool.xml'>
    <volume file='vol.xml'/>
  </pool>
  <pool type='dir'>
    <name>inline-pool</name>
    <target><path>/inline</path></target>
    <volume><name>v2</name><capacity unit='M'>1</capacity></volume>
  </pool>
  <interface type='ethernet' name='eth1'><start mode='onboot'/></interface>
  <device file='dev.xml'/>
  <cpu>
    <mhz>6000</mhz>
    <model>i986</model>
    <active>50</active>
    <nodes>4</nodes>
    <sockets>4</sockets>
    <cores>4</cores>
    <threads>2</threads>
  </cpu>
  <memory>8192000</memory>
</node>";

    fn scratch_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("rvirt-xml-testnode-{}", crate::Uuid::random()));
        std::fs::create_dir_all(&d).unwrap();
        let files = [
            ("dom.xml", "<domain type='test'><name>fv0</name><uuid>4dea22b31d52d8f32516782e98ab3fa0</uuid><memory>524288</memory><vcpu>4</vcpu><os><type>hvm</type></os></domain>"),
            ("net.xml", "<network><name>private</name><bridge name='brpriv'/></network>"),
            ("pool.xml", "<pool type='dir'><name>default-pool</name><capacity>107374182400</capacity><target><path>/default-pool</path></target></pool>"),
            ("vol.xml", "<volume><name>default-vol</name><capacity>1000000</capacity><allocation>50000</allocation><target/></volume>"),
            ("dev.xml", "<device><name>File_test_device</name><capability type='system'><hardware><uuid>11111111-2222-3333-4444-555555555555</uuid></hardware></capability></device>"),
        ];
        for (n, t) in files {
            std::fs::write(d.join(n), t).unwrap();
        }
        d
    }

    #[test]
    fn parses_node_file() {
        let dir = scratch_dir();
        let n = TestNode::parse(NODE, &dir).unwrap();
        assert_eq!(
            n.cpu,
            NodeCpu {
                model: "i986".into(),
                mhz: 6000,
                nodes: 4,
                sockets: 4,
                cores: 4,
                threads: 2,
                active: 50
            }
        );
        assert_eq!(n.memory_kib, 8192000);
        let names: Vec<_> = n.domains.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["fv0", "inline"]);
        assert_eq!(n.networks[0].name, "private");
        assert_eq!(n.pools.len(), 2);
        assert_eq!(n.pools[0].1[0].name, "default-vol");
        assert_eq!(
            n.pools[0].1[0].target_path.as_deref(),
            Some("/default-pool/default-vol")
        );
        assert_eq!(n.pools[1].1[0].capacity, 1 << 20);
        assert_eq!(n.devices[0].name, "File_test_device");
        assert_eq!(n.interfaces[0].attr("name"), Some("eth1"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// The node the test driver builds `test:///default` from.
    const DEFAULT_NODE: &str = "<node>
<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory>8388608</memory>
  <currentMemory>2097152</currentMemory>
  <vcpu>2</vcpu>
  <os><type>hvm</type></os>
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
</domain>
<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <bridge name='virbr0'/>
  <forward/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp>
  </ip>
</network>
<interface type='ethernet' name='eth1'>
  <start mode='onboot'/>
  <mac address='aa:bb:cc:dd:ee:ff'/>
</interface>
<pool type='dir'>
  <name>default-pool</name>
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
  <target><path>/default-pool</path></target>
</pool>
<device>
  <name>computer</name>
  <capability type='system'>
    <hardware>
      <vendor>Libvirt</vendor>
      <version>Test driver</version>
      <serial>123456</serial>
      <uuid>11111111-2222-3333-4444-555555555555</uuid>
    </hardware>
    <firmware>
      <vendor>Libvirt</vendor>
      <version>Test Driver</version>
      <release_date>01/22/2007</release_date>
    </firmware>
  </capability>
</device>
<device>
  <name>scsi_host1</name>
  <parent>computer</parent>
  <capability type='scsi_host'>
    <host>1</host>
    <unique_id>0</unique_id>
    <capability type='fc_host'>
      <wwnn>2000000012341234</wwnn>
      <wwpn>1000000012341234</wwpn>
      <fabric_wwn>2000000043214321</fabric_wwn>
    </capability>
    <capability type='vport_ops'>
      <max_vports>127</max_vports>
      <vports>1</vports>
    </capability>
  </capability>
</device>
</node>";

    fn fixture(s: &str) -> String {
        let body = s.split_once('\n').map(|x| x.1).unwrap_or("");
        let end = body
            .rfind("\n\n[exit=")
            .expect("fixture has an exit marker");
        format!("{}\n", &body[..end])
    }

    macro_rules! compat {
        ($p:literal) => {
            fixture(include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/data/compat/virsh-testdriver/",
                $p
            )))
        };
    }

    #[test]
    fn default_node_matches_virsh_fixtures() {
        let mut n = TestNode::parse(DEFAULT_NODE, Path::new("/")).unwrap();
        let d = &mut n.domains[0];
        d.arch = Some("i686".into());
        d.interfaces_mut().next().unwrap().target_dev = Some("testnet0".into());
        assert_eq!(d.to_xml(Some(1)), compat!("dumpxml-test.txt"));
        assert_eq!(n.networks[0].to_xml(), compat!("net-dumpxml-default.txt"));
        let pool = &mut n.pools[0].0;
        pool.capacity = 100 << 30;
        pool.available = 100 << 30;
        assert_eq!(pool.to_xml(), compat!("pool-dumpxml-default-pool.txt"));
        assert_eq!(
            n.devices[0].to_xml(),
            compat!("nodedev-dumpxml-computer.txt")
        );
        assert_eq!(n.devices[1].cap_names(), ["scsi_host", "fc_host", "vports"]);
        assert_eq!(n.interfaces.len(), 1);
    }

    #[test]
    fn defaults_and_caps() {
        let n = TestNode::parse(
            "<node><cpu><active>100</active></cpu></node>",
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(n.cpu.active, 16);
        assert_eq!(n.cpu.model, "i686");
        assert_eq!(n.memory_kib, DEFAULT_MEMORY_KIB);
    }

    #[test]
    fn errors() {
        let base = Path::new("/nonexistent-rvirt");
        assert!(matches!(
            TestNode::parse("<node><domain file='missing.xml'/></node>", base),
            Err(XmlError::InvalidValue { .. })
        ));
        assert!(TestNode::parse("<node><frob/></node>", base).is_ok());
        assert_eq!(
            TestNode::parse("<node><domain type='test'><memory>1</memory><os><type>hvm</type></os></domain></node>", base),
            Err(XmlError::MissingElement("domain/name".into()))
        );
        assert!(matches!(
            TestNode::parse("<node><cpu><mhz>x</mhz></cpu></node>", base),
            Err(XmlError::InvalidValue { .. })
        ));
        assert!(matches!(
            TestNode::parse("<domain/>", base),
            Err(XmlError::WrongRoot { .. })
        ));
    }
}
