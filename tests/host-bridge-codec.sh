#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# chanbridge's frame codec on the host (no guest): the unit test's TAP, then
# every file of the committed fuzz seed corpus through the decoder once
# when the fuzz target is built (make fuzz builds it).
#
#   tests/host-bridge-codec.sh
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build/userspace/chanbridge
T=$out/codec_test
# shellcheck source=tests/lib/ktap.sh
. "$root/tests/lib/ktap.sh"

if [ ! -x "$T" ]; then
	ktap_print_header
	ktap_skip_all "no $T (make userspace)"
	exit 0
fi
# The unit test prints its own plan; the corpus replay is one more line.
"$T" | sed '/^1\.\.[0-9]*$/d' >/tmp/codec.tap.$$
rc=${PIPESTATUS[0]}
cat /tmp/codec.tap.$$
n=$(grep -c '^\(not \)\?ok ' /tmp/codec.tap.$$)	# numbering goes on from the unit test's
rm -f /tmp/codec.tap.$$
if [ -x "$out/fuzz_frame" ]; then
	if "$out/fuzz_frame" -runs=0 "$root"/userspace/chanbridge/fuzz/corpus >/dev/null 2>&1; then
		ok "the seed corpus replays through the fuzz target clean"
	else
		not_ok "the seed corpus replays through the fuzz target clean"
		rc=1
	fi
else
	skip "seed corpus replay" "no fuzz_frame (make fuzz)"
fi
echo "1..$n"
exit "$rc"
