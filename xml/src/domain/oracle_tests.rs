//! Top-level domain documents and what libvirt 9.0's test driver made of them
//! (printed XML or refusal), which rvirt must reproduce.

use super::DomainDef;

/// Lines every test document's output shares, left out of the expectations.
const BOILERPLATE: &[&str] = &[
    "<domain type='test'>",
    "  <name>f</name>",
    "  <uuid>11111111-2222-3333-4444-555555555555</uuid>",
    "  <memory unit='KiB'>1024</memory>",
    "  <currentMemory unit='KiB'>1024</currentMemory>",
    "  <vcpu placement='static'>1</vcpu>",
    "  <os>",
    "    <type arch='i686'>hvm</type>",
    "    <boot dev='hd'/>",
    "  </os>",
    "  <clock offset='utc'/>",
    "  <on_poweroff>destroy</on_poweroff>",
    "  <on_reboot>restart</on_reboot>",
    "  <on_crash>destroy</on_crash>",
    "  <devices>",
    "  </devices>",
    "</domain>",
];

/// What rvirt makes of a document holding `case` (before `@@`: ahead of `<os>`,
/// after it: behind), as the test driver keeps it: the output less the
/// boilerplate, or `ERR code message`.
fn outcome(case: &str) -> String {
    let (pre, post) = case.split_once("@@").unwrap_or((case, ""));
    let os = if case.contains("<os") {
        ""
    } else {
        "<os><type>hvm</type></os>"
    };
    let x = format!(
        "<domain type='test'><name>f</name><uuid>11111111-2222-3333-4444-555555555555</uuid>\
         <memory>1024</memory>{pre}{os}{post}</domain>"
    );
    match DomainDef::parse_with(&x, crate::ParseOptions::default()) {
        Ok(mut d) => {
            d.arch.get_or_insert_with(|| "i686".into());
            let out = d.to_xml(None);
            let kept: Vec<&str> = out.lines().filter(|l| !BOILERPLATE.contains(l)).collect();
            kept.join("\n")
        }
        Err(e) => format!("ERR {} {e}", e.code()),
    }
}

/// Tunables, vCPUs and the elements around them: the expectations are what libvirt
/// 9.0's test driver printed for the same documents.
#[test]
fn tunables_like_libvirt() {
    const CASES: &[(&str, &str)] = &[
    (
            "<maxMemory slots='16' unit='GiB'>4</maxMemory>",
            "  <maxMemory slots='16' unit='KiB'>4194304</maxMemory>",
        ),
        (
            "<memtune><swap_hard_limit>9</swap_hard_limit><min_guarantee unit='MiB'>1</min_guarantee><soft_limit>8</soft_limit><hard_limit unit='GiB'>1</hard_limit></memtune>",
            "  <memtune>\n    <hard_limit unit='KiB'>1048576</hard_limit>\n    <soft_limit unit='KiB'>8</soft_limit>\n    <min_guarantee unit='KiB'>1024</min_guarantee>\n    <swap_hard_limit unit='KiB'>9</swap_hard_limit>\n  </memtune>",
        ),
        (
            "<blkiotune><device><path>/dev/sda</path><weight>100</weight><read_bytes_sec>5</read_bytes_sec><write_iops_sec>3</write_iops_sec></device><weight>300</weight></blkiotune>",
            "  <blkiotune>\n    <weight>300</weight>\n    <device>\n      <path>/dev/sda</path>\n      <weight>100</weight>\n      <write_iops_sec>3</write_iops_sec>\n      <read_bytes_sec>5</read_bytes_sec>\n    </device>\n  </blkiotune>",
        ),
        (
            "<vcpu>2</vcpu><vcpus><vcpu id='0' enabled='yes'/></vcpus>",
            "  <vcpu placement='static' current='1'>2</vcpu>\n  <vcpus>\n    <vcpu id='0' enabled='yes' hotpluggable='no'/>\n    <vcpu id='1' enabled='no' hotpluggable='yes'/>\n  </vcpus>",
        ),
        (
            "<vcpu placement='static' cpuset='0-3,^2'>2</vcpu><iothreads>3</iothreads><iothreadids><iothread id='5'/></iothreadids>",
            "  <vcpu placement='static' cpuset='0-1,3'>2</vcpu>\n  <iothreads>3</iothreads>\n  <iothreadids>\n    <iothread id='5'/>\n    <iothread id='1'/>\n    <iothread id='2'/>\n  </iothreadids>",
        ),
        (
            "<vcpu>2</vcpu><cputune><shares>2048</shares><vcpupin vcpu='1' cpuset='1'/><vcpupin vcpu='0' cpuset='0'/><vcpupin vcpu='7' cpuset='0'/></cputune>",
            "  <vcpu placement='static'>2</vcpu>\n  <cputune>\n    <shares>2048</shares>\n    <vcpupin vcpu='0' cpuset='0'/>\n    <vcpupin vcpu='1' cpuset='1'/>\n  </cputune>",
        ),
        (
            "<cputune><period>1</period></cputune>",
            "ERR 67 unsupported configuration: Value of cputune 'period' must be in range [1000, 1000000]",
        ),
        (
            "<vcpu placement='auto'>2</vcpu>",
            "  <vcpu placement='auto'>2</vcpu>\n  <numatune>\n    <memory mode='strict' placement='auto'/>\n  </numatune>",
        ),
        (
            "<numatune><memory mode='strict' placement='static'/></numatune>",
            "ERR 67 unsupported configuration: nodeset for NUMA memory tuning must be set if 'placement' is 'static'",
        ),
        (
            "<genid>x</genid>",
            "ERR 1 internal error: malformed genid element",
        ),
        (
            "<sysinfo type='smbios'><system><entry name='serial'>s</entry><entry name='bogus'>b</entry><entry name='manufacturer'>m</entry></system></sysinfo>",
            "  <sysinfo type='smbios'>\n    <system>\n      <entry name='manufacturer'>m</entry>\n      <entry name='serial'>s</entry>\n    </system>\n  </sysinfo>",
        ),
        (
            "@@<seclabel type='static' model='dac'><label>1:1</label></seclabel><keywrap><cipher name='dea' state='on'/><cipher name='aes' state='off'/></keywrap>",
            "  <seclabel type='static' model='dac' relabel='no'>\n    <label>1:1</label>\n  </seclabel>\n  <keywrap>\n    <cipher name='aes' state='off'/>\n    <cipher name='dea' state='on'/>\n  </keywrap>",
        ),
        (
            "@@<seclabel type='dynamic' model='selinux' relabel='no'/>",
            "ERR 67 unsupported configuration: dynamic label type must use resource relabeling",
        ),
        (
            "@@<on_lockfailure>pause</on_lockfailure><perf><event name='mbmt' enabled='no'/><event name='cmt' enabled='yes'/></perf>",
            "  <on_lockfailure>pause</on_lockfailure>\n  <perf>\n    <event name='cmt' enabled='yes'/>\n    <event name='mbmt' enabled='no'/>\n  </perf>",
        ),
        (
            "<memoryBacking><hugepages><page size='2' unit='MiB'/></hugepages><source type='bogus'/></memoryBacking>",
            "ERR 67 unsupported configuration: unknown memoryBacking/source/type 'bogus'",
        ),
    ];
    for (case, want) in CASES {
        assert_eq!(outcome(case), *want, "{case}");
    }
}

/// Features, CPU, clock, OS and refusals, likewise checked against libvirt 9.0.
#[test]
fn top_level_like_libvirt() {
    const CASES: &[(&str, &str)] = &[
    (
            "<features><hyperv/><pmu/><smm><tseg unit='KiB'>1024</tseg></smm></features>",
            "  <features>\n    <hyperv mode='custom'>\n    </hyperv>\n    <pmu state='on'/>\n    <smm state='on'>\n      <tseg unit='MiB'>1</tseg>\n    </smm>\n  </features>",
        ),
        (
            "<features><frobnicate/></features>",
            "ERR 67 unsupported configuration: unexpected feature 'frobnicate'",
        ),
        (
            "<cpu mode='host-passthrough'><model>qemu64</model><vendor>Intel</vendor></cpu>",
            "  <cpu mode='host-passthrough'/>",
        ),
        (
            "<vcpu>3</vcpu>@@<cpu><numa><cell cpus='0' memory='1'><distances><sibling id='1' value='15'/></distances></cell><cell cpus='1' memory='1'/><cell cpus='2' memory='1'/></numa></cpu>",
            "  <vcpu placement='static'>3</vcpu>\n  <cpu>\n    <numa>\n      <cell id='0' cpus='0' memory='1' unit='KiB'>\n        <distances>\n          <sibling id='0' value='10'/>\n          <sibling id='1' value='15'/>\n        </distances>\n      </cell>\n      <cell id='1' cpus='1' memory='1' unit='KiB'>\n        <distances>\n          <sibling id='0' value='15'/>\n          <sibling id='1' value='10'/>\n        </distances>\n      </cell>\n      <cell id='2' cpus='2' memory='1' unit='KiB'/>\n    </numa>\n  </cpu>",
        ),
        (
            "<clock offset='localtime' adjustment='5'/>",
            "  <clock offset='variable' adjustment='5' basis='localtime'/>",
        ),
        (
            "<clock offset='variable' basis='bogus'/>",
            "ERR 67 unsupported configuration: unknown clock basis 'bogus'",
        ),
        (
            "@@<os><type>hvm</type><boot dev='fd'/><boot dev='network'/><boot dev='cdrom'/><boot dev='hd'/><boot dev='hd'/><bootmenu enable='yes' timeout='3000'/><bios useserial='bogus'/></os>",
            "    <boot dev='fd'/>\n    <boot dev='network'/>\n    <boot dev='cdrom'/>\n    <bootmenu enable='yes' timeout='3000'/>\n    <bios useserial='no'/>",
        ),
        (
            "@@<os><type>exe</type><init>/bin/sh</init><initarg>a</initarg><initenv name='X'>1</initenv></os><idmap><uid start='0' target='1000' count='10'/></idmap>",
            "ERR 67 unsupported configuration: uid and gid should be mapped both",
        ),
        (
            "@@<os><type>hvm</type><nvram>/n</nvram></os>",
            "ERR 35 no loader path specified and firmware auto selection disabled",
        ),
        (
            "@@<os><type>hvm</type><loader>/l</loader><acpi><table type='slic'>/x</table></acpi><smbios mode='host'/></os>",
            "    <loader type='rom'>/l</loader>\n    <acpi>\n      <table type='slic'>/x</table>\n    </acpi>\n    <smbios mode='host'/>",
        ),
        (
            "<metadata><a/><x:b xmlns:x='urn:x'/></metadata>",
            "  <metadata>\n    <x:b xmlns:x=\"urn:x\"/>\n  </metadata>",
        ),
        (
            "<memory unit='furlong'>1</memory>",
            "",
        ),
        (
            "<vcpu current='5'>4</vcpu>",
            "ERR 67 unsupported configuration: maximum vCPU count must not be less than current vCPU count",
        ),
        (
            "<vcpu>0</vcpu>",
            "ERR 1 internal error: CPU IDs in <numa> exceed the <vcpu> count",
        ),
        (
            "@@<on_poweroff>coredump-destroy</on_poweroff>",
            "ERR 67 unsupported configuration: Lifecycle event 'poweroff' doesn't support 'coredump-destroy' action",
        ),
        (
            "@@<on_reboot>explode</on_reboot>",
            "ERR 67 unsupported configuration: unknown on_reboot action: explode",
        ),
    ];
    for (case, want) in CASES {
        assert_eq!(outcome(case), *want, "{case}");
    }
}

/// Memory backing, resource and tuning refusals and defaults, likewise checked
/// against libvirt 9.0.
#[test]
fn backing_and_tuning_like_libvirt() {
    const CASES: &[(&str, &str)] = &[
    (
            "<resource><partition>/machine</partition><fibrechannel appid='abc'/></resource>",
            "  <resource>\n    <partition>/machine</partition>\n    <fibrechannel appid='abc'/>\n  </resource>",
        ),
        (
            "<memoryBacking><hugepages><page size='1' unit='GiB'/><page size='2' unit='MiB'/></hugepages></memoryBacking>",
            "ERR 35 two master hugepages detected: 2048 and 1048576",
        ),
        (
            "<memoryBacking><access mode='bogus'/></memoryBacking>",
            "ERR 67 unsupported configuration: unknown memoryBacking/access/mode 'bogus'",
        ),
        (
            "<memoryBacking><allocation threads='x'/></memoryBacking>",
            "ERR 27 XML error: Failed to parse memory allocation threads",
        ),
        (
            "<pm><suspend-to-mem/><suspend-to-disk enabled='no'/></pm>",
            "  <pm>\n    <suspend-to-disk enabled='no'/>\n  </pm>",
        ),
        (
            "<perf><event name='cmt'/></perf>",
            "ERR 27 XML error: Missing required attribute 'enabled' in element 'event'",
        ),
        (
            "<iothreadids><iothread id='1'/><iothread id='1'/></iothreadids>",
            "ERR 27 XML error: duplicate iothread id '1' found",
        ),
        (
            "<cputune><vcpusched vcpus='0' scheduler='fifo'/></cputune>",
            "ERR 27 XML error: Missing required attribute 'priority' in element 'vcpusched'",
        ),
        (
            "<cputune><shares>x</shares></cputune>",
            "ERR 27 XML error: can't parse cputune shares value",
        ),
        (
            "<numatune><memory mode='interleave' nodeset='x'/></numatune>",
            "ERR 8 invalid argument: Failed to parse bitmap 'x'",
        ),
        (
            "<cpu mode='custom' match='strict' check='none'><model fallback='forbid' vendor_id='GenuineIntel'>Skylake-Client</model><feature policy='optional' name='pcid'/></cpu>",
            "  <cpu mode='custom' match='strict' check='none'>\n    <model fallback='forbid' vendor_id='GenuineIntel'>Skylake-Client</model>\n    <feature policy='optional' name='pcid'/>\n  </cpu>",
        ),
        (
            "<memtune><hard_limit>9007199254740991</hard_limit></memtune><blkiotune><weight>x</weight></blkiotune><cputune/>",
            "",
        ),
    ];
    for (case, want) in CASES {
        assert_eq!(outcome(case), *want, "{case}");
    }
}

/// Loaders, kernel boot, boot menu and NUMA cells, likewise checked against
/// libvirt 9.0.
#[test]
fn os_and_numa_like_libvirt() {
    const CASES: &[(&str, &str)] = &[
    (
            "@@<os><type>hvm</type><loader readonly='yes' type='pflash' stateless='yes' format='qcow2'>/l</loader></os>",
            "    <loader readonly='yes' type='pflash' stateless='yes'>/l</loader>",
        ),
        (
            "@@<os><type>hvm</type><loader readonly='yes' type='pflash'>/l</loader><nvram template='/t' format='raw'>/n</nvram></os>",
            "    <loader readonly='yes' type='pflash'>/l</loader>\n    <nvram template='/t'>/n</nvram>",
        ),
        (
            "@@<os><type>hvm</type><loader readonly='no'>/l</loader></os>",
            "    <loader readonly='no' type='rom'>/l</loader>",
        ),
        (
            "@@<os><type>hvm</type><loader/></os>",
            "ERR 35 no loader path specified and firmware auto selection disabled",
        ),
        (
            "@@<os firmware='efi'><type>hvm</type><loader secure='yes'/></os>",
            "  <os firmware='efi'>\n    <loader secure='yes'/>",
        ),
        (
            "@@<os><type>hvm</type><cmdline></cmdline><initrd></initrd></os>",
            "",
        ),
        (
            "@@<os><type>hvm</type><root>/dev/sda</root><kernel>/k</kernel></os>",
            "    <kernel>/k</kernel>\n    <root>/dev/sda</root>",
        ),
        (
            "@@<os><type>hvm</type><bootmenu enable='no' timeout='5'/></os>",
            "    <bootmenu enable='no'/>",
        ),
        (
            "<vcpu>2</vcpu><cpu><topology sockets='1' cores='1' threads='1'/></cpu>",
            "  <vcpu placement='static'>2</vcpu>\n  <cpu>\n    <topology sockets='1' dies='1' cores='1' threads='1'/>\n  </cpu>",
        ),
        (
            "<vcpu>4</vcpu>@@<cpu><numa><cell cpus='0-1' memory='512' unit='MiB'/><cell cpus='2-3' memory='512' unit='MiB'/></numa></cpu>",
            "  <vcpu placement='static'>4</vcpu>\n  <cpu>\n    <numa>\n      <cell id='0' cpus='0-1' memory='524288' unit='KiB'/>\n      <cell id='1' cpus='2-3' memory='524288' unit='KiB'/>\n    </numa>\n  </cpu>",
        ),
        (
            "<vcpu>4</vcpu>@@<cpu><numa><cell id='1' cpus='0-1' memory='512'/><cell id='0' cpus='2-3' memory='512'/></numa></cpu>",
            "  <vcpu placement='static'>4</vcpu>\n  <cpu>\n    <numa>\n      <cell id='0' cpus='2-3' memory='512' unit='KiB'/>\n      <cell id='1' cpus='0-1' memory='512' unit='KiB'/>\n    </numa>\n  </cpu>",
        ),
        (
            "<vcpu>4</vcpu>@@<cpu><numa><cell cpus='0-5' memory='512'/></numa></cpu>",
            "ERR 1 internal error: Number of CPUs in <numa> exceeds the <vcpu> count",
        ),
        (
            "<vcpu>4</vcpu>@@<cpu><numa><cell cpus='0-1,7' memory='512'/></numa></cpu>",
            "ERR 1 internal error: CPU IDs in <numa> exceed the <vcpu> count",
        ),
        (
            "<description>d</description><metadata><m:x xmlns:m='urn:m'><m:y a='1'>t</m:y></m:x></metadata>",
            "  <description>d</description>\n  <metadata>\n    <m:x xmlns:m=\"urn:m\">\n      <m:y a=\"1\">t</m:y>\n    </m:x>\n  </metadata>",
        ),
    ];
    for (case, want) in CASES {
        assert_eq!(outcome(case), *want, "{case}");
    }
}

/// Features and timers, likewise checked against libvirt 9.0.
#[test]
fn features_and_timers_like_libvirt() {
    const CASES: &[(&str, &str)] = &[
    (
            "<vcpu>4</vcpu>@@<cpu><topology sockets='2' dies='1' cores='2' threads='2'/></cpu>",
            "  <vcpu placement='static'>4</vcpu>\n  <cpu>\n    <topology sockets='2' dies='1' cores='2' threads='2'/>\n  </cpu>",
        ),
        (
            "@@<features><hyperv mode='passthrough'><relaxed state='on'/></hyperv></features>",
            "  <features>\n    <hyperv mode='passthrough'>\n      <relaxed state='on'/>\n    </hyperv>\n  </features>",
        ),
        (
            "@@<features><kvm><hidden state='off'/></kvm><hyperv><relaxed state='off'/><spinlocks state='off'/></hyperv></features>",
            "  <features>\n    <hyperv mode='custom'>\n      <relaxed state='off'/>\n      <spinlocks state='off'/>\n    </hyperv>\n    <kvm>\n      <hidden state='off'/>\n    </kvm>\n  </features>",
        ),
        (
            "@@<features><acpi/><acpi/></features>",
            "  <features>\n    <acpi/>\n  </features>",
        ),
        (
            "@@<features><apic eoi='off'/><gic version='2'/><ioapic driver='kvm'/><hpt resizing='required'/></features>",
            "  <features>\n    <apic eoi='off'/>\n    <gic version='2'/>\n    <ioapic driver='kvm'/>\n    <hpt resizing='required'/>\n  </features>",
        ),
        (
            "@@<features><smm state='on'><tseg unit='GiB'>1</tseg></smm></features>",
            "  <features>\n    <smm state='on'>\n      <tseg unit='GiB'>1</tseg>\n    </smm>\n  </features>",
        ),
        (
            "@@<features><capabilities policy='deny'><chown state='on'/><kill state='off'/></capabilities></features>",
            "  <features>\n    <capabilities policy='deny'>\n      <chown state='on'/>\n      <kill state='off'/>\n    </capabilities>\n  </features>",
        ),
        (
            "@@<features><xen><passthrough state='off' mode='share_pt'/></xen></features>",
            "  <features>\n    <xen>\n      <passthrough state='off'/>\n    </xen>\n  </features>",
        ),
        (
            "@@<clock offset='utc'><timer name='pit' tickpolicy='delay'/><timer name='rtc' tickpolicy='catchup' track='guest'/><timer name='hpet' present='no'/><timer name='tsc' present='yes' frequency='3000000000'/></clock>",
            "  <clock offset='utc'>\n    <timer name='pit' tickpolicy='delay'/>\n    <timer name='rtc' tickpolicy='catchup' track='guest'/>\n    <timer name='hpet' present='no'/>\n    <timer name='tsc' present='yes' frequency='3000000000'/>\n  </clock>",
        ),
        (
            "@@<clock offset='utc'><timer name='rtc' present='maybe'/></clock>",
            "ERR 27 XML error: Invalid value for attribute 'present' in element 'timer': 'maybe'.",
        ),
        (
            "@@<clock offset='utc'><timer name='kvmclock' tickpolicy='catchup'/></clock>",
            "ERR 67 unsupported configuration: timer kvmclock doesn't support setting of timer tickpolicy",
        ),
        (
            "@@<clock offset='utc'><timer name='pit' track='guest'/></clock>",
            "ERR 67 unsupported configuration: timer pit doesn't support setting of timer track",
        ),
        (
            "@@<clock offset='utc'><timer name='rtc' tickpolicy='delay'><catchup threshold='1'/></timer></clock>",
            "ERR 27 XML error: setting of timer catchup policies is only supported with tickpolicy='catchup'",
        ),
        (
            "@@<clock offset='utc'><timer name='hpet' mode='native'/></clock>",
            "ERR 67 unsupported configuration: timer hpet doesn't support setting of timer mode",
        ),
    ];
    for (case, want) in CASES {
        assert_eq!(outcome(case), *want, "{case}");
    }
}
