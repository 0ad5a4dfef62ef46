#!/usr/bin/env bash
# Builds everything and runs rvirtd in the foreground with a development configuration:
# sockets and state under .dev/ in the checkout, every built driver module loaded.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --workspace
dev="$root/.dev"
mkdir -p "$dev/run" "$dev/state"
cat > "$dev/rvirtd.toml" <<TOML
[listen]
socket_dir = "$dev/run"
socket_mode = "0600"
socket_ro_mode = "0666"

[modules]
dir = "$root/target/release"

[logging]
filter = "info"
output = "stderr"

[state]
dir = "$dev/state"
TOML
sock="$dev/run/rvirt-sock"
cat <<MSG

rvirtd development instance
  config:   $dev/rvirtd.toml
  sockets:  $dev/run/rvirt-sock (read-write), $dev/run/rvirt-sock-ro (read-only)
  modules:  $root/target/release/librvirt_driver_*.so

Connect with:
  virsh -c 'test+unix:///default?socket=$sock' list --all
  virsh -c 'qemu+unix:///system?socket=$sock' list --all      (real QEMU/KVM guests)
  $root/target/release/rvirsh -c 'test+unix:///default?socket=$sock' list --all
  /usr/bin/python3 -c "import libvirt; print(libvirt.open('test+unix:///default?socket=$sock').listAllDomains())"

Stop with Ctrl-C.
MSG
exec "$root/target/release/rvirtd" --config "$dev/rvirtd.toml"
