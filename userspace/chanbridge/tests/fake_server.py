#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# A fake chanbridge server, for tests/host-bridge-handshake.sh (no kchan
# needed: an importer touches no channel before it is authenticated, and an
# importer --send none before its OPEN is answered).  It listens on
# 127.0.0.1:PORT, answers every connection as MODE says, and after SECONDS
# prints how many connections it saw.
#   fake_server.py PORT SECONDS MODE
#     error-in-hello       after the importer's HELLO: ERROR 0, CB_ERR_AUTH
#     error-chan-in-hello  after it: ERROR for channel 1, CB_ERR_NOEXPORT
#     busy                 the handshake (no PSK), then OPEN answered CB_ERR_BUSY
#     noexport             the handshake (no PSK), then OPEN answered CB_ERR_NOEXPORT
import os
import socket
import struct
import sys
import time

MAGIC, VERSION = 0x4B434842, 2
HELLO, ERROR = 1, 13
ERR_AUTH, ERR_NOEXPORT, ERR_BUSY = 1001, 1003, 1006


def frame(t, body):
    return struct.pack(">IB", len(body) + 1, t) + body


def error(chan, code, text):
    return frame(ERROR, struct.pack(">II", chan, code) + text)


def serve_one(c, mode):
    c.settimeout(5)
    try:
        hello = c.recv(33)		# the importer's HELLO: speak its version
        version = struct.unpack(">H", hello[9:11])[0] if len(hello) >= 11 else VERSION
        if mode == "error-in-hello":
            c.sendall(error(0, ERR_AUTH, b"go away for good"))
        elif mode == "error-chan-in-hello":
            c.sendall(error(1, ERR_NOEXPORT, b"x is not exported"))
        elif mode in ("busy", "noexport"):
            c.sendall(frame(HELLO, struct.pack(">IHHI", MAGIC, version, 0, 65536) +
                            os.urandom(16)))
            c.recv(256)			# its OPEN
            if mode == "busy":
                c.sendall(error(1, ERR_BUSY, b"x held by another importer"))
            else:
                c.sendall(error(1, ERR_NOEXPORT, b"x is not exported"))
        time.sleep(0.2)
    except OSError:
        pass
    c.close()


def main():
    port, seconds, mode = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(8)
    ls.settimeout(0.2)
    end, conns = time.time() + seconds, 0
    while time.time() < end:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        conns += 1
        serve_one(c, mode)
    print(conns)


main()
