#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# Hostile chanbridge peers, for tests/guest-bridge-hostile.sh.  Each mode
# connects to HOST:PORT, misbehaves, and exits 0 when the bridge closed the
# connection (printing the ERROR code it sent, if any), 1 if it did not
# within the time limit.
#   hostile.py PORT random|giant|early|violation|loris|loris-ready [KEYFILE]
#   hostile.py PORT many COUNT            open COUNT connections, report how many were refused
import hashlib
import hmac
import os
import socket
import struct
import sys
import time

MAGIC = 0x4B434842
VERSION = 2  # the protocol version chanbridge speaks


def frame(t, body):
    return struct.pack(">IB", len(body) + 1, t) + body


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    return s


def wait_closed(s, limit=30):
    """Read until the peer closes; return the last ERROR code seen or 0."""
    s.settimeout(limit)
    data = b""
    end = time.time() + limit
    while time.time() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            return None
        except ConnectionResetError:
            break
        if not d:
            break
        data += d
    else:
        return None
    code = 0
    off = 0
    while off + 5 <= len(data):
        n, t = struct.unpack(">IB", data[off:off + 5])
        if t == 13 and off + 13 <= len(data):
            code = struct.unpack(">I", data[off + 9:off + 13])[0]
        off += 4 + n
    return code


def handshake(s, key):
    cn = os.urandom(16)
    s.sendall(frame(1, struct.pack(">IHHI", MAGIC, VERSION, 1 if key else 0, 65536) + cn))
    h = b""
    while len(h) < 33:
        d = s.recv(33 - len(h))
        if not d:
            raise SystemExit("closed during the handshake")
        h += d
    sn = h[-16:]
    if key:
        mac = hmac.new(key, b"chanbridge/1 client\0" + cn + sn, hashlib.sha256).digest()
        s.sendall(frame(2, mac))
        a = b""
        while len(a) < 37:
            d = s.recv(37 - len(a))
            if not d:
                raise SystemExit("closed during AUTH")
            a += d
        want = hmac.new(key, b"chanbridge/1 server\0" + cn + sn, hashlib.sha256).digest()
        if a[5:] != want:
            raise SystemExit("the server's proof is wrong")


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    key = open(sys.argv[3], "rb").read().rstrip(b"\r\n") if len(sys.argv) > 3 and mode != "many" else None
    if mode == "many":
        count = int(sys.argv[3])
        socks = []
        refused = 0
        for _ in range(count):
            s = connect(port)
            socks.append(s)
        time.sleep(1)
        for s in socks:
            s.setblocking(False)
            try:
                d = s.recv(4096)
                if d == b"" or (len(d) >= 13 and d[4] == 13):
                    refused += 1
            except BlockingIOError:
                pass
            except ConnectionResetError:
                refused += 1
        print(refused)
        for s in socks:
            s.close()
        return 0
    s = connect(port)
    t0 = time.time()
    if mode == "random":
        try:
            s.sendall(os.urandom(65536))
        except (BrokenPipeError, ConnectionResetError):
            pass
    elif mode == "giant":
        s.sendall(b"\xff\xff\xff\xf0\x07")
    elif mode == "early":
        s.sendall(frame(8, struct.pack(">IQ", 1, 1)))
    elif mode == "violation":
        handshake(s, key)
        s.sendall(frame(7, struct.pack(">IQ", 9, 1) + b"x"))
    elif mode == "loris":
        s.sendall(frame(1, struct.pack(">IHHI", MAGIC, VERSION, 1, 65536) + os.urandom(16))[:3])
    elif mode == "loris-ready":
        handshake(s, key)
        # A frame one byte at a time, slower than the dead-peer timeout allows.
        f = frame(11, struct.pack(">Q", 1)) * 100
        closed = False
        for b in f:
            try:
                s.send(bytes([b]))
                time.sleep(0.5)
                while True:
                    d = s.recv(4096, socket.MSG_DONTWAIT)
                    if d == b"":
                        closed = True
                        break
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            if closed:
                break
        if closed:
            print("closed after %.1f s" % (time.time() - t0))
            return 0
    code = wait_closed(s)
    if code is None:
        print("not closed")
        return 1
    print("closed after %.1f s, error %d" % (time.time() - t0, code))
    return 0


sys.exit(main())
