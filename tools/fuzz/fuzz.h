/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kchanfuzz: a small concurrent fuzzer for the kchan module, in the
 * spirit of syzkaller.  fuzz.c is the engine; kchanfuzz.c (the command)
 * and selftests/chan/chan_fuzz.c (a short run as a selftest) drive it.
 */
#ifndef KCHAN_FUZZ_H
#define KCHAN_FUZZ_H

#include <stdint.h>
#include <stdio.h>

#define FUZZ_PROCS_MAX	64

struct fuzz_opts {
	uint64_t seed;		/* process i runs the sequence of seed and i */
	unsigned int procs;	/* worker processes, 1..FUZZ_PROCS_MAX */
	double duration;	/* seconds; the run stops then */
	unsigned long ops;	/* most operations per worker; 0: no limit */
	const char *module;	/* kchan.ko to load again after an rmmod that
				 * succeeded; NULL: no rmmod attempts */
	unsigned int faults;	/* percent of the allocations under kchan's code
				 * that fail (failslab, fail_page_alloc) in the
				 * workers; 0: none */
	int verbose;		/* 1: print every operation and its result */
	FILE *out;		/* the report (and the trace with verbose) */
};

/* A seed from the clock and the pid, for a run without --seed. */
uint64_t fuzz_random_seed(void);

/*
 * Runs the workers until the duration has passed (or each ran opts->ops
 * operations), then destroys the channels they left.  0 when every
 * invariant held, 1 on a violation (reported on opts->out), 2 when the
 * run could not start (no /dev/chan/.control, or no fault injection for
 * opts->faults).
 */
int fuzz_run(const struct fuzz_opts *opts);

#endif /* KCHAN_FUZZ_H */
