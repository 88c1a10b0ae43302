#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# One side of the bridge benchmark; tools/bench/bridge.sh runs it in two
# guests through tools/vm/pair (A receives, B sends).  For each message size:
#
#   local    B's sender into a channel, B's reader out of it: no network; the
#            ceiling of the Python sender and reader themselves
#   socat    B's sender into a local channel, socat relaying each read of it
#            into TCP, socat on A writing the byte stream into a pipe that
#            A's reader drains: the raw TCP relay, with no framing, acks or
#            flow control of its own
#   bridge   B's sender into an imported --send channel, chanbridge to A's
#            exported channel, A's reader (the messages arrive whole and are
#            checked: each number once, in order)
#
# Every figure is timed by the receiver, from its first message (byte) to its
# last.  Results go to stdout as "@@bench {json}" lines.
#
# Arguments: COUNT64 COUNT4K (messages per run at 64 B and at 4 KiB).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/lib/pair.sh"
pair_precheck
pair_guest_checks
make_psk
C=$CHANCTL
SEQ=$lib/bridge-seq.py
counts=([64]=${1:-20000} [4096]=${2:-5000})

# A reader of a byte stream: count bytes, time first to last.
# shellcheck disable=SC2016 # python
stream_reader() {
	"$PY" -c '
import json, os, sys, time
want, size = int(sys.argv[1]), int(sys.argv[2])
open(sys.argv[3], "w").close()
got, t0, t1 = 0, None, None
while True:
    b = os.read(0, 1 << 20)
    if not b:
        break
    t1 = time.monotonic()
    t0 = t0 or t1
    got += len(b)
print(json.dumps({"count": got // size, "expected": want, "size": size,
                  "exact": got == want * size, "seconds": round((t1 or 0) - (t0 or 0), 6)}))' "$@"
}
result() {	# result WHAT JSON
	echo "@@bench {\"what\": \"$1\", \"result\": $2}"
}

for size in 64 4096; do
	n=${counts[$size]}
	if [ "$role" = b ]; then
		# local
		"$C" create local --capacity 128
		rm -f /tmp/ready
		"$PY" "$SEQ" recv /dev/chan/local --count "$n" --size "$size" --json \
			--ready /tmp/ready >/tmp/local.json &
		r=$!
		wait_for 60 test -e /tmp/ready
		"$PY" "$SEQ" send /dev/chan/local --count "$n" --size "$size"
		wait "$r"
		result local "$(cat /tmp/local.json)"
		"$C" destroy local

		# socat
		meet "socat-$size" >/dev/null
		"$C" create raw --capacity 128
		socat -u OPEN:/dev/chan/raw,rdonly "TCP6:[$PEER%$IFACE]:7200" &
		relay=$!
		"$PY" "$SEQ" send /dev/chan/raw --count "$n" --size "$size"
		"$C" close raw
		wait "$relay"
		"$C" destroy raw
		meet "socat-$size-done" >/dev/null

		# bridge
		meet "bridge-$size" >/dev/null
		import imp-$size "bench$size" --send
		wait_for 60 test -e "/dev/chan/bench$size" || log "no /dev/chan/bench$size"
		"$PY" "$SEQ" send "/dev/chan/bench$size" --count "$n" --size "$size"
		"$C" close "bench$size"
		# shellcheck disable=SC2016 # eval expands it
		wait_for 300 eval '! kill -0 "$bridge_pid" 2>/dev/null'
		meet "bridge-$size-done" >/dev/null
		"$C" destroy "bench$size" 2>/dev/null
	else
		rm -f /tmp/ready
		socat -u TCP6-LISTEN:7200,reuseaddr STDOUT 2>/dev/null |
			stream_reader "$n" "$size" /tmp/ready >/tmp/socat.json &
		r=$!
		wait_for 30 listening 7200
		wait_for 60 test -e /tmp/ready
		meet "socat-$size" >/dev/null
		wait "$r"
		result socat "$(cat /tmp/socat.json)"
		meet "socat-$size-done" >/dev/null

		"$C" create "bench$size" --capacity 128 --msg-max 4096
		serve "serve-$size" --export "bench$size:send"
		wait_for 30 listening "$PORT"
		rm -f /tmp/ready
		"$PY" "$SEQ" recv "/dev/chan/bench$size" --count "$n" --size "$size" --eof 120 --json \
			--ready /tmp/ready >/tmp/bridge.json &
		r=$!
		wait_for 60 test -e /tmp/ready
		meet "bridge-$size" >/dev/null
		wait "$r"
		result bridge "$(cat /tmp/bridge.json)"
		meet "bridge-$size-done" >/dev/null
		kill "$bridge_pid"; wait "$bridge_pid" 2>/dev/null
		"$C" destroy "bench$size"
	fi
done
echo "ok 1 - benchmark ran"
