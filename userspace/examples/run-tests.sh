#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-tests.sh: run every language's examples, with kchan loaded (in the guest:
# tools/vm/run --kernel KVER -- userspace/examples/run-tests.sh), and print TAP.
#
# Builds nothing: the Go and Rust programs come from `make -C userspace/examples
# examples` (build/examples/), chanctl from `make userspace`.  A program that
# is not built is skipped (# SKIP), as is select_timeout.py on a kchan without
# timer channels (it exits 77).  Each example checks its own output; on top,
# each test must finish within its time limit, leave no process behind and
# leave no channel behind.  Exit status 1 if any test failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${KCHAN_EXAMPLES_BIN:-$root/build/examples}
export CHANCTL=${CHANCTL:-$root/build/userspace/chanctl}
limit=${KCHAN_EXAMPLES_TIMEOUT:-120}	# seconds per test; tools/check.sh gives the whole script 300

# name | what must exist | command
tests=(
	"shell sieve|$CHANCTL|$here/shell/sieve.sh 12"
	"shell workers|$CHANCTL|$here/shell/workers.sh 4 40"
	"python sieve|/usr/bin/python3|/usr/bin/python3 $here/python/sieve.py 25"
	"python workers|/usr/bin/python3|/usr/bin/python3 $here/python/workers.py 4 200"
	"python select_timeout|/usr/bin/python3|/usr/bin/python3 $here/python/select_timeout.py"
	"python anon|/usr/bin/python3|/usr/bin/python3 $here/python/anon.py 8 200"
	"go sieve|$bin/go/sieve|$bin/go/sieve 100"
	"go workers|$bin/go/workers|$bin/go/workers 8 1000"
	"go anon|$bin/go/anon|$bin/go/anon 8 1000"
	"rust sieve|$bin/rust/sieve|$bin/rust/sieve 100"
	"rust workers|$bin/rust/workers|$bin/rust/workers 8 1000"
	"rust anon|$bin/rust/anon|$bin/rust/anon 8 1000"
)

if [ ! -c /dev/chan/.control ]; then
	echo "Bail out! /dev/chan/.control is missing: is kchan loaded and mounted on /dev/chan?"
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kchan-examples.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

# The named channels (anonymous ones have no node: each anon test checks
# itself that its channels go with their fds).
channels() {
	ls /dev/chan 2>/dev/null
}

# Processes in process group $1 (GNU timeout leads its own group).
group_members() {
	local stat pids=()
	for stat in /proc/[0-9]*/stat; do
		read -r stat 2>/dev/null <"$stat" || continue
		stat=${stat##*) }			# state ppid pgrp ...
		read -r _ _ pgrp _ <<<"$stat"
		[ "$pgrp" = "$1" ] && pids+=("${stat%% *}")
	done
	echo "${#pids[@]}"
}

# shellcheck source=tests/lib/ktap.sh
. "$root/tests/lib/ktap.sh"
ktap_set_plan "${#tests[@]}"
for t in "${tests[@]}"; do
	IFS='|' read -r name needs cmd <<<"$t"
	if [ ! -x "$needs" ]; then
		skip "$name" "$needs is missing (not built?)"
		continue
	fi

	channels >"$work/before"
	start=$EPOCHREALTIME
	# shellcheck disable=SC2086 # cmd is words: the paths have no spaces
	timeout -k 10 "$limit" $cmd >"$work/out" 2>&1 &
	group=$!
	wait "$group"
	rc=$?
	secs=$(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $start }")

	problems=()
	case $rc in
	0) ;;
	77)
		why=$(tail -n 1 "$work/out")
		skip "$name" "${why#SKIP: }"
		continue ;;
	124 | 137) problems+=("timed out after $limit s") ;;
	*) problems+=("exit status $rc") ;;
	esac
	left=$(group_members "$group")
	if [ "$left" != 0 ]; then
		problems+=("processes left behind: $left")
		kill -KILL -- "-$group" 2>/dev/null
		sleep 0.5
	fi
	channels >"$work/after"
	comm -13 "$work/before" "$work/after" >"$work/leaked"	# (no /dev/fd in the guest)
	mapfile -t leaked <"$work/leaked"
	if [ ${#leaked[@]} -gt 0 ]; then
		problems+=("channels left behind: ${leaked[*]}")
		"$CHANCTL" destroy "${leaked[@]}" >/dev/null 2>&1
	fi

	if [ ${#problems[@]} -eq 0 ]; then
		ok "$name"
		last=$(tail -n 1 "$work/out")
		echo "# ${last:+$last }[$secs s]"
	else
		msg=$(printf '%s; ' "${problems[@]}")
		not_ok "$name # ${msg%; }"
		tail -n 30 "$work/out" | sed 's/^/#   /'
	fi
done
[ "$failed" -eq 0 ] || echo "# $failed of ${#tests[@]} failed"
exit $((failed > 0))
