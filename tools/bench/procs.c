// SPDX-License-Identifier: GPL-2.0
/*
 * The processes of one round.  Each is forked, pinned, does its own setup,
 * then waits at a start line: a pipe whose write end the parent closes once
 * every process is ready, so all of them start within one wake-up of each
 * other and no setup is timed.  Each process reads the clock when it starts
 * and when it is done; the round is the first start to the last end.
 */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "kchanbench.h"

/* Seconds a round's process may live: a hung transport fails the figure. */
#define PROC_GUARD_S	60

static int go_fd = -1;		/* the start line, in the children */

int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void pin_cpu(int cpu, int pin)
{
	cpu_set_t set;

	if (cpu < 0 || opts.cpus < 2 || pin == PIN_NONE)
		return;
	if (pin == PIN_SAME)
		cpu = 0;
	CPU_ZERO(&set);
	CPU_SET(cpu % opts.cpus, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

struct round_shared *round_shared_new(void)
{
	struct round_shared *sh;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	return sh;
}

void proc_start(struct round_shared *sh, int idx)
{
	char c;

	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	while (read(go_fd, &c, 1) < 0 && errno == EINTR)
		;
	sh->proc[idx].t0 = now_ns();
}

void proc_end(struct round_shared *sh, int idx, long ops, int err)
{
	sh->proc[idx].t1 = now_ns();
	sh->proc[idx].ops = ops;
	if (err)
		sh->proc[idx].err = err < 0 ? -err : err;
}

int claim_one(struct round_shared *sh)
{
	return __atomic_fetch_add(&sh->claimed, 1, __ATOMIC_RELAXED) < sh->total;
}

/* Claims up to @want messages; how many were granted (0 when none are left). */
long claim_many(struct round_shared *sh, long want)
{
	long first = __atomic_fetch_add(&sh->claimed, want, __ATOMIC_RELAXED);

	if (first >= sh->total)
		return 0;
	return first + want > sh->total ? sh->total - first : want;
}

static void reap(pid_t *pids, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
}

static double tv_ns(const struct timeval *tv)
{
	return tv->tv_sec * 1e9 + tv->tv_usec * 1e3;
}

int64_t run_procs(struct round_shared *sh, const struct proc_spec *spec, int n, int pin)
{
	int64_t t0 = INT64_MAX, t1 = 0, deadline;
	struct rusage ru0, ru1;
	pid_t pids[BENCH_MAX_PROCS];
	int go[2], i, status, err = 0;

	if (n > BENCH_MAX_PROCS)
		return -EINVAL;
	sh->ready = 0;
	sh->claimed = 0;
	memset(sh->proc, 0, sizeof(sh->proc));
	if (pipe2(go, O_CLOEXEC))
		return -errno;

	fflush(NULL);
	getrusage(RUSAGE_CHILDREN, &ru0);
	for (i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			err = -errno;
			reap(pids, i);
			close(go[0]);
			close(go[1]);
			return err;
		}
		if (pids[i] == 0) {
			close(go[1]);
			go_fd = go[0];
			alarm(PROC_GUARD_S);
			pin_cpu(spec[i].cpu, pin);
			err = spec[i].fn(sh, i, spec[i].arg);
			if (err && !sh->proc[i].err)
				sh->proc[i].err = err < 0 ? -err : err;
			_exit(err ? 1 : 0);
		}
	}
	close(go[0]);

	/* Everyone at the start line (or dead: then the round failed). */
	deadline = now_ns() + (int64_t)PROC_GUARD_S * 1000000000;
	while (__atomic_load_n(&sh->ready, __ATOMIC_SEQ_CST) < n) {
		if (now_ns() > deadline || waitpid(-1, &status, WNOHANG) > 0) {
			close(go[1]);
			reap(pids, n);
			return -ETIMEDOUT;
		}
		usleep(200);
	}
	close(go[1]);		/* go */

	for (i = 0; i < n; i++) {
		if (waitpid(pids[i], &status, 0) < 0) {
			err = -errno;
			continue;
		}
		pids[i] = 0;
		if (WIFSIGNALED(status))
			err = -EINTR;	/* killed: the guard alarm, most likely */
		else if (WEXITSTATUS(status) && !err)
			err = sh->proc[i].err ? -sh->proc[i].err : -EIO;
	}
	if (err)
		return err;
	/* Whole-process figures: setup and the wait at the start line count too. */
	getrusage(RUSAGE_CHILDREN, &ru1);
	sh->csw = (ru1.ru_nvcsw + ru1.ru_nivcsw) - (ru0.ru_nvcsw + ru0.ru_nivcsw);
	sh->cpu_ns = tv_ns(&ru1.ru_utime) + tv_ns(&ru1.ru_stime) -
		     tv_ns(&ru0.ru_utime) - tv_ns(&ru0.ru_stime);
	for (i = 0; i < n; i++) {
		if (!sh->proc[i].t0 || !sh->proc[i].t1)
			return -EIO;
		if (sh->proc[i].t0 < t0)
			t0 = sh->proc[i].t0;
		if (sh->proc[i].t1 > t1)
			t1 = sh->proc[i].t1;
	}
	return t1 > t0 ? t1 - t0 : 1;
}

void round_done(struct figure *f, const struct round_shared *sh, int64_t ns, long msgs)
{
	f->last_ns = ns;
	f->last_msgs = msgs;
	f->last_csw = sh->csw;
	f->last_cpu_ns = sh->cpu_ns;
}
