#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The `make check` driver: run every selftest program on every kernel, one
# guest boot per kernel (booting is the slow part under TCG), and count the
# TAP results of all of them into one closing line, "N passed, N failed".
#
# What counts as a failure: a `not ok` line; a program that exits non-zero or
# stops short of its plan without saying which test failed (a crash); a
# program that never ran; and the guest run itself failing (a WARNING, BUG,
# lockdep report... on the console, a taint, kchan not unloading, a panic or
# a timeout: see tools/vm/run).
#
# The two-guest tests (tests/pair-*.sh, chanbridge between two hosts) run
# once, on one kernel, through tools/vm/pair, and count like the others.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

usage() {
	cat <<'EOF'
usage: tools/check.sh [--only PROG[,PROG...]] [--no-vm-selftest] [KVER...]

Runs the guest test programs (build/selftests/chan_*: selftests and libchan
tests; the examples' run-tests.sh; tests/guest-*.sh) in one QEMU guest per
kernel with kchan.ko loaded (tools/vm/run), then the two-guest tests
(tests/pair-*.sh, each in its own pair of guests, tools/vm/pair) once on the
newest non-RT kernel of the list, then the host tests (tests/host-*.sh),
then tools/vm/selftest.sh (the runner's own check), parses their TAP output,
prints a table per kernel and ends with the line "N passed, N failed[, N
skipped]".  Exits non-zero if anything failed.
Build first: `make all` (make check does).

  --only PROGS       run only these programs (chan_buffered, buffered,
                     pair-echo, or a path to any executable;
                     comma-separated or repeated); implies --no-vm-selftest
  --no-vm-selftest   skip tools/vm/selftest.sh (about a minute)
  KVER...            kernels (default: every installed linux-headers-*-amd64,
                     as the Makefile does)

Environment: KCHAN_PROG_TIMEOUT (seconds per program in the guest, default
from selftests/chan/settings "timeout=N", else 600); KCHAN_VM_TIMEOUT
(seconds per guest run, default 1500); KCHAN_PAIR_TIMEOUT (seconds per guest
of a two-guest test, default 2400).
For one test: tools/vm/run --kernel KVER -- build/selftests/chan_x -t NAME
EOF
}

only=() vm_selftest=1
while [ $# -gt 0 ]; do
	case "$1" in
	--only) IFS=, read -ra o <<<"${2:?}"; only+=("${o[@]}"); vm_selftest=0; shift 2 ;;
	--no-vm-selftest) vm_selftest=0; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
kvers=("$@")
if [ ${#kvers[@]} -eq 0 ]; then
	for d in /usr/src/linux-headers-*-amd64; do
		[ -d "$d" ] && kvers+=("${d#/usr/src/linux-headers-}")
	done
fi

# Every result ends up here, one per line: "KVER<TAB>PROGRAM<TAB>pass|fail|skip<TAB>TEST".
results=$(mktemp)
work=$(mktemp -d)
# How long each program took, "SECONDS<TAB>KVER<TAB>PROGRAM": the budget of
# CI's 90 minutes is spent by these, so the summary names the slowest.
times=$work/times
trap 'rm -rf "$results" "$work"' EXIT
record() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$results"; }
took() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$times"; }

# The guest programs: every selftest and libchan test built into
# build/selftests/, the examples' TAP runners, and tests/guest-*.sh.
mapfile -t progs < <(
	ls -1d "$root"/build/selftests/chan_* 2>/dev/null
	for t in userspace/examples/c/run-tests.sh userspace/examples/run-tests.sh \
		tests/guest-*.sh; do
		[ -x "$t" ] && realpath "$t"
	done
	true)
# The two-guest tests: tests/pair-*.sh.
mapfile -t pairs < <(for t in tests/pair-*.sh; do [ -x "$t" ] && realpath "$t"; done; true)
if [ ${#only[@]} -gt 0 ]; then
	sel=() psel=()
	for o in "${only[@]}"; do
		# A path runs that program (handy for a one-off); a name picks one
		# of the selftests or of the two-guest tests.
		match='' pmatch=''
		case "$o" in */*) [ -x "$o" ] && match=$(realpath "$o") ;; esac
		for p in "${progs[@]}"; do
			case "$(basename "$p")" in "$o" | "chan_$o") match=$p ;; esac
			case "${p#"$root"/}" in "$o") match=$p ;; esac
		done
		for p in "${pairs[@]}"; do
			case "$(basename "$p")" in "$o" | "$o.sh") pmatch=$p ;; esac
			[ "$match" != "$p" ] || pmatch=$p
		done
		if [ -n "$pmatch" ]; then
			psel+=("$pmatch")
		elif [ -n "$match" ]; then
			sel+=("$match")
		else
			echo "check: no selftest program '$o'" >&2; exit 2
		fi
	done
	progs=("${sel[@]}") pairs=("${psel[@]}")
fi

prog_timeout=${KCHAN_PROG_TIMEOUT:-}
if [ -z "$prog_timeout" ] && [ -r selftests/chan/settings ]; then
	prog_timeout=$(sed -n 's/^timeout=//p' selftests/chan/settings)
fi
prog_timeout=${prog_timeout:-600}
# One guest run may not take longer than this, whatever the programs' sum: three
# kernels must fit in CI's 90 minutes even when something hangs in the kernel
# where no signal reaches it.
vm_timeout=${KCHAN_VM_TIMEOUT:-1500}

# In the guest: run each program with its own timeout, stderr into stdout so
# TH_LOG lines stay next to their test, between markers the host parses.  The
# same marker goes to the kernel log, so the console log shows which program
# was running when the kernel complained.
# shellcheck disable=SC2016 # expanded in the guest
guest_script='
t=$1 root=$2; shift 2
for p in "$@"; do
	name=${p#"$root"/}; name=${name#build/selftests/}
	echo "kchan-vm: check: running $name" >/dev/kmsg
	echo "### kchan-check begin $name"
	t0=$(date +%s)
	if [ -x "$p" ]; then
		timeout -k 10 "$t" "$p" 2>&1 </dev/null; rc=$?
		[ $rc = 124 ] && echo "### kchan-check $name: killed after ${t}s"
	else
		echo "### kchan-check $name: not built"; rc=127
	fi
	echo "### kchan-check end $name rc=$rc"
	echo "### kchan-check time $name $(($(date +%s) - t0))"
done
exit 0'

# parse_tap KVER PROGRAM FILE RC: record the TAP results in FILE.  RC is the
# program's exit status, or "" when it never finished.
parse_tap() {
	local kver=$1 prog=$2 file=$3 rc=$4 line plan=0 seen=0 nfail=0
	while IFS= read -r line; do
		case "$line" in
		1..*) plan=${line#1..}; plan=${plan%% *} ;;
		"ok "[0-9]* | "not ok "[0-9]*)
			seen=$((seen + 1))
			# "ok 3 fixture.variant.test # SKIP reason"
			local verdict=pass desc=${line#*ok }
			desc=${desc#* }
			case "$line" in
			not*) verdict=fail; nfail=$((nfail + 1)) ;;
			*"# SKIP"* | *"# skip"*) verdict=skip ;;
			esac
			record "$kver" "$prog" "$verdict" "${desc%% # *}"
			;;
		esac
	done <"$file"
	# A crash or a kill leaves no `not ok` for the test it interrupted.
	if [ -z "$rc" ]; then
		record "$kver" "$prog" fail "(did not finish: the guest run ended)"
	elif [ "$rc" = 124 ]; then
		record "$kver" "$prog" fail "(killed: ran over the ${prog_timeout}s program timeout)"
	elif [ "$rc" != 0 ] && [ "$nfail" = 0 ]; then
		record "$kver" "$prog" fail "(exited $rc without a failing test: crashed, killed or no TAP)"
	elif [ "$seen" -lt "$plan" ] && [ "$nfail" = 0 ]; then
		record "$kver" "$prog" fail "(stopped after $seen of $plan tests)"
	elif [ "$seen" = 0 ] && [ "$rc" = 0 ]; then
		record "$kver" "$prog" fail "(no TAP results)"
	fi
	return 0
}

# --only with nothing but two-guest tests boots no single guest.
single_kvers=("${kvers[@]}")
[ ${#only[@]} -gt 0 ] && [ ${#progs[@]} -eq 0 ] && single_kvers=()
for kver in "${single_kvers[@]}"; do
	echo "=== $kver: ${#progs[@]} selftest programs ==="
	out=$work/$kver.out err=$work/$kver.err
	# Named like the runner's own logs, so it prunes them alike.
	log=$root/build/vm/console-$kver-check-$(date +%Y%m%d-%H%M%S)-$$.log
	rc=0
	if [ ${#progs[@]} -gt 0 ]; then
		# pipefail: rc is the runner's status.  Its stderr is only its own
		# verdict (the programs' stderr is merged into stdout in the guest).
		tools/vm/run --kernel "$kver" --log "$log" \
			--timeout $(( ${#progs[@]} * prog_timeout + 120 < vm_timeout ?
				${#progs[@]} * prog_timeout + 120 : vm_timeout )) \
			-- bash -c "$guest_script" guest "$prog_timeout" "$root" "${progs[@]}" \
			2>"$err" | tee "$out" || rc=$?
		cat "$err" >&2
	fi

	sed -n 's/^### kchan-check time \([^ ]*\) \([0-9]*\)$/\2\t'"$kver"'\t\1/p' "$out" | tr -d '\r' >>"$times"
	# Split the guest's output at the markers and parse each program's part.
	for p in "${progs[@]}"; do
		name=${p#"$root"/}; name=${name#build/selftests/}
		part=$work/$kver.${name//\//_}
		awk -v n="$name" '$0 == "### kchan-check begin " n { on = 1; next }
			on && index($0, "### kchan-check end " n " rc=") == 1 { exit }
			on' "$out" >"$part"
		if grep -qxF "### kchan-check begin $name" "$out"; then
			prc=$(awk -v m="### kchan-check end $name rc=" \
				'index($0, m) == 1 { print substr($0, length(m) + 1) }' "$out")
			parse_tap "$kver" "$name" "$part" "$prc"
		else
			record "$kver" "$name" fail "(not run: the guest run ended before it)"
		fi
	done

	if [ ${#progs[@]} -eq 0 ]; then
		record "$kver" "(selftests)" fail "(no selftest programs: run 'make all')"
	elif [ "$rc" != 0 ]; then
		why=$(sed -n 's/^vm\/run: FAIL ([^)]*): //p' "$err" | head -n 3 | paste -sd ';' - | sed 's/;/; /g')
		# Name the program that was running when the kernel first complained.
		first=$(sed -n 's/^vm\/run: the first report, from line \([0-9]*\):.*/\1/p' "$err")
		if [ -n "$first" ]; then
			culprit=$(head -n "$first" "$log" | tr -d '\r' |
				sed -n 's/.*kchan-vm: check: running //p' | tail -n 1)
			[ -n "$culprit" ] && why+="; during $culprit"
		fi
		record "$kver" "(guest run)" fail "${why:-tools/vm/run exited $rc}; console log $log"
	fi
done

# Two-guest tests (chanbridge between two hosts): each boots a pair of guests
# (tools/vm/pair), once, on the newest non-RT kernel of the list; they count
# under that kernel.
pair_kver=
while read -r k; do
	case "$k" in *-rt-amd64 | '') ;; *) pair_kver=$k ;; esac
done < <(printf '%s\n' "${kvers[@]}" | sort -V)
pair_timeout=${KCHAN_PAIR_TIMEOUT:-2400}
if [ ${#pairs[@]} -gt 0 ] && [ -z "$pair_kver" ]; then
	echo "=== two-guest tests: no non-RT kernel in the list, not run ==="
fi
for t in "${pairs[@]}"; do
	[ -n "$pair_kver" ] || break
	name=${t#"$root"/}
	echo "=== $pair_kver: $name (two guests) ==="
	part=$work/pair.${name//\//_}
	plog=$root/build/vm/console-pair-$(basename "$t" .sh)-$(date +%Y%m%d-%H%M%S)-$$.log
	rc=0 t0=$SECONDS
	tools/vm/pair --kernel "$pair_kver" --timeout "$pair_timeout" -- "$t" \
		>"$part" 2>"$plog" </dev/null || rc=$?
	took $((SECONDS - t0)) "$pair_kver" "$name"
	cat "$part"
	[ "$rc" = 0 ] || { tail -n 40 "$plog" | sed 's/^/    /'; echo "    (both guests' stderr: $plog)"; }
	parse_tap "$pair_kver" "$name" "$part" "$rc"
done

# Host tests (man pages, install, dkms, completion): no module needed.
if [ ${#only[@]} -eq 0 ]; then
	for t in tests/host-*.sh; do
		[ -x "$t" ] || continue
		name=$(basename "$t" .sh)
		echo "=== $t ==="
		rc=0 t0=$SECONDS
		"$t" >"$work/$name.out" 2>&1 </dev/null || rc=$?
		took $((SECONDS - t0)) host "$name"
		cat "$work/$name.out"
		parse_tap "host" "$name" "$work/$name.out" "$rc"
	done
fi

if [ "$vm_selftest" = 1 ]; then
	echo "=== tools/vm/selftest.sh ==="
	rc=0
	tools/vm/selftest.sh "${kvers[@]}" | tee "$work/vm-selftest.out" || rc=$?
	parse_tap "all" "vm-selftest" "$work/vm-selftest.out" "$rc"
fi

# --- summary ----------------------------------------------------------------
echo
for kver in "${kvers[@]}" host all; do
	grep -q "^$kver	" "$results" || continue
	case $kver in
	all) echo "== runner self-test ==" ;;
	host) echo "== host tests ==" ;;
	*) echo "== $kver ==" ;;
	esac
	awk -F'\t' -v k="$kver" '$1 == k { n[$2]++; c[$2, $3]++; if (!($2 in seen)) { seen[$2]; order[++m] = $2 } }
		END {
			printf "  %-36s %6s %6s %6s\n", "program", "pass", "fail", "skip"
			for (i = 1; i <= m; i++) { p = order[i]
				printf "  %-36s %6d %6d %6d\n", p, c[p, "pass"], c[p, "fail"], c[p, "skip"] }
		}' "$results"
done

if [ -s "$times" ]; then
	echo
	echo "Slowest (seconds, of $(awk -F'\t' '{ s += $1 } END { print s }' "$times") s in all):"
	sort -rn "$times" | head -n 12 | awk -F'\t' '{ printf "  %6d  %s %s\n", $1, $2, $3 }'
fi

if grep -q '	fail	' "$results"; then
	echo
	echo "Failed:"
	awk -F'\t' '$3 == "fail" { printf "  %s%s: %s\n", ($1 == "all" || $1 == "host" ? "" : $1 " "), $2, $4 }' "$results"
fi

passed=$(grep -c '	pass	' "$results" || true)
failed=$(grep -c '	fail	' "$results" || true)
skipped=$(grep -c '	skip	' "$results" || true)
echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ]
