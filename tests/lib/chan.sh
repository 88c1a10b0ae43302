# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# kchan helpers of the shell tests (sourced by tests/*.sh and
# userspace/chanbridge/tests/lib.sh): where kchan is, and a channel's
# counters without sysfs.
#
#   chan_loaded                   the kchan filesystem is on /dev/chan (its control node is there)
#   chan_attr NAME KEY            one counter of /dev/chan/NAME, from the fdinfo of an fd
#                                 opened for it (its own reader not counted): capacity,
#                                 length, msg_max, readers, writers, sent, received,
#                                 dropped, held, closed, destroyed, kchan-id
#   chan_attr_is NAME KEY VALUE   whether it is VALUE (for wait_for and check)
#
# chan_attr opens /dev/chan/NAME for reading (never for writing: releasing the
# last writer of an autoclose channel would close it), so the caller needs
# read permission, as for chanctl stat.

KCHAN_DIR=/dev/chan
KCHAN_CONTROL=$KCHAN_DIR/.control

chan_loaded() { [ -c "$KCHAN_CONTROL" ]; }

chan_attr() {
	local name=$1 key=$2 fd k v val=''
	exec {fd}<"$KCHAN_DIR/$name" || return 1
	# $BASHPID, not $$: in $(chan_attr ...) the fd is the subshell's.
	while IFS=$' \t' read -r k v; do
		if [ "$k" = "$key:" ]; then val=$v; break; fi
	done <"/proc/$BASHPID/fdinfo/$fd"
	exec {fd}<&-
	[ -n "$val" ] || { echo "chan_attr: $name has no $key in its fdinfo" >&2; return 1; }
	[ "$key" != readers ] || val=$((val - 1))	# ours
	echo "$val"
}

chan_attr_is() { [ "$(chan_attr "$1" "$2" 2>/dev/null)" = "$3" ]; }
