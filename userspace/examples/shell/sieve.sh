#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Go's concurrent prime sieve in bash: background subshells for goroutines,
# kchan channels for Go channels.
#
#   generator --ch0--> filter 0 --ch1--> filter 1 --> ... --> filter N-1
#                         \_______________\____ primes _________\--> main
#
# Filter i takes the first number on its input as its prime p, reports it on
# `primes`, creates ch(i+1), starts filter i+1 and forwards every number not
# divisible by p.  All channels are unbuffered: each send waits for the
# receiver.
#
# Shutdown is Go's close(): main closes every channel at once.  A blocked or
# later send fails with EPIPE, and that filter closes its input; a receive
# sees EOF, and that filter closes its output.  (Closing only the last
# channel would do too, as in c/sieve.c, but then each filter ends only when the
# next number reaches it, which at a fork and exec per message takes bash
# seconds per filter.)
#
# usage: sieve.sh [N]   (default 15); checks the output, exits 1 on mismatch.
set -u
. "$(dirname "$0")/chan.sh"

nprimes=${1:-15}
prefix=sh-sieve$$

die() {
	echo "sieve.sh: $*" >&2
	"$chanctl" close "$prefix-primes" 2>/dev/null	# main stops waiting
	exit 1
}

generator() {
	local n=2
	while send "$prefix-0" "$n" 2>/dev/null; do	# ends with EPIPE
		n=$((n + 1))
	done
}

filter() {
	local i=$1 in=$prefix-$1 out=$prefix-$(($1 + 1)) p n
	p=$(recv "$in") || die "filter $i: recv"
	[ -n "$p" ] || exit 0				# closed before the first number
	send "$prefix-primes" "$p" || die "filter $i: report $p"
	[ $((i + 1)) -lt "$nprimes" ] || exit 0		# the last: main closes our input
	"$chanctl" create "$out" --msg-max 32 || die "filter $i: create $out"
	filter $((i + 1)) &
	while :; do
		n=$(recv "$in") || die "filter $i: recv"
		if [ -z "$n" ]; then			# EOF: upstream closed, pass it on
			"$chanctl" close "$out" 2>/dev/null
			break
		fi
		((n % p)) || continue
		if ! send "$out" "$n" 2>/dev/null; then	# EPIPE: downstream closed,
			"$chanctl" close "$in" 2>/dev/null	# so close our input too
			break
		fi
	done
	wait $! || exit 1
}

"$chanctl" create "$prefix-primes" --msg-max 32 || exit 1
"$chanctl" create "$prefix-0" --msg-max 32 || exit 1
generator &
filter 0 &

got=()
while [ ${#got[@]} -lt "$nprimes" ]; do
	p=$(recv "$prefix-primes")
	[ -n "$p" ] || break				# EOF: a worker failed
	got+=("$p")
	echo "$p"
done
names=("$prefix-primes")
for ((i = 0; i < nprimes; i++)); do
	names+=("$prefix-$i")
done
# Every channel exists by now, unless a worker failed.  Some may be closed
# already (by a failing worker): that close fails with EPIPE, harmlessly.
"$chanctl" close "${names[@]}" 2>/dev/null
ok=1
for job in $(jobs -p); do
	wait "$job" || ok=0
done
"$chanctl" destroy "${names[@]}" || ok=0

# The first N primes by trial division.
want=()
for ((c = 2; ${#want[@]} < nprimes; c++)); do
	for ((d = 2; d * d <= c; d++)); do
		((c % d)) || continue 2
	done
	want+=("$c")
done
if [ "${got[*]}" != "${want[*]}" ]; then
	echo "FAIL: got ${got[*]}; want ${want[*]}" >&2
	exit 1
fi
[ "$ok" = 1 ] || { echo "FAIL: a worker failed, or a channel was missing" >&2; exit 1; }
echo "ok: the first $nprimes primes through $nprimes filter subshells"
