#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run the kernel's checkpatch.pl (--strict) over the module and the uapi header.
# checkpatch.pl, spelling.txt and const_structs.checkpatch come from Debian's
# linux-source-6.12 tarball and are cached in build/checkpatch/ (never committed).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
TARBALL=${KCHAN_LINUX_SOURCE:-/usr/src/linux-source-6.12.tar.xz}
cache=$root/build/checkpatch

usage() {
	cat <<EOF
usage: tools/checkpatch.sh [FILE...]

Runs checkpatch.pl --strict --no-tree --file over FILEs (default: kmod/*.c
kmod/*.h uapi/linux/kchan.h). Exits non-zero on any error, warning or check.
checkpatch.pl is extracted once from $TARBALL into build/checkpatch/.
EOF
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
esac

# checkpatch.pl finds spelling.txt and const_structs.checkpatch next to itself,
# so the three files are extracted flat into one directory.
if [ ! -x "$cache/checkpatch.pl" ]; then
	[ -r "$TARBALL" ] || { echo "checkpatch: $TARBALL missing: run tools/install-deps.sh" >&2; exit 1; }
	top=$(basename "$TARBALL" .tar.xz)
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	tar -xJf "$TARBALL" -C "$tmp" --strip-components=2 \
		"$top/scripts/checkpatch.pl" \
		"$top/scripts/spelling.txt" \
		"$top/scripts/const_structs.checkpatch"
	# checkpatch.pl last: its presence marks the cache complete.
	mv -f "$tmp/spelling.txt" "$tmp/const_structs.checkpatch" "$cache/"
	mv -f "$tmp/checkpatch.pl" "$cache/"
fi

cd "$root"
if [ $# -gt 0 ]; then
	files=("$@")
else
	shopt -s nullglob
	files=(kmod/*.c kmod/*.h uapi/linux/kchan.h)
fi
[ ${#files[@]} -gt 0 ] || { echo "checkpatch: no files to check" >&2; exit 1; }

# checkpatch.pl exits non-zero when it reports any ERROR, WARNING or CHECK.
"$cache/checkpatch.pl" --strict --no-tree --file --terse --show-types "${files[@]}"
