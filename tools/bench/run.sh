#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The `make bench` driver: one guest run of the io_uring check, one of the
# benchmark, one of pathcost, then the chart on the host.  The guest sees the host read-only,
# so kchanbench sends its JSON and chart data back on stdout, framed by
# "@@kchanbench-file NAME" ... "@@kchanbench-end"; this script files them in
# build/bench/ and prints the rest (the table and the goals).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/bench
cd "$root"

usage() {
	cat <<'EOF'
usage: tools/bench/run.sh [--kernel KVER] [--no-check] [--no-path] [-- KCHANBENCH-ARGS...]

Runs build/bench/iouring_check (kselftest TAP), build/bench/kchanbench and
build/bench/pathcost in QEMU guests (tools/vm/run, kchan.ko loaded), then draws build/bench/chart.png
from build/bench/results.dat with gnuplot (installs gnuplot-nox if missing).
Build first: make -C tools/bench (make bench does).

  --kernel KVER   guest kernel (default: the newest installed non-RT
                  linux-headers-*-amd64, as make bench)
  --no-check      skip the io_uring check
  --no-path       skip pathcost (the per-message kernel path, one process)
  KCHANBENCH-ARGS passed on, e.g. -- --quick, or -- --only pingpong

Results: build/bench/results.json, results.dat, table.txt, chart.png,
iouring_check.tap, pathcost.txt.  Exit status: non-zero if the check failed, a figure
failed to run, or the guest run failed; missed goals are findings, not errors.
EOF
}

kver='' check=1 path=1
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kver=${2:?}; shift 2 ;;
	--no-check) check=0; shift ;;
	--no-path) path=0; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) usage >&2; exit 2 ;;
	esac
done
if [ -z "$kver" ]; then	# the newest non-RT kernel, as the Makefile's DEMO_KVER
	for d in /usr/src/linux-headers-*-amd64; do
		case "$d" in *-rt-amd64) continue ;; esac
		[ -d "$d" ] && kver=${d#/usr/src/linux-headers-}
	done
fi
[ -n "$kver" ] || { echo "bench: no kernel headers found; pass --kernel" >&2; exit 2; }
[ -x "$out/kchanbench" ] || { echo "bench: build first: make -C tools/bench" >&2; exit 2; }

if ! command -v gnuplot >/dev/null; then
	sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
	echo "bench: installing gnuplot-nox" >&2
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends gnuplot-nox </dev/null
fi

rc=0
if [ "$check" = 1 ]; then
	echo "bench: io_uring check (iou-wrk threads) on $kver" >&2
	if tools/vm/run --kernel "$kver" -- build/bench/iouring_check >"$out/iouring_check.tap"; then
		echo "bench: io_uring check: $(grep -c '^ok ' "$out/iouring_check.tap") ok" >&2
	else
		rc=1
		echo "bench: io_uring check FAILED:" >&2
		grep -E '^(not ok|# .*Expected|# .*:)' "$out/iouring_check.tap" >&2 || true
	fi
fi

rm -f "$out/results.json" "$out/results.dat" "$out/chart.png" "$out/table.txt" "$out/pathcost.txt"
raw=$out/guest-stdout.txt
echo "bench: tools/vm/run --kernel $kver -- build/bench/kchanbench --json build/bench/results.json $*" >&2
bench_rc=0
tools/vm/run --kernel "$kver" --timeout 900 -- \
	build/bench/kchanbench --json build/bench/results.json "$@" >"$raw" || bench_rc=$?

# Split the framed files out of the guest's stdout; the rest is the table.
awk -v dir="$out" '
	/^@@kchanbench-file / {
		name = $2
		file = (name ~ /^[A-Za-z0-9._-]+$/) ? dir "/" name : ""
		if (file != "") printf "" > file
		next
	}
	/^@@kchanbench-end$/ { if (file != "") close(file); file = ""; next }
	file != "" { print > file; next }
	{ print }
' "$raw" >"$out/table.txt"
cat "$out/table.txt"

if [ "$path" = 1 ]; then
	echo "bench: kernel path (pathcost) on $kver" >&2
	if tools/vm/run --kernel "$kver" -- build/bench/pathcost >"$out/pathcost.txt"; then
		echo; cat "$out/pathcost.txt"
	else
		rc=1
		echo "bench: pathcost FAILED" >&2
	fi
fi

if [ -s "$out/results.dat" ]; then
	gnuplot -e "datafile='$out/results.dat'; outfile='$out/chart.png'; subtitle='$kver, $(date +%F)'" \
		tools/bench/chart.gp
	echo "bench: results in $out/results.json, chart $out/chart.png" >&2
else
	echo "bench: no chart data came back from the guest" >&2
	[ "$bench_rc" != 0 ] || bench_rc=1
fi
[ "$bench_rc" = 0 ] || rc=$bench_rc
exit "$rc"
