#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# chanbridge import against a fake server that never lets the handshake
# finish (issue 13): before authentication nothing the peer sends is final,
# so the importer keeps reconnecting with backoff instead of exiting, and
# creates no channel.  On the host: an importer opens no channel before it
# is authenticated, so no kchan module is needed.
#
#   tests/host-bridge-handshake.sh
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
CB=${CHANBRIDGE:-$root/build/userspace/chanbridge/chanbridge}	# CHANBRIDGE: another build
FAKE=$root/userspace/chanbridge/tests/fake_server.py
# shellcheck source=tests/lib/ktap.sh
. "$root/tests/lib/ktap.sh"

ktap_print_header
if [ ! -x "$CB" ]; then
	ktap_skip_all "no $CB (make userspace)"
	exit 0
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/key"
chmod 600 "$W/key"

port=$((20000 + $$ % 20000))
# one_mode MODE DESCRIPTION [IMPORT ARGS]: 6 s of a fake server in MODE.
one_mode() {
	local mode=$1 what=$2 conns rc; shift 2
	port=$((port + 1))
	python3 "$FAKE" $port 6 "$mode" >"$W/$mode.conns" &
	local fake=$!
	sleep 1	# python starts slowly; a refused connect only backs off too
	timeout 5 "$CB" import 127.0.0.1:$port x --recv --as "holder-hs-$$" --io epoll \
		--status-socket "$W/$mode.sock" "$@" 2>"$W/$mode.log"; rc=$?
	wait $fake
	conns=$(cat "$W/$mode.conns")
	same "$what: the importer is still trying when stopped (timeout's 124)" 124 "$rc"
	if [ "${conns:-0}" -ge 2 ]; then ok "... and reconnected ($conns connections)"; else
		not_ok "... and reconnected (${conns:-0} connections, want 2 or more)"
		diag <"$W/$mode.log"
	fi
	check "... and says it will" grep -q "reconnecting in" "$W/$mode.log"
	check "... and never opened a channel" test ! -e "/dev/chan/holder-hs-$$"
}

one_mode error-in-hello "ERROR (authentication failed) during HELLO"
one_mode error-chan-in-hello "a channel's ERROR (not exported) during HELLO"
one_mode bad-auth "the server's AUTH proves a wrong key" --psk-file "$W/key"
ktap_finished
