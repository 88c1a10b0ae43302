#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run-tests.sh: run the libchan C examples (build/userspace/examples/c) with
# kchan loaded, and print TAP.  Each example checks its own results and exits
# non-zero on any mismatch; this script only runs them and counts.
#
#   tools/vm/run --kernel KVER -- userspace/examples/c/run-tests.sh
#   tools/check.sh --only userspace/examples/c/run-tests.sh
#
# KCHAN_USERSPACE overrides the build directory (default: ../../../build/userspace).
set -u

here=$(cd "$(dirname "$0")" && pwd)
bin=${KCHAN_USERSPACE:-$(cd "$here/../../.." && pwd)/build/userspace}/examples/c

tests=(
	"c sieve|$bin/sieve -t 120 50"
	"c sieve buffered|$bin/sieve -t 120 -c 4 50"
	"c workers|$bin/workers -w 4 -n 1000 -t 120"
	"c workers, one worker|$bin/workers -w 1 -n 200 -t 120"
)

# shellcheck source=tests/lib/ktap.sh
. "$here/../../../tests/lib/ktap.sh"
ktap_print_header
ktap_set_plan "${#tests[@]}"
for t in "${tests[@]}"; do
	name=${t%%|*}
	cmd=${t#*|}
	if [ ! -c /dev/chan/.control ]; then
		skip "$name" "/dev/chan/.control is missing: kchan not loaded or not mounted"
		continue
	fi
	out=$(timeout -k 10 300 $cmd 2>&1)
	rc=$?
	printf '%s\n' "$out" | tail -n 5 | sed 's/^/# /'
	if [ $rc -eq 0 ]; then
		ok "$name"
	else
		not_ok "$name # exit status $rc"
	fi
done
[ $failed -eq 0 ]
