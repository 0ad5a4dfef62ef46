#!/usr/bin/python3
"""libvirt-python benchmark of a qemu driver (rvirtd's qemu module or libvirtd's), one daemon.

With one transient domain from --xml (a real QEMU process):

- create: createXML(xml, 0) until the call has returned and dom.state() says running;
- destroy: dom.destroy() until the call has returned and the QEMU process is gone from
  /proc (no /proc/PID, or a zombie); the call's own return time is reported as well;
- monitor: libvirt_qemu.qemuMonitorCommand(dom, '{"execute":"query-status"}', 0),
  p50/p99 over --mon-calls calls after a short warm-up;
- save: dom.save(file) of the running domain until the call has returned (the image is
  complete and the domain gone); restore: conn.restore(file) until the call has returned
  and the restored domain's state() says running. Images go to the directory of --out.
- snapshot-create: dom.snapshotCreateXML of the running domain (with a 16 MiB qcow2 disk
  added, next to --out: an internal snapshot, QEMU's savevm) until the call has
  returned; each snapshot is deleted again untimed.
- stats: --guests transient copies of the domain running at once (names -stats0...),
  then conn.getAllDomainStats(0, ACTIVE) (every group) timed --runs × 5 times;
- nodedev: listAllDevices(0), and XMLDesc of every device it lists, each walk timed
  --runs × 5 times (the host's devices through each daemon's node device driver).

The QEMU pid is found by scanning /proc for the qemu-system process whose command line
carries `-uuid <the domain's uuid>` (both libvirt and rvirt pass -uuid), so no pid file
path has to be known. One create/destroy pair before the timed runs is a warm-up.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import libvirt
import libvirt_qemu

MON_CMD = '{"execute":"query-status"}'


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


def qemu_pid(uuid):
    """The pid of the live qemu-system process with `-uuid uuid`, or None."""
    for ent in os.listdir("/proc"):
        if not ent.isdigit():
            continue
        try:
            with open(f"/proc/{ent}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if not argv or b"qemu-system" not in argv[0]:
            continue
        for i, a in enumerate(argv[:-1]):
            if a == b"-uuid" and argv[i + 1].decode(errors="replace").lower() == uuid.lower():
                if alive(int(ent)):
                    return int(ent)
    return None


def alive(pid):
    """Whether pid names a process that has not exited (zombies count as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_running(dom, deadline_s=30.0):
    end = time.perf_counter() + deadline_s
    while True:
        st = dom.state()[0]
        if st == libvirt.VIR_DOMAIN_RUNNING:
            return
        if time.perf_counter() > end:
            raise RuntimeError(f"domain not running after {deadline_s} s (state {st})")
        time.sleep(0.0005)


def wait_gone(pid, deadline_s=30.0):
    end = time.perf_counter() + deadline_s
    while alive(pid):
        if time.perf_counter() > end:
            raise RuntimeError(f"QEMU pid {pid} still alive {deadline_s} s after destroy")
        time.sleep(0.0005)


def find_pid(uuid, deadline_s=5.0):
    end = time.perf_counter() + deadline_s
    while True:
        pid = qemu_pid(uuid)
        if pid is not None:
            return pid
        if time.perf_counter() > end:
            raise RuntimeError(f"no qemu-system process with -uuid {uuid}")
        time.sleep(0.01)


def cleanup(conn, name):
    """Destroys a leftover domain of that name (from an earlier, interrupted run)."""
    try:
        dom = conn.lookupByName(name)
    except libvirt.libvirtError:
        return
    if dom.isActive():
        uuid = dom.UUIDString()
        pid = qemu_pid(uuid)
        dom.destroy()
        if pid:
            wait_gone(pid)
    try:
        dom.undefine()
    except libvirt.libvirtError:
        pass


def one_cycle(conn, xml):
    """create → running, destroy → gone; returns (create_s, destroy_call_s, destroy_gone_s)."""
    t0 = time.perf_counter()
    dom = conn.createXML(xml, 0)
    wait_running(dom)
    t_create = time.perf_counter() - t0
    pid = find_pid(dom.UUIDString())
    t0 = time.perf_counter()
    dom.destroy()
    t_call = time.perf_counter() - t0
    wait_gone(pid)
    t_gone = time.perf_counter() - t0
    return t_create, t_call, t_gone


def save_restore(conn, xml, name, path, runs):
    """`runs` × (save the running domain, restore it); returns (save_s[], restore_s[])."""
    dom = conn.createXML(xml, 0)
    wait_running(dom)
    saves, restores = [], []
    try:
        for i in range(runs + 1):  # the first pair is a warm-up
            t0 = time.perf_counter()
            dom.save(path)
            t_save = time.perf_counter() - t0
            t0 = time.perf_counter()
            conn.restore(path)
            dom = conn.lookupByName(name)
            wait_running(dom)
            t_restore = time.perf_counter() - t0
            if i:
                saves.append(t_save)
                restores.append(t_restore)
    finally:
        cleanup(conn, name)
        if os.path.exists(path):
            os.unlink(path)
    return saves, restores


def with_disk(xml, path):
    disk = (f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
            f"<source file='{path}'/><target dev='vda' bus='virtio'/></disk>")
    return xml.replace("<devices>", "<devices>" + disk, 1)


def snapshot_creates(conn, xml, name, disk, runs):
    """`runs` × snapshotCreateXML of the running domain (internal); returns the times."""
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", disk, "16M"], check=True)
    dom = conn.createXML(with_disk(xml, disk), 0)
    wait_running(dom)
    times = []
    try:
        for i in range(runs + 1):  # the first is a warm-up
            t0 = time.perf_counter()
            snap = dom.snapshotCreateXML(f"<domainsnapshot><name>b{i}</name></domainsnapshot>", 0)
            t = time.perf_counter() - t0
            snap.delete(0)
            if i:
                times.append(t)
    finally:
        cleanup(conn, name)
        if os.path.exists(disk):
            os.unlink(disk)
    return times


def stats_of_guests(conn, xml, count, runs):
    """Starts `count` transient copies of the domain, then times `runs` ×
    getAllDomainStats (every group, active domains); returns (times, domains seen)."""
    import xml.etree.ElementTree as ET
    base = ET.fromstring(xml)
    doms = []
    try:
        for i in range(count):
            root = ET.fromstring(xml)
            root.find("name").text = f"{base.findtext('name')}-stats{i}"
            u = root.find("uuid")
            if u is not None:
                root.remove(u)
            cleanup(conn, root.findtext("name"))
            doms.append(conn.createXML(ET.tostring(root, encoding="unicode"), 0))
        for d in doms:
            wait_running(d)
        time.sleep(5.0)  # let every firmware reach its idle wait (see the monitor loop below)
        seen = len(conn.getAllDomainStats(0, libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE))
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            conn.getAllDomainStats(0, libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)
            times.append(time.perf_counter() - t0)
        return times, seen
    finally:
        for d in doms:
            pid = qemu_pid(d.UUIDString())
            try:
                d.destroy()
            except libvirt.libvirtError:
                pass
            if pid:
                wait_gone(pid)


def nodedev_walks(conn, runs):
    """`runs` × (listAllDevices, then XMLDesc of every device); returns (list_s[],
    dumpxml_s[] per whole walk, device count)."""
    lists, dumps, n = [], [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        devs = conn.listAllDevices(0)
        lists.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for dev in devs:
            dev.XMLDesc(0)
        dumps.append(time.perf_counter() - t0)
        n = len(devs)
    return lists, dumps, n


def summary(vals):
    s = sorted(vals)
    return {"count": len(s), "median_ms": statistics.median(s) * 1e3,
            "min_ms": s[0] * 1e3, "max_ms": s[-1] * 1e3}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uri", required=True)
    ap.add_argument("--xml", required=True, help="domain XML file (transient domain)")
    ap.add_argument("--label", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--mon-calls", type=int, default=500)
    ap.add_argument("--guests", type=int, default=20, help="running guests for the stats row")
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds between start and the monitor loop")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    with open(a.xml) as f:
        xml = f.read()
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # errors still raise
    conn = libvirt.open(a.uri)
    if conn is None:
        sys.exit(f"cannot open {a.uri}")
    import xml.etree.ElementTree as ET
    root = ET.fromstring(xml)
    name = root.findtext("name")
    cleanup(conn, name)

    res = {"label": a.label, "uri": a.uri, "domain": name, "virt_type": root.get("type")}

    one_cycle(conn, xml)  # warm-up
    creates, calls, gones = [], [], []
    for _ in range(a.runs):
        c, d, g = one_cycle(conn, xml)
        creates.append(c)
        calls.append(d)
        gones.append(g)
    res["create"] = summary(creates)
    res["destroy"] = summary(gones)
    res["destroy_call"] = summary(calls)
    print(f"[{a.label}] create median {res['create']['median_ms']:.1f} ms, destroy→gone "
          f"{res['destroy']['median_ms']:.1f} ms (call {res['destroy_call']['median_ms']:.1f} ms)",
          file=sys.stderr)

    saves, restores = save_restore(conn, xml, name,
                                   os.path.join(os.path.dirname(os.path.abspath(a.out)),
                                                f"{a.label}.save"), a.runs)
    res["save"] = summary(saves)
    res["restore"] = summary(restores)
    print(f"[{a.label}] save median {res['save']['median_ms']:.1f} ms, restore→running "
          f"{res['restore']['median_ms']:.1f} ms", file=sys.stderr)

    snaps = snapshot_creates(conn, xml, name,
                             os.path.join(os.path.dirname(os.path.abspath(a.out)),
                                          f"{a.label}.qcow2"), a.runs)
    res["snapshot_create"] = summary(snaps)
    print(f"[{a.label}] snapshot-create median {res['snapshot_create']['median_ms']:.1f} ms",
          file=sys.stderr)

    stats, seen = stats_of_guests(conn, xml, a.guests, a.runs * 5)
    res["stats_all"] = summary(stats)
    res["stats_all"]["domains"] = seen
    print(f"[{a.label}] getAllDomainStats of {seen} running guests median "
          f"{res['stats_all']['median_ms']:.2f} ms", file=sys.stderr)

    lists, dumps, ndev = nodedev_walks(conn, a.runs * 5)
    res["nodedev_list"] = summary(lists)
    res["nodedev_dumpxml"] = summary(dumps)
    res["nodedev_list"]["devices"] = ndev
    print(f"[{a.label}] nodedev: {ndev} devices, list median {res['nodedev_list']['median_ms']:.2f} ms, "
          f"dumpxml of all median {res['nodedev_dumpxml']['median_ms']:.2f} ms", file=sys.stderr)

    dom = conn.createXML(xml, 0)
    wait_running(dom)
    # The guest's firmware is busy (port I/O exits holding QEMU's big lock) for a moment
    # after start; monitor commands wait for that lock, so let it settle first.
    time.sleep(a.settle)
    try:
        for _ in range(20):
            libvirt_qemu.qemuMonitorCommand(dom, MON_CMD, 0)
        reply = json.loads(libvirt_qemu.qemuMonitorCommand(dom, MON_CMD, 0))
        if reply.get("return", {}).get("status") != "running":
            raise RuntimeError(f"unexpected query-status reply: {reply}")
        lat = []
        t0 = time.perf_counter()
        for _ in range(a.mon_calls):
            s = time.perf_counter()
            libvirt_qemu.qemuMonitorCommand(dom, MON_CMD, 0)
            lat.append(time.perf_counter() - s)
        wall = time.perf_counter() - t0
    finally:
        pid = qemu_pid(dom.UUIDString())
        dom.destroy()
        if pid:
            wait_gone(pid)
    lat.sort()
    res["monitor"] = {"count": len(lat), "ops_per_s": len(lat) / wall,
                      "p50_ms": pct(lat, 50) * 1e3, "p99_ms": pct(lat, 99) * 1e3}
    print(f"[{a.label}] qemuMonitorCommand p50 {res['monitor']['p50_ms']:.3f} ms, "
          f"p99 {res['monitor']['p99_ms']:.3f} ms", file=sys.stderr)
    conn.close()
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
