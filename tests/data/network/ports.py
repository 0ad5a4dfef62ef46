import re, subprocess, sys, libvirt
from oracle import c, show
for n in ("rvnp-a", "rvnp-b", "rvnp-d", "rvnp-f"):
    try:
        x = c.networkLookupByName(n)
        if x.isActive(): x.destroy()
        x.undefine()
    except libvirt.libvirtError: pass
P = ("<networkport><uuid>%s</uuid><owner><name>g</name>"
     "<uuid>5eed0000-0000-4000-8000-000000000001</uuid></owner>"
     "<mac address='52:54:00:aa:bb:cc'/>%s</networkport>")
U = "5eed0000-0000-4000-8000-0000000000aa"
BW = "<bandwidth><inbound average='100' peak='200' burst='300'/></bandwidth>"
net = c.networkDefineXML("<network><name>rvnp-a</name>"
    "<uuid>5eed0000-0000-4000-8000-00000000000a</uuid>"
    "<forward mode='bridge'/><bridge name='rvnp0'/></network>")
try:
    show("inactive", lambda: net.portCreateXML(P % (U, ""), 0))
    net.create()
    show("reclaim-unplugged", lambda: net.portCreateXML(P % (U, ""), 1))
    show("flags", lambda: net.portCreateXML(P % (U, ""), 4))
    p = net.portCreateXML(P % (U, BW), 0)
    show("dump", lambda: p.XMLDesc(0))
    show("net-live", lambda: net.XMLDesc(0))
    show("net-inactive", lambda: net.XMLDesc(1))
    show("duplicate", lambda: net.portCreateXML(P % (U, ""), 0))
    show("params", lambda: sorted(p.parameters(0).items()))
    show("set", lambda: p.setParameters({"inbound.average": 150}, 0))
    show("dump-set", lambda: p.XMLDesc(0))
    show("list", lambda: [x.UUIDString() for x in net.listAllPorts(0)])
    show("lookup", lambda: net.portLookupByUUIDString(U).UUIDString())
    show("lookup-missing",
         lambda: net.portLookupByUUIDString("5eed0000-0000-4000-8000-0000000000bb"))
    show("dump-flags", lambda: p.XMLDesc(1))
    show("delete-flags", lambda: p.delete(1))
    show("reclaim", lambda: net.portCreateXML(
        P % ("5eed0000-0000-4000-8000-0000000000cc",
             "<plug type='bridge' bridge='rvnp9'/>"), 1).XMLDesc(0))
    show("delete", lambda: p.delete())
    show("delete-again", lambda: p.delete())
    show("dump-deleted", lambda: p.XMLDesc(0))
    net.destroy()
    show("list-inactive", lambda: net.listAllPorts(0))
finally:
    if net.isActive(): net.destroy()
    net.undefine()
for mode, fwd in (("vepa", "<interface dev='eth7'/>"), ("private", "")):
    n2 = c.networkDefineXML("<network><name>rvnp-b</name>"
        "<uuid>5eed0000-0000-4000-8000-00000000000b</uuid>"
        "<forward mode='%s'>%s</forward></network>" % (mode, fwd))
    try:
        n2.create()
        show(mode, lambda: n2.portCreateXML(P % (U, ""), 0).XMLDesc(0))
    finally:
        if n2.isActive(): n2.destroy()
        n2.undefine()
n4 = c.networkDefineXML("<network trustGuestRxFilters='yes'><name>rvnp-d</name>"
    "<uuid>5eed0000-0000-4000-8000-00000000000d</uuid>"
    "<forward mode='bridge'/><bridge name='rvnp2'/>"
    "<portgroup name='pgbw' default='yes'><bandwidth><inbound average='111'/></bandwidth></portgroup>"
    "<portgroup name='pgout'><bandwidth><outbound average='222' burst='8'/></bandwidth></portgroup>"
    "<portgroup name='pgvp'><virtualport type='openvswitch'/></portgroup></network>")
try:
    n4.create()
    for i, (what, extra) in enumerate((
            ("pg-default", ""),
            ("pg-named", "<group>pgout</group>"),
            ("pg-own-bw", "<group>pgout</group><bandwidth><inbound average='5'/></bandwidth>"),
            ("pg-unknown", "<group>nosuch</group>"),
            ("pg-own-vlan", "<vlan><tag id='7'/></vlan>"),
            ("pg-virtualport", "<group>pgvp</group>"),
            ("pg-own-trust", "<rxfilters trustGuest='no'/>"))):
        u = "5eed0000-0000-4000-8000-0000000001%02d" % i
        show(what, lambda: re.sub("interfaceid='[^']*'", "interfaceid='RANDOM'",
                                  n4.portCreateXML(P % (u, extra), 0).XMLDesc(0)))
finally:
    if n4.isActive(): n4.destroy()
    n4.undefine()
n5 = c.networkDefineXML("<network><name>rvnp-f</name>"
    "<uuid>5eed0000-0000-4000-8000-00000000000f</uuid>"
    "<forward mode='bridge'/><bridge name='rvnp4'/>"
    "<virtualport type='openvswitch'><parameters profileid='p1'/></virtualport>"
    "<portgroup name='pgi'><virtualport><parameters "
    "interfaceid='5eed0000-0000-4000-8000-0000000000f1'/></virtualport></portgroup></network>")
try:
    n5.create()
    for i, (what, extra) in enumerate((
            ("vp-merge", "<group>pgi</group>"),
            ("vp-network", ""),
            ("vp-profile", "<virtualport type='openvswitch'><parameters profileid='p2'/></virtualport>"),
            ("vp-type", "<virtualport type='802.1Qbh'><parameters profileid='p1'/></virtualport>"),
            ("vp-iface", "<group>pgi</group><virtualport><parameters "
                         "interfaceid='5eed0000-0000-4000-8000-0000000000f2'/></virtualport>"))):
        u = "5eed0000-0000-4000-8000-0000000002%02d" % i
        show(what, lambda: re.sub("interfaceid='(?!5eed)[^']*'", "interfaceid='RANDOM'",
                                  n5.portCreateXML(P % (u, extra), 0).XMLDesc(0)))
finally:
    if n5.isActive(): n5.destroy()
    n5.undefine()
def classes():
    return subprocess.run(["ip", "netns", "exec", sys.argv[2], "tc", "class", "show",
                           "dev", "rvnp1"], capture_output=True, text=True).stdout
n3 = c.networkCreateXML("<network><name>rvnp-c</name>"
    "<uuid>5eed0000-0000-4000-8000-00000000000c</uuid><forward mode='nat'/>"
    "<bridge name='rvnp1'/><bandwidth><inbound average='1000' peak='5000'/></bandwidth>"
    "<ip address='10.61.0.1' prefix='24'/></network>")
try:
    q = n3.portCreateXML(P % (U, "<bandwidth><inbound average='10'/></bandwidth>"), 0)
    print("classes", classes())
    for what, floor in (("floor-on", 300), ("floor-change", 700), ("floor-over", 6000),
                        ("floor-off", 0)):
        show(what, lambda: q.setParameters({"inbound.average": 10,
                                            "inbound.floor": floor}, 0))
        show(what + "-dump", lambda: q.XMLDesc(0))
        print("classes", classes())
    show("vport-nat", lambda: n3.portCreateXML(P % ("5eed0000-0000-4000-8000-0000000000dd",
                                                    "<virtualport type='openvswitch'/>"), 0))
    show("floor-again", lambda: q.setParameters({"inbound.floor": 50}, 0))
    show("floor-delete", lambda: q.delete())
    print("classes", classes())
    show("pg-floor-net", lambda: c.networkCreateXML("<network><name>rvnp-e</name>"
        "<forward mode='bridge'/><bridge name='rvnp3'/><portgroup name='pgfloor'>"
        "<bandwidth><inbound average='10' floor='100'/></bandwidth></portgroup>"
        "</network>").destroy())
finally:
    n3.destroy()
