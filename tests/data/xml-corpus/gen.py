#!/usr/bin/python3
"""Writes the XML corpus of tests/tests/xml_differential.rs.

Each document is a minimal valid object plus a deterministic selection of fragments, one
per "slot" (an element or attribute family of libvirt's RelaxNG schemas:
/usr/share/libvirt/schemas/*.rng). The fragments are written here, by us; a few are
deliberately wrong (bad enumerated values, bad numbers) so refusals are compared too.
Every object gets a fixed UUID and MAC addresses so both drivers' output can be compared
byte for byte.

Usage: tests/data/xml-corpus/gen.py   (rewrites domain/, network/, pool/, volume/, nodedev/,
snapshot/; the network ports are gen_netport.py's, netport/; coverage.py counts the
schema element names the corpus reaches)
"""
import os
import random
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))


def uuid(kind, n):
    return "%08x-%04x-4%03x-8%03x-%012x" % (0x5eed0000 + kind, n, n % 4096, kind, n * 7919)


def mac(n, i):
    return "52:54:00:%02x:%02x:%02x" % ((n >> 8) & 0xff, n & 0xff, i)


# ---------------------------------------------------------------- domain ----
# Top-level slots: each a list of alternatives (strings, formatted with n).
DOMAIN_TOP = {
    "title": ["<title>Guest {n}</title>", "<description>A guest &amp; its tests</description>",
              "<title>t</title><description>d</description>"],
    "metadata": ["<metadata><app:info xmlns:app='http://example.org/app/1'><app:id>{n}</app:id></app:info></metadata>",
                 "<metadata><x:a xmlns:x='urn:x' k='v'/><y:b xmlns:y='urn:y'>t</y:b></metadata>"],
    "memory": ["<memory unit='MiB'>512</memory>", "<memory unit='GiB'>1</memory>",
               "<memory>524288</memory><currentMemory>262144</currentMemory>",
               "<memory unit='KiB'>1048576</memory><currentMemory unit='MiB'>512</currentMemory>",
               "<maxMemory slots='16' unit='KiB'>4194304</maxMemory>",
               "<memory unit='bytes'>1073741824</memory>", "<memory unit='furlong'>1</memory>",
               "<memory>-5</memory>"],
    "vcpu": ["<vcpu>2</vcpu>", "<vcpu placement='static' current='1'>4</vcpu>",
             "<vcpu cpuset='0-1'>2</vcpu>", "<vcpu placement='auto'>2</vcpu>",
             "<vcpu>0</vcpu>", "<vcpu current='5'>4</vcpu>",
             "<vcpu placement='static'>4</vcpu><vcpus><vcpu id='0' enabled='yes' hotpluggable='no' order='1'/><vcpu id='1' enabled='yes' hotpluggable='yes' order='2'/><vcpu id='2' enabled='no' hotpluggable='yes'/><vcpu id='3' enabled='no' hotpluggable='yes'/></vcpus>"],
    "iothreads": ["<iothreads>2</iothreads>",
                  "<iothreads>2</iothreads><iothreadids><iothread id='1'/><iothread id='2'/></iothreadids>"],
    "tune": ["<memtune><hard_limit unit='KiB'>2097152</hard_limit><soft_limit unit='KiB'>1048576</soft_limit></memtune>",
             "<blkiotune><weight>500</weight></blkiotune>",
             "<cputune><shares>2048</shares><period>100000</period><quota>-1</quota></cputune>",
             "<cputune><vcpupin vcpu='0' cpuset='0'/></cputune>",
             "<numatune><memory mode='strict' nodeset='0'/></numatune>",
             "<memoryBacking><hugepages/></memoryBacking>",
             "<memoryBacking><nosharepages/><locked/></memoryBacking>",
             "<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>"],
    "resource": ["<resource><partition>/machine</partition></resource>",
                 "<resource><partition>/machine/tenant{n}</partition></resource>"],
    "sysinfo": ["<sysinfo type='smbios'><system><entry name='manufacturer'>rvirt</entry><entry name='product'>p</entry></system></sysinfo>",
                "<sysinfo type='smbios'><bios><entry name='vendor'>v</entry></bios></sysinfo>"],
    "os": ["<os><type>hvm</type><boot dev='cdrom'/><boot dev='hd'/></os>",
           "<os><type arch='i686'>hvm</type><boot dev='network'/></os>",
           "<os><type>hvm</type><bootmenu enable='yes' timeout='3000'/></os>",
           "<os><type>hvm</type><kernel>/boot/vmlinuz</kernel><initrd>/boot/initrd</initrd><cmdline>console=ttyS0</cmdline></os>",
           "<os><type>hvm</type><loader readonly='yes' type='rom'>/usr/share/bios.bin</loader></os>",
           "<os><type>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader><nvram>/var/lib/nvram/g{n}_VARS.fd</nvram></os>",
           "<os><type>hvm</type><smbios mode='sysinfo'/></os>",
           "<os><type>hvm</type><bios useserial='yes' rebootTimeout='0'/></os>",
           "<os firmware='efi'><type>hvm</type></os>",
           "<os><type>xen</type></os>", "<os><type>linux</type></os>", "<os><type>exe</type><init>/bin/sh</init></os>",
           "<os><type>hvm</type><boot dev='floppy-disk'/></os>",
           "<os><type>hvm</type><kernel>/k</kernel><dtb>/d.dtb</dtb><root>/dev/vda</root></os>"],
    "features": ["<features><acpi/><apic/></features>", "<features><pae/></features>",
                 "<features><acpi/><apic/><vmport state='off'/></features>",
                 "<features><hap state='on'/><pmu state='off'/></features>",
                 "<features><acpi/><hyperv mode='custom'><relaxed state='on'/><vapic state='on'/><spinlocks state='on' retries='8191'/></hyperv></features>",
                 "<features><kvm><hidden state='on'/></kvm></features>",
                 "<features><smm state='on'/></features>", "<features><gic version='3'/></features>",
                 "<features><ioapic driver='kvm'/></features>", "<features><vmcoreinfo state='on'/></features>",
                 "<features><privnet/><viridian/></features>", "<features><frobnicate/></features>"],
    "cpu": ["<cpu mode='host-passthrough' check='none' migratable='on'/>",
            "<cpu mode='host-model' check='partial'/>",
            "<cpu mode='custom' match='exact' check='partial'><model fallback='allow'>Westmere</model></cpu>",
            "<cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model><vendor>Intel</vendor><feature policy='require' name='ssse3'/><feature policy='disable' name='svm'/></cpu>",
            "<cpu><topology sockets='1' dies='1' cores='2' threads='1'/></cpu>",
            "<cpu><topology sockets='1' cores='1' threads='1'/><numa><cell id='0' cpus='0' memory='524288' unit='KiB'/></numa></cpu>",
            "<cpu mode='host-passthrough'><cache mode='passthrough'/></cpu>",
            "<cpu mode='warp-drive'/>"],
    "clock": ["<clock offset='localtime'/>", "<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/><timer name='pit' tickpolicy='delay'/><timer name='hpet' present='no'/></clock>",
              "<clock offset='variable' adjustment='3600' basis='utc'/>", "<clock offset='timezone' timezone='Europe/Paris'/>",
              "<clock offset='utc'><timer name='kvmclock' present='yes'/></clock>", "<clock offset='sideways'/>"],
    "lifecycle": ["<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>",
                  "<on_poweroff>preserve</on_poweroff><on_reboot>destroy</on_reboot><on_crash>coredump-restart</on_crash>",
                  "<on_crash>rename-restart</on_crash>", "<on_lockfailure>poweroff</on_lockfailure>",
                  "<on_poweroff>coredump-destroy</on_poweroff>", "<on_reboot>explode</on_reboot>"],
    "pm": ["<pm><suspend-to-mem enabled='no'/><suspend-to-disk enabled='no'/></pm>",
           "<pm><suspend-to-disk enabled='yes'/></pm>"],
    "seclabel": ["<seclabel type='none'/>", "<seclabel type='dynamic' model='selinux' relabel='yes'/>",
                 "<seclabel type='static' model='dac' relabel='no'><label>107:107</label></seclabel>"],
    "misc": ["<genid>{uuid}</genid>", "<perf><event name='cmt' enabled='yes'/></perf>",
             "<keywrap><cipher name='aes' state='off'/></keywrap>", "<bogus attr='1'/>",
             "<name2>x</name2>"],
}

DEVICE = {
    "disk": ["<disk type='file' device='disk'><source file='/var/lib/images/g{n}.img'/><target dev='vda' bus='virtio'/></disk>",
             "<disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none' io='native' discard='unmap'/><source file='/var/lib/images/g{n}.qcow2'/><target dev='vda' bus='virtio'/><boot order='1'/></disk>",
             "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/iso/d.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>",
             "<disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>",
             "<disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='sdb' bus='scsi'/></disk>",
             "<disk type='block' device='lun' sgio='unfiltered'><source dev='/dev/sdc'/><target dev='sdc' bus='scsi'/></disk>",
             "<disk type='file' device='floppy'><source file='/f.img'/><target dev='fda' bus='fdc'/></disk>",
             "<disk type='dir' device='disk'><source dir='/srv/dir'/><target dev='hda' bus='ide'/></disk>",
             "<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd' name='export'><host name='nbd.example' port='10809'/></source><target dev='vdb' bus='virtio'/></disk>",
             "<disk type='network' device='disk'><source protocol='rbd' name='pool/image'><host name='mon1' port='6789'/></source><target dev='vdc' bus='virtio'/></disk>",
             "<disk type='volume' device='disk'><source pool='default-pool' volume='v.img'/><target dev='vdd' bus='virtio'/></disk>",
             "<disk type='file' device='disk'><source file='/a.img'/><target dev='vde' bus='virtio'/><serial>SER{n}</serial><shareable/></disk>",
             "<disk type='file' device='disk'><source file='/b.img'/><target dev='vdf' bus='virtio'/><iotune><total_bytes_sec>10000000</total_bytes_sec></iotune></disk>",
             "<disk type='file' device='disk'><source file='/c.img'/><backingStore type='file'><format type='raw'/><source file='/base.img'/></backingStore><target dev='vdg' bus='virtio'/></disk>",
             "<disk type='file' device='disk'><source file='/d.img'/><target dev='vdh'/><address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/></disk>",
             "<disk type='file' device='disk'><source file='/e.img'/><target dev='sdd' bus='usb'/></disk>",
             "<disk type='file' device='disk'><source file='/f.img'/><target dev='vdi' bus='virtio'/><alias name='ua-disk{n}'/></disk>",
             "<disk type='file' device='disk' snapshot='no'><source file='/g.img' startupPolicy='optional'/><target dev='hdd' bus='ide'/></disk>",
             "<disk type='file' device='disk'><source file='/h.img'/><target dev='xvda' bus='xen'/></disk>",
             "<disk type='file' device='disk'><source file='/i.img'/><target dev='vdj' bus='virtio'/><driver name='qemu' type='qcow2' iothread='1' queues='2'/></disk>",
             "<disk type='nvme' device='disk'><source type='pci' managed='yes' namespace='1'><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source><target dev='vdk' bus='virtio'/></disk>",
             "<disk type='file' device='disk'><source file='/j.img'/><target dev='vdl' bus='bogus'/></disk>",
             "<disk type='weird' device='disk'><target dev='vdm'/></disk>",
             "<disk type='file' device='disk'><source file='/k.img'/></disk>"],
    "controller": ["<controller type='usb' index='0' model='qemu-xhci' ports='15'/>",
                   "<controller type='usb' index='0' model='ich9-ehci1'/><controller type='usb' index='0' model='ich9-uhci1'><master startport='0'/></controller>",
                   "<controller type='usb' model='none'/>", "<controller type='pci' index='0' model='pci-root'/>",
                   "<controller type='pci' index='0' model='pcie-root'/><controller type='pci' index='1' model='pcie-root-port'><model name='pcie-root-port'/><target chassis='1' port='0x10'/></controller>",
                   "<controller type='scsi' index='0' model='virtio-scsi'/>", "<controller type='scsi' model='lsilogic'/>",
                   "<controller type='virtio-serial' index='0'/>", "<controller type='sata' index='0'/>",
                   "<controller type='ide' index='0'/>", "<controller type='fdc' index='0'/>",
                   "<controller type='ccid' index='0'/>", "<controller type='xenbus' maxGrantFrames='64'/>",
                   "<controller type='usb' model='piix3-uhci'><address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/></controller>",
                   "<controller type='usb' model='frob'/>", "<controller type='virtio-serial' ports='16' vectors='4'/>"],
    "interface": ["<interface type='network'><mac address='{mac0}'/><source network='default'/><model type='virtio'/></interface>",
                  "<interface type='bridge'><mac address='{mac0}'/><source bridge='br0'/><model type='e1000'/></interface>",
                  "<interface type='user'><mac address='{mac0}'/></interface>",
                  "<interface type='ethernet'><mac address='{mac0}'/><target dev='tap{n}'/><model type='rtl8139'/></interface>",
                  "<interface type='direct'><mac address='{mac0}'/><source dev='eth0' mode='bridge'/></interface>",
                  "<interface type='network'><mac address='{mac0}'/><source network='default' portgroup='pg'/><link state='down'/><mtu size='1400'/><boot order='2'/></interface>",
                  "<interface type='network'><mac address='{mac0}'/><source network='default'/><bandwidth><inbound average='1000' peak='5000' burst='1024'/><outbound average='128'/></bandwidth></interface>",
                  "<interface type='bridge'><mac address='{mac0}'/><source bridge='br0'/><vlan><tag id='42'/></vlan><virtualport type='openvswitch'/></interface>",
                  "<interface type='network'><mac address='{mac0}'/><source network='default'/><driver name='vhost' queues='4'/><model type='virtio'/></interface>",
                  "<interface type='network'><mac address='{mac0}'/><source network='default'/><rom bar='off'/></interface>",
                  "<interface type='vhostuser'><mac address='{mac0}'/><source type='unix' path='/run/vhost{n}.sock' mode='server'/><model type='virtio'/></interface>",
                  "<interface type='network'><source network='default'/><mac address='{mac0}'/><model type='virtio'/><coalesce><rx><frames max='7'/></rx></coalesce></interface>",
                  "<interface type='warp'/>", "<interface type='network'><mac address='zz:zz'/><source network='default'/></interface>"],
    "chr": ["<serial type='pty'><target port='0'/></serial>", "<serial type='pty'/><console type='pty'/>",
            "<console type='pty'><target type='serial' port='0'/></console>",
            "<serial type='file'><source path='/var/log/g{n}.log'/><target port='0'/></serial>",
            "<serial type='tcp'><source mode='bind' host='127.0.0.1' service='4555'/><protocol type='telnet'/><target port='0'/></serial>",
            "<serial type='udp'><source mode='bind' host='0.0.0.0' service='2445'/><source mode='connect' host='0.0.0.0' service='2444'/><target port='0'/></serial>",
            "<serial type='null'/>", "<serial type='vc'/>", "<serial type='stdio'/>", "<serial type='dev'><source path='/dev/ttyS0'/></serial>",
            "<parallel type='pty'><target port='0'/></parallel>",
            "<channel type='unix'><source mode='bind' path='/run/ga{n}.sock'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>",
            "<channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>",
            "<channel type='pty'><target type='guestfwd' address='10.0.2.1' port='4600'/></channel>",
            "<console type='pty'><target type='virtio' port='0'/></console>",
            "<serial type='pty'><log file='/var/log/s.log' append='on'/><target port='0'/></serial>",
            "<serial type='teleport'/>"],
    "input": ["<input type='tablet' bus='usb'/>", "<input type='mouse' bus='ps2'/><input type='keyboard' bus='ps2'/>",
              "<input type='keyboard' bus='virtio'/>", "<input type='mouse'/>", "<input type='passthrough' bus='virtio'><source evdev='/dev/input/event1'/></input>",
              "<input type='tablet' bus='warp'/>"],
    "graphics": ["<graphics type='vnc' port='-1' autoport='yes'/>",
                 "<graphics type='vnc' port='5901' autoport='no' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics>",
                 "<graphics type='vnc' autoport='yes' keymap='en-us' passwd='secret'/>",
                 "<graphics type='spice' autoport='yes'><listen type='address'/><image compression='off'/></graphics>",
                 "<graphics type='sdl' display=':0'/>", "<graphics type='egl-headless'/>", "<graphics type='dbus'/>",
                 "<graphics type='vnc' socket='/run/vnc{n}.sock'/>", "<graphics type='spice'><listen type='none'/></graphics>",
                 "<graphics type='rdp' autoport='yes'/>", "<graphics type='hologram'/>"],
    "video": ["<video><model type='vga' vram='16384' heads='1' primary='yes'/></video>",
              "<video><model type='qxl' ram='65536' vram='65536' vgamem='16384' heads='1' primary='yes'/></video>",
              "<video><model type='virtio' heads='1' primary='yes'/></video>", "<video><model type='cirrus' vram='16384' heads='1'/></video>",
              "<video><model type='bochs' vram='16384'/></video>", "<video><model type='none'/></video>",
              "<video><model type='virtio' heads='1' primary='yes'><acceleration accel3d='yes'/></model></video>",
              "<video><model type='ramfb'/></video>", "<video/>", "<video><model type='holo'/></video>"],
    "sound": ["<sound model='ich9'/>", "<sound model='ac97'/>", "<sound model='ich6'><codec type='micro'/></sound>",
              "<sound model='es1370'/><audio id='1' type='none'/>", "<audio id='1' type='spice'/>", "<sound model='kazoo'/>"],
    "hostdev": ["<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x06' slot='0x02' function='0x0'/></source></hostdev>",
                "<hostdev mode='subsystem' type='usb' managed='yes'><source><vendor id='0x1234'/><product id='0xbeef'/></source></hostdev>",
                "<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/><address bus='0' target='0' unit='0'/></source></hostdev>"],
    "filesystem": ["<filesystem type='mount' accessmode='passthrough'><source dir='/srv/share'/><target dir='share'/></filesystem>",
                   "<filesystem type='mount' accessmode='mapped'><source dir='/srv/ro'/><target dir='ro'/><readonly/></filesystem>",
                   "<filesystem type='mount'><driver type='virtiofs'/><source dir='/srv/fs'/><target dir='fs'/></filesystem>"],
    "watchdog": ["<watchdog model='i6300esb' action='reset'/>", "<watchdog model='ib700' action='poweroff'/>",
                 "<watchdog model='i6300esb'/>", "<watchdog model='diag288' action='dump'/>", "<watchdog model='i6300esb' action='explode'/>"],
    "memballoon": ["<memballoon model='virtio'/>", "<memballoon model='none'/>",
                   "<memballoon model='virtio'><stats period='10'/></memballoon>",
                   "<memballoon model='virtio' autodeflate='on' freePageReporting='on'/>",
                   "<memballoon model='xen'/>", "<memballoon model='bouncy'/>"],
    "rng": ["<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>",
            "<rng model='virtio'><rate bytes='1024' period='1000'/><backend model='random'>/dev/random</backend></rng>",
            "<rng model='virtio'><backend model='egd' type='tcp'><source mode='connect' host='1.2.3.4' service='1234'/></backend></rng>",
            "<rng model='virtio'><backend model='builtin'/></rng>"],
    "other": ["<tpm model='tpm-tis'><backend type='emulator' version='2.0'/></tpm>",
              "<tpm model='tpm-crb'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>",
              "<panic model='isa'/>", "<panic model='pvpanic'/>", "<smartcard mode='passthrough' type='spicevmc'/>",
              "<redirdev bus='usb' type='spicevmc'/>", "<hub type='usb'/>",
              "<shmem name='sh{n}'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>",
              "<memory model='dimm'><target><size unit='KiB'>524288</size><node>0</node></target></memory>",
              "<iommu model='intel'/>", "<vsock model='virtio'><cid auto='yes'/></vsock>",
              "<lease><lockspace>ls</lockspace><key>k</key><target path='/lease'/></lease>",
              "<nvram><address type='spapr-vio' reg='0x3000'/></nvram>", "<crypto model='virtio' type='qemu'><backend model='builtin' queues='1'/></crypto>",
              "<emulator>/usr/bin/qemu-system-x86_64</emulator>", "<frobnicator/>"],
}

DOMAIN_TYPES = ["test", "test", "test", "kvm", "qemu"]


def singles(table):
    """Every (slot, fragment) of `table`, in order: one document each measures how well
    one element is covered."""
    return [(slot, f) for slot in table for f in table[slot]]


DOMAIN_SINGLES = [("top", s, f) for s, f in singles(DOMAIN_TOP)] + \
    [("dev", s, f) for s, f in singles(DEVICE)]


def domain(n, rng):
    if n < len(DOMAIN_SINGLES):
        where, slot, frag = DOMAIN_SINGLES[n]
        if where == "top":
            return assemble(n, "test", {slot: frag}, [])
        return assemble(n, "test", {}, [frag])
    top = {}
    for slot in DOMAIN_TOP:
        if rng.random() < 0.3:
            top[slot] = rng.choice(DOMAIN_TOP[slot])
    devs = []
    for slot in DEVICE:
        if rng.random() < 0.25:
            devs.append(rng.choice(DEVICE[slot]))
    return assemble(n, rng.choice(DOMAIN_TYPES), top, devs)


def assemble(n, dtype, top, devs):
    subst = dict(n=n, uuid=uuid(1, n), mac0=mac(n, 0), mac1=mac(n, 1))
    parts = ["<domain type='%s'>" % dtype, "<name>g%d</name>" % n, "<uuid>%s</uuid>" % uuid(1, n)]
    if "memory" in top and "<memory" in top["memory"]:
        parts.append(top.pop("memory"))
    else:
        parts.append("<memory unit='KiB'>%d</memory>" % (131072 * (1 + n % 8)))
        if "memory" in top:
            parts.append(top.pop("memory"))
    if "os" not in top:
        top["os"] = "<os><type>hvm</type></os>"
    for slot in DOMAIN_TOP:
        if slot in top:
            parts.append(top[slot])
    if devs:
        parts.append("<devices>" + "".join(devs) + "</devices>")
    parts.append("</domain>")
    return "\n".join(parts).format(**subst) + "\n"


# Second domain set (documents 560 on): elements the first set does not reach. Written
# after the first set with its own random stream, so the first set's documents stay as
# they were.
DOMAIN_TOP_MORE = {
    "memory": ["<maxMemory slots='4' unit='GiB'>8</maxMemory><memory unit='GiB'>2</memory>",
               "<memory unit='MB'>1000</memory>", "<memory unit='k'>524288</memory><currentMemory unit='G'>1</currentMemory>"],
    "tune": ["<memtune><hard_limit unit='G'>2</hard_limit><swap_hard_limit unit='G'>3</swap_hard_limit><min_guarantee unit='M'>512</min_guarantee></memtune>",
             "<blkiotune><weight>800</weight><device><path>/dev/sda</path><weight>500</weight><read_bytes_sec>10000</read_bytes_sec></device></blkiotune>",
             "<cputune><vcpupin vcpu='0' cpuset='0-1'/><emulatorpin cpuset='1'/><vcpusched vcpus='0' scheduler='fifo' priority='1'/></cputune>",
             "<cputune><shares>1024</shares><emulator_period>100000</emulator_period><emulator_quota>50000</emulator_quota><global_period>100000</global_period></cputune>",
             "<numatune><memory mode='interleave' nodeset='0-1'/></numatune>",
             "<numatune><memory mode='restrictive' placement='auto'/></numatune>",
             "<memoryBacking><hugepages><page size='2048' unit='KiB' nodeset='0'/></hugepages><allocation mode='immediate' threads='2'/><discard/></memoryBacking>",
             "<numatune><memory mode='loose' nodeset='0'/></numatune>"],
    "os": ["<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type><firmware><feature enabled='yes' name='secure-boot'/><feature enabled='no' name='enrolled-keys'/></firmware></os>",
           "<os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type><loader readonly='yes' secure='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.secboot.fd</loader><nvram template='/usr/share/OVMF/OVMF_VARS.fd'>/var/lib/nvram/v{n}.fd</nvram><boot dev='hd'/></os>",
           "<os><type arch='aarch64' machine='virt'>hvm</type></os>",
           "<os><type arch='x86_64'>hvm</type><acpi><table type='slic'>/var/lib/slic.dat</table></acpi></os>",
           "<os><type>hvm</type><boot dev='hd'/><boot dev='cdrom'/><bootmenu enable='no'/></os>"],
    "features": ["<features><acpi/><apic eoi='on'/><hyperv mode='passthrough'/></features>",
                 "<features><hyperv mode='custom'><relaxed state='on'/><vapic state='on'/><vpindex state='on'/><synic state='on'/><stimer state='on'><direct state='on'/></stimer><reset state='off'/><vendor_id state='on' value='KVM Hv'/><frequencies state='on'/><tlbflush state='on'/></hyperv></features>",
                 "<features><kvm><hidden state='on'/><hint-dedicated state='on'/><poll-control state='on'/></kvm></features>",
                 "<features><smm state='on'><tseg unit='MiB'>48</tseg></smm></features>",
                 "<features><htm state='on'/><nested-hv state='on'/></features>", "<features><msrs unknown='ignore'/></features>",
                 "<features><pvspinlock state='on'/><vmport state='on'/><acpi/></features>",
                 "<features><tcg><tb-cache unit='MiB'>128</tb-cache></tcg></features>",
                 "<features><gic version='warp'/></features>"],
    "cpu": ["<cpu mode='custom' match='minimum' check='full'><model fallback='allow' vendor_id='GenuineIntel'>Haswell</model><feature policy='optional' name='vmx'/><feature policy='forbid' name='lahf_lm'/></cpu>",
            "<vcpu placement='static'>8</vcpu><cpu><topology sockets='2' dies='1' cores='2' threads='2'/><numa><cell id='0' cpus='0-3' memory='262144' unit='KiB' memAccess='shared'/><cell id='1' cpus='4-7' memory='262144' unit='KiB'><distances><sibling id='0' value='21'/><sibling id='1' value='10'/></distances></cell></numa></cpu>",
            "<cpu mode='host-passthrough' check='none' migratable='off'><topology sockets='1' dies='1' cores='4' threads='1'/><cache level='3' mode='emulate'/><feature policy='disable' name='hypervisor'/></cpu>",
            "<cpu mode='maximum' check='none'/>", "<cpu mode='custom'><model>qemu64</model><feature policy='maybe' name='sse'/></cpu>"],
    "clock": ["<clock offset='utc'><timer name='tsc' frequency='2500000000' mode='native'/></clock>",
              "<clock offset='utc'><timer name='hypervclock' present='yes'/><timer name='rtc' track='guest' tickpolicy='catchup'><catchup threshold='123' slew='120' limit='10000'/></timer></clock>",
              "<clock offset='absolute' start='1234567890'/>"],
    "lifecycle": ["<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>restart</on_crash><on_lockfailure>pause</on_lockfailure>"],
    "seclabel": ["<seclabel type='dynamic' model='dac' relabel='yes'/><seclabel type='none' model='selinux'/>",
                 "<seclabel type='static' model='selinux' relabel='yes'><label>system_u:system_r:svirt_t:s0:c1,c2</label></seclabel>",
                 "<seclabel type='dynamic' model='selinux'><baselabel>system_u:system_r:svirt_t:s0</baselabel></seclabel>"],
    "misc": ["<idmap><uid start='0' target='1000' count='10'/><gid start='0' target='1000' count='10'/></idmap>",
             "<launchSecurity type='sev'><cbitpos>47</cbitpos><reducedPhysBits>1</reducedPhysBits><policy>0x0003</policy></launchSecurity>",
             "<sysinfo type='smbios'><baseBoard><entry name='manufacturer'>m</entry></baseBoard><chassis><entry name='serial'>s</entry></chassis><oemStrings><entry>o1</entry><entry>o2</entry></oemStrings></sysinfo>",
             "<sysinfo type='fwcfg'><entry name='opt/com.example/name'>v</entry></sysinfo>",
             "<keywrap><cipher name='aes' state='on'/><cipher name='dea' state='off'/></keywrap>",
             "<throttlegroups/>", "<perf><event name='cpu_cycles' enabled='no'/><event name='instructions' enabled='yes'/></perf>"],
}

DEVICE_MORE = {
    "disk": ["<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/enc{n}.qcow2'><encryption format='luks'><secret type='passphrase' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/></encryption></source><target dev='vda' bus='virtio'/></disk>",
             "<disk type='network' device='disk'><source protocol='iscsi' name='iqn.2013-07.com.example:iscsi-nopool/1'><host name='example.com' port='3260'/><auth username='myuser'><secret type='iscsi' usage='libvirtiscsi'/></auth></source><target dev='sda' bus='scsi'/></disk>",
             "<disk type='network' device='cdrom'><source protocol='http' name='/iso/d.iso'><host name='mirror.example' port='80'/></source><target dev='hdc' bus='ide'/><readonly/></disk>",
             "<disk type='network' device='disk'><source protocol='gluster' name='vol/img'><host name='gl.example'/></source><target dev='vdb' bus='virtio'/></disk>",
             "<disk type='vhostuser' device='disk'><driver name='qemu' type='raw'/><source type='unix' path='/run/vhost-blk.sock'><reconnect enabled='yes' timeout='10'/></source><target dev='vdc' bus='virtio'/></disk>",
             "<disk type='file' device='disk'><source file='/geo.img'/><target dev='hda' bus='ide'/><geometry cyls='16383' heads='16' secs='63' trans='lba'/><blockio logical_block_size='512' physical_block_size='4096'/></disk>",
             "<disk type='file' device='disk'><source file='/t.img'/><target dev='vdd' bus='virtio'/><transient/></disk>",
             "<disk type='file' device='disk'><driver name='qemu' type='raw' cache='writeback' error_policy='stop' rerror_policy='report' io='threads' ioeventfd='on' event_idx='off' copy_on_read='on' detect_zeroes='on'/><source file='/o.img'/><target dev='vde' bus='virtio'/></disk>",
             "<disk type='file' device='disk'><source file='/w.img'/><target dev='sda' bus='sata'/><wwn>5000c50015ea71ad</wwn><vendor>V</vendor><product>P</product></disk>",
             "<disk type='file' device='disk'><source file='/io.img'/><target dev='vdf' bus='virtio'/><iotune><read_bytes_sec>1000</read_bytes_sec><write_iops_sec>50</write_iops_sec><group_name>g</group_name></iotune></disk>",
             "<disk type='file' device='cdrom'><target dev='sdb' bus='scsi' tray='open'/><readonly/></disk>",
             "<disk type='block' device='disk'><driver name='qemu' type='raw' cache='directsync'/><source dev='/dev/vg/lv{n}'/><target dev='sdc' bus='usb' removable='on'/></disk>"],
    "controller": ["<controller type='scsi' index='0' model='virtio-scsi'><driver queues='4' iothread='1'/></controller>",
                   "<controller type='pci' index='0' model='pci-root'/><controller type='pci' index='1' model='pci-bridge'><model name='pci-bridge'/><target chassisNr='1'/></controller>",
                   "<controller type='pci' index='0' model='pcie-root'/><controller type='pci' index='1' model='pcie-to-pci-bridge'/>",
                   "<controller type='pci' model='pcie-root'/><controller type='pci' model='pcie-expander-bus'><target busNr='254'><node>0</node></target></controller>",
                   "<controller type='usb' index='0' model='nec-xhci' ports='8'/>", "<controller type='usb' model='qusb2'/>",
                   "<controller type='scsi' model='virtio-non-transitional'/>", "<controller type='isa' index='0'/>",
                   "<controller type='nvme' index='0' serial='nvme0'/>"],
    "interface": ["<interface type='mcast'><mac address='{mac0}'/><source address='230.0.0.1' port='5558'/></interface>",
                  "<interface type='server'><mac address='{mac0}'/><source address='192.168.0.1' port='5558'/></interface>",
                  "<interface type='udp'><mac address='{mac0}'/><source address='192.168.0.1' port='11111'><local address='127.0.0.1' port='22222'/></source></interface>",
                  "<interface type='hostdev' managed='yes'><mac address='{mac0}'/><source><address type='pci' domain='0x0000' bus='0x02' slot='0x07' function='0x0'/></source></interface>",
                  "<interface type='direct'><mac address='{mac0}'/><source dev='eth0' mode='vepa'/><virtualport type='802.1Qbg'><parameters managerid='11' typeid='1193047' typeidversion='2' instanceid='09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f'/></virtualport></interface>",
                  "<interface type='network'><mac address='{mac0}'/><source network='default'/><model type='virtio'/><driver name='vhost' txmode='iothread' ioeventfd='on' event_idx='off' queues='5' rx_queue_size='256' tx_queue_size='256'><host csum='off' gso='off' tso4='off'/><guest csum='off'/></driver></interface>",
                  "<interface type='user'><mac address='{mac0}'/><ip family='ipv4' address='10.0.2.15' prefix='24'/></interface>",
                  "<interface type='ethernet'><mac address='{mac0}'/><target dev='tap{n}' managed='no'/><ip address='192.168.122.5' prefix='24'/><route family='ipv4' address='192.168.122.0' prefix='24' gateway='192.168.122.1'/></interface>",
                  "<interface type='network'><mac address='{mac0}'/><source network='default'/><filterref filter='clean-traffic'><parameter name='IP' value='10.0.0.1'/></filterref></interface>",
                  "<interface type='bridge'><mac address='{mac0}'/><source bridge='br0'/><teaming type='persistent'/><alias name='ua-net0'/></interface>"],
    "chr": ["<serial type='unix'><source mode='bind' path='/run/s{n}.sock'/><target type='isa-serial' port='0'><model name='isa-serial'/></target></serial>",
            "<serial type='tcp'><source mode='connect' host='127.0.0.1' service='9999'><reconnect enabled='yes' timeout='5'/></source><protocol type='raw'/><target port='0'/></serial>",
            "<serial type='spiceport'><source channel='org.qemu.console.serial.0'/><target port='0'/></serial>",
            "<serial type='nmdm'><source master='/dev/nmdm0A' slave='/dev/nmdm0B'/></serial>",
            "<channel type='qemu-vdagent'><source><clipboard copypaste='yes'/><mouse mode='client'/></source><target type='virtio' name='com.redhat.spice.0'/></channel>",
            "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>",
            "<console type='pty'><target type='sclp' port='0'/></console>",
            "<parallel type='file'><source path='/var/log/par.log'/><target port='0'/></parallel>",
            "<serial type='pipe'><source path='/tmp/pipe{n}'/><target port='1'/></serial>"],
    "graphics": ["<graphics type='spice' autoport='yes'><listen type='address' address='0.0.0.0'/><channel name='main' mode='secure'/><image compression='auto_glz'/><streaming mode='filter'/><clipboard copypaste='no'/><mouse mode='client'/><filetransfer enable='no'/><gl enable='no'/></graphics>",
                 "<graphics type='vnc' port='-1'><listen type='network' network='default'/></graphics>",
                 "<graphics type='vnc'><listen type='socket' socket='/run/vnc.sock'/></graphics>",
                 "<graphics type='egl-headless'><gl rendernode='/dev/dri/renderD128'/></graphics>",
                 "<graphics type='dbus' address='unix:path=/tmp/dbus.sock' p2p='no'/>",
                 "<graphics type='spice' port='5903' tlsPort='5904' autoport='no' defaultMode='secure'/>",
                 "<graphics type='vnc' port='-1' sharePolicy='ignore' powerControl='yes'/>"],
    "video": ["<video><model type='virtio' heads='2'><resolution x='1920' y='1080'/></model><driver name='vhostuser'/></video>",
              "<video><model type='qxl' ram='65536' vram='65536' vram64='131072' vgamem='16384' heads='1'/><address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/></video>",
              "<video><model type='vga' vram='16384' heads='1'/></video><video><model type='virtio' heads='1'/></video>"],
    "other": ["<audio id='1' type='pulseaudio' serverName='/run/pulse'/><sound model='ich9'><audio id='1'/></sound>",
              "<audio id='1' type='file' path='/tmp/out.wav'/>", "<audio id='1' type='alsa'/><audio id='2' type='none'/>",
              "<smartcard mode='host'/>", "<smartcard mode='host-certificates'><certificate>c1</certificate><certificate>c2</certificate><certificate>c3</certificate><database>/etc/pki/nssdb</database></smartcard>",
              "<smartcard mode='passthrough' type='tcp'><source mode='connect' host='127.0.0.1' service='2001'/><protocol type='raw'/></smartcard>",
              "<controller type='usb' model='qemu-xhci'/><redirdev bus='usb' type='tcp'><source mode='connect' host='localhost' service='4000'/><boot order='1'/></redirdev><redirfilter><usbdev class='0x08' vendor='0x1234' product='0xbeef' version='2.0' allow='yes'/><usbdev allow='no'/></redirfilter>",
              "<panic model='hyperv'/>", "<panic model='pseries'/>",
              "<shmem name='ivs{n}' role='peer'><model type='ivshmem-doorbell'/><server path='/tmp/socket-ivshmem'/><msi vectors='32' ioeventfd='on'/></shmem>",
              "<memory model='nvdimm' access='shared'><source><path>/tmp/nvdimm</path></source><target><size unit='KiB'>65536</size><node>0</node><label><size unit='KiB'>128</size></label></target></memory>",
              "<memory model='virtio-mem'><target><size unit='KiB'>65536</size><node>0</node><block unit='KiB'>2048</block><requested unit='KiB'>32768</requested></target></memory>",
              "<iommu model='intel'><driver caching_mode='on' eim='on' iotlb='on' aw_bits='48'/></iommu>", "<iommu model='virtio'/>",
              "<vsock model='virtio'><cid auto='no' address='3'/></vsock>",
              "<tpm model='tpm-crb'><backend type='emulator' version='2.0' persistent_state='yes'><encryption secret='6dd3e4a5-1d76-44ce-961f-f119f5aad935'/><active_pcr_banks><sha256/></active_pcr_banks></backend></tpm>",
              "<tpm model='spapr-tpm-proxy'><backend type='passthrough'><device path='/dev/tpmrm0'/></backend></tpm>",
              "<hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on'><source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev>",
              "<hostdev mode='capabilities' type='storage'><source><block>/dev/sdf1</block></source></hostdev>",
              "<hostdev mode='subsystem' type='pci' managed='no'><driver name='vfio'/><source><address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source><rom bar='off'/><boot order='1'/></hostdev>",
              "<filesystem type='ram' accessmode='passthrough'><source usage='1024' units='KiB'/><target dir='/mnt'/></filesystem>",
              "<filesystem type='block' accessmode='passthrough'><source dev='/dev/sda1'/><target dir='/b'/></filesystem>",
              "<filesystem type='mount' accessmode='passthrough'><driver type='virtiofs' queue='1024'/><binary path='/usr/libexec/virtiofsd' xattr='on'><cache mode='always'/><lock posix='on' flock='on'/></binary><source dir='/srv/vfs'/><target dir='vfs'/></filesystem>",
              "<input type='evdev'><source dev='/dev/input/event1' grab='all' grabToggle='ctrl-ctrl' repeat='on'/></input>",
              "<watchdog model='itco' action='pause'/>", "<memballoon model='virtio-non-transitional'><driver iommu='on'/></memballoon>",
              "<rng model='virtio-transitional'><backend model='random'>/dev/urandom</backend><alias name='ua-rng'/></rng>",
              "<crypto model='virtio' type='qemu'><backend model='lkcf'/></crypto>",
              "<hub type='usb'><address type='usb' bus='0' port='1'/></hub>",
              "<lease><lockspace>somearea</lockspace><key>somekey</key><target path='/some/lease/path' offset='1024'/></lease>"],
}


DOMAIN_MORE_SINGLES = [("top", s, f) for s, f in singles(DOMAIN_TOP_MORE)] + \
    [("dev", s, f) for s, f in singles(DEVICE_MORE)]


def domain_more(n, k, rng):
    """Document n, the k-th of the second set: each fragment alone, then mixtures."""
    if k < len(DOMAIN_MORE_SINGLES):
        where, slot, frag = DOMAIN_MORE_SINGLES[k]
        if where == "top":
            return assemble(n, "test", {slot: frag}, [])
        return assemble(n, rng.choice(DOMAIN_TYPES), {}, [frag])
    top = {slot: rng.choice(DOMAIN_TOP_MORE[slot]) for slot in DOMAIN_TOP_MORE if rng.random() < 0.3}
    devs = [rng.choice(DEVICE_MORE[slot]) for slot in DEVICE_MORE if rng.random() < 0.3]
    return assemble(n, rng.choice(DOMAIN_TYPES), top, devs)


# Third domain set, top level (documents 744 to 899): cputune scheduling and resctrl,
# numatune memnodes, LXC capabilities, more hypervisor features, os bootloader and init,
# image labels, fibre channel resources, SEV sessions and iothread pools. Each fragment
# alone, in the slot of DOMAIN_TOP it belongs to; its own random stream.
CAPS = ["audit_control", "audit_write", "block_suspend", "chown", "dac_override", "dac_read_search",
        "fowner", "fsetid", "ipc_lock", "ipc_owner", "kill", "lease", "linux_immutable", "mac_admin",
        "mac_override", "mknod", "net_admin", "net_bind_service", "net_broadcast", "net_raw", "setgid",
        "setfcap", "setpcap", "setuid", "sys_admin", "sys_boot", "sys_chroot", "sys_module", "sys_nice",
        "sys_pacct", "sys_ptrace", "sys_rawio", "sys_resource", "sys_time", "sys_tty_config", "syslog",
        "wake_alarm"]


def caps_fragment(policy, names, states):
    flags = "".join("<%s state='%s'/>" % (c, st) for c, st in zip(names, states))
    return "<features><capabilities policy='%s'>%s</capabilities></features>" % (policy, flags)


DOMAIN_TOP_COVTOP = {
    "features": [caps_fragment(pol, CAPS[i::4], ["on", "off"] * 10) for i, pol in
                 enumerate(["default", "allow", "deny", "keep"])] + [
        "<features><capabilities policy='bogus'/></features>",
        "<features><capabilities policy='default'><chown state='maybe'/></capabilities></features>",
        "<features><hyperv mode='custom'><relaxed state='on'/><ipi state='on'/><evmcs state='on'/><avic state='on'/><reenlightenment state='on'/><runtime state='off'/><spinlocks state='on' retries='4096'/></hyperv></features>",
        "<features><kvm><dirty-ring state='on' size='4096'/><pv-ipi state='off'/></kvm></features>",
        "<features><kvm><dirty-ring state='on' size='1000'/></kvm></features>",
        "<features><xen><e820_host state='on'/><passthrough state='on' mode='sync_pt'/></xen></features>",
        "<features><xen><passthrough state='on' mode='share_pt'/></xen></features>",
        "<features><ccf-assist state='on'/><cfpc value='workaround'/><sbbc value='broken'/><ibs value='fixed-ibs'/></features>",
        "<features><cfpc value='fixed'/><sbbc value='workaround'/><ibs value='fixed-ccd'/><ccf-assist state='off'/></features>",
        "<features><cfpc value='nope'/></features>",
        "<features><hpt resizing='required'><maxpagesize unit='KiB'>64</maxpagesize></hpt></features>",
        "<features><hpt resizing='enabled'/></features>", "<features><hpt><maxpagesize unit='MiB'>16</maxpagesize></hpt></features>",
        "<features><async-teardown enabled='yes'/></features>"],
    "tune": [
        "<iothreads>2</iothreads><cputune><emulatorsched scheduler='fifo' priority='10'/><iothreadsched iothreads='1' scheduler='batch'/><iothreadpin iothread='1' cpuset='0'/><iothread_period>100000</iothread_period><iothread_quota>50000</iothread_quota><global_quota>200000</global_quota></cputune>",
        "<iothreads>2</iothreads><cputune><iothreadpin iothread='2' cpuset='1-2'/><iothreadsched iothreads='1-2' scheduler='rr' priority='5'/></cputune>",
        "<iothreads>3</iothreads><cputune><iothreadsched iothreads='2' scheduler='batch'/><iothreadsched iothreads='1,3' scheduler='fifo' priority='2'/></cputune>",
        "<iothreads>3</iothreads><cputune><iothreadsched iothreads='1-3' scheduler='idle'/><iothreadsched iothreads='2' scheduler='batch'/></cputune>",
        "<iothreads>1</iothreads><cputune><iothreadsched iothreads='5' scheduler='idle'/></cputune>",
        "<cputune><emulatorsched scheduler='idle'/><global_period>50000</global_period><global_quota>-1</global_quota></cputune>",
        "<cputune><emulatorsched scheduler='other' priority='3'/></cputune>",
        "<vcpu>4</vcpu><cputune><cachetune vcpus='0-1'><cache id='0' level='3' type='both' size='3' unit='MiB'/><monitor level='3' vcpus='1'/></cachetune></cputune>",
        "<vcpu>4</vcpu><cputune><memorytune vcpus='3'><node id='0' bandwidth='20'/><node id='1' bandwidth='40'/></memorytune></cputune>",
        "<vcpu>4</vcpu><cputune><cachetune vcpus='0'><monitor level='3' vcpus='0'/></cachetune></cputune>",
        "<vcpu>4</vcpu><cpu><numa><cell id='0' cpus='0-1' memory='65536'/><cell id='1' cpus='2-3' memory='65536'/></numa></cpu><numatune><memory mode='strict' nodeset='0-1'/><memnode cellid='0' mode='strict' nodeset='0'/><memnode cellid='1' mode='preferred' nodeset='1'/></numatune>",
        "<vcpu>2</vcpu><cpu><numa><cell id='0' cpus='0' memory='65536'/><cell id='1' cpus='1' memory='65536'/></numa></cpu><numatune><memnode cellid='1' mode='interleave' nodeset='0-1'/><memnode cellid='0' mode='restrictive' nodeset='1'/></numatune>",
        "<vcpu>2</vcpu><cpu><numa><cell id='0' cpus='0-1' memory='65536'/></numa></cpu><numatune><memnode cellid='5' mode='strict' nodeset='0'/></numatune>",
        "<memoryBacking><hugepages><page size='1' unit='GiB'/></hugepages><nosharepages/><locked/><source type='file'/><access mode='private'/><allocation mode='ondemand'/><discard/></memoryBacking>",
        "<memoryBacking><source type='anonymous'/><access mode='shared'/><allocation mode='immediate'/></memoryBacking>",
        "<memoryBacking><hugepages><page size='2' unit='MiB'/><page size='1' unit='GiB' nodeset='0'/></hugepages></memoryBacking>",
        "<vcpu>4</vcpu><cputune><cachetune vcpus='2'><cache id='0' level='3' type='code' size='2048' unit='KiB'/><cache id='1' level='3' type='data' size='2048'/></cachetune><memorytune vcpus='0-1'><node id='0' bandwidth='60'/><monitor level='3' vcpus='0-1'/></memorytune></cputune>",
        "<vcpu>2</vcpu><cputune><cachetune vcpus='0-1'><cache id='0' level='2' type='both' size='4097' unit='B'/><cache id='1' level='2' type='both' size='1536'/></cachetune></cputune>",
        "<vcpu>2</vcpu><cputune><cachetune vcpus='1'><cache id='0' level='3' type='both' size='1048576' unit='KiB'/></cachetune></cputune>"],
    "iothreads": [
        "<iothreads>1</iothreads><defaultiothread thread_pool_min='1' thread_pool_max='4'/>",
        "<iothreads>2</iothreads><iothreadids><iothread id='1' thread_pool_min='0' thread_pool_max='2'/><iothread id='2' thread_pool_max='8'/></iothreadids>",
        "<iothreads>1</iothreads><defaultiothread thread_pool_min='5' thread_pool_max='2'/>",
        "<defaultiothread/>"],
    "os": [
        "<bootloader>/usr/bin/pygrub</bootloader><bootloader_args>--append single</bootloader_args>",
        "<bootloader/>",
        "<os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>true</initarg><initenv name='FOO'>bar</initenv><initenv name='HOME'>/root</initenv><initdir>/root</initdir><inituser>root</inituser><initgroup>wheel</initgroup></os>",
        "<os><type>exe</type><init>/sbin/init</init><inituser>1000</inituser></os>",
        "<os><type>exe</type><initarg>x</initarg></os>",
        "<os><type>hvm</type><init>/bin/sh</init><initarg>-c</initarg><initdir>/</initdir></os>",
        "<os><type arch='x86_64'>hvm</type><acpi><table type='slic'>/var/lib/slic{n}.dat</table></acpi><boot dev='hd'/></os>"],
    "resource": [
        "<resource><fibrechannel appid='myapp{n}'/></resource>",
        "<resource><partition>/machine</partition><fibrechannel appid='a.b-c'/></resource>"],
    "seclabel": [
        "<seclabel type='static' model='selinux' relabel='yes'><label>system_u:system_r:svirt_t:s0:c1,c2</label><imagelabel>system_u:object_r:svirt_image_t:s0:c1,c2</imagelabel></seclabel>",
        "<seclabel type='static' model='dac' relabel='no'><label>+0:+0</label><imagelabel>+107:+107</imagelabel></seclabel>"],
    "misc": [
        "<launchSecurity type='sev' kernelHashes='yes'><cbitpos>47</cbitpos><reducedPhysBits>1</reducedPhysBits><policy>0x0033</policy><dhCert>AAAA</dhCert><session>BBBB</session></launchSecurity>",
        "<launchSecurity type='sev'><cbitpos>51</cbitpos><reducedPhysBits>1</reducedPhysBits><policy>0x0001</policy><handle>5</handle></launchSecurity>",
        "<launchSecurity type='s390-pv'/>", "<launchSecurity type='tdx'/>"],
}
DOMAIN_COVTOP_SINGLES = singles(DOMAIN_TOP_COVTOP)


def domain_covtop(n, k, rng):
    """Document n, the k-th of the third top-level set: each fragment alone, then pairs."""
    if k < len(DOMAIN_COVTOP_SINGLES):
        slot, frag = DOMAIN_COVTOP_SINGLES[k]
        return assemble(n, "test", {slot: frag}, [])
    slots = rng.sample(sorted(DOMAIN_TOP_COVTOP), 2)
    return assemble(n, rng.choice(DOMAIN_TYPES), {s: rng.choice(DOMAIN_TOP_COVTOP[s]) for s in slots}, [])
# Third domain set (documents 900 on): device elements of domaincommon.rng the first two
# sets do not reach. Its own random stream keeps the earlier sets unchanged.
DEVICE_COV = {
    "disk": ["<disk type='file' device='disk'><source file='/i{n}.img'/><target dev='vda' bus='virtio'/><iotune><total_bytes_sec>5000</total_bytes_sec><total_bytes_sec_max>10000</total_bytes_sec_max><total_bytes_sec_max_length>5</total_bytes_sec_max_length><total_iops_sec>100</total_iops_sec><total_iops_sec_max>200</total_iops_sec_max><total_iops_sec_max_length>3</total_iops_sec_max_length><size_iops_sec>4096</size_iops_sec><group_name>grp</group_name></iotune></disk>",
             "<disk type='file' device='disk'><source file='/j{n}.img'/><target dev='vdb' bus='virtio'/><iotune><read_bytes_sec>1000</read_bytes_sec><write_bytes_sec>2000</write_bytes_sec><read_iops_sec>10</read_iops_sec><write_iops_sec>20</write_iops_sec><read_bytes_sec_max>3000</read_bytes_sec_max><write_bytes_sec_max>4000</write_bytes_sec_max><read_iops_sec_max>30</read_iops_sec_max><write_iops_sec_max>40</write_iops_sec_max><read_bytes_sec_max_length>2</read_bytes_sec_max_length><write_bytes_sec_max_length>2</write_bytes_sec_max_length><read_iops_sec_max_length>2</read_iops_sec_max_length><write_iops_sec_max_length>2</write_iops_sec_max_length></iotune></disk>",
             "<disk type='file' device='disk'><source file='/m{n}.img'/><mirror type='file' file='/mirror{n}.img' format='qcow2' job='copy' ready='yes'><format type='qcow2'/><source file='/mirror{n}.img'/></mirror><target dev='vdd' bus='virtio'/></disk>",
             "<disk type='file' device='disk'><source file='/k.img'/><target dev='vdc' bus='virtio'/><iotune><total_bytes_sec>5000</total_bytes_sec><read_bytes_sec>1000</read_bytes_sec></iotune></disk>",
             "<disk type='file' device='disk'><source file='/k.img'/><target dev='vdc' bus='virtio'/><iotune><total_iops_sec_max>50</total_iops_sec_max><write_iops_sec_max>10</write_iops_sec_max></iotune></disk>",
             "<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='https' name='/img{n}.raw' query='a=b'><host name='web.example' port='443'/><ssl verify='no'/><cookies><cookie name='c1'>v1</cookie><cookie name='c2'>v2</cookie></cookies><readahead size='65536'/><timeout seconds='10'/></source><target dev='vde' bus='virtio'/></disk>",
             "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/s{n}.img'><slices><slice type='storage' offset='1048576' size='4194304'/></slices></source><target dev='vdg' bus='virtio'/></disk>",
             "<disk type='block' device='lun'><driver name='qemu' type='raw'/><source dev='/dev/sdz'><reservations managed='yes'/></source><target dev='sda' bus='scsi'/></disk>",
             "<disk type='block' device='lun'><source dev='/dev/sdy'><reservations managed='no'><source type='unix' path='/run/pr.sock' mode='client'/></reservations></source><target dev='sdb' bus='scsi'/></disk>",
             "<disk type='file' device='disk'><source file='/b.img'/><target dev='vdh' bus='virtio'/><iotune><total_iops_sec>many</total_iops_sec></iotune></disk>",
             "<disk type='network' device='disk'><source protocol='rbd' name='pool/img{n}'><host name='mon1.example' port='6789'/><config file='/etc/ceph/ceph.conf'/><snapshot name='snap1'/></source><target dev='vdf' bus='virtio'/></disk>"],
    "interface": ["<interface type='ethernet'><mac address='{mac0}'/><script path='/etc/qemu-ifup'/><downscript path='/etc/qemu-ifdown'/></interface>",
                  "<interface type='bridge'><mac address='{mac0}'/><source bridge='br0'/><tune><sndbuf>1600</sndbuf></tune></interface>",
                  "<interface type='bridge'><mac address='{mac0}'/><source bridge='br0'/><backenddomain name='netvm'/></interface>",
                  "<interface type='network'><mac address='{mac0}'/><source network='default'/><port isolated='yes'/></interface>",
                  "<interface type='bridge'><mac address='{mac0}'/><source bridge='br1'/><port isolated='no'/><link state='down'/><mtu size='1500'/></interface>",
                  "<interface type='user'><mac address='{mac0}'/><backend type='passt' logFile='/tmp/passt.log'/><portForward proto='tcp'><range start='2022' to='22'/></portForward></interface>",
                  "<interface type='ethernet'><mac address='{mac0}'/><tune><sndbuf>lots</sndbuf></tune></interface>"],
    "graphics": ["<graphics type='spice' autoport='yes'><playback compression='off'/><jpeg compression='never'/><zlib compression='always'/></graphics>",
                 "<graphics type='spice' port='5910' autoport='no' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics>",
                 "<graphics type='spice'><listen type='none'/></graphics>",
                 "<graphics type='vnc' port='5905' autoport='no'><listen type='address' address='::1'/></graphics>",
                 "<graphics type='vnc' autoport='yes'><listen type='none'/></graphics>",
                 "<graphics type='spice' autoport='yes'><jpeg compression='sometimes'/></graphics>"],
    "audio": ["<audio id='1' type='pulseaudio' serverName='/run/pulse'><input mixingEngine='yes' fixedSettings='yes' voices='1' bufferLength='100' name='in' streamName='s' latency='10'><settings frequency='44100' channels='2' format='s16'/></input><output mixingEngine='no' name='out'/></audio>",
              "<audio id='1' type='alsa'><input dev='/dev/dsp0'/><output dev='/dev/dsp1'/></audio>",
              "<audio id='1' type='oss' tryMMap='yes' exclusive='no' dspPolicy='5'><input dev='/dev/dsp' bufferCount='4' tryPoll='yes'/><output dev='/dev/dsp'/></audio>",
              "<audio id='1' type='coreaudio'><input bufferCount='2'/><output bufferCount='3'/></audio>",
              "<audio id='1' type='jack'><input serverName='js' clientName='c' connectPorts='p.*' exactName='yes'/><output serverName='js'/></audio>",
              "<audio id='1' type='sdl' driver='pulseaudio'><input bufferCount='2'/></audio>",
              "<audio id='1' type='pulseaudio'><input format='s99'/><output voices='2'/></audio>",
              "<audio id='1' type='pulseaudio'><output voices='2'><settings format='f32'/></output></audio>",
              "<audio id='1' type='spice'/>", "<audio id='1' type='dbus'/>",
              "<audio id='1' type='none' timerPeriod='100'/>",
              "<audio id='1' type='file' path='/tmp/a.wav'><input format='f32' fixedSettings='no'/></audio>"],
    "filesystem": ["<filesystem type='mount' accessmode='mapped'><driver type='path' wrpolicy='immediate'/><source dir='/srv/a{n}'/><target dir='a'/><readonly/><space_hard_limit unit='MiB'>100</space_hard_limit><space_soft_limit>50000</space_soft_limit></filesystem>",
                   "<filesystem type='mount' accessmode='passthrough'><driver type='virtiofs' queue='512'/><binary path='/usr/libexec/virtiofsd' xattr='off'><cache mode='none'/><sandbox mode='chroot'/><lock posix='off' flock='off'/><thread_pool size='16'/></binary><source dir='/srv/v'/><target dir='v'/></filesystem>",
                   "<filesystem type='mount' accessmode='passthrough'><driver type='virtiofs'/><idmap><uid start='0' target='100000' count='65535'/><gid start='0' target='100000' count='65535'/></idmap><source dir='/srv/i'/><target dir='i'/></filesystem>",
                   "<filesystem type='mount' accessmode='passthrough'><driver type='virtiofs'/><source socket='/run/vfs.sock'/><target dir='sock'/></filesystem>",
                   "<filesystem type='file' accessmode='passthrough'><driver type='loop' format='raw'/><source file='/f.img'/><target dir='/f'/></filesystem>",
                   "<filesystem type='template'><source name='tmpl'/><target dir='/t'/></filesystem>",
                   "<filesystem type='mount' accessmode='passthrough'><driver type='virtiofs'/><binary><cache mode='sometimes'/></binary><source dir='/srv/x'/><target dir='x'/></filesystem>"],
    "controller": ["<controller type='pci' index='0' model='pci-root'><pcihole64 unit='KiB'>1048576</pcihole64></controller>",
                   "<controller type='pci' index='0' model='pcie-root'><pcihole64 unit='GiB'>2</pcihole64></controller><controller type='pci' index='1' model='pcie-root-port'><model name='pcie-root-port'/><target chassis='1' port='0x10' hotplug='off'/></controller>",
                   "<controller type='pci' index='0' model='pci-root'/><controller type='pci' index='1' model='pci-expander-bus'><model name='pxb'/><target busNr='100'><node>0</node></target></controller>",
                   "<controller type='usb' index='0' model='ich9-ehci1'/><controller type='usb' index='0' model='ich9-uhci1'><master startport='0'/></controller><controller type='usb' index='0' model='ich9-uhci2'><master startport='2'/></controller>",
                   "<controller type='virtio-serial' index='0' ports='16' vectors='4'/>",
                   "<controller type='scsi' index='0' model='virtio-scsi'><driver queues='2' cmd_per_lun='8' max_sectors='512' ioeventfd='on' iommu='on' ats='on' packed='on'/></controller>",
                   "<controller type='xenbus' maxGrantFrames='64' maxEventChannels='2047'/>"],
    "memory": ["<memory model='virtio-pmem'><source><path>/tmp/pm{n}</path></source><target><size unit='KiB'>524288</size></target></memory>",
               "<memory model='dimm'><source><pagesize unit='KiB'>2048</pagesize><nodemask>0</nodemask></source><target><size unit='KiB'>524288</size><node>0</node></target></memory>",
               "<memory model='nvdimm'><source><path>/tmp/nv{n}</path><alignsize unit='KiB'>2048</alignsize><pmem/></source><target><size unit='KiB'>524288</size><node>0</node><label><size unit='KiB'>128</size></label><readonly/></target></memory>",
               "<memory model='virtio-mem'><source><pagesize unit='KiB'>2048</pagesize></source><target><size unit='KiB'>1048576</size><node>0</node><block unit='KiB'>2048</block><requested unit='KiB'>524288</requested></target></memory>"],
    "hostdev": ["<hostdev mode='subsystem' type='scsi_host'><source protocol='vhost' wwpn='naa.5001405df3e54061'/></hostdev>",
                "<hostdev mode='subsystem' type='scsi'><source protocol='iscsi' name='iqn.2014-08.com.example:iscsi-nopool/1'><host name='example.org' port='3260'/><auth username='myname'><secret type='iscsi' usage='mycluster_myname'/></auth><initiator><iqn name='iqn.2020-07.com.example:test'/></initiator></source></hostdev>",
                "<hostdev mode='subsystem' type='scsi' sgio='unfiltered' rawio='yes'><source><adapter name='scsi_host0'/><address bus='0' target='0' unit='0'/></source><readonly/><shareable/></hostdev>",
                "<hostdev mode='subsystem' type='scsi' sgio='filtered' rawio='yes'><source><adapter name='scsi_host0'/><address bus='0' target='0' unit='1'/></source><shareable/></hostdev>",
                "<hostdev mode='subsystem' type='usb' managed='yes'><source startupPolicy='optional'><address bus='1' device='2'/></source></hostdev>",
                "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/><product id='0xbeef'/></source></hostdev>",
                "<hostdev mode='subsystem' type='mdev' model='vfio-ccw'><source><address uuid='9063cba3-ecef-47b6-abcf-3fef4fdcad85'/></source></hostdev>",
                "<hostdev mode='capabilities' type='misc'><source><char>/dev/input/event3</char></source></hostdev>",
                "<hostdev mode='capabilities' type='net'><source><interface>eth0</interface></source></hostdev>"],
    "other": ["<controller type='usb' model='qemu-xhci'/><redirdev bus='usb' type='unix'><source mode='connect' path='/run/redir.sock'/></redirdev>",
              "<smartcard mode='passthrough' type='unix'><source mode='bind' path='/run/sc.sock'/></smartcard>",
              "<shmem name='sh{n}'><model type='ivshmem'/><size unit='M'>8</size><server path='/tmp/ivsh'/><msi vectors='8' ioeventfd='off'/></shmem>",
              "<shmem name='big{n}' role='master'><model type='ivshmem-plain'/><size unit='G'>1</size></shmem>",
              "<tpm model='tpm-tis'><backend type='emulator' version='2.0'/></tpm>",
              "<tpm model='tpm-tis'><backend type='external'><source type='unix' mode='connect' path='/run/swtpm.sock'/></backend></tpm>",
              "<tpm model='tpm-crb'><backend type='emulator' version='1.2'/></tpm>",
              "<panic model='s390'/>", "<panic model='isa'><address type='isa' iobase='0x505'/></panic>",
              "<panic model='warp'/>"],
}


DEVICE_COV_SINGLES = singles(DEVICE_COV)


# Memory devices need memory slots and a NUMA node to plug into.
COV_NUMA_TOP = {"memory": "<maxMemory slots='4' unit='GiB'>8</maxMemory><memory unit='GiB'>2</memory>",
                "cpu": "<vcpu>2</vcpu><cpu><numa><cell id='0' cpus='0-1' memory='1048576' unit='KiB'/></numa></cpu>"}


def domain_cov(n, k, rng):
    """Document n, the k-th of the third set: each fragment alone, then mixtures."""
    if k < len(DEVICE_COV_SINGLES):
        devs = [DEVICE_COV_SINGLES[k][1]]
    else:
        devs = [rng.choice(DEVICE_COV[slot]) for slot in DEVICE_COV if rng.random() < 0.3]
    top = dict(COV_NUMA_TOP) if any("<memory model" in d for d in devs) else {}
    return assemble(n, rng.choice(DOMAIN_TYPES), top, devs)


# Fourth domain set (documents 1013 on): the last domaincommon.rng names the other sets
# miss: TPM PCR banks, qcow2 metadata cache, NFS identity, virtio-mem runtime sizes and the
# hypervisor namespaces (which libvirt's test driver drops). Its own random stream.
NS = {"qemu": "http://libvirt.org/schemas/domain/qemu/1.0",
      "lxc": "http://libvirt.org/schemas/domain/lxc/1.0",
      "vmware": "http://libvirt.org/schemas/domain/vmware/1.0",
      "bhyve": "http://libvirt.org/schemas/domain/bhyve/1.0",
      "xen": "http://libvirt.org/schemas/domain/xen/1.0"}
COV4_DEVICES = [
    "<tpm model='tpm-crb'><backend type='emulator' version='2.0'><active_pcr_banks><sha1/><sha256/><sha384/><sha512/></active_pcr_banks></backend></tpm>",
    "<tpm model='tpm-tis'><backend type='emulator' version='2.0'><active_pcr_banks><sha384/></active_pcr_banks></backend></tpm>",
    "<tpm model='tpm-tis'><backend type='emulator' version='2.0'><active_pcr_banks><sha512/><sha1/></active_pcr_banks></backend></tpm>",
    "<tpm model='tpm-tis'><backend type='emulator' version='1.2'><active_pcr_banks><sha1/></active_pcr_banks></backend></tpm>",
    "<disk type='file' device='disk'><driver name='qemu' type='qcow2'><metadata_cache><max_size unit='KiB'>1024</max_size></metadata_cache></driver><source file='/mc{n}.img'/><target dev='vda' bus='virtio'/></disk>",
    "<disk type='file' device='disk'><driver name='qemu' type='qcow2'><metadata_cache><max_size>4096</max_size></metadata_cache></driver><source file='/mc{n}.img'/><target dev='vda' bus='virtio'/></disk>",
    "<disk type='file' device='disk'><driver name='qemu' type='qcow2'><metadata_cache><max_size unit='MiB'>2</max_size></metadata_cache></driver><source file='/mc{n}.img'/><target dev='vda' bus='virtio'/></disk>",
    "<disk type='file' device='disk'><driver name='qemu' type='qcow2'><metadata_cache><max_size unit='KiB'>lots</max_size></metadata_cache></driver><source file='/mc{n}.img'/><target dev='vda' bus='virtio'/></disk>",
    "<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nfs' name='/export/n{n}.img'><host name='nfs.example'/><identity user='qemu' group='kvm'/></source><target dev='vda' bus='virtio'/></disk>",
    "<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nfs' name='/export/n{n}.img'><host name='nfs.example' transport='tcp'/><identity user='+107'/></source><target dev='vdb' bus='virtio'/></disk>",
    "<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nfs' name='/export/n{n}.img'><host name='nfs.example'/><identity group='+36'/></source><target dev='vdc' bus='virtio'/></disk>",
    "<memory model='virtio-mem'><target><size unit='KiB'>1048576</size><node>0</node><block unit='KiB'>2048</block><requested unit='KiB'>524288</requested><current unit='KiB'>2048</current></target></memory>",
    "<tpm model='tpm-tis'><backend type='emulator' version='2.0'><active_pcr_banks><sha1/><md5/></active_pcr_banks></backend></tpm>",
    "<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/><active_pcr_banks><sha1/></active_pcr_banks></backend></tpm>",
    "<tpm model='tpm-crb'><backend type='emulator' version='2.0'><active_pcr_banks/></backend></tpm>",
    "<disk type='network' device='disk'><source protocol='nbd' name='e{n}'><host name='g' transport='unix' socket='/run/nbd{n}.sock'/></source><target dev='vdd' bus='virtio'/></disk>",
    "<disk type='network' device='disk'><source protocol='iscsi' name='iqn.2020-01.example:t/1'><host name='t.example' transport='tcp'/></source><target dev='vde' bus='virtio'/></disk>",
    "<disk type='network' device='disk'><source protocol='tftp' name='/i{n}.img'><host name='s.example'/></source><target dev='vdf' bus='virtio'/></disk>",
]
COV4_NAMESPACED = [
    ("qemu", "<qemu:commandline><qemu:arg value='-no-hpet'/><qemu:env name='QEMU_AUDIO_DRV' value='none'/></qemu:commandline>"),
    ("qemu", "<qemu:capabilities><qemu:add capability='blockdev'/><qemu:del capability='drive'/></qemu:capabilities>"),
    ("qemu", "<qemu:deprecation behavior='crash'/>"),
    ("qemu", "<qemu:override><qemu:device alias='ua-disk'><qemu:frontend><qemu:property name='serial' type='string' value='x1'/></qemu:frontend></qemu:device></qemu:override>"),
    ("lxc", "<lxc:namespace><lxc:sharenet type='netns' value='red'/><lxc:shareipc type='pid' value='12345'/><lxc:shareuts type='name' value='c1'/></lxc:namespace>"),
    ("vmware", "<vmware:datacenterpath>folder1/dc1</vmware:datacenterpath>"),
    ("bhyve", "<bhyve:commandline><bhyve:arg value='-H'/></bhyve:commandline>"),
    ("xen", "<xen:commandline><xen:arg value='-x'/></xen:commandline>"),
]


def domain_cov4(n, k, rng):
    """Document n, the k-th of the fourth set: each fragment alone, then pairs."""
    if k < len(COV4_DEVICES):
        devs = [COV4_DEVICES[k]]
        top = dict(COV_NUMA_TOP) if "<memory model" in devs[0] else {}
        return assemble(n, "test", top, devs)
    if k < len(COV4_DEVICES) + len(COV4_NAMESPACED):
        spaces = [COV4_NAMESPACED[k - len(COV4_DEVICES)]]
    else:
        spaces = rng.sample(COV4_NAMESPACED, 2)
    doc = assemble(n, rng.choice(DOMAIN_TYPES), {}, [rng.choice(COV4_DEVICES[:11])])
    decl = "".join(" xmlns:%s='%s'" % (p, NS[p]) for p in sorted({p for p, _ in spaces}))
    doc = doc.replace(">", decl + ">", 1)
    return doc.replace("</domain>", "\n".join(f for _, f in spaces) + "\n</domain>")


# Fifth domain set (documents 1100 on): the names of domain.rng's grammar (with what it
# includes) the other sets miss: NUMA interconnects and caches, maxphysaddr, zPCI
# addresses, a SCSI host adapter by parent address, LUKS ivgen and a disk source's
# privateData (which only status XML carries). Each fragment alone, then mixtures. Its
# own random stream.
COV5_NUMA = ("<vcpu>4</vcpu><cpu><numa>"
             "<cell id='0' cpus='0-1' memory='524288' unit='KiB'>"
             "<cache level='1' associativity='direct' policy='writeback'>"
             "<size value='10' unit='KiB'/><line value='8' unit='B'/></cache></cell>"
             "<cell id='1' cpus='2-3' memory='524288' unit='KiB'/>"
             "<interconnects>{ic}</interconnects></numa></cpu>")
COV5_TOP = [
    {"cpu": COV5_NUMA.format(ic="<latency initiator='0' target='0' type='access' value='5'/>"
                                "<latency initiator='0' target='1' type='read' value='10'/>"
                                "<bandwidth initiator='0' target='1' type='access' value='204800' unit='KiB'/>")},
    {"cpu": COV5_NUMA.format(ic="<latency initiator='0' target='0' cache='1' type='write' value='3'/>")},
    {"cpu": COV5_NUMA.format(ic="<latency initiator='0' target='7' type='access' value='5'/>")},
    {"cpu": COV5_NUMA.format(ic="<latency initiator='0' target='1' type='sideways' value='5'/>")},
    {"cpu": "<cpu mode='host-passthrough'><maxphysaddr mode='passthrough'/></cpu>"},
    {"cpu": "<cpu mode='host-passthrough'><maxphysaddr mode='passthrough' limit='39'/></cpu>"},
    {"cpu": "<cpu><maxphysaddr mode='emulate' bits='42'/></cpu>"},
    {"cpu": "<cpu><maxphysaddr mode='emulate'/></cpu>"},
    {"cpu": "<cpu><maxphysaddr mode='guess' bits='42'/></cpu>"},
]
COV5_DEVICES = [
    "<disk type='file' device='disk'><source file='/z{n}.img'/><target dev='vda' bus='virtio'/>"
    "<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'><zpci uid='0x0003' fid='0x00000027'/></address></disk>",
    "<interface type='network'><mac address='{mac0}'/><source network='default'/><model type='virtio'/>"
    "<address type='pci' domain='0x0000' bus='0x00' slot='0x06' function='0x0'><zpci uid='0x0004'/></address></interface>",
    "<controller type='scsi' index='0' model='virtio-scsi'>"
    "<address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'><zpci uid='0x10000' fid='0x1'/></address></controller>",
    "<hostdev mode='subsystem' type='scsi' managed='no'><source><adapter type='scsi_host'>"
    "<parentaddr unique_id='1'><address domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/></parentaddr>"
    "</adapter><address bus='0' target='0' unit='0'/></source></hostdev>",
    "<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host3'/><address bus='0' target='1' unit='2'/></source></hostdev>",
    "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/l{n}.qcow2'>"
    "<encryption format='luks'><secret type='passphrase' uuid='{uuid}'/>"
    "<cipher name='aes' size='256' mode='cbc' hash='sha256'/><ivgen name='plain64' hash='sha256'/></encryption>"
    "</source><target dev='vdb' bus='virtio'/></disk>",
    "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/l{n}.img'>"
    "<encryption format='luks' engine='qemu'><secret type='passphrase' uuid='{uuid}'/><ivgen name='plain'/></encryption>"
    "</source><target dev='vdc' bus='virtio'/></disk>",
    "<disk type='file' device='disk'><source file='/p{n}.img'><privateData><nodenames>"
    "<nodename type='storage' name='libvirt-1-storage'/><nodename type='format' name='libvirt-1-format'/>"
    "</nodenames></privateData></source><target dev='vdd' bus='virtio'/></disk>",
]


def domain_cov5(n, k, rng):
    """Document n, the k-th of the fifth set: each fragment alone, then mixtures."""
    if k < len(COV5_TOP):
        return assemble(n, "test", dict(COV5_TOP[k]), [])
    k -= len(COV5_TOP)
    if k < len(COV5_DEVICES):
        return assemble(n, "test", {}, [COV5_DEVICES[k]])
    top = dict(rng.choice(COV5_TOP[:2] + COV5_TOP[4:7])) if rng.random() < 0.6 else {}
    devs = rng.sample([COV5_DEVICES[i] for i in (0, 1, 3, 5, 7)], 2)
    return assemble(n, rng.choice(DOMAIN_TYPES), top, devs)


# ---------------------------------------------------------------- network ---
NETWORK = {
    "forward": ["<forward/>", "<forward mode='nat'/>", "<forward mode='route'/>", "<forward mode='open'/>",
                "<forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>",
                "<forward mode='nat'><nat><address start='192.0.2.1' end='192.0.2.10'/></nat></forward>",
                "<forward mode='nat' dev='eth0'><interface dev='eth0'/></forward>",
                "<forward mode='bridge'/>", "<forward mode='private'><interface dev='eth1'/><interface dev='eth2'/></forward>",
                "<forward mode='passthrough'><interface dev='eth3'/></forward>",
                "<forward mode='hostdev' managed='yes'><pf dev='eth4'/></forward>",
                "<forward mode='vepa'><interface dev='eth5'/></forward>", "<forward mode='warp'/>"],
    "bridge": ["<bridge name='virbr{n}'/>", "<bridge name='virbr{n}' stp='on' delay='0'/>",
               "<bridge name='virbr{n}' stp='off' delay='2'/>", "<bridge name='br{n}' macTableManager='libvirt'/>",
               "<bridge stp='on'/>", "<bridge name='virbr{n}' stp='maybe'/>"],
    "mac": ["<mac address='{mac0}'/>", "<mac address='52:54:00:zz:00:01'/>"],
    "domain": ["<domain name='example{n}.lan'/>", "<domain name='lan' localOnly='yes'/>"],
    "mtu": ["<mtu size='9000'/>", "<mtu size='1400'/>", "<mtu size='huge'/>"],
    "ip": ["<ip address='192.168.{o}.1' netmask='255.255.255.0'><dhcp><range start='192.168.{o}.2' end='192.168.{o}.254'/></dhcp></ip>",
           "<ip address='192.168.{o}.1' prefix='24'/>",
           "<ip address='192.168.{o}.1' netmask='255.255.255.0'><dhcp><range start='192.168.{o}.100' end='192.168.{o}.199'/><host mac='{mac1}' name='h{n}' ip='192.168.{o}.50'/></dhcp></ip>",
           "<ip address='192.168.{o}.1' netmask='255.255.255.0'><tftp root='/srv/tftp'/><dhcp><range start='192.168.{o}.2' end='192.168.{o}.9'/><bootp file='pxelinux.0'/></dhcp></ip>",
           "<ip family='ipv6' address='fd00:{o}::1' prefix='64'/>",
           "<ip address='192.168.{o}.1' netmask='255.255.255.0'/><ip family='ipv6' address='fd00:{o}::1' prefix='64'><dhcp><range start='fd00:{o}::100' end='fd00:{o}::1ff'/></dhcp></ip>",
           "<ip address='192.168.{o}.1' netmask='255.255.255.0' localPtr='yes'/>",
           "<ip address='192.168.{o}.1' netmask='255.255.255.0'><dhcp><range start='192.168.{o}.2' end='192.168.{o}.9'><lease expiry='1' unit='hours'/></range></dhcp></ip>",
           "<ip address='not-an-ip' prefix='24'/>"],
    "dns": ["<dns><forwarder addr='8.8.8.8'/></dns>", "<dns enable='no'/>",
            "<dns forwardPlainNames='no'><txt name='example' value='example value'/></dns>",
            "<dns><host ip='192.168.122.2'><hostname>myhost</hostname><hostname>myhostalias</hostname></host></dns>",
            "<dns><srv service='name' protocol='tcp' domain='test-domain-name' target='.' port='1024' priority='10' weight='10'/></dns>",
            "<dns><forwarder domain='example.com' addr='192.168.1.1'/></dns>"],
    "route": ["<route address='192.168.222.0' prefix='24' gateway='192.168.122.10'/>",
              "<route family='ipv6' address='2001:db8:ca2:3::' prefix='64' gateway='2001:db8:ca2:2::2' metric='2'/>"],
    "portgroup": ["<portgroup name='engineering' default='yes'/>",
                  "<portgroup name='sales'><bandwidth><inbound average='1000'/></bandwidth></portgroup>",
                  "<portgroup name='vlan'><vlan><tag id='10'/></vlan></portgroup>"],
    "bandwidth": ["<bandwidth><inbound average='1000' peak='5000' burst='5120'/><outbound average='1000'/></bandwidth>"],
    "vlan": ["<vlan trunk='yes'><tag id='42'/><tag id='47' nativeMode='untagged'/></vlan>"],
    "virtualport": ["<virtualport type='openvswitch'/>"],
    "misc": ["<bogus/>", "<title>net title</title>", "<description>net</description>",
             "<metadata><n:x xmlns:n='urn:n'/></metadata>"],
}


NETWORK_SINGLES = singles(NETWORK)


def network(n, rng):
    subst = dict(n=n, o=(n % 200) + 20, mac0=mac(n, 0), mac1=mac(n, 1))
    parts = ["<network>", "<name>net%d</name>" % n, "<uuid>%s</uuid>" % uuid(2, n)]
    if n < len(NETWORK_SINGLES):
        parts.append(NETWORK_SINGLES[n][1])
    else:
        for slot in NETWORK:
            if rng.random() < 0.3:
                parts.append(rng.choice(NETWORK[slot]))
    parts.append("</network>")
    return "\n".join(parts).format(**subst) + "\n"


# Second network set (documents 130 on): forward drivers, virtual port parameters and the
# dnsmasq namespace (which libvirt's test driver drops), each alone.
NETWORK_COV = [
    "<forward mode='hostdev' managed='yes'><driver name='vfio'/><pf dev='eth4'/></forward>",
    "<forward mode='hostdev'><driver name='kvm'/><address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x1'/></forward>",
    "<forward mode='hostdev'><driver name='bogus'/><pf dev='eth4'/></forward>",
    "<forward mode='bridge'/><bridge name='ovsbr{n}'/><virtualport type='openvswitch'><parameters interfaceid='09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f' profileid='p1'/></virtualport>",
    "<forward mode='private'><interface dev='eth1'/></forward><virtualport type='802.1Qbh'><parameters profileid='prof'/></virtualport>",
    "<forward mode='bridge'><interface dev='eth1'/></forward><virtualport type='802.1Qbg'><parameters managerid='11' typeid='1193047' typeidversion='2' instanceid='09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f'/></virtualport>",
    "<bridge name='virbr{n}'/><dnsmasq:options xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'><dnsmasq:option value='foo=bar'/><dnsmasq:option value='cname=*.x.example,x.example'/></dnsmasq:options>",
]


def network_cov(n, k):
    return "<network>\n<name>net%d</name>\n<uuid>%s</uuid>\n%s\n</network>\n" % (
        n, uuid(2, n), NETWORK_COV[k].format(n=n))


# ---------------------------------------------------------------- pool ------
POOL_SOURCES = {
    "dir": ["", "<source/>"],
    "fs": ["<source><device path='/dev/sdb1'/><format type='ext4'/></source>", "<source><device path='/dev/sdb2'/></source>",
           "<source><device path='/dev/vg/lv'/><format type='auto'/></source>"],
    "netfs": ["<source><host name='nfs.example'/><dir path='/export'/><format type='nfs'/></source>",
              "<source><host name='gl.example'/><dir path='/vol'/><format type='glusterfs'/></source>",
              "<source><host name='nfs.example'/><dir path='/export'/><protocol ver='4'/></source>",
              "<source><host name='cifs.example'/><dir path='share'/><format type='cifs'/></source>"],
    "logical": ["<source><name>vg{n}</name><format type='lvm2'/></source>",
                "<source><device path='/dev/sdc'/><name>vg{n}</name></source>"],
    "disk": ["<source><device path='/dev/sdd'/><format type='gpt'/></source>", "<source><device path='/dev/sde'/></source>"],
    "iscsi": ["<source><host name='iscsi.example' port='3260'/><device path='iqn.2013-06.com.example:iscsi-pool'/></source>",
              "<source><host name='iscsi.example'/><device path='iqn.2013-06.com.example:t'/><initiator><iqn name='iqn.2013-06.com.example:client'/></initiator><auth type='chap' username='u'><secret usage='libvirtiscsi'/></auth></source>"],
    "scsi": ["<source><adapter type='scsi_host' name='scsi_host0'/></source>",
             "<source><adapter type='fc_host' wwnn='2000000012341234' wwpn='1000000012341234'/></source>"],
    "mpath": ["<source/>"],
    "rbd": ["<source><name>rbdpool</name><host name='mon1.example' port='6789'/><auth type='ceph' username='admin'><secret uuid='2ec115d7-3a88-3ceb-bc12-0ac909a6fd87'/></auth></source>"],
    "sheepdog": ["<source><name>sheep</name><host name='localhost' port='7000'/></source>"],
    "gluster": ["<source><name>volume</name><dir path='/'/><host name='gl.example'/></source>"],
    "zfs": ["<source><name>tank</name></source>", "<source><name>tank</name><device path='/dev/sdf'/></source>"],
    "vstorage": ["<source><name>cluster</name></source>"],
    "iscsi-direct": ["<source><host name='iscsi.example'/><device path='iqn.2013-06.com.example:t'/><initiator><iqn name='iqn.2013-06.com.example:c'/></initiator></source>"],
    "warp": [""],
}
POOL_EXTRA = {
    "sizes": ["<capacity unit='bytes'>0</capacity><allocation unit='bytes'>0</allocation><available unit='bytes'>0</available>",
              "<capacity unit='GiB'>10</capacity>", "<allocation>oops</allocation>"],
    "target": ["<target><path>/var/lib/pool{n}</path></target>",
               "<target><path>/srv/p{n}</path><permissions><mode>0755</mode><owner>107</owner><group>107</group></permissions></target>",
               "<target><path>/srv/q{n}</path><permissions><mode>0711</mode><label>system_u:object_r:virt_image_t:s0</label></permissions></target>",
               "<target><path>/dev/disk/by-path</path></target>", "<target><path>relative</path></target>"],
    "features": ["<features><cow state='no'/></features>", "<features><cow state='yes'/></features>"],
    "misc": ["<bogus/>", "<fs:mount_opts xmlns:fs='http://libvirt.org/schemas/storagepool/fs/1.0'><fs:option name='sync'/></fs:mount_opts>"],
}


def pool(n, rng):
    ptype = rng.choice(sorted(POOL_SOURCES))
    subst = dict(n=n)
    parts = ["<pool type='%s'>" % ptype, "<name>pool%d</name>" % n, "<uuid>%s</uuid>" % uuid(3, n)]
    if rng.random() < 0.4:
        parts.append(rng.choice(POOL_EXTRA["sizes"]))
    parts.append(rng.choice(POOL_SOURCES[ptype]))
    if rng.random() < 0.85:
        parts.append(rng.choice(POOL_EXTRA["target"]))
    for slot in ("features", "misc"):
        if rng.random() < 0.2:
            parts.append(rng.choice(POOL_EXTRA[slot]))
    parts.append("</pool>")
    return "\n".join(p for p in parts if p).format(**subst) + "\n"


# ---------------------------------------------------------------- volume ----
VOLUME = {
    "key": ["<key>/var/lib/key{n}</key>"],
    "source": ["<source/>"],
    "capacity": ["<capacity>1048576</capacity>", "<capacity unit='MiB'>10</capacity>", "<capacity unit='G'>1</capacity>",
                 "<capacity unit='bytes'>0</capacity>", "<capacity unit='parsec'>1</capacity>"],
    "allocation": ["<allocation>0</allocation>", "<allocation unit='MiB'>5</allocation>", "<physical unit='MiB'>10</physical>"],
    "target": ["<target><format type='raw'/></target>", "<target><format type='qcow2'/></target>",
               "<target><path>/ignored/path</path><format type='qcow2'/><compat>1.1</compat><features><lazy_refcounts/></features></target>",
               "<target><format type='raw'/><permissions><mode>0600</mode><owner>0</owner><group>0</group></permissions></target>",
               "<target><format type='qcow2'/><nocow/></target>",
               "<target><format type='raw'/><timestamps><atime>1341933637.273190990</atime></timestamps></target>",
               "<target><format type='vmdk'/></target>", "<target><format type='bogusfmt'/></target>"],
    "backing": ["<backingStore><path>/var/lib/base.img</path><format type='raw'/></backingStore>"],
    "misc": ["<bogus/>"],
}


def volume(n, rng):
    parts = ["<volume type='%s'>" % rng.choice(["file", "file", "block", "dir"]) if rng.random() < 0.3 else "<volume>",
             "<name>vol%d.img</name>" % n]
    for slot in VOLUME:
        if slot == "capacity" or rng.random() < 0.35:
            parts.append(rng.choice(VOLUME[slot]))
    parts.append("</volume>")
    return "\n".join(parts).format(n=n) + "\n"


# Second pool and volume sets (pools 090 on, volumes 060 on): the storagepool.rng and
# storagevol.rng names the first sets miss, each fragment alone. Own random streams.
POOL_COV = [
    ("rbd", "<source><name>rbd{n}</name><host name='mon.example'/></source>", "<refresh><volume allocation='capacity'/></refresh>"),
    ("rbd", "<source><name>rbd{n}</name><host name='mon.example'/></source>", "<refresh><volume allocation='default'/></refresh>"),
    ("dir", "", "<refresh><volume allocation='sometimes'/></refresh>"),
    ("scsi", "<source><adapter type='scsi_host'><parentaddr unique_id='1'><address domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/></parentaddr></adapter></source>", ""),
    ("scsi", "<source><adapter type='fc_host' parent='scsi_host5' managed='yes' wwnn='20000000c9831b4b' wwpn='10000000c9831b4b'/></source>", ""),
    ("scsi", "<source><adapter type='fc_host' parent_wwnn='20000000c9848140' parent_wwpn='10000000c9848140' wwnn='20000000c9831b4b' wwpn='10000000c9831b4b'/></source>", ""),
    ("scsi", "<source><adapter type='fc_host' parent_fabric_wwn='2000000043214321' wwnn='20000000c9831b4b' wwpn='10000000c9831b4b'/></source>", ""),
    ("disk", "<source><device path='/dev/sdg' part_separator='yes'/><format type='dos'/></source>", ""),
    ("disk", "<source><device path='/dev/sdh' part_separator='no'/><format type='gpt'/><vendor name='ACME'/><product name='Disk9'/></source>", ""),
    ("disk", "<source><device path='/dev/sdi'><freeExtent start='1048576' end='2097152'/></device></source>", ""),
    ("logical", "<source><name>vg{n}</name><device path='/dev/sdj'/><device path='/dev/sdk'/></source>", ""),
    ("rbd", "<source><name>rbd{n}</name><host name='mon.example'/></source>",
     "<rbd:config_opts xmlns:rbd='http://libvirt.org/schemas/storagepool/rbd/1.0'><rbd:option name='client_mount_timeout' value='45'/></rbd:config_opts>"),
    ("netfs", "<source><host name='nfs.example'/><dir path='/export'/><format type='nfs'/></source>",
     "<fs:mount_opts xmlns:fs='http://libvirt.org/schemas/storagepool/fs/1.0'><fs:option name='sync'/><fs:option name='lazytime'/></fs:mount_opts>"),
    ("iscsi", "<source><host name='iscsi.example' port='3260'/><device path='iqn.2013-06.com.example:p'/><auth type='chap' username='u'><secret usage='iscsiuse'/></auth></source>", ""),
    ("iscsi-direct", "<source><host name='iscsi.example'/><device path='iqn.2013-06.com.example:t'/></source>", ""),
]
VOLUME_COV = [
    "<target><format type='qcow2'/><encryption format='luks'><secret type='passphrase' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/></encryption></target>",
    "<target><format type='raw'/><encryption format='luks'><secret type='passphrase' usage='volsec'/><cipher name='aes' size='256' mode='cbc' hash='sha256'/><ivgen name='plain64' hash='sha256'/></encryption></target>",
    "<target><format type='qcow2'/><encryption format='luks2'><secret type='passphrase' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/></encryption></target>",
    "<target><format type='qcow2'/><encryption format='qcow'><secret type='passphrase' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/></encryption></target>",
    "<target><format type='qcow2'/><compat>1.1</compat><clusterSize unit='KiB'>64</clusterSize><features><lazy_refcounts/><extended_l2/></features></target>",
    "<target><format type='qcow2'/><clusterSize>2097152</clusterSize></target>",
    "<target><format type='qcow2'/><clusterSize unit='bogus'>2</clusterSize></target>",
    "<target><format type='raw'/><timestamps><atime>1341933637.273190990</atime><mtime>1341930622.047245868</mtime><ctime>1341930622.047245868</ctime><btime>1341930622</btime></timestamps></target>",
    "<target><format type='raw'/><permissions><mode>0644</mode><owner>107</owner><group>107</group><label>system_u:object_r:virt_image_t:s0</label></permissions></target>",
    "<target><format type='qcow2'/></target><backingStore><path>/var/lib/b.qcow2</path><format type='qcow2'/><permissions><mode>0644</mode></permissions></backingStore>",
    "<source><device path='/dev/sda'><extent start='0' end='1048576'/></device></source><target><format type='raw'/></target>",
]


def pool_cov(n, k, rng):
    ptype, source, extra = POOL_COV[k]
    parts = ["<pool type='%s'>" % ptype, "<name>pool%d</name>" % n, "<uuid>%s</uuid>" % uuid(3, n), source]
    if ptype in ("dir", "fs", "netfs", "logical", "disk"):
        parts.append(rng.choice(POOL_EXTRA["target"][:3]))
    parts.append(extra)
    parts.append("</pool>")
    return "\n".join(p for p in parts if p).format(n=n) + "\n"


def volume_cov(n, k, rng):
    parts = ["<volume>", "<name>vol%d.img</name>" % n, rng.choice(VOLUME["capacity"][:3]), VOLUME_COV[k], "</volume>"]
    return "\n".join(parts).format(n=n) + "\n"


# ---------------------------------------------------------------- nodedev ---
def wwn(prefix, n):
    return "%s%013x" % (prefix, 0x1234000 + n)


def nodedev(n, rng):
    wwnn, wwpn = wwn("200", n), wwn("100", n)
    parent = rng.choice([
        "<parent>scsi_host1</parent>", "<parent>scsi_host1</parent>",
        "<parent wwnn='2000000012341234' wwpn='1000000012341234'/>",
        "<parent fabric_wwn='2000000043214321'/>", "<parent>computer</parent>", "<parent>nonexistent</parent>", ""])
    name = rng.choice(["", "<name>vhba%d</name>" % n, ""])
    fc = "<capability type='fc_host'><wwnn>%s</wwnn><wwpn>%s</wwpn>%s</capability>" % (
        wwnn, wwpn, rng.choice(["", "", "<fabric_wwn>2000000043214321</fabric_wwn>"]))
    cap = rng.choice([
        "<capability type='scsi_host'>%s</capability>" % fc,
        "<capability type='scsi_host'>%s</capability>" % fc,
        "<capability type='scsi_host'><host>%d</host>%s</capability>" % (20 + n, fc),
        "<capability type='scsi_host'><capability type='fc_host'><wwnn>nothex</wwnn><wwpn>%s</wwpn></capability></capability>" % wwpn,
        "<capability type='scsi_host'/>",
        "<capability type='system'/>",
        "<capability type='net'><interface>eth9</interface></capability>"])
    extra = rng.choice(["", "", "", "<bogus/>", "<driver><name>drv</name></driver>"])
    return "<device>\n%s\n</device>\n" % "\n".join(x for x in [name, parent, extra, cap] if x)


# ---------------------------------------------------------------- snapshot --
# Snapshots of test:///default's running domain "test" (one disk, vda).
SNAPSHOT = {
    "name": ["<name>snap{n}</name>", "<name>snap{n}</name>", "", "<name>a &amp; b {n}</name>", "<name>s/{n}</name>"],
    "description": ["<description>before the upgrade</description>", "<description>x &lt;y&gt; {n}</description>"],
    "memory": ["<memory snapshot='internal'/>", "<memory snapshot='no'/>", "<memory snapshot='external' file='/m{n}.img'/>",
               "<memory snapshot='manual'/>", "<memory snapshot='bogus'/>"],
    "disks": ["<disks><disk name='vda' snapshot='internal'/></disks>", "<disks><disk name='vda'/></disks>",
              "<disks><disk name='/guest/diskimage1'/></disks>", "<disks><disk name='vda' snapshot='no'/></disks>",
              "<disks><disk name='vda' snapshot='external'><source file='/s{n}.qcow2'/></disk></disks>",
              "<disks><disk name='vdz'/></disks>", "<disks><disk name='vda' snapshot='manual'/></disks>",
              "<disks><disk name='vda' snapshot='sideways'/></disks>"],
    "misc": ["<creationTime>5</creationTime>", "<state>paused</state>", "<parent><name>nothere</name></parent>",
             "<frobnicate/>", "<domain type='test'><name>test</name><memory>1024</memory><os><type>hvm</type></os></domain>"],
}


NODEDEV_FIXED_DISK = """<device>
  <name>block_sdz_fixed</name>
  <parent>computer</parent>
  <capability type='storage'>
    <block>/dev/sdz</block>
    <bus>ata</bus>
    <drive_type>disk</drive_type>
    <model>Fixed Disk</model>
    <vendor>ATA</vendor>
    <serial>FD-0001</serial>
    <size>500107862016</size>
    <logical_block_size>512</logical_block_size>
    <num_blocks>976773168</num_blocks>
  </capability>
</device>
"""


def snapshot(n, rng):
    if n == 0:
        return "<snapshot><name>wrong-root</name></snapshot>\n"
    if n == 1:
        return "<domainsnapshot/>\n"
    parts = ["<domainsnapshot>"]
    for slot in SNAPSHOT:
        if slot == "name" or rng.random() < 0.35:
            parts.append(rng.choice(SNAPSHOT[slot]))
    parts.append("</domainsnapshot>")
    return "\n".join(p for p in parts if p).format(n=n) + "\n"


# Second snapshot set (documents 050 on): redefinitions (VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE,
# marked by a leading comment that both oracle runners read), each alone.
TEST_UUID = "6695eb01-f6a4-8304-79aa-97f2502e193f"
REDEF_DOMAIN = ("<{tag} type='test'><name>test</name><uuid>{uuid}</uuid><memory>8388608</memory>"
                "<vcpu>2</vcpu><os><type>hvm</type></os>{devs}</{tag}>")
REDEF_DISK = "<devices><disk type='file' device='disk'><source file='/r.img'/><target dev='vda' bus='virtio'/></disk></devices>"


def redef_domain(tag="domain", uuid_=TEST_UUID, devs=""):
    return REDEF_DOMAIN.format(tag=tag, uuid=uuid_, devs=devs)


SNAPSHOT_REDEFINE = [
    "<name>r{n}</name><state>running</state><creationTime>1700000000</creationTime>" + redef_domain()
    + redef_domain("inactiveDomain"),
    "<name>r{n}</name><description>kept</description><state>paused</state><creationTime>1700000001</creationTime>" + redef_domain(),
    "<name>r{n}</name><state>shutoff</state><creationTime>1700000002</creationTime>" + redef_domain(devs=REDEF_DISK),
    "<name>r{n}</name><state>running</state><creationTime>1700000003</creationTime><disks><disk name='vda' snapshot='internal'/></disks>" + redef_domain(devs=REDEF_DISK),
    "<state>running</state><creationTime>1700000004</creationTime>" + redef_domain(),
    "<name>r{n}</name><creationTime>1700000005</creationTime>" + redef_domain(),
    "<name>r{n}</name><state>bogus</state><creationTime>1700000006</creationTime>" + redef_domain(),
    "<name>r{n}</name><state>running</state>" + redef_domain(),
    "<name>r{n}</name><state>running</state><creationTime>soon</creationTime>" + redef_domain(),
    "<name>r{n}</name><state>running</state><creationTime>1700000009</creationTime>",
    "<name>r{n}</name><state>running</state><creationTime>1700000010</creationTime>"
    + redef_domain(uuid_="00000000-f6a4-8304-79aa-97f2502e193f"),
    "<name>r{n}</name><state>running</state><parent><name>nope</name></parent><creationTime>1700000011</creationTime>" + redef_domain(),
    "<name>r{n}</name><state>shutoff</state><creationTime>1700000012</creationTime><memory snapshot='internal'/>" + redef_domain(),
    "<name>r{n}</name><state>disk-snapshot</state><creationTime>1700000013</creationTime>" + redef_domain(devs=REDEF_DISK),
    "<name>r{n}</name><state>crashed</state><creationTime>1700000014</creationTime>" + redef_domain(),
    "<name>r{n}</name><state>running</state><creationTime>1700000015</creationTime><disks><disk name='vda' snapshot='no'/></disks>" + redef_domain(devs=REDEF_DISK),
]

# Third snapshot set (documents 066 on): redefinitions whose external disk snapshots carry
# the storage source elements of domainsnapshot.rng the other sets miss (network
# sources with auth, config, cookies, ssl, readahead, timeout, identity, initiator,
# slices, encryption, seclabel and a metadata cache), each alone.
SNAP3_DISKS = [
    "<disk name='vda' snapshot='external' type='network'><driver type='qcow2'><metadata_cache><max_size unit='KiB'>512</max_size></metadata_cache></driver>"
    "<source protocol='rbd' name='pool/s{n}'><host name='mon.example' port='6789'/><auth username='admin'><secret type='ceph' usage='ceph-s{n}'/></auth>"
    "<config file='/etc/ceph/ceph.conf'/></source></disk>",
    "<disk name='vda' snapshot='external' type='network'><source protocol='https' name='/s{n}.qcow2'><host name='web.example' port='443'/>"
    "<ssl verify='no'/><cookies><cookie name='session'>abc{n}</cookie></cookies><readahead size='65536'/><timeout seconds='10'/></source></disk>",
    "<disk name='vda' snapshot='external' type='network'><source protocol='iscsi' name='iqn.2020-01.example:t{n}/1'><host name='t.example'/>"
    "<initiator><iqn name='iqn.2020-01.example:init{n}'/></initiator></source></disk>",
    "<disk name='vda' snapshot='external' type='network'><source protocol='nfs' name='/export/s{n}.img'><host name='nfs.example'/>"
    "<identity user='qemu' group='kvm'/></source></disk>",
    "<disk name='vda' snapshot='external' type='file'><driver type='qcow2'/><source file='/s{n}.qcow2'>"
    "<slices><slice type='storage' offset='0' size='1048576'/></slices>"
    "<encryption format='luks'><secret type='passphrase' uuid='5eed0000-0000-4000-8000-0000000000ee'/>"
    "<cipher name='aes' size='256' mode='cbc' hash='sha256'/><ivgen name='plain64' hash='sha256'/></encryption>"
    "<seclabel model='dac' relabel='yes'><label>+0:+0</label></seclabel></source></disk>",
    "<disk name='vda' snapshot='external' type='file'><source file='/s{n}.qcow2'><privateData><nodenames><nodename type='storage' name='n1'/></nodenames></privateData></source></disk>",
]
SNAP3 = ["<name>r{n}</name><state>disk-snapshot</state><creationTime>17000001%02d</creationTime><disks>%s</disks>"
         % (i, d) + redef_domain(devs=REDEF_DISK) for i, d in enumerate(SNAP3_DISKS)]
SNAP3.append("<name>r{n}</name><state>running</state><creationTime>1700000190</creationTime><active>1</active>"
             + redef_domain())
SNAPSHOT_REDEFINE_3 = SNAP3


def snapshot_redefine(n, k):
    return "<!-- redefine -->\n<domainsnapshot>\n%s\n</domainsnapshot>\n" % SNAPSHOT_REDEFINE[k].format(n=n)


def main():
    counts = {"domain": (domain, 560), "network": (network, 130), "pool": (pool, 90),
              "volume": (volume, 60), "nodedev": (nodedev, 50), "snapshot": (snapshot, 50)}
    for kind, (fn, count) in counts.items():
        d = os.path.join(HERE, kind)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        rng = random.Random("rvirt-%s" % kind)
        for n in range(count):
            with open(os.path.join(d, "%03d.xml" % n), "w") as f:
                f.write(fn(n, rng))
    rng = random.Random("rvirt-domain-more")
    for k in range(len(DOMAIN_MORE_SINGLES) + 60):
        n = 560 + k
        with open(os.path.join(HERE, "domain", "%03d.xml" % n), "w") as f:
            f.write(domain_more(n, k, rng))
    rng = random.Random("rvirt-domain-covdev")
    for k in range(len(DEVICE_COV_SINGLES) + 40):
        with open(os.path.join(HERE, "domain", "%03d.xml" % (900 + k)), "w") as f:
            f.write(domain_cov(900 + k, k, rng))

    rng = random.Random("rvirt-domain-covtop")
    for k in range(len(DOMAIN_COVTOP_SINGLES) + 30):
        n = 744 + k
        with open(os.path.join(HERE, "domain", "%03d.xml" % n), "w") as f:
            f.write(domain_covtop(n, k, rng))

    rng = random.Random("rvirt-domain-cov4")
    for k in range(len(COV4_DEVICES) + len(COV4_NAMESPACED) + 20):
        n = 1013 + k
        with open(os.path.join(HERE, "domain", "%03d.xml" % n), "w") as f:
            f.write(domain_cov4(n, k, rng))

    rng = random.Random("rvirt-domain-cov5")
    for k in range(len(COV5_TOP) + len(COV5_DEVICES) + 20):
        n = 1100 + k
        with open(os.path.join(HERE, "domain", "%03d.xml" % n), "w") as f:
            f.write(domain_cov5(n, k, rng))

    # Second node-device set (documents 050 on): our own host-device documents of
    # tests/data/xml-nodedev-host/synthetic (every capability of nodedev.rng), offered
    # as creation requests; both test drivers create only vHBAs, so this compares how
    # each capability parses and is refused.
    synthetic = os.path.join(HERE, "..", "xml-nodedev-host", "synthetic")
    for k, name in enumerate(sorted(os.listdir(synthetic))):
        with open(os.path.join(synthetic, name)) as src:
            text = src.read()
        with open(os.path.join(HERE, "nodedev", "%03d.xml" % (50 + k)), "w") as f:
            f.write(text)
    with open(os.path.join(HERE, "nodedev", "%03d.xml" % (51 + k)), "w") as f:
        f.write(NODEDEV_FIXED_DISK)

    rng = random.Random("rvirt-pool-cov")
    for k in range(len(POOL_COV)):
        with open(os.path.join(HERE, "pool", "%03d.xml" % (90 + k)), "w") as f:
            f.write(pool_cov(90 + k, k, rng))
    rng = random.Random("rvirt-volume-cov")
    for k in range(len(VOLUME_COV)):
        with open(os.path.join(HERE, "volume", "%03d.xml" % (60 + k)), "w") as f:
            f.write(volume_cov(60 + k, k, rng))

    for k in range(len(NETWORK_COV)):
        with open(os.path.join(HERE, "network", "%03d.xml" % (130 + k)), "w") as f:
            f.write(network_cov(130 + k, k))

    for k in range(len(SNAPSHOT_REDEFINE)):
        with open(os.path.join(HERE, "snapshot", "%03d.xml" % (50 + k)), "w") as f:
            f.write(snapshot_redefine(50 + k, k))
    # The third set: its last document keeps the number it had when it was written alone,
    # the external disk snapshots follow it.
    third = SNAPSHOT_REDEFINE_3[-1:] + SNAPSHOT_REDEFINE_3[:-1]
    for k, body in enumerate(third):
        n = 50 + len(SNAPSHOT_REDEFINE) + k
        with open(os.path.join(HERE, "snapshot", "%03d.xml" % n), "w") as f:
            f.write("<!-- redefine -->\n<domainsnapshot>\n%s\n</domainsnapshot>\n" % body.format(n=n))

main()
