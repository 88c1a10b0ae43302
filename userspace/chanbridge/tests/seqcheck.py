#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# Read a kchan channel to its end and check the numbers it carried, for
# tests/guest-bridge-holders.sh (the writer is numbered.py send):
#
#   seqcheck.py drain PATH OUT SECONDS [PAUSE_AT GO]
#                                        read messages until end of file, one a line
#                                        into OUT (flushed, so OUT can be watched);
#                                        status 1 if no end of file within SECONDS;
#                                        after PAUSE_AT messages, stop reading until
#                                        the file GO exists (the channel fills up,
#                                        the bridge stalls: a fixed "part-way")
#   seqcheck.py check OUT FIRST COUNT    FIRST..FIRST+COUNT-1, each once, in order?
#
# check prints one summary line, which the test compares with
#   "COUNT messages, 0 missing, 0 duplicates, in order"
# and then, when it is not that, what was wrong, first things first: the
# missing numbers as ranges, the duplicated numbers, where the order broke.
import os
import select
import sys
import time


def ranges(nums, most=8):
    out, i = [], 0
    while i < len(nums) and len(out) < most:
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append("%d" % nums[i] if i == j else "%d-%d" % (nums[i], nums[j]))
        i = j + 1
    if i < len(nums):
        out.append("...")
    return " ".join(out)


def drain(path, out, seconds, pause_at=None, go=None):
    end = time.monotonic() + seconds
    fd = os.open(path, os.O_RDONLY)
    n = 0
    with open(out, "wb", buffering=0) as f:
        while True:
            left = end - time.monotonic()
            r, _, _ = select.select([fd], [], [], max(left, 0))
            if not r:
                sys.stderr.write("drain: no end of file within %d s, after %d messages\n"
                                 % (seconds, n))
                return 1
            m = os.read(fd, 65536)
            if not m:
                return 0
            n += 1
            f.write(m if m.endswith(b"\n") else m + b"\n")
            if n == pause_at:
                while not os.path.exists(go):
                    if time.monotonic() > end:
                        sys.stderr.write("drain: paused after %d messages, no %s within %d s\n"
                                         % (n, go, seconds))
                        return 1
                    time.sleep(0.05)


def check(out, first, count):
    got = []
    for x in open(out).read().split():
        try:
            got.append(int(x))
        except ValueError:
            got.append(-1)
    want = set(range(first, first + count))
    seen, dups = set(), []
    for x in got:
        if x in seen and x not in dups:
            dups.append(x)
        seen.add(x)
    missing = sorted(want - seen)
    extra = sorted(seen - want)
    desc = next((i for i in range(1, len(got)) if got[i] <= got[i - 1]), None)
    print("%d messages, %d missing, %d duplicates, %s" % (
        len(got), len(missing), len(got) - len(seen),
        "in order" if desc is None else "out of order"))
    if missing:
        print("missing: %s" % ranges(missing))
    if dups:
        print("duplicated: %s" % ranges(sorted(dups)))
    if extra:
        print("not sent: %s" % ranges(extra))
    if desc is not None:
        print("order: message %d is %d, after %d" % (desc + 1, got[desc], got[desc - 1]))
    ok = not missing and not extra and len(got) == count and desc is None
    return 0 if ok else 1


def main():
    if len(sys.argv) in (5, 7) and sys.argv[1] == "drain":
        pause = (int(sys.argv[5]), sys.argv[6]) if len(sys.argv) == 7 else ()
        return drain(sys.argv[2], sys.argv[3], float(sys.argv[4]), *pause)
    if len(sys.argv) == 5 and sys.argv[1] == "check":
        return check(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    sys.stderr.write("usage: seqcheck.py drain PATH OUT SECONDS [PAUSE_AT GO] | check OUT FIRST COUNT\n")
    return 2


sys.exit(main())
