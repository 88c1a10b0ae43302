#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Self-test of tools/vm/run: a runner that passes everything is worse than none,
# so check that it really reports what it promises: the command's output and
# exit status, and a failed run on a kernel WARNING, a panic, a taint and a
# timeout.  Prints TAP, like the selftests, so tools/check.sh can count it.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
run=$root/tools/vm/run

usage() {
	cat <<'EOF'
usage: tools/vm/selftest.sh [KVER...]

Boots each kernel (default: every /boot/vmlinuz-*) a few times with
tools/vm/run and checks its verdicts; prints TAP (ok/not ok per case) and
exits non-zero if any case failed.  Per kernel: output/exit status/environment
(with kchan.ko when build/KVER/kchan.ko exists) and a WARNING on the console;
on the last kernel also a panic, a taint and a timeout.  About 1 minute.
EOF
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
esac

kvers=("$@")
if [ ${#kvers[@]} -eq 0 ]; then
	for f in /boot/vmlinuz-*; do kvers+=("${f#/boot/vmlinuz-}"); done
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0 failed=0
total=$((2 * ${#kvers[@]} + 3))
echo "TAP version 13"
echo "1..$total"

# expect NAME WANT_RC STDOUT STDERR -- RUN-ARGS...: run tools/vm/run and check
# its exit status, and that stdout and stderr contain the given strings (an
# empty string checks nothing).
expect() {
	local name=$1 want=$2 out=$3 err=$4 rc=0
	shift 5
	n=$((n + 1))
	"$run" --log "$tmp/console.log" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" = "$want" ] &&
		{ [ -z "$out" ] || grep -qF -- "$out" "$tmp/out"; } &&
		{ [ -z "$err" ] || grep -qF -- "$err" "$tmp/err"; }; then
		echo "ok $n $name"
	else
		failed=$((failed + 1))
		echo "not ok $n $name"
		echo "# exit $rc, wanted $want; stdout (wanted '$out'):"
		sed 's/^/#   /' "$tmp/out"
		echo "# stderr (wanted '$err'):"
		sed 's/^/#   /' "$tmp/err"
	fi
}

for kver in "${kvers[@]}"; do
	module=(--no-module) check='true'
	if [ -r "$root/build/$kver/kchan.ko" ]; then
		module=()
		# shellcheck disable=SC2016 # expanded in the guest
		check='test -d /sys/module/kchan && test -n "$KCHAN_KO"'
	fi
	# shellcheck disable=SC2016 # expanded in the guest
	expect "vm-run $kver: stdout, stderr, exit status, environment" 3 \
		"$kver ok" 'to stderr' -- --kernel "$kver" "${module[@]}" -- \
		sh -c "$check"' && test "$(pwd)" = "'"$PWD"'" && touch "$HOME/w" /tmp/w &&
		echo "$(uname -r) ok" && echo to stderr >&2 && exit 3'
	expect "vm-run $kver: a WARNING on the console fails the run" 125 \
		'' '] WARNING: vm selftest' -- \
		--kernel "$kver" --no-module -- sh -c 'echo "WARNING: vm selftest" >/dev/kmsg'
done

kver=${kvers[-1]}
expect "vm-run $kver: a panic fails the run" 125 \
	'' 'never reported its exit status' -- \
	--kernel "$kver" --no-module -- sh -c 'echo c >/proc/sysrq-trigger'
# 64 is TAINT_USER ("U"), which user space may set for exactly this purpose.
expect "vm-run $kver: a tainted kernel fails the run" 125 \
	'' 'kernel tainted: 64, unexpected flags U' -- \
	--kernel "$kver" --no-module -- sh -c 'echo 64 >/proc/sys/kernel/tainted'
expect "vm-run $kver: a hung guest is killed at the timeout" 125 \
	'' 'timed out after 15s' -- \
	--kernel "$kver" --no-module --timeout 15 -- sleep 600

echo "# vm-run selftest: $((n - failed)) passed, $failed failed"
[ "$failed" = 0 ]
