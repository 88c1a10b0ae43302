// SPDX-License-Identifier: GPL-2.0
/*
 * A short run of the fuzzer (tools/fuzz), as a selftest: four workers for
 * a minute, with rmmod attempts when the runner names the module
 * ($KCHAN_KO).  KCHAN_FUZZ_DURATION and KCHAN_FUZZ_SEED override the
 * length and the seed; a failure prints the seed that replays it
 * (build/fuzz/kchanfuzz --seed S).  The kernel's reports are the
 * runner's to find.
 */
#include "chan_test.h"
#include "fuzz.h"

FIXTURE(fuzz) {
};

FIXTURE_SETUP(fuzz)
{
	CHAN_SKIP_IF_ABSENT();
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, short_run, 300)
{
	const char *d = getenv("KCHAN_FUZZ_DURATION");
	const char *s = getenv("KCHAN_FUZZ_SEED");
	const char *ko = getenv("KCHAN_KO");
	struct fuzz_opts o = {
		.procs = 4,
		.duration = d ? strtod(d, NULL) : 60,
		.module = ko && *ko ? ko : NULL,
		.out = stdout,
	};

	ASSERT_LT(0, o.duration);
	ASSERT_GT(200, o.duration) TH_LOG("KCHAN_FUZZ_DURATION: at most 200 s here");
	o.seed = s ? strtoull(s, NULL, 0) : fuzz_random_seed();
	ASSERT_EQ(0, fuzz_run(&o));
}

TEST_HARNESS_MAIN
