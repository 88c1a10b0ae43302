#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# chanctl end to end, in a guest with kchan loaded; prints TAP.
#
#   tools/vm/run --kernel KVER -- tests/guest-chanctl.sh
#   tools/check.sh --only tests/guest-chanctl.sh
#
# (No process substitution: the guest has no /dev/fd.)
# Covers what chanctl(1) promises: send framing (arguments, lines, -0,
# --whole), recv (-n, EOF, --timeout, -0, several channels via select),
# create (buffered, --autoclose, --after/--tick timers), list/stat with
# and without --json (and for a user who may not open the channel),
# destroy (a name free at once, rm of the node), --help everywhere, and the
# exit statuses 0-5.
# CHANCTL overrides the binary (default build/userspace/chanctl).  Needs
# root (it checks permissions as nobody through setpriv) and python3 for
# the JSON checks.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
C=${CHANCTL:-$root/build/userspace/chanctl}
PY=/usr/bin/python3
T=20	# seconds any one command may take before it counts as hung

# shellcheck source=tests/lib/ktap.sh
. "$root/tests/lib/ktap.sh"
# shellcheck source=tests/lib/chan.sh
. "$root/tests/lib/chan.sh"
# status DESCRIPTION WANT CMD...: ok when CMD exits WANT.
status() {
	local d=$1 want=$2 rc=0; shift 2
	timeout -k 5 $T "$@" >/tmp/status.out 2>/tmp/status.err || rc=$?
	if [ "$rc" = "$want" ]; then ok "$d"; else
		not_ok "$d (exit $rc, want $want)"
		diag </tmp/status.err
	fi
}
c() { timeout -k 5 $T "$C" "$@"; }
# same DESCRIPTION WANT GOT
same() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"
		printf 'want: %q\ngot:  %q\n' "$2" "$3" | diag
	fi
}

echo "TAP version 13"
if [ ! -x "$C" ]; then
	echo "1..0 # SKIP no $C (make userspace)"
	exit 0
fi
if ! chan_loaded; then
	echo "1..0 # SKIP kchan is not loaded (run me with tools/vm/run)"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root"
	exit 0
fi
cd /tmp || exit 1
# Timer channels came with KCHAN_CREATE_AFTER; an older kchan says EINVAL.
timers=0
if "$C" create probe.timer --after 1h 2>/dev/null; then
	timers=1
	"$C" destroy probe.timer
fi

# --- help and usage ---------------------------------------------------------
status "chanctl --help exits 0" 0 "$C" --help
check "--help prints the usage" grep -q '^usage: chanctl COMMAND' /tmp/status.out
for cmd in create destroy close list stat send recv; do
	status "chanctl $cmd --help exits 0" 0 "$C" "$cmd" --help
	grep -q "^usage: chanctl $cmd" /tmp/status.out || not_ok "$cmd --help prints its usage"
done
status "chanctl help recv exits 0" 0 "$C" help recv
status "no command: usage error (2)" 2 "$C"
status "unknown command: 2" 2 "$C" frobnicate
status "unknown option: 2" 2 "$C" list --frob
status "missing name: 2" 2 "$C" create
status "bad name: 2" 2 "$C" create 'a/b'
status "name starting with '.': 2" 2 "$C" stat .x
status "64-byte name: 2" 2 "$C" create "$(printf 'x%.0s' $(seq 64))"
status "bad duration: 2" 2 "$C" recv x --timeout 5parsecs
status "--tick without a value: 2" 2 "$C" create x --tick
status "--after with --capacity: 2" 2 "$C" create x --after 1s --capacity 2
status "--after and --tick together: 2" 2 "$C" create x --after 1s --tick 1s
status "send -0 --whole: 2" 2 "$C" send x -0 --whole
status "send -0 with MSG arguments: 2" 2 "$C" send x -0 a
status "send an empty MSG argument: 2" 2 "$C" send x ''
status "recv -n junk: 2" 2 "$C" recv x -n 1x
status "--mode 0: 2" 2 "$C" create x --mode 0
status "--mode 0800: 2" 2 "$C" create x --mode 0800
status "recv of 33 channels: 2" 2 "$C" recv $(seq -f 'c%g' 33)
check "usage errors created nothing" test -z "$(ls /dev/chan)"

# --- create, list, stat -------------------------------------------------------
check "create buffered" c create jobs --capacity 16 --msg-max 100 --mode 0640
check "create unbuffered" c create u
status "create an existing name: 1" 1 "$C" create jobs
out=$(c list)
same "list header" "NAME  CAPACITY  LENGTH  MSG_MAX  CLOSED  READERS  WRITERS" "$(head -n 1 <<<"$out")"
same "list rows" "jobs|16|0|100|0|0|0;u|0|0|4096|0|0|0;" \
	"$(tail -n +2 <<<"$out" | awk '{ printf "%s|%s|%s|%s|%s|%s|%s;", $1, $2, $3, $4, $5, $6, $7 }')"
check "node mode is 0640" test "$(stat -c %a /dev/chan/jobs)" = 640
check "the node is a character device, in ls -l too" test -c /dev/chan/jobs -a \
	"$(ls -l /dev/chan/jobs | cut -c1-10)" = crw-r-----
check ".control is not listed" test "$(ls /dev/chan | tr '\n' ' ')" = "jobs u "
json=$(c list --json)
check "list --json is JSON with every channel" $PY -c '
import json, sys
l = json.loads(sys.argv[1])
assert [c["name"] for c in l] == ["jobs", "u"], l
j = l[0]
assert j["capacity"] == 16 and j["msg_max"] == 100 and j["length"] == 0, j
assert j["closed"] is False and j["autoclose"] is False, j
for k in ("readers", "writers", "sent", "received"):
    assert isinstance(j[k], int), (k, j)
' "$json"
out=$(c stat jobs)
check "stat prints key: value lines" grep -qx 'capacity: 16' <<<"$out"
check "stat has msg_max and sent" grep -qx 'msg_max: 100' <<<"$out"
check "stat --json is one object" $PY -c '
import json, sys
j = json.loads(sys.argv[1])
assert j["name"] == "jobs" and j["capacity"] == 16 and j["closed"] is False, j
assert j["timer"] is False and j["held"] == 0 and len(j["id"]) == 16, j
' "$(c stat -j jobs)"
same "stat does not count its own reader" "readers: 0" "$(c stat jobs | grep '^readers:')"
exec {rd}</dev/chan/jobs
same "... but counts another's" "readers: 1 writers: 0" "$(c stat jobs | grep -E '^(readers|writers):' | tr '\n' ' ' | sed 's/ $//')"
same "chan_attr (fdinfo) agrees" "1 16 100" "$(chan_attr jobs readers) $(chan_attr jobs capacity) $(chan_attr jobs msg_max)"
exec {rd}<&-
status "stat of a missing channel: 3" 3 "$C" stat nosuch
status "stat of a missing channel --json: 3" 3 "$C" stat --json nosuch

# --- send and recv framing ------------------------------------------------------
check "send arguments" c send jobs one "two words" three
same "recv -n 3 prints them in order" "$(printf 'one\ntwo words\nthree')" "$(c recv jobs -n 3)"
printf 'a\nb\nc' | c send jobs
same "send stdin: a message per line, last line without newline too" "$(printf 'a\nb\nc')" "$(c recv jobs -n 3)"
check "stat counts 6 sent, 6 received" test "$(c stat jobs | grep -E '^(sent|received):' | tr '\n' ' ')" = "sent: 6 received: 6 "
printf 'x\0y z\0multi\nline\n' | c send -0 jobs
c recv jobs -n 3 -0 >/tmp/r0
printf 'x\0y z\0multi\nline\n\0' >/tmp/r0.want
check "send -0 / recv -0 keep bytes exactly" cmp -s /tmp/r0 /tmp/r0.want
printf 'first\nsecond\n' | c send --whole jobs
same "send --whole: one message; recv prints a newline-ended message as is" "$(printf 'first\nsecond\n.')" "$(c recv jobs -n 1; echo .)"
check "length is 0 again" chan_attr_is jobs length 0
rc=0; printf 'p\nq\n\nr\n' | c send jobs 2>/tmp/err || rc=$?
same "an empty line is an error (1) and stops sending" "1:p q" "$rc:$(c recv jobs -n 2 | tr '\n' ' ' | sed 's/ $//')"
check "the error names the empty message" grep -q 'message 3 is empty' /tmp/err
check "nothing after the empty line was sent" chan_attr_is jobs length 0
status "a message over msg_max: 1" 1 "$C" send jobs "$(printf 'm%.0s' $(seq 101))"
check "the error names msg_max" grep -q 'msg_max 100' /tmp/status.err
status "send --whole of empty stdin: 1" 1 "$C" send --whole jobs </dev/null
status "send to a missing channel: 3" 3 "$C" send nosuch hi
status "recv from a missing channel: 3" 3 "$C" recv nosuch
status "recv from a missing and an existing channel: 3" 3 "$C" recv jobs nosuch
status "send -- sends a message that looks like an option" 0 "$C" send jobs -- -n
same "... and recv gets it" "-n" "$(c recv jobs -n 1)"

# --- EOF, close, timeouts ---------------------------------------------------
c send jobs last1 last2
check "close" c close jobs
same "recv drains a closed channel and exits 0 at EOF" "last1 last2 rc=0" "$(c recv jobs | tr '\n' ' ')rc=$?"
status "send to a closed channel: 1" 1 "$C" send jobs more
check "... saying it is closed" grep -q 'closed' /tmp/status.err
status "send --timeout (select) to a closed channel: 1" 1 "$C" send jobs --timeout 1s more
status "recv --timeout of a closed, drained channel: EOF, 0" 0 "$C" recv jobs --timeout 1s
status "close twice: 1 (EPIPE)" 1 "$C" close jobs
status "recv -n 0 receives nothing" 0 "$C" recv u -n 0
t0=$(date +%s%N)
status "recv --timeout 300ms on an empty channel: 5" 5 "$C" recv u --timeout 300ms
ms=$((($(date +%s%N) - t0) / 1000000))
check "... after about 300 ms ($ms ms)" test "$ms" -ge 290 -a "$ms" -lt 10000
check "... printing nothing" test ! -s /tmp/status.err -a ! -s /tmp/status.out
status "recv --timeout 0 on an empty channel: 5 at once" 5 "$C" recv u --timeout 0
status "send --timeout 200ms to an unbuffered channel without reader: 5" 5 "$C" send u --timeout 200ms hello
check "create buffered t2" c create t2 --capacity 2
c send t2 ready
same "recv --timeout with a message ready: 0" "ready rc=0" "$(c recv t2 --timeout 1s -n 1) rc=$?"
# Two messages 2 s apart, 4 s in all, with a timeout of 3.5 s: a deadline
# for the whole command would miss b.  The shell's echo sends them, not
# chanctl, whose start under TCG may take a second.
same "recv --timeout gives each message its own timeout, then 5" "a b rc=5" \
	"$( (sleep 2; echo a >/dev/chan/t2; sleep 2; echo b >/dev/chan/t2) &
	c recv t2 --timeout 3.5s | tr '\n' ' '; echo "rc=${PIPESTATUS[0]}"; wait)"

# --- unbuffered rendezvous ------------------------------------------------------------
(sleep 0.2; c send u "hand off") &
same "unbuffered: send meets recv" "hand off" "$(c recv u -n 1)"
wait
c recv u -n 1 >/tmp/u.out &
sleep 0.3
check "unbuffered: send returns once a reader took it" c send u --timeout 5s "to the reader"
wait
same "... and the reader has it" "to the reader" "$(cat /tmp/u.out)"

# --- several channels (select) ---------------------------------------------
c create s1 --capacity 4; c create s2 --capacity 4
c send s1 one; c send s2 two
out=$(c recv s1 s2 -n 2 | sort)
same "recv of two channels prefixes NAME: " "$(printf 's1: one\ns2: two')" "$out"
(sleep 0.3; c send u "via select") &
same "recv of several channels meets an unbuffered writer" "u: via select" "$(c recv s1 u -n 1)"
wait
c send s1 a1; c send s2 b1
c close s1
(sleep 0.3; c send s2 b2; c close s2) &
c recv s1 s2 >/tmp/sel.out; rc=$?
wait
same "EOF on one channel drops it; recv ends when all are closed" "s1: a1 s2: b1 s2: b2 |0" "$(sort /tmp/sel.out | tr '\n' ' ')|$rc"
status "select recv with --timeout on empty channels: 5" 5 "$C" recv u t2 --timeout 200ms

# --- autoclose -------------------------------------------------------------
check "create --autoclose" c create ac --capacity 8 --autoclose
same "stat shows autoclose: 1" "autoclose: 1" "$(c stat ac | grep '^autoclose:')"
c send ac x y
same "the last writer's close closes it: recv ends at EOF" "x y rc=0" "$(c recv ac | tr '\n' ' ')rc=$?"

# --- many messages ------------------------------------------------------------
check "create nums" c create nums --capacity 256
t0=$(date +%s%N)
{ seq 1 100000 | timeout 300 "$C" send nums; timeout 10 "$C" close nums; } &
res=$(timeout 300 "$C" recv nums | awk '{ s += $1; n++ } END { printf "%d %.0f\n", n, s }')
wait
ms=$((($(date +%s%N) - t0) / 1000000))
same "seq 1 100000 | chanctl send: 100000 messages, in full (${ms} ms)" "100000 5000050000" "$res"
same "stat: sent 100000" "sent: 100000" "$(c stat nums | grep '^sent:')"
if command -v strace >/dev/null; then
	c create eff --capacity 1000
	seq 1 1000 | strace -o /tmp/strace.out -e trace=read,write "$C" send eff
	w=$(grep -c '^write(3, ' /tmp/strace.out)
	r=$(grep -c '^read(0, ' /tmp/strace.out)
	check "send: one write(2) per message ($w for 1000), stdin read in blocks ($r reads)" \
		test "$w" = 1000 -a "$r" -le 3
	c destroy eff
else
	skip "send: one write(2) per message" "no strace"
fi

# --- permissions ----------------------------------------------------------------
if command -v setpriv >/dev/null; then
	check "create root-owned 0600 channel" c create private --capacity 1
	status "send as another user: permission denied (4)" 4 setpriv --reuid 65534 --regid 65534 --clear-groups "$C" send private hi
	status "destroy as another user: 4" 4 setpriv --reuid 65534 --regid 65534 --clear-groups "$C" destroy private
	status "close as another user: 4" 4 setpriv --reuid 65534 --regid 65534 --clear-groups "$C" close private
	status "stat as another user: permission denied (4)" 4 setpriv --reuid 65534 --regid 65534 --clear-groups "$C" stat private
	check "... saying whose counters they are" grep -q 'Permission denied' /tmp/status.err
	status "stat --json as another user: 4" 4 setpriv --reuid 65534 --regid 65534 --clear-groups "$C" stat --json private
	out=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$C" list)
	same "list as another user: '-' in every column of the 0600 channel" "private|-|-|-|-|-|-" \
		"$(awk '$1 == "private" { printf "%s|%s|%s|%s|%s|%s|%s", $1, $2, $3, $4, $5, $6, $7 }' <<<"$out")"
	check "list --json as another user: only the name of the 0600 channel" $PY -c '
import json, sys
l = {c["name"]: c for c in json.loads(sys.argv[1])}
assert l["private"] == {"name": "private"}, l["private"]
' "$(setpriv --reuid 65534 --regid 65534 --clear-groups "$C" list --json)"
	status "rm of its node as another user: refused" 1 setpriv --reuid 65534 --regid 65534 --clear-groups rm -f /dev/chan/private
	check "... and the channel is still there" test -c /dev/chan/private
	c destroy private
else
	skip "permission checks" "no setpriv"
fi

# --- timer channels ----------------------------------------------------------
if [ "$timers" = 1 ]; then
	check "create --after 200ms" c create once --after 200ms
	t0=$(date +%s%N)
	msg=$(c recv once -n 1)
	ms=$((($(date +%s%N) - t0) / 1000000))
	check "--after: one message, a CLOCK_MONOTONIC time in ns, after ~200 ms ($ms ms)" \
		test -n "$msg" -a "$msg" -gt 0 -a "$ms" -ge 100 -a "$ms" -lt 10000
	check "timer channel: capacity 1, msg_max 24" test "$(c stat once | grep -E '^(capacity|msg_max):' | tr '\n' ' ')" = "capacity: 1 msg_max: 24 "
	status "--after fires once: then recv --timeout 400ms times out (5)" 5 "$C" recv once --timeout 400ms
	status "send to a timer channel: 4 (EPERM)" 4 "$C" send once hi
	check "create --tick 100ms" c create tick --tick 100ms
	mapfile -t ticks <<<"$(c recv tick -n 3)"
	check "--tick: 3 increasing times ~100 ms apart (${ticks[*]})" test "${#ticks[@]}" = 3 -a \
		"$((${ticks[1]:-0} - ${ticks[0]:-0}))" -ge 90000000 -a "$((${ticks[2]:-0} - ${ticks[1]:-0}))" -ge 90000000
	c create fast --tick 1ms
	sleep 0.3
	d=$(chan_attr fast dropped 2>/dev/null || echo 0)
	check "unread ticks are dropped and counted (dropped=$d)" test "$d" -gt 10
	check "stat --json shows dropped" $PY -c '
import json, sys; j = json.loads(sys.argv[1]); assert j["dropped"] > 10 and j["capacity"] == 1, j' "$(c stat fast --json)"
	c create work
	c create deadline --after 300ms
	same "the timeout pattern: recv work deadline -n 1 gives the deadline" "deadline:" \
		"$(c recv work deadline -n 1 | cut -d' ' -f1)"
	status "--tick 10us is below the minimum: 1 (EINVAL)" 1 "$C" create tiny --tick 10us
	status "--after 1.5s parses" 0 "$C" create later --after 1.5s
	check "destroying a timer channel" c destroy once tick fast deadline later
else
	skip "timer channels" "this kchan has none (KCHAN_CREATE_AFTER)"
fi

# --- the man pages' examples ---------------------------------------------------
# Run as printed, from the page sources (groff's \- is a plain dash), with
# this chanctl first in PATH.
man7=$root/userspace/man/kchan.7
example() { # FILE FIRST-LINE: the example from FIRST-LINE to the next .EE
	awk -v first="$2" 'index($0, first) == 1 { on = 1 } on && /^\.EE/ { exit } on' "$1" |
		sed 's/\\-/-/g; s/\\(aq/'"'"'/g'
}
if [ "$timers" = 1 ] && [ -r "$man7" ]; then
	bindir=$(mktemp -d)
	ln -s "$C" "$bindir/chanctl"
	example "$man7" 'import ctypes' >/tmp/example.py
	example "$man7" 'chanctl create deadline' >/tmp/example.sh
	c destroy jobs 2>/dev/null	# the closed one of above
	c create jobs --capacity 4
	c send jobs hello
	same "kchan(7) Python example: a job is there" "got b'hello'" \
		"$(timeout $T $PY /tmp/example.py 2>&1)"
	c destroy deadline
	same "kchan(7) Python example: no job, the 2 s timer wins" "no job within 2 s" \
		"$(timeout $T $PY /tmp/example.py 2>&1)"
	c destroy deadline
	c send jobs hello
	same "kchan(7) shell example: a job is there" "got hello" \
		"$(PATH=$bindir:$PATH timeout $T bash /tmp/example.sh 2>&1)"
	same "kchan(7) shell example: no job, the 2 s timer wins" "no job within 2 s" \
		"$(PATH=$bindir:$PATH timeout $T bash /tmp/example.sh 2>&1)"
	c destroy jobs
	rm -rf "$bindir"
else
	skip "the man pages' examples" "no timer channels or no $man7"
fi

# --- destroy ------------------------------------------------------------------
status "destroy of a missing channel: 3, and the others go" 3 "$C" destroy nosuch u
check "... u went" test ! -e /dev/chan/u
check "create re" c create re --capacity 2
c send re old
exec {old}</dev/chan/re
id_old=$(chan_attr re kchan-id)
check "destroy re while an fd of it is open" c destroy re
check "re-create re at once: the name is free" c create re --capacity 2
same "the new re is another channel, empty, without the old reader" "length: 0 readers: 0" \
	"$(c stat re | grep -E '^(length|readers):' | tr '\n' ' ' | sed 's/ $//')"
check "... with another id" test "$(chan_attr re kchan-id)" != "$id_old"
rc=0; dd bs=64 count=1 <&"$old" >/dev/null 2>/tmp/dd.err || rc=$?
check "the old fd fails (ENODEV), it never reaches the new re" test "$rc" != 0
check "... No such device" grep -q 'No such device' /tmp/dd.err
exec {old}<&-
check "create rmme" c create rmme
check "rm /dev/chan/rmme destroys it" rm /dev/chan/rmme
status "... stat rmme: no such channel (3)" 3 "$C" stat rmme
status "rm /dev/chan/.control: refused" 1 rm -f /dev/chan/.control
check "... .control is still there" chan_loaded
# shellcheck disable=SC2046 # channel names have no blanks
c destroy $(ls /dev/chan) 2>/dev/null
check "everything destroyed" test -z "$(ls /dev/chan)"
same "list of nothing prints the header only" "NAME  CAPACITY  LENGTH  MSG_MAX  CLOSED  READERS  WRITERS" "$(c list)"
same "list --json of nothing: []" "[]" "$(c list --json)"

echo "1..$n"
[ "$failed" = 0 ]
