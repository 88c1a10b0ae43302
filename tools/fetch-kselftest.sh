#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Extract the two kselftest headers the selftests need from Debian's
# linux-source-6.12 tarball.  Only these two files are taken: no kernel source
# is ever copied into the repository (DIR is normally build/ksft).
set -euo pipefail

TARBALL=${KCHAN_LINUX_SOURCE:-/usr/src/linux-source-6.12.tar.xz}

usage() {
	cat <<EOF
usage: tools/fetch-kselftest.sh DIR

Extracts tools/testing/selftests/kselftest.h and kselftest_harness.h from
$TARBALL into DIR (flat: DIR/kselftest.h, DIR/kselftest_harness.h).
Set KCHAN_LINUX_SOURCE to use another linux-source tarball.
EOF
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
"") usage >&2; exit 2 ;;
esac
dir=$1

[ -r "$TARBALL" ] || { echo "fetch-kselftest: $TARBALL missing: run tools/install-deps.sh" >&2; exit 1; }

# The tarball's top directory is linux-source-6.12/, so the members sit four
# components deep: linux-source-6.12/tools/testing/selftests/<file>.
top=$(basename "$TARBALL" .tar.xz)
mkdir -p "$dir"
# Extract into a temporary directory first so an interrupted run never leaves a
# half-written header that make would then consider up to date.
tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -xJf "$TARBALL" -C "$tmp" --strip-components=4 \
	"$top/tools/testing/selftests/kselftest.h" \
	"$top/tools/testing/selftests/kselftest_harness.h"
# 6.12's harness keeps the test's pid in a plain local across the setjmp()
# an ASSERT longjmp()s back to; at -O2 it comes back as the parent's value, so
# the grandchild skips FIXTURE_TEARDOWN after every failed ASSERT (no cleanup,
# no leak check: issue 11).  volatile makes it survive the longjmp.
sed -i 's/^\(\t*\)pid_t child = 1; \\$/\1volatile pid_t child = 1; \\/' "$tmp/kselftest_harness.h"
grep -q 'volatile pid_t child = 1;' "$tmp/kselftest_harness.h" ||
	echo "fetch-kselftest: warning: kselftest_harness.h not patched (teardown after a failed ASSERT may be skipped)" >&2
mv -f "$tmp/kselftest.h" "$tmp/kselftest_harness.h" "$dir/"
