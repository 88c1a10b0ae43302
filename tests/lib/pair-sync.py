#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Meet the other guest of a tools/vm/pair run at a named point, over the link.

usage: pair-sync.py NAME [VALUE] [--timeout SECS] [--port PORT]

Side A (KCHAN_PAIR_ROLE=a) listens on [::]:PORT and waits for B; side B
connects to [KCHAN_PAIR_PEER%KCHAN_PAIR_IF]:PORT, retrying until A answers.
Each sends "NAME VALUE" and reads the other's line; both print the peer's
VALUE on stdout and exit 0.  Exit 1 when the peer reached a different point
(the two scripts are out of step), 2 on a usage error, 3 on timeout.
"""
import os
import socket
import sys
import time


def fail(code, msg):
    print(f"pair-sync: {msg}", file=sys.stderr)
    sys.exit(code)


def readline(sock, deadline):
    buf = b""
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            fail(3, "timed out waiting for the peer's line")
        sock.settimeout(left)
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            fail(3, "timed out waiting for the peer's line")
        if not chunk:
            raise ConnectionError("peer closed before its line")
        buf += chunk
    return buf.decode(errors="replace").rstrip("\n")


def main():
    args, timeout, port = [], 120.0, 7001
    argv = sys.argv[1:]
    while argv:
        a = argv.pop(0)
        if a == "--timeout" and argv:
            timeout = float(argv.pop(0))
        elif a == "--port" and argv:
            port = int(argv.pop(0))
        else:
            args.append(a)
    if not 1 <= len(args) <= 2 or any(" " in a or "\n" in a for a in args[:1]):
        fail(2, "usage: pair-sync.py NAME [VALUE] [--timeout SECS] [--port PORT]")
    name, value = args[0], (args[1] if len(args) > 1 else "-")
    mine = f"{name} {value}\n".encode()
    role = os.environ.get("KCHAN_PAIR_ROLE")
    deadline = time.monotonic() + timeout

    if role == "a":
        srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("::", port))
        srv.listen(4)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                fail(3, f"timed out at '{name}': B never came")
            srv.settimeout(left)
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                continue
            try:
                theirs = readline(conn, deadline)
                conn.sendall(mine)
                conn.close()
                break
            except (ConnectionError, OSError):
                conn.close()     # a connection the link cut: wait for the next
    elif role == "b":
        peer = (os.environ["KCHAN_PAIR_PEER"] + "%" + os.environ.get("KCHAN_PAIR_IF", "eth0"))
        addr = socket.getaddrinfo(peer, port, socket.AF_INET6, socket.SOCK_STREAM)[0][4]
        while True:
            if time.monotonic() >= deadline:
                fail(3, f"timed out at '{name}': A never answered")
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.settimeout(2)
            try:
                s.connect(addr)
                s.sendall(mine)
                theirs = readline(s, deadline)
                s.close()
                break
            except (ConnectionError, OSError):
                s.close()
                time.sleep(0.2)
    else:
        fail(2, "KCHAN_PAIR_ROLE must be a or b (run under tools/vm/pair)")

    tname, _, tvalue = theirs.partition(" ")
    if tname != name:
        fail(1, f"out of step: here '{name}', the peer is at '{tname}'")
    print(tvalue)


if __name__ == "__main__":
    main()
