// SPDX-License-Identifier: GPL-2.0
/*
 * selectscale: do selects on disjoint channels scale with the selectors?
 *
 * Each of P processes owns two buffered channels and runs selects of four
 * cases (send and receive on each) that always find a case ready, so every
 * select takes and drops the locks of its two channels and nothing else of
 * any other process's.  With no lock shared between selects, P selectors
 * on C CPUs do min(P, C) times the selects of one; a global lock (as kchan
 * had until the seams issue) keeps it near one.  Prints the selects per
 * second for each P and the ratio to P = 1: the best of several short
 * trials, which a loaded host hardly moves (as tools/bench/pathcost does).
 *
 *   selectscale [--seconds S] [--trials N] [P...]   (default: 0.5 s, 8, P = 1 4)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <linux/kchan.h>

#define MSG	"sel"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int make_chan(int ctl, const char *name)
{
	struct kchan_create c = { .size = sizeof(c), .capacity = 64, .msg_max = 64 };
	struct kchan_name d = { .size = sizeof(d) };
	char path[128];

	snprintf(c.name, sizeof(c.name), "%.63s", name);
	snprintf(d.name, sizeof(d.name), "%.63s", name);
	ioctl(ctl, KCHAN_IOC_DESTROY, &d);	/* a leftover of an earlier run */
	if (ioctl(ctl, KCHAN_IOC_CREATE, &c) < 0)
		return -1;
	snprintf(path, sizeof(path), KCHAN_DEV_DIR "/%s", name);
	return open(path, O_RDWR);
}

static void drop_chan(int ctl, const char *name)
{
	struct kchan_name d = { .size = sizeof(d) };

	snprintf(d.name, sizeof(d.name), "%.63s", name);
	ioctl(ctl, KCHAN_IOC_DESTROY, &d);
}

/* One selector: selects for @seconds on its own two channels; how many. */
static long selector(int ctl, int id, double seconds)
{
	char names[2][KCHAN_NAME_MAX], bufs[2][64];
	struct kchan_select_case cases[4];
	struct kchan_select sel;
	int fd[2], i;
	long n = 0;
	double end;

	memset(cases, 0, sizeof(cases));
	for (i = 0; i < 2; i++) {
		snprintf(names[i], sizeof(names[i]), "selscale-%d-%d-%d", getppid(), id, i);
		fd[i] = make_chan(ctl, names[i]);
		if (fd[i] < 0)
			return -1;
		cases[2 * i] = (struct kchan_select_case){
			.fd = fd[i], .op = KCHAN_SELECT_SEND,
			.buf = (uintptr_t)MSG, .len = sizeof(MSG),
		};
		cases[2 * i + 1] = (struct kchan_select_case){
			.fd = fd[i], .op = KCHAN_SELECT_RECV,
			.buf = (uintptr_t)bufs[i], .len = sizeof(bufs[i]),
		};
		if (write(fd[i], MSG, sizeof(MSG)) != sizeof(MSG))	/* both cases ready */
			return -1;
	}
	end = now() + seconds;
	while ((n & 255) || now() < end) {
		memset(&sel, 0, sizeof(sel));
		sel.size = sizeof(sel);
		sel.cases = (uintptr_t)cases;
		sel.ncases = 4;
		sel.case_size = sizeof(cases[0]);
		sel.timeout_ns = 0;
		if (ioctl(fd[0], KCHAN_IOC_SELECT, &sel) < 0)
			return -1;
		n++;
	}
	for (i = 0; i < 2; i++) {
		close(fd[i]);
		drop_chan(ctl, names[i]);
	}
	return n;
}

/* @procs selectors at once; their selects per second in all, or < 0. */
static double run(int ctl, int procs, double seconds)
{
	long *counts = mmap(NULL, procs * sizeof(long), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double t0, total = 0;
	int i, st, ok = 1;

	if (counts == MAP_FAILED)
		return -1;
	t0 = now();
	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return -1;
		if (pid == 0) {
			counts[i] = selector(ctl, i, seconds);
			_exit(0);
		}
	}
	while (wait(&st) > 0)
		ok &= WIFEXITED(st) && !WEXITSTATUS(st);
	t0 = now() - t0;
	for (i = 0; i < procs; i++) {
		if (counts[i] < 0)
			ok = 0;
		total += counts[i];
	}
	munmap(counts, procs * sizeof(long));
	return ok ? total / t0 : -1;
}

int main(int argc, char **argv)
{
	int procs[16] = { 1, 4 }, nprocs = 2, given = 0, trials = 8, ctl, i, t;
	double seconds = 0.5, base = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--trials") && i + 1 < argc) {
			trials = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: selectscale [--seconds S] [--trials N] [P...]\n"
			       "Selects per second of P processes on disjoint channels, the best of N\n"
			       "trials of S seconds (default: 0.5 s, 8 trials, P = 1 4).\n");
			return 0;
		} else if (atoi(argv[i]) > 0 && given < 16) {
			procs[given++] = atoi(argv[i]);
			nprocs = given;
		} else {
			fprintf(stderr, "selectscale: bad argument '%s'\n", argv[i]);
			return 2;
		}
	}
	ctl = open(KCHAN_CONTROL_PATH, O_RDWR);
	if (ctl < 0) {
		perror("selectscale: " KCHAN_CONTROL_PATH);
		return 1;
	}
	printf("selectscale: %ld CPUs online, best of %d trials of %.1f s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), trials, seconds);
	printf("%-10s %14s %10s\n", "selectors", "selects/s", "vs 1");
	for (i = 0; i < nprocs; i++) {
		double r = 0;

		for (t = 0; t < trials && r >= 0; t++) {
			double x = run(ctl, procs[i], seconds);

			r = x < 0 ? x : (x > r ? x : r);
		}
		if (r < 0) {
			fprintf(stderr, "selectscale: %d selectors failed: %s\n",
				procs[i], strerror(errno));
			return 1;
		}
		if (procs[i] == 1)
			base = r;
		printf("%-10d %14.0f %9.2fx\n", procs[i], r, base ? r / base : 0);
	}
	return 0;
}
