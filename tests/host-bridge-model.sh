#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# chanbridge's kernel model on the host (no guest, issue 13): its unit
# test's TAP (hold, ack, return, streams, close, unbuffered waiters, the
# pipe fds under poll and epoll), then the differential test's random
# sequences on the model alone, its pipe fds held to its own poll masks;
# and the protocol engine's fuzz target over its seeds, when built.
# tests/guest-bridge-model.sh holds the model to the real module.
#
#   tests/host-bridge-model.sh
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build/userspace/chanbridge
T=$out/model_test D=$out/model_diff
# shellcheck source=tests/lib/ktap.sh
. "$root/tests/lib/ktap.sh"

if [ ! -x "$T" ] || [ ! -x "$D" ]; then
	ktap_print_header
	ktap_skip_all "no $T or $D (make userspace)"
	exit 0
fi
# The unit test prints its own header and plan; ours follows its numbering.
"$T" | sed '/^1\.\.[0-9]*$/d' >/tmp/model.tap.$$
rc=${PIPESTATUS[0]}
cat /tmp/model.tap.$$
# shellcheck disable=SC2034 # ktap.sh counts on from these
n=$(grep -c '^\(not \)\?ok ' /tmp/model.tap.$$)
# shellcheck disable=SC2034
failed=$(grep -c '^not ok ' /tmp/model.tap.$$)
rm -f /tmp/model.tap.$$
check_quiet "model_diff --model-only: 100 rounds of 400 steps, pipes agree with kchm_poll" \
	"$D" --model-only --seed 1 --rounds 100 --steps 400
# The protocol engine's fuzz target, when built (make fuzz-build): the seed
# corpus replays clean (hostile-resume-acks-unsent among it: issue 13, a
# hostile RESUME made the source ack what it never sent); an input kept in
# fuzz/conn-crashes/ that breaks the delivery contract is reported as a
# skip until the bridge is fixed.
F=$out/fuzz_conn
if [ -x "$F" ]; then
	check_quiet "fuzz_conn: the seed corpus keeps the delivery contract" \
		"$F" -runs=0 "$root"/userspace/chanbridge/fuzz/conn-corpus
	for c in "$root"/userspace/chanbridge/fuzz/conn-crashes/*; do
		[ -e "$c" ] || continue	# none kept
		if "$F" -runs=0 "$c" >/dev/null 2>&1; then
			ok "fuzz_conn: ${c##*/} keeps the contract now (fixed: move it to conn-corpus)"
		else
			skip "fuzz_conn: ${c##*/}" "breaks the delivery contract"
		fi
	done
else
	skip "fuzz_conn replay" "no fuzz_conn (make fuzz-build)"
fi
ktap_finished || rc=1
exit "$rc"
