#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Unbuffered stays unbuffered (issue 4): A's channel "rdv" has capacity 0 and
# B imports it with --send --capacity 0, so a write on B completes only when
# a receiver waits on A.
#
#   1. Nobody receives on A: B's non-blocking writes fail with EAGAIN (tried
#      for 3 s), and a blocking write on B is still blocked 5 s later.
#   2. A reads: the blocked write on B completes, and A gets its bytes.
#   3. Nobody receives again: B's non-blocking writes fail with EAGAIN, and
#      nothing is left in flight for a later reader on A.
#   4. A's reader waits: one of B's non-blocking writes succeeds (retried
#      for up to 60 s while the bridge grants the credit), and A gets it.
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

# nb_write DEV MSG SECS MODE: non-blocking writes of MSG to DEV for SECS
# seconds.  MODE never: print "EAGAIN" if every try failed with EAGAIN, else
# what happened; MODE once: stop at the first success and print "sent".
# shellcheck disable=SC2016 # python
nb_write() {
	timeout $(($3 + 30)) "$PY" -c '
import errno, os, sys, time
dev, msg, secs, mode = sys.argv[1], sys.argv[2].encode(), float(sys.argv[3]), sys.argv[4]
fd = os.open(dev, os.O_WRONLY | os.O_NONBLOCK)
end = time.monotonic() + secs
tries = 0
while time.monotonic() < end:
    tries += 1
    try:
        os.write(fd, msg)
        print("sent" if mode == "once" else f"try {tries} was accepted")
        sys.exit(0)
    except BlockingIOError:
        time.sleep(0.05)
print("EAGAIN" if mode == "never" else f"EAGAIN for {secs} s ({tries} tries)")' "$@" 2>&1
}
# recv_within DEV SECS: one message from DEV if one comes within SECS, else "nothing".
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
# reader_waits DEV: poll reports DEV writable, i.e. a reader is blocked on it.
# shellcheck disable=SC2016 # python
reader_waits() {
	"$PY" -c '
import os, select, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
p = select.poll()
p.register(fd, select.POLLOUT)
sys.exit(0 if p.poll(30000) else 1)' "$1"
}

if [ "$role" = a ]; then
	"$C" create rdv --capacity 0
	serve serve --export rdv:send
	wait_for 30 listening "$PORT" || not_ok "chanbridge serve listens"
	sync up >/dev/null
	sync b-blocked >/dev/null
	same "2: A's receive gets the blocked write's message" one \
		"$(timeout 60 dd if=/dev/chan/rdv bs=64k count=1 status=none)"
	sync a-read >/dev/null
	sync b-eagain >/dev/null
	same "3: nothing was left in flight for a later reader on A" nothing \
		"$(recv_within /dev/chan/rdv 3)"
	timeout 120 dd if=/dev/chan/rdv of=/tmp/got4 bs=64k count=1 status=none &
	reader=$!
	check "4: A's reader is blocked on rdv (poll says writable)" reader_waits /dev/chan/rdv
	sync a-waiting >/dev/null
	wait "$reader"
	same "4: A's waiting reader gets B's non-blocking write" four "$(cat /tmp/got4)"
	sync done >/dev/null
	[ "$nfailed" = 0 ] || show_log serve
	kill "$bridge_pid" 2>/dev/null
	finish
fi

# --- B ------------------------------------------------------------------------
sync up >/dev/null
import imp rdv --send --capacity 0
if ! wait_for 60 test -e /dev/chan/rdv; then
	not_ok "the import creates /dev/chan/rdv"; show_log imp
fi
# Let the connection settle: whatever credit the bridge wrongly grants, it
# grants by now.
sleep 3
same "1: no receiver on A: B's non-blocking writes fail with EAGAIN" EAGAIN \
	"$(nb_write /dev/chan/rdv early 3 never)"
timeout 120 sh -c 'printf one >/dev/chan/rdv' &
writer=$!
sleep 5
check "1: a blocking write on B is still blocked 5 s later" kill -0 "$writer"
sync b-blocked >/dev/null
sync a-read >/dev/null
rc=0; wait "$writer" || rc=$?
same "2: once A received, B's blocked write completes (exit 0)" 0 "$rc"
same "3: no receiver again: B's non-blocking writes fail with EAGAIN" EAGAIN \
	"$(nb_write /dev/chan/rdv late 3 never)"
sync b-eagain >/dev/null
sync a-waiting >/dev/null
same "4: A's reader waits: a non-blocking write on B goes through" sent \
	"$(nb_write /dev/chan/rdv four 60 once)"
sync done >/dev/null
[ "$nfailed" = 0 ] || show_log imp
finish
