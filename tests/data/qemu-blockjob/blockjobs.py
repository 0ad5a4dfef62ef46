"""Drives block jobs on one running domain on URI (argv[1]) with the XML in argv[2], whose
qcow2 chain (base <- mid <- top) the script makes under the directory argv[3], and prints
what every step answers: the outcome (error code, domain and message), the BLOCK_JOB and
BLOCK_JOB_2 events it causes, the disk's source in the live XML and the images' chain per
`qemu-img info --backing-chain`. The same script runs against rvirtd and a real libvirtd;
the outputs must match."""
import json
import os
import re
import subprocess
import sys
import threading
import time

import libvirt

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import events  # noqa: E402  (tests/python/events.py)

URI, XML_PATH, DIR = sys.argv[1], sys.argv[2], sys.argv[3]
LOG = events.EventLog()
L = libvirt
MIB = 1024 * 1024
TIMEOUT = 60.0


def run(*args):
    subprocess.run(args, check=True, capture_output=True)


def make_chain():
    """base (32M, 16M of data) <- mid (4M more) <- top (1M more)."""
    for n in ("base.qcow2", "mid.qcow2", "top.qcow2", "copy1.qcow2", "copy2.raw",
              "copy3.qcow2"):
        p = f"{DIR}/{n}"
        if os.path.exists(p):
            os.remove(p)
    run("qemu-img", "create", "-q", "-f", "qcow2", f"{DIR}/base.qcow2", "32M")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 1 0 16M", f"{DIR}/base.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", f"{DIR}/base.qcow2",
        f"{DIR}/mid.qcow2")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 2 16M 4M", f"{DIR}/mid.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", f"{DIR}/mid.qcow2",
        f"{DIR}/top.qcow2")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 3 20M 1M", f"{DIR}/top.qcow2")


def chain(top="top"):
    """`qemu-img info --backing-chain` of the image: name, size and backing of each."""
    image = top if "." in top else f"{top}.qcow2"
    if not os.path.exists(f"{DIR}/{image}"):
        return "missing"
    out = subprocess.run(["qemu-img", "info", "-U", "--backing-chain", "--output=json",
                          f"{DIR}/{image}"], capture_output=True, text=True,
                         check=True).stdout
    rows = []
    for img in json.loads(out):
        back = os.path.basename(img.get("backing-filename", "-"))
        rows.append(f"{os.path.basename(img['filename'])}:{img['virtual-size'] // MIB}M<-{back}")
    return " ".join(rows)


def masked(s):
    return str(s).replace(DIR, "DIR")


def main():
    events.start_loop()
    conn = libvirt.open(URI)

    def on_job(_c, _d, disk, kind, status, _o, tag="block_job"):
        LOG.add(f"{tag} {masked(disk)} type {kind} status {status}")

    conn.domainEventRegisterAny(None, L.VIR_DOMAIN_EVENT_ID_BLOCK_JOB, on_job, None)
    conn.domainEventRegisterAny(
        None, L.VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2,
        lambda c, d, disk, k, s, o: on_job(c, d, disk, k, s, o, "block_job_2"), None)
    xml = open(XML_PATH).read()
    name = xml.split("<name>")[1].split("</name>")[0]
    dom = None
    make_chain()

    def source():
        try:
            live = conn.lookupByName(name).XMLDesc(0)
        except libvirt.libvirtError as e:
            return f"source error {e.get_error_code()}"
        disk = re.search(r"<disk .*?</disk>", live, re.S).group(0)
        src = re.search(r"<source file='([^']*)'", disk)
        fmt = re.search(r"<driver name='qemu' type='([^']*)'", disk)
        return f"source {masked(src.group(1)) if src else '-'} {fmt.group(1) if fmt else '-'}"

    def disk_xml():
        """The disk's live XML: source, backing chain with libvirt's indexes."""
        live = conn.lookupByName(name).XMLDesc(0)
        disk = re.search(r"<disk .*?</disk>", live, re.S).group(0)
        return "\n" + masked(disk)

    def step(label, action):
        nonlocal dom
        try:
            result = action()
            if isinstance(result, libvirt.virDomain):
                dom = result
                result = None
            outcome = "ok" if result is None else f"ok {result}"
        except libvirt.libvirtError as e:
            outcome = (f"error {e.get_error_code()} {e.get_error_domain()} "
                       f"{masked(e.get_error_message())}")
        print(f"{label}: {outcome}")
        for e in LOG.settle():
            print(f"  {e}")
        print(f"  {source()}")

    def info(disk="vda", flags=0):
        i = dom.blockJobInfo(disk, flags)
        if not i:
            return "none"
        return (f"type {i['type']} bandwidth {i['bandwidth']} "
                f"{'cur==end' if i['cur'] == i['end'] else 'cur<end'}")

    def wait_event(text):
        """Waits (bounded) until an event line containing `text` has come."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            with LOG._lock:
                if any(text in line for line in LOG._lines):
                    return
            time.sleep(0.05)
        raise AssertionError(f"no event with {text!r} within {TIMEOUT}s")

    def wait_gone(disk="vda"):
        """Waits (bounded) until the disk has no block job."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if not dom.blockJobInfo(disk, 0):
                return None
            time.sleep(0.05)
        raise AssertionError(f"the job on {disk} did not end within {TIMEOUT}s")

    def then(action, waiter):
        def both():
            r = action()
            waiter()
            return r if r else None
        return both

    top, mid, base = (f"{DIR}/{n}.qcow2" for n in ("top", "mid", "base"))
    step("chain", chain)
    step("define", lambda: conn.defineXML(xml))
    step("resize offline", lambda: dom.blockResize("vda", 64 * MIB, L.VIR_DOMAIN_BLOCK_RESIZE_BYTES))
    step("pull offline", lambda: dom.blockPull("vda", 0, 0))
    step("commit offline", lambda: dom.blockCommit("vda", None, None, 0, 0))
    step("job info offline", lambda: info())
    step("abort offline", lambda: dom.blockJobAbort("vda", 0))
    step("set speed offline", lambda: dom.blockJobSetSpeed("vda", 1, 0))
    step("start", lambda: dom.create())
    step("disk xml", disk_xml)

    # Resize and the calls without a job.
    step("resize unknown disk", lambda: dom.blockResize("vdz", 64 * MIB, L.VIR_DOMAIN_BLOCK_RESIZE_BYTES))
    step("resize 40M bytes", lambda: dom.blockResize("vda", 40 * MIB, L.VIR_DOMAIN_BLOCK_RESIZE_BYTES))
    step("chain after resize", chain)
    step("resize 48M KiB by path", lambda: dom.blockResize(top, 48 * 1024, 0))
    step("chain after resize", chain)
    step("resize bad flag", lambda: dom.blockResize("vda", 48 * MIB, 1 << 7))
    step("job info none", lambda: info())
    step("job info by path", lambda: info(top))
    step("job info unknown", lambda: info("vdz"))
    step("abort none", lambda: dom.blockJobAbort("vda", 0))
    step("abort pivot none", lambda: dom.blockJobAbort("vda", L.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT))
    step("abort unknown", lambda: dom.blockJobAbort("vdz", 0))
    step("set speed none", lambda: dom.blockJobSetSpeed("vda", 1, 0))
    step("pull unknown", lambda: dom.blockPull("vdz", 0, 0))
    step("rebase bad base", lambda: dom.blockRebase("vda", f"{DIR}/nope.qcow2", 0, 0))
    step("commit bad top", lambda: dom.blockCommit("vda", None, f"{DIR}/nope.qcow2", 0, 0))
    step("commit top is base", lambda: dom.blockCommit("vda", mid, mid, 0, 0))

    # A slow pull: job info, speed, refusals while it runs, abort.
    step("slow pull", lambda: dom.blockPull("vda", 1, 0))
    step("job info slow pull", lambda: info())
    step("job info bytes", lambda: info("vda", L.VIR_DOMAIN_BLOCK_JOB_INFO_BANDWIDTH_BYTES))
    step("set speed 2", lambda: dom.blockJobSetSpeed("vda", 2, 0))
    step("job info after speed", lambda: info())
    step("set speed bytes", lambda: dom.blockJobSetSpeed("vda", 3 * MIB,
                                                          L.VIR_DOMAIN_BLOCK_JOB_SPEED_BANDWIDTH_BYTES))
    step("job info after bytes speed", lambda: info())
    step("second job", lambda: dom.blockPull("vda", 0, 0))
    step("commit during pull", lambda: dom.blockCommit("vda", base, mid, 0, 0))
    step("pivot a pull", lambda: dom.blockJobAbort("vda", L.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT))
    step("abort slow pull", lambda: dom.blockJobAbort("vda", 0))
    step("job info after abort", lambda: info())
    step("chain after abort", chain)
    step("disk xml", disk_xml)

    # Pull with a base: mid's data into top, top's backing is base.
    step("rebase onto base", then(lambda: dom.blockRebase("vda", base, 0, 0), wait_gone))
    step("job info after pull", lambda: info())
    step("chain after pull", chain)
    step("disk xml", disk_xml)
    step("destroy", lambda: dom.destroy())

    # Commits on a new chain.
    make_chain()
    step("chain", chain)
    step("start", lambda: dom.create())
    step("disk xml", disk_xml)
    step("commit mid into base", then(lambda: dom.blockCommit("vda", base, mid, 0, 0), wait_gone))
    step("chain after commit", chain)
    step("disk xml", disk_xml)
    step("commit active without flag", lambda: dom.blockCommit("vda", base, top, 0, 0))
    step("active commit", then(lambda: dom.blockCommit("vda", base, None, 0,
                                                       L.VIR_DOMAIN_BLOCK_COMMIT_ACTIVE),
                               lambda: wait_event("status 3")))
    step("job info ready", lambda: info())
    step("another job while ready", lambda: dom.blockPull("vda", 0, 0))
    step("abort active commit", lambda: dom.blockJobAbort("vda", 0))
    step("job info after abort", lambda: info())
    step("chain after abort", chain)
    step("disk xml", disk_xml)
    step("active commit again", then(lambda: dom.blockCommit("vda", None, None, 0,
                                                             L.VIR_DOMAIN_BLOCK_COMMIT_ACTIVE),
                                     lambda: wait_event("status 3")))
    step("pivot async", then(lambda: dom.blockJobAbort("vda", L.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT
                                                       | L.VIR_DOMAIN_BLOCK_JOB_ABORT_ASYNC),
                             wait_gone))
    step("job info after pivot", lambda: info())
    step("chain after pivot", lambda: chain("base"))
    step("disk xml", disk_xml)
    step("resize after pivot", lambda: dom.blockResize("vda", 56 * MIB, L.VIR_DOMAIN_BLOCK_RESIZE_BYTES))
    step("chain after resize", lambda: chain("base"))

    copy = L.VIR_DOMAIN_BLOCK_REBASE_COPY
    step("copy on a persistent domain", lambda: dom.blockRebase("vda", f"{DIR}/copy1.qcow2", 0,
                                                                copy))
    dest = "<disk type='file'><source file='%s'/><driver type='%s'/></disk>"
    step("blockcopy without transient job", lambda: dom.blockCopy(
        "vda", dest % (f"{DIR}/copy3.qcow2", "qcow2"), None, 0))
    step("blockcopy transient job", then(lambda: dom.blockCopy(
        "vda", dest % (f"{DIR}/copy3.qcow2", "qcow2"), {"bandwidth": 0},
        L.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB), lambda: wait_event("type 2 status 3")))
    step("job info blockcopy", lambda: info())
    step("pivot blockcopy", lambda: dom.blockJobAbort("vda", L.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT))
    step("chain of blockcopy", lambda: chain("copy3.qcow2"))
    step("disk xml", disk_xml)
    step("destroy", lambda: dom.destroy())
    step("source offline", lambda: None)
    step("undefine", lambda: dom.undefine())

    # Copies on a transient domain: one aborted once ready, one (raw) pivoted to.
    make_chain()
    step("create transient", lambda: conn.createXML(xml, 0))
    step("disk xml", disk_xml)
    step("copy", then(lambda: dom.blockRebase("vda", f"{DIR}/copy1.qcow2", 0, copy),
                      lambda: wait_event("type 2 status 3")))
    step("job info copy", lambda: info())
    step("second job during copy", lambda: dom.blockPull("vda", 0, 0))
    step("abort copy", lambda: dom.blockJobAbort("vda", 0))
    step("job info after abort", lambda: info())
    step("chain of aborted copy", lambda: chain("copy1.qcow2"))
    step("copy raw", then(lambda: dom.blockRebase("vda", f"{DIR}/copy2.raw", 0,
                                                  copy | L.VIR_DOMAIN_BLOCK_REBASE_COPY_RAW),
                          lambda: wait_event("type 2 status 3")))
    step("pivot copy", lambda: dom.blockJobAbort("vda", L.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT))
    step("job info after copy", lambda: info())
    step("disk xml", disk_xml)
    step("chain of copy", lambda: chain("copy2.raw"))
    step("resize copy", lambda: dom.blockResize("vda", 40 * MIB, L.VIR_DOMAIN_BLOCK_RESIZE_BYTES))
    step("chain of copy", lambda: chain("copy2.raw"))
    step("copy onto an existing file", lambda: dom.blockRebase("vda", f"{DIR}/copy1.qcow2", 0,
                                                               copy))
    step("destroy transient", lambda: dom.destroy())


if __name__ == "__main__":
    main()
