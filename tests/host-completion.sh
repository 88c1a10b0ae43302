#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The bash completion of chanctl (userspace/completion/chanctl): commands,
# options, option values and channel names, driven through COMP_WORDS and
# COMP_CWORD as bash does on <Tab>; and the options it offers are exactly
# those each command's --help lists.  Prints TAP.  Runs on the host: the
# channel names come from a fake /dev/chan (with its dotfile .control).
#
#   tests/host-completion.sh
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
C=${CHANCTL:-$root/build/userspace/chanctl}
script=$root/userspace/completion/chanctl

# shellcheck source=tests/lib/ktap.sh
. "$root/tests/lib/ktap.sh"

echo "TAP version 13"

# shellcheck source=/dev/null
if ! source "$script"; then
	echo "not ok 1 - source $script"
	echo "1..1"
	exit 1
fi
ok "the script sources cleanly"
if [ "$(complete -p chanctl 2>/dev/null)" = "complete -F _chanctl chanctl" ]; then
	ok "complete -p chanctl: -F _chanctl"
else
	not_ok "complete -p chanctl: -F _chanctl (got '$(complete -p chanctl 2>&1)')"
fi

# A fake /dev/chan with three channels and the control node.
_chanctl_dir=$(mktemp -d)
trap 'rm -rf "$_chanctl_dir"' EXIT
touch "$_chanctl_dir"/jobs "$_chanctl_dir"/jobs2 "$_chanctl_dir"/tick "$_chanctl_dir"/.control

# complete WANT WORD...: complete the command line WORD... (the last word is
# the one under the cursor, "" for a fresh word) and compare the sorted
# candidates with WANT (space-separated).
complete_is() {
	local want=$1; shift
	local -a COMP_WORDS=("$@") COMPREPLY=()
	local COMP_CWORD=$(($# - 1)) got
	COMP_LINE="$*" COMP_POINT=${#COMP_LINE}
	_chanctl chanctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd ' ' -)
	if [ "$got" = "$want" ]; then
		ok "'$*' -> '$want'"
	else
		not_ok "'$*' -> '$want' (got '$got')"
	fi
}

complete_is "--help close create destroy help list recv send stat" chanctl ""
complete_is "close create" chanctl c
complete_is "stat" chanctl st
complete_is "--help" chanctl --
complete_is "--after --autoclose --capacity --help --mode --msg-max --streams --tick" chanctl create x --
complete_is "--capacity" chanctl create x --ca
complete_is "" chanctl create ""
complete_is "" chanctl create x --capacity ""
complete_is "0600 0640 0644 0660 0666" chanctl create x --mode ""
complete_is "0640 0644" chanctl create x --mode 064
complete_is "100ms 1m 1s" chanctl create x --tick 1
complete_is "2s" chanctl create x --tick = 2
complete_is "jobs jobs2 tick" chanctl destroy ""
complete_is "jobs jobs2" chanctl close j
complete_is "jobs jobs2 tick" chanctl destroy jobs ""
complete_is "--help" chanctl destroy --
complete_is "" chanctl list ""
complete_is "--help --json" chanctl list --
complete_is "jobs jobs2 tick" chanctl stat ""
complete_is "" chanctl stat jobs ""
complete_is "--help --json" chanctl stat jobs --
complete_is "tick" chanctl send t
complete_is "" chanctl send jobs ""
complete_is "" chanctl send --timeout 2s jobs ""
complete_is "jobs jobs2 tick" chanctl send --timeout 2s ""
complete_is "--help --null --timeout --whole" chanctl send jobs --
complete_is "jobs jobs2 tick" chanctl recv ""
complete_is "jobs jobs2 tick" chanctl recv jobs ""
complete_is "jobs jobs2 tick" chanctl recv -n 3 jobs ""
complete_is "" chanctl recv -n ""
complete_is "--count --help --null --timeout" chanctl recv jobs --
complete_is "jobs jobs2 tick" chanctl recv jobs --timeout 1s ""
complete_is "jobs jobs2 tick" chanctl recv jobs --timeout = 1s ""
complete_is "jobs jobs2 tick" chanctl recv -- ""
shopt -s dotglob
complete_is "jobs jobs2 tick" chanctl destroy ""	# .control is no channel, with dotglob too
shopt -u dotglob
complete_is "recv" chanctl help r
complete_is "" chanctl help recv ""
complete_is "" chanctl frob ""

# No channels at all (kchan not loaded): nothing, and no error.
_chanctl_dir=/nonexistent
complete_is "" chanctl destroy ""
_chanctl_dir=$(mktemp -d); rmdir "$_chanctl_dir"

# The options offered are those --help lists: the two must not drift.
if [ -x "$C" ]; then
	for cmd in create destroy close list stat send recv; do
		helped=$({ "$C" "$cmd" --help | grep -oE -- '--[a-z][a-z-]*'; echo --help; } |
			sort -u | paste -sd ' ' -)
		local_words=(chanctl "$cmd" x --)
		[ "$cmd" = list ] && local_words=(chanctl "$cmd" --)
		complete_is "$helped" "${local_words[@]}"
	done
else
	echo "ok $((n + 1)) - options match --help # SKIP no $C (make userspace)"
	n=$((n + 1))
fi

echo "1..$n"
[ "$failed" = 0 ]
