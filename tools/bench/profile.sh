#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/bench/profile.sh [--kernel KVER] FIGURE...: where the time of
# kchanbench figures goes, profiled inside one guest (tools/vm/run) with
# perf's software cpu-clock event, which works without a PMU under TCG.
# For each figure id (kchanbench --list) it prints the figure, the hottest
# symbols of the whole system while it ran (kernel and user, self time,
# in percent of all samples, the idle loop left out) and the software counters of perf stat
# (context switches, task clock).  Needs Debian's linux-perf on the host
# (the guest runs the host's perf) and make -C tools/bench.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
kver=''
if [ "${1:-}" = --kernel ]; then
	kver=${2:?}
	shift 2
fi
[ $# -gt 0 ] || { echo "usage: tools/bench/profile.sh [--kernel KVER] FIGURE..." >&2; exit 2; }

if [ "${KCHAN_PROFILE_GUEST:-}" = 1 ]; then
	# In the guest: the host's perf (bookworm's linux-perf, for 6.1, also
	# reads a 6.12 kernel's software events and kallsyms).
	perf=$(command -v perf) || { echo "profile: no perf (apt-get install linux-perf)" >&2; exit 2; }
	bench=$root/build/bench/kchanbench
	cd /tmp
	for fig in "$@"; do
		echo "=== profile $fig"
		"$perf" record -q -e cpu-clock -F 4000 -a -o "/tmp/$fig.data" -- \
			"$bench" --only "$fig" --rounds 5 --round-ms 200 --channels 0 2>&1 |
			grep -E "^ *$fig|^ *[a-z0-9.-]+ +[0-9]" | head -n 3 || true
		"$perf" report -i "/tmp/$fig.data" --stdio --no-children --sort sym \
			--percent-limit 0.7 2>/dev/null | grep -E '^ +[0-9]' |
			grep -vE 'safe_halt|default_idle|cpuidle|do_idle' | head -n 30
		"$perf" stat -e context-switches,cpu-migrations,task-clock -a -- \
			"$bench" --only "$fig" --rounds 5 --round-ms 200 --channels 0 2>&1 |
			grep -E 'context-switches|task-clock|msg|RTT' | head -n 6 || true
	done
	exit 0
fi

if [ -z "$kver" ]; then		# the newest non-RT kernel, as make bench
	for d in /usr/src/linux-headers-*-amd64; do
		case "$d" in *-rt-amd64) continue ;; esac
		[ -d "$d" ] && kver=${d#/usr/src/linux-headers-}
	done
fi
exec "$root/tools/vm/run" --kernel "$kver" --timeout 1800 -- \
	env KCHAN_PROFILE_GUEST=1 "$root/tools/bench/profile.sh" "$@"
