#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# sieve-demo.sh [N]: what `make demo` runs inside the guest, with kchan loaded.
#
# Runs the multi-process prime sieve (build/userspace/examples/c/sieve) for the
# first N primes (default 25), shows `chanctl list` while the whole pipeline
# is alive, checks the output against primes computed here by trial division,
# checks that every channel was destroyed and no sieve process is left, and
# ends with one PASS or FAIL line (exit 0 or 1; 2 for a bad N).
set -u

n=${1:-25}
case $n in
'' | *[!0-9]* | 0*)
	echo "usage: sieve-demo.sh [N]   (N: how many primes, 1 to 1000; default 25)" >&2
	exit 2 ;;
esac
[ "$n" -le 1000 ] || { echo "sieve-demo.sh: N is at most 1000" >&2; exit 2; }

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
[ -c /dev/chan-control ] || fail "/dev/chan-control is missing: is kchan loaded?"

work=$(mktemp -d "${TMPDIR:-/tmp}/sieve-demo.XXXXXX") || fail "mktemp"
trap 'rm -rf "$work"' EXIT

# Channel and process names the sieve uses: csieve<pid>-<i>, csieve<pid>-primes;
# workers are called csieve-gen and csieve-filter.
count_channels() {
	local d c=0
	for d in /sys/class/chan/"$1"*; do
		[ -e "$d" ] && c=$((c + 1))
	done
	echo "$c"
}
count_workers() {
	local f c=0 comm
	for f in /proc/[0-9]*/comm; do
		read -r comm 2>/dev/null <"$f" || continue
		case $comm in csieve-gen | csieve-filter) c=$((c + 1)) ;; esac
	done
	echo "$c"
}

stray=$(count_workers)
[ "$stray" -eq 0 ] || fail "$stray sieve processes are already running"

echo "== sieve $n: one process and one unbuffered channel per prime, plus a generator"
start=$EPOCHREALTIME
# The sieve's own timeout, as it would pick it (-t): its work grows as N squared.
limit=$((120 + n * n / 2000))
"$sieve" -t "$limit" --pause "$n" >"$work/out" 2>"$work/err" &
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
		live=$(count_channels "csieve$pid-")
		echo "== while it runs: $live channels, $(count_workers) worker processes"
		"$chanctl" list
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

# The first N primes, by trial division: obviously right, fast enough for N <= 1000.
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
left=$(count_channels "csieve$pid-")
[ "$left" -eq 0 ] || problems+=("$left channels left behind")
left=$(count_workers)
[ "$left" -eq 0 ] || problems+=("$left sieve processes left behind")

if [ ${#problems[@]} -eq 0 ]; then
	echo "PASS: sieve printed the first $n primes ($(tail -n 1 "$work/out") is the last) through $n filter processes; $live channels live at peak, all destroyed, no process left"
	exit 0
fi
msg=$(printf '%s; ' "${problems[@]}")
echo "FAIL: sieve-demo: ${msg%; }"
exit 1
