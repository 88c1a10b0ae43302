#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Anonymous channels, Go's make(chan T), from Python: kchan.make() returns
an fd to a channel without a name, shared by os.fork() and passed over a
UNIX socket (SCM_RIGHTS) like any fd, gone when its last fd is closed.

    main --c0--> stage 0 --c1--> stage 1 --> ... stage S-1 --cS--> main

Each stage adds 1 to every number; the channels are made by main before
the fork and need no name, so nothing appears in /dev/chan.  Then the same
over a socket: a child forked before the channel existed gets it by
SCM_RIGHTS.  Checks everything and exits 1 on a mismatch.

usage: anon.py [STAGES [COUNT]]   (default 8 stages, 200 numbers)
"""
import os
import socket
import sys

import kchan

MSG_MAX = 32


def entries():
    return sorted(os.listdir(kchan.DEV_DIR))


def recv_num(fd):
    msg = os.read(fd, MSG_MAX)  # one read, one whole message; b"" at EOF
    return int(msg) if msg else None


def stage(inp, out):
    while (n := recv_num(inp)) is not None:
        os.write(out, b"%d" % (n + 1))
    kchan.close(out)  # Go's close: passes the end downstream


def pipeline(stages, count):
    chans = [kchan.make(msg_max=MSG_MAX) for _ in range(stages + 1)]
    pids = []
    for i in range(stages):
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                # Keep only this stage's two ends: the others' fds would keep
                # their channels alive after the stages that use them exit.
                for j, fd in enumerate(chans):
                    if j not in (i, i + 1):
                        os.close(fd)
                stage(chans[i], chans[i + 1])
                status = 0
            finally:
                os._exit(status)
        pids.append(pid)
    first, last = chans[0], chans[-1]
    for fd in chans[1:-1]:
        os.close(fd)
    # Main sends on c0 and receives on cS: unbuffered, so one writer process
    # is needed to keep the numbers flowing while main receives.
    feeder = os.fork()
    if feeder == 0:
        status = 1
        try:
            os.close(last)
            for n in range(count):
                os.write(first, b"%d" % n)
            kchan.close(first)
            status = 0
        finally:
            os._exit(status)
    os.close(first)
    got = []
    while (n := recv_num(last)) is not None:
        got.append(n)
    os.close(last)
    ok = all(os.waitpid(p, 0)[1] == 0 for p in pids + [feeder])
    want = [n + stages for n in range(count)]
    if got != want:
        print(f"anon: pipeline: got {got[:10]}... ({len(got)} numbers), want {want[:10]}...")
        return False
    if not ok:
        print("anon: a pipeline process failed")
    return ok


def over_socket():
    """A child forked before the channel existed receives its fd."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            parent.close()
            _, fds, _, _ = socket.recv_fds(child, 1, 1)
            os.write(fds[0], b"via SCM_RIGHTS")
            status = 0
        finally:
            os._exit(status)
    child.close()
    fd = kchan.make(capacity=1, msg_max=MSG_MAX)
    socket.send_fds(parent, [b"x"], [fd])
    parent.close()
    msg = os.read(fd, MSG_MAX)
    os.close(fd)
    ok = os.waitpid(pid, 0)[1] == 0 and msg == b"via SCM_RIGHTS"
    if not ok:
        print(f"anon: over a socket: got {msg!r}")
    return ok


def nonblocking():
    fd = kchan.make(capacity=1, nonblock=True)
    try:
        os.read(fd, MSG_MAX)
        print("anon: a non-blocking read of an empty channel did not fail")
        return False
    except BlockingIOError:
        pass
    os.write(fd, b"1")
    ok = os.read(fd, MSG_MAX) == b"1" and not os.get_inheritable(fd)
    os.close(fd)
    return ok


def main():
    stages = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    before = entries()
    ok = pipeline(stages, count) and over_socket() and nonblocking()
    after = entries()
    if after != before:
        print(f"anon: /dev/chan changed: {before} -> {after}")
        ok = False
    if ok:
        print(f"anon: {count} numbers through {stages} anonymous channels and processes, "
              "one fd over SCM_RIGHTS, no name in /dev/chan")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
