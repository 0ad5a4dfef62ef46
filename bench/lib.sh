# Shared by bench/run.sh, storage.sh and network.sh (sourced; they set `work`, the work
# directory, and `pids`, the daemons to stop on exit): the libvirtd turn, each daemon's
# private configuration, starting and stopping them.

say() { printf '\n== %s\n' "$*" >&2; }

# libvirtd_turn: only one root libvirtd can run at a time, so take the turn the test
# suite's libvirtd fixture takes (tests/src/lib.rs) for the whole run; a section run
# from run.sh inherits run.sh's turn on fd 9.
libvirtd_turn() {
    if ! { true >&9; } 2>/dev/null; then
        exec 9>"${TMPDIR:-/tmp}/rvirt-tests-libvirtd.lock"
    fi
    flock 9
}

# write_configs MODULES [LIBVIRTD_LINES]: $work/lv/libvirtd.conf (private sockets, no
# auth, then LIBVIRTD_LINES) and $work/rv/rvirtd.toml (private sockets and state, every
# module in MODULES); sets lv_sock and rv_sock.
write_configs() {
    mkdir -p "$work/lv/run" "$work/rv/run" "$work/rv/state"
    cat > "$work/lv/libvirtd.conf" <<CONF
unix_sock_dir = "$work/lv/run"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
${2:-}
CONF
    cat > "$work/rv/rvirtd.toml" <<CONF
[listen]
socket_dir = "$work/rv/run"

[modules]
dir = "$1"

[state]
dir = "$work/rv/state"

[logging]
filter = "warn"
output = "$work/rv/rvirtd.log"
CONF
    lv_sock="$work/lv/run/libvirt-sock"
    rv_sock="$work/rv/run/rvirt-sock"
}

# start_daemon NAME SOCK URI CMD...: starts CMD (output in $work/NAME.out, libvirt's log
# in $work/NAME.log) and waits until virsh on URI answers; prints its pid.
start_daemon() {
    local name=$1 sock=$2 uri=$3; shift 3
    rm -f "$sock"
    LIBVIRT_LOG_OUTPUTS="3:file:$work/$name.log" "$@" </dev/null >"$work/$name.out" 2>&1 &
    local pid=$!
    for _ in $(seq 600); do
        [ -S "$sock" ] && /usr/bin/virsh -q -c "$uri" hostname >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || { echo "bench: $name exited; see $work/$name.out" >&2; cat "$work/$name.out" >&2; exit 1; }
        sleep 0.05
    done
    echo "$pid"
}

# stop_daemon PID: SIGTERM, then SIGKILL after 15 s.
stop_daemon() {
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
}

# stop_all: every daemon in `pids` (SIGTERM to all, then SIGKILL after 10 s each).
stop_all() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
}

# remove_work: the work directory, unless BENCH_KEEP=1.
remove_work() {
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: work directory kept: $work" >&2; else rm -rf "$work"; fi
}
