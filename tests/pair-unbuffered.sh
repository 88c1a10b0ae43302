#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Unbuffered stays unbuffered (issue 4, chanbridge(1) "Unbuffered stays
# unbuffered"): A's channel "rdv" has capacity 0 and B imports it with
# --send --capacity 0, so a write on B completes only when a receiver waits
# on A, and the message goes to that receiver.
#
#   1. Nobody receives on A: a write of "one" on B is still blocked 5 s later.
#   2. A reads: B's write completes, and A gets "one".
#   3. Nobody receives again: a write of "two" on B is still blocked 5 s
#      later, and nothing reaches A meanwhile (A polls for 3 s: a message
#      the bridge took without credit would show there).
#   4. A reads: B's write of "two" completes and A gets it.
#
# Non-blocking writes on B are not tested: the importer waits for a message
# with poll, and an unbuffered channel's poller is not a receiver (kchan(7)),
# so they fail with EAGAIN whatever the far side does.
#
#   tools/vm/pair --kernel KVER -- tests/pair-unbuffered.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/lib/pair.sh"
pair_precheck
pair_guest_checks
echo "TAP version 13"
make_psk
C=$CHANCTL

# recv_within DEV SECS: one message from DEV if one comes within SECS, else
# "nothing"; a poller, not a receiver, so it grants the bridge no credit.
# shellcheck disable=SC2016 # python
recv_within() {
	timeout $(($2 + 30)) "$PY" -c '
import os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
p = select.poll()
p.register(fd, select.POLLIN)
if p.poll(float(sys.argv[2]) * 1000):
    try:
        print(os.read(fd, 1 << 20).decode())
    except BlockingIOError:
        print("nothing")
else:
    print("nothing")' "$@" 2>&1
}
read_one() { timeout 60 dd if="$1" bs=64k count=1 status=none; }

if [ "$role" = a ]; then
	"$C" create rdv --capacity 0
	serve serve --export rdv:send
	wait_for 30 listening "$PORT" || not_ok "chanbridge serve listens"
	meet up >/dev/null
	meet one-blocked >/dev/null
	same "2: A's receive gets the blocked write's message" one "$(read_one /dev/chan/rdv)"
	meet one-read >/dev/null
	meet two-blocked >/dev/null
	same "3: nothing reaches A while nobody receives there" nothing \
		"$(recv_within /dev/chan/rdv 3)"
	same "4: A's receive gets B's blocked write" two "$(read_one /dev/chan/rdv)"
	meet two-read >/dev/null
	[ "$failed" = 0 ] || show_log serve
	kill "$bridge_pid" 2>/dev/null
	finish
fi

# --- B ------------------------------------------------------------------------
meet up >/dev/null
import imp rdv --send --capacity 0
if ! wait_for 60 test -e /dev/chan/rdv; then
	not_ok "the import creates /dev/chan/rdv"; show_log imp
fi
# blocked_write MSG: write MSG in the background ($writer); ok if it is
# still blocked 5 s later.
blocked_write() {
	timeout 300 sh -c "printf $1 >/dev/chan/rdv" &
	writer=$!
	sleep 5
	check "$2: nobody receives on A: B's write of \"$1\" is still blocked 5 s later" \
		kill -0 "$writer"
}
blocked_write one 1
meet one-blocked >/dev/null
meet one-read >/dev/null
rc=0; wait "$writer" || rc=$?
same "2: once A received, B's write completes (exit 0)" 0 "$rc"
blocked_write two 3
meet two-blocked >/dev/null
meet two-read >/dev/null
rc=0; wait "$writer" || rc=$?
same "4: once A's reader waited, B's write of \"two\" completes (exit 0)" 0 "$rc"
[ "$failed" = 0 ] || show_log imp
finish
