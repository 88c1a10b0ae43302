#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A worker pool: W worker processes pull jobs from one buffered channel and
put results on another; main checks every result arrives exactly once.

    producer --jobs (cap 8)--> worker 0..W-1 --results (cap 8)--> main

The producer closes `jobs` after the last job, so each worker's read()
returns b"" (EOF) once the jobs are drained.  `results` is an autoclose
channel and all workers write through one file opened before they were
forked: when the last worker exits, that file is released, the channel
closes itself, and main's read() returns EOF, like a pipe.

usage: workers.py [WORKERS [JOBS]]   (default 4 and 200)
"""
import collections
import os
import sys
import traceback

import kchan

PREFIX = f"py-workers{os.getpid()}"
JOBS = f"{PREFIX}-jobs"
RESULTS = f"{PREFIX}-results"


def go(fn, *args):
    """Run fn(*args) in a child process, like a goroutine.  One that fails
    closes `jobs`, so no one waits for ever, and main sees jobs missing."""
    pid = os.fork()
    if pid == 0:
        status = 0
        try:
            fn(*args)
        except BaseException:
            traceback.print_exc()
            try:
                kchan.close_name(JOBS)
            except OSError:
                pass
            status = 1
        os._exit(status)
    return pid


def producer(njobs):
    out = kchan.open(JOBS, os.O_WRONLY)
    for job in range(njobs):
        os.write(out, b"%d\n" % job)    # blocks while 8 jobs are queued
    kchan.close(out)                    # Go's close(jobs): workers drain, then EOF


def worker(w, results):
    jobs = kchan.open(JOBS, os.O_RDONLY)
    # Each read() takes one job; each job goes to exactly one worker.
    while msg := os.read(jobs, 64):
        job = int(msg)
        os.write(results, b"%d %d %d\n" % (job, job * job, w))


def main():
    nworkers = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    njobs = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    kchan.create(JOBS, capacity=8, msg_max=64)
    kchan.create(RESULTS, capacity=8, msg_max=64, flags=kchan.CREATE_AUTOCLOSE)
    pids = [go(producer, njobs)]
    results_w = kchan.open(RESULTS, os.O_WRONLY)
    pids += [go(worker, w, results_w) for w in range(nworkers)]
    os.close(results_w)     # only the workers hold the writing file now
    results = kchan.open(RESULTS, os.O_RDONLY)

    seen = collections.Counter()
    by_worker = collections.Counter()
    bad = []
    while msg := os.read(results, 64):  # b"": the last worker has exited
        job, square, w = map(int, msg.split())
        seen[job] += 1
        by_worker[w] += 1
        if square != job * job:
            bad.append(msg)

    ok = all([os.waitpid(pid, 0)[1] == 0 for pid in pids])
    os.close(results)
    kchan.destroy(JOBS)
    kchan.destroy(RESULTS)

    missing = [j for j in range(njobs) if seen[j] == 0]
    twice = [j for j in seen if seen[j] > 1]
    if bad or missing or twice or len(seen) != njobs:
        print(f"FAIL: wrong {bad[:5]}, missing {missing[:10]}, twice {twice[:10]}",
              file=sys.stderr)
        ok = False
    share = ", ".join(f"worker {w}: {by_worker[w]}" for w in sorted(by_worker))
    print(f"{'ok' if ok else 'FAIL'}: {njobs} results, each exactly once ({share})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
