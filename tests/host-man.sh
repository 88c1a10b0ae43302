#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The man pages (userspace/man/*.[1-8]) render without a single groff or
# man warning at 80 columns, fit in them (kchan.7 and chanctl.1), have a
# NAME line that whatis can index, and say what the code has: chanctl(1)
# every command and option of `chanctl --help`, kchan(7) every ioctl of the
# uapi header, every fdinfo key and module parameter.  Prints TAP.
# Needs man-db and groff-base.
#
#   tests/host-man.sh
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
C=${CHANCTL:-$root/build/userspace/chanctl}
mandir=$root/userspace/man

# shellcheck source=tests/lib/ktap.sh
. "$root/tests/lib/ktap.sh"

echo "TAP version 13"
if ! command -v man >/dev/null || ! command -v groff >/dev/null; then
	echo "1..0 # SKIP needs man (man-db) and groff (groff-base)"
	exit 0
fi
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

for page in "$mandir"/*.[1-8]; do
	name=${page#"$mandir"/}
	rc=0
	MANWIDTH=80 man --warnings -l "$page" >"$out" 2>"$err" || rc=$?
	if [ "$rc" = 0 ] && [ ! -s "$err" ]; then
		ok "$name renders without warnings"
	else
		not_ok "$name renders without warnings (exit $rc)"
		diag <"$err"
	fi
	# The width is checked for kchan's own pages (libchan.3 has its owner
	# and its own tests): only noted for the others.
	width=$(wc -L <"$out")
	if [ "$width" -le 80 ]; then
		ok "$name fits in 80 columns"
	elif [ "$name" != chanctl.1 ] && [ "$name" != kchan.7 ]; then
		echo "# $name: widest line $width columns, over 80 (not counted here)"
	else
		not_ok "$name fits in 80 columns (widest line: $width)"
		awk 'length > 80' "$out" | diag
	fi
	if command -v lexgrog >/dev/null; then
		if lexgrog "$page" >"$out" 2>&1; then
			ok "$name has a NAME section whatis can index: $(cut -d'"' -f2 "$out" | head -n 1)"
		else
			not_ok "$name has a NAME section whatis can index"
			diag <"$out"
		fi
	fi
done

# mentions PAGE WHAT WORD...: ok if the rendered PAGE has every WORD.
mentions() {
	local page=$1 what=$2 missing=() w; shift 2
	MANWIDTH=200 man -l "$mandir/$page" 2>/dev/null >"$out"
	for w in "$@"; do
		grep -qF -- "$w" "$out" || missing+=("$w")
	done
	if [ ${#missing[@]} = 0 ]; then
		ok "$page names every $what"
	else
		not_ok "$page names every $what (missing: ${missing[*]})"
	fi
}

if [ -x "$C" ]; then
	mapfile -t cmds < <("$C" --help | sed -n 's/^  \([a-z]*\).*/\1/p')
	mentions chanctl.1 "command of chanctl --help (${#cmds[@]})" "${cmds[@]/#/chanctl }"
	for cmd in "${cmds[@]}"; do
		mapfile -t opts < <("$C" "$cmd" --help | grep -oE -- '(^| )--?[a-z0-9][a-z-]*' | tr -d ' ' | sort -u)
		mentions chanctl.1 "option of chanctl $cmd --help" "${opts[@]}"
	done
	mentions chanctl.1 "exit status" "0      Success" "2      Usage error" "3      No such" \
		"4      Permission" "5      A --timeout"
else
	skip "chanctl.1 against chanctl --help" "no $C (make userspace)"
fi

mapfile -t ioctls < <(grep -oE '^#define KCHAN_IOC_[A-Z_]+' "$root/uapi/linux/kchan.h" |
	awk '{ print $2 }' | grep -v MAGIC)
mentions kchan.7 "ioctl of uapi/linux/kchan.h (${#ioctls[@]})" "${ioctls[@]}"
mapfile -t flags < <(grep -oE '^#define KCHAN_(CREATE|STATE|SELECT)_[A-Z]+\b' "$root/uapi/linux/kchan.h" |
	awk '{ print $2 }' | grep -vE '_(FLAGS|MAX|SIZE)$')
mentions kchan.7 "flag of uapi/linux/kchan.h" "${flags[@]}"
# The README's list of fdinfo keys (the counters without sysfs), and the
# module parameters it names.
attrs=$(sed -n '/fdinfo\/<fd>` of a/,/Both need/p' "$root/README.md" | grep -oE '`[a-z_-]+`' |
	tr -d '`' | grep -vxE 'pos|flags|mnt_id|ino')
# shellcheck disable=SC2086 # a list of words
mentions kchan.7 "fdinfo key of the README" $attrs
# shellcheck disable=SC2016 # backquotes of Markdown, not of the shell
mapfile -t params < <(grep -oE '`max_[a-z_]+`' "$root/README.md" | tr -d '`' | sort -u)
mentions kchan.7 "module parameter of the README (${#params[@]})" "${params[@]}"
mentions kchan.7 "section a device man page has" NAME SYNOPSIS DESCRIPTION ERRORS FILES EXAMPLES "SEE ALSO"
mentions kchan.7 "topic of the README's Device semantics" Names Limits Messages Buffered Unbuffered \
	Close Destroy poll Signals select "Timer channels" "Batched I/O" EDQUOT

echo "1..$n"
[ "$failed" = 0 ]
