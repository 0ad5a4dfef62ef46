#!/usr/bin/env bash
# The packages under a real systemd: makes (once, cached) a Debian 12 root with mmdebstrap,
# boots a copy of it with systemd-nspawn in its own network namespace, installs the built
# .deb files with dpkg and checks, step by step, what issue 16 promises:
#   - rvirt-daemon + rvirt-driver-test + rvirt-libvirt-compat: virsh reaches the
#     socket-activated daemon on libvirt's socket; qemu:///system says no driver serves it;
#   - + rvirt-driver-qemu: virt-install with no URI reaches it; a guest runs in its own
#     scope, registered with machined;
#     `systemctl restart rvirtd` and a reinstall of rvirt-daemon leave it running and
#     found again;
#   - rvirt-driver-qemu removed: the daemon keeps serving the rest;
#   - an out-of-tree module (RVIRT_PKG_EXTRA_MODULE, when set) loads into the daemon;
#   - purge: no files left outside the state directories;
#   - rvirt-config-network: the default network is active after installation.
#
#   packaging/tests/systemd-check.sh DEB_DIR CACHE_DIR
#
# When DEB_DIR holds the RPMs too, they are installed afterwards with Debian's rpm
# (--nodeps: its database knows none of Debian's packages) to check their scriptlets under
# systemd the same way: sockets, activation, a driver's file trigger, and a clean erase.
#
# Needs root, systemd-nspawn (systemd-container), mmdebstrap and network access to a
# Debian mirror the first time (the root is cached in CACHE_DIR). Exits non-zero at the
# first failed check, naming it.
set -euo pipefail
debs=$(cd "$1" && pwd)
cache=$2
mirror=${RVIRT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
include=systemd,systemd-sysv,systemd-container,dbus,rpm,libvirt-clients,virtinst,qemu-system-x86,qemu-utils,dnsmasq-base,nftables,iproute2,procps
key=$(printf '%s %s' "$include" "$mirror" | sha256sum | cut -c1-12)
base=$cache/bookworm-$key
mkdir -p "$cache"

say() { printf '== %s\n' "$*"; }
fail() {
    printf 'FAILED: %s\n' "$*" >&2
    if [ -n "${leader:-}" ]; then
        printf -- '-- the container journal, last lines:\n' >&2
        inside "journalctl --no-pager -n 60 -o short-monotonic" >&2 || true
    fi
    exit 1
}

if [ ! -d "$base" ]; then
    say "making the Debian 12 root (cached in $base)"
    rm -rf "$base.tmp"
    mmdebstrap --quiet --variant=minbase --include="$include" bookworm "$base.tmp" "$mirror"
    mv "$base.tmp" "$base"
    # Roots made for other package lists or mirrors are not used again.
    for old in "$cache"/bookworm-*; do
        [ "$old" = "$base" ] || rm -rf "$old"
    done
fi

run=$(mktemp -d "$cache/run.XXXXXX")
root=$run/root
mkdir -p "$root" "$run/upper" "$run/work"
overlay=0
if mount -t overlay overlay -o "lowerdir=$base,upperdir=$run/upper,workdir=$run/work" "$root" 2>/dev/null; then
    overlay=1
else
    cp -a "$base/." "$root/"
fi
nspawn=
cleanup() {
    set +e
    if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
        [ -n "${leader:-}" ] && kill -s SIGRTMIN+4 "$leader" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$nspawn" 2>/dev/null
        wait "$nspawn" 2>/dev/null
    fi
    [ $overlay = 1 ] && umount "$root"
    rm -rf "$run"
}
trap cleanup EXIT

mkdir -p "$root/debs"
cp "$debs"/*.deb "$root/debs/"
cp "$debs"/*.rpm "$root/debs/" 2>/dev/null || true
say "booting the container"
# Under a systemd host with D-Bus nspawn gets a scope of its own from it; elsewhere (a
# container or a sandbox without systemd as init) it keeps the cgroup it runs in.
keep_unit=--keep-unit
[ -d /run/systemd/system ] && [ -S /run/dbus/system_bus_socket ] && keep_unit=
systemd-nspawn --quiet --directory="$root" --boot --register=no $keep_unit \
    --private-network --machine="rvirt-pkg-$$" </dev/null >"$run/console.log" 2>&1 &
nspawn=$!
# The container's init is the child of nspawn that runs systemd (nspawn's first,
# short-lived child sets up the namespaces).
leader=
for _ in $(seq 200); do
    for p in $(pgrep -P "$nspawn" || true); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ] && leader=$p
    done
    [ -n "$leader" ] && break
    sleep 0.1
done
[ -n "$leader" ] || fail "systemd-nspawn did not start a container: $(cat "$run/console.log")"

# Runs a shell command inside the container, as a process of its namespaces; a command
# that hangs (a client waiting on a socket nobody serves) fails after two minutes.
inside() {
    nsenter --target "$leader" --mount --uts --ipc --net --pid -- \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        timeout 120 /bin/sh -c "$*"
}
for _ in $(seq 150); do
    state=$(inside systemctl is-system-running 2>/dev/null || true)
    case $state in running | degraded) break ;; esac
    sleep 0.2
done
case $state in running | degraded) ;; *) fail "the container's systemd did not finish booting ($state)" ;; esac

# Every file outside the state directories and systemd's and dpkg's own bookkeeping.
snapshot() {
    inside "find /etc /usr /lib /opt /srv /var -xdev \\( -path /var/lib/rvirt -o -path /var/lib/dpkg \
        -o -path /var/lib/apt -o -path /var/lib/systemd -o -path /var/lib/rpm -o -path /var/cache \
        -o -path /var/log \
        -o -path /var/tmp \\) -prune -o -print | sort"
}
verbose=${RVIRT_PKG_VERBOSE:-}
expect() { # WHAT COMMAND PATTERN: the command succeeds and its output matches
    local out
    out=$(inside "$2" 2>&1) || fail "$1: '$2' failed: $out"
    [ -z "$verbose" ] || printf -- '-- %s: %s\n%s\n' "$1" "$2" "$out"
    printf '%s\n' "$out" | grep -Eq -- "$3" || fail "$1: '$2' printed: $out"
}
refuse() { # WHAT COMMAND PATTERN: the command fails and its output matches
    local out
    if out=$(inside "$2" 2>&1); then fail "$1: '$2' succeeded: $out"; fi
    [ -z "$verbose" ] || printf -- '-- %s: %s\n%s\n' "$1" "$2" "$out"
    printf '%s\n' "$out" | grep -Eq -- "$3" || fail "$1: '$2' printed: $out"
}
deb() { printf '/debs/%s_*.deb ' "$@"; }
qemu_pid() { inside "pgrep -f '^/usr/bin/qemu-system-x86_64 .*-name guest=pkgguest' | head -n 1"; }

before=$(snapshot)

say "rvirt-daemon + rvirt-driver-test + rvirt-libvirt-compat"
expect "install" "dpkg -i $(deb rvirt-daemon rvirt-driver-test rvirt-libvirt-compat)" "Setting up rvirt-libvirt-compat"
for u in rvirtd.socket rvirtd-ro.socket libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket; do
    expect "$u listens" "systemctl is-active $u" "^active$"
done
expect "service settings" "systemctl show rvirtd.service -p KillMode -p Type -p WatchdogUSec" "KillMode=process"
inside "systemctl stop rvirtd.service"
expect "stopped, sockets kept" "systemctl is-active rvirtd.service || true" "inactive"
expect "virsh through libvirt's socket" "virsh -c test+unix:///default list --all" "test +running"
expect "socket activation" "systemctl is-active rvirtd.service" "^active"
expect "idle timeout" "ps -o args= -C rvirtd" "--timeout 120"
expect "plain virsh (no URI)" "virsh list --all" "test +running"
expect "read-only socket" "virsh -r -c test+unix:///default list --all" "test +running"
refuse "no qemu driver" "virsh -c qemu:///system list --all" "no connection driver available for qemu:///system"
expect "watchdog pings" "sleep 1; systemctl show rvirtd.service -p WatchdogTimestampMonotonic" "=[1-9]"

say "rvirt-driver-qemu: a guest in its own scope"
expect "install qemu driver" "dpkg -i $(deb rvirt-driver-qemu)" "Setting up rvirt-driver-qemu"
inside "systemctl restart rvirtd.service"
cat >"$root/root/guest.xml" <<'XML'
<domain type='qemu'>
  <name>pkgguest</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <graphics type='vnc' port='-1' listen='127.0.0.1'/>
    <memballoon model='none'/>
  </devices>
</domain>
XML
expect "virt-install with no URI" "virt-install --print-xml --import --name vi --memory 64 --disk none --network none --graphics none --osinfo linux2022" "<domain type=.(kvm|qemu)."
expect "define" "virsh -c qemu:///system define /root/guest.xml" "defined"
expect "start" "virsh -c qemu:///system start pkgguest" "started"
pid=$(qemu_pid)
[ -n "$pid" ] || fail "no QEMU process for the started guest"
expect "guest scope" "cat /proc/$pid/cgroup" "machine.slice/rvirt-qemu-[0-9]+-pkgguest.scope"
expect "registered with machined" "machinectl list --no-legend" "rvirt-qemu-[0-9]+-pkgguest +vm +rvirt-qemu"
expect "plain virsh lists the guest" "virsh list" "pkgguest +running"
inside "systemctl restart rvirtd.service"
[ "$(qemu_pid)" = "$pid" ] || fail "the guest's QEMU did not survive systemctl restart rvirtd"
expect "still a machine after restart" "machinectl list --no-legend" "rvirt-qemu-[0-9]+-pkgguest"
expect "found again after restart" "virsh -c qemu:///system list" "pkgguest +running"
expect "reinstall rvirt-daemon" "dpkg -i $(deb rvirt-daemon)" "Setting up rvirt-daemon"
[ "$(qemu_pid)" = "$pid" ] || fail "the guest's QEMU did not survive a reinstall of rvirt-daemon"
expect "found again after reinstall" "virsh -c qemu:///system domstate pkgguest" "running"

say "rvirt-driver-qemu removed"
expect "remove qemu driver" "dpkg -r rvirt-driver-qemu" "Removing rvirt-driver-qemu"
expect "still serving test" "virsh -c test+unix:///default list --all" "test +running"
refuse "qemu gone" "virsh -c qemu:///system list --all" "no connection driver available for qemu:///system"
inside "kill $pid; systemctl stop 'rvirt-qemu-*.scope' 2>/dev/null; true"

if [ -n "${RVIRT_PKG_EXTRA_MODULE:-}" ]; then
    # docs/driver-guide.md, "Installing it on a packaged system".
    say "an out-of-tree module in the packaged daemon"
    install -m 0644 "$RVIRT_PKG_EXTRA_MODULE" "$root/usr/lib/rvirt/modules/"
    inside "systemctl restart rvirtd.service"
    expect "out-of-tree module" "virsh -c hello:/// list --all" "hello-vm +running"
    inside "rm /usr/lib/rvirt/modules/$(basename "$RVIRT_PKG_EXTRA_MODULE")"
fi

say "purge"
expect "purge" "dpkg --purge rvirt-libvirt-compat rvirt-driver-test rvirt-daemon" "Purging configuration files for rvirt-daemon"
after=$(snapshot)
left=$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") || true)
[ -z "$left" ] || fail "purge left files outside the state directories: $left"

say "rvirt-config-network: the default network"
expect "install" "dpkg -i $(deb rvirt-daemon rvirt-driver-network rvirt-driver-qemu rvirt-libvirt-compat rvirt-config-network)" "Setting up rvirt-config-network"
expect "default network active" "virsh -c qemu:///system net-list --all" "default +active +yes"
expect "bridge up in the container" "ip -o link show virbr0" "virbr0"
expect "dnsmasq serves it" "pgrep -a dnsmasq" "default.conf"
if ls "$root"/debs/*.rpm >/dev/null 2>&1; then
    say "the RPMs"
    expect "purge the .debs" "dpkg --purge rvirt-config-network rvirt-libvirt-compat rvirt-driver-qemu rvirt-driver-network rvirt-daemon" "Purging configuration files for rvirt-daemon"
    inside "ip link del virbr0 2>/dev/null; pkill dnsmasq; rm -rf /var/lib/rvirt; true"
    before=$(snapshot)
    rpm() { printf '/debs/%s-0*.rpm ' "$@"; }
    expect "rpm -i" "rpm -i --nodeps $(rpm rvirt-daemon rvirt-driver-test rvirt-libvirt-compat) && echo installed" "installed"
    for u in rvirtd.socket rvirtd-ro.socket libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket rvirtd.service; do
        expect "$u after rpm -i" "systemctl is-active $u" "^active$"
    done
    expect "virsh through the RPMs' sockets" "virsh list --all" "test +running"
    refuse "no qemu driver (RPM)" "virsh -c qemu:///system list" "no connection driver available"
    expect "a driver's file trigger" "rpm -i --nodeps $(rpm rvirt-driver-qemu) && sleep 1 && virsh -c qemu:///system list --all" "Id +Name"
    expect "rpm -e" "rpm -e rvirt-driver-qemu rvirt-libvirt-compat rvirt-driver-test rvirt-daemon && echo erased" "erased"
    expect "units gone" "systemctl is-active rvirtd.socket libvirtd.socket || true" "^inactive"
    left=$(diff <(printf '%s\n' "$before") <(snapshot) || true)
    [ -z "$left" ] || fail "rpm -e left files outside the state directories: $left"
fi
say "all checks passed"
