#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# No loss, no duplicates, FIFO across faults (issue 4): B sends numbered
# messages 1..N into an imported --send channel; A's checker reads the
# exported channel and requires each number exactly once, in order, then end
# of file (B closes its channel after the last).  Three phases, each with its
# own channel and N messages:
#
#   cut      B's link goes down three times (2 s, then twice 8 s: with
#            --keepalive 1 both bridges declare the peer dead after 4 s, so
#            the long cuts force a reconnect and a resume)
#   kill-b   B's importer is killed with SIGKILL three times and restarted
#            (it reuses /dev/chan/seq-kill-b; held messages went back)
#   kill-a   A's server is killed with SIGKILL three times and restarted,
#            each time after 3 s of dropping A's outgoing packets (netem),
#            so that it dies holding commits B has no ack for
#
#   recv     the other way: A sends, B imports with --recv and checks; B's
#            importer (the destination now) is killed three times, each
#            after 3 s of dropping B's outgoing packets
#
# The faults come at N/4, N/2 and 3N/4 messages, counted by the side that
# acts.  Environment (pass with env, e.g. tools/vm/pair ... -- env
# KCHAN_PAIR_SEQ_COUNT=5000 tests/pair-seq.sh):
#   KCHAN_PAIR_SEQ_COUNT   N (default 100000)
#   KCHAN_PAIR_SEQ_PHASES  which phases (default "cut kill-b kill-a recv")
#   KCHAN_PAIR_SEQ_TIMEOUT seconds a phase may take (default 1500)
# shellcheck disable=SC2317,SC2016 # actions run through at_thresholds; eval'd tests
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tests/lib/pair.sh"
pair_precheck
pair_guest_checks
echo "TAP version 13"
make_psk
C=$CHANCTL
N=${KCHAN_PAIR_SEQ_COUNT:-100000}
PHASES=${KCHAN_PAIR_SEQ_PHASES:-cut kill-b kill-a recv}
LIMIT=${KCHAN_PAIR_SEQ_TIMEOUT:-1500}
SEQ=$lib/bridge-seq.py
SYNC_TIMEOUT=$((LIMIT + 300))
KA=(--keepalive 1)

progress() { cat "$1" 2>/dev/null || echo 0; }
# at_thresholds PID FILE ACTION: run ACTION each time FILE's count passes
# N/4, N/2 and 3N/4; stop early when process PID (what counts) has ended or
# the phase's time is up.
at_thresholds() {
	local pid=$1 file=$2 action=$3 k p end=$((SECONDS + LIMIT)) said=$SECONDS
	for k in 1 2 3; do
		until p=$(progress "$file"); [ "$p" -ge $((N * k / 4)) ]; do
			[ $SECONDS -lt $end ] && kill -0 "$pid" 2>/dev/null || return 1
			if [ $SECONDS -ge $((said + 30)) ]; then
				log "$p of $N"; said=$SECONDS
			fi
			sleep 0.3
		done
		log "at $p of $N: $action $k"
		"$action" "$k"
	done
}

# kill_muted: SIGKILL this guest's bridge after 3 s of dropping its own
# outgoing packets (netem, if the kernel has it), so it dies with commits
# whose acks never left; then let packets out again.
kill_muted() {
	if modprobe sch_netem 2>/dev/null &&
		tc qdisc add dev "$IFACE" root netem loss 100%; then
		sleep 3
	else
		log "no netem: a plain kill"
	fi
	kill -KILL "$bridge_pid"; wait "$bridge_pid" 2>/dev/null
	tc qdisc del dev "$IFACE" root 2>/dev/null
}

phase_a() {
	local ph=$1 ch=seq-$1 t0=$SECONDS checker syncer rc=0
	"$C" create "$ch" --capacity 64 || { not_ok "$ph: create $ch"; return; }
	rm -f /tmp/rprog
	serve "serve-$ph" "${KA[@]}" --export "$ch:send"
	wait_for 30 listening "$PORT" || not_ok "$ph: chanbridge serve listens"
	timeout "$LIMIT" "$PY" "$SEQ" recv "/dev/chan/$ch" --count "$N" --eof 120 \
		--progress /tmp/rprog >"/tmp/check-$ph.out" 2>&1 &
	checker=$!
	meet "$ph-ready" >/dev/null
	if [ "$ph" = kill-a ]; then
		# Kill the server when it has certainly committed messages whose
		# acks B never saw: A's outgoing packets are dropped for 3 s first
		# (netem), while B's data still comes in and is committed up to
		# the window.  The restarted server must refuse those again when
		# B's importer sends them once more.
		restart_serve() {
			kill_muted
			sleep 2
			serve "serve-$ph" "${KA[@]}" --export "$ch:send"
		}
		at_thresholds "$checker" /tmp/rprog restart_serve
	fi
	# B reaches "done" when its importer has exited after the close, or at
	# once when its side failed: then the checker has 120 s left.
	"$PY" "$lib/pair-sync.py" "$ph-done" --timeout "$SYNC_TIMEOUT" >/dev/null &
	syncer=$!
	while kill -0 "$checker" 2>/dev/null && kill -0 "$syncer" 2>/dev/null; do sleep 1; done
	if ! wait_for 120 eval '! kill -0 "$checker" 2>/dev/null'; then
		echo "B is done, the checker still waits: killed" >>"/tmp/check-$ph.out"
		kill "$checker"
	fi
	wait "$checker" || rc=$?
	if [ $rc = 0 ]; then
		ok "$ph: A receives $N messages from B, each exactly once, in order, then end of file"
	else
		not_ok "$ph: A receives $N messages from B, each exactly once, in order, then end of file (exit $rc)"
		"$CHANBRIDGE" status --status-socket "/run/serve-$ph.sock" 2>&1 | diag
		show_log "serve-$ph" 40
	fi
	diag <"/tmp/check-$ph.out"
	echo "$ph: $(progress /tmp/rprog) messages in $((SECONDS - t0)) s" | diag
	wait "$syncer" || not_ok "$ph: met B at the end of the phase"
	kill "$bridge_pid" 2>/dev/null; wait "$bridge_pid" 2>/dev/null
	"$C" destroy "$ch"
}

phase_b() {
	local ph=$1 ch=seq-$1 sender rc=0 i
	rm -f /tmp/sprog
	meet "$ph-ready" >/dev/null
	import "import-$ph" "${KA[@]}" "$ch" --send
	if ! wait_for 60 test -e "/dev/chan/$ch"; then
		not_ok "$ph: the import creates /dev/chan/$ch"
		show_log "import-$ph"
		kill "$bridge_pid"
		meet "$ph-done" >/dev/null
		return
	fi
	timeout "$LIMIT" "$PY" "$SEQ" send "/dev/chan/$ch" --count "$N" --progress /tmp/sprog &
	sender=$!
	case "$ph" in
	cut)
		long_cuts=0
		cut_link() {
			if [ "$1" = 1 ]; then link_cut 2; else link_cut 8; long_cuts=$((long_cuts + 1)); fi
		}
		at_thresholds "$sender" /tmp/sprog cut_link ;;
	kill-b)
		restart_import() {
			kill -KILL "$bridge_pid"; wait "$bridge_pid" 2>/dev/null
			sleep 1
			import "import-$ph" "${KA[@]}" "$ch" --send
		}
		at_thresholds "$sender" /tmp/sprog restart_import ;;
	esac
	wait "$sender" || rc=$?
	same "$ph: B writes $N messages into /dev/chan/$ch" "0 $N" "$rc $(progress /tmp/sprog)"
	"$C" close "$ch"
	# The close travels after the data; once it is through, nothing is left
	# to bridge and the importer exits by itself, with 0.
	rc=0
	if wait_for 180 eval '! kill -0 "$bridge_pid" 2>/dev/null'; then
		wait "$bridge_pid" || rc=$?
	else
		rc="still running 180 s after the close"
		"$CHANBRIDGE" status --status-socket "/run/import-$ph.sock" 2>&1 | diag
		kill -KILL "$bridge_pid"
	fi
	same "$ph: the importer exits 0 once the close is through" 0 "$rc"
	if [ "$ph" = cut ]; then
		# Once at the start, and again after the 8 s cuts (two cuts close
		# together may share one reconnection; a small N may end first).
		i=$(grep -c ': connected$' "/tmp/import-$ph.log")
		want=1; [ "$long_cuts" = 0 ] || want=2
		check "$ph: the long cuts made the importer reconnect (connected $i times, want >= $want)" \
			test "$i" -ge $want
	fi
	[ "$failed" = 0 ] || show_log "import-$ph" 40
	meet "$ph-done" >/dev/null
	"$C" destroy "$ch" 2>/dev/null
}

# recv: the other direction.  A sends into its exported channel, B imports it
# with --recv and checks; B's importer, now the destination, is killed three
# times after 3 s of dropping B's outgoing packets, so that it dies having
# committed messages whose acks A never saw.
recv_a() {
	local ph=$1 ch=seq-$1 rc=0
	"$C" create "$ch" --capacity 64 || { not_ok "$ph: create $ch"; return; }
	serve "serve-$ph" "${KA[@]}" --export "$ch:recv"
	wait_for 30 listening "$PORT" || not_ok "$ph: chanbridge serve listens"
	meet "$ph-ready" >/dev/null
	timeout "$LIMIT" "$PY" "$SEQ" send "/dev/chan/$ch" --count "$N" || rc=$?
	same "$ph: A writes $N messages into /dev/chan/$ch" 0 "$rc"
	"$C" close "$ch"
	meet "$ph-done" >/dev/null
	[ "$failed" = 0 ] || show_log "serve-$ph" 40
	kill "$bridge_pid" 2>/dev/null; wait "$bridge_pid" 2>/dev/null
	"$C" destroy "$ch"
}
recv_b() {
	local ph=$1 ch=seq-$1 checker rc=0
	rm -f /tmp/rprog
	meet "$ph-ready" >/dev/null
	import "import-$ph" "${KA[@]}" "$ch" --recv
	if ! wait_for 60 test -e "/dev/chan/$ch"; then
		not_ok "$ph: the import creates /dev/chan/$ch"
		show_log "import-$ph"
		kill "$bridge_pid"
		meet "$ph-done" >/dev/null
		return
	fi
	timeout "$LIMIT" "$PY" "$SEQ" recv "/dev/chan/$ch" --count "$N" --eof 120 \
		--progress /tmp/rprog >"/tmp/check-$ph.out" 2>&1 &
	checker=$!
	restart_import() {
		kill_muted
		sleep 1
		import "import-$ph" "${KA[@]}" "$ch" --recv
	}
	at_thresholds "$checker" /tmp/rprog restart_import
	wait "$checker" || rc=$?
	if [ $rc = 0 ]; then
		ok "$ph: B receives $N messages from A, each exactly once, in order, then end of file"
	else
		not_ok "$ph: B receives $N messages from A, each exactly once, in order, then end of file (exit $rc)"
		show_log "import-$ph" 40
	fi
	diag <"/tmp/check-$ph.out"
	rc=0
	if wait_for 180 eval '! kill -0 "$bridge_pid" 2>/dev/null'; then
		wait "$bridge_pid" || rc=$?
	else
		rc="still running 180 s after the close"
		kill -KILL "$bridge_pid"
	fi
	same "$ph: the importer exits 0 once the close is through" 0 "$rc"
	meet "$ph-done" >/dev/null
	"$C" destroy "$ch" 2>/dev/null
}

for ph in $PHASES; do
	case "$ph" in
	cut | kill-b | kill-a | recv) ;;
	*) not_ok "unknown phase $ph"; continue ;;
	esac
	log "phase $ph: $N messages"
	case "$role$ph" in
	arecv) recv_a "$ph" ;;
	brecv) recv_b "$ph" ;;
	a*) phase_a "$ph" ;;
	b*) phase_b "$ph" ;;
	esac
done
finish
