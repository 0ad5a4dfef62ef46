# Shared by the libvirt-python scripts of this directory, which run the same calls
# against libvirtd and rvirtd and print one line per step for the tests to compare:
# the connection to argv[1] (libvirt's error printing off) and `show`, which prints a
# step's answer or libvirt's error code, domain and text.
import sys, libvirt
libvirt.registerErrorHandler(lambda c, e: None, None)
c = libvirt.open(sys.argv[1])
def show(what, f):
    try:
        r = f()
        print(what, "OK", r if r is not None else "")
    except libvirt.libvirtError as e:
        print(what, "ERR", e.get_error_code(), e.get_error_domain(), e)
