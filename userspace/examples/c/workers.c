// SPDX-License-Identifier: GPL-2.0
/*
 * workers: a worker pool with libchan.  W worker processes pull jobs from
 * one buffered channel and put results on another; main feeds the jobs
 * and collects the results in one Go-style select loop:
 *
 *	for received < njobs {
 *		select {
 *		case jobs <- job[sent]:     (only while jobs remain)
 *		case r := <-results:        check r, count it
 *		case <-deadline:            a CHAN_AFTER timer: give up
 *		}
 *	}
 *
 * Feeding and collecting in one select is what keeps this from
 * deadlocking when both buffers are full.  Once every job is sent main
 * closes jobs (Go's close), so each worker drains it, sees end of file and
 * exits.  Main checks that every job's result came exactly once and is
 * right, that nothing more came, and that every worker exited 0; it exits
 * non-zero otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libchan.h"

#define MSG_MAX		64
#define MAX_JOBS	100000
#define MAX_WORKERS	64
#define NSEC		1000000000LL

static char names[3][CHAN_NAME_MAX];	/* jobs, results, deadline */
#define JOBS		names[0]
#define RESULTS		names[1]
#define DEADLINE	names[2]

/* The work: steps of the Collatz sequence from n down to 1. */
static unsigned int collatz(unsigned long long n)
{
	unsigned int steps = 0;

	while (n > 1) {
		n = n % 2 ? 3 * n + 1 : n / 2;
		steps++;
	}
	return steps;
}

/* A worker: "id n" in, "id n steps pid" out, until jobs is closed. */
static __attribute__((noreturn)) void worker(pid_t parent)
{
	char in[MSG_MAX + 1], out[MSG_MAX];
	unsigned long long n;
	unsigned int id;
	int jobs, results, len, err;
	ssize_t got;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	jobs = chan_open(JOBS, O_RDONLY);
	results = chan_open(RESULTS, O_WRONLY);
	if (jobs < 0 || results < 0) {
		fprintf(stderr, "worker %d: open: %s\n", (int)getpid(),
			chan_strerror(jobs < 0 ? jobs : results, CHAN_OP_OPEN));
		_exit(1);
	}
	for (;;) {
		got = chan_recv(jobs, in, MSG_MAX);
		if (got == 0)
			_exit(0);	/* closed and drained: done */
		if (got < 0) {
			fprintf(stderr, "worker %d: receive: %s\n", (int)getpid(),
				chan_strerror(got, CHAN_OP_RECV));
			_exit(1);
		}
		in[got] = '\0';
		if (sscanf(in, "%u %llu", &id, &n) != 2) {
			fprintf(stderr, "worker %d: bad job '%s'\n", (int)getpid(), in);
			_exit(1);
		}
		len = snprintf(out, sizeof(out), "%u %llu %u %d", id, n, collatz(n),
			       (int)getpid());
		err = chan_send(results, out, len);
		if (err) {
			fprintf(stderr, "worker %d: send: %s\n", (int)getpid(),
				chan_strerror(err, CHAN_OP_SEND));
			_exit(1);
		}
	}
}

static unsigned long long job_input(unsigned int id)
{
	return 1000003ULL * id % 999983 + 1;
}

int main(int argc, char **argv)
{
	struct chan_opts buffered = { .capacity = 8, .msg_max = MSG_MAX };
	struct chan_opts after = { .flags = CHAN_AFTER };
	unsigned int nworkers = 4, njobs = 1000, timeout_s = 120;
	unsigned int sent = 0, received = 0, nforked = 0, i, id, steps;
	unsigned char *seen;
	int jobs = -1, results = -1, deadline = -1, ok = 1, opt, k, status, pid_of;
	unsigned int per_worker[MAX_WORKERS] = { 0 };
	pid_t pids[MAX_WORKERS], self = getpid();
	char job[MSG_MAX], res[MSG_MAX + 1], tick[CHAN_TIMER_MSG_MAX];
	unsigned long long n;
	int jobs_open = 1;

	while ((opt = getopt(argc, argv, "w:n:t:")) != -1) {
		switch (opt) {
		case 'w':
			nworkers = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			njobs = strtoul(optarg, NULL, 10);
			break;
		case 't':
			timeout_s = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: workers [-w WORKERS] [-n JOBS] [-t SECONDS]\n");
			return 2;
		}
	}
	if (!nworkers || nworkers > MAX_WORKERS || !njobs || njobs > MAX_JOBS || !timeout_s) {
		fprintf(stderr, "workers: 1..%d workers, 1..%d jobs, a timeout of 1 s or more\n",
			MAX_WORKERS, MAX_JOBS);
		return 2;
	}
	seen = calloc(njobs, 1);
	if (!seen)
		return 1;

	snprintf(JOBS, CHAN_NAME_MAX, "cwork%d-jobs", (int)self);
	snprintf(RESULTS, CHAN_NAME_MAX, "cwork%d-results", (int)self);
	snprintf(DEADLINE, CHAN_NAME_MAX, "cwork%d-deadline", (int)self);
	after.period_ns = timeout_s * NSEC;
	k = chan_create(JOBS, &buffered);
	if (!k)
		k = chan_create(RESULTS, &buffered);
	if (!k)
		k = chan_create(DEADLINE, &after);
	if (k) {
		fprintf(stderr, "workers: create: %s\n", chan_strerror(k, CHAN_OP_CREATE));
		ok = 0;
		goto out;
	}

	for (i = 0; i < nworkers; i++) {
		fflush(NULL);
		pids[i] = fork();
		if (pids[i] == 0)
			worker(self);
		if (pids[i] < 0) {
			perror("workers: fork");
			ok = 0;
			goto out;
		}
		nforked++;
	}

	jobs = chan_open(JOBS, O_WRONLY);
	results = chan_open(RESULTS, O_RDONLY);
	deadline = chan_open(DEADLINE, O_RDONLY);
	if (jobs < 0 || results < 0 || deadline < 0) {
		k = jobs < 0 ? jobs : results < 0 ? results : deadline;
		fprintf(stderr, "workers: open: %s\n", chan_strerror(k, CHAN_OP_OPEN));
		ok = 0;
		goto out;
	}

	while (ok && received < njobs) {
		struct chan_case c[3] = {
			CHAN_CASE_RECV(results, res, MSG_MAX),
			CHAN_CASE_RECV(deadline, tick, sizeof(tick)),
		};
		unsigned int nc = 2;

		if (sent < njobs) {
			int len = snprintf(job, sizeof(job), "%u %llu", sent, job_input(sent));

			c[nc++] = CHAN_CASE_SEND(jobs, job, len);
		}
		k = chan_select(c, nc, CHAN_FOREVER);
		if (k < 0) {
			fprintf(stderr, "workers: select: %s\n", chan_strerror(k, CHAN_OP_SELECT));
			ok = 0;
		} else if (k == 1) {
			fprintf(stderr, "workers: deadline: %u of %u results after %u s\n",
				received, njobs, timeout_s);
			ok = 0;
		} else if (k == 2) {
			if (++sent == njobs) {
				/* Go's close: workers drain the rest, then see end of file. */
				k = chan_close_fd(jobs);
				jobs_open = 0;
				if (k) {
					fprintf(stderr, "workers: close jobs: %s\n",
						chan_strerror(k, CHAN_OP_CLOSE));
					ok = 0;
				}
			}
		} else if (c[0].result == 0) {
			fprintf(stderr, "workers: results closed early\n");
			ok = 0;
		} else {
			res[c[0].result] = '\0';
			if (sscanf(res, "%u %llu %u %d", &id, &n, &steps, &pid_of) != 4 ||
			    id >= njobs || n != job_input(id) || steps != collatz(n)) {
				fprintf(stderr, "workers: wrong result '%s'\n", res);
				ok = 0;
			} else if (seen[id]++) {
				fprintf(stderr, "workers: job %u's result came twice\n", id);
				ok = 0;
			}
			for (i = 0; i < nforked; i++)
				if (pids[i] == pid_of)
					per_worker[i]++;
			received++;
		}
	}
	if (jobs_open && jobs >= 0)
		chan_close_fd(jobs);

out:
	/* Only the workers we forked: never a stray pid. */
	if (!ok)
		for (i = 0; i < nforked; i++)
			kill(pids[i], SIGKILL);
	for (i = 0; i < nforked; i++) {
		if (waitpid(pids[i], &status, 0) != pids[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			if (ok)
				fprintf(stderr, "workers: worker %d failed\n", (int)pids[i]);
			ok = 0;
		}
	}
	/* Every worker is gone: a result still queued would be one too many. */
	if (ok && chan_recv_timeout(results, res, MSG_MAX, 0) != -EAGAIN) {
		fprintf(stderr, "workers: an extra result\n");
		ok = 0;
	}
	for (i = 0; i < 3; i++) {
		k = chan_destroy(names[i]);
		if (k && k != -ENOENT) {
			fprintf(stderr, "workers: destroy %s: %s\n", names[i],
				chan_strerror(k, CHAN_OP_DESTROY));
			ok = 0;
		}
	}
	if (ok) {
		printf("workers: %u jobs, %u workers, every result once and right; per worker:",
		       njobs, nworkers);
		for (i = 0; i < nworkers; i++)
			printf(" %u", per_worker[i]);
		printf("\n");
	}
	close(jobs);
	close(results);
	close(deadline);
	free(seen);
	return ok ? 0 : 1;
}
