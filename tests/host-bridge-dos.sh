#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Denial of service against chanbridge serve, on the host (issue 13): serve
# needs no kchan until an importer OPENs a channel, so the handshake is all
# that is tried here.  The "legitimate importer" has the key, completes HELLO
# and AUTH ("ready" in its log), then has its OPEN refused (no /dev/chan on
# the host) and exits.  Prints TAP.
#   - 80 idle sockets from one address, reconnecting whenever closed: a good
#     importer still gets through, and the log stays short;
#   - the same from 20 addresses, 4 each (past --max-handshakes 16);
#   - accept4() failing with EMFILE (ulimit -n 12) while 30 sockets wait:
#     the server does not spin, logs little, and serves again afterwards.
#
#   tests/host-bridge-dos.sh
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
CB=${CHANBRIDGE:-$root/build/userspace/chanbridge/chanbridge}
FLOOD=$root/userspace/chanbridge/tests/flood.py
# shellcheck source=tests/lib/ktap.sh
. "$root/tests/lib/ktap.sh"

ktap_print_header
if [ ! -x "$CB" ]; then ktap_skip_all "no $CB (make userspace)"; exit 0; fi
if ! command -v python3 >/dev/null; then ktap_skip_all "no python3"; exit 0; fi
W=$(mktemp -d /tmp/cbdos.XXXXXX)
srv=
cleanup() {
	[ -n "$srv" ] && kill -9 "$srv" 2>/dev/null
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
"$CB" genkey "$W/psk" >/dev/null

# serve PORT [ULIMIT]: a serve of the channel dos-none in the background.
serve() {
	(
		[ -n "${2:-}" ] && ulimit -n "$2"
		exec "$CB" serve --listen 127.0.0.1:"$1" --psk-file "$W/psk" --export dos-none \
			--status-socket "$W/serve$1.sock" --io epoll 2>"$W/serve$1.log"
	) &
	srv=$!
	for _ in $(seq 50); do
		grep -q serving "$W/serve$1.log" 2>/dev/null && return 0
		sleep 0.1
	done
	diag <"$W/serve$1.log"
}
stop() { kill -TERM "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; srv=; }

# legit PORT TRIES: how many of TRIES good importers, one after the other and
# each given 3 s, completed the handshake.
k=0
legit() {
	local got=0 i
	for i in $(seq "$2"); do
		k=$((k + 1))
		timeout 3 "$CB" import 127.0.0.1:"$1" dos-none --recv --as "dos-l$k" \
			--psk-file "$W/psk" --status-socket "$W/imp$k.sock" --io epoll \
			2>"$W/imp$k.log"
		grep -q ": ready (protocol" "$W/imp$k.log" && got=$((got + 1))
	done
	echo "$got"
}
lines() { wc -l <"$1"; }
# CPU ticks (utime + stime) of a process so far.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# flood PORT NADDRS: 80 reconnecting idle sockets for 12 s, 3 good importers
# in the middle (done before the flood is); the good importers' count, and
# the serve's log lines.
flood() {
	local p=$1 f got l0 l1
	serve "$p"
	l0=$(lines "$W/serve$p.log")
	python3 "$FLOOD" "$p" 80 "$2" 12 reconnect >"$W/flood$p.out" &
	f=$!
	sleep 1.5
	got=$(legit "$p" 3)
	wait "$f"
	l1=$(lines "$W/serve$p.log")
	echo "# $(cat "$W/flood$p.out"); serve log: $((l1 - l0)) lines"
	same "80 idle sockets from $2 address(es): 3 of 3 good importers get through" 3 "$got"
	check "... and the serve log has fewer than 200 lines ($((l1 - l0)))" \
		test $((l1 - l0)) -lt 200
	check "... saying what was suppressed" grep -q "similar messages suppressed" \
		"$W/serve$p.log"
	stop
}
flood 7341 1
flood 7342 20

# --- accept4() out of file descriptors ------------------------------------------------------
p=7343
serve $p 12
python3 "$FLOOD" $p 30 10 6 hold >"$W/hold.out" &
f=$!
sleep 1
t0=$(ticks "$srv") l0=$(lines "$W/serve$p.log")
sleep 3
t1=$(ticks "$srv") l1=$(lines "$W/serve$p.log")
echo "# EMFILE: $((t1 - t0)) ticks of CPU in 3 s, $((l1 - l0)) log lines"
check "out of fds: accept4 failed with EMFILE" grep -q "accept: Too many open files" \
	"$W/serve$p.log"
check "... the server used under 10% of a CPU over 3 s ($((t1 - t0)) ticks)" \
	test $((t1 - t0)) -lt 30
check "... and logged fewer than 20 lines ($((l1 - l0)))" test $((l1 - l0)) -lt 20
wait "$f"
same "... and once the sockets are gone, a good importer gets through" 1 "$(legit $p 1)"
stop
echo "1..$n"
[ "$failed" = 0 ]
