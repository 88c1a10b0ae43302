#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Close propagation (issue 4): closing the source channel closes the far
# channel, and only after every message sent before the close has arrived.
# Both directions:
#
#   B -> A  B imports A's "down" with --send; B writes 10 messages into its
#           /dev/chan/down and closes it.  A's channel holds only 2, and A
#           starts reading only after B's close: the close has to wait behind
#           8 messages still on their way.  A reads the 10, then end of file;
#           then a write into A's channel fails with EPIPE; B's importer
#           exits 0.
#   A -> B  B imports A's "up" with --recv; A writes 10 messages into "up"
#           and closes it.  B reads the 10, then end of file, and a write
#           into B's /dev/chan/up fails with EPIPE.
#
#   tools/vm/pair --kernel KVER -- tests/pair-close.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/lib/pair.sh"
pair_precheck
pair_guest_checks
echo "TAP version 13"
make_psk
C=$CHANCTL
EPIPE=$("$PY" -c 'import os, errno; print(os.strerror(errno.EPIPE))')

# read_all DEV: the messages of DEV, one per line, until end of file ("EOF").
# shellcheck disable=SC2016 # python
read_all() {
	timeout 120 "$PY" -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
while True:
    m = os.read(fd, 1 << 20)
    if not m:
        print("EOF")
        break
    print(m.decode())' "$1" 2>&1
}
# write_err DEV: what one more write into DEV says.
# shellcheck disable=SC2016 # python
write_err() {
	timeout 20 "$PY" -c '
import os, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_IGN)
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    os.write(fd, b"late")
    print("accepted")
except OSError as e:
    print(os.strerror(e.errno))' "$1" 2>&1
}
want=$(printf 'msg %d\n' $(seq 1 10); echo EOF)

if [ "$role" = a ]; then
	"$C" create down --capacity 2 && "$C" create up --capacity 16
	serve serve --export down:send --export up:recv
	wait_for 30 listening "$PORT" || not_ok "chanbridge serve listens"
	meet up >/dev/null

	# B -> A: read only once B has closed its side.
	meet b-closed >/dev/null
	same "B -> A: A reads the 10 messages, then end of file" "$want" "$(read_all /dev/chan/down)"
	same "B -> A: a write into A's closed channel fails with EPIPE" "$EPIPE" "$(write_err /dev/chan/down)"
	meet b-read >/dev/null

	# A -> B.
	meet b-imported >/dev/null
	for i in $(seq 1 10); do printf 'msg %d' "$i" >/dev/chan/up; done
	check "A -> B: A closes its source channel" "$C" close up
	meet a-closed >/dev/null
	meet end >/dev/null
	[ "$failed" = 0 ] || show_log serve
	kill "$bridge_pid" 2>/dev/null
	finish
fi

# --- B ------------------------------------------------------------------------
meet up >/dev/null
import imp-down down --send --capacity 16
imp=$bridge_pid
wait_for 60 test -e /dev/chan/down || { not_ok "the import creates /dev/chan/down"; show_log imp-down; }
for i in $(seq 1 10); do printf 'msg %d' "$i" >/dev/chan/down; done
check "B -> A: B closes its source channel after 10 messages" "$C" close down
meet b-closed >/dev/null
meet b-read >/dev/null
rc=0
for _ in $(seq 1 300); do kill -0 "$imp" 2>/dev/null || break; sleep 0.2; done
wait "$imp" || rc=$?
same "B -> A: B's importer exits 0 once the close is through" 0 "$rc"

import imp-up up --recv
wait_for 60 test -e /dev/chan/up || { not_ok "the import creates /dev/chan/up"; show_log imp-up; }
meet b-imported >/dev/null
meet a-closed >/dev/null
same "A -> B: B reads the 10 messages, then end of file" "$want" "$(read_all /dev/chan/up)"
same "A -> B: a write into B's closed channel fails with EPIPE" "$EPIPE" "$(write_err /dev/chan/up)"
[ "$failed" = 0 ] || { show_log imp-down; show_log imp-up; }
meet end >/dev/null
finish
