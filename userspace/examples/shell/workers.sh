#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A worker pool in bash: W background workers pull jobs from one buffered
# channel and put results on another; main checks every result arrives
# exactly once.
#
#   producer --jobs (cap 8)--> worker 0..W-1 --results (cap 8)--> cat
#
# Both channels are --autoclose, so they end like pipes: the producer's loop
# writes through one open file, and when the loop ends the file is released,
# `jobs` closes, and each worker's recv sees EOF once the jobs are drained.
# The workers all write through one file opened for the group that starts
# them; when the last worker exits, `results` closes and `cat` ends.
#
# usage: workers.sh [WORKERS [JOBS]]   (default 4 and 40)
set -u
. "$(dirname "$0")/chan.sh"

nworkers=${1:-4}
njobs=${2:-40}
jobs=sh-workers$$-jobs
results=sh-workers$$-results

worker() {
	local w=$1 job
	# Each recv takes one job: every job goes to exactly one worker.
	while job=$(recv "$jobs") && [ -n "$job" ]; do
		echo "$job $((job * job)) $w" >&3	# one echo, one message
	done
}

"$chanctl" create "$jobs" --capacity 8 --msg-max 64 --autoclose || exit 1
"$chanctl" create "$results" --capacity 8 --msg-max 64 --autoclose || exit 1

for ((job = 0; job < njobs; job++)); do
	echo "$job"				# blocks while 8 jobs are queued
done >"/dev/chan/$jobs" &

{
	for ((w = 0; w < nworkers; w++)); do
		worker "$w" &
	done
} 3>"/dev/chan/$results"			# we keep no copy of fd 3

# cat reads one message per read(), and ends at EOF: when the last worker is gone.
out=$(cat "/dev/chan/$results")
ok=1
for job in $(jobs -p); do
	wait "$job" || ok=0
done
"$chanctl" destroy "$jobs" "$results" || ok=0

# Every job 0..N-1 exactly once, with its square.
if ! awk -v n="$njobs" '
	{ seen[$1]++; if ($2 != $1 * $1) { print "wrong result: " $0; bad = 1 }; by[$3]++ }
	END {
		for (j = 0; j < n; j++)
			if (seen[j] != 1) { print "job " j " seen " seen[j] + 0 " times"; bad = 1 }
		if (NR != n) { print NR " results for " n " jobs"; bad = 1 }
		for (w in by) share = share sprintf(" worker %s: %d", w, by[w])
		print (bad ? "FAIL" : "ok") ": " NR " results, each exactly once (" share " )"
		exit bad
	}' <<<"$out"; then
	exit 1
fi
[ "$ok" = 1 ] || { echo "FAIL: a worker failed, or a channel was missing" >&2; exit 1; }
