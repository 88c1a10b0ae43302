#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Build model_diff against mutants of the kernel model, each with one rule
of the kernel broken (tests/guest-bridge-model.sh expects every one of them
to differ from the real module: that is how we know the differential test
can see a wrong model at all).

  model_mutants.py OUTDIR CC CFLAGS...

A mutant whose text is no longer in model/kch_model.c is skipped with a
warning (the model changed: update the table)."""
import os
import subprocess
import sys

# name: (the model's text, the broken text); each a rule of kmod/*.c
MUTANTS = {
    # kchan_ack_locked(): an ACK releases the file's holds up to the id
    "ack-not-cumulative": ("(ack ? msg->hold_id <= id : msg->hold_id >= id)",
                           "(ack ? msg->hold_id == id : msg->hold_id >= id)"),
    # kchan_requeue_from(): a returned message goes back at its seq's place
    "return-to-head": ("while (*p && (*p)->seq < msg->seq)",
                       "while (0 && *p && (*p)->seq < msg->seq)"),
    # kchan_release(): a file's holds go back when it is closed
    "release-keeps-holds": ("\t\tkchm_return(fd, 0);\n\t\tch->readers--;",
                            "\t\tch->readers--;"),
    # kchan_ioctl_hold(): at most capacity messages held
    "hold-limit-plus-one": ("if (ch->nheld >= (ch->capacity ?",
                            "if (ch->nheld > (ch->capacity ?"),
    # kchan_stream_check_locked(): a seq equal to the last is a duplicate
    "dup-equal-seq-passes": ("if (s && seq <= s->last_seq)",
                             "if (s && seq < s->last_seq)"),
    # kchan_at_eof(): no end of file while a message is held
    "eof-ignores-held": ("return ch->closed && !ch->length && !ch->nheld;",
                         "return ch->closed && !ch->length;"),
    # kchan_slots_taken(): a held message keeps its slot
    "held-frees-slot": ("return ch->length + ch->nheld < ch->capacity;",
                        "return ch->length < ch->capacity;"),
    # kchan_ioctl_stream_seq(): FORGET frees the entry
    "forget-keeps-entry": ("*s = (struct kchm_stream){ 0 };", "(void)s;"),
    # kchan_return_locked(): a returned message is received again later
    "return-keeps-received": ("f->ch->received -= n;", "(void)0;"),
    # kchan_requeue_from(): every way back counts in deliveries (issue 13)
    "return-not-counted": ("if (!(flags & KCHAN_RETURN_UNSENT) && next->returns < UINT32_MAX)",
                           "if (0 && next->returns < UINT32_MAX)"),
    # kchan_return_locked(): KCHAN_RETURN_UNSENT is not counted
    "unsent-counted": ("if (!(flags & KCHAN_RETURN_UNSENT) && next->returns < UINT32_MAX)",
                       "if (next->returns < UINT32_MAX)"),
    # kchan_try_send_locked(): a closed channel refuses before the stream check
    "closed-dup-not-epipe": ("\tif (ch->closed)\n\t\treturn -EPIPE;\n\tif (stream) {",
                             "\tif (ch->closed && !stream)\n\t\treturn -EPIPE;\n\tif (stream) {"),
}


def main():
    out, cc, cflags = sys.argv[1], sys.argv[2], sys.argv[3:]
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(here)
    src = open(os.path.join(top, "model", "kch_model.c")).read()
    os.makedirs(out, exist_ok=True)
    for name, (good, bad) in MUTANTS.items():
        if src.count(good) != 1:
            print(f"model_mutants: {name}: its text is not in kch_model.c once: skipped",
                  file=sys.stderr)
            continue
        c = os.path.join(out, f"kch_model_{name}.c")
        with open(c, "w") as f:
            f.write(f'#line 1 "kch_model.c ({name})"\n' + src.replace(good, bad))
        subprocess.run([cc, *cflags, "-pthread", "-I" + top, "-I" + os.path.join(top, "model"),
                        "-o", os.path.join(out, f"model_diff_{name}"),
                        os.path.join(here, "model_diff.c"), os.path.join(top, "kch.c"), c],
                       check=True)


if __name__ == "__main__":
    main()
