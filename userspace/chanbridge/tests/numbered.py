#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# Numbered messages through a kchan channel, for the bridge tests.
#   numbered.py send PATH FIRST COUNT      write "N\n" for N in FIRST..FIRST+COUNT-1
#   numbered.py recv PATH COUNT [TIMEOUT]  read COUNT messages, print them, one a line
#   numbered.py check FILE FIRST COUNT     exactly FIRST..FIRST+COUNT-1, in order, once each
import os
import select
import sys


def main():
    op = sys.argv[1]
    if op == "send":
        fd = os.open(sys.argv[2], os.O_WRONLY)
        first, count = int(sys.argv[3]), int(sys.argv[4])
        for i in range(first, first + count):
            os.write(fd, b"%d\n" % i)
        return 0
    if op == "recv":
        fd = os.open(sys.argv[2], os.O_RDONLY)
        count = int(sys.argv[3])
        timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 60
        out = sys.stdout.buffer
        for _ in range(count):
            r, _, _ = select.select([fd], [], [], timeout)
            if not r:
                sys.stderr.write("recv: timeout\n")
                return 1
            m = os.read(fd, 65536)
            if not m:
                sys.stderr.write("recv: end of file\n")
                return 1
            out.write(m)
            out.flush()
        return 0
    if op == "check":
        first, count = int(sys.argv[3]), int(sys.argv[4])
        got = [int(x) for x in open(sys.argv[2]).read().split()]
        want = list(range(first, first + count))
        if got == want:
            return 0
        dup = len(got) - len(set(got))
        missing = len(set(want) - set(got))
        order = got == sorted(got)
        sys.stderr.write("got %d messages: %d duplicates, %d missing, %s\n"
                         % (len(got), dup, missing, "in order" if order else "out of order"))
        return 1
    return 2


sys.exit(main())
