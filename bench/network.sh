#!/usr/bin/env bash
# Section 8 of the bench (bench/README.md): net-start / net-destroy of libvirt's stock
# `default` network (virbr0, 192.168.122.0/24, NAT, dnsmasq) on libvirtd's network driver
# and on rvirtd's network module, each daemon in a network namespace of its own so no
# bridge, address, dnsmasq or firewall rule reaches the machine's own namespace.
# libvirt-python drives both; each call is timed alone (the daemon's work: bridge,
# addresses, dnsmasq start and stop, firewall rules).
#
# Standalone: bench/network.sh (takes the libvirtd turn itself). From run.sh it inherits
# the turn on fd 9. Environment: BENCH_NO_BUILD=1 skips the release build of rvirtd and
# the network module; BENCH_NET_RUNS=N start/destroy cycles (default 20, 3 with
# BENCH_QUICK=1); BENCH_KEEP=1 keeps the work directory; BENCH_NET_BIN=DIR takes rvirtd
# and the modules from DIR without building (e.g. target/debug, to check the script).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export LC_ALL=C
. "$root/bench/lib.sh"
libvirtd_turn

quick=${BENCH_QUICK:-0}
runs=${BENCH_NET_RUNS:-$([ "$quick" = 1 ] && echo 3 || echo 20)}
rel=${BENCH_NET_BIN:-$root/target/release}
if [ "${BENCH_NO_BUILD:-0}" != 1 ] && [ -z "${BENCH_NET_BIN:-}" ]; then
    say "cargo build --release (rvirtd, qemu and network modules, lease helper)"
    cargo build --release -p rvirtd -p rvirt-driver-qemu -p rvirt-driver-network >&2
fi
for f in rvirtd librvirt_driver_qemu.so librvirt_driver_network.so rvirt-leaseshelper; do
    [ -e "$rel/$f" ] || { echo "bench: $rel/$f is missing" >&2; exit 1; }
done
for t in ip dnsmasq nft iptables /usr/sbin/libvirtd; do
    command -v "$t" >/dev/null || { echo "bench: $t is missing" >&2; exit 1; }
done

work=$(mktemp -d /tmp/rvirt-bench-net.XXXXXX)
tag=$$
lv_ns=rvbench-lv-$tag rv_ns=rvbench-rv-$tag
net=rvbench$tag
pids=()
cleanup() {
    stop_all
    # libvirtd keeps a privileged daemon's definitions in the host's /etc/libvirt.
    rm -f "/etc/libvirt/qemu/networks/$net.xml" "/etc/libvirt/qemu/networks/autostart/$net.xml"
    rm -f "/run/libvirt/network/$net.xml"
    for ns in "$lv_ns" "$rv_ns"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
    remove_work
}
trap cleanup EXIT
for ns in "$lv_ns" "$rv_ns"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done

write_configs "$rel"

cat > "$work/default.xml" <<EOF
<network>
  <name>$net</name>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='on' delay='0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
EOF

# One daemon: define once, then $runs cycles of create() and destroy(), each timed in
# microseconds; the bridge must exist after each start and be gone after each destroy.
measure() { # label uri netns
    /usr/bin/python3 - "$2" "$work/default.xml" "$runs" "$3" "$work/$1" <<'PY'
import libvirt, subprocess, sys, time
uri, xml, runs, ns, out = sys.argv[1], open(sys.argv[2]).read(), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def bridge_up():
    return subprocess.run(["ip", "-n", ns, "link", "show", "virbr0"], capture_output=True).returncode == 0
conn = libvirt.open(uri)
net = conn.networkDefineXML(xml)
starts, destroys = [], []
try:
    for _ in range(runs):
        t0 = time.perf_counter(); net.create(); starts.append(time.perf_counter() - t0)
        assert bridge_up(), "no virbr0 after net-start"
        t0 = time.perf_counter(); net.destroy(); destroys.append(time.perf_counter() - t0)
        assert not bridge_up(), "virbr0 left after net-destroy"
finally:
    net.undefine()
for name, vals in (("start", starts), ("destroy", destroys)):
    with open(f"{out}-{name}.us", "w") as f:
        f.write("".join(f"{int(v * 1e6)}\n" for v in vals))
PY
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

say "8. net-start / net-destroy against libvirtd"
lv_pid=$(start_daemon libvirtd "$lv_sock" "qemu+unix:///system?socket=$lv_sock" ip netns exec "$lv_ns" /usr/sbin/libvirtd --config "$work/lv/libvirtd.conf" --pid-file "$work/lv/pid")
pids+=("$lv_pid")
measure libvirtd "qemu+unix:///system?socket=$lv_sock" "$lv_ns"
stop_daemon "$lv_pid"
say "8. net-start / net-destroy against rvirtd"
rv_pid=$(start_daemon rvirtd "$rv_sock" "qemu+unix:///system?socket=$rv_sock" ip netns exec "$rv_ns" "$rel/rvirtd" --config "$work/rv/rvirtd.toml")
pids+=("$rv_pid")
measure rvirtd "qemu+unix:///system?socket=$rv_sock" "$rv_ns"
stop_daemon "$rv_pid"

row() { # name suffix
    local lv rv
    lv=$(median < "$work/libvirtd-$2.us") rv=$(median < "$work/rvirtd-$2.us")
    awk -v n="$1" -v lv="$lv" -v rv="$rv" 'BEGIN {
        printf "| %s | %.1f ms | %.1f ms | %.2f× | ≤ 0.33× |\n", n, lv / 1000, rv / 1000, rv / (lv > 0 ? lv : 1)
    }'
}
echo
echo "## 8. Network: net-start / net-destroy of the default network (bench/network.sh)"
echo
echo "libvirt's stock \`default\` network (NAT, virbr0, 192.168.122.0/24, DHCP) on each daemon's \`qemu:///system\`, each daemon in a network namespace of its own; libvirt-python's \`create()\` and \`destroy()\` timed alone, median of $runs cycles (lower is better). libvirtd 9.0 uses iptables, rvirtd nftables."
echo
echo "| measure | libvirtd | rvirtd | ratio | target |"
echo "|---|---|---|---|---|"
row "net-start" start
row "net-destroy" destroy
