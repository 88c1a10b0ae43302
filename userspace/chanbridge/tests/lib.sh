# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Helpers of the single-guest chanbridge tests (tests/guest-bridge-*.sh):
# TAP, starting and stopping bridges in the background, waiting for them.
# Sourced; the test sets nothing before, and calls bridge_init first.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
CB=${CHANBRIDGE:-$root/build/userspace/chanbridge/chanbridge}
CC=${CHANCTL:-$root/build/userspace/chanctl}
PY=/usr/bin/python3
W=/tmp/cbtest
n=0 failed=0
pids=() chans=()

# TAP: ok/not_ok/skip/diag/check/same (one copy for all the shell tests).
# shellcheck source=tests/lib/ktap.sh
. "$root/tests/lib/ktap.sh"
# chan_loaded, chan_attr NAME KEY (a channel's counters, from fdinfo).
# shellcheck source=tests/lib/chan.sh
. "$root/tests/lib/chan.sh"

# Skip everything (exit 0) unless we can run: binary, kchan, root.
bridge_init() {
	echo "TAP version 13"
	if [ ! -x "$CB" ]; then echo "1..0 # SKIP no $CB (make userspace)"; exit 0; fi
	if ! chan_loaded; then echo "1..0 # SKIP kchan is not loaded (no /dev/chan/.control)"; exit 0; fi
	if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root"; exit 0; fi
	rm -rf "$W"
	mkdir -p "$W"
	ip link set lo up 2>/dev/null
	trap bridge_cleanup EXIT
}

# Leaves the guest as it found it: no process of ours, no channel of ours.
bridge_cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for p in "${chans[@]}"; do "$CC" destroy "$p" 2>/dev/null; done
}

# mkchan NAME ARGS...: chanctl create, destroyed at the end.
mkchan() { chans+=("$1"); "$CC" create "$@"; }

# wait_for SECONDS CMD...: poll CMD every 0.1 s (by the clock: under TCG
# starting CMD can take longer than the sleep).  CMD must exist: a missing
# one would fail every time, silently, until the time is up.
wait_for() {
	local end=$((SECONDS + $1)); shift
	if ! type -t "$1" >/dev/null; then
		echo "# wait_for: no command $1" >&2
		return 2
	fi
	while [ $SECONDS -lt $end ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	"$@" 2>/dev/null
}

# serve LOG ARGS...: start a serve in the background; $! in $last_pid.
serve() {
	local log=$1; shift
	"$CB" serve "$@" 2>"$log" &
	last_pid=$!
	pids+=("$last_pid")
	wait_for 30 grep -q "serving" "$log" || { echo "# serve did not start:"; diag <"$log"; }
}

# import LOG LOCAL ARGS...: start an import, wait for /dev/chan/LOCAL.
import() {
	local log=$1 local=$2; shift 2
	chans+=("$local")
	"$CB" import "$@" 2>"$log" &
	last_pid=$!
	pids+=("$last_pid")
	wait_for 30 test -e "/dev/chan/$local" || { echo "# import did not open $local:"; diag <"$log"; }
}

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
# A child that exited stays a zombie until waited for: that is not alive.
alive() { [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat"; }
gone() { ! alive "$1"; }

bridge_done() {
	echo "1..$n"
	[ "$failed" = 0 ]
}
