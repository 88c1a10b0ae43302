#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# chanbridge import against a fake server (issue 13): before authentication
# nothing the peer sends is final, so the importer keeps reconnecting with
# backoff instead of exiting, and creates no channel; a source another
# importer holds (CB_ERR_BUSY) is retried too, with a backoff that keeps
# growing; a channel the authenticated server does not export fails for
# good.  On the host: an importer opens no channel before it is
# authenticated, and an importer --send none before its OPEN is answered, so
# no kchan module is needed.
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
"$CB" genkey "$W/key" >/dev/null

port=$((20000 + $$ % 20000))
# run_import MODE DIR [IMPORT ARGS]: 6 s of a fake server in MODE, an importer
# for 5 of them; its exit status in rc, the connections the server saw in conns.
run_import() {
	local mode=$1 dir=$2; shift 2
	port=$((port + 1))
	python3 "$FAKE" $port 6 "$mode" >"$W/$mode.conns" &
	local fake=$!
	sleep 1	# python starts slowly; a refused connect only backs off too
	timeout 5 "$CB" import 127.0.0.1:$port x "$dir" --as "holder-hs-$$" --io epoll \
		--status-socket "$W/$mode.sock" "$@" 2>"$W/$mode.log"; rc=$?
	wait $fake
	conns=$(cat "$W/$mode.conns")
}

# one_mode MODE DESCRIPTION [IMPORT ARGS]: the importer must keep trying.
one_mode() {
	local mode=$1 what=$2; shift 2
	run_import "$mode" --recv "$@"
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
one_mode error-in-hello "a server that answers TLS with a plain ERROR frame" --psk-file "$W/key"

run_import busy --send
same "OPEN refused as busy (CB_ERR_BUSY): the importer is still trying when stopped" 124 "$rc"
if [ "${conns:-0}" -ge 3 ]; then ok "... and reconnected ($conns connections)"; else
	not_ok "... and reconnected (${conns:-0} connections, want 3 or more)"
	diag <"$W/busy.log"
fi
# Backoff is reset by a handshake, but not while the source stays busy.
check "... with a growing backoff, though each handshake succeeds" \
	grep -q "reconnecting in 400 ms" "$W/busy.log"
check "... saying why" grep -q "held by another importer: retrying later" "$W/busy.log"

run_import noexport --send
same "OPEN refused by the authenticated server (no such export): the importer exits 1" 1 "$rc"
check "... saying why" grep -q "x is not exported" "$W/noexport.log"
ktap_finished
