#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Go's concurrent prime sieve with processes for goroutines and kchan
channels for Go channels:

    generator --ch0--> filter 0 --ch1--> filter 1 --> ... --> filter N-1
                          \\________________\\___ primes ___________\\--> main

Filter i takes the first number on its input as its prime p, reports it on
`primes`, creates ch(i+1), starts filter i+1 and forwards every number not
divisible by p.  Shutdown is Go's close() running upstream: main closes the
last filter's input; the writer blocked on it gets EPIPE and closes its own
input by name, and so on up to the generator.

usage: sieve.py [N]   (default 25); checks the output and exits 1 on mismatch.
"""
import os
import sys
import traceback

import kchan

MSG_MAX = 32
PREFIX = f"py-sieve{os.getpid()}"


def ch(i):
    return f"{PREFIX}-{i}"


PRIMES = f"{PREFIX}-primes"


def go(fn, *args):
    """Run fn(*args) in a child process, like a goroutine.  A child that
    fails closes `primes`, so main stops waiting and fails too."""
    pid = os.fork()
    if pid == 0:
        status = 0
        try:
            fn(*args)
        except BaseException:
            traceback.print_exc()
            try:
                kchan.close_name(PRIMES)
            except OSError:
                pass
            status = 1
        os._exit(status)
    return pid


def wait_ok(pid):
    return os.waitpid(pid, 0)[1] == 0


def generator():
    out = kchan.open(ch(0), os.O_WRONLY)
    n = 2
    try:
        while True:
            os.write(out, b"%d\n" % n)  # unbuffered: returns once filter 0 took it
            n += 1
    except BrokenPipeError:
        pass                            # filter 0 closed ch0: done


def filter(i, nprimes):
    inp = kchan.open(ch(i), os.O_RDONLY)
    msg = os.read(inp, MSG_MAX)
    if not msg:
        return                          # closed before the first number
    p = int(msg)
    rep = kchan.open(PRIMES, os.O_WRONLY)
    os.write(rep, msg)
    os.close(rep)
    if i + 1 == nprimes:
        return                          # the last one: main closes our input

    kchan.create(ch(i + 1), msg_max=MSG_MAX)
    child = go(filter, i + 1, nprimes)
    out = kchan.open(ch(i + 1), os.O_WRONLY)
    while True:
        msg = os.read(inp, MSG_MAX)
        if not msg:                     # EOF: upstream closed, pass it on
            kchan.close(out)
            break
        if int(msg) % p == 0:
            continue
        try:
            os.write(out, msg)
        except BrokenPipeError:         # downstream closed: close our input,
            kchan.close_name(ch(i))     # so the writer upstream ends too
            break
    if not wait_ok(child):
        raise RuntimeError(f"filter {i + 1} failed")


def first_primes(n):
    found = []
    c = 2
    while len(found) < n:
        if all(c % d for d in range(2, int(c ** 0.5) + 1)):
            found.append(c)
        c += 1
    return found


def main():
    nprimes = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    kchan.create(PRIMES, msg_max=MSG_MAX)
    kchan.create(ch(0), msg_max=MSG_MAX)
    primes = kchan.open(PRIMES, os.O_RDONLY)
    workers = [go(generator), go(filter, 0, nprimes)]

    got = []
    while len(got) < nprimes:
        msg = os.read(primes, MSG_MAX)
        if not msg:
            break                       # a worker failed and closed primes
        got.append(int(msg))
        print(got[-1], flush=True)

    if len(got) == nprimes:
        kchan.close_name(ch(nprimes - 1))  # starts the shutdown
    ok = all([wait_ok(pid) for pid in workers])
    os.close(primes)
    for name in [PRIMES] + [ch(i) for i in range(nprimes)]:
        kchan.destroy(name)

    want = first_primes(nprimes)
    if got != want:
        print(f"FAIL: got {got}, want {want}", file=sys.stderr)
        ok = False
    elif ok:
        print(f"ok: the first {nprimes} primes through {nprimes} filter processes")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
