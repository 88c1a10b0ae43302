#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# Hostile chanbridge peers, for tests/guest-bridge-hostile.sh.  Each mode
# connects to HOST:PORT, misbehaves, and exits 0 when the bridge closed the
# connection (printing the ERROR code it sent, if any), 1 if it did not
# within the time limit.
# The modes after the handshake (violation, loris-ready) speak plain
# chanbridge: run them against a serve without TLS (on loopback); the frame
# engine behind TLS is the same.
#   hostile.py PORT random|giant|early|violation|loris|loris-ready
#   hostile.py PORT liar NAME            OPEN NAME to receive, then RESUME above anything
#                                         ever sent (issue 13), and credit
#   hostile.py PORT many COUNT            open COUNT connections, report how many were refused
#   hostile.py unix:PATH open NAME send|recv   handshake (no key), OPEN NAME: print
#                                         "opened" or "error CODE"
# PORT may be unix:PATH, a UNIX socket.
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
    if str(port).startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(port[5:])
        return s
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


def handshake(s):
    s.sendall(frame(1, struct.pack(">IHHI", MAGIC, VERSION, 0, 65536) + bytes(16)))
    h = b""
    while len(h) < 33:
        d = s.recv(33 - len(h))
        if not d:
            raise SystemExit("closed during the handshake")
        h += d


def recv_frame(s):
    """One frame: (type, body), or None when the peer closed."""
    h = b""
    while len(h) < 4:
        d = s.recv(4 - len(h))
        if not d:
            return None
        h += d
    n = struct.unpack(">I", h)[0]
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            return None
        b += d
    return b[0], b[1:]


def open_chan(port, name, direction):
    s = connect(port)
    handshake(s)
    d = 1 if direction == "send" else 2
    s.sendall(frame(3, struct.pack(">IBIQB", 1, d, 4, 0, len(name)) + name.encode()))
    f = recv_frame(s)
    if f is None:
        print("closed")
    elif f[0] == 4:
        print("opened")
    elif f[0] == 13:
        print("error %d" % struct.unpack(">I", f[1][4:8])[0])
    else:
        print("frame %d" % f[0])
    s.close()
    return 0


def main():
    port, mode = sys.argv[1], sys.argv[2]
    port = port if port.startswith("unix:") else int(port)
    if mode == "open":
        return open_chan(port, sys.argv[3], sys.argv[4])
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
        handshake(s)
        s.sendall(frame(7, struct.pack(">IQ", 9, 1) + b"x"))
    elif mode == "liar":
        handshake(s)
        name = sys.argv[3].encode()
        s.sendall(frame(3, struct.pack(">IBIQB", 1, 2, 4, 7, len(name)) + name))
        f = recv_frame(s)  # OPENED: the serve is the source, the stream its channel's id
        if f is None or f[0] != 4:
            print("not opened: %s" % (f and f[0]))
            return 1
        s.sendall(frame(5, struct.pack(">IQ", 1, 1 << 40)) + frame(6, struct.pack(">IQ", 1, 4)))
    elif mode == "loris":
        s.sendall(frame(1, struct.pack(">IHHI", MAGIC, VERSION, 1, 65536) + os.urandom(16))[:3])
    elif mode == "loris-ready":
        handshake(s)
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
