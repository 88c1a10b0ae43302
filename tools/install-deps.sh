#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages kchan's build and tests need, and only the missing ones.
# Idempotent and silent when everything is present, so `make demo`/`make check` can
# run it every time (CI runs on a fresh Debian 12 machine; developers may already
# have everything).
set -euo pipefail

usage() {
	cat <<'EOF'
usage: tools/install-deps.sh [--help]

Checks each Debian package kchan needs with `dpkg -s` and installs the missing
ones with apt-get (after one `apt-get update`), using sudo when not root.
Prints nothing when everything is already installed.
EOF
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

# Why each package is here:
#   build-essential            gcc, make for the module, chanctl and the selftests
#   linux-headers-*            kbuild trees to build kchan.ko against (6.1, 6.12, 6.12-rt)
#   linux-image-*              the guest kernels the tests boot (never the host's)
#   linux-source-6.12          kselftest_harness.h and checkpatch.pl, extracted on demand
#   qemu-system-x86            the guest (TCG: no KVM needed)
#   busybox-static, cpio, kmod, xz-utils
#                              the guest initramfs (xz: 6.12 ships .ko.xz modules)
#   zstd                       unpacks 6.12's kernel image once, so the guest boots
#                              it directly instead of decompressing it under TCG
#   sparse                     `make sparse`
#   python3                    scripts and tests
#   liburing-dev               io_uring tests
#   golang-go, rustc, cargo    the Go and Rust examples (standard libraries only)
#   dkms, man-db, groff-base, pkgconf, strace
#                              host tests: DKMS build, man pages render, pkg-config of an
#                              installed libchan; chanctl's one-write-per-message check
#   gnuplot-nox                make bench's chart
#   libssl-dev, socat          chanbridge (HMAC, TLS); its benchmark's raw TCP relay
#   clang, libclang-rt-14-dev  make fuzz: libFuzzer on chanbridge's frame decoder
#   bison, flex, bc, libelf-dev, dwarves
#                              make check-debug and make check-kcsan build their kernels from
#                              linux-source-6.12 (libelf: objtool for the ORC unwinder)
packages=(
	build-essential
	qemu-system-x86
	busybox-static
	linux-image-amd64
	linux-headers-amd64
	linux-image-6.12-amd64
	linux-headers-6.12-amd64
	linux-image-6.12-rt-amd64
	linux-headers-6.12-rt-amd64
	linux-source-6.12
	sparse
	kmod
	cpio
	xz-utils
	zstd
	python3
	liburing-dev
	golang-go
	rustc
	cargo
	dkms
	man-db
	groff-base
	pkgconf
	strace
	gnuplot-nox
	libssl-dev
	socat
	clang
	libclang-rt-14-dev
	bison
	flex
	bc
	libelf-dev
	dwarves
	iproute2
)

missing=()
for pkg in "${packages[@]}"; do
	# dpkg -s succeeds for packages that were removed but not purged, so look
	# at the status line rather than the exit code alone.
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
