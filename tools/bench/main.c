// SPDX-License-Identifier: GPL-2.0
/*
 * kchanbench: see kchanbench.h for the pieces and tools/bench/README.md for
 * what is measured and how to read it.
 *
 * Order of a run: every figure is set up and calibrated (its round length
 * brought near --round-ms), then the rounds run interleaved, round 1 of
 * every figure, then round 2, and so on, so that slow and fast phases of a
 * shared host spread over all transports alike; then channel creation; then
 * the table, the goals, the JSON and the chart's data.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include <linux/kchan.h>

#include "kchanbench.h"

struct bench_opts opts = {
	.rounds = 5,
	.round_ms = 200,
	.capacity = 128,
	.batch = 32,
	.channels = 10000,
	.create_rounds = 5,
	.pin = PIN_SAME,
};
int ctl_fd = -1;

void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "kchanbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	create_restore_limits();
	exit(2);
}

void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ----- the figures ------------------------------------------------------- */

#define MAX_FIGS	64
static struct figure figs[MAX_FIGS];
static int nfigs;

static struct figure *fig_add(const char *group, size_t size, const char *label,
			      enum unit unit)
{
	struct figure *f = &figs[nfigs++];
	char id[96];

	memset(f, 0, sizeof(*f));
	snprintf(id, sizeof(id), "%s.%zu.%s", group, size, label);
	f->id = strdup(id);
	f->group = group;
	f->label = label;
	f->size = size;
	f->unit = unit;
	f->writers = f->readers = 1;
	f->pin = opts.pin;
	return f;
}

static void link_fig(const char *group, size_t size, enum transport t, enum unit unit,
		     double (*round)(struct figure *, long), int writers, int readers)
{
	struct figure *f = fig_add(group, size, transport_name[t], unit);

	f->t = t;
	f->setup = links_setup;
	f->teardown = links_teardown;
	f->round = round;
	f->writers = writers;
	f->readers = readers;
	if (t == T_PIPE)
		f->note = "a byte stream: the reader reads exactly one message's bytes per message";
	if (t == T_PIPE_PKT && size > 4096)
		f->note = "packets are at most PIPE_BUF (4 KiB): a 64 KiB message is 16 packets";
	if (t == T_EVENTFD)
		f->note = "8-byte counter: wake-ups only, no payload";
}

static void batch_fig(size_t size, const char *label, enum transport t, int mode)
{
	struct figure *f = fig_add("batch", size, label, U_MSGS);

	f->t = t;
	f->mode = mode;
	f->setup = links_setup;
	f->teardown = links_teardown;
	f->round = batch_round;
	/*
	 * Bulk 4 KiB data: the writer copies in on CPU 0 while the reader
	 * copies out on CPU 1, as the goal against memcpy (one CPU) assumes.
	 */
	if (size >= 4096 && opts.pin == PIN_SAME)
		f->pin = PIN_SPLIT;
}

static void figures_define(void)
{
	static const enum transport pp[] = { T_KCHAN_UNBUF, T_KCHAN_BUF, T_PIPE, T_PIPE_PKT,
					     T_MQUEUE, T_SEQPACKET, T_EVENTFD };
	static const enum transport st[] = { T_KCHAN_BUF, T_KCHAN_UNBUF, T_PIPE, T_PIPE_PKT,
					     T_MQUEUE, T_SEQPACKET };
	static const size_t stream_sizes[] = { 64, 4096, 65536 };
	static const size_t batch_sizes[] = { 64, 4096 };
	struct figure *f;
	unsigned int i, s;

	f = fig_add("memcpy", 4096, "memcpy", U_MBS);
	f->setup = memcpy_setup;
	f->teardown = memcpy_teardown;
	f->round = memcpy_round;

	for (i = 0; i < sizeof(pp) / sizeof(pp[0]); i++)
		link_fig("pingpong", 64, pp[i], U_NS_RTT, pingpong_round, 1, 1);
	for (i = 0; i + 1 < sizeof(pp) / sizeof(pp[0]); i++)	/* no eventfd */
		link_fig("pingpong", 4096, pp[i], U_NS_RTT, pingpong_round, 1, 1);
	for (s = 0; s < 3; s++)
		for (i = 0; i < sizeof(st) / sizeof(st[0]); i++)
			link_fig("stream", stream_sizes[s], st[i], U_MSGS, stream_round, 1, 1);
	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++)
		link_fig("m2m", 64, st[i], U_NS_MSG, stream_round, 4, 4);
	for (s = 0; s < 2; s++) {
		batch_fig(batch_sizes[s], "kchan-batch", T_KCHAN_BUF, B_KCHAN_IOCTL);
		batch_fig(batch_sizes[s], "kchan-uring", T_KCHAN_BUF, B_URING);
		batch_fig(batch_sizes[s], "pipe-uring", T_PIPE, B_URING);
		batch_fig(batch_sizes[s], "seqpacket-mmsg", T_SEQPACKET, B_MMSG);
		batch_fig(batch_sizes[s], "pipe-writev", T_PIPE, B_WRITEV);
	}
	figs[nfigs - 1].note = "a byte stream: --batch messages per writev, reads of up to as many bytes";
}

/* ----- calibration and rounds ------------------------------------------ */

static void fig_fail(struct figure *f, const char *what, double ret)
{
	f->failed = 1;
	snprintf(f->err, sizeof(f->err), "%s: %s", what, strerror((int)-ret));
	note("  %s: %s", f->id, f->err);
}

/*
 * Iterations for one round of about --round-ms; 0 if the figure failed.
 * Runs grow until one lasts a quarter of the target; the count comes from
 * the fastest time per iteration seen in runs of at least a millisecond,
 * so that one run slowed by the host does not leave the figure with a
 * handful of iterations; a last run at the chosen count checks it.
 */
static long calibrate(struct figure *f)
{
	double target = opts.round_ms * 1e6, best = 0, v;
	long iters = 16;
	int tries;

	for (tries = 0; tries < 8; tries++) {
		v = f->round(f, iters);
		if (v < 0) {
			fig_fail(f, "calibration", v);
			return 0;
		}
		if (f->last_ns >= 1000000 &&
		    (!best || (double)f->last_ns / iters < best))
			best = (double)f->last_ns / iters;
		if (f->last_ns >= target / 4 || tries == 7)
			break;
		iters *= f->last_ns * 16 < target ? 16 : (long)(target / f->last_ns) + 1;
	}
	iters = best ? (long)(target / best) : (long)(iters * target / f->last_ns);
	if (iters < 64)
		iters = 64;
	/*
	 * Check the count with one run: if every calibration run was slowed
	 * (the first figures run while the guest is still settling), rounds
	 * would be far shorter than the target and their fixed costs (fork,
	 * exit) would weigh on the figure.
	 */
	v = f->round(f, iters);
	if (v < 0) {
		fig_fail(f, "calibration", v);
		return 0;
	}
	if (f->last_ns < target / 2)
		iters = (long)(iters * target / f->last_ns);
	return iters;
}

static int selected(const struct figure *f)
{
	return !opts.only || strstr(f->id, opts.only);
}

static void run_figures(void)
{
	int i, r, live = 0;
	int64_t t0 = now_ns();

	for (i = 0; i < nfigs; i++) {
		struct figure *f = &figs[i];
		int ret;

		if (!selected(f))
			continue;
		ret = f->setup(f);
		if (ret) {
			fig_fail(f, "setup", ret);
			continue;
		}
		f->iters = calibrate(f);
		if (opts.verbose)
			note("  %-28s %ld iterations per round", f->id, f->iters);
		live++;
	}
	note("kchanbench: %d figures calibrated in %.1f s; %d rounds of ~%d ms each",
	     live, (now_ns() - t0) / 1e9, opts.rounds, opts.round_ms);

	for (r = 0; r < opts.rounds; r++) {
		for (i = 0; i < nfigs; i++) {
			struct figure *f = &figs[i];
			double v;

			if (!selected(f) || f->failed)
				continue;
			v = f->round(f, f->iters);
			if (v < 0) {
				fig_fail(f, "round", v);
				continue;
			}
			f->v[f->nrounds] = v;
			f->csw[f->nrounds] = f->last_msgs ? (double)f->last_csw / f->last_msgs : 0;
			f->cpu[f->nrounds] = f->last_msgs ? f->last_cpu_ns / f->last_msgs : 0;
			f->nrounds++;
		}
		note("kchanbench: round %d of %d done at %.1f s", r + 1, opts.rounds,
		     (now_ns() - t0) / 1e9);
	}
	for (i = 0; i < nfigs; i++) {
		if (!selected(&figs[i]))
			continue;
		stats_fill(&figs[i]);
		if (figs[i].priv)
			figs[i].teardown(&figs[i]);
	}
}

/* ----- output files --------------------------------------------------- */

/*
 * Writes @path with @fn.  In the guest the host's tree is read-only: then
 * the file goes to stdout between "@@kchanbench-file NAME" and
 * "@@kchanbench-end" lines, which tools/bench/run.sh saves on the host.
 */
static void write_output(const char *path, void (*fn)(FILE *, struct figure *, int,
						       const struct create_result *),
			 const struct create_result *cr)
{
	FILE *f = fopen(path, "we");
	char *copy;

	if (f) {
		fn(f, figs, nfigs, cr);
		if (fclose(f) == 0) {
			note("kchanbench: wrote %s", path);
			return;
		}
	}
	note("kchanbench: cannot write %s (%s): sending it on stdout", path, strerror(errno));
	copy = strdup(path);
	printf("@@kchanbench-file %s\n", basename(copy));
	free(copy);
	fn(stdout, figs, nfigs, cr);
	printf("@@kchanbench-end\n");
	fflush(stdout);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kchanbench [options]\n"
		"\n"
		"Measures kchan against pipe, pipe in packet mode, POSIX mqueue, UNIX\n"
		"SOCK_SEQPACKET and eventfd in one run: ping-pong, 1->1 and 4->4 streams,\n"
		"batched and io_uring streams, memcpy, and creating many channels.  Prints\n"
		"a table and the goals (PASS/MISS with the ratio).  Needs kchan loaded and\n"
		"/dev/chan mounted (/dev/chan/.control), and root for the creation test\n"
		"(it remounts /dev/chan with higher limits).\n"
		"\n"
		"  --json PATH       write the results as JSON to PATH, and the chart's data to\n"
		"                    PATH with .dat for .json; if PATH is not writable (a guest\n"
		"                    sees the host read-only), both go to stdout, framed\n"
		"  --rounds N        measured rounds per figure (default 5, at least 5)\n"
		"  --round-ms MS     target length of one round (default 200)\n"
		"  --capacity N      buffered kchan capacity and mqueue maxmsg (default 128)\n"
		"  --batch N         messages per batched call, SQEs per io_uring_enter (default 32)\n"
		"  --channels N      channels for the creation test (default 10000; 0 skips it)\n"
		"  --create-rounds N rounds of the creation test (default 5; each makes and\n"
		"                    destroys N channels: about 30 s for 10000 under TCG)\n"
		"  --only TEXT       only figures whose id contains TEXT (e.g. pingpong.64)\n"
		"  --pin MODE        same: every process on CPU 0 (default); split: senders on\n"
		"                    CPU 0, receivers on CPU 1 (the 4 KiB batched figures are\n"
		"                    always split); none: the scheduler decides\n"
		"  --quick           short rounds and 1000 channels: to try it out, not to judge\n"
		"  --list            list the figure ids and exit\n"
		"  -v, --verbose     calibration details\n"
		"  -h, --help        this text\n");
}

static void parse_args(int argc, char **argv, int *list)
{
	static const struct option lo[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "round-ms", required_argument, NULL, 'm' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "batch", required_argument, NULL, 'b' },
		{ "channels", required_argument, NULL, 'n' },
		{ "create-rounds", required_argument, NULL, 'C' },
		{ "only", required_argument, NULL, 'o' },
		{ "pin", required_argument, NULL, 'p' },
		{ "quick", no_argument, NULL, 'q' },
		{ "list", no_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (c) {
		case 'j': opts.json = optarg; break;
		case 'r': opts.rounds = atoi(optarg); break;
		case 'm': opts.round_ms = atoi(optarg); break;
		case 'c': opts.capacity = atoi(optarg); break;
		case 'b': opts.batch = atoi(optarg); break;
		case 'n': opts.channels = atoi(optarg); break;
		case 'C': opts.create_rounds = atoi(optarg); break;
		case 'o': opts.only = optarg; break;
		case 'p':
			if (!strcmp(optarg, "split"))
				opts.pin = PIN_SPLIT;
			else if (!strcmp(optarg, "same"))
				opts.pin = PIN_SAME;
			else if (!strcmp(optarg, "none"))
				opts.pin = PIN_NONE;
			else
				die("--pin: split, same or none");
			break;
		case 'q': opts.quick = 1; break;
		case 'l': *list = 1; break;
		case 'v': opts.verbose = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		usage(stderr);
		exit(2);
	}
	if (opts.quick) {
		opts.round_ms = 40;
		opts.create_rounds = 3;
		if (opts.channels > 1000)
			opts.channels = 1000;
	}
	if (opts.rounds < 5 && !opts.quick)
		die("--rounds: at least 5 (medians of fewer mean little)");
	if (opts.rounds < 1 || opts.rounds > BENCH_MAX_ROUNDS)
		die("--rounds: 1..%d", BENCH_MAX_ROUNDS);
	if (opts.create_rounds < 1 || opts.create_rounds > BENCH_MAX_ROUNDS)
		die("--create-rounds: 1..%d", BENCH_MAX_ROUNDS);
	if (opts.round_ms < 1 || !opts.capacity || opts.capacity > 65536 ||
	    !opts.batch || opts.batch > KCHAN_BATCH_MAX)
		die("bad --round-ms, --capacity or --batch");
}

int main(int argc, char **argv)
{
	struct create_result cr = { 0 };
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	struct utsname u;
	int list = 0, i, miss;

	parse_args(argc, argv, &list);
	figures_define();
	if (list) {
		for (i = 0; i < nfigs; i++)
			printf("%s\n", figs[i].id);
		printf("create\n");
		return 0;
	}

	signal(SIGPIPE, SIG_IGN);
	ctl_fd = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (ctl_fd < 0)	/* the other transports still run: kchan's figures fail */
		note("kchanbench: %s: %s (is kchan loaded?)", KCHAN_CONTROL_PATH,
		     strerror(errno));
	opts.cpus = sysconf(_SC_NPROCESSORS_ONLN);
	/* mqueue charges maxmsg * msgsize up front against RLIMIT_MSGQUEUE. */
	if (setrlimit(RLIMIT_MSGQUEUE, &unlimited))
		note("kchanbench: cannot lift RLIMIT_MSGQUEUE (%s): large mqueues may fail",
		     strerror(errno));
	uname(&u);
	note("kchanbench: %s, %d CPUs, capacity %u, batch %u, %d rounds", u.release,
	     opts.cpus, opts.capacity, opts.batch, opts.rounds);

	run_figures();
	if (opts.channels && (!opts.only || strstr("create", opts.only))) {
		note("kchanbench: creating %u channels, %d rounds", opts.channels,
		     opts.create_rounds);
		create_bench(&cr);
	}

	printf("kchanbench: %s, %d CPUs, medians of %d rounds of ~%d ms, capacity %u, batch %u\n",
	       u.release, opts.cpus, opts.rounds, opts.round_ms, opts.capacity, opts.batch);
	report_table(stdout, figs, nfigs, &cr);
	miss = report_goals(stdout, figs, nfigs, &cr);
	fflush(stdout);

	if (opts.json) {
		char *dat = malloc(strlen(opts.json) + 8), *dot;

		write_output(opts.json, report_json, &cr);
		strcpy(dat, opts.json);
		dot = strrchr(dat, '.');
		if (dot && !strcmp(dot, ".json"))
			*dot = '\0';
		strcat(dat, ".dat");
		write_output(dat, report_plot, &cr);
		free(dat);
	}
	for (i = 0; i < nfigs; i++)
		if (figs[i].failed)
			return 1;
	(void)miss;	/* a missed goal is a finding, not a failure of the run */
	return cr.failed ? 1 : 0;
}
