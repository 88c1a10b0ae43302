// SPDX-License-Identifier: GPL-2.0
/* kchanfuzz: the command.  See README.md and fuzz.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kchanfuzz [--duration SECS] [--procs N] [--seed S] [--ops N]\n"
		"                 [--module PATH | --no-rmmod] [--faults PCT] [--verbose]\n"
		"\n"
		"Runs N worker processes (default 4) doing random operations on kchan\n"
		"channels for SECS seconds (default 60): create, destroy, make (anonymous),\n"
		"open, close, read, write, poll, every ioctl with valid and invalid arguments,\n"
		"signals, O_NONBLOCK toggles, fork and rmmod attempts (/dev/chan unmounted\n"
		"first, mounted again after).  Needs kchan loaded and /dev/chan mounted, and\n"
		"root for rmmod.  Prints its seed; --seed S replays the same operation sequences.\n"
		"\n"
		"  --duration SECS  stop after SECS seconds (default 60)\n"
		"  --procs N        worker processes, 1..%d (default 4)\n"
		"  --seed S         the run's seed (default: from the clock)\n"
		"  --ops N          at most N operations per worker (default: no limit)\n"
		"  --module PATH    kchan.ko to load again when an rmmod succeeds (default\n"
		"                   $KCHAN_KO, which tools/vm/run sets; without either, no\n"
		"                   rmmod attempts)\n"
		"  --no-rmmod       no rmmod attempts\n"
		"  --faults PCT     fail PCT%% of the allocations made under kchan's code in\n"
		"                   the workers (failslab, fail_page_alloc: a kernel with\n"
		"                   fault injection, e.g. the debug kernel)\n"
		"  --verbose        print every operation and its result\n"
		"\n"
		"Exit status: 0 when every invariant held, 1 on a violation (reported with\n"
		"the seed), 2 on bad usage, when kchan is not loaded, or when --faults finds\n"
		"no fault injection.\n",
		FUZZ_PROCS_MAX);
}

/* A whole number within [min, max], or exit 2. */
static unsigned long long number(const char *opt, const char *s,
				 unsigned long long min, unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		fprintf(stderr, "kchanfuzz: %s: '%s' is not a number in %llu..%llu\n",
			opt, s, min, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "procs", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'o' },
		{ "module", required_argument, NULL, 'm' },
		{ "no-rmmod", no_argument, NULL, 'n' },
		{ "faults", required_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct fuzz_opts o = {
		.procs = 4, .duration = 60, .out = stdout,
	};
	int c, no_rmmod = 0, seeded = 0;

	o.module = getenv("KCHAN_KO");
	while ((c = getopt_long(argc, argv, "d:p:s:o:m:nf:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o.duration = number("--duration", optarg, 1, 7 * 86400); break;
		case 'p': o.procs = number("--procs", optarg, 1, FUZZ_PROCS_MAX); break;
		case 's': o.seed = number("--seed", optarg, 0, ~0ULL); seeded = 1; break;
		case 'o': o.ops = number("--ops", optarg, 1, ~0UL); break;
		case 'm': o.module = optarg; break;
		case 'n': no_rmmod = 1; break;
		case 'f': o.faults = number("--faults", optarg, 0, 100); break;
		case 'v': o.verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (no_rmmod || (o.module && !*o.module))
		o.module = NULL;
	if (!seeded)
		o.seed = fuzz_random_seed();
	setvbuf(stdout, NULL, _IOLBF, 0);
	return fuzz_run(&o);
}
