#!/usr/bin/python3
"""Turns the JSON files bench/run.sh leaves in its work directory into one Markdown report.

Ratios are always rvirtd / libvirtd. For throughput (ops/s, calls/s) higher is better
and the target is a lower bound; for memory, startup time and latency lower is better
and the target is an upper bound.
"""

import json
import math
import os
import statistics
import sys

OPS = ["define", "listAllDomains", "lookupByName", "info", "XMLDesc", "create", "destroy", "undefine"]


def load(d, name):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def fmt(v, digits=0):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def ratio(r, l):
    if r is None or l is None or l == 0:
        return None
    return r / l


def status(rat, target, higher_better):
    if rat is None:
        return "n/a"
    ok = rat >= target if higher_better else rat <= target
    return "**met**" if ok else "**missed**"


FLOOR_OPS = ["lookupByName", "info", "XMLDesc"]
FLOOR_COLS = [("libvirtd", "libvirtd"), ("rvirtd", "rvirtd"), ("rvirtd-nopoll", "rvirtd, no polling"),
              ("floor-sleep", "floor, sleeping"), ("floor-busy", "floor, busy-polling")]


def thread_rounds(d, label):
    """calls/s of each round of the 8-thread run against one daemon (older runs: one file)."""
    runs = [load(d, f"floor-threads-{label}-{r}.json") for r in (1, 2, 3)]
    runs = [r for r in runs if r] or [r for r in [load(d, f"floor-threads-{label}.json")] if r]
    return [r["threads"]["calls_per_s"] for r in runs]


def floor_section(d, lines, summary):
    """Section 0: one synchronous client against rvirtd, libvirtd and the two floors."""
    runs = {k: load(d, f"floor-{k}.json") for k, _ in FLOOR_COLS}
    if not (runs["libvirtd"] and runs["rvirtd"]):
        return
    lines.append("## 0. One synchronous client: rvirtd, libvirtd and this machine's floor (µs ↓, p50 / p99)")
    lines.append("")
    lines.append("| operation | " + " | ".join(label for _, label in FLOOR_COLS) +
                 " | rvirtd / busy floor (p50 ↓, target ≤ 1.5×) | rvirtd vs libvirtd (ops/s ↑, target ≥ 4×) |")
    lines.append("|---|" + "---|" * (len(FLOOR_COLS) + 2))
    for op in FLOOR_OPS:
        cells = []
        for k, _ in FLOOR_COLS:
            r = runs[k]
            cells.append(f"{fmt(r['ops'][op]['p50_us'])} / {fmt(r['ops'][op]['p99_us'])}" if r else "—")
        rv, lv, busy = runs["rvirtd"]["ops"][op], runs["libvirtd"]["ops"][op], runs["floor-busy"]
        to_floor = ratio(rv["p50_us"], busy["ops"][op]["p50_us"]) if busy else None
        vs_lv = ratio(rv["ops_per_s"], lv["ops_per_s"])
        lines.append(f"| {op} | " + " | ".join(cells) +
                     f" | {fmt(to_floor, 2)}× {status(to_floor, 1.5, False)} | {fmt(vs_lv, 2)}× {status(vs_lv, 4.0, True)} |")
        summary.append((f"1 sync client {op}: rvirtd p50 / busy-polling floor p50 (↓)",
                        busy["ops"][op]["p50_us"] if busy else None, rv["p50_us"], to_floor, "≤ 1.5×", status(to_floor, 1.5, False)))
        st = status(vs_lv, 4.0, True)
        ceiling = ratio(busy["ops"][op]["ops_per_s"], lv["ops_per_s"]) if busy else None
        if ceiling is not None and ceiling < 4.0 and vs_lv is not None and vs_lv < 4.0:
            st += f" (unreachable here: the busy floor itself is {ceiling:.2f}× libvirtd)"
        summary.append((f"1 sync client {op} (ops/s ↑)", lv["ops_per_s"], rv["ops_per_s"], vs_lv, "≥ 4×", st))
        if busy:
            summary.append((f"1 sync client {op}: busy floor vs libvirtd (ops/s ↑; the floor's p50 bounds any daemon's)",
                            lv["ops_per_s"], busy["ops"][op]["ops_per_s"], ceiling, "—", "info"))
    lines.append("")
    rounds = {k: thread_rounds(d, k) for k in ("libvirtd", "rvirtd", "rvirtd-nopoll")}
    if rounds["libvirtd"] and rounds["rvirtd"]:
        cps = {k: statistics.median(v) for k, v in rounds.items() if v}
        rat = ratio(cps["rvirtd"], cps["libvirtd"])
        each = "; ".join(f"{k} " + ", ".join(fmt(x) for x in v) for k, v in rounds.items() if v)
        lines.append(f"8 threads on their own connections, lookupByName + info, median of {len(rounds['rvirtd'])} rounds "
                     f"(the daemons taking turns): libvirtd {fmt(cps['libvirtd'])} calls/s, "
                     f"rvirtd {fmt(cps['rvirtd'])}, rvirtd without polling {fmt(cps.get('rvirtd-nopoll'))} (rounds: {each}).")
        lines.append("")
        summary.append(("8 threads lookupByName+info (calls/s ↑)", cps["libvirtd"], cps["rvirtd"], rat, "≥ 3×", status(rat, 3.0, True)))
        if "rvirtd-nopoll" in cps:
            rat = ratio(cps["rvirtd"], cps["rvirtd-nopoll"])
            summary.append(("8 threads: rvirtd with polling / without (calls/s ↑)", cps["rvirtd-nopoll"], cps["rvirtd"], rat, "≥ 1×", status(rat, 1.0, True)))
    xf = load(d, "xmlfmt.json")
    if xf:
        us = xf["format_ns"] / 1000.0
        ok = "**met**" if us <= 5.0 else "**missed**"
        lines.append(f"Formatting the `test` domain's XML ({xf['bytes']} bytes) costs {us:.1f} µs of CPU "
                     f"(parsing it {xf['parse_ns'] / 1000.0:.1f} µs), `loadgen xmlfmt` (target ≤ 5 µs, {ok}).")
        lines.append("")
        summary.append(("XMLDesc formatting of the test domain (µs of CPU ↓)", None, us, None, "≤ 5 µs", ok))
    idle = load(d, "idle-cpu-rvirtd.json")
    if idle:
        for key, label in (("no_client", "no client"), ("idle_client", "one idle connected client")):
            m = idle["idle"][key]
            ok = "**met**" if m["cpu_percent"] < 0.5 else "**missed**"
            lines.append(f"Idle, {label}: rvirtd used {m['cpu_secs']:.2f} s of CPU in {m['secs']:.1f} s = {m['cpu_percent']:.2f}% of one CPU (target < 0.5%, {ok}).")
            summary.append((f"rvirtd idle CPU, {label} (% of one CPU ↓)", None, m["cpu_percent"], None, "< 0.5%", ok))
        lines.append("")
    lines.append("Floor: `bench/loadgen floor`, one thread answering every call with a reply recorded from rvirtd the first "
                 "time its procedure is seen; *sleeping* waits in poll() between requests, *busy-polling* never sleeps. "
                 "The busy floor is the fastest any daemon could answer this client on this machine.")
    lines.append("")


def scale_section(sl, sr, lines, summary):
    lines.append("## 1c. Lookups as the daemon holds more domains (libvirt-python, one client, µs ↓)")
    lines.append("")
    lines.append("| N defined | libvirtd lookupByName p50 / p99 | info p50 / p99 | rvirtd lookupByName p50 / p99 | info p50 / p99 | lookupByName ratio ops/s ↑ |")
    lines.append("|---|---|---|---|---|---|")
    for a, b in zip(sl, sr):
        la, ia, lb, ib = a["lookupByName"], a["info"], b["lookupByName"], b["info"]
        rat = ratio(lb["ops_per_s"], la["ops_per_s"])
        lines.append(f"| {a['n']:,} | {fmt(la['p50_us'])} / {fmt(la['p99_us'])} | {fmt(ia['p50_us'])} / {fmt(ia['p99_us'])} | "
                     f"{fmt(lb['p50_us'])} / {fmt(lb['p99_us'])} | {fmt(ib['p50_us'])} / {fmt(ib['p99_us'])} | {fmt(rat, 2)}× |")
    lines.append("")
    first, last = sr[0], sr[-1]
    for op in ("lookupByName", "info"):
        grow_lv = ratio(sl[-1][op]["p50_us"], sl[0][op]["p50_us"])
        grow = ratio(last[op]["p50_us"], first[op]["p50_us"])
        summary.append((f"{op} p50 at N={last['n']:,} / p50 at N={first['n']:,}, each daemon (flat ↓; ratio column: rvirtd's)",
                        grow_lv, grow, grow, "≤ 1.25×", status(grow, 1.25, False)))
    lists = [(a["n"], a["list_calls_per_s"], b["list_calls_per_s"]) for a, b in zip(sl, sr)
             if "list_calls_per_s" in a and "list_calls_per_s" in b]
    if lists:
        lines.append("listAllDomains at each N, one call at a time from rvirt's Rust client (`loadgen saturate --configs 1x1`; "
                     "libvirt-python's own cost of building an object per domain left out), calls/s ↑:")
        lines.append("")
        lines.append("| N defined | libvirtd | rvirtd | ratio ↑ |")
        lines.append("|---|---|---|---|")
        for n, a, b in lists:
            lines.append(f"| {n:,} | {fmt(a, 1)} | {fmt(b, 1)} | {fmt(ratio(b, a), 2)}× |")
        lines.append("")
        n, a, b = lists[-1]
        rat = ratio(b, a)
        summary.append((f"listAllDomains of {n:,} domains, Rust client (calls/s ↑)", a, b, rat, "≥ 3×", status(rat, 3.0, True)))
    lines.append(f"Domains are defined up to each N in turn; at each N, {first['lookupByName']['count']} lookups of random "
                 "defined domains and `info()` on each are timed. Flat: rvirtd's p50 at the largest N is within 1.25× "
                 "of its p50 at the smallest (summary rows give each daemon's growth).")
    lines.append("")


def guests_seen(ql, qr):
    """The running-guest counts of the stats row, libvirtd/rvirtd."""
    return "/".join(str(q["stats_all"].get("domains", "?")) if q and "stats_all" in q else "—" for q in (ql, qr))


def devices_seen(ql, qr):
    """The device counts of the node device rows, libvirtd/rvirtd."""
    return "/".join(str(q["nodedev_list"].get("devices", "?")) if q and "nodedev_list" in q else "—" for q in (ql, qr))


def main():
    d = sys.argv[1]
    meta = load(d, "meta.json") or {}
    lines = [f"# rvirtd vs libvirtd — {meta.get('date', '?')}", ""]
    lines.append(f"Host: {meta.get('host', '?')}; {meta.get('cpus', '?')} CPUs; libvirtd {meta.get('libvirtd_version', '?')}; "
                 f"rvirt commit {meta.get('commit', '?')}. Both daemons serve `test:///default` "
                 "(libvirt's test driver inside libvirtd; rvirt's test module inside rvirtd) over a private unix socket; "
                 "the same clients drive both, one daemon at a time. Section 6 runs real QEMU domains through "
                 "`qemu:///system` (libvirtd's qemu driver; rvirt's qemu module).")
    lines.append("")
    lines.append("Ratio = rvirtd / libvirtd in every row. ↑ = higher is better (target is a minimum), "
                 "↓ = lower is better (target is a maximum).")
    lines.append("")

    summary = []  # (metric, libvirtd, rvirtd, ratio, target text, status)

    floor_section(d, lines, summary)

    # 1. python
    pl, pr = load(d, "py-libvirtd.json"), load(d, "py-rvirtd.json")
    if pl and pr:
        lines.append("## 1. libvirt-python, one client (ops/s ↑, latency in µs)")
        lines.append("")
        lines.append("| N | operation | samples (lv/rv) | libvirtd ops/s | p50 | p99 | rvirtd ops/s | p50 | p99 | ratio ops/s ↑ | target ≥ 2× |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for phl, phr in zip(pl["phases"], pr["phases"]):
            n = phl["n"]
            rats = []
            for op in OPS:
                a, b = phl["ops"][op], phr["ops"][op]
                rat = ratio(b["ops_per_s"], a["ops_per_s"])
                rats.append(rat)
                lines.append(f"| {n} | {op} | {a['count']}/{b['count']} | {fmt(a['ops_per_s'])} | {fmt(a['p50_us'])} | {fmt(a['p99_us'])} | "
                             f"{fmt(b['ops_per_s'])} | {fmt(b['p50_us'])} | {fmt(b['p99_us'])} | {fmt(rat, 2)}× | {status(rat, 2.0, True)} |")
            gm = math.exp(sum(math.log(r) for r in rats) / len(rats))
            summary.append((f"python 1 client, N={n}, geometric mean over {len(OPS)} ops (ops/s ↑)", None, None, gm, "≥ 2×", status(gm, 2.0, True)))
        tl, tr = pl["threads"], pr["threads"]
        rat = ratio(tr["calls_per_s"], tl["calls_per_s"])
        lines.append("")
        lines.append(f"{tl['threads']} threads, each on its own connection, lookupByName + info for {tl['secs']:.1f} s "
                     f"({pl['params']['thread_domains']} domains defined): libvirtd {fmt(tl['calls_per_s'])} calls/s, "
                     f"rvirtd {fmt(tr['calls_per_s'])} calls/s, ratio {fmt(rat, 2)}×.")
        lines.append("")
        summary.append((f"python {tl['threads']} threads lookupByName+info (calls/s ↑)", tl["calls_per_s"], tr["calls_per_s"], rat, "≥ 2×", status(rat, 2.0, True)))
        p = pl["params"]
        lines.append(f"Sampling: define and undefine cover all N; lookupByName/info/XMLDesc take up to {p['max_samples']} "
                     f"random domains, create/destroy up to {p['max_lifecycle']}, listAllDomains up to {p['list_reps']} calls; "
                     f"each sampled loop also stops after {p['op_secs']} s (counts above).")
        lines.append("")

    if pl and pr and pl.get("scale") and pr.get("scale"):
        scale_section(pl["scale"], pr["scale"], lines, summary)

    # 2. saturation
    rows = []
    for proc, label in (("info", "DOMAIN_GET_INFO"), ("list", "CONNECT_LIST_ALL_DOMAINS")):
        sl, sr = load(d, f"sat-libvirtd-{proc}.json"), load(d, f"sat-rvirtd-{proc}.json")
        if sl and sr:
            rat = ratio(sr["best"], sl["best"])
            rows.append((label, sl, sr, rat))
            summary.append((f"saturation {label} (calls/s ↑)", sl["best"], sr["best"], rat, "≥ 5×", status(rat, 5.0, True)))
    if rows:
        lines.append("## 2. Saturation, pipelined rvirt client (calls/s ↑, best over connections × depth)")
        lines.append("")
        lines.append("| procedure | libvirtd best (conns×depth) | rvirtd best (conns×depth) | ratio ↑ | target ≥ 5× |")
        lines.append("|---|---|---|---|---|")
        for label, sl, sr, rat in rows:
            lines.append(f"| {label} | {fmt(sl['best'])} ({sl['best_conns']}×{sl['best_depth']}) | {fmt(sr['best'])} ({sr['best_conns']}×{sr['best_depth']}) | {fmt(rat, 2)}× | {status(rat, 5.0, True)} |")
        lines.append("")
        lines.append("All configurations (calls/s):")
        lines.append("")
        lines.append("| procedure | conns×depth | libvirtd | rvirtd |")
        lines.append("|---|---|---|---|")
        for label, sl, sr, _ in rows:
            for a, b in zip(sl["runs"], sr["runs"]):
                lines.append(f"| {label} | {a['conns']}×{a['depth']} | {fmt(a['calls_per_s'])} | {fmt(b['calls_per_s'])} |")
        lines.append("")

    # 3. memory
    il, ir = load(d, "idle-libvirtd.json"), load(d, "idle-rvirtd.json")
    lines.append("## 3. Memory (VmRSS, KiB ↓)")
    lines.append("")
    lines.append("| measure | libvirtd | rvirtd | ratio ↓ | target |")
    lines.append("|---|---|---|---|---|")
    if il and ir:
        rat = ratio(ir["rss_kib"], il["rss_kib"])
        lines.append(f"| RSS idle (after start, no clients) | {fmt(il['rss_kib'])} | {fmt(ir['rss_kib'])} | {fmt(rat, 2)}× | — |")
        summary.append(("RSS idle (KiB ↓)", il["rss_kib"], ir["rss_kib"], rat, "—", "info"))
    if pl and pr:
        for phl, phr in zip(pl["phases"], pr["phases"]):
            gl, gr = phl["growth_per_1000_kib"], phr["growth_per_1000_kib"]
            rat = ratio(gr, gl)
            lines.append(f"| growth per 1000 domains, measured over N={phl['n']} | {fmt(gl)} | {fmt(gr)} | {fmt(rat, 2)}× | ≤ 0.25× {status(rat, 0.25, False)} |")
        big_l, big_r = pl["phases"][-1], pr["phases"][-1]
        rat = ratio(big_r["growth_per_1000_kib"], big_l["growth_per_1000_kib"])
        summary.append((f"RSS growth per 1000 domains, N={big_l['n']} (KiB ↓)", big_l["growth_per_1000_kib"], big_r["growth_per_1000_kib"], rat, "≤ 0.25×", status(rat, 0.25, False)))
        lines.append(f"| RSS at end of python run | {fmt(pl['rss_end_kib'])} | {fmt(pr['rss_end_kib'])} | {fmt(ratio(pr['rss_end_kib'], pl['rss_end_kib']), 2)}× | — |")
    lines.append("")
    lines.append("Growth is VmRSS after defining N domains minus VmRSS before, scaled to 1000; the N=1000 phase runs first on a fresh daemon.")
    lines.append("")

    # 4. startup
    sl, sr = load(d, "startup-libvirtd.json"), load(d, "startup-rvirtd.json")
    if sl and sr:
        rat = ratio(sr["median_ms"], sl["median_ms"])
        lines.append("## 4. Startup: process start → first answered RPC (connect + getHostname), ms ↓")
        lines.append("")
        lines.append("| | libvirtd | rvirtd | ratio ↓ | target ≤ 0.2× |")
        lines.append("|---|---|---|---|---|")
        lines.append(f"| median of {len(sl['runs_ms'])} | {fmt(sl['median_ms'], 1)} | {fmt(sr['median_ms'], 1)} | {fmt(rat, 3)}× | {status(rat, 0.2, False)} |")
        lines.append(f"| runs | {', '.join(fmt(x, 1) for x in sl['runs_ms'])} | {', '.join(fmt(x, 1) for x in sr['runs_ms'])} | | |")
        lines.append("")
        summary.append(("startup to first RPC (ms ↓)", sl["median_ms"], sr["median_ms"], rat, "≤ 0.2×", status(rat, 0.2, False)))

    # 5. CLI
    lines.append("## 5. One-shot CLI latency (wall ms, median ↓)")
    lines.append("")
    lines.append("| command | virsh → libvirtd | virsh → rvirtd | rvirsh → rvirtd | rvirsh → libvirtd | rvirsh→rvirtd / virsh→libvirtd ↓ | target ≤ 0.25× |")
    lines.append("|---|---|---|---|---|---|---|")
    have_rvirsh = meta.get("rvirsh", False)
    for cmd, label in (("list", "list --all"), ("dominfo", "dominfo test")):
        vl, vr = load(d, f"cli-virsh-libvirtd-{cmd}.json"), load(d, f"cli-virsh-rvirtd-{cmd}.json")
        rr, rl = load(d, f"cli-rvirsh-rvirtd-{cmd}.json"), load(d, f"cli-rvirsh-libvirtd-{cmd}.json")
        g = lambda x: fmt(x["median_ms"], 1) if x else ("missing" if not have_rvirsh else "failed")
        rat = ratio(rr["median_ms"], vl["median_ms"]) if rr and vl else None
        st = status(rat, 0.25, False) if rat is not None else ("skipped: target/release/rvirsh not built" if not have_rvirsh else "n/a (rvirsh failed)")
        lines.append(f"| {label} | {g(vl)} | {g(vr)} | {g(rr)} | {g(rl)} | {fmt(rat, 3)}{'×' if rat else ''} | {st} |")
        summary.append((f"one-shot `{label}` rvirsh→rvirtd vs virsh→libvirtd (ms ↓)", vl["median_ms"] if vl else None, rr["median_ms"] if rr else None, rat, "≤ 0.25×", st))
    lines.append("")
    lines.append(f"Each command run {meta.get('cli_runs', 20)} times after one warm-up; virsh is /usr/bin/virsh.")
    lines.append("")

    # 6. qemu driver
    ql, qr = load(d, "qemu-libvirtd.json"), load(d, "qemu-rvirtd.json")
    if ql or qr:
        lines.append("## 6. qemu driver, real QEMU (libvirt-python, ms ↓)")
        lines.append("")
        rows6 = [
            ("create → running, median", "create", "median_ms", 0.25, "≤ 0.25×"),
            ("destroy → QEMU process gone, median", "destroy", "median_ms", 0.1, "≤ 0.1×"),
            ("destroy call alone, median", "destroy_call", "median_ms", None, "—"),
            ("qemuMonitorCommand query-status, p50", "monitor", "p50_ms", 1 / 3, "≤ 0.33×"),
            ("qemuMonitorCommand query-status, p99", "monitor", "p99_ms", 1 / 3, "≤ 0.33×"),
            ("save (running → image complete), median", "save", "median_ms", 0.5, "≤ 0.5×"),
            ("restore → running, median", "restore", "median_ms", 0.5, "≤ 0.5×"),
            ("snapshot-create (running, internal), median", "snapshot_create", "median_ms", 0.5, "≤ 0.5×"),
            ("getAllDomainStats of the running guests, median", "stats_all", "median_ms", 0.5, "≤ 0.5×"),
            ("nodedev-list (listAllDevices), median", "nodedev_list", "median_ms", None, "—"),
            ("nodedev-dumpxml of every device, median", "nodedev_dumpxml", "median_ms", None, "—"),
        ]
        lines.append("| measure | samples (lv/rv) | libvirtd | rvirtd | ratio ↓ | target | status |")
        lines.append("|---|---|---|---|---|---|---|")
        for label, key, field, tgt, tgt_text in rows6:
            # Results of runs before save/restore was measured lack those keys.
            a = ql[key][field] if ql and key in ql else None
            b = qr[key][field] if qr and key in qr else None
            n = f"{ql[key]['count'] if ql and key in ql else '—'}/{qr[key]['count'] if qr and key in qr else '—'}"
            rat = ratio(b, a)
            st = status(rat, tgt, False) if tgt is not None else "info"
            if rat is None and tgt is not None:
                st = "n/a (" + ("libvirtd" if not ql else "rvirtd") + " run failed)"
            lines.append(f"| {label} | {n} | {fmt(a, 2)} | {fmt(b, 2)} | {fmt(rat, 3)}{'×' if rat is not None else ''} | {tgt_text} | {st} |")
            if tgt is not None:
                summary.append((f"qemu: {label} (ms ↓)", a, b, rat, tgt_text, st))
        for q in (ql, qr):
            if q:
                lines.append("")
                lines.append(f"{q['label']}: create min/max {fmt(q['create']['min_ms'], 1)}/{fmt(q['create']['max_ms'], 1)} ms, "
                             f"destroy→gone min/max {fmt(q['destroy']['min_ms'], 1)}/{fmt(q['destroy']['max_ms'], 1)} ms, "
                             f"{fmt(q['monitor']['ops_per_s'])} monitor commands/s.")
        lines.append("")
        lines.append(f"Domain `{(ql or qr)['domain']}` from {meta.get('qemu_xml', '?')} (type {(ql or qr)['virt_type']}), "
                     f"QEMU {meta.get('qemu_version', '?')}, transient (createXML), one warm-up create/destroy first. "
                     "Create counts until the call has returned and the state is running; destroy until the call has returned and "
                     "the QEMU pid (found by its `-uuid`) is gone from /proc. Monitor commands start 1 s after the domain is running. "
                     "Save and restore: one warm-up pair, then the running domain saved to a file next to the results and restored "
                     "until running, each call timed alone. Snapshot-create: the running domain with a 16 MiB qcow2 disk added, "
                     "one warm-up, then each snapshotCreateXML call timed alone (an internal snapshot: QEMU's savevm), each deleted untimed. "
                     f"Stats: {guests_seen(ql, qr)} copies of the domain running at once, getAllDomainStats(0, ACTIVE) with every group timed. "
                     f"Node devices: {devices_seen(ql, qr)} devices, listAllDevices and then XMLDesc of each timed as two walks. "
                     f"libvirtd ({meta.get('qemu_libvirtd_setup', '?')}) and rvirtd run one at a time, each freshly started.")
        lines.append("")

    # summary first
    head = ["## Summary (targets)", "", "| metric | libvirtd | rvirtd | ratio rvirtd/libvirtd | target | status |", "|---|---|---|---|---|---|"]
    for m, a, b, rat, tgt, st in summary:
        head.append(f"| {m} | {fmt(a, 1) if a is not None and a < 100 else fmt(a)} | {fmt(b, 1) if b is not None and b < 100 else fmt(b)} | {fmt(rat, 3 if rat is not None and rat < 1 else 2)}{'×' if rat is not None else ''} | {tgt} | {st} |")
    head.append("")
    lines[6:6] = head
    print("\n".join(lines))


if __name__ == "__main__":
    main()
