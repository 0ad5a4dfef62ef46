"""Console streams on URI (argv[2]) for the domain in the XML file argv[3], in one of two
modes (argv[1]):
  rules  - a firmware-only guest with a pty serial port: the errors of opening a console
           on a stopped domain, an unknown device and a busy one, and what a forced open
           does to the stream it takes over;
  echo   - a Linux guest whose init echoes what it reads on ttyS0: a line sent through
           the console comes back.
Every outcome is printed; the same script runs against rvirtd and a real libvirtd."""
import sys
import threading

import libvirt

MODE, URI, XML_PATH = sys.argv[1], sys.argv[2], sys.argv[3]
conn = libvirt.open(URI)


def outcome(action):
    try:
        action()
        return "ok"
    except libvirt.libvirtError as e:
        return f"error {e.get_error_code()} {e.get_error_domain()} {e.get_error_message()}"


def recv_within(stream, seconds):
    """What one blocking recv gives within `seconds`: data, end, an error, or nothing."""
    got = []

    def run():
        try:
            data = stream.recv(4096)
            got.append("end" if data == b"" else "data")
        except libvirt.libvirtError as e:
            got.append(f"error {e.get_error_code()} {e.get_error_domain()} {e.get_error_message()}")

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    return got[0] if got else "nothing"


def console(dom, dev=None, flags=0):
    st = conn.newStream(0)
    dom.openConsole(dev, st, flags)
    return st


def rules():
    dom = conn.defineXML(open(XML_PATH).read())
    print("stopped:", outcome(lambda: console(dom)))
    dom.create()
    print("unknown device:", outcome(lambda: console(dom, "serial7")))
    first = console(dom)
    print("first open: ok")
    print("second open:", outcome(lambda: console(dom)))
    second = []
    print("forced open:", outcome(lambda: second.append(console(dom, None, libvirt.VIR_DOMAIN_CONSOLE_FORCE))))
    print("taken-over stream:", recv_within(first, 5))
    second[0].abort()
    print("after the holder aborted:", outcome(lambda: console(dom).abort()))
    dom.destroy()
    dom.undefine()


def echo():
    dom = conn.defineXML(open(XML_PATH).read())
    dom.create()
    st = console(dom)
    seen = b""
    sent = False
    result = "no answer"
    while True:
        data = []
        t = threading.Thread(target=lambda: data.append(st.recv(4096)), daemon=True)
        t.start()
        t.join(120)
        if not data or data[0] == b"":
            break
        seen += data[0]
        if not sent and b"RVIRT-CONSOLE-READY" in seen:
            st.send(b"hello console\n")
            sent = True
        if b"GOT:hello console" in seen:
            result = "echoed"
            break
    print("echo:", result)
    st.abort()
    dom.destroy()
    dom.undefine()


{"rules": rules, "echo": echo}[MODE]()
