#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The chanbridge benchmark (`make bench-bridge`): messages/s and MB/s from
# guest B to guest A through chanbridge, against a raw TCP relay (socat) over
# the same link, and the harness's own ceiling without a network, all in one
# run of two guests (tools/vm/pair; the guests' side is bridge-guest.sh).
# Prints a table, writes build/bench/bridge.json and build/bench/bridge.txt.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/bench
cd "$root"

usage() {
	cat <<'EOF'
usage: tools/bench/bridge.sh [--kernel KVER] [--module PATH] [--count64 N] [--count4k N]

Boots two guests joined by a private link and, for 64 B and 4 KiB messages,
times N numbered messages from B to A three ways: within B alone (local:
the Python sender and reader, no network), through a socat relay over TCP,
and through chanbridge (serve on A with a PSK, import --send on B, default
window and capacities).  The receiver times each run from its first message
to its last.  Not a timed test: TCG and a shared host make the figures
relative, comparable only within one run.

  --kernel KVER   guest kernel (default: the newest non-RT kernel with headers)
  --module PATH   kchan.ko (default build/KVER/kchan.ko)
  --count64 N     messages at 64 B (default 20000)
  --count4k N     messages at 4 KiB (default 5000)

Results: build/bench/bridge.json, build/bench/bridge.txt.
EOF
}

kver='' module='' c64=20000 c4k=5000
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kver=${2:?}; shift 2 ;;
	--module) module=${2:?}; shift 2 ;;
	--count64) c64=${2:?}; shift 2 ;;
	--count4k) c4k=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
if [ -z "$kver" ]; then	# the newest non-RT kernel, as the Makefile's DEMO_KVER
	for d in /usr/src/linux-headers-*-amd64; do
		case "$d" in *-rt-amd64) continue ;; esac
		[ -d "$d" ] && kver=${d#/usr/src/linux-headers-}
	done
fi
[ -n "$kver" ] || { echo "bench-bridge: no kernel headers found; pass --kernel" >&2; exit 2; }
command -v socat >/dev/null || { echo "bench-bridge: needs socat (apt-get install socat)" >&2; exit 2; }

mkdir -p "$out"
raw=$out/bridge-raw.txt
args=(--kernel "$kver" --timeout 1800)
[ -n "$module" ] && args+=(--module "$module")
echo "bench-bridge: tools/vm/pair ${args[*]} -- tools/bench/bridge-guest.sh $c64 $c4k" >&2
rc=0
tools/vm/pair "${args[@]}" -- tools/bench/bridge-guest.sh "$c64" "$c4k" >"$raw" || rc=$?
grep -q 'SKIP' "$raw" && { cat "$raw"; exit 2; }

# "# [A]  @@bench {...}" lines: the results, from whichever side timed them.
sed -n 's/^# \[[AB]\] *@@bench //p' "$raw" |
	python3 tools/bench/bridge_report.py "$kver" "$c64" "$c4k" "$out/bridge.json" |
	tee "$out/bridge.txt"
grep -q '^not ok' "$raw" && { echo "bench-bridge: a guest failed; see $raw" >&2; rc=1; }
echo "bench-bridge: results in $out/bridge.json, table $out/bridge.txt, raw $raw" >&2
exit "$rc"
