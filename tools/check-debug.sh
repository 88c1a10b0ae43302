#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The debug lanes: guest test programs on a kernel that watches kchan with
# its own bug detectors.
#   make check-debug  (--flavour debug, the default): the selftest and stress
#                     suite on KASAN, lockdep, kmemleak, UBSAN, debug objects,
#                     atomic-sleep checks; fault injection available to the
#                     tests
#   make check-kcsan  (--flavour kcsan): the concurrency tests on KCSAN, the
#                     data-race detector (a kernel of its own: KCSAN excludes
#                     KASAN)
# Steps: build that kernel unless it is cached (tools/debug-kernel/build),
# kchan.ko against it and the test programs, then tools/check.sh on it.  Any
# report fails the lane and is shown: tools/vm/run fails a guest run on a
# console report ("BUG: KASAN: ...", "BUG: KCSAN: data-race in ...", lockdep,
# ...) or a kmemleak leak after rmmod, and tools/check.sh names the program
# that was running.  Ends with the line "N passed, N failed" like make check.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

usage() {
	cat <<'EOF2'
usage: tools/check-debug.sh [--flavour debug|kcsan] [--all | --only PROG[,PROG...]]

Builds the debug kernel of that flavour if needed (about 10 min on 2 idle
cores, cached in ${KCHAN_CACHE:-~/.cache/kchan}/debug-kernel), kchan.ko for
it and the test programs, then runs tools/check.sh on it.
  --flavour debug  (default) KASAN, lockdep, kmemleak, UBSAN, debug objects,
                   fault injection; runs the selftest and stress suite:
                   every build/selftests/chan_* (the kernel's selftests,
                   libchan's tests, fault injection, the concurrent fuzzer,
                   the history checker) and tests/guest-lincheck.sh if there
  --flavour kcsan  KCSAN; runs the concurrency tests: chan_concurrency,
                   chan_stress, chan_select, chan_hold, chan_poll, chan_close,
                   chan_batch, chan_seams, and the history checker (build/selftests/chan_lincheck,
                   tests/guest-lincheck.sh) where they exist
  --all            every guest program, also the examples and the bridge tests
                   (user-space programs over the same kernel paths: about an
                   hour more under the detectors)
  --only PROGS     only these programs (as tools/check.sh --only)
Environment: KCHAN_PROG_TIMEOUT (per program, default 1800 s here: the
detectors slow everything down), KCHAN_VM_TIMEOUT (the guest run, default
4800 s), DEBUG_JOBS (make -j for the kernel, default: the CPUs).
EOF2
}

check_args=(--no-vm-selftest)
all=0 only=0 flavour=debug
while [ $# -gt 0 ]; do
	case "$1" in
	--only) check_args+=(--only "${2:?}"); only=1; shift 2 ;;
	--all) all=1; shift ;;
	--flavour | --flavor) flavour=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
case $flavour in
debug | kcsan) ;;
*) usage >&2; exit 2 ;;
esac
lane=check-$flavour
[ "$flavour" = kcsan ] || lane=check-debug

# A step that fails before the tests counts as one failure, so the lane
# still ends with its count.
step_failed() {
	echo "$lane: $*" >&2
	echo
	echo "0 passed, 1 failed"
	exit 1
}

t0=$(date +%s)
kbuild=(tools/debug-kernel/build --flavour "$flavour")
kdir=$("${kbuild[@]}" --print-dir 2>/dev/null) && built=cached || built=
if [ -z "$built" ]; then
	kdir=$("${kbuild[@]}" --jobs "${DEBUG_JOBS:-$(nproc)}") ||
		step_failed "building the $flavour kernel failed"
	built="built in $(cat "$kdir/build-seconds") s"
fi
kver=$(cat "$kdir/release")
t1=$(date +%s)

make --no-print-directory DEBUG_FLAVOUR="$flavour" debug-module check-debug-build ||
	step_failed "building kchan.ko for $kver or the test programs failed"
t2=$(date +%s)
if [ $all = 0 ] && [ $only = 0 ]; then
	# Every selftest program there is (a new one joins by being built),
	# or on KCSAN the ones whose point is concurrency; the history checker
	# in either form wherever it exists.
	case $flavour in
	debug) progs=$(cd build/selftests 2>/dev/null && ls -1d chan_*) || progs= ;;
	kcsan) progs=$(for p in chan_concurrency chan_stress chan_select chan_hold chan_poll \
			chan_close chan_batch chan_seams chan_lincheck; do
			[ -x "build/selftests/$p" ] && echo "$p"; done) || true ;;
	esac
	if [ -x tests/guest-lincheck.sh ]; then progs+=$'\n'tests/guest-lincheck.sh; fi
	progs=$(grep -v '^$' <<<"$progs" | paste -sd, -) || true
	[ -n "$progs" ] || step_failed "no test programs in build/selftests"
	check_args+=(--only "$progs")
fi

# Everything runs several times slower under KASAN, lockdep and
# SLUB_DEBUG_ON, or KCSAN's watchpoints, and under TCG on top.
export KCHAN_PROG_TIMEOUT=${KCHAN_PROG_TIMEOUT:-1800}
export KCHAN_VM_TIMEOUT=${KCHAN_VM_TIMEOUT:-4800}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
tools/check.sh "${check_args[@]}" "$kver" 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}
t3=$(date +%s)

# tools/vm/run quotes only the first 30 lines of the first report; a KASAN
# or lockdep report is longer.  Show it whole, with file:line where the
# kernel's and the module's debug info can say.
log=$(sed -n 's/.*(guest run): .*console log \(\/.*\.log\)$/\1/p' "$out" | tail -n 1)
if [ -n "$log" ] && [ -r "$log" ]; then
	reports=$(grep -n -E 'BUG:|BUG [^ ]+ \((Not t|T)ainted|WARNING:|UBSAN:|unreferenced object|Oops|general protection|Kernel panic|INFO: task .* blocked|possible (circular|recursive) locking|inconsistent lock state|suspicious RCU usage' "$log" |
		grep -v 'kchan-vm: ' | tr -d '\r' || true)
	first=$(head -n 1 <<<"$reports" | cut -d: -f1)
	if [ -n "$first" ]; then
		# KCSAN reports each race once (per 3 s), KASAN each bad access:
		# list them all, then show the first whole.
		echo
		echo "=== kernel reports in $log: $(wc -l <<<"$reports") ==="
		head -n 40 <<<"$reports" | sed 's/^/  line /'
		echo
		echo "=== the first kernel report ($log, line $first) ==="
		src=$(readlink -f "$kdir/build/source" || true)
		# sed, not tail | head: head's early exit would be a SIGPIPE
		# that pipefail and set -e turn into the end of the lane.
		report=$(sed -n "$first,$((first + 149))p" "$log" | tr -d '\r')
		if [ -n "$src" ] && [ -x "$src/scripts/decode_stacktrace.sh" ]; then
			"$src/scripts/decode_stacktrace.sh" "$kdir/build/vmlinux" "$src" \
				"$root/build/$kver" <<<"$report" 2>/dev/null || echo "$report"
		else
			echo "$report"
		fi
	fi
fi

echo
echo "$lane: kernel $kver ($built, $kdir); module and programs $((t2 - t1)) s; tests $((t3 - t2)) s; lane $((t3 - t0)) s"
count=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$out" | tail -n 1 || true)
if [ -z "$count" ]; then
	count="0 passed, 1 failed"
	[ "$rc" != 0 ] || rc=1
fi
echo "$count"
exit "$rc"
