"""libvirt-python against rvirtd: bulk domain lifecycle and libvirt error codes.

Usage: daemon_suite.py RW_URI RO_URI [COUNT]. Prints one 'ok: ...' line per check and exits
non-zero on the first failure.
"""
import sys

import libvirt

XML = """<domain type='test'>
  <name>{name}</name>
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
</domain>"""


def expect_error(code, fn, *args):
    try:
        fn(*args)
    except libvirt.libvirtError as e:
        if e.get_error_code() != code:
            raise AssertionError(f"expected error code {code}, got {e.get_error_code()}: {e}")
        return e
    raise AssertionError(f"expected libvirtError {code}, call succeeded")


def bulk(conn, count):
    names = [f"bulk{i:05d}" for i in range(count)]
    for n in names:
        conn.defineXML(XML.format(name=n))
    listed = {d.name() for d in conn.listAllDomains()}
    assert set(names) <= listed, "defined domains missing from listAllDomains"
    for n in names:
        d = conn.lookupByName(n)
        state, maxmem, mem, vcpus, _cpu = d.info()
        assert (state, maxmem, vcpus) == (libvirt.VIR_DOMAIN_SHUTOFF, 131072, 1), (n, d.info())
        assert f"<name>{n}</name>" in d.XMLDesc(0)
        d.create()
        assert d.info()[0] == libvirt.VIR_DOMAIN_RUNNING
        d.destroy()
        d.undefine()
    left = {d.name() for d in conn.listAllDomains()}
    assert not (set(names) & left), "undefined domains still listed"
    print(f"ok: {count} domains defined, listed, looked up, inspected, started, stopped, undefined")


def errors(conn, ro_uri):
    e = expect_error(libvirt.VIR_ERR_NO_DOMAIN, conn.lookupByName, "does-not-exist")
    print(f"ok: missing domain -> VIR_ERR_NO_DOMAIN ({e.get_error_message()})")
    e = expect_error(libvirt.VIR_ERR_NO_SUPPORT, conn.secretDefineXML, "<secret ephemeral='no'/>")
    print(f"ok: unsupported call -> VIR_ERR_NO_SUPPORT ({e.get_error_message()})")
    ro = libvirt.open(ro_uri)
    ro.lookupByName("test").info()
    e = expect_error(libvirt.VIR_ERR_OPERATION_DENIED, ro.lookupByName("test").destroy)
    print(f"ok: write on the read-only socket -> VIR_ERR_OPERATION_DENIED ({e.get_error_message()})")
    assert conn.lookupByName("test").isActive() == 1, "refused destroy must not happen"
    ro.close()


def main():
    rw_uri, ro_uri = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    conn = libvirt.open(rw_uri)
    bulk(conn, count)
    errors(conn, ro_uri)
    conn.close()
    print("all ok")


if __name__ == "__main__":
    main()
