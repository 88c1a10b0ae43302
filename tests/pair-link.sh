#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The two-guest plumbing that the chanbridge tests stand on, without the
# bridge: the link carries 1 MB over TCP from B to A intact, and a TCP
# connection survives the link being cut for a few seconds mid-transfer.
#
#   tools/vm/pair --kernel KVER -- tests/pair-link.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/lib/pair.sh"
[ "$role" != precheck ] || exit 0	# needs only socat and python3
pair_guest_checks
echo "TAP version 13"

# The same megabyte on both sides, made rather than copied.
seq 1 150000 >/tmp/data
want=$(sha256sum </tmp/data)

# 1. 1 MB in one go.
on_a bg_start socat -u TCP6-LISTEN:7100,reuseaddr OPEN:/tmp/got1,creat,trunc
on_a wait_for 10 listening 7100
meet one >/dev/null
on_b check "B sends 1 MB to A over TCP" \
	timeout 60 socat -u OPEN:/tmp/data "TCP6:[$PEER%$IFACE]:7100"
if [ "$role" = a ]; then
	wait_for 60 test "$(stat -c %s /tmp/got1 2>/dev/null)" = "$(stat -c %s /tmp/data)"
	same "A receives the megabyte intact" "$want" "$(sha256sum </tmp/got1)"
fi

# 2. The same, paced over about 3 s, with B's cable pulled for 4 s after the
# first quarter: the sender cuts the link itself, so the connection is
# certainly open and data in flight when it goes.
on_a bg_start socat -u TCP6-LISTEN:7101,reuseaddr OPEN:/tmp/got2,creat,trunc
on_a wait_for 10 listening 7101
meet two >/dev/null
if [ "$role" = b ]; then
	# shellcheck disable=SC2016 # python, not shell
	check "B's paced transfer survives a 4 s link cut" "$PY" -c '
import socket, subprocess, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
data = open(sys.argv[3], "rb").read()
for i in range(0, len(data), 32768):
    if i == 8 * 32768:
        subprocess.run(["bash", "-c", sys.argv[4]], check=True)
    s.sendall(data[i:i + 32768])
    time.sleep(0.1)
s.close()' "$PEER%$IFACE" 7101 /tmp/data ". $lib/pair.sh; link_cut 4"
fi
if [ "$role" = a ]; then
	wait_for 90 test "$(stat -c %s /tmp/got2 2>/dev/null)" = "$(stat -c %s /tmp/data)"
	same "A receives the paced megabyte intact" "$want" "$(sha256sum </tmp/got2)"
fi
meet end >/dev/null
finish
