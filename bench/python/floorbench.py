#!/usr/bin/python3
"""One synchronous libvirt-python client, one call at a time, against one server.

Loops lookupByName('test'), info() and XMLDesc(0) on test:///default, each for a fixed
number of calls, and reports ops/s and p50/p99 latency per operation. Used for rvirtd,
libvirtd and the two floor servers (bench/loadgen floor), so that all four appear side
by side. With --threads T, T threads on their own connections loop lookupByName+info
for --thread-secs instead. With --idle PID it measures that daemon's CPU time over --idle-secs
with no client, then with one connected client that sends nothing.
"""

import argparse
import json
import os
import threading
import time

import libvirt


def pct(vals, p):
    k = min(len(vals) - 1, max(0, int(round(p / 100.0 * (len(vals) - 1)))))
    return vals[k]


def loop(fn, calls):
    lat = []
    t0 = time.perf_counter()
    for _ in range(calls):
        s = time.perf_counter()
        fn()
        lat.append(time.perf_counter() - s)
    wall = time.perf_counter() - t0
    lat.sort()
    return {"count": calls, "ops_per_s": calls / wall,
            "p50_us": pct(lat, 50) * 1e6, "p99_us": pct(lat, 99) * 1e6}


def single_client(uri, calls):
    conn = libvirt.open(uri)
    dom = conn.lookupByName("test")
    for _ in range(200):  # warm up (and let the floor record every answer)
        conn.lookupByName("test").info()
        dom.XMLDesc(0)
    ops = {
        "lookupByName": loop(lambda: conn.lookupByName("test"), calls),
        "info": loop(dom.info, calls),
        "XMLDesc": loop(lambda: dom.XMLDesc(0), calls),
    }
    conn.close()
    return ops


def threads(uri, nthreads, secs):
    conns = [libvirt.open(uri) for _ in range(nthreads)]
    counts = [0] * nthreads
    stop = threading.Event()
    barrier = threading.Barrier(nthreads + 1)

    def worker(i):
        c, k = conns[i], 0
        barrier.wait()
        while not stop.is_set():
            c.lookupByName("test").info()
            k += 2
        counts[i] = k

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(nthreads)]
    for t in ts:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    time.sleep(secs)
    stop.set()
    for t in ts:
        t.join()
    wall = time.perf_counter() - t0
    for c in conns:
        c.close()
    return {"threads": nthreads, "secs": wall, "calls_per_s": sum(counts) / wall}


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def idle(uri, pid, secs):
    hz = os.sysconf("SC_CLK_TCK")
    out = {}
    for label in ("no_client", "idle_client"):
        conn = libvirt.open(uri) if label == "idle_client" else None
        time.sleep(0.5)
        t0, c0 = time.perf_counter(), cpu_ticks(pid)
        time.sleep(secs)
        t1, c1 = time.perf_counter(), cpu_ticks(pid)
        out[label] = {"secs": t1 - t0, "cpu_secs": (c1 - c0) / hz,
                      "cpu_percent": 100.0 * (c1 - c0) / hz / (t1 - t0)}
        if conn is not None:
            conn.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--uri", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--calls", type=int, default=5000)
    ap.add_argument("--threads", type=int, metavar="T",
                    help="T threads, each on its own connection, loop lookupByName+info")
    ap.add_argument("--thread-secs", type=float, default=3.0)
    ap.add_argument("--idle", type=int, metavar="PID")
    ap.add_argument("--idle-secs", type=float, default=10.0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    libvirt.registerErrorHandler(lambda *_: None, None)
    if args.idle:
        res = {"label": args.label, "idle": idle(args.uri, args.idle, args.idle_secs)}
    elif args.threads:
        res = {"label": args.label, "threads": threads(args.uri, args.threads, args.thread_secs)}
    else:
        res = {"label": args.label, "ops": single_client(args.uri, args.calls)}
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
