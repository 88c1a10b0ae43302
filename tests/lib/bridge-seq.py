#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Numbered messages through a channel, and the check that each arrives once, in order.

usage: bridge-seq.py send DEV --count N [--start S] [--size BYTES] [--progress FILE]
       bridge-seq.py recv DEV --count N [--start S] [--size BYTES] [--progress FILE]
                              [--eof SECS] [--json] [--ready FILE]

send writes messages S .. S+N-1 to DEV, one write(2) each: the number in
decimal, then (with --size) a space and '.' up to BYTES.  recv reads DEV and
checks that it gets exactly those, in order; with --eof SECS it then expects
end of file within SECS seconds and nothing else (an extra message is a
duplicate or a stray).  --progress FILE holds the count done so far, rewritten
every 100 messages (for a test that acts at a given point); --ready FILE is
created once DEV is open (for a benchmark that starts the sender only when
the receiver is there).  recv prints one
summary line, or JSON with --json (times in seconds, from the first message
to the last: the rate a benchmark wants); it exits 0 when everything was
exact, 1 when not, 2 on a usage error.
"""
import json
import os
import select
import sys
import time

MAX = 1 << 20


def usage(msg):
    print(f"bridge-seq: {msg}\n{__doc__.split(chr(10) + chr(10))[1]}", file=sys.stderr)
    sys.exit(2)


def progress(path, count):
    if path:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{count}\n")
        os.replace(tmp, path)


def message(i, size):
    m = b"%d" % i
    if size > len(m):
        m = (m + b" ").ljust(size, b".")
    return m


def send(dev, start, count, size, prog):
    fd = os.open(dev, os.O_WRONLY)
    for k in range(count):
        m = message(start + k, size)
        if os.write(fd, m) != len(m):
            print(f"bridge-seq: short write of message {start + k}", file=sys.stderr)
            return 1
        if (k + 1) % 100 == 0:
            progress(prog, k + 1)
    progress(prog, count)
    os.close(fd)
    return 0


def recv(dev, start, count, size, prog, eof, as_json, ready):
    fd = os.open(dev, os.O_RDONLY)
    if ready:
        open(ready, "w").close()
    want = start
    got = 0
    errors = []
    t_first = t_last = None
    while got < count:
        data = os.read(fd, MAX)
        if not data:
            errors.append(f"end of file after {got} messages, expected {count}")
            break
        now = time.monotonic()
        if t_first is None:
            t_first = now
        t_last = now
        got += 1
        head = data.split(b" ", 1)[0]
        try:
            num = int(head)
        except ValueError:
            num = None
        ok = data == message(want, size)
        if not ok and len(errors) < 20:
            if num is None:
                errors.append(f"message {got}: not a number: {data[:40]!r}")
            elif num < want:
                errors.append(f"message {got}: {num} again or out of order (expected {want})")
            elif num > want:
                errors.append(f"message {got}: {num}, but {want}..{num - 1} missing")
            else:
                errors.append(f"message {got}: {data[:40]!r}..., {len(data)} bytes, expected"
                              f" {len(message(want, size))}")
        if num is not None and num >= want:
            want = num + 1
        if got % 100 == 0:
            progress(prog, got)
    progress(prog, got)
    eof_seen = None
    if eof is not None and got == count:
        r, _, _ = select.select([fd], [], [], eof)
        if not r:
            errors.append(f"no end of file within {eof} s after the last message")
            eof_seen = False
        else:
            extra = os.read(fd, MAX)
            eof_seen = not extra
            if extra:
                errors.append(f"a message after the last one: {extra[:40]!r}")
    os.close(fd)
    elapsed = (t_last - t_first) if t_first is not None else 0.0
    if as_json:
        print(json.dumps({"count": got, "expected": count, "size": size, "exact": not errors,
                          "eof": eof_seen, "seconds": round(elapsed, 6), "errors": errors}))
    else:
        if errors:
            print(f"{got} messages; {len(errors)}{'+' if len(errors) == 20 else ''} problems:")
            for e in errors:
                print(f"  {e}")
        else:
            print(f"{got} messages {start}..{start + count - 1}, each once, in order"
                  + (", then end of file" if eof_seen else ""))
    return 1 if errors else 0


def main():
    argv = sys.argv[1:]
    if len(argv) < 2 or argv[0] not in ("send", "recv"):
        usage("need send|recv and a device")
    mode, dev = argv[0], argv[1]
    opts = {"--count": None, "--start": "1", "--size": "0", "--progress": None, "--eof": None,
            "--ready": None}
    as_json = False
    rest = argv[2:]
    while rest:
        a = rest.pop(0)
        if a == "--json":
            as_json = True
        elif a in opts and rest:
            opts[a] = rest.pop(0)
        else:
            usage(f"bad argument {a!r}")
    try:
        count = int(opts["--count"])
        start = int(opts["--start"])
        size = int(opts["--size"])
        eof = float(opts["--eof"]) if opts["--eof"] is not None else None
    except (TypeError, ValueError):
        usage("--count N is required; numbers must be numbers")
    if count < 0 or size < 0 or size > MAX:
        usage("out of range")
    if mode == "send":
        return send(dev, start, count, size, opts["--progress"])
    return recv(dev, start, count, size, opts["--progress"], eof, as_json, opts["--ready"])


if __name__ == "__main__":
    sys.exit(main())
