# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # the sourcing scripts read n and failed
# The TAP helpers of kchan's shell tests, in one place (issue 11): sourced by
# tests/*.sh, tests/lib/pair.sh, userspace/chanbridge/tests/lib.sh, the
# examples' run-tests.sh and tools/vm/pair.  Modelled on the kernel's
# tools/testing/selftests/kselftest/ktap_helpers.sh (ktap_print_header,
# ktap_set_plan, ktap_skip_all, ktap_print_msg, ktap_test_pass/fail/skip,
# ktap_finished), with the short names these scripts have always used.
#
#   root=...; . "$root/tests/lib/ktap.sh"
#   ktap_print_header            TAP version 13
#   ok DESC / not_ok DESC        ok N - DESC / not ok N - DESC
#   skip DESC WHY                ok N - DESC # SKIP WHY
#   result ok|not-ok DESC        ok or not_ok
#   check DESC CMD...            ok when CMD succeeds
#   check_quiet DESC CMD...      the same, CMD's output shown (as diag) only on failure
#   same DESC WANT GOT           ok when GOT is WANT, else both as diag
#   diag                         stdin as "# " lines
#   ktap_skip_all WHY            1..0 # SKIP WHY
#   ktap_finished                the plan, 1..N, last; status 0 unless something failed
#
# The output is exactly what tools/check.sh and tools/vm/pair parse: keep it.
# Counters: n (tests so far) and failed (of them, not ok).

n=${n:-0} failed=${failed:-0}

ktap_print_header() { echo "TAP version 13"; }
ktap_set_plan() { echo "1..$1"; }
ktap_skip_all() { echo "1..0 # SKIP $*"; }
ktap_print_msg() { echo "# $*"; }

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
result() { if [ "$1" = ok ]; then ok "$2"; else not_ok "$2"; fi; }
diag() { sed 's/^/# /'; }

check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
check_quiet() {
	local d=$1 out rc=0; shift
	out=$(mktemp)
	"$@" >"$out" 2>&1 || rc=$?
	if [ "$rc" = 0 ]; then ok "$d"; else not_ok "$d"; diag <"$out"; fi
	rm -f "$out"
	return 0
}
same() {	# same DESCRIPTION WANT GOT
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"
		printf 'want: %q\ngot:  %q\n' "$2" "$3" | diag
	fi
}

# The kernel's names, for scripts written against ktap_helpers.sh.
ktap_test_pass() { ok "$1"; }
ktap_test_fail() { not_ok "$1"; }
ktap_test_skip() { skip "$1" "${2:-}"; }

ktap_finished() { echo "1..$n"; [ "$failed" = 0 ]; }
