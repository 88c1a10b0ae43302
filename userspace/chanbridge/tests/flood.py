#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# Idle connections against a chanbridge serve, for tests/host-bridge-dos.sh:
# COUNT sockets that never send a byte, spread over NADDRS source addresses
# 127.0.0.2, 127.0.0.3, ... (all of 127/8 is loopback), for SECONDS.
#   flood.py PORT COUNT NADDRS SECONDS reconnect   a socket the server closes
#                                                  connects again after 20 ms
#   flood.py PORT COUNT NADDRS SECONDS hold        connect once, hold, never send
# Prints "connects N closed-by-server M".
import errno
import select
import socket
import sys
import time

IP_BIND_ADDRESS_NO_PORT = 24	# let connect() pick the port: no clash with TIME_WAIT


def open_one(port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
    s.bind((src, 0))
    s.setblocking(False)
    err = s.connect_ex(("127.0.0.1", port))
    if err not in (0, errno.EINPROGRESS):
        s.close()
        return None
    return s


def main():
    port, count, naddrs, seconds = (int(a) for a in sys.argv[1:5])
    reconnect = sys.argv[5] == "reconnect"
    srcs = ["127.0.0.%d" % (2 + i % naddrs) for i in range(count)]
    socks = {}	# fileno -> (socket, index)
    due = {}	# index -> when to connect again
    connects = closed = 0
    end = time.time() + seconds
    for i in range(count):
        due[i] = 0
    while time.time() < end:
        now = time.time()
        for i, t in list(due.items()):
            if t <= now:
                s = open_one(port, srcs[i])
                connects += 1
                if s is None:
                    due[i] = now + 0.02
                    continue
                del due[i]
                socks[s.fileno()] = (s, i)
        r, _, _ = select.select(list(socks), [], [], 0.01)
        for fd in r:
            s, i = socks[fd]
            try:
                d = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if d:
                continue	# the ERROR frame; the close follows
            closed += 1
            del socks[fd]
            s.close()
            if reconnect:
                due[i] = time.time() + 0.02
    print("connects %d closed-by-server %d" % (connects, closed))
    for s, _ in socks.values():
        s.close()
    return 0


sys.exit(main())
