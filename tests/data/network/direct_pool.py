# Ports of networks with a pool of forward interfaces (the direct modes): which
# interface each new port gets, the live counts, passthrough running out, a freed
# interface taken again. Run against libvirtd and rvirtd by
# tests/tests/network_direct_pool.rs; argv[1] is the connection URI.
import libvirt
from oracle import c, show
P = ("<networkport><uuid>5eed0000-0000-4000-8000-0000000001%02x</uuid><owner><name>g</name>"
     "<uuid>5eed0000-0000-4000-8000-000000000001</uuid></owner>"
     "<mac address='52:54:00:aa:bb:%02x'/></networkport>")
def plug(p):
    x = p.XMLDesc(0)
    return x[x.index("<plug"):x.index("/>", x.index("<plug")) + 2]
for mode in ("vepa", "bridge", "private", "passthrough"):
    try:
        o = c.networkLookupByName("rvdp")
        if o.isActive(): o.destroy()
        o.undefine()
    except libvirt.libvirtError: pass
    net = c.networkDefineXML("<network><name>rvdp</name>"
        "<uuid>5eed0000-0000-4000-8000-0000000000d1</uuid>"
        "<forward mode='%s'><interface dev='eth1'/><interface dev='eth2'/>"
        "<interface dev='eth3'/></forward></network>" % mode)
    try:
        net.create()
        ports = []
        for i in range(4):
            try:
                p = net.portCreateXML(P % (i, i), 0)
                ports.append(p)
                print(mode, i, "OK", plug(p))
            except libvirt.libvirtError as e:
                print(mode, i, "ERR", e.get_error_code(), e.get_error_domain(), e)
        show(mode + " live", lambda: net.XMLDesc(0))
        show(mode + " inactive", lambda: net.XMLDesc(1))
        ports[1].delete()
        show(mode + " after-delete", lambda: plug(net.portCreateXML(P % (9, 9), 0)))
        show(mode + " live2", lambda: net.XMLDesc(0))
    finally:
        if net.isActive(): net.destroy()
        net.undefine()
