#!/usr/bin/env bash
# rvirtd against a real libvirtd, same clients, one run. See bench/README.md.
#
# Installs what it needs (apt-get, only when missing), builds the daemon, the test and qemu
# modules, rvirsh and the load generator in release mode, starts a real libvirtd (its test
# driver) and rvirtd (every module in target/release) with private sockets under a temporary
# directory, drives both with libvirt-python, the pipelined rvirt load generator, virsh and
# rvirsh, stops both; then runs real QEMU domains through libvirtd's qemu driver (in a private
# mount namespace with its own /etc/libvirt, /run/libvirt, ...) and rvirtd's qemu module, and
# writes a Markdown table to stdout and to bench/results/YYYY-MM-DD-HHMM.md.
#
# Environment: BENCH_NO_BUILD=1 skips the cargo build; BENCH_KEEP=1 keeps the work
# directory (JSON, daemon logs); BENCH_N="1000 10000" domain counts for the python run;
# BENCH_QUICK=1 shortens every phase (for checking the script, not for numbers);
# BENCH_NO_QEMU=1 skips the qemu phase; BENCH_QEMU_XML=FILE domain XML for it (default
# plugins/qemu/testdata/tiny-kvm.xml when /dev/kvm is usable, else tiny-tcg.xml).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export LC_ALL=C
. "$root/bench/lib.sh"
# A test's libvirtd and ours never collide.
libvirtd_turn

# --- prerequisites --------------------------------------------------------------------
need=()
[ -x /usr/sbin/libvirtd ] || need+=(libvirt-daemon)
[ -x /usr/bin/virsh ] || need+=(libvirt-clients)
[ -x /usr/bin/time ] || need+=(time)   # virsh's CPU time in section 7
if [ "${BENCH_NO_QEMU:-0}" != 1 ]; then
    [ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] || need+=(libvirt-daemon-driver-qemu)
    [ -x /usr/bin/qemu-system-x86_64 ] || need+=(qemu-system-x86)
fi
/usr/bin/python3 -c 'import libvirt' 2>/dev/null || need+=(python3-libvirt)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's libvirtd refuses to start without these (as .ci/run does).
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    say "cargo build --release (rvirtd, test, qemu and nodedev modules, rvirsh, loadgen)"
    cargo build --release -p rvirtd -p rvirt-driver-qemu -p rvirt-driver-test -p rvirt-driver-nodedev -p rvirsh -p rvirt-loadgen >&2
fi
rel="$root/target/release"
for f in rvirtd loadgen librvirt_driver_test.so; do
    [ -e "$rel/$f" ] || { echo "bench: $rel/$f is missing; the build did not produce it" >&2; exit 1; }
done

quick=${BENCH_QUICK:-0}
ns=${BENCH_N:-1000 10000}
scale=${BENCH_SCALE:-1000 10000 100000}
cli_runs=20; startup_runs=5; sat_secs=1.5; op_secs=4; thread_secs=3
sat_configs="1x1,1x16,2x16,4x32,8x16"
qemu_runs=10; mon_calls=500; floor_calls=5000; idle_secs=10
if [ "$quick" = 1 ]; then
    floor_calls=300; idle_secs=1
    ns=${BENCH_N:-200}; scale=${BENCH_SCALE:-200 2000}; cli_runs=3; startup_runs=2; sat_secs=0.3; op_secs=1; thread_secs=0.5; sat_configs="1x1,4x16"
    qemu_runs=2; mon_calls=50
fi

work=$(mktemp -d /tmp/rvirt-bench.XXXXXX)
out="$work/out"
mkdir -p "$out"
pids=()
qemu_pidfiles=()   # pid files of QEMU processes this run may have started
kill_qemus() {
    local f p
    for f in "${qemu_pidfiles[@]}"; do
        [ -s "$f" ] || continue
        p=$(cat "$f" 2>/dev/null) || continue
        if [ -n "$p" ] && tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q qemu-system; then
            echo "bench: killing leftover QEMU $p ($f)" >&2
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
}
restore_qemu_conf() { :; }
cleanup() {
    kill_qemus
    stop_all
    restore_qemu_conf
    remove_work
}
trap cleanup EXIT

# --- daemon configurations ------------------------------------------------------------
# libvirtd: private sockets, no auth; max_client_requests raised to rvirtd's default
# max_outstanding_calls (64) so pipelined clients see the same per-client limit.
write_configs "$rel" "max_client_requests = 64"
lv_conf="$work/lv/libvirtd.conf"
lv_uri="test+unix:///default?socket=$lv_sock"
lv_cmd=(/usr/sbin/libvirtd --config "$lv_conf" --pid-file "$work/lv/libvirtd.pid")

rv_conf="$work/rv/rvirtd.toml"
rv_uri="test+unix:///default?socket=$rv_sock"
rv_cmd=("$rel/rvirtd" --config "$rv_conf")

# Every daemon here serves test:///default, which start_daemon asks.
start_test_daemon() { # name sock cmd...
    local name=$1 sock=$2; shift 2
    start_daemon "$name" "$sock" "test+unix:///default?socket=$sock" "$@"
}
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- run ------------------------------------------------------------------------------
say "starting libvirtd and rvirtd"
lv_pid=$(start_test_daemon libvirtd "$lv_sock" "${lv_cmd[@]}")
rv_pid=$(start_test_daemon rvirtd "$rv_sock" "${rv_cmd[@]}")
pids+=("$lv_pid" "$rv_pid")
sleep 1
echo "{\"rss_kib\": $(rss "$lv_pid")}" > "$out/idle-libvirtd.json"
echo "{\"rss_kib\": $(rss "$rv_pid")}" > "$out/idle-rvirtd.json"

# --- 0. one synchronous client: rvirtd, libvirtd, and the floor of this machine ---------
# The floor servers answer with canned replies recorded from rvirtd (bench/loadgen floor);
# "sleep" waits in poll() like any event loop, "busy" never sleeps. A second rvirtd with
# io_poll_us = 0 shows what the I/O thread's adaptive polling is worth.
fb=("/usr/bin/python3" "$root/bench/python/floorbench.py" --calls "$floor_calls")
nopoll_conf="$work/rv-nopoll/rvirtd.toml"
mkdir -p "$work/rv-nopoll/run" "$work/rv-nopoll/state"
sed -e "s|$work/rv/|$work/rv-nopoll/|g" "$rv_conf" > "$nopoll_conf"
printf '\n[limits]\nio_poll_us = 0\n' >> "$nopoll_conf"
np_sock="$work/rv-nopoll/run/rvirt-sock"
np_uri="test+unix:///default?socket=$np_sock"
say "0. one synchronous client against libvirtd, rvirtd, rvirtd without polling, the floors"
"${fb[@]}" --uri "$lv_uri" --label libvirtd --out "$out/floor-libvirtd.json"
"${fb[@]}" --uri "$rv_uri" --label rvirtd --out "$out/floor-rvirtd.json"
np_pid=$(start_test_daemon rvirtd-nopoll "$np_sock" "$rel/rvirtd" --config "$nopoll_conf")
pids+=("$np_pid")
"${fb[@]}" --uri "$np_uri" --label rvirtd-nopoll --out "$out/floor-rvirtd-nopoll.json"
# Three rounds, the daemons taking turns, so that polling on and off are compared by their
# medians rather than by one run each (run-to-run noise here is several percent).
for round in 1 2 3; do
    for t in libvirtd rvirtd rvirtd-nopoll; do
        case $t in libvirtd) uri=$lv_uri ;; rvirtd) uri=$rv_uri ;; *) uri=$np_uri ;; esac
        "${fb[@]}" --uri "$uri" --label "$t" --threads 8 --thread-secs "$thread_secs" \
            --out "$out/floor-threads-$t-$round.json"
    done
done
stop_daemon "$np_pid"
for mode in sleep busy; do
    fsock="$work/floor-$mode.sock"
    "$rel/loadgen" floor --listen "$fsock" --upstream "$rv_sock" --mode "$mode" &
    fpid=$!
    for _ in $(seq 100); do [ -S "$fsock" ] && break; sleep 0.02; done
    "${fb[@]}" --uri "test+unix:///default?socket=$fsock" --label "floor-$mode" --out "$out/floor-floor-$mode.json"
    kill -TERM "$fpid" 2>/dev/null || true
    wait "$fpid" 2>/dev/null || true
done
say "0. XML formatting of the test domain, apart from any round trip"
/usr/bin/virsh -q -c "$rv_uri" dumpxml test > "$work/test-domain.xml"
"$rel/loadgen" xmlfmt --file "$work/test-domain.xml" > "$out/xmlfmt.json"
say "0. rvirtd's CPU time while idle (${idle_secs} s without clients, ${idle_secs} s with one idle client)"
"${fb[@]}" --uri "$rv_uri" --label rvirtd --idle "$rv_pid" --idle-secs "$idle_secs" --out "$out/idle-cpu-rvirtd.json"

nargs=(); for n in $ns; do nargs+=(--n "$n"); done
nargs+=(--scale "$(echo $scale | tr ' ' ,)" --loadgen "$rel/loadgen")
for d in libvirtd rvirtd; do
    if [ $d = libvirtd ]; then uri=$lv_uri pid=$lv_pid; else uri=$rv_uri pid=$rv_pid; fi
    say "1. libvirt-python against $d (N = $ns)"
    /usr/bin/python3 "$root/bench/python/rpcbench.py" --uri "$uri" --pid "$pid" --label "$d" "${nargs[@]}" \
        --op-secs "$op_secs" --thread-secs "$thread_secs" --out "$out/py-$d.json"
done

for d in libvirtd rvirtd; do
    if [ $d = libvirtd ]; then uri=$lv_uri; else uri=$rv_uri; fi
    say "2. saturation against $d"
    for p in info list; do
        "$rel/loadgen" saturate --uri "$uri" --proc "$p" --secs "$sat_secs" --configs "$sat_configs" > "$out/sat-$d-$p.json"
    done
done

have_rvirsh=false
[ -x "$rel/rvirsh" ] && have_rvirsh=true
say "5. one-shot CLI latency ($cli_runs runs each)"
for d in libvirtd rvirtd; do
    if [ $d = libvirtd ]; then uri=$lv_uri; else uri=$rv_uri; fi
    tools=(virsh); $have_rvirsh && tools+=(rvirsh)
    for t in "${tools[@]}"; do
        if [ $t = virsh ]; then exe=/usr/bin/virsh; else exe=$rel/rvirsh; fi
        "$rel/loadgen" time --runs "$cli_runs" --expect test -- "$exe" -c "$uri" list --all > "$out/cli-$t-$d-list.json" \
            || { echo "bench: $t list --all against $d failed" >&2; rm -f "$out/cli-$t-$d-list.json"; }
        "$rel/loadgen" time --runs "$cli_runs" --expect test -- "$exe" -c "$uri" dominfo test > "$out/cli-$t-$d-dominfo.json" \
            || { echo "bench: $t dominfo test against $d failed" >&2; rm -f "$out/cli-$t-$d-dominfo.json"; }
    done
done

say "stopping both daemons"
stop_daemon "$lv_pid"
stop_daemon "$rv_pid"

say "4. startup to first answered RPC ($startup_runs runs each)"
LIBVIRT_LOG_OUTPUTS="3:file:$work/lv/libvirtd-startup.log" \
    "$rel/loadgen" startup --uri "$lv_uri" --socket "$lv_sock" --runs "$startup_runs" -- "${lv_cmd[@]}" > "$out/startup-libvirtd.json"
"$rel/loadgen" startup --uri "$rv_uri" --socket "$rv_sock" --runs "$startup_runs" -- "${rv_cmd[@]}" > "$out/startup-rvirtd.json"

# --- 6. qemu driver: real QEMU domains ------------------------------------------------
# As root, libvirtd's qemu driver reads /etc/libvirt/qemu.conf and keeps its state in
# /run/libvirt, /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt; no option
# moves them. The qemu-phase libvirtd therefore runs in a private mount namespace
# (unshare -m) with work-directory copies bind-mounted over those paths, so the host's
# files are neither read nor written. Without mount namespaces the script falls back to
# writing /etc/libvirt/qemu.conf, backed up and restored on exit.
qemu_xml=""
if [ "${BENCH_NO_QEMU:-0}" != 1 ]; then
    qemu_xml=${BENCH_QEMU_XML:-}
    if [ -z "$qemu_xml" ]; then
        if /usr/bin/python3 -c 'import os; os.close(os.open("/dev/kvm", os.O_RDWR))' 2>/dev/null; then
            qemu_xml="$root/plugins/qemu/testdata/tiny-kvm.xml"
        else
            qemu_xml="$root/plugins/qemu/testdata/tiny-tcg.xml"
        fi
    fi
    [ -e "$rel/librvirt_driver_qemu.so" ] || { echo "bench: $rel/librvirt_driver_qemu.so is missing" >&2; exit 1; }
fi
if [ -n "$qemu_xml" ]; then
    qname=$(/usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E; print(E.parse(sys.argv[1]).getroot().findtext("name"))' "$qemu_xml")
    lq="$work/lq"
    mkdir -p "$lq/sock" "$lq/etc" "$lq/run" "$lq/lib" "$lq/cache" "$lq/log"
    # QEMU runs as root rather than libvirt-qemu (the work directory is root's), no DAC or
    # MAC labelling, QEMU's stdout/stderr go to a file (no virtlogd is running).
    qemu_conf='user = "root"
group = "root"
security_driver = "none"
stdio_handler = "file"'
    printf '%s\n' "$qemu_conf" > "$lq/etc/qemu.conf"
    sed "s|^unix_sock_dir = .*|unix_sock_dir = \"$lq/sock\"|" "$lv_conf" > "$lq/libvirtd.conf"
    lq_sock="$lq/sock/libvirt-sock"
    lq_cmd=(/usr/sbin/libvirtd --config "$lq/libvirtd.conf" --pid-file "$lq/libvirtd.pid")
    lq_made=()
    if unshare --mount --propagation private true 2>/dev/null; then
        cat > "$lq/ns.sh" <<'EOF'
#!/bin/sh
# Runs inside the private mount namespace: work-directory copies over libvirt's fixed paths.
set -e
w=$1; shift
for pair in etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt cache:/var/cache/libvirt log:/var/log/libvirt; do
    src=$w/${pair%%:*} dst=${pair#*:}
    mkdir -p "$dst"
    mount --bind "$src" "$dst"
done
exec "$@"
EOF
        lq_cmd=(unshare --mount --propagation private /bin/sh "$lq/ns.sh" "$lq" "${lq_cmd[@]}")
        # mount points ns.sh has to create on the host (removed again after the phase)
        lq_made=()
        for d in /etc/libvirt /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
            [ -d "$d" ] || lq_made+=("$d")
        done
        qemu_pidfiles+=("$lq/run/qemu/$qname.pid")
        lq_how="private mount namespace, own /etc/libvirt/qemu.conf"
    else
        [ -e /etc/libvirt/qemu.conf ] && cp -a /etc/libvirt/qemu.conf "$lq/qemu.conf.orig"
        restore_qemu_conf() {
            if [ -e "$lq/qemu.conf.orig" ]; then cp -a "$lq/qemu.conf.orig" /etc/libvirt/qemu.conf
            else rm -f /etc/libvirt/qemu.conf; fi
        }
        mkdir -p /etc/libvirt
        printf '%s\n' "$qemu_conf" > /etc/libvirt/qemu.conf
        qemu_pidfiles+=("/run/libvirt/qemu/$qname.pid")
        lq_how="/etc/libvirt/qemu.conf replaced for the run (no mount namespaces)"
    fi
    qemu_pidfiles+=("$work/rv/state/qemu/run/$qname.pid")

    say "6. qemu driver against libvirtd ($lq_how; $(basename "$qemu_xml"))"
    lq_pid=$(start_test_daemon libvirtd-qemu "$lq_sock" "${lq_cmd[@]}")
    pids+=("$lq_pid")
    /usr/bin/python3 "$root/bench/python/qemubench.py" --uri "qemu+unix:///system?socket=$lq_sock" \
        --xml "$qemu_xml" --label libvirtd --runs "$qemu_runs" --mon-calls "$mon_calls" --out "$out/qemu-libvirtd.json" \
        || { echo "bench: qemu phase against libvirtd failed; see $work/libvirtd-qemu.log" >&2; rm -f "$out/qemu-libvirtd.json"; }
    kill_qemus
    stop_daemon "$lq_pid"
    restore_qemu_conf
    for d in "${lq_made[@]}"; do rmdir "$d" 2>/dev/null || true; done

    say "6. qemu driver against rvirtd"
    rv_pid=$(start_test_daemon rvirtd "$rv_sock" "${rv_cmd[@]}")
    pids+=("$rv_pid")
    /usr/bin/python3 "$root/bench/python/qemubench.py" --uri "qemu+unix:///system?socket=$rv_sock" \
        --xml "$qemu_xml" --label rvirtd --runs "$qemu_runs" --mon-calls "$mon_calls" --out "$out/qemu-rvirtd.json" \
        || { echo "bench: qemu phase against rvirtd failed; see $work/rv/rvirtd.log" >&2; rm -f "$out/qemu-rvirtd.json"; }
    kill_qemus
    stop_daemon "$rv_pid"
fi

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
cat > "$out/meta.json" <<EOF
{"date": "$(date '+%Y-%m-%d %H:%M')", "host": "$(uname -srm)", "cpus": $(nproc),
 "libvirtd_version": "$(/usr/sbin/libvirtd --version | awk '{print $NF}')", "commit": "$commit",
 "rvirsh": $have_rvirsh, "cli_runs": $cli_runs, "quick": $([ "$quick" = 1 ] && echo true || echo false),
 "modules": "$(cd "$rel" && ls librvirt_driver_*.so | tr '\n' ' ')",
 "qemu_version": "$(/usr/bin/qemu-system-x86_64 --version 2>/dev/null | awk 'NR==1 {print $4}')",
 "qemu_xml": "$(basename "${qemu_xml:-none}")", "qemu_libvirtd_setup": "${lq_how:-}"}
EOF

mkdir -p "$root/bench/results"
report="$root/bench/results/$(date '+%Y-%m-%d-%H%M').md"
[ "$quick" = 1 ] && report="$work/quick-report.md"
/usr/bin/python3 "$root/bench/python/report.py" "$out" > "$report"
[ "${BENCH_NO_STORAGE:-0}" = 1 ] || "$root/bench/storage.sh" >> "$report"   # section 7, own daemons
[ "${BENCH_NO_NET:-0}" = 1 ] || "$root/bench/network.sh" >> "$report"       # section 8, own daemons
cat "$report"
echo >&2
echo "bench: report written to $report" >&2
