#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# sieve-demo.sh [-c CAPACITY] [N]: what `make demo` runs inside the guest, with
# kchan loaded.
#
# Runs the multi-process prime sieve (build/userspace/examples/c/sieve) for the
# first N primes (default 25), over unbuffered channels as Go's sieve, or with
# -c over buffered ones of that capacity (make demo CAPACITY=64: the writers
# block once per CAPACITY messages, not once per message), counts its channels while the whole pipeline is
# alive (they are anonymous, as Go's are: no names, no nodes in /dev/chan, so
# they are counted by the kchan-id lines in the sieve processes'
# /proc/PID/fdinfo), checks the output against primes computed here by trial
# division, checks that no sieve process and so no channel is left, and ends
# with one PASS or FAIL line (exit 0 or 1; 2 for a bad N).  For a large N it
# raises the limits of the /dev/chan instance (mount -o remount,max=,max_user=)
# for the run, and puts them back after.
set -u

usage() {
	echo "usage: sieve-demo.sh [-c CAPACITY] [N]   (N: how many primes, 1 to 5000; default 25; CAPACITY: of each channel, default 0, unbuffered)" >&2
	exit 2
}
cap=0
if [ "${1:-}" = -c ]; then
	cap=${2:-}
	shift 2 || usage
fi
case $cap in '' | *[!0-9]* | 0?*) usage ;; esac
[ $# -le 1 ] || usage
n=${1:-25}
case $n in '' | *[!0-9]* | 0*) usage ;; esac
[ "$n" -le 5000 ] || { echo "sieve-demo.sh: N is at most 5000" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
bin=${KCHAN_USERSPACE:-$(cd "$here/../.." && pwd)/build/userspace}
sieve=$bin/examples/c/sieve
chanctl=$bin/chanctl

fail() {
	echo "FAIL: sieve-demo: $*"
	exit 1
}

for prog in "$sieve" "$chanctl"; do
	[ -x "$prog" ] || fail "$prog is missing: run 'make userspace' first"
done
[ -c /dev/chan/.control ] || fail "/dev/chan/.control is missing: is kchan loaded and mounted on /dev/chan?"

work=$(mktemp -d "${TMPDIR:-/tmp}/sieve-demo.XXXXXX") || fail "mktemp"
restore=''
cleanup() {
	[ -z "$restore" ] || mount -o "remount,$restore" /dev/chan
	rm -rf "$work"
}
trap cleanup EXIT

# The sieve's workers are called csieve-gen and csieve-filter.
worker_pids() {
	local f comm
	for f in /proc/[0-9]*/comm; do
		read -r comm 2>/dev/null <"$f" || continue
		case $comm in csieve-gen | csieve-filter) f=${f#/proc/}; echo "${f%/comm}" ;; esac
	done
}
count_workers() {
	worker_pids | wc -l
}
# The channels the sieve (PID $1) and its workers have fds on: each channel
# fd's fdinfo names its channel's kchan-id.
count_channels() {
	local p files=()
	for p in "$1" $(worker_pids); do
		files+=(/proc/"$p"/fdinfo/*)
	done
	awk '$1 == "kchan-id:" { print $2 }' "${files[@]}" 2>/dev/null | sort -u | wc -l
}

# N + 1 channels, all this user's: within the instance's limits?
opts=$(awk '$2 == "/dev/chan" && $3 == "kchan" { print $4 }' /proc/mounts | tail -n 1)
opt() { tr ',' '\n' <<<"$opts" | sed -n "s/^$1=//p"; }
max=$(opt max) max_user=$(opt max_user)
if [ -n "$max" ] && [ -n "$max_user" ] && { [ "$max" -lt $((n + 65)) ] || [ "$max_user" -lt $((n + 17)) ]; }; then
	new_max=$((max > n + 65 ? max : n + 65)) new_user=$((max_user > n + 17 ? max_user : n + 17))
	mount -o "remount,max=$new_max,max_user=$new_user" /dev/chan ||
		fail "$((n + 1)) channels are over /dev/chan's limits ($opts), and the remount to raise them failed"
	restore="max=$max,max_user=$max_user"
	echo "== /dev/chan's limits raised for the run: max=$new_max, max_user=$new_user (were $max, $max_user)"
fi

stray=$(count_workers)
[ "$stray" -eq 0 ] || fail "$stray sieve processes are already running"

kind=unbuffered
[ "$cap" = 0 ] || kind="buffered (capacity $cap)"
echo "== sieve $n: one process and one anonymous $kind channel per prime, plus a generator"
start=$EPOCHREALTIME
# The sieve's own timeout, as it would pick it (-t): its work grows as N squared.
limit=$((120 + n * n / 2000))
"$sieve" -c "$cap" -t "$limit" --pause "$n" >"$work/out" 2>"$work/err" &
pid=$!

# --pause: the sieve stops itself once all N primes are in, pipeline intact.
live=-
deadline=$((SECONDS + limit + 30))
while [ $SECONDS -lt $deadline ]; do
	read -r stat 2>/dev/null </proc/$pid/stat || break	# exited already
	state=${stat##*) }
	state=${state%% *}
	[ "$state" != Z ] || break
	if [ "$state" = T ]; then
		live=$(count_channels "$pid")
		echo "== while it runs: $live channels, $(count_workers) worker processes; no channel has a name:"
		"$chanctl" list
		for f in /proc/"$pid"/fdinfo/*; do
			if grep -q '^kchan-id:' "$f" 2>/dev/null; then
				echo "== the sieve's end of primes, $f:"
				cat "$f"
				break
			fi
		done
		kill -CONT "$pid"
		break
	fi
	sleep 0.05
done
[ $SECONDS -lt $deadline ] || { kill -KILL "$pid"; echo "sieve-demo: the sieve did not finish in $((limit + 30)) s" >&2; }
wait "$pid"
rc=$?
end=$EPOCHREALTIME

echo "== output (sieve exited with status $rc after $(awk "BEGIN { printf \"%.1f\", $end - $start }") s)"
cat "$work/out"
if [ -s "$work/err" ]; then
	echo "== sieve's stderr"
	cat "$work/err"
fi

# The first N primes, by trial division: obviously right, fast enough for N <= 5000.
awk -v n="$n" 'BEGIN {
	for (c = 2; found < n; c++) {
		prime = 1
		for (d = 2; d * d <= c; d++)
			if (c % d == 0) { prime = 0; break }
		if (prime) { print c; found++ }
	}
}' >"$work/expected"

problems=()
[ "$rc" -eq 0 ] || problems+=("the sieve exited with status $rc")
if ! cmp -s "$work/out" "$work/expected"; then
	problems+=("output differs from the first $n primes")
	diff "$work/expected" "$work/out" | head -20 | sed 's/^/    /'
fi
[ "$live" = $((n + 1)) ] ||
	problems+=("expected $((n + 1)) live channels while paused, saw $live")
left=$(count_channels "$pid")
[ "$left" -eq 0 ] || problems+=("$left channels left behind (still open in sieve processes)")
left=$(count_workers)
[ "$left" -eq 0 ] || problems+=("$left sieve processes left behind")

if [ ${#problems[@]} -eq 0 ]; then
	echo "PASS: sieve printed the first $n primes ($(tail -n 1 "$work/out") is the last) through $n filter processes on $kind channels in $(awk "BEGIN { printf \"%.1f\", $end - $start }") s; $live anonymous channels live at peak, all gone with their processes, no process left"
	exit 0
fi
msg=$(printf '%s; ' "${problems[@]}")
echo "FAIL: sieve-demo: ${msg%; }"
exit 1
