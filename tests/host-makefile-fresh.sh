#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The top-level Makefile as a fresh machine sees it (issue 12): no kernel
# headers until its dependency step (tools/install-deps.sh) has run.  Every
# target that installs the packages first must then use the kernels those
# packages brought: the kernel release `make demo` boots, the list `make
# check` tests, and so on, exactly.  Prints TAP.
#
# Runs a copy of Makefile and mk/ (with Kbuild, kmod/, uapi/) in a temporary
# directory with every tool and sub-make replaced by a stub that logs its
# command line; the stub install-deps.sh creates fake linux-headers-* trees
# in a fake /usr/src (KHEADERS=), whose kbuild Makefiles log instead of
# building.  No root, no guest, a few seconds.
#
#   tests/host-makefile-fresh.sh
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
diag() { sed 's/^/# /'; }

echo "TAP version 13"

t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
tree=$t/src
src=$t/usr/src
log=$t/log
mkdir -p "$tree"
(cd "$root" && cp -r Makefile mk Kbuild kmod uapi dkms.conf "$tree"/)

# What deps installs: Debian's three amd64 header trees (and a -common one,
# which is no kernel), and the release make demo must boot.
kernels=(6.1.0-99-amd64 6.12.99+deb12-amd64 6.12.99+deb12-rt-amd64)
newest=6.12.99+deb12-amd64

# A stub tool: logs "PATH ARGS" (paths inside the tree made relative).
stub() {
	mkdir -p "$(dirname "$tree/$1")"
	cat >"$tree/$1" <<EOF
#!/usr/bin/env bash
args="\$*"
line="$1 \${args//"\$FRESH_TREE"\//}"
echo "\${line% }" >>"\$FRESH_LOG"
$2
EOF
	chmod +x "$tree/$1"
}
# A stub Makefile in DIR: every goal logs "LABEL GOAL".
stub_make() {
	mkdir -p "$1"
	# shellcheck disable=SC2016 # make's $@ and the recipe's $$FRESH_LOG
	printf '.DEFAULT_GOAL := all\nMakefile: ;\n%%:\n\t@echo "%s $@" >>"$$FRESH_LOG"\n' "$2" >"$1/Makefile"
}

# The dependency step: the header trees appear (unless FRESH_DEPS_HEADERS=0),
# each with a kbuild Makefile that logs "kbuild linux-headers-KVER GOAL".
mkdir -p "$tree/tools"
cat >"$tree/tools/install-deps.sh" <<EOF
#!/usr/bin/env bash
sleep 0.2  # what runs beside deps under -j (it must not) logs first
echo deps >>"\$FRESH_LOG"
[ "\${FRESH_DEPS_HEADERS:-1}" = 1 ] || exit 0
for k in ${kernels[*]} 6.1.0-99-common; do
	mkdir -p "\$FRESH_SRC/linux-headers-\$k"
	printf '.DEFAULT_GOAL := modules\nMakefile: ;\n%%:\n\t@echo "kbuild linux-headers-%s \$@" >>"\$\$FRESH_LOG"\n' \\
		"\$k" >"\$FRESH_SRC/linux-headers-\$k/Makefile"
done
EOF
chmod +x "$tree/tools/install-deps.sh"
# shellcheck disable=SC2016 # the stubs' own code
stub tools/fetch-kselftest.sh 'mkdir -p "$1" && touch "$1/kselftest.h" "$1/kselftest_harness.h"'
# shellcheck disable=SC2016 # the stubs' own code
stub tools/check.sh 'echo "3 passed, ${FRESH_CHECK_RC:-0} failed"; exit "${FRESH_CHECK_RC:-0}"'
for f in tools/vm/run tools/bench/run.sh tools/bench/bridge.sh tools/check-debug.sh; do
	stub "$f" ""
done
for d in userspace userspace/examples userspace/chanbridge selftests/chan tools/bench tools/fuzz; do
	stub_make "$tree/$d" "make -C $d"
done

# fresh: a machine without the packages (an empty /usr/src, nothing built).
fresh() { rm -rf "$src" "$tree/build" "$log"; mkdir -p "$src"; : >"$log"; }
# mk ARGS...: make in the copy, not under the jobserver of a make check
# that runs us, nor with kernels from our environment.
mk() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u KVERS -u DEMO_KVER -u KVER \
		FRESH_LOG="$log" FRESH_TREE="$tree" FRESH_SRC="$src" \
		make -C "$tree" --no-print-directory KHEADERS="$src" "$@" >"$t/out" 2>&1
}
# expect DESCRIPTION WANT GOT: ok when GOT is exactly WANT.
expect() {
	if [ "$3" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1"
		{ echo "want:"; echo "$2"; echo "got:"; echo "$3"; echo "the log:"; cat "$log"
		  echo "make's output:"; tail -n 15 "$t/out"; } | diag
	fi
}
lines() { grep "^$1" "$log" | sort; }
kbuild_all=$(for k in "${kernels[@]}"; do echo "kbuild linux-headers-$k modules"; done | sort)

# 1. make demo: deps first, once; then the module for every kernel and the
# guest on the newest non-RT one.
fresh; mk demo; rc=$?
expect "make demo succeeds" 0 "$rc"
expect "make demo runs deps first, once" "deps 1" "$(head -n 1 "$log") $(grep -c '^deps$' "$log")"
expect "make demo builds kchan.ko for the kernels deps installed" "$kbuild_all" "$(lines kbuild)"
expect "make demo boots $newest" \
	"tools/vm/run --kernel $newest --mem 1036M --timeout 600 -- userspace/examples/sieve-demo.sh 25" "$(lines tools/vm/run)"

# 2. make check: every kernel, make check's output and exit status.
fresh; mk check; rc=$?
expect "make check succeeds" 0 "$rc"
expect "make check runs deps first, once" "deps 1" "$(head -n 1 "$log") $(grep -c '^deps$' "$log")"
expect "make check builds kchan.ko for the kernels deps installed" "$kbuild_all" "$(lines kbuild)"
expect "make check tests the kernels deps installed" "tools/check.sh ${kernels[*]}" "$(lines tools/check.sh)"
expect "make check prints tools/check.sh's count" "3 passed, 0 failed" "$(grep -E '^[0-9]+ passed' "$t/out")"
fresh; FRESH_CHECK_RC=1 mk check; rc=$?
expect "make check fails when tools/check.sh does (exit 2), with its count" \
	"2 3 passed, 1 failed" "$rc $(grep -E '^[0-9]+ passed' "$t/out")"

# 3. make bench, make bench-bridge: the newest non-RT kernel.
fresh; mk bench; rc=$?
expect "make bench succeeds" 0 "$rc"
expect "make bench builds kchan.ko for the kernels deps installed" "$kbuild_all" "$(lines kbuild)"
expect "make bench runs on $newest" "tools/bench/run.sh --kernel $newest" "$(lines tools/bench/run.sh)"
fresh; mk bench-bridge; rc=$?
expect "make bench-bridge succeeds" 0 "$rc"
expect "make bench-bridge runs on $newest" "tools/bench/bridge.sh --kernel $newest" \
	"$(lines tools/bench/bridge.sh)"

# 4. make -j2 soak: deps before anything is built (cc may be what it
# installs), then the module for the newest kernel only (asked for once
# per guest: the stub kbuild makes no kchan.ko), and its guests: the
# history checker, then the fuzzer.
fresh; mk -j2 soak DURATION=1; rc=$?
expect "make -j2 soak succeeds" 0 "$rc"
expect "make -j2 soak runs deps before building anything" "deps 1" \
	"$(head -n 1 "$log") $(grep -c '^deps$' "$log")"
expect "make -j2 soak builds kchan.ko for $newest only" "kbuild linux-headers-$newest modules" \
	"$(lines kbuild | uniq)"
expect "make -j2 soak boots $newest" \
	"tools/vm/run --kernel $newest --timeout 902 -- build/selftests/chan_lincheck --duration 1
tools/vm/run --kernel $newest --timeout 901 -- build/fuzz/kchanfuzz --duration 1 --procs 4" \
	"$(grep '^tools/vm/run' "$log")"

# 5. make check-debug and check-kcsan: deps, then the lane's script.
fresh; mk check-debug; rc=$?
expect "make check-debug: deps, then tools/check-debug.sh" "0 deps,tools/check-debug.sh --flavour debug" \
	"$rc $(paste -sd, "$log")"

# 6. deps installed no headers: make demo says so, and boots nothing.
fresh; FRESH_DEPS_HEADERS=0 mk demo; rc=$?
expect "make demo without headers after deps fails, boots nothing, says why" "2 0 1" \
	"$rc $(grep -c '^tools/vm/run' "$log") $(grep -c "make demo: no kernel: no $src/linux-headers-" "$t/out")"

# 7. make -n demo with the headers there: runs nothing, shows the guest run.
fresh; FRESH_LOG=$log FRESH_SRC=$src "$tree/tools/install-deps.sh"; : >"$log"
mk -n demo; rc=$?
expect "make -n demo shows the guest run on $newest and runs nothing" \
	"0 1 0" "$rc $(grep -cxF "tools/vm/run --kernel $newest --mem 1036M --timeout 600 -- userspace/examples/sieve-demo.sh 25" "$t/out") $(wc -l <"$log")"

echo "1..$n"
[ "$failed" = 0 ]
