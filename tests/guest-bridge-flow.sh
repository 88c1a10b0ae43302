#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# chanbridge flow control in one guest, on the epoll backend (--io epoll):
# a full remote channel stalls only its own stream while another channel on
# the same connection keeps flowing; an unbuffered destination lets a remote
# write complete only while a receiver waits there.  Prints TAP.
#
#   tools/vm/run --kernel KVER -- tests/guest-bridge-flow.sh
set -uo pipefail
# shellcheck source=../userspace/chanbridge/tests/lib.sh
. "$(dirname "$0")/../userspace/chanbridge/tests/lib.sh"
bridge_init
NUM=$root/userspace/chanbridge/tests/numbered.py
len() { chan_attr "$1" length; }

mkchan bpa --capacity 2
mkchan bpb --capacity 2
mkchan ub --capacity 0
serve $W/serve.log --insecure-loopback --listen 127.0.0.1:7080 --io epoll --export bpa:send --export bpb:send \
	--export ub:send --status-socket $W/serve.sock
check "--io epoll: the log says epoll" grep -q "(no TLS, epoll," $W/serve.log
import $W/imp.log l-bpa 127.0.0.1:7080 bpa --send --as l-bpa --window 4 --io epoll \
	--channel bpb:send:l-bpb --status-socket $W/imp.sock
chans+=(l-bpb)
wait_for 30 test -e /dev/chan/l-bpb

# --- back-pressure --------------------------------------------------------------
# Nobody reads bpa: it fills (2), then the importer's credit and its local
# channel (4) fill, and the writer blocks.
timeout 120 $PY "$NUM" send /dev/chan/l-bpa 1 20 &
writer=$!
wait_for 30 chan_attr_is bpa length 2
same "the remote channel fills to its capacity" 2 "$(len bpa)"
timeout 120 $PY "$NUM" send /dev/chan/l-bpb 1 300 &
timeout 120 $PY "$NUM" recv /dev/chan/bpb 300 60 >$W/bpb.out 2>$W/bpb.err
check "300 messages flow on bpb while bpa is full, on the same connection" \
	$PY "$NUM" check $W/bpb.out 1 300
diag <$W/bpb.err
same "bpa is still exactly full" 2 "$(len bpa)"
check "bpa's writer is blocked, not failed" alive $writer
"$CB" status --status-socket $W/imp.sock >$W/st 2>&1
check "status shows the stalled stream with no credit left" grep -q "stream 1 bpa source open held [0-9]* pending 0 credit 0" $W/st
diag <$W/st
timeout 120 $PY "$NUM" recv /dev/chan/bpa 20 60 >$W/bpa.out 2>$W/bpa.err
check "once read, bpa delivers all 20, in order, once" $PY "$NUM" check $W/bpa.out 1 20
diag <$W/bpa.err
wait $writer
same "and its writer finished" 0 $?

# --- unbuffered destination ---------------------------------------------------------
import $W/imp-ub.log l-ub 127.0.0.1:7080 ub --send --as l-ub --capacity 0 --io epoll \
	--status-socket $W/imp-ub.sock
timeout 30 "$CC" send l-ub early --timeout 3s; rc=$?
same "no receiver waits at the remote: an unbuffered write does not complete (timeout)" 5 $rc
timeout 60 "$CC" recv ub -n 1 --timeout 50s >$W/ub.out 2>&1 &
rcv=$!
wait_for 30 sh -c '"$CB" status --status-socket $W/serve.sock | grep -q "ub destination open held 0 pending 0 credit 0 granted 1"' 2>/dev/null
timeout 60 "$CC" send l-ub hello --timeout 50s; rc=$?
same "with a receiver waiting there, the write completes" 0 $rc
wait $rcv
same "and that receiver gets the message" "hello" "$(cat $W/ub.out)"
timeout 30 "$CC" send l-ub late --timeout 3s; rc=$?
same "the receiver gone, the next write does not complete again" 5 $rc
same "nothing is left buffered at the unbuffered remote" 0 "$(len ub)"

for f in $W/*.log; do echo "--- $f"; cat "$f"; done | diag
bridge_done
