#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Build scenario_test against mutants of the kernel model, each with one
rule of the kernel broken (model_mutants.py's table): a bridge relying on
that rule must lose, duplicate, reorder or hang in some scenario, which is
how tests/host-bridge-scenarios.sh shows each scenario can fail.

  scenario_mutants.py OUTDIR NAME,... CC CFLAGS... -- OBJECTS...

OBJECTS: scenario_test's objects without the model's kch_model.o.  A
mutant whose text is no longer in model/kch_model.c is skipped with a
warning, as model_mutants.py does."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_mutants import MUTANTS  # noqa: E402


def main():
    out, names, rest = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]
    sep = rest.index("--")
    cc, cflags, objs = rest[0], rest[1:sep], rest[sep + 1:]
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = open(os.path.join(top, "model", "kch_model.c")).read()
    os.makedirs(out, exist_ok=True)
    for name in names:
        good, bad = MUTANTS[name]
        if src.count(good) != 1:
            print(f"scenario_mutants: {name}: its text is not in kch_model.c once: skipped",
                  file=sys.stderr)
            continue
        c = os.path.join(out, f"kch_model_{name}.c")
        o = c[:-2] + ".o"
        with open(c, "w") as f:
            f.write(f'#line 1 "kch_model.c ({name})"\n' + src.replace(good, bad))
        subprocess.run([cc, *cflags, "-I" + os.path.join(top, "model"), "-c", "-o", o, c],
                       check=True)
        subprocess.run([cc, *cflags, "-Wl,--wrap=close", "-o",
                        os.path.join(out, f"scenario_test-{name}"), *objs, o,
                        "-luring", "-lssl", "-lcrypto"], check=True)


main()
