#!/usr/bin/python3
"""libvirt-python RPC benchmark against one daemon (rvirtd or libvirtd), test:///default.

For each N: define N domains, then listAllDomains, lookupByName, info, XMLDesc,
create, destroy on a sample, then undefine all N. Reports ops/s (count / wall time of
the loop), p50 and p99 latency per operation, and the daemon's VmRSS growth while the
N domains were defined. Then T threads, each on its own connection, loop
lookupByName + info for a fixed time (aggregate calls/s, each call counted once).
With --scale N1,N2,...: domains are defined up to each count in turn, and at each one
lookupByName and info of --max-samples random defined domains are timed (does a lookup
stay flat as the daemon holds more domains?); all are undefined at the end.

Sampled operations stop after --max-samples items or --op-secs seconds, whichever
comes first, so slow daemons keep the run short; the count used is in the output.
"""

import argparse
import json
import random
import subprocess
import sys
import threading
import time

import libvirt

XML = ("<domain type='test'><name>{name}</name><memory unit='KiB'>131072</memory>"
       "<currentMemory unit='KiB'>131072</currentMemory><vcpu>1</vcpu>"
       "<os><type arch='x86_64'>hvm</type></os></domain>")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


def measure(items, fn, max_samples=None, max_secs=None):
    """Calls fn(item) for items in turn; returns stats and the results."""
    lat = []
    results = []
    t0 = time.perf_counter()
    for i, it in enumerate(items):
        if max_samples is not None and i >= max_samples:
            break
        s = time.perf_counter()
        results.append(fn(it))
        lat.append(time.perf_counter() - s)
        if max_secs is not None and s - t0 > max_secs and i >= 4:
            break
    wall = time.perf_counter() - t0
    lat.sort()
    stats = {
        "count": len(lat),
        "ops_per_s": len(lat) / wall if wall > 0 else 0.0,
        "p50_us": pct(lat, 50) * 1e6,
        "p99_us": pct(lat, 99) * 1e6,
    }
    return stats, results


def phase(uri, pid, n, args):
    conn = libvirt.open(uri)
    names = [f"bench-{n}-{i:05d}" for i in range(n)]
    xmls = [XML.format(name=x) for x in names]
    ops = {}
    rss0 = rss_kib(pid)
    ops["define"], doms = measure(xmls, conn.defineXML)
    time.sleep(0.2)
    rss1 = rss_kib(pid)
    print(f"  N={n}: define {ops['define']['ops_per_s']:.0f}/s", file=sys.stderr)

    reps = range(args.list_reps)
    ops["listAllDomains"], lists = measure(reps, lambda _: conn.listAllDomains(0), max_secs=args.op_secs)
    got = len(lists[0])
    if got < n:
        raise RuntimeError(f"listAllDomains returned {got} domains, expected at least {n}")
    del lists

    rng = random.Random(n)
    sample = names[:]
    rng.shuffle(sample)
    ops["lookupByName"], sdoms = measure(sample, conn.lookupByName, args.max_samples, args.op_secs)
    ops["info"], _ = measure(sdoms, lambda d: d.info(), args.max_samples, args.op_secs)
    ops["XMLDesc"], _ = measure(sdoms, lambda d: d.XMLDesc(0), args.max_samples, args.op_secs)
    cd = sdoms[: args.max_lifecycle]
    ops["create"], _ = measure(cd, lambda d: d.create(), None, args.op_secs)
    started = cd[: ops["create"]["count"]]
    ops["destroy"], _ = measure(started, lambda d: d.destroy())
    print(f"  N={n}: sampled ops done", file=sys.stderr)

    ops["undefine"], _ = measure(doms, lambda d: d.undefine())
    left = [d.name() for d in conn.listAllDomains(0) if d.name().startswith("bench-")]
    if left:
        raise RuntimeError(f"{len(left)} bench domains left after undefine")
    conn.close()
    return {
        "n": n,
        "ops": ops,
        "rss_before_kib": rss0,
        "rss_after_define_kib": rss1,
        "growth_per_1000_kib": (rss1 - rss0) * 1000.0 / n,
    }


def threads_phase(uri, nthreads, secs, ndoms):
    setup = libvirt.open(uri)
    names = [f"bench-thr-{i:04d}" for i in range(ndoms)]
    doms = [setup.defineXML(XML.format(name=x)) for x in names]
    conns = [libvirt.open(uri) for _ in range(nthreads)]
    counts = [0] * nthreads
    stop = threading.Event()
    barrier = threading.Barrier(nthreads + 1)
    errors = []

    def worker(i):
        c = conns[i]
        rng = random.Random(i)
        k = 0
        barrier.wait()
        try:
            while not stop.is_set():
                c.lookupByName(names[rng.randrange(ndoms)]).info()
                k += 2
        except libvirt.libvirtError as e:
            errors.append(str(e))
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
    if errors:
        raise RuntimeError(f"thread error: {errors[0]}")
    for c in conns:
        c.close()
    for d in doms:
        d.undefine()
    setup.close()
    return {"threads": nthreads, "secs": wall, "calls": sum(counts), "calls_per_s": sum(counts) / wall}


# libvirt's REMOTE_DOMAIN_LIST_MAX: neither daemon lists more domains in one reply.
LIST_MAX = 16384


def list_calls_per_s(loadgen, uri):
    """listAllDomains one call at a time from rvirt's Rust client (loadgen), whose
    decoding costs little next to libvirt-python building an object per domain."""
    out = subprocess.run([loadgen, "saturate", "--uri", uri, "--proc", "list", "--configs", "1x1",
                          "--secs", "1.5"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["best"]


def scale_phase(uri, counts, samples, loadgen):
    conn = libvirt.open(uri)
    names, doms, points = [], [], []
    rng = random.Random(7)
    for n in counts:
        while len(names) < n:
            name = f"bench-scale-{len(names):06d}"
            doms.append(conn.defineXML(XML.format(name=name)))
            names.append(name)
        pick = [names[rng.randrange(n)] for _ in range(samples)]
        lookup, found = measure(pick, conn.lookupByName)
        info, _ = measure(found, lambda d: d.info())
        point = {"n": n, "lookupByName": lookup, "info": info}
        if loadgen and n <= LIST_MAX:
            point["list_calls_per_s"] = list_calls_per_s(loadgen, uri)
        points.append(point)
        print(f"  scale N={n}: lookupByName p50 {lookup['p50_us']:.0f} µs, info p50 {info['p50_us']:.0f} µs",
              file=sys.stderr)
    for d in doms:
        d.undefine()
    conn.close()
    return points


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--uri", required=True)
    ap.add_argument("--pid", type=int, required=True, help="daemon pid, for VmRSS")
    ap.add_argument("--label", required=True)
    ap.add_argument("--n", type=int, action="append", help="domain counts (repeatable)")
    ap.add_argument("--max-samples", type=int, default=2000)
    ap.add_argument("--max-lifecycle", type=int, default=500)
    ap.add_argument("--list-reps", type=int, default=200)
    ap.add_argument("--op-secs", type=float, default=4.0)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--thread-secs", type=float, default=3.0)
    ap.add_argument("--thread-domains", type=int, default=1000)
    ap.add_argument("--scale", help="comma-separated domain counts for the lookup scale run")
    ap.add_argument("--loadgen", help="bench/loadgen binary: times listAllDomains at each --scale count")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    libvirt.registerErrorHandler(lambda *_: None, None)

    # A connection held for the whole run keeps test:///default's state alive.
    keeper = libvirt.open(args.uri)
    out = {"label": args.label, "phases": [], "params": vars(args)}
    for n in args.n or [1000, 10000]:
        out["phases"].append(phase(args.uri, args.pid, n, args))
    print(f"  threads: {args.threads} x lookupByName+info for {args.thread_secs}s", file=sys.stderr)
    out["threads"] = threads_phase(args.uri, args.threads, args.thread_secs, args.thread_domains)
    if args.scale:
        counts = [int(x) for x in args.scale.split(",")]
        out["scale"] = scale_phase(args.uri, counts, args.max_samples, args.loadgen)
    out["rss_end_kib"] = rss_kib(args.pid)
    keeper.close()
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
