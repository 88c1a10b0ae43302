// SPDX-License-Identifier: GPL-2.0
/*
 * Short runs of the fuzzer (tools/fuzz) as a selftest: four workers for a
 * minute, with rmmod attempts when the runner names the module
 * ($KCHAN_KO); then, on a kernel with fault injection (the debug kernel),
 * half a minute more with 5% of the allocations under kchan's code
 * failing.  KCHAN_FUZZ_DURATION and KCHAN_FUZZ_SEED override the first
 * run's length and both runs' seed; a failure prints the seed that
 * replays it (build/fuzz/kchanfuzz --seed S).  The kernel's reports are
 * the runner's to find.
 */
#include "chan_test.h"
#include "fuzz.h"

FIXTURE(fuzz) {
	struct fuzz_opts o;
};

FIXTURE_SETUP(fuzz)
{
	const char *d = getenv("KCHAN_FUZZ_DURATION");
	const char *s = getenv("KCHAN_FUZZ_SEED");
	const char *ko = getenv("KCHAN_KO");

	CHAN_SKIP_IF_ABSENT();
	memset(&self->o, 0, sizeof(self->o));
	self->o.procs = 4;
	self->o.duration = d ? strtod(d, NULL) : 60;
	self->o.module = ko && *ko ? ko : NULL;
	self->o.out = stdout;
	self->o.seed = s ? strtoull(s, NULL, 0) : fuzz_random_seed();
	ASSERT_LT(0, self->o.duration);
	ASSERT_GT(200, self->o.duration) TH_LOG("KCHAN_FUZZ_DURATION: at most 200 s here");
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, short_run, 300)
{
	ASSERT_EQ(0, fuzz_run(&self->o));
}

TEST_F_TIMEOUT(fuzz, short_run_faults, 300)
{
	if (access("/sys/kernel/debug/failslab/require-start", F_OK))
		SKIP(return, "no failslab with a stack trace filter: the kernel has no fault injection (Debian's do not)");
	self->o.duration = 30;
	self->o.faults = 5;
	ASSERT_EQ(0, fuzz_run(&self->o));
}

TEST_HARNESS_MAIN
