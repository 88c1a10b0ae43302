#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Hostile peers against live chanbridge serves in one guest.  Against a TLS
# serve (PSK): a wrong key, an unknown identity, no TLS at all, random bytes,
# slow loris in the TLS handshake, and more connections than --max-conns.
# Against a plain serve on loopback (the frame engine behind TLS is the
# same): a giant length, frames before the handshake, a protocol violation
# after it, slow loris after it, a RESUME above anything ever sent (issue
# 13: it must ack nothing).  Each closes only its own connection with a
# logged reason; a failed handshake is never final for an importer; after
# each, a well-behaved importer still gets its message, and the servers'
# RSS stays bounded.  Prints TAP.
#
#   tools/vm/run --kernel KVER -- tests/guest-bridge-hostile.sh
set -uo pipefail
# shellcheck source=../userspace/chanbridge/tests/lib.sh
. "$(dirname "$0")/../userspace/chanbridge/tests/lib.sh"
bridge_init
H=$root/userspace/chanbridge/tests/hostile.py
P=7100	# TLS
Q=7101	# plain

"$CB" genkey --identity good $W/psk >/dev/null
"$CB" genkey --identity good $W/bad >/dev/null
"$CB" genkey --identity stranger $W/stranger >/dev/null
mkchan hs --capacity 4
serve $W/serve.log --listen 127.0.0.1:$P --psk-file $W/psk --export hs:recv --max-conns 4 \
	--handshake-timeout 2 --keepalive 1 --status-socket $W/serve.sock
srv=$last_pid
serve $W/plain.log --insecure-loopback --listen 127.0.0.1:$Q --export hs:recv --max-conns 4 \
	--handshake-timeout 2 --keepalive 1 --status-socket $W/plain.sock
plain=$last_pid

# well DESCRIPTION [PORT [ARGS]]: a good importer still receives a message through hs.
k=0
well() {
	local d=$1 port=${2:-$P}; shift; shift
	local args=("$@")
	[ $port = $P ] && args=(--psk-file $W/psk)
	k=$((k + 1))
	chans+=("good$k")
	"$CB" import 127.0.0.1:$port hs --recv --as good$k "${args[@]}" \
		--status-socket $W/imp$k.sock 2>$W/good$k.log &
	local p=$!
	echo "m$k" >/dev/chan/hs &
	local w=$! got
	got=$(timeout 60 sh -c "while [ ! -e /dev/chan/good$k ]; do sleep 0.1; done; \"$CC\" recv good$k -n 1 --timeout 50s")
	kill -TERM $p 2>/dev/null; wait $p 2>/dev/null
	kill $w 2>/dev/null; wait $w 2>/dev/null
	if [ "$got" = "m$k" ] && alive "$srv" && alive "$plain"; then
		ok "$d: a good importer is still served"
	else
		not_ok "$d: a good importer is still served (got '$got')"
		diag <$W/good$k.log
	fi
}
well "at the start"
well "at the start, plain" $Q
rss0=$(rss_kb "$srv")
rssp0=$(rss_kb "$plain")

# --- authentication: never final for the importer ---------------------------------
# retried LOG: the importer has reconnected at least twice.
retried() { [ "$(grep -c 'reconnecting' "$1")" -ge 2 ]; }
# refused_import NAME ARGS...: an importer the TLS serve refuses keeps retrying.
refused_import() {
	local name=$1; shift
	"$CB" import 127.0.0.1:$P hs --recv --as $name "$@" --status-socket $W/$name.sock \
		2>$W/$name.log &
	local p=$!
	wait_for 30 retried $W/$name.log
	check "$name: the importer retries with backoff, it does not give up" alive $p
	check "... and never created its channel" test ! -e /dev/chan/$name
	kill -TERM $p; wait $p
}
refused_import wk --psk-file $W/bad
check "a wrong key: the server logs it" grep -q 'TLS handshake failed: wrong key for PSK identity "good"' $W/serve.log
check "... the importer logs the refusal" grep -q "TLS handshake failed: the peer refused" $W/wk.log
refused_import uk --psk-file $W/stranger
check "an unknown identity: the server names it" grep -q 'unknown PSK identity "stranger"' $W/serve.log
refused_import nk
check "no TLS at all: the server says so" grep -q "the peer speaks chanbridge without TLS" $W/serve.log
well "after the wrong keys"

# --- garbage --------------------------------------------------------------------------
run_hostile() {	# DESCRIPTION LOG LOGPATTERN PORT MODE
	local d=$1 log=$2 pat=$3 out; shift 3
	out=$(timeout 60 $PY "$H" "$@" 2>&1); local rc=$?
	if [ $rc = 0 ]; then ok "$d: the connection is closed ($out)"; else
		not_ok "$d: the connection is closed (exit $rc: $out)"
	fi
	check "$d: the log gives the reason" grep -q "$pat" $log
}
run_hostile "TLS: random bytes" $W/serve.log "closing: TLS handshake failed" $P random
run_hostile "TLS: slow loris in the handshake" $W/serve.log "handshake not done within 2000 ms" \
	$P loris
run_hostile "random bytes" $W/plain.log "closing: bad" $Q random
run_hostile "a 4 GiB length" $W/plain.log "bad frame: frame length above the limit" $Q giant
run_hostile "ACK before HELLO" $W/plain.log "ACK before HELLO" $Q early
well "after garbage"
well "after garbage, plain" $Q
run_hostile "DATA on a channel never opened" $W/plain.log "DATA for unknown channel 9" $Q violation
run_hostile "slow loris in the handshake" $W/plain.log "handshake not done within 2000 ms" $Q loris
run_hostile "slow loris after the handshake" $W/plain.log "no complete frame for" $Q loris-ready
well "after slow loris"
well "after slow loris, plain" $Q

# --- a lying RESUME (issue 13) ----------------------------------------------------------
# The message was never held: a RESUME that covers it is a lie, refused each
# time (the refused hold goes back KCHAN_RETURN_UNSENT), and nothing is acked.
echo lie >/dev/chan/hs
run_hostile "a RESUME above anything sent" $W/plain.log "which no one was ever sent" $Q liar hs
run_hostile "... and again on the next connection" $W/plain.log "which no one was ever sent" \
	$Q liar hs
same "... refused both times" 2 "$(grep -c 'which no one was ever sent' $W/plain.log)"
same "... and the message is still in the channel, not acked" lie \
	"$(timeout 20 "$CC" recv hs -n 1 --timeout 10s)"
well "after a lying RESUME, plain" $Q

# --- too many connections ------------------------------------------------------------------
refused=$(timeout 60 $PY "$H" $P many 10)
same "10 idle connections from one address (--max-per-addr 4): 6 refused at once" 6 "$refused"
check "... each refusal logged" grep -q "refusing connection from .*(--max-per-addr)" $W/serve.log
sleep 3	# the four admitted ones time out in the handshake
well "after the connection flood"

rss1=$(rss_kb "$srv")
rssp1=$(rss_kb "$plain")
echo "# TLS server RSS: $rss0 kB at the start, $rss1 kB at the end; plain: $rssp0, $rssp1"
check "the TLS server's RSS stays bounded (grew < 8 MiB)" test $((rss1 - rss0)) -lt 8192
check "the plain server's RSS stays bounded (grew < 8 MiB)" test $((rssp1 - rssp0)) -lt 8192
check "the TLS server is still running" alive "$srv"
check "the plain server is still running" alive "$plain"
kill -TERM "$srv"; wait "$srv"
same "and exit 0 on SIGTERM" 0 $?
kill -TERM "$plain"; wait "$plain"
diag <$W/serve.log
diag <$W/plain.log
bridge_done
