#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# chanbridge serve on a UNIX socket (issue 13): the daemon opens channels
# with its own rights, so each OPEN is checked against the local peer's
# credentials (SO_PEERCRED, SO_PEERGROUPS) and the node's owner, group and
# mode, as open(2) would.  Peers are hostile.py speaking the protocol
# (handshake, OPEN) as root, as nobody (setpriv) with and without a
# supplementary group; and a root importer carries a message end to end.
# Prints TAP.
#
#   tools/vm/run --kernel KVER -- tests/guest-bridge-local.sh
set -uo pipefail
# shellcheck source=../userspace/chanbridge/tests/lib.sh
. "$(dirname "$0")/../userspace/chanbridge/tests/lib.sh"
bridge_init
if ! command -v setpriv >/dev/null; then ktap_skip_all "no setpriv"; exit 0; fi
# nobody must be able to reach the helper and the socket.
chmod 755 "$W"
cp "$root/userspace/chanbridge/tests/hostile.py" "$W/hostile.py"
chmod 755 "$W/hostile.py"
S=unix:$W/local.sock
G=100	# a group nobody is not in

mkchan lc-priv --capacity 4			# root's, 0600: the default
mkchan lc-pub --capacity 4 --mode 0666
mkchan lc-ro --capacity 4 --mode 0644
mkchan lc-grp --capacity 4 --mode 0660
chgrp $G /dev/chan/lc-grp
mkchan lc-own --capacity 4 --mode 0600
chown 65534 /dev/chan/lc-own
mkchan lc-mask --capacity 4 --mode 0606	# group members get nothing, others all
chgrp $G /dev/chan/lc-mask
serve $W/serve.log --listen "$S" --export lc-priv --export lc-pub --export lc-ro \
	--export lc-grp --export lc-own --export lc-mask --status-socket $W/serve.sock
srv=$last_pid
check "the socket is connectable by everyone (srw-rw-rw-)" \
	test "$(stat -c %A "$W/local.sock")" = srw-rw-rw-

# open_as WHO NAME DIR: what an OPEN of NAME (send|recv) gets, as WHO.
open_as() {
	local who=$1; shift
	case $who in
	root) $PY "$W/hostile.py" "$S" open "$@" ;;
	nobody) setpriv --reuid 65534 --regid 65534 --clear-groups \
		$PY "$W/hostile.py" "$S" open "$@" ;;
	nobody+g) setpriv --reuid 65534 --regid 65534 --groups $G \
		$PY "$W/hostile.py" "$S" open "$@" ;;
	esac 2>&1
}
same "root opens a 0600 channel of root's" opened "$(open_as root lc-priv recv)"
same "nobody cannot receive from it: EACCES" "error 13" "$(open_as nobody lc-priv recv)"
same "... nor send into it" "error 13" "$(open_as nobody lc-priv send)"
check "... and the server says why" grep -q "refusing channel lc-priv: .*Permission denied (the peer's own rights)" $W/serve.log
same "nobody receives from a 0666 channel" opened "$(open_as nobody lc-pub recv)"
same "... and sends into it" opened "$(open_as nobody lc-pub send)"
same "nobody receives from a 0644 channel" opened "$(open_as nobody lc-ro recv)"
same "... but cannot send into it" "error 13" "$(open_as nobody lc-ro send)"
same "nobody is refused a 0660 channel of group $G" "error 13" "$(open_as nobody lc-grp recv)"
same "... and opens it with $G as a supplementary group" opened "$(open_as nobody+g lc-grp send)"
same "nobody opens a 0600 channel that nobody owns" opened "$(open_as nobody lc-own recv)"
same "a 0606 channel: others may" opened "$(open_as nobody lc-mask recv)"
same "... the group's members may not, as with open(2)" "error 13" "$(open_as nobody+g lc-mask recv)"

# A real importer, as root, through the socket: one message end to end.
import $W/imp.log l-pub "$S" lc-pub --recv --as l-pub --status-socket $W/imp.sock
imp=$last_pid
echo local-hello >/dev/chan/lc-pub
got=$(timeout 60 "$CC" recv l-pub -n 1 --timeout 50s)
same "an importer over unix:PATH receives a message" local-hello "$got"
kill -TERM $imp; wait $imp

check "the server is still running" alive "$srv"
kill -TERM "$srv"; wait "$srv"
same "and exits 0 on SIGTERM" 0 $?
check "... removing its socket" test ! -e "$W/local.sock"
diag <$W/serve.log
bridge_done
