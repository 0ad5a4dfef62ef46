# Pools of SR-IOV functions on a machine without SR-IOV: hostdev networks listing
# devices by name or PCI functions that are not VFs, physical functions without VFs
# (hostdev and direct modes), an empty pool. Run against libvirtd and rvirtd by
# tests/tests/network_direct_pool.rs; argv[1] is the connection URI.
import libvirt
from oracle import c, show
CASES = (("hostdev", "<pf dev='eth9'/>"), ("hostdev", "<pf dev='lo'/>"),
         ("hostdev", "<interface dev='eth9'/>"), ("hostdev", ""),
         ("hostdev", "<address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>"),
         ("passthrough", "<pf dev='eth9'/>"), ("vepa", "<pf dev='lo'/>"))
for mode, fwd in CASES:
    fwd_ = fwd
    x = ("<network><name>rvhp</name><uuid>5eed0000-0000-4000-8000-0000000000e1</uuid>"
         "<forward mode='%s' managed='yes'>%s</forward></network>" % (mode, fwd))
    fwd = mode + " " + fwd_
    show("define " + fwd, lambda: c.networkDefineXML(x).name())
    try:
        n = c.networkLookupByName("rvhp")
        show("start " + fwd, lambda: n.create())
        show("port " + fwd, lambda: n.portCreateXML("<networkport><uuid>5eed0000-0000-4000-8000-000000000201</uuid><owner><name>g</name><uuid>5eed0000-0000-4000-8000-000000000001</uuid></owner><mac address='52:54:00:aa:cc:01'/></networkport>", 0).XMLDesc(0))
        if n.isActive(): n.destroy()
        n.undefine()
    except libvirt.libvirtError as e:
        print("lookup", e)
    show("create " + fwd, lambda: c.networkCreateXML(x).destroy())
