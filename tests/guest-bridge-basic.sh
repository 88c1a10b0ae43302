#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# chanbridge in one guest over 127.0.0.1: the command line (--help, usage
# errors, a non-loopback listen without a key refused), netchan's echo
# example from a shell, a few thousand numbered messages exactly once and in
# order, close propagation, `chanbridge status`, and TLS: genkey, key files
# refused, numbered messages over TLS 1.3 with a PSK (kernel TLS when the tls
# module loads), wrong keys retried, never final.  Prints TAP.
#
#   tools/vm/run --kernel KVER -- tests/guest-bridge-basic.sh
set -uo pipefail
# shellcheck source=../userspace/chanbridge/tests/lib.sh
. "$(dirname "$0")/../userspace/chanbridge/tests/lib.sh"
bridge_init
NUM=$root/userspace/chanbridge/tests/numbered.py
IO=${BRIDGE_IO:-uring}

# --- the command line --------------------------------------------------------
"$CB" --help >$W/help 2>&1; rc=$?
check "--help exits 0" test $rc = 0
check "--help prints the serve synopsis" grep -q '^usage: chanbridge serve \[--listen ADDR:PORT|unix:PATH\]' $W/help
check "--help prints the import synopsis" grep -q '^usage: chanbridge import ADDR:PORT NAME (--send|--recv)' $W/help
check "--help prints the status synopsis" grep -q '^usage: chanbridge status \[--status-socket PATH\] \[--json\]' $W/help
check "--help prints the genkey synopsis" grep -q '^usage: chanbridge genkey \[--identity NAME\] FILE' $W/help
"$CB" serve --listen 0.0.0.0:7071 --no-tls --export x >/dev/null 2>$W/notls; same \
	"--no-tls off loopback: exit 2" 2 $?
check "... and says why" grep -q 'no-tls is for loopback only' $W/notls
"$CB" >/dev/null 2>&1; same "no command: exit 2" 2 $?
"$CB" serve --frob >/dev/null 2>&1; same "unknown option: exit 2" 2 $?
"$CB" serve >/dev/null 2>&1; same "serve without --export: exit 2" 2 $?
"$CB" serve --export 'a/b' >/dev/null 2>&1; same "bad export name: exit 2" 2 $?
"$CB" serve --export a:both >/dev/null 2>&1; same "bad export direction: exit 2" 2 $?
"$CB" import 127.0.0.1:7070 x >/dev/null 2>&1; same "import without --send/--recv: exit 2" 2 $?
"$CB" import 127.0.0.1 x --send >/dev/null 2>&1; same "import without a port: exit 2" 2 $?
"$CB" import 127.0.0.1:7070 x --send --window 0 >/dev/null 2>&1; same "--window 0: exit 2" 2 $?
timeout 10 "$CB" serve --listen 0.0.0.0:7071 --export x >/dev/null 2>$W/nopsk; same \
	"non-loopback listen without --psk-file: exit 2" 2 $?
check "... and says why" grep -q 'without --psk-file' $W/nopsk
timeout 10 "$CB" serve --listen :::7071 --export x >/dev/null 2>$W/nopsk6; same \
	"--listen :: parses, and without --psk-file is refused too" 2 $?
check "... for the same reason" grep -q 'without --psk-file' $W/nopsk6
timeout 10 "$CB" serve --listen '[fe80::1%lo]:7071' --export x >/dev/null 2>$W/nopskz; same \
	"--listen [fe80::1%lo]:PORT parses (IPv6 with a zone), refused without a key" 2 $?
check "... for the same reason" grep -q 'without --psk-file' $W/nopskz
timeout 10 "$CB" serve --listen 127.0.0.1:7071 --export x >/dev/null 2>$W/nokeylo; same \
	"loopback TCP without a key or --insecure-loopback: exit 2" 2 $?
check "... and says why" grep -q 'any local user could reach the exports' $W/nokeylo
timeout 10 "$CB" serve --listen '[zz]:7071' --export x >/dev/null 2>&1; same \
	"a bad --listen address: exit 2" 2 $?

# --- netchan's echo example -------------------------------------------------------
mkchan echo-in --capacity 4
mkchan echo-out --capacity 4
serve $W/serve.log --insecure-loopback --listen 127.0.0.1:7070 --io "$IO" --export echo-in:recv \
	--export echo-out:send --status-socket $W/serve.sock
srv=$last_pid
# "Host A" echoes what arrives on echo-out back on echo-in.
$PY -c '
import os
i = os.open("/dev/chan/echo-out", os.O_RDONLY)
o = os.open("/dev/chan/echo-in", os.O_WRONLY)
while True:
    m = os.read(i, 65536)
    if not m:
        break
    os.write(o, m)
' &
pids+=($!)
import $W/imp-out.log r-echo-out 127.0.0.1:7070 echo-out --send --as r-echo-out \
	--io "$IO" --status-socket $W/imp-out.sock
imp_out=$last_pid
import $W/imp-in.log r-echo-in 127.0.0.1:7070 echo-in --recv --as r-echo-in \
	--io "$IO" --status-socket $W/imp-in.sock
imp_in=$last_pid
echo hello >/dev/chan/r-echo-out
got=$(timeout 60 "$CC" recv r-echo-in -n 1)
same "echo hello through two bridges and back" "hello" "$got"
check "the serve log names the io backend" grep -q "serving 2 channels on 127.0.0.1:7070 (no TLS, $( [ "$IO" = epoll ] && echo epoll || echo io_uring)" $W/serve.log

# --- direction limits -----------------------------------------------------------------
timeout 60 "$CB" import 127.0.0.1:7070 echo-in --send --as wrong-dir \
	--status-socket $W/wd.sock 2>$W/wd.log; rc=$?
same "sending into an export limited to :recv: the importer exits 1" 1 $rc
check "... the server says why" grep -q "echo-in may not be sent into by importers" $W/serve.log

# --- ordering and exactly-once -------------------------------------------------------
N=3000
mkchan nums --capacity 16
"$CB" import 127.0.0.1:7070 nums --recv --as r-nums --window 16 --io "$IO" \
	--status-socket $W/imp-nums.sock 2>$W/imp-nums.log &
pids+=($!)
imp_nums=$!
"$CB" serve --insecure-loopback --listen 127.0.0.1:7072 --io "$IO" --export nums:recv \
	--status-socket $W/serve2.sock 2>$W/serve2.log &
pids+=($!)
# (the import above connects to 7070, which does not export nums: it gives up)
wait_for 30 grep -q "serving" $W/serve2.log
wait "$imp_nums"; rc=$?
same "importing a channel the server does not export: exit 1" 1 $rc
check "... and the importer says why" grep -q "nums is not exported" $W/imp-nums.log
import $W/imp-nums.log r-nums 127.0.0.1:7072 nums --recv --as r-nums --window 16 --io "$IO" \
	--status-socket $W/imp-nums.sock
timeout 120 $PY "$NUM" send /dev/chan/nums 1 $N &
sender=$!
timeout 120 $PY "$NUM" recv /dev/chan/r-nums $N 60 >$W/nums.out 2>$W/nums.err
wait $sender
check "$N numbered messages arrive exactly once, in order" $PY "$NUM" check $W/nums.out 1 $N
diag <$W/nums.err

# --- status ---------------------------------------------------------------------------
"$CB" status --status-socket $W/serve2.sock >$W/status.txt 2>&1
check "status lists the channel with its counters" grep -q "^channel nums .*sent $N acked $N" $W/status.txt
diag <$W/status.txt
"$CB" status --status-socket $W/imp-nums.sock --json >$W/status.json 2>&1
check "status --json parses, and counts what the importer committed" $PY -c "
import json, sys
j = json.load(open('$W/status.json'))
c = j['channels'][0]
sys.exit(not (j['mode'] == 'import' and c['name'] == 'nums' and c['local'] == 'r-nums' and c['sent'] == $N))"

# --- close propagation ------------------------------------------------------------------
$PY "$NUM" send /dev/chan/nums 1 3
"$CC" close nums
timeout 60 "$CC" recv r-nums >$W/close.out 2>&1; rc=$?
same "after a close, the far channel drains what was sent before it, then ends" "0 1 2 3" \
	"$rc $(tr '\n' ' ' <$W/close.out | sed 's/ $//')"
wait_for 30 gone "$last_pid"
check "the importer exits once every channel is closed" gone "$last_pid"
check "the importer logged the close" grep -q "closed after seq" $W/imp-nums.log

# --- TLS ---------------------------------------------------------------------------------------
# Kernel TLS needs the tls module and the AEAD's (gcm, ghash: the guest does not
# load it by itself); without them the same runs in user space.
modprobe -a tls gcm ghash_generic 2>/dev/null
"$CB" genkey --identity imp1 $W/imp1.key >/dev/null; same "genkey: exit 0" 0 $?
check "genkey writes a 0600 key file" test "$(stat -c %a $W/imp1.key)" = 600
"$CB" genkey $W/imp1.key >/dev/null 2>&1; same "genkey does not overwrite a file: exit 1" 1 $?
"$CB" genkey --identity stranger $W/stranger.key >/dev/null
"$CB" genkey --identity imp1 $W/wrong.key >/dev/null
(umask 077 && cat $W/imp1.key >$W/server.keys && echo "# a comment" >>$W/server.keys)
cp $W/server.keys $W/open.keys && chmod 644 $W/open.keys
timeout 10 "$CB" serve --listen 127.0.0.1:7074 --psk-file $W/open.keys --export x \
	--status-socket $W/x.sock >/dev/null 2>$W/open.log; same "a key file others can read: exit 1" 1 $?
check "... and says why" grep -q 'mode 0644 lets group or others at the key: refused' $W/open.log
ln -s $W/server.keys $W/link.keys
timeout 10 "$CB" serve --listen 127.0.0.1:7074 --psk-file $W/link.keys --export x \
	--status-socket $W/x.sock >/dev/null 2>$W/link.log; same "a symlinked key file: exit 1" 1 $?
check "... and says why" grep -q 'is a symbolic link: refused' $W/link.log
mkchan tnums --capacity 16
serve $W/tls.log --listen 127.0.0.1:7073 --io "$IO" --psk-file $W/server.keys --export tnums:recv \
	--status-socket $W/tls.sock
tsrv=$last_pid
check "serve says it runs TLS with a PSK" grep -q "(TLS, PSK, " $W/tls.log
import $W/imp-tls.log r-tnums 127.0.0.1:7073 tnums --recv --as r-tnums --window 16 --io "$IO" \
	--psk-file $W/imp1.key --status-socket $W/imp-tls.sock
timeout 120 $PY "$NUM" send /dev/chan/tnums 1 $N &
sender=$!
timeout 120 $PY "$NUM" recv /dev/chan/r-tnums $N 60 >$W/tnums.out 2>$W/tnums.err
wait $sender
check "TLS: $N numbered messages arrive exactly once, in order" $PY "$NUM" check $W/tnums.out 1 $N
check "TLS: the server logs the principal" grep -q 'TLSv1.3 .*PSK identity "imp1"' $W/tls.log
"$CB" status --status-socket $W/tls.sock >$W/tstatus.txt 2>&1
check "TLS: status shows TLS 1.3 and the principal" \
	grep -q "ready .* tls psk TLSv1.3 .* principal imp1" $W/tstatus.txt
diag <$W/tstatus.txt
if [ -e /proc/net/tls_stat ] && grep -q "kernel TLS send on" $W/tls.log; then
	ok "kernel TLS: the log says send is offloaded"
	check "... and the kernel counted a TLS send socket" \
		awk '$1 == "TlsTxSw" && $2 > 0 { f = 1 } END { exit !f }' /proc/net/tls_stat
	diag </proc/net/tls_stat
elif [ -e /proc/net/tls_stat ]; then
	# 6.1 has the module, yet OpenSSL's offload may not engage there.
	skip "kernel TLS: send offloaded" "the tls module did not take the keys on $(uname -r)"
	check "... which the log says" grep -q "kernel TLS send off (user space)" $W/tls.log
	diag </proc/net/tls_stat
else
	skip "kernel TLS" "no tls module in this guest: user-space TLS"
	check "... which the log says" grep -q "kernel TLS send off (user space)" $W/tls.log
fi
# retried LOG: the importer has reconnected at least twice.
retried() { [ "$(grep -c 'reconnecting' "$1")" -ge 2 ]; }
# Failed handshakes are never final: the importer retries with backoff.
for k in wrong stranger none; do
	keyarg=(--psk-file $W/$k.key); [ $k = none ] && keyarg=()
	"$CB" import 127.0.0.1:7073 tnums --recv --as r-$k "${keyarg[@]}" \
		--status-socket $W/imp-$k.sock 2>$W/imp-$k.log &
	p=$!
	wait_for 30 retried $W/imp-$k.log
	check "TLS, key $k: the importer retries, it does not give up" alive $p
	check "... and never created its channel" test ! -e /dev/chan/r-$k
	kill -TERM $p; wait $p
done
check "a wrong key: the server says so" grep -q 'TLS handshake failed: wrong key for PSK identity "imp1"' $W/tls.log
check "a wrong key: the importer says the server refused" grep -q 'TLS handshake failed: the peer refused' $W/imp-wrong.log
check "an unknown identity: the server names it" grep -q 'unknown PSK identity "stranger"' $W/tls.log
check "no key at all: the handshake fails on the server" test "$(grep -c 'TLS handshake failed' $W/tls.log)" -ge 3
kill -TERM "$tsrv"; wait "$tsrv"

# --- TLS with certificates of a private CA --------------------------------------------------
pki=$W/pki
mkdir -p $pki
# mkcert NAME SAN [CA]: an EC key and a certificate for CN=NAME, signed by CA (default ca).
mkcert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $pki/$1.key \
		-out $pki/$1.csr -subj "/CN=$1" 2>/dev/null &&
	printf 'subjectAltName=%s\n' "$2" >$pki/$1.ext &&
	openssl x509 -req -in $pki/$1.csr -CA $pki/${3:-ca}.crt -CAkey $pki/${3:-ca}.key \
		-CAcreateserial -days 1 -out $pki/$1.crt -extfile $pki/$1.ext 2>/dev/null
}
for ca in ca otherca; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $pki/$ca.key \
		-out $pki/$ca.crt -days 2 -subj "/CN=test $ca" 2>/dev/null
done
mkcert server IP:127.0.0.1 && mkcert importer1 DNS:importer1.test &&
	mkcert rogue DNS:rogue.test otherca
check "certificates made with the openssl CLI" test -s $pki/rogue.crt
chmod 600 $pki/*.key
mkchan cx --capacity 4
serve $W/cert.log --listen 127.0.0.1:7075 --io "$IO" --cert $pki/server.crt --key $pki/server.key \
	--ca $pki/ca.crt --export cx:recv --status-socket $W/cert.sock
csrv=$last_pid
check "serve says it runs TLS with certificates" grep -q "(TLS, certificates, " $W/cert.log
import $W/imp-cert.log r-cx 127.0.0.1:7075 cx --recv --as r-cx --io "$IO" \
	--cert $pki/importer1.crt --key $pki/importer1.key --ca $pki/ca.crt \
	--status-socket $W/imp-cert.sock
echo "over certificates" >/dev/chan/cx
got=$(timeout 60 "$CC" recv r-cx -n 1)
same "certificates: a message arrives" "over certificates" "$got"
check "certificates: the server's principal is the importer's CN" \
	grep -q 'certificate "importer1"' $W/cert.log
check "certificates: the importer checked the server (127.0.0.1 against its IP SAN)" \
	grep -q 'certificate "server"' $W/imp-cert.log
# A certificate of another CA, and a server name that does not match: retried, never final.
for k in rogue name; do
	args=(--cert $pki/importer1.crt --key $pki/importer1.key --ca $pki/ca.crt)
	[ $k = rogue ] && args=(--cert $pki/rogue.crt --key $pki/rogue.key --ca $pki/ca.crt)
	[ $k = name ] && args+=(--server-name other.test)
	"$CB" import 127.0.0.1:7075 cx --recv --as r-cx-$k "${args[@]}" \
		--status-socket $W/imp-cx-$k.sock 2>$W/imp-cx-$k.log &
	p=$!
	wait_for 30 retried $W/imp-cx-$k.log
	check "certificates, $k: the importer retries, it does not give up" alive $p
	kill -TERM $p; wait $p
done
check "another CA: the server refuses the certificate" \
	grep -q "TLS handshake failed: certificate verify failed: unable to get local issuer" $W/cert.log
check "a wrong server name: the importer says so" \
	grep -q "TLS handshake failed: certificate verify failed: hostname mismatch" $W/imp-cx-name.log
kill -TERM "$csrv"; wait "$csrv"

# --- clean shutdown --------------------------------------------------------------------------
kill -TERM "$srv"
wait "$srv"; rc=$?
same "serve exits 0 on SIGTERM" 0 $rc
check "serve logs the shutdown" grep -q "shutting down" $W/serve.log
for p in $imp_in $imp_out; do kill -TERM "$p"; wait "$p"; done
check "the status socket is gone after shutdown" test ! -e $W/serve.sock
for f in $W/*.log; do echo "--- $f"; cat "$f"; done | diag
bridge_done
