# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by the shell examples: send and receive one message from bash.
#
# Sending is plain: `echo` is a bash builtin that makes one write() per call,
# and one write() is one message.  (A program with buffered stdio, like seq,
# would pack many lines into one message.)
#
# Receiving is the trap: bash's `read` (and mapfile) reads one byte at a time
# from anything it cannot seek back in, and a channel (stream_open) is such a
# file.  A 1-byte read() of a longer message fails with EMSGSIZE, so
# `read line < /dev/chan/c` does not work.  `dd count=1` makes exactly one
# read(), which returns exactly one whole message.

chanctl=${CHANCTL:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/build/userspace/chanctl}
[ -x "$chanctl" ] || { echo "$0: $chanctl is missing: run 'make userspace'" >&2; exit 1; }

# A write to a closed channel raises SIGPIPE, which would kill the (sub)shell:
# ignore it, so `echo` fails with EPIPE instead.  Subshells inherit this.
trap '' PIPE

# send NAME MSG: one message, MSG and a newline.  Fails (status 1) with EPIPE
# once NAME is closed.  The -c test is there because `>` creates a regular
# file if the node has gone (destroyed).
send() {
	[ -c "/dev/chan/$1" ] && echo "$2" >"/dev/chan/$1"
}

# recv NAME: print one message; blocks while NAME is empty; prints nothing at
# EOF (closed and drained: messages are never empty).
recv() {
	dd bs=4096 count=1 status=none <"/dev/chan/$1"
}
