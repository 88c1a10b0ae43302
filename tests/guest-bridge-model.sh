#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The kernel model of chanbridge's host-only tests (userspace/chanbridge/
# model/, issue 13) against the real module: model_diff runs the same seeded
# random operations (hold, ack, return, release, send-once, stream-seq,
# forget, read, write, close on five files of one channel) on /dev/chan and
# on the model and compares every result, poll readiness and INFO after
# every step; and every mutant of the model, one kernel rule broken each,
# must differ.  Prints TAP.
#
#   tools/vm/run --kernel KVER -- tests/guest-bridge-model.sh
set -uo pipefail
# shellcheck source=../userspace/chanbridge/tests/lib.sh
. "$(dirname "$0")/../userspace/chanbridge/tests/lib.sh"
bridge_init
D=$root/build/userspace/chanbridge/model_diff

if [ ! -x "$D" ]; then
	skip "model_diff" "no $D (make userspace)"
	bridge_done
	exit
fi
for seed in 1 2 3 4 5 6; do
	check_quiet "seed $seed: 40 rounds of 300 steps, kernel and model agree" \
		"$D" --seed "$seed" --rounds 40 --steps 300
done
check_quiet "seed 99: 4 rounds of 3000 steps, kernel and model agree" \
	"$D" --seed 99 --rounds 4 --steps 3000
# The test can see a wrong model: each mutant breaks one kernel rule
# (userspace/chanbridge/tests/model_mutants.py), and each must differ.
mutants=0
for m in "$root"/build/userspace/chanbridge/model-mutants/model_diff_*; do
	case $m in *.d | *.c) continue ;; esac
	[ -x "$m" ] || continue
	mutants=$((mutants + 1))
	name=${m##*/model_diff_}
	"$m" --seed 1 --rounds 20 --steps 300 >"$W"/mutant.out 2>&1; rc=$?
	same "a model with $name differs from the kernel" 1 $rc
	grep -v ': round [0-9]*:' "$W"/mutant.out | tail -2 | diag
done
[ "$mutants" -gt 0 ] || skip "mutants of the model" "none built (make userspace)"
# What the runs covered, for the log.
"$D" --model-only -v --seed 1 --rounds 40 --steps 300 2>&1 | grep -v ': round ' | diag
bridge_done
