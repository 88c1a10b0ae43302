#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# netchan's echo example across two hosts (issue 4, "What a user gets"):
# host A exports echo-in and echo-out on a non-loopback address with a
# pre-shared key and echoes every message of echo-out into echo-in; host B
# imports echo-out --send and echo-in --recv and talks to A from the shell.
#
#   tools/vm/pair --kernel KVER -- tests/pair-echo.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/lib/pair.sh"
pair_precheck
pair_guest_checks
echo "TAP version 13"
make_psk
C=$CHANCTL

if [ "$role" = a ]; then
	# A refuses a non-loopback listener without a key: exit 2, said in the log.
	rc=0
	timeout 20 "$CHANBRIDGE" serve --listen "[::]:7071" --export x >/tmp/nokey.log 2>&1 || rc=$?
	same "serve on [::] without --psk-file is refused (exit 2)" 2 "$rc"
	check "... and says why" grep -q 'psk' /tmp/nokey.log

	"$C" create echo-in --capacity 8 && "$C" create echo-out --capacity 8
	serve serve --export echo-in:recv --export echo-out:send
	# The echo: each message of echo-out back into echo-in, bytes unchanged.
	# shellcheck disable=SC2016 # python
	bg_start "$PY" -c '
import os
i, o = os.open("/dev/chan/echo-out", os.O_RDONLY), os.open("/dev/chan/echo-in", os.O_WRONLY)
while True:
    m = os.read(i, 1 << 20)
    if not m:
        break
    os.write(o, m)
os.close(o)'
	wait_for 30 listening "$PORT" || { not_ok "chanbridge serve listens"; show_log serve; }
	meet up >/dev/null
	meet end >/dev/null
	kill "$bridge_pid" 2>/dev/null
	finish
fi

# --- B ------------------------------------------------------------------------
meet up >/dev/null
import imp-out echo-out --send
import imp-in echo-in --recv
if wait_for 60 test -e /dev/chan/echo-out -a -e /dev/chan/echo-in; then
	ok "the imports create /dev/chan/echo-out and /dev/chan/echo-in"
else
	not_ok "the imports create /dev/chan/echo-out and /dev/chan/echo-in"
	show_log imp-out; show_log imp-in
	meet end >/dev/null; finish
fi

# The example itself, from the shell: one write, one read of one message.
echo hello >/dev/chan/echo-out
same "echo hello > /dev/chan/echo-out comes back on /dev/chan/echo-in" hello \
	"$(timeout 60 dd if=/dev/chan/echo-in bs=64k count=1 status=none)"

# More round trips, each exact: binary bytes, a byte, A's largest (4096).
# shellcheck disable=SC2016 # python
check "20 messages round trip byte for byte, in order (1 to 4096 bytes, binary)" \
	timeout 120 "$PY" -c '
import os, sys
o, i = os.open("/dev/chan/echo-out", os.O_WRONLY), os.open("/dev/chan/echo-in", os.O_RDONLY)
msgs = [bytes([n % 256]) * 1 for n in range(5)]
msgs += [bytes(range(256)) * 16, b"\0\n\r\xff", b"x" * 4095]
msgs += [b"round trip %d" % n for n in range(12)]
for m in msgs[:10]:                 # some in flight at once
    os.write(o, m)
got = [os.read(i, 1 << 20) for _ in range(10)]
for m in msgs[10:]:                 # and one at a time
    os.write(o, m)
    got.append(os.read(i, 1 << 20))
bad = [(k, len(a), len(b)) for k, (a, b) in enumerate(zip(msgs, got)) if a != b]
if len(msgs) != 20 or bad:
    print("mismatch (index, sent, got bytes):", bad)
    sys.exit(1)'

# A message longer than A's channel takes (4096) is refused here, at once.
err=$(timeout 20 "$PY" -c '
import os
o = os.open("/dev/chan/echo-out", os.O_WRONLY)
try:
    os.write(o, b"y" * 4097)
    print("accepted")
except OSError as e:
    print(os.strerror(e.errno))' 2>&1)
same "a 4097-byte message fails with EMSGSIZE on B (A's channel takes 4096)" \
	"$(python3 -c 'import os, errno; print(os.strerror(errno.EMSGSIZE))')" "$err"

[ "$failed" = 0 ] || { show_log imp-out; show_log imp-in; }
meet end >/dev/null
finish
