#!/usr/bin/python3
"""The real libvirtd side of tests/tests/xml_netport.rs.

Usage: oracle.py URI. Defines and starts the network NETWORK on the libvirtd at URI (it
forwards to the host bridge rvnp0, which need not exist: libvirtd sets nothing up for
it, no bridge, no firewall, no dnsmasq), then reads lines "KIND PATH" on stdin and
creates a port of that network from each document (virNetworkPortCreateXML), dumps it
and deletes it. KIND is "port" with the suffixes "-reclaim" (VIR_NETWORK_PORT_CREATE_RECLAIM,
for a port that is already plugged) and "-validate" (VIR_NETWORK_PORT_CREATE_VALIDATE).
One record per document: "OK LEN" or "ERR CODE DOMAIN LEN", then LEN bytes (the dumped
XML or the error message) and a newline. The network is destroyed and undefined at the
end.
"""
import sys

import libvirt
import shutil

NETWORK = ("<network><name>rvirt-netport</name><forward mode='bridge'/>"
           "<bridge name='rvnp0'/></network>")

UNDECODABLE = "libvirtd's error message is not UTF-8"

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
conn = libvirt.open(sys.argv[1])


def remove(net):
    if net.isActive():
        net.destroy()
    net.undefine()
    # libvirtd 9.0 leaves the ports directory of a network that had ports.
    shutil.rmtree("/run/libvirt/network/rvirt-netport", ignore_errors=True)


def run(net, kind, xml):
    flags = 0
    if "-reclaim" in kind:
        flags |= libvirt.VIR_NETWORK_PORT_CREATE_RECLAIM
    if "-validate" in kind:
        flags |= libvirt.VIR_NETWORK_PORT_CREATE_VALIDATE
    port = net.portCreateXML(xml, flags)
    try:
        return port.XMLDesc(0)
    finally:
        port.delete()


def main():
    try:
        remove(conn.networkLookupByName("rvirt-netport"))
    except libvirt.libvirtError:
        pass
    net = conn.networkDefineXML(NETWORK)
    try:
        net.create()
        for line in sys.stdin:
            kind, path = line.split(None, 1)
            with open(path.strip()) as f:
                xml = f.read()
            try:
                body = run(net, kind, xml)
                head = "OK %d" % len(body.encode())
            except libvirt.libvirtError as e:
                body = str(e)
                head = "ERR %d %d %d" % (e.get_error_code(), e.get_error_domain(),
                                         len(body.encode()))
            except SystemError as e:
                # libvirtd 9.0 names the port in some plug-time refusals by a UUID
                # string it never filled in: the message is not UTF-8 and
                # libvirt-python cannot build the exception.
                body = "%s: %s" % (UNDECODABLE, e.__cause__)
                head = "ERR 0 0 %d" % len(body.encode())
            sys.stdout.write(head + "\n" + body + "\n")
            sys.stdout.flush()
    finally:
        remove(net)


main()
