#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# chanbridge's whole exactly-once scenarios on the host (no guest, issue 13):
# scenario_test runs a serve and one or two importers in one process on the
# kernel model, through an in-process relay (clean both ways, the link cut
# three times, a half-dead first link, two importers with the holder
# killed, importer and serve killed and restarted, a man in the middle of a
# TLS link injecting frames, flipping a byte, replaying a record, storms of
# cuts and kills at random moments both ways), each
# wanting 1..N exactly once, in order, then end of file, with epoll loops
# and again with io_uring ones.  Then the same
# scenarios against mutants, each of which some scenario must fail (that is
# how we know they can): serve.c without its one-holder check
# (scenario_test-no-busy) and models with one kernel rule broken
# (scen-mutants/, tests/model_mutants.py's names).  The bridges' log goes to
# build/userspace/chanbridge/scenario_test.log, its tail shown on failure.
#
#   tests/host-bridge-scenarios.sh
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build/userspace/chanbridge
T=$out/scenario_test
log=$out/scenario_test.log
# shellcheck source=tests/lib/ktap.sh
. "$root/tests/lib/ktap.sh"

if [ ! -x "$T" ]; then
	ktap_print_header
	ktap_skip_all "no $T (make userspace)"
	exit 0
fi
# The test prints its own header; our lines follow its numbering.
"$T" 2>"$log" | sed '/^1\.\.[0-9]*$/d' >/tmp/scen.tap.$$
rc=${PIPESTATUS[0]}
cat /tmp/scen.tap.$$
# shellcheck disable=SC2034 # ktap.sh counts on from these
n=$(grep -c '^\(not \)\?ok ' /tmp/scen.tap.$$)
# shellcheck disable=SC2034
failed=$(grep -c '^not ok ' /tmp/scen.tap.$$)
rm -f /tmp/scen.tap.$$
[ "$rc" = 0 ] || tail -n 40 "$log" | diag
# The bridges' default event loop, io_uring, over the same scenarios.
if SCEN_IO=uring "$T" >/tmp/scen.tap.$$ 2>"$log.uring"; then
	ok "the scenarios with io_uring loops: $(grep -c '^ok' /tmp/scen.tap.$$) checks pass"
else
	not_ok "the scenarios with io_uring loops"
	grep '^not ok\|^# ' /tmp/scen.tap.$$ | diag
	tail -n 40 "$log.uring" | diag
	rc=1
fi
rm -f /tmp/scen.tap.$$

# The mutants, each with the scenarios that must fail its exactly-once check
# under it (a loss, a duplicate, a reordering, or no end of file).  Short
# limits (a mutant that hangs hangs at once), all at the same time: they
# mostly wait.
mutants=(
	"scenario_test-no-busy halfdead two-importers"
	"scen-mutants/scenario_test-ack-not-cumulative clean-recv clean-send cuts mitm-tls"
	"scen-mutants/scenario_test-return-to-head kills storm storm-send"
	"scen-mutants/scenario_test-release-keeps-holds kills"
)
tmp=$(mktemp -d)
for i in "${!mutants[@]}"; do
	read -r bin scens <<<"${mutants[$i]}"
	# shellcheck disable=SC2086 # the scenarios are words
	[ -x "$out/$bin" ] && SCEN_LIMIT=1000 "$out/$bin" $scens >"$tmp/$i" 2>/dev/null &
done
wait
for i in "${!mutants[@]}"; do
	read -r bin scens <<<"${mutants[$i]}"
	name=${bin##*scenario_test-}
	if [ ! -x "$out/$bin" ]; then
		skip "mutant $name" "no $out/$bin (make userspace)"
		continue
	fi
	for s in $scens; do
		if grep -q "^not ok [0-9]* - $s: 1\.\.[0-9]* exactly once" "$tmp/$i"; then
			ok "mutant $name: $s fails ($(grep -A1 "^not ok [0-9]* - $s: 1\.\." "$tmp/$i" |
				sed -n 's/^# //p' | head -n 1))"
		else
			not_ok "mutant $name: $s fails"
			grep "$s:" "$tmp/$i" | diag
		fi
	done
done
rm -rf "$tmp"
ktap_finished || rc=1
exit "$rc"
