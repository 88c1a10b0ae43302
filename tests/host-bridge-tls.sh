#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# chanbridge's TLS layer and key files on the host (no guest): tls_test runs
# both ends of each link in one process over loopback TCP: the handshake
# matrix (right and wrong key, unknown identity, wrong CA, no client
# certificate, expired certificate, host name and ALPN mismatches), the key
# file checks (mode, symlink, not a regular file), genkey, revocation by
# removing a line, a capture of the link that must hold no plaintext, and an
# attacker on the path who flips a bit, injects a plaintext ACK or replays a
# record: each read fails, nothing is delivered.
#
#   tests/host-bridge-tls.sh
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
T=$root/build/userspace/chanbridge/tls_test
# shellcheck source=tests/lib/ktap.sh
. "$root/tests/lib/ktap.sh"

if [ ! -x "$T" ]; then
	ktap_print_header
	ktap_skip_all "no $T (make userspace)"
	exit 0
fi
dir=$(mktemp -d /tmp/host-bridge-tls.XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
# kTLS engages only where the kernel's tls module is loaded: say which.
if [ -e /proc/net/tls_stat ]; then
	echo "# the kernel has TLS (/proc/net/tls_stat): kTLS send expected"
else
	echo "# no /proc/net/tls_stat (tls module not loaded): user-space TLS"
fi
"$T" "$dir"
