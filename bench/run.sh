#!/usr/bin/env bash
# rvirtd against a real libvirtd, same clients, one run. See bench/README.md.
#
# Installs what it needs (apt-get, only when missing), builds the workspace in release mode,
# starts a real libvirtd (its test driver) and rvirtd (every module in target/release) with
# private sockets under a temporary directory, drives both with libvirt-python, the
# pipelined rvirt load generator, virsh and rvirsh, stops both, and writes a Markdown table
# to stdout and to bench/results/YYYY-MM-DD-HHMM.md.
#
# Environment: BENCH_NO_BUILD=1 skips the cargo build; BENCH_KEEP=1 keeps the work
# directory (JSON, daemon logs); BENCH_N="1000 10000" domain counts for the python run;
# BENCH_QUICK=1 shortens every phase (for checking the script, not for numbers).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export LC_ALL=C

say() { printf '\n== %s\n' "$*" >&2; }

# --- prerequisites --------------------------------------------------------------------
need=()
[ -x /usr/sbin/libvirtd ] || need+=(libvirt-daemon)
[ -x /usr/bin/virsh ] || need+=(libvirt-clients)
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
    say "cargo build --release --workspace"
    cargo build --release --workspace >&2
fi
rel="$root/target/release"
for f in rvirtd loadgen librvirt_driver_test.so; do
    [ -e "$rel/$f" ] || { echo "bench: $rel/$f is missing; the build did not produce it" >&2; exit 1; }
done

quick=${BENCH_QUICK:-0}
ns=${BENCH_N:-1000 10000}
cli_runs=20; startup_runs=5; sat_secs=1.5; op_secs=4; thread_secs=3
sat_configs="1x1,1x16,2x16,4x32,8x16"
if [ "$quick" = 1 ]; then
    ns=${BENCH_N:-200}; cli_runs=3; startup_runs=2; sat_secs=0.3; op_secs=1; thread_secs=0.5; sat_configs="1x1,4x16"
fi

work=$(mktemp -d /tmp/rvirt-bench.XXXXXX)
out="$work/out"
mkdir -p "$out" "$work/lv/run" "$work/rv/run" "$work/rv/state"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# --- daemon configurations ------------------------------------------------------------
# libvirtd: private sockets, no auth; max_client_requests raised to rvirtd's default
# max_outstanding_calls (64) so pipelined clients see the same per-client limit.
lv_conf="$work/lv/libvirtd.conf"
cat > "$lv_conf" <<EOF
unix_sock_dir = "$work/lv/run"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
max_client_requests = 64
EOF
lv_sock="$work/lv/run/libvirt-sock"
lv_uri="test+unix:///default?socket=$lv_sock"
lv_cmd=(/usr/sbin/libvirtd --config "$lv_conf" --pid-file "$work/lv/libvirtd.pid")

rv_conf="$work/rv/rvirtd.toml"
cat > "$rv_conf" <<EOF
[listen]
socket_dir = "$work/rv/run"

[modules]
dir = "$rel"

[state]
dir = "$work/rv/state"

[logging]
filter = "warn"
output = "$work/rv/rvirtd.log"
EOF
rv_sock="$work/rv/run/rvirt-sock"
rv_uri="test+unix:///default?socket=$rv_sock"
rv_cmd=("$rel/rvirtd" --config "$rv_conf")

start_daemon() { # name sock cmd...
    local name=$1 sock=$2; shift 2
    rm -f "$sock"
    LIBVIRT_LOG_OUTPUTS="3:file:$work/lv/libvirtd.log" "$@" </dev/null >"$work/$name.out" 2>&1 &
    local pid=$!

    for _ in $(seq 600); do
        [ -S "$sock" ] && /usr/bin/virsh -q -c "test+unix:///default?socket=$sock" hostname >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || { echo "bench: $name exited; see $work/$name.out" >&2; cat "$work/$name.out" >&2; exit 1; }
        sleep 0.05
    done
    echo "$pid"
}
stop_daemon() { # pid
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
}
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- run ------------------------------------------------------------------------------
say "starting libvirtd and rvirtd"
lv_pid=$(start_daemon libvirtd "$lv_sock" "${lv_cmd[@]}")
rv_pid=$(start_daemon rvirtd "$rv_sock" "${rv_cmd[@]}")
pids+=("$lv_pid" "$rv_pid")
sleep 1
echo "{\"rss_kib\": $(rss "$lv_pid")}" > "$out/idle-libvirtd.json"
echo "{\"rss_kib\": $(rss "$rv_pid")}" > "$out/idle-rvirtd.json"

nargs=(); for n in $ns; do nargs+=(--n "$n"); done
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

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
cat > "$out/meta.json" <<EOF
{"date": "$(date '+%Y-%m-%d %H:%M')", "host": "$(uname -srm)", "cpus": $(nproc),
 "libvirtd_version": "$(/usr/sbin/libvirtd --version | awk '{print $NF}')", "commit": "$commit",
 "rvirsh": $have_rvirsh, "cli_runs": $cli_runs, "quick": $([ "$quick" = 1 ] && echo true || echo false),
 "modules": "$(cd "$rel" && ls librvirt_driver_*.so | tr '\n' ' ')"}
EOF

mkdir -p "$root/bench/results"
report="$root/bench/results/$(date '+%Y-%m-%d-%H%M').md"
[ "$quick" = 1 ] && report="$work/quick-report.md"
/usr/bin/python3 "$root/bench/python/report.py" "$out" > "$report"
cat "$report"
echo >&2
echo "bench: report written to $report" >&2
