#!/usr/bin/env bash
# Section 7 of the bench (bench/README.md): the storage module against libvirtd's storage
# driver, the same /usr/bin/virsh against both: vol-upload / vol-download of a dense and of
# a sparse file (1 GiB each; --sparse for the sparse one) and vol-create-as qcow2 latency.
# Prints a Markdown section on stdout (run.sh appends it to its report).
#
# Standalone: bench/storage.sh (takes the libvirtd turn itself). From run.sh it inherits
# the turn on fd 9. Environment: BENCH_NO_BUILD=1 skips the release build of rvirtd and
# the storage module; BENCH_STORAGE_MIB=N file size in MiB (default 1024, 64 with
# BENCH_QUICK=1); BENCH_STORAGE_RUNS=N runs per transfer (default 3, 1 quick);
# BENCH_KEEP=1 keeps the work directory; BENCH_STORAGE_BIN=DIR takes rvirtd and the
# modules from DIR without building (e.g. target/debug, to check the script).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export LC_ALL=C
. "$root/bench/lib.sh"
libvirtd_turn

quick=${BENCH_QUICK:-0}
mib=${BENCH_STORAGE_MIB:-$([ "$quick" = 1 ] && echo 64 || echo 1024)}
runs=${BENCH_STORAGE_RUNS:-$([ "$quick" = 1 ] && echo 1 || echo 3)}
qcow_runs=$([ "$quick" = 1 ] && echo 3 || echo 10)
virsh=/usr/bin/virsh
rel=${BENCH_STORAGE_BIN:-$root/target/release}
if [ "${BENCH_NO_BUILD:-0}" != 1 ] && [ -z "${BENCH_STORAGE_BIN:-}" ]; then
    say "cargo build --release (rvirtd, storage module)"
    cargo build --release -p rvirtd -p rvirt-driver-storage >&2
fi
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
for f in rvirtd librvirt_driver_storage.so; do
    [ -e "$rel/$f" ] || { echo "bench: $rel/$f is missing" >&2; exit 1; }
done

work=$(mktemp -d /tmp/rvirt-bench-storage.XXXXXX)
pids=()
cleanup() {
    stop_all
    remove_work
}
trap cleanup EXIT

write_configs "$rel"
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Sources: a dense file of random bytes and a sparse one of the same size holding 16
# runs of data (each 1/256 of the file) spread evenly, holes elsewhere.
say "making the $mib MiB source files"
dense="$work/dense.src" sparse="$work/sparse.src"
head -c "$((mib << 20))" /dev/urandom > "$dense"
truncate -s "$((mib << 20))" "$sparse"
chunk=$(( (mib / 256 > 0 ? mib / 256 : 1) ))
for i in $(seq 0 15); do
    dd if="$dense" of="$sparse" bs=1M count="$chunk" skip="$((i * mib / 16))" seek="$((i * mib / 16))" conv=notrunc status=none
done

# One daemon: transfers timed in ms (median of $runs), checked byte for byte.
measure() { # label uri
    local label=$1 uri=$2 pool=rvbench$$ dir="$work/pool-$1"
    local v=(-q -c "$uri")
    mkdir -p "$dir"
    $virsh "${v[@]}" pool-create-as "$pool" dir --target "$dir" >/dev/null
    $virsh "${v[@]}" vol-create-as "$pool" vol.img "${mib}M" --allocation 0 >/dev/null
    local kind src flag t0 dt
    for kind in dense sparse; do
        if [ $kind = dense ]; then src=$dense flag=(); else src=$sparse flag=(--sparse); fi
        for op in upload download; do
            : > "$work/$label-$kind-$op.ms"
            : > "$work/$label-$kind-$op.cpu"
            for _ in $(seq "$runs"); do
                rm -f "$work/down"
                if [ $op = upload ]; then
                    # A fresh empty volume each time: a sparse upload leaves the bytes
                    # under its holes as they were (libvirt's behaviour, and rvirtd's).
                    $virsh "${v[@]}" vol-delete --pool "$pool" vol.img >/dev/null
                    $virsh "${v[@]}" vol-create-as "$pool" vol.img "${mib}M" --allocation 0 >/dev/null
                fi
                # virsh's own CPU time (user + system, ms) beside the wall time: on 2
                # cores the client's share bounds how fast any daemon can look.
                t0=$(now)
                if [ $op = upload ]; then
                    /usr/bin/time -o "$work/t" -f '%U %S' $virsh "${v[@]}" vol-upload --pool "$pool" vol.img "$src" "${flag[@]}"
                else
                    /usr/bin/time -o "$work/t" -f '%U %S' $virsh "${v[@]}" vol-download --pool "$pool" vol.img "$work/down" "${flag[@]}"
                fi
                dt=$(( ($(now) - t0) / 1000000 ))
                echo "$dt" >> "$work/$label-$kind-$op.ms"
                awk '{printf "%d\n", ($1 + $2) * 1000}' "$work/t" >> "$work/$label-$kind-$op.cpu"
            done
            if [ $op = upload ]; then cmp -s "$src" "$dir/vol.img"; else cmp -s "$src" "$work/down"; fi \
                || { echo "bench: $label $kind $op gave different bytes" >&2; exit 1; }
        done
        rm -f "$work/down"
    done
    : > "$work/$label-qcow2.ms"
    for i in $(seq "$qcow_runs"); do
        t0=$(now)
        $virsh "${v[@]}" vol-create-as "$pool" "q$i.qcow2" 1G --format qcow2 >/dev/null
        echo $(( ($(now) - t0) / 1000000 )) >> "$work/$label-qcow2.ms"
    done
    $virsh "${v[@]}" pool-destroy "$pool" >/dev/null
    rm -rf "$dir"
}

say "7. storage against libvirtd"
lv_pid=$(start_daemon libvirtd "$lv_sock" "qemu+unix:///system?socket=$lv_sock" /usr/sbin/libvirtd --config "$work/lv/libvirtd.conf" --pid-file "$work/lv/pid")
pids+=("$lv_pid")
measure libvirtd "qemu+unix:///system?socket=$lv_sock"
stop_daemon "$lv_pid"
say "7. storage against rvirtd"
rv_pid=$(start_daemon rvirtd "$rv_sock" "qemu+unix:///system?socket=$rv_sock" "$rel/rvirtd" --config "$work/rv/rvirtd.toml")
pids+=("$rv_pid")
measure rvirtd "qemu+unix:///system?socket=$rv_sock"
stop_daemon "$rv_pid"

# The report: throughput in MiB/s (higher is better), latency in ms (lower is better).
row() { # name file-suffix kind(tput|lat) target
    local lv rv lc=- rc=-
    lv=$(median < "$work/libvirtd-$2.ms") rv=$(median < "$work/rvirtd-$2.ms")
    if [ -s "$work/libvirtd-$2.cpu" ]; then
        lc="$(median < "$work/libvirtd-$2.cpu") ms" rc="$(median < "$work/rvirtd-$2.cpu") ms"
    fi
    awk -v n="$1" -v lv="$lv" -v rv="$rv" -v k="$3" -v t="$4" -v mib="$mib" -v lc="$lc" -v rc="$rc" 'BEGIN {
        if (k == "tput") {
            a = mib * 1000 / (lv > 0 ? lv : 1); b = mib * 1000 / (rv > 0 ? rv : 1)
            printf "| %s | %.0f MiB/s (%d ms) | %.0f MiB/s (%d ms) | %.2f× | %s | %s / %s |\n", n, a, lv, b, rv, b / a, t, lc, rc
        } else {
            printf "| %s | %d ms | %d ms | %.2f× | %s | — |\n", n, lv, rv, rv / (lv > 0 ? lv : 1), t
        }
    }'
}
echo
echo "## 7. Storage: volume streams and qcow2 creation (bench/storage.sh)"
echo
echo "$mib MiB files, /usr/bin/virsh against both daemons' \`qemu:///system\` (a dir pool under /tmp), median of $runs runs per transfer (virsh start included), bytes checked with cmp; the sparse file holds 16 data runs of $chunk MiB."
echo
echo "virsh CPU is the client's own user + system time per transfer (median; against libvirtd / against rvirtd): on 2 cores what virsh itself spends bounds how fast either daemon can look, so a ratio can only approach libvirtd's time over the client's."
echo
echo "| measure | libvirtd | rvirtd | ratio | target | virsh CPU |"
echo "|---|---|---|---|---|---|"
row "vol-upload dense" dense-upload tput "≥ 1×"
row "vol-download dense" dense-download tput "≥ 1×"
row "vol-upload --sparse" sparse-upload tput "≥ 2×"
row "vol-download --sparse" sparse-download tput "≥ 2×"
row "vol-create-as 1G --format qcow2 (median of $qcow_runs)" qcow2 lat "—"
