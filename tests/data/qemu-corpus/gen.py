#!/usr/bin/python3
"""Writes the domain corpus of tests/tests/qemu_differential.rs.

Each document is a guest for the qemu driver as virt-install and virt-manager write them:
a base (machine, memory, vCPUs, os) plus fragments, one per "slot" (disks, interfaces,
controllers, character devices, graphics, video, sound, input, memballoon, rng, watchdog,
tpm, USB redirection, filesystems, cpu, numa, features, clock, pm, boot). The fragments are
written here, by us; a few are deliberately wrong so refusals are compared too. The first
documents take one fragment each, on an i440fx and on a q35 machine; the rest combine
several at random (fixed seed). Every guest gets a fixed UUID and fixed MAC addresses.

Usage: tests/data/qemu-corpus/gen.py   (rewrites domain/)
"""
import os
import random
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
COUNT = 420

MACHINES = ["pc", "q35", "pc-i440fx-7.2", "pc-q35-7.2", "pc-i440fx-5.2", "pc-q35-6.2", None]


def uuid(n):
    return "%08x-%04x-4%03x-8%03x-%012x" % (0x9e3a0000, n, n % 4096, 13, n * 7919)


def mac(n, i):
    return "52:54:00:%02x:%02x:%02x" % (0x40 + ((n >> 8) & 0x3f), n & 0xff, i)


TOP = {
    "memory": ["<memory unit='KiB'>1048576</memory><currentMemory unit='KiB'>524288</currentMemory>",
               "<memory unit='MiB'>2048</memory>",
               "<memory unit='GiB'>1</memory><currentMemory unit='GiB'>1</currentMemory>"],
    "vcpu": ["<vcpu placement='static'>2</vcpu>", "<vcpu placement='static' current='1'>4</vcpu>",
             "<vcpu>1</vcpu>", "<vcpu cpuset='0'>1</vcpu>", "<vcpu placement='static'>1024</vcpu>"],
    "cpu": ["<cpu mode='host-passthrough' check='none' migratable='on'/>",
            "<cpu mode='host-model' check='partial'/>",
            "<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>",
            "<cpu mode='custom' match='exact'><model fallback='allow'>Nehalem</model><feature policy='require' name='x2apic'/></cpu>",
            "<cpu mode='host-passthrough'><topology sockets='1' dies='1' cores='2' threads='1'/></cpu>",
            "<cpu><topology sockets='1' cores='1' threads='1'/></cpu>",
            "<cpu mode='maximum' check='none'/>",
            "<cpu mode='custom'><model>no-such-cpu</model></cpu>"],
    "numa": ["<cpu mode='host-passthrough'><numa><cell id='0' cpus='0' memory='1048576' unit='KiB'/></numa></cpu>",
             "<cpu><numa><cell id='0' cpus='0' memory='524288' unit='KiB'/><cell id='1' cpus='1' memory='524288' unit='KiB'/></numa></cpu>"],
    "features": ["<features><acpi/><apic/></features>",
                 "<features><acpi/><apic/><vmport state='off'/></features>",
                 "<features><acpi/><apic/><hyperv mode='custom'><relaxed state='on'/><vapic state='on'/><spinlocks state='on' retries='8191'/></hyperv><vmport state='off'/></features>",
                 "<features><acpi/><apic/><smm state='on'/></features>",
                 "<features><pae/></features>", "<features><acpi/><apic/><kvm><hidden state='on'/></kvm></features>",
                 "<features><acpi/><ioapic driver='qemu'/></features>"],
    "clock": ["<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/><timer name='pit' tickpolicy='delay'/><timer name='hpet' present='no'/></clock>",
              "<clock offset='localtime'><timer name='rtc' tickpolicy='catchup'/><timer name='pit' tickpolicy='delay'/><timer name='hpet' present='no'/><timer name='hypervclock' present='yes'/></clock>",
              "<clock offset='utc'/>", "<clock offset='variable' adjustment='60' basis='utc'/>",
              "<clock offset='utc'><timer name='kvmclock' present='yes'/></clock>"],
    "lifecycle": ["<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>",
                  "<on_crash>restart</on_crash>", "<on_poweroff>preserve</on_poweroff>"],
    "pm": ["<pm><suspend-to-mem enabled='no'/><suspend-to-disk enabled='no'/></pm>",
           "<pm><suspend-to-mem enabled='yes'/></pm>"],
    "os": ["<boot dev='hd'/>", "<boot dev='cdrom'/><boot dev='hd'/>", "<boot dev='network'/>",
           "<bootmenu enable='yes' timeout='3000'/>",
           "<kernel>/var/lib/libvirt/boot/vmlinuz</kernel><initrd>/var/lib/libvirt/boot/initrd.img</initrd><cmdline>console=ttyS0</cmdline>",
           "<smbios mode='sysinfo'/>", "<bios useserial='yes'/>"],
}

DISK_SRC = "/var/lib/libvirt/images/q{n}-%s.%s"

DEVICE = {
    "disk": ["<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/q{n}.qcow2'/><target dev='vda' bus='virtio'/></disk>",
             "<disk type='file' device='disk'><driver name='qemu' type='qcow2' discard='unmap'/><source file='/var/lib/libvirt/images/q{n}.qcow2'/><target dev='vda' bus='virtio'/><boot order='1'/></disk>",
             "<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none' io='native'/><source file='/var/lib/libvirt/images/q{n}.img'/><target dev='vda' bus='virtio'/></disk>",
             "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/q{n}.qcow2'/><target dev='sda' bus='sata'/></disk>",
             "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/q{n}.qcow2'/><target dev='sda' bus='scsi'/></disk>",
             "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/q{n}.img'/><target dev='hda' bus='ide'/></disk>",
             "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/q{n}-usb.img'/><target dev='sdb' bus='usb'/></disk>",
             "<disk type='block' device='disk'><driver name='qemu' type='raw' cache='none' io='native'/><source dev='/dev/vg0/q{n}'/><target dev='vdb' bus='virtio'/></disk>",
             "<disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/sdz'/><target dev='sdc' bus='scsi'/></disk>",
             "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/install.iso'/><target dev='sda' bus='sata'/><readonly/></disk>",
             "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='sdb' bus='sata'/><readonly/></disk>",
             "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/install.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>",
             "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/install.iso'/><target dev='sda' bus='scsi'/><readonly/></disk>",
             "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/a{n}.qcow2'/><target dev='vda' bus='virtio'/></disk><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/b{n}.qcow2'/><target dev='vdb' bus='virtio'/></disk>",
             "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/q{n}.qcow2'/><target dev='vda' bus='virtio'/><serial>Q{n}</serial></disk>",
             "<disk type='file' device='floppy'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/f.img'/><target dev='fda' bus='fdc'/></disk>",
             "<disk type='file' device='disk'><source file='/var/lib/libvirt/images/q{n}.img'/><target dev='vdq' bus='warp'/></disk>"],
    "interface": ["<interface type='user'><mac address='{mac0}'/><model type='virtio'/></interface>",
                  "<interface type='user'><mac address='{mac0}'/><model type='e1000e'/></interface>",
                  "<interface type='user'><mac address='{mac0}'/><model type='e1000'/></interface>",
                  "<interface type='user'><mac address='{mac0}'/><model type='rtl8139'/></interface>",
                  "<interface type='user'><mac address='{mac0}'/></interface>",
                  "<interface type='user'><mac address='{mac0}'/><model type='virtio'/><boot order='2'/></interface>",
                  "<interface type='user'><mac address='{mac0}'/><model type='virtio'/></interface><interface type='user'><mac address='{mac1}'/><model type='virtio'/></interface>",
                  "<interface type='network'><mac address='{mac0}'/><source network='default'/><model type='virtio'/></interface>",
                  "<interface type='bridge'><mac address='{mac0}'/><source bridge='br0'/><model type='virtio'/></interface>",
                  "<interface type='user'><mac address='{mac0}'/><model type='warp'/></interface>"],
    "controller": ["<controller type='usb' index='0' model='qemu-xhci' ports='15'/>",
                   "<controller type='usb' index='0' model='ich9-ehci1'/><controller type='usb' index='0' model='ich9-uhci1'><master startport='0'/></controller><controller type='usb' index='0' model='ich9-uhci2'><master startport='2'/></controller><controller type='usb' index='0' model='ich9-uhci3'><master startport='4'/></controller>",
                   "<controller type='usb' index='0' model='piix3-uhci'/>", "<controller type='usb' model='none'/>",
                   "<controller type='scsi' index='0' model='virtio-scsi'/>", "<controller type='scsi' index='0' model='lsilogic'/>",
                   "<controller type='virtio-serial' index='0'/>", "<controller type='sata' index='0'/>",
                   "<controller type='ide' index='0'/>",
                   "<controller type='pci' index='0' model='pcie-root'/><controller type='pci' index='1' model='pcie-root-port'/><controller type='pci' index='2' model='pcie-root-port'/>",
                   "<controller type='pci' index='0' model='pci-root'/>",
                   "<controller type='usb' model='frob'/>"],
    "chr": ["<serial type='pty'><target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console>",
            "<serial type='pty'/>", "<console type='pty'/>",
            "<console type='pty'><target type='virtio' port='0'/></console>",
            "<serial type='file'><source path='/var/log/libvirt/q{n}.log'/><target port='0'/></serial>",
            "<serial type='tcp'><source mode='bind' host='127.0.0.1' service='4555'/><protocol type='telnet'/><target port='0'/></serial>",
            "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>",
            "<channel type='unix'><source mode='bind' path='/run/q{n}.agent'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>",
            "<channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>",
            "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel><channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>",
            "<parallel type='pty'/>", "<serial type='null'/>"],
    "graphics": ["<graphics type='vnc' port='-1'/>", "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics>",
                 "<graphics type='spice' autoport='yes'><listen type='address'/><image compression='off'/></graphics>",
                 "<graphics type='spice' port='-1' tlsPort='-1' autoport='yes'/>",
                 "<graphics type='vnc' port='5907' autoport='no'/>", "<graphics type='spice'><listen type='none'/><gl enable='no'/></graphics>",
                 "<graphics type='egl-headless'/>"],
    "video": ["<video><model type='qxl' ram='65536' vram='65536' vgamem='16384' heads='1' primary='yes'/></video>",
              "<video><model type='virtio' heads='1' primary='yes'/></video>", "<video><model type='vga' vram='16384' heads='1' primary='yes'/></video>",
              "<video><model type='cirrus' vram='16384' heads='1' primary='yes'/></video>", "<video><model type='bochs' vram='16384' heads='1' primary='yes'/></video>",
              "<video><model type='none'/></video>", "<video><model type='ramfb'/></video>", "<video><model type='virtio'/></video>",
              "<video><model type='qxl'/></video>"],
    "sound": ["<sound model='ich9'/>", "<sound model='ich6'/>", "<sound model='ac97'/>", "<sound model='es1370'/>",
              "<sound model='ich9'/><audio id='1' type='spice'/>", "<audio id='1' type='none'/>", "<sound model='kazoo'/>"],
    "input": ["<input type='tablet' bus='usb'/>", "<input type='mouse' bus='ps2'/><input type='keyboard' bus='ps2'/>",
              "<input type='keyboard' bus='usb'/>", "<input type='tablet' bus='virtio'/>", "<input type='mouse' bus='virtio'/>",
              "<input type='tablet' bus='usb'/><input type='keyboard' bus='usb'/>"],
    "memballoon": ["<memballoon model='virtio'/>", "<memballoon model='none'/>", "<memballoon model='virtio'><stats period='5'/></memballoon>",
                   "<memballoon model='virtio' autodeflate='on'/>"],
    "rng": ["<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>",
            "<rng model='virtio'><rate bytes='1024' period='1000'/><backend model='random'>/dev/random</backend></rng>",
            "<rng model='virtio'><backend model='builtin'/></rng>"],
    "watchdog": ["<watchdog model='i6300esb' action='reset'/>", "<watchdog model='ib700' action='poweroff'/>",
                 "<watchdog model='itco' action='reset'/>", "<watchdog model='i6300esb'/>"],
    "tpm": ["<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>",
            "<tpm model='tpm-tis'><backend type='emulator' version='2.0'/></tpm>"],
    "redirdev": ["<redirdev bus='usb' type='spicevmc'/>", "<redirdev bus='usb' type='spicevmc'/><redirdev bus='usb' type='spicevmc'/>",
                 "<redirdev bus='usb' type='tcp'><source mode='connect' host='localhost' service='4000'/></redirdev>"],
    "filesystem": ["<filesystem type='mount' accessmode='passthrough'><source dir='/srv/share'/><target dir='share'/></filesystem>",
                   "<filesystem type='mount' accessmode='mapped'><source dir='/srv/ro'/><target dir='ro'/><readonly/></filesystem>",
                   "<filesystem type='mount' accessmode='passthrough'><driver type='virtiofs'/><source dir='/srv/fs'/><target dir='fs'/></filesystem>"],
    "other": ["<panic model='isa'/>", "<vsock model='virtio'><cid auto='yes'/></vsock>", "<hub type='usb'/>",
              "<smartcard mode='passthrough' type='spicevmc'/>", "<iommu model='intel'/>",
              "<shmem name='sh{n}'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>"],
}


def singles(table):
    return [(slot, f) for slot in table for f in table[slot]]


SINGLES = [("top", s, f) for s, f in singles(TOP)] + [("dev", s, f) for s, f in singles(DEVICE)]


def document(n, rng):
    """The n-th document: a single fragment over pc and q35 first, then combinations."""
    if n < 2 * len(SINGLES):
        where, slot, frag = SINGLES[n // 2]
        machine = ["pc", "q35"][n % 2]
        if where == "top":
            return assemble(n, "kvm", machine, {slot: frag}, [])
        return assemble(n, "kvm", machine, {}, [frag])
    top = {s: rng.choice(TOP[s]) for s in TOP if rng.random() < 0.4}
    devs = [rng.choice(DEVICE[s]) for s in DEVICE if rng.random() < 0.35]
    return assemble(n, rng.choice(["kvm", "kvm", "kvm", "qemu"]), rng.choice(MACHINES), top, devs)


def os_element(machine, boot):
    attr = " machine='%s'" % machine if machine else ""
    return "<os><type arch='x86_64'%s>hvm</type>%s</os>" % (attr, boot)


def assemble(n, dtype, machine, top, devs):
    subst = dict(n=n, mac0=mac(n, 0), mac1=mac(n, 1))
    parts = ["<domain type='%s'>" % dtype, "<name>rvq%d</name>" % n, "<uuid>%s</uuid>" % uuid(n)]
    parts.append(top.get("memory", "<memory unit='KiB'>%d</memory>" % (262144 * (1 + n % 4))))
    parts.append(top.get("vcpu", "<vcpu placement='static'>%d</vcpu>" % (1 + n % 2)))
    parts.append(os_element(machine, top.get("os", "")))
    for slot in ["features", "cpu", "numa", "clock", "lifecycle", "pm"]:
        if slot in top and not (slot == "numa" and "cpu" in top):
            parts.append(top[slot])
    body = "<emulator>/usr/bin/qemu-system-x86_64</emulator>" if n % 3 else ""
    parts.append("<devices>" + body + "".join(devs) + "</devices>")
    parts.append("</domain>")
    return "\n".join(parts).format(**subst) + "\n"


VIRTIO_DISK = ("<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
               "<source file='/var/lib/libvirt/images/x{n}-%d.qcow2'/><target dev='vd%s' bus='virtio'/></disk>")
DISK_NAMES = [c for c in "abcdefghijklmnopqrstuvwxyz"] + ["a" + c for c in "abcdefghijklmnopqrstuvwxyz"]
ROOT_PORTS = "".join("<controller type='pci' index='%d' model='pcie-root-port'/>" % i for i in range(1, 15))

# Documents written for bugs found (after the generated ones, so those keep their numbers):
# each pins a placing rule of libvirt's post-parse step.
EXTRA = [
    # virt-install's default Q35 guest: 14 root ports given, USB tablet, agent, virtio video.
    ("q35", "<controller type='usb' index='0' model='qemu-xhci' ports='15'/>"
            "<controller type='pci' index='0' model='pcie-root'/>" + ROOT_PORTS +
            "<controller type='virtio-serial' index='0'/>" + VIRTIO_DISK % (0, "a") +
            "<interface type='network'><mac address='{mac0}'/><source network='default'/><model type='virtio'/></interface>"
            "<console type='pty'/><channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
            "<input type='tablet' bus='usb'/><graphics type='vnc' port='-1'/><video><model type='virtio'/></video>"
            "<memballoon model='virtio'/><rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>"),
    # More PCIe devices than one slot of root ports holds.
    ("q35", "".join(VIRTIO_DISK % (i, "abcdefghij"[i]) for i in range(10))),
    # A conventional PCI device per slot of a pcie-to-pci-bridge, and then some.
    ("q35", "".join("<interface type='user'><mac address='52:54:00:7f:00:%02x'/><model type='e1000'/></interface>" % i
                    for i in range(4)) + "<sound model='ich9'/><sound model='ac97'/><watchdog model='i6300esb'/>"),
    # An address given in the document is kept, the others go around it.
    ("pc", "<interface type='user'><mac address='{mac0}'/><model type='virtio'/>"
           "<address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/></interface>"
           + VIRTIO_DISK % (0, "a") + VIRTIO_DISK % (1, "b") + "<video><model type='vga'/></video>"),
    # Root ports given without the spare: the devices fill them, more are added, no spare.
    ("q35", "<controller type='pci' index='0' model='pcie-root'/><controller type='pci' index='1' model='pcie-root-port'/>"
            + VIRTIO_DISK % (0, "a") + VIRTIO_DISK % (1, "b")),
    # USB devices on an XHCI controller of an i440FX guest, with a hub.
    ("pc", "<controller type='usb' index='0' model='qemu-xhci'/><hub type='usb'/>"
           "<input type='tablet' bus='usb'/><input type='keyboard' bus='usb'/>"
           "<redirdev bus='usb' type='tcp'><source mode='connect' host='localhost' service='4000'/></redirdev>"),
    # ICH9 USB on Q35 with SATA disks, a virtio-scsi controller and its disks.
    ("q35", "<controller type='usb' index='0' model='ich9-ehci1'/><controller type='usb' index='0' model='ich9-uhci1'><master startport='0'/></controller>"
            "<controller type='scsi' index='0' model='virtio-scsi'/>"
            "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/s{n}.img'/><target dev='sda' bus='scsi'/></disk>"
            "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='sdb' bus='sata'/><readonly/></disk>"),
    # More devices than an i440FX root bus holds: a pci-bridge is added for the rest.
    ("pc", "".join(VIRTIO_DISK % (i, DISK_NAMES[i]) for i in range(32))),
    # As many on Q35: root ports over several slots.
    ("q35", "".join(VIRTIO_DISK % (i, DISK_NAMES[i]) for i in range(32))),
    # Given root ports fewer than the devices: more are added, no spare.
    ("q35", "<controller type='pci' index='1' model='pcie-root-port'/><controller type='pci' index='2' model='pcie-root-port'/>"
            + "".join(VIRTIO_DISK % (i, "abcd"[i]) for i in range(4))),
    # Two QXL cards on Q35: the second is a conventional PCI device.
    ("q35", "<graphics type='vnc' port='-1'/><video><model type='qxl' primary='yes'/></video><video><model type='qxl'/></video>"),
    # An address given where the primary video would go: the video goes elsewhere.
    ("pc", "<interface type='user'><mac address='{mac0}'/><model type='virtio'/>"
           "<address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/></interface>"
           "<graphics type='vnc' port='-1'/><video><model type='vga'/></video>"),
    # A second SATA controller on Q35 and a disk on it.
    ("q35", "<controller type='sata' index='1'/><disk type='file' device='disk'><driver name='qemu' type='raw'/>"
            "<source file='/var/lib/libvirt/images/s{n}.img'/><target dev='sdg' bus='sata'/></disk>"),
    # ICH9 EHCI alone on i440FX.
    ("pc", "<controller type='usb' index='0' model='ich9-ehci1'/><input type='tablet' bus='usb'/>"),
    # PCIe NIC, ICH9 audio, USB tablet and redirection on Q35.
    ("q35", "<interface type='user'><mac address='{mac0}'/><model type='e1000e'/></interface><sound model='ich9'/>"
            "<input type='tablet' bus='usb'/><redirdev bus='usb' type='tcp'><source mode='connect' host='localhost' service='4000'/></redirdev>"),
    # More USB devices than PIIX3's two ports.
    ("pc", "<input type='tablet' bus='usb'/><input type='keyboard' bus='usb'/><input type='mouse' bus='usb'/>"),
    # Two USB controllers on Q35, a device given on the second.
    ("q35", "<controller type='usb' index='0' model='qemu-xhci'/><controller type='usb' index='1' model='qemu-xhci'/>"
            "<input type='tablet' bus='usb'><address type='usb' bus='1' port='1'/></input><input type='keyboard' bus='usb'/>"),
    # SCSI disks on two controllers of different models.
    ("pc", "<controller type='scsi' index='0' model='virtio-scsi'/><controller type='scsi' index='1' model='lsilogic'/>"
           "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/s{n}.img'/>"
           "<target dev='sdb' bus='scsi'/></disk><disk type='file' device='disk'><driver name='qemu' type='raw'/>"
           "<source file='/var/lib/libvirt/images/t{n}.img'/><target dev='sdc' bus='scsi'/>"
           "<address type='drive' controller='1' bus='0' target='0' unit='3'/></disk>"),
    # Virtio consoles next to a serial console.
    ("pc", "<serial type='pty'/><console type='pty'><target type='virtio'/></console><console type='pty'><target type='virtio'/></console>"),
    # Two HDA cards on Q35.
    ("q35", "<sound model='ich9'/><sound model='ich6'/>"),
    # The ICH9 watchdog.
    ("q35", "<watchdog model='itco' action='reset'/>"),
    # An IDE disk on Q35, which has no IDE.
    ("q35", "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='hdc' bus='ide'/><readonly/></disk>"),
    # Q35's video slot given to another device.
    ("q35", "<interface type='user'><mac address='{mac0}'/><model type='virtio'/>"
            "<address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/></interface>"
            "<graphics type='vnc' port='-1'/><video><model type='virtio'/></video>"),
    # ICH9 USB with its companions on Q35 next to an XHCI controller.
    ("q35", "<controller type='usb' index='0' model='ich9-ehci1'/>"
            "<controller type='usb' index='0' model='ich9-uhci1'><master startport='0'/></controller>"
            "<controller type='usb' index='0' model='ich9-uhci2'><master startport='2'/></controller>"
            "<controller type='usb' index='0' model='ich9-uhci3'><master startport='4'/></controller>"
            "<controller type='usb' index='1' model='qemu-xhci'/><input type='tablet' bus='usb'/>"),
    # virt-manager's i440FX guest.
    ("pc", "<disk type='file' device='disk'><driver name='qemu' type='qcow2' discard='unmap'/>"
           "<source file='/var/lib/libvirt/images/vm{n}.qcow2'/><target dev='vda' bus='virtio'/></disk>"
           "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='hda' bus='ide'/><readonly/></disk>"
           "<interface type='network'><mac address='{mac0}'/><source network='default'/><model type='virtio'/></interface>"
           "<serial type='pty'><target type='isa-serial' port='0'><model name='isa-serial'/></target></serial>"
           "<console type='pty'><target type='serial' port='0'/></console>"
           "<channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>"
           "<input type='tablet' bus='usb'/><graphics type='spice' autoport='yes'/>"
           "<video><model type='qxl' ram='65536' vram='65536' vgamem='16384' heads='1' primary='yes'/></video>"
           "<redirdev bus='usb' type='spicevmc'/><redirdev bus='usb' type='spicevmc'/>"
           "<memballoon model='virtio'/>"),
    # A balloon with its address given, and a NIC with a ROM file.
    ("pc", "<interface type='user'><mac address='{mac0}'/><model type='virtio'/><rom bar='off'/></interface>"
           "<memballoon model='virtio'><address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/></memballoon>"),
    # Transitional virtio devices on Q35 are conventional PCI ones.
    ("q35", "<interface type='user'><mac address='{mac0}'/><model type='virtio-transitional'/></interface>"
            "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/t{n}.qcow2'/>"
            "<target dev='vda' bus='virtio'/><model type='virtio-transitional'/></disk>"
            "<memballoon model='virtio-non-transitional'/>"),
    # Root ports written without an index, as some tools write them.
    ("q35", "<controller type='pci' model='pcie-root-port'/><controller type='pci' model='pcie-root-port'/>"
            + VIRTIO_DISK % (0, "a")),
    # SATA disks and a cdrom on Q35, a NIC booting second.
    ("q35", "".join("<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/s{n}-%d.img'/>"
                    "<target dev='sd%s' bus='sata'/></disk>" % (i, "abc"[i]) for i in range(3))
            + "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='sdd' bus='sata'/><readonly/></disk>"
            "<interface type='network'><mac address='{mac0}'/><source network='default'/><model type='virtio'/><boot order='2'/></interface>"),
    # Conventional PCI devices of every kind on one Q35 bridge.
    ("q35", "<sound model='ich6'/><sound model='ac97'/><watchdog model='i6300esb'/><controller type='scsi' index='0' model='lsilogic'/>"
            "<interface type='user'><mac address='{mac0}'/><model type='e1000'/></interface>"
            "<interface type='user'><mac address='{mac1}'/><model type='rtl8139'/></interface>"),
    # A second IDE controller on i440FX.
    ("pc", "<controller type='ide' index='1'/>"),
    # Eight disks on one virtio-scsi controller.
    ("q35", "<controller type='scsi' index='0' model='virtio-scsi'/>" + "".join(
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/s{n}-%d.img'/>"
        "<target dev='sd%s' bus='scsi'/></disk>" % (i, "abcdefgh"[i]) for i in range(8))),
    # A USB tablet with USB switched off.
    ("pc", "<controller type='usb' model='none'/><input type='tablet' bus='usb'/>"),
    # A pcie-to-pci-bridge given: a root port is added for it, the e1000 goes on it.
    ("q35", "<controller type='pci' index='1' model='pcie-to-pci-bridge'/>"
            "<interface type='user'><mac address='{mac0}'/><model type='e1000'/></interface>"),
    # A root port given its own address.
    ("q35", "<controller type='pci' index='1' model='pcie-root-port'>"
            "<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></controller>"
            + VIRTIO_DISK % (0, "a") + VIRTIO_DISK % (1, "b")),
    # A virtio-serial controller given an index of 1 and a channel on it.
    ("pc", "<controller type='virtio-serial' index='1'/><channel type='unix'><target type='virtio' name='a.b'/>"
           "<address type='virtio-serial' controller='1' bus='0' port='2'/></channel>"),
    # A virtio video as the only video of a Q35 guest without graphics.
    ("q35", "<video><model type='virtio' heads='2'/></video><input type='mouse' bus='virtio'/><input type='keyboard' bus='virtio'/>"),
    # Many NICs of both kinds on i440FX.
    ("pc", "".join("<interface type='user'><mac address='52:54:00:7e:00:%02x'/><model type='%s'/></interface>"
                   % (i, ["virtio", "e1000", "rtl8139", "e1000e"][i % 4]) for i in range(8))),
    # NIC models whose bus kind differs: vmxnet3 and ne2k_pci on Q35.
    ("q35", "<interface type='user'><mac address='{mac0}'/><model type='vmxnet3'/></interface>"
            "<interface type='user'><mac address='{mac1}'/><model type='ne2k_pci'/></interface>"),
    # NEC XHCI on Q35, no balloon.
    ("q35", "<controller type='usb' index='0' model='nec-xhci'/><memballoon model='none'/>"
            "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>"),
    # Two video cards and a virtio input on i440FX.
    ("pc", "<graphics type='vnc' port='-1'/><video><model type='qxl' primary='yes'/></video><video><model type='qxl'/></video>"
           "<input type='keyboard' bus='virtio'/>"),
]


def extra(n, machine, devices):
    subst = dict(n=n, mac0=mac(n, 0), mac1=mac(n, 1))
    parts = ["<domain type='kvm'>", "<name>rvq%d</name>" % n, "<uuid>%s</uuid>" % uuid(n),
             "<memory unit='KiB'>1048576</memory>", "<vcpu placement='static'>2</vcpu>",
             os_element(machine, ""), "<features><acpi/><apic/></features>",
             "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>" + devices + "</devices>",
             "</domain>"]
    return "\n".join(parts).format(**subst) + "\n"


def main():
    out = os.path.join(HERE, "domain")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    rng = random.Random(13)
    for n in range(COUNT):
        with open(os.path.join(out, "%03d.xml" % n), "w") as f:
            f.write(document(n, rng))
    for i, (machine, devices) in enumerate(EXTRA):
        n = COUNT + i
        with open(os.path.join(out, "%03d.xml" % n), "w") as f:
            f.write(extra(n, machine, devices))


if __name__ == "__main__":
    main()
