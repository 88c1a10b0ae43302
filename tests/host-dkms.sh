#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# dkms.conf works: `dkms add`, `dkms build` against every kernel whose
# headers are installed (Debian: linux-headers-*-amd64), `dkms status`,
# `dkms remove`.  Prints TAP; SKIP without dkms.  Building loads nothing.
#
#   tests/host-dkms.sh [KVER...]
#
# Side-effect free: the source (from `make dkms-source`), DKMS and install
# trees are temporary (--sourcetree, --dkmstree, --installtree), and
# signing is off (sign_file=/nonexistent), so dkms makes no MOK key in
# /var/lib/dkms.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

# shellcheck source=tests/lib/ktap.sh
. "$root/tests/lib/ktap.sh"

echo "TAP version 13"
if ! command -v dkms >/dev/null; then
	echo "1..0 # SKIP no dkms (apt-get install dkms)"
	exit 0
fi
kvers=("$@")
if [ ${#kvers[@]} = 0 ]; then
	for d in /lib/modules/*/build; do
		[ -e "$d/Makefile" ] && kvers+=("$(basename "$(dirname "$d")")")
	done
fi
if [ ${#kvers[@]} = 0 ]; then
	echo "1..0 # SKIP no kernel headers in /lib/modules/*/build"
	exit 0
fi

name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"$/\1/p' "$root/dkms.conf")
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$root/dkms.conf")
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
export sign_file=/nonexistent/sign-file
trees=(--sourcetree "$t/root/usr/src" --dkmstree "$t/dkms" --installtree "$t/install")
mkdir -p "$t/dkms" "$t/install"

# `make dkms-source` puts what DKMS needs, dkms.conf and the sources Kbuild
# builds, nothing else, into /usr/src/kchan-VERSION.
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$root" --no-print-directory \
	dkms-source DESTDIR="$t/root" >"$t/out" 2>&1 && [ -f "$t/root/usr/src/$name-$version/dkms.conf" ]; then
	ok "make dkms-source: /usr/src/$name-$version ($(find "$t/root/usr/src/$name-$version" -type f | wc -l) files)"
else
	not_ok "make dkms-source"
	diag <"$t/out"
fi

if [ "$name" = kchan ] && [ -n "$version" ]; then
	ok "dkms.conf names kchan $version"
else
	not_ok "dkms.conf names kchan and a version (got '$name' '$version')"
fi
if dkms add -m "$name" -v "$version" "${trees[@]}" >"$t/out" 2>&1; then
	ok "dkms add"
else
	not_ok "dkms add"
	diag <"$t/out"
fi

for kver in "${kvers[@]}"; do
	start=$(date +%s)
	if dkms build -m "$name" -v "$version" -k "$kver" "${trees[@]}" >"$t/out" 2>&1; then
		ok "dkms build -k $kver ($(($(date +%s) - start)) s)"
	else
		not_ok "dkms build -k $kver"
		diag <"$t/out"
		log=$(find "$t/dkms" -name make.log | head -n 1)
		[ -n "$log" ] && tail -n 30 "$log" | diag
		continue
	fi
	ko=$(find "$t/dkms/$name/$version/$kver" -name 'kchan.ko*' | head -n 1)
	vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null | awk '{ print $1 }')
	if [ -n "$ko" ] && [ "$vermagic" = "$kver" ]; then
		ok "$kver: built ${ko##*/} with vermagic $vermagic"
	else
		not_ok "$kver: a kchan.ko for $kver (found '${ko:-none}', vermagic '$vermagic')"
	fi
	if dkms status -m "$name" -v "$version" -k "$kver" "${trees[@]}" 2>/dev/null |
		grep -q "$name/$version, $kver, .*: built"; then
		ok "$kver: dkms status says built"
	else
		not_ok "$kver: dkms status says built"
		dkms status -m "$name" "${trees[@]}" 2>&1 | diag
	fi
done

if dkms remove -m "$name" -v "$version" --all "${trees[@]}" >"$t/out" 2>&1 &&
	[ ! -e "$t/dkms/$name/$version" ]; then
	ok "dkms remove --all"
else
	not_ok "dkms remove --all"
	diag <"$t/out"
fi

echo "1..$n"
[ "$failed" = 0 ]
