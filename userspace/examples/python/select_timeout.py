#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Go's timeout pattern with KCHAN_IOC_SELECT and a timer channel:

    select {
    case job, ok := <-jobs:             // a job, or ok == false once closed
    case <-time.After(timeout):         // a one-shot timer channel
    }

Three rounds on an unbuffered `jobs` channel, each with a fresh
KCHAN_CREATE_AFTER timer: a job sent by another process within the timeout
(the job wins), nothing sent (the timer wins, and no job is taken), and jobs
closed (the receive completes at once with ok == false).  Checks each outcome
and exits 1 on a surprise (77, skipped, on a kchan without timer channels).
"""
import errno
import os
import sys
import time

import kchan

PREFIX = f"py-select{os.getpid()}"
JOBS = f"{PREFIX}-jobs"
MS = 1_000_000  # ns


def recv_or_timeout(jobs, timeout_ns, round_no):
    """The select above.  Returns ("job", bytes), ("closed", None) or
    ("timeout", expiry_ns)."""
    name = f"{PREFIX}-after{round_no}"
    kchan.create(name, flags=kchan.CREATE_AFTER, period_ns=timeout_ns)
    timer = kchan.open(name, os.O_RDONLY)
    try:
        index, msg = kchan.select([(jobs, kchan.SELECT_RECV, 64),
                                   (timer, kchan.SELECT_RECV, 64)])
    finally:
        os.close(timer)
        kchan.destroy(name)   # like Go, an unfired timer is just dropped
    if index == 1:
        return "timeout", int(msg)  # the expiry, CLOCK_MONOTONIC ns
    return ("job", msg) if msg is not None else ("closed", None)


def send_later(delay_s, msg):
    """A process that sleeps, then sends one job with a plain write()."""
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            time.sleep(delay_s)
            fd = kchan.open(JOBS, os.O_WRONLY)
            # jobs is unbuffered: this write rendezvouses with the waiting
            # select, which counts as a blocked reader, and returns once
            # the select has taken the message.
            os.write(fd, msg)
            status = 0
        finally:
            os._exit(status)
    return pid


def main():
    problems = []
    try:
        kchan.create(f"{PREFIX}-probe", flags=kchan.CREATE_AFTER, period_ns=MS)
        kchan.destroy(f"{PREFIX}-probe")
    except OSError as e:
        if e.errno != errno.ENOTTY:
            raise
        print("SKIP: this kchan has no timer channels (KCHAN_IOC_CREATE of 104 bytes: ENOTTY)")
        return 77
    kchan.create(JOBS, capacity=0, msg_max=64)
    jobs = kchan.open(JOBS, os.O_RDONLY)
    writer = kchan.open(JOBS, os.O_WRONLY)  # only to close() it in round 3

    # Round 1: the job comes after 50 ms; the timer would fire after 5 s.
    pid = send_later(0.05, b"job 1\n")
    start = time.monotonic()
    outcome, value = recv_or_timeout(jobs, 5000 * MS, 1)
    took = time.monotonic() - start
    print(f"round 1: {outcome} {value!r} after {took:.2f} s")
    if (outcome, value) != ("job", b"job 1\n") or took >= 5:
        problems.append("round 1: expected the job before the timeout")
    if os.waitpid(pid, 0)[1] != 0:
        problems.append("round 1: the sender failed")

    # Round 2: no one sends; the 300 ms timer wins.
    start_ns = time.monotonic_ns()
    outcome, value = recv_or_timeout(jobs, 300 * MS, 2)
    end_ns = time.monotonic_ns()
    print(f"round 2: {outcome} after {(end_ns - start_ns) / 1e9:.2f} s")
    if outcome != "timeout":
        problems.append(f"round 2: expected the timeout, got {outcome} {value!r}")
    elif not start_ns + 300 * MS <= value <= end_ns:
        problems.append(f"round 2: timer message {value} is not an expiry in "
                        f"[{start_ns + 300 * MS}, {end_ns}]")
    # The select that timed out took nothing: a non-blocking select on
    # jobs alone finds no writer (EAGAIN, Go's default case).
    try:
        kchan.select([(jobs, kchan.SELECT_RECV, 64)], timeout_ns=0)
        problems.append("round 2: jobs had a message after the timeout")
    except BlockingIOError:
        pass

    # Round 3: jobs is closed: the receive completes at once, ok == false.
    kchan.close(writer)
    outcome, value = recv_or_timeout(jobs, 5000 * MS, 3)
    print(f"round 3: {outcome}")
    if outcome != "closed":
        problems.append(f"round 3: expected closed, got {outcome} {value!r}")

    os.close(writer)
    os.close(jobs)
    kchan.destroy(JOBS)
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    if not problems:
        print("ok: job before the timer, timer before the job, closed channel")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
