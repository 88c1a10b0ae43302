#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Hostile peers against a live chanbridge serve in one guest: a wrong PSK,
# no PSK, random bytes, a giant length, frames before the handshake, a
# protocol violation after it, slow loris before and after the handshake,
# and more connections than --max-conns.  Each closes only its own
# connection with a logged reason; after each, a well-behaved importer still
# gets its message, and the server's RSS stays bounded.  Prints TAP.
#
#   tools/vm/run --kernel KVER -- tests/guest-bridge-hostile.sh
set -uo pipefail
# shellcheck source=../userspace/chanbridge/tests/lib.sh
. "$(dirname "$0")/../userspace/chanbridge/tests/lib.sh"
bridge_init
H=$root/userspace/chanbridge/tests/hostile.py
P=7100

printf 'correct horse battery staple\n' >$W/psk
printf 'wrong horse battery staple!!\n' >$W/bad
chmod 600 $W/psk $W/bad
mkchan hs --capacity 4
serve $W/serve.log --listen 127.0.0.1:$P --psk-file $W/psk --export hs:recv --max-conns 4 \
	--handshake-timeout 2 --keepalive 1 --status-socket $W/serve.sock
srv=$last_pid

# well DESCRIPTION: a good importer still receives a message through hs.
k=0
well() {
	k=$((k + 1))
	chans+=("good$k")
	"$CB" import 127.0.0.1:$P hs --recv --as good$k --psk-file $W/psk \
		--status-socket $W/imp$k.sock 2>$W/good$k.log &
	local p=$!
	echo "m$k" >/dev/chan/hs &
	local w=$! got
	got=$(timeout 60 sh -c "while [ ! -e /dev/chan/good$k ]; do sleep 0.1; done; \"$CC\" recv good$k -n 1 --timeout 50s")
	kill -TERM $p 2>/dev/null; wait $p 2>/dev/null
	kill $w 2>/dev/null; wait $w 2>/dev/null
	if [ "$got" = "m$k" ] && alive "$srv"; then ok "$1: a good importer is still served"; else
		not_ok "$1: a good importer is still served (got '$got')"
		diag <$W/good$k.log
	fi
}
well "at the start"
rss0=$(rss_kb "$srv")

# --- authentication -------------------------------------------------------------
# Before authentication nothing the peer says is final (a forged ERROR would
# end the import for good): an importer refused keeps trying, with backoff.
timeout 8 "$CB" import 127.0.0.1:$P hs --recv --as wk --psk-file $W/bad \
	--status-socket $W/wk.sock 2>$W/wk.log; rc=$?
same "a wrong key: the importer keeps trying (stopped by timeout)" 124 $rc
check "... the server logs the wrong key" grep -q "authentication failed: wrong key" $W/serve.log
check "... the importer logs the refusal" grep -q "authentication failed" $W/wk.log
check "... and backs off" grep -q "reconnecting in [1-9][0-9]* ms" $W/wk.log
check "... and never created its channel" test ! -e /dev/chan/wk
timeout 8 "$CB" import 127.0.0.1:$P hs --recv --as nk --status-socket $W/nk.sock 2>$W/nk.log
same "no key at all: the importer keeps trying (stopped by timeout)" 124 $?
check "... the server says it requires one" grep -q "peer has no PSK, and we require one" $W/serve.log
well "after the wrong keys"

# --- garbage --------------------------------------------------------------------------
run_hostile() {	# DESCRIPTION LOGPATTERN MODE [ARGS]
	local d=$1 pat=$2 out; shift 2
	out=$(timeout 60 $PY "$H" $P "$@" 2>&1); local rc=$?
	if [ $rc = 0 ]; then ok "$d: the connection is closed ($out)"; else
		not_ok "$d: the connection is closed (exit $rc: $out)"
	fi
	check "$d: the log gives the reason" grep -q "$pat" $W/serve.log
}
run_hostile "random bytes" "closing: bad" random
run_hostile "a 4 GiB length" "bad frame: frame length above the limit" giant
run_hostile "ACK before HELLO" "ACK before HELLO" early
well "after garbage"
run_hostile "DATA on a channel never opened" "DATA for unknown channel 9" violation $W/psk
run_hostile "slow loris in the handshake" "handshake not done within 2000 ms" loris
run_hostile "slow loris after the handshake" "no complete frame for" loris-ready $W/psk
well "after slow loris"

# --- too many connections ------------------------------------------------------------------
refused=$(timeout 60 $PY "$H" $P many 10)
same "10 connections at --max-conns 4: 6 refused at once" 6 "$refused"
check "... each refusal logged" grep -q "refusing connection from .*(--max-conns)" $W/serve.log
sleep 3	# the four admitted ones time out in the handshake
well "after the connection flood"

rss1=$(rss_kb "$srv")
echo "# server RSS: $rss0 kB at the start, $rss1 kB at the end"
check "the server's RSS stays bounded (grew < 8 MiB)" test $((rss1 - rss0)) -lt 8192
check "the server is still running" alive "$srv"
kill -TERM "$srv"; wait "$srv"
same "and exits 0 on SIGTERM" 0 $?
diag <$W/serve.log
bridge_done
