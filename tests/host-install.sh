#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make install` and `make uninstall` into a DESTDIR: the module (per kernel
# with headers), chanctl, the uapi header, the man pages, the bash
# completion and libchan land where they should, work from there, and
# uninstall leaves nothing.  Prints TAP; lists what was installed as
# diagnostics.  Builds what it installs (the module for KVER, chanctl,
# libchan), in build/ as `make all` does.
#
#   tests/host-install.sh [KVER...]
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

# shellcheck source=tests/lib/ktap.sh
. "$root/tests/lib/ktap.sh"
# check DESCRIPTION CMD...: ok when CMD succeeds; its output only on failure.
check() { check_quiet "$@"; }
absent() { ! grep -q "$@"; }

echo "TAP version 13"
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

t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
# Our own make, not the jobserver of a `make check` that runs us.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$root" --no-print-directory "$@"; }
files() { (cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./|/|' | sort); }

# 1. The default prefix, for each kernel.
dest=$t/dest
for kver in "${kvers[@]}"; do
	if mk install DESTDIR="$dest" KVER="$kver" >"$t/log" 2>&1; then
		ok "make install DESTDIR=... KVER=$kver"
	else
		not_ok "make install DESTDIR=... KVER=$kver"
		tail -n 30 "$t/log" | diag
	fi
	check "no signing errors from kbuild ($kver)" absent 'SSL error' "$t/log"
	ko=$(cd "$dest" && ls lib/modules/"$kver"/updates/kchan.ko* 2>/dev/null)
	vermagic=$(modinfo -F vermagic "$dest/$ko" 2>/dev/null | awk '{ print $1 }')
	check "module in /lib/modules/$kver/updates/ (${ko##*/}, vermagic $vermagic)" \
		test -n "$ko" -a "$vermagic" = "$kver"
done
files "$dest" >"$t/installed"
echo "# installed with PREFIX=/usr/local:"
diag <"$t/installed"

p=$dest/usr/local
want=(
	/usr/local/bin/chanctl
	/usr/local/include/linux/kchan.h
	/usr/local/share/man/man1/chanctl.1
	/usr/local/share/man/man7/kchan.7
	/usr/local/share/bash-completion/completions/chanctl
	/usr/local/lib/systemd/system/dev-chan.mount
	/usr/local/lib/systemd/system/sysinit.target.wants/dev-chan.mount
	/usr/local/lib/modules-load.d/kchan.conf
)
missing=()
for f in "${want[@]}"; do grep -qxF "$f" "$t/installed" || missing+=("$f"); done
check "chanctl, kchan.h, chanctl.1, kchan.7, completion, dev-chan.mount, kchan.conf installed${missing:+ (missing ${missing[*]})}" \
	test ${#missing[@]} = 0
check "nothing outside /usr/local and /lib/modules" \
	test -z "$(grep -vE '^/(usr/local|lib/modules)/' "$t/installed")"
check "installed chanctl runs" "$p/bin/chanctl" --help
check "dev-chan.mount mounts kchan on /dev/chan after systemd-modules-load" grep -qxF 'Where=/dev/chan' "$p/lib/systemd/system/dev-chan.mount"
check "... Type=kchan, After=systemd-modules-load.service" sh -c 'grep -qx "Type=kchan" "$1" && grep -qx "After=systemd-modules-load.service" "$1"' _ "$p/lib/systemd/system/dev-chan.mount"
check "... started by sysinit.target (its wants link)" test "$(readlink "$p/lib/systemd/system/sysinit.target.wants/dev-chan.mount")" = ../dev-chan.mount
check "modules-load.d/kchan.conf loads kchan" grep -qx kchan "$p/lib/modules-load.d/kchan.conf"
if command -v systemd-analyze >/dev/null; then
	check "systemd-analyze verify dev-chan.mount" systemd-analyze verify --man=no "$p/lib/systemd/system/dev-chan.mount"
fi
check "installed chanctl is executable by all (0755)" test "$(stat -c %a "$p/bin/chanctl")" = 755
check "installed kchan.h is uapi/linux/kchan.h" cmp -s "$p/include/linux/kchan.h" "$root/uapi/linux/kchan.h"
printf '#include <linux/kchan.h>\nint main(void) { struct kchan_create c = { .size = sizeof(c) }; return (int)c.flags + KCHAN_IOC_CREATE * 0; }\n' >"$t/h.c"
check "a program builds with -I\$PREFIX/include and <linux/kchan.h>" \
	cc -Wall -Werror -I"$p/include" -o "$t/h" "$t/h.c"
check "man finds the installed chanctl(1) and kchan(7)" \
	env MANPATH="$p/share/man" man -w chanctl kchan
check "the installed completion loads: complete -F _chanctl chanctl" \
	test "$(bash -c 'source "$1" && complete -p chanctl' _ "$p/share/bash-completion/completions/chanctl")" = \
	"complete -F _chanctl chanctl"

# libchan is installed by userspace/Makefile's install; whatever it puts
# there must work: the shared library with its soname links, pkg-config.
if [ -e "$p/include/libchan.h" ]; then
	check "libchan: libchan.so.0 and libchan.so links, libchan.a" \
		test -L "$p/lib/libchan.so.0" -a -L "$p/lib/libchan.so" -a -f "$p/lib/libchan.a"
	if command -v pkg-config >/dev/null; then
		pc=$(PKG_CONFIG_PATH=$p/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest pkg-config --cflags --libs libchan 2>&1)
		check "pkg-config libchan: $pc" grep -q -- '-lchan' <<<"$pc"
	else
		ok "pkg-config libchan # SKIP no pkg-config (pkgconf)"
		pc="-I$p/include -L$p/lib -lchan"
	fi
	printf '#include <libchan.h>\nint main(void) { return chan_name_valid("x") ? 0 : 1; }\n' >"$t/l.c"
	# shellcheck disable=SC2016 # expanded by sh -c
	check "a program links against the installed libchan and runs" \
		sh -c 'cc -o "$1" "$2" $3 -Wl,-rpath,"$4" && "$1"' _ "$t/l" "$t/l.c" "$pc" "$p/lib"
else
	ok "libchan: not installed by this tree # SKIP no userspace/libchan install"
fi

# 2. uninstall leaves nothing, not even empty directories, under DESTDIR.
for kver in "${kvers[@]}"; do
	if mk uninstall DESTDIR="$dest" KVER="$kver" >"$t/log" 2>&1; then
		ok "make uninstall KVER=$kver"
	else
		not_ok "make uninstall KVER=$kver"
		tail -n 20 "$t/log" | diag
	fi
done
left=$(files "$dest")
if [ -z "$left" ]; then
	ok "uninstall removed every installed file"
else
	not_ok "uninstall removed every installed file"
	diag <<<"$left"
fi
check "uninstall removed the directories it emptied" test -z "$(find "$dest" -mindepth 1)"
check "make uninstall again: nothing to do, no error" mk uninstall DESTDIR="$dest" KVER="${kvers[0]}"

# 3. PREFIX=/usr: everything moves with it.
dest=$t/usr
if mk install DESTDIR="$dest" PREFIX=/usr KVER="${kvers[0]}" >"$t/log" 2>&1; then
	files "$dest" >"$t/installed"
	check "PREFIX=/usr: all under /usr and /lib/modules" \
		test -z "$(grep -vE '^/(usr/(bin|include|lib|share)|lib/modules)/' "$t/installed")"
	check "PREFIX=/usr: /usr/bin/chanctl, /usr/share/man/man7/kchan.7" \
		test -x "$dest/usr/bin/chanctl" -a -f "$dest/usr/share/man/man7/kchan.7"
	if [ -f "$dest/usr/lib/pkgconfig/libchan.pc" ]; then
		check "PREFIX=/usr: libchan.pc says prefix=/usr" grep -qx 'prefix=/usr' "$dest/usr/lib/pkgconfig/libchan.pc"
	fi
	mk uninstall DESTDIR="$dest" PREFIX=/usr KVER="${kvers[0]}" >/dev/null 2>&1
	check "PREFIX=/usr: uninstall leaves nothing" test -z "$(find "$dest" -mindepth 1 2>/dev/null)"
else
	not_ok "make install PREFIX=/usr DESTDIR=..."
	tail -n 20 "$t/log" | diag
fi

# 4. No headers for KVER: a clear error, and nothing installed.
dest=$t/none
if mk install DESTDIR="$dest" KVER=0.0.0-nonexistent >"$t/log" 2>&1; then
	not_ok "make install for a kernel without headers fails"
else
	check "make install for a kernel without headers fails, saying so" \
		grep -q 'no kernel headers for 0.0.0-nonexistent' "$t/log"
fi
check "... and installs nothing" test ! -e "$dest"

echo "1..$n"
[ "$failed" = 0 ]
