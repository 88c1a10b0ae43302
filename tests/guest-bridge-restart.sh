#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# chanbridge restarts in one guest: numbered messages flow both ways over
# one connection while the importer, then the server, is killed with SIGKILL
# mid-stream and started again; every message arrives exactly once, in
# order.  Prints TAP.
#
#   tools/vm/run --kernel KVER -- tests/guest-bridge-restart.sh
set -uo pipefail
# shellcheck source=../userspace/chanbridge/tests/lib.sh
. "$(dirname "$0")/../userspace/chanbridge/tests/lib.sh"
bridge_init
NUM=$root/userspace/chanbridge/tests/numbered.py
N=${BRIDGE_N:-2000}
lines() { wc -l <"$1" 2>/dev/null || echo 0; }

"$CC" create rs --capacity 8	# the server's source: the importer receives
"$CC" create rd --capacity 8	# the server's destination: the importer sends
start_serve() {
	serve $W/serve.log --listen 127.0.0.1:7090 --export rs:recv --export rd:send \
		--status-socket $W/serve.sock
	srv=$last_pid
}
start_import() {
	import $W/imp.log l-rs 127.0.0.1:7090 rs --recv --as l-rs --window 8 \
		--channel rd:send:l-rd --status-socket $W/imp.sock
	imp=$last_pid
	wait_for 30 test -e /dev/chan/l-rd
}
start_serve
start_import

timeout 600 $PY "$NUM" send /dev/chan/rs 1 "$N" &
s1=$!
timeout 600 $PY "$NUM" recv /dev/chan/l-rs "$N" 120 >$W/rs.out 2>$W/rs.err &
r1=$!
timeout 600 $PY "$NUM" send /dev/chan/l-rd 1 "$N" &
s2=$!
timeout 600 $PY "$NUM" recv /dev/chan/rd "$N" 120 >$W/rd.out 2>$W/rd.err &
r2=$!

wait_for 120 sh -c "[ \$(wc -l <$W/rs.out) -ge $((N / 4)) ] && [ \$(wc -l <$W/rd.out) -ge $((N / 4)) ]"
kill -9 "$imp"
wait "$imp" 2>/dev/null
got1=$(lines $W/rs.out) got2=$(lines $W/rd.out)
echo "# importer killed after $got1 and $got2 messages"
start_import
check "the restarted importer resumes a stream it had received" grep -q "resuming after seq [1-9]" $W/imp.log

wait_for 120 sh -c "[ \$(wc -l <$W/rs.out) -ge $((N / 2)) ] && [ \$(wc -l <$W/rd.out) -ge $((N / 2)) ]"
kill -9 "$srv"
wait "$srv" 2>/dev/null
echo "# server killed after $(lines $W/rs.out) and $(lines $W/rd.out) messages"
sleep 1
start_serve
check "the restarted server resumes the importer's stream" grep -q "resumes after seq [1-9]" $W/serve.log

wait $s1; wait $s2
wait $r1; rc1=$?
wait $r2; rc2=$?
check "server -> importer: $N messages exactly once, in order, across both kills" \
	$PY "$NUM" check $W/rs.out 1 "$N"
diag <$W/rs.err
check "importer -> server: $N messages exactly once, in order, across both kills" \
	$PY "$NUM" check $W/rd.out 1 "$N"
diag <$W/rd.err
same "both receivers finished" "0 0" "$rc1 $rc2"
check "the importer reconnected with backoff" grep -q "reconnecting in" $W/imp.log
check "the importer still runs" alive "$imp"
"$CB" status --status-socket $W/imp.sock >$W/st 2>&1
check "its status shows retransmissions or duplicates dropped after the kills" \
	grep -Eq "retransmitted [1-9]|duplicates [1-9]" $W/st
diag <$W/st
for f in $W/*.log; do echo "--- $f"; head -n 12 "$f"; echo ...; tail -n 12 "$f"; done | diag
bridge_done
