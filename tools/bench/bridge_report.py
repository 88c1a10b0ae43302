#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the "@@bench {json}" lines of tools/bench/bridge-guest.sh into
build/bench/bridge.json and a table (tools/bench/bridge.sh runs it).

usage: bridge_report.py KVER COUNT64 COUNT4K JSON-PATH < RESULT-LINES
"""
import datetime
import json
import sys


def main():
    kver, c64, c4k, path = sys.argv[1:5]
    res = []
    for line in sys.stdin:
        if not line.strip():
            continue
        r = json.loads(line)
        x = r["result"]
        secs, n = x.get("seconds") or 0, x.get("count", 0)
        res.append({"transport": r["what"], "size": x["size"], "messages": n,
                    "exact": x.get("exact"), "seconds": secs,
                    "msgs_per_s": round(n / secs) if secs else None,
                    "mb_per_s": round(n * x["size"] / secs / 1e6, 3) if secs else None})
    doc = {"kernel": kver, "date": datetime.date.today().isoformat(),
           "counts": {"64": int(c64), "4096": int(c4k)},
           "command": f"tools/bench/bridge.sh --kernel {kver} --count64 {c64} --count4k {c4k}",
           "results": res}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"chanbridge benchmark: guest B -> guest A, {kver}, TCG, {doc['date']}")
    print(f"{'transport':<10} {'size':>6} {'messages':>9} {'seconds':>9} {'msgs/s':>9} "
          f"{'MB/s':>8}  exact")
    for size in (64, 4096):
        by = {r["transport"]: r for r in res if r["size"] == size}
        for t in ("local", "socat", "bridge"):
            r = by.get(t)
            if not r:
                print(f"{t:<10} {size:>6}  (no result)")
                continue
            print(f"{t:<10} {size:>6} {r['messages']:>9} {r['seconds']:>9.3f} "
                  f"{r['msgs_per_s'] or 0:>9} {r['mb_per_s'] or 0:>8.3f}  "
                  f"{'yes' if r['exact'] else 'NO'}")
        if by.get("socat", {}).get("msgs_per_s") and by.get("bridge", {}).get("msgs_per_s"):
            ratio = by["bridge"]["msgs_per_s"] / by["socat"]["msgs_per_s"]
            print(f"{'':<10} {size:>6}  chanbridge / socat = {ratio:.2f}")


if __name__ == "__main__":
    main()
