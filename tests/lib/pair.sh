# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # the sourcing tests read what it sets
# Shared by tests/pair-*.sh, which tools/vm/pair runs in two guests at once
# (KCHAN_PAIR_ROLE a or b), and once on the host first (precheck).
#
#   root=...; . "$root/tests/lib/pair.sh"
#   pair_require_bridge          # precheck: SKIP everything without the binary
#   ok/not_ok/skip/check/same    # TAP lines, numbered per side (merged later)
#   meet NAME [VALUE]            # meet the peer; prints the peer's VALUE
#   on_a CMD... / on_b CMD...    # run only on that side
#
#   make_psk; serve LOG ARGS...; import LOG ARGS...   the bridge, in the background
#
# Environment: CHANBRIDGE (default build/userspace/chanbridge/chanbridge),
# CHANCTL (default build/userspace/chanctl).

lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=${root:-$(cd "$lib/../.." && pwd)}
role=${KCHAN_PAIR_ROLE:-}
PY=/usr/bin/python3
CHANCTL=${CHANCTL:-$root/build/userspace/chanctl}
if [ -z "${CHANBRIDGE:-}" ]; then
	for CHANBRIDGE in "$root/build/userspace/chanbridge/chanbridge" \
		"$root/build/userspace/chanbridge" "$root/build/chanbridge"; do
		[ -f "$CHANBRIDGE" ] && [ -x "$CHANBRIDGE" ] && break
	done
fi
PORT=7070		# the bridge's port, inside the guests' private link
SELF=${KCHAN_PAIR_SELF:-} PEER=${KCHAN_PAIR_PEER:-} IFACE=${KCHAN_PAIR_IF:-eth0}
PEER_ADDR="[$PEER%$IFACE]:$PORT"	# the server, as B names it

# TAP: ok/not_ok/skip/diag/check/same, counters n and failed.
# shellcheck source=tests/lib/ktap.sh
. "$lib/ktap.sh"
# chan_loaded, chan_attr NAME KEY (a channel's counters, from fdinfo).
# shellcheck source=tests/lib/chan.sh
. "$lib/chan.sh"
log() { echo "$(date +%T.%N | cut -c1-12) $*" >&2; }
on_a() { [ "$role" != a ] || "$@"; }
on_b() { [ "$role" != b ] || "$@"; }

# meet NAME [VALUE]: both sides meet at NAME; prints the peer's VALUE.  A side
# that cannot meet its peer has nothing left to test: it says so and stops.
meet() {
	local v rc=0
	v=$("$PY" "$lib/pair-sync.py" "$@" --timeout "${SYNC_TIMEOUT:-300}") || rc=$?
	if [ $rc != 0 ]; then
		not_ok "met the other guest at '$1' (pair-sync exit $rc)"
		finish
	fi
	printf '%s\n' "$v"
}

# The host pass (tools/vm/pair runs every test once with role precheck): say
# SKIP without booting two guests when a prerequisite is missing.
pair_precheck() {
	[ "$role" = precheck ] || return 0
	if [ ! -x "$CHANBRIDGE" ]; then
		echo "ok 1 - ${0##*/} # SKIP no chanbridge binary (make bridge; or set CHANBRIDGE)"
	elif [ ! -x "$CHANCTL" ]; then
		echo "ok 1 - ${0##*/} # SKIP no $CHANCTL (make userspace)"
	fi
	exit 0
}

pair_guest_checks() {
	if [ "$role" != a ] && [ "$role" != b ]; then
		echo "1..0 # SKIP run me with tools/vm/pair --kernel KVER -- $0"
		exit 0
	fi
	if ! chan_loaded; then
		echo "1..0 # SKIP kchan is not loaded"
		exit 0
	fi
	cd /tmp || exit 1
}

# Background processes started with bg_start are killed on exit, so that the
# guest's rmmod finds no open channel.
bg_pids=()
bg_start() { "$@" & bg_pids+=($!); }
finish() {
	local p
	for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	echo "1..$n"
	[ "$failed" = 0 ] && exit 0
	exit 1
}

# wait_for SECS CMD...: poll CMD every 0.2 s until it succeeds.
wait_for() {
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}
# The bridge answers on the peer's port (B waits for A's server this way).
port_open() { "$PY" -c 'import socket,sys
s=socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)' "$1" "$2" 2>/dev/null; }

# listening PORT: something here listens on TCP PORT.
listening() { ss -Htln "sport = :$1" | grep -q .; }

# link_cut SECS: pull this guest's cable for SECS seconds.  Linux drops
# link-local addresses with the link (keep_addr_on_down spares only global
# ones), so put ours back: the cut is of the cable, not of the configuration.
link_cut() {
	log "link down for $1 s"
	ip link set "$IFACE" down
	sleep "$1"
	ip link set "$IFACE" up
	ip -6 addr replace "$SELF/64" dev "$IFACE" nodad
	log "link up"
}

# The same key file on both guests (a fixed test key, not a secret), in the
# format chanbridge genkey writes: "IDENTITY HEXKEY".
make_psk() {
	# Kernel TLS for sending where the guest has it (the AEAD modules do not load by themselves).
	modprobe -a tls gcm ghash_generic 2>/dev/null
	(umask 077 && printf 'kchan-pair %s\n' \
		"$(printf 'kchan two-guest test key, not a secret' | sha256sum | cut -c1-64)" >/tmp/psk)
}

# serve LOG ARGS... / import LOG ARGS...: start a bridge in the background,
# its log in /tmp/LOG.log; its pid is in $bridge_pid.  A serve listens on
# [fe80::1%eth0]:7070 with the shared key; an import dials it.
bridge_pid=
serve() {
	local l=$1; shift
	bg_start "$CHANBRIDGE" serve --listen "[$SELF%$IFACE]:$PORT" --psk-file /tmp/psk \
		--status-socket "/run/$l.sock" "$@" >>"/tmp/$l.log" 2>&1
	bridge_pid=$!
}
import() {
	local l=$1; shift
	bg_start "$CHANBRIDGE" import "$PEER_ADDR" --psk-file /tmp/psk \
		--status-socket "/run/$l.sock" "$@" >>"/tmp/$l.log" 2>&1
	bridge_pid=$!
}
# show_log LOG: the end of a bridge's log, as TAP diagnostics.
show_log() { { echo "--- /tmp/$1.log:"; tail -n "${2:-30}" "/tmp/$1.log"; } 2>&1 | diag; }
