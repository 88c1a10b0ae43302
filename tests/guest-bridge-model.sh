#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The kernel model of chanbridge's host-only tests (userspace/chanbridge/
# model/, issue 13) against the real module: model_diff runs the same seeded
# random operations (hold, ack, return, release, send-once, stream-seq,
# forget, read, write, close on five files of one channel) on /dev/chan and
# on the model and compares every result, poll readiness and INFO after
# every step.  Prints TAP.
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
# What the runs covered, for the log.
"$D" --model-only -v --seed 1 --rounds 40 --steps 300 2>&1 | grep -v ': round ' | diag
bridge_done
