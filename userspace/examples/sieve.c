// SPDX-License-Identifier: GPL-2.0
/*
 * sieve: Go's concurrent prime sieve, with processes for goroutines and
 * kchan channels for Go channels.
 *
 *   generator --ch0--> filter 0 --ch1--> filter 1 --ch2--> ... filter N-1
 *                         |                 |                    |
 *                         +-----------------+---- primes --------+--> main
 *
 * The generator sends 2, 3, 4, ... on ch0.  Filter i reads its input
 * channel; the first number it gets is the prime p, which it reports to
 * main on the primes channel.  Then it creates ch(i+1), forks filter i+1
 * to read it, and forwards every number not divisible by p.  Main prints
 * the primes as they arrive.  Each message is one decimal number and a
 * newline, so `cat /dev/chan/<name>` shows them.
 *
 * Shutdown is Go's close() running upstream.  Filter N-1 exits after
 * reporting; main then closes ch(N-1) by name.  Filter N-2's blocked write
 * fails with EPIPE, so it closes its own input by name, and so on up to
 * the generator, whose write fails with EPIPE.  Every filter reaps the
 * filter it forked before it exits.  (Should a close come from upstream
 * instead, a filter reading EOF closes its output, so downstream ends too.)
 * Main reaps everything (it is a child subreaper, so it also collects any
 * orphan) and destroys every channel.
 *
 * On a failure, a timeout (-t) or SIGINT/SIGTERM/SIGHUP, main kills the
 * workers' process group instead, then reaps and destroys the same way.
 * A worker that fails closes the primes channel, so main notices at once;
 * each worker also dies with its parent (PR_SET_PDEATHSIG).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kchan_ioctl.h"

#define MSG_MAX		32	/* "18446744073709551615\n" fits */
#define MAX_PRIMES	1000	/* one process and one channel each */

static const char usage_text[] =
	"usage: sieve [-c CAPACITY] [-t SECONDS] [--pause] [N]\n"
	"\n"
	"Print the first N primes (default 25, at most 1000), one per line,\n"
	"computed by a pipeline of processes joined by kchan channels.\n"
	"\n"
	"  -c CAPACITY  capacity of the sieve channels (default 0: unbuffered)\n"
	"  -t SECONDS   give up and fail after this long (default 120 + N*N/2000:\n"
	"               the work grows about as N squared; N=1000 takes ~3 min in TCG)\n"
	"  --pause      once all N primes are in, stop (SIGSTOP) with the whole\n"
	"               pipeline alive, so it can be inspected (chanctl list);\n"
	"               SIGCONT lets the sieve shut down\n";

/* Fixed before the first fork; every worker inherits them. */
static char prefix[32];			/* "sieve<pid>": channel names start with it */
static unsigned int nprimes = 25;
static unsigned int capacity;
static int control_fd = -1;

/* Main only: the signal that ends the run early (SIGALRM for the timeout). */
static volatile sig_atomic_t stop_signal;

static void chan_name(char *buf, size_t size, unsigned int i)
{
	snprintf(buf, size, "%s-%u", prefix, i);
}

static void primes_name(char *buf, size_t size)
{
	snprintf(buf, size, "%s-primes", prefix);
}

static int open_chan(const char *name, int flags)
{
	char path[sizeof(KCHAN_DEV_DIR) + KCHAN_NAME_MAX + 1];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", KCHAN_DEV_DIR, name);
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* One message, one number: 0, or -errno from write(). */
static int send_num(int fd, unsigned long n)
{
	char buf[MSG_MAX];
	int len = snprintf(buf, sizeof(buf), "%lu\n", n);
	ssize_t ret;

	do
		ret = write(fd, buf, len);
	while (ret < 0 && errno == EINTR && !stop_signal);
	if (ret < 0)
		return -errno;
	return ret == len ? 0 : -EIO;
}

/* 1 and *n when a number came, 0 at EOF, -errno (-EPROTO: not a number). */
static int recv_num(int fd, unsigned long *n)
{
	char buf[MSG_MAX + 1], *end;
	ssize_t len;

	do
		len = read(fd, buf, MSG_MAX);
	while (len < 0 && errno == EINTR && !stop_signal);
	if (len <= 0)
		return len < 0 ? -errno : 0;
	buf[len] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return -EPROTO;
	errno = 0;
	*n = strtoul(buf, &end, 10);
	if (errno || strcmp(end, "\n"))
		return -EPROTO;
	return 1;
}

/* A worker gives up: tell main by closing the primes channel, and die. */
static __attribute__((noreturn, format(printf, 2, 3)))
void worker_fail(int err, const char *fmt, ...)
{
	char name[KCHAN_NAME_MAX];
	va_list ap;

	fprintf(stderr, "sieve[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", err == -EPROTO ? "not a number" : strerror(-err));
	primes_name(name, sizeof(name));
	kchan_close_name(control_fd, name);
	_exit(1);
}

/* In a new child: name it for ps, and make it die with its parent. */
static void worker_init(const char *comm, pid_t parent)
{
	prctl(PR_SET_NAME, comm);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
}

static __attribute__((noreturn)) void generator(void)
{
	char name[KCHAN_NAME_MAX];
	unsigned long n;
	int fd, err;

	chan_name(name, sizeof(name), 0);
	fd = open_chan(name, O_WRONLY);
	if (fd < 0)
		worker_fail(fd, "generator: open %s", name);
	for (n = 2;; n++) {
		err = send_num(fd, n);
		if (err == -EPIPE)
			_exit(0);	/* filter 0 closed ch0: done */
		if (err)
			worker_fail(err, "generator: write %s", name);
	}
}

/* Wait for the filter this one forked; whether it went well. */
static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static __attribute__((noreturn)) void filter(unsigned int i)
{
	char in_name[KCHAN_NAME_MAX], out_name[KCHAN_NAME_MAX], name[KCHAN_NAME_MAX];
	unsigned long p, n;
	int in, out, rep, err, ok;
	pid_t self = getpid(), child;

	chan_name(in_name, sizeof(in_name), i);
	in = open_chan(in_name, O_RDONLY);
	if (in < 0)
		worker_fail(in, "filter %u: open %s", i, in_name);
	err = recv_num(in, &p);
	if (err == 0)
		_exit(0);		/* closed before the first number: shutdown */
	if (err < 0)
		worker_fail(err, "filter %u: read %s", i, in_name);

	primes_name(name, sizeof(name));
	rep = open_chan(name, O_WRONLY);
	if (rep < 0)
		worker_fail(rep, "filter %u: open %s", i, name);
	err = send_num(rep, p);
	if (err == -EPIPE)
		_exit(1);		/* main is shutting down after a failure */
	if (err)
		worker_fail(err, "filter %u: report %lu on %s", i, p, name);
	close(rep);
	if (i + 1 == nprimes)
		_exit(0);		/* the last one: main closes our input */

	chan_name(out_name, sizeof(out_name), i + 1);
	err = kchan_create(control_fd, out_name, capacity, MSG_MAX, 0600, 0);
	if (err)
		worker_fail(err, "filter %u: create %s", i, out_name);
	child = fork();
	if (child < 0)
		worker_fail(-errno, "filter %u: fork", i);
	if (child == 0) {
		worker_init("sieve-filter", self);
		close(in);
		filter(i + 1);
	}
	out = open_chan(out_name, O_WRONLY);
	if (out < 0)
		worker_fail(out, "filter %u: open %s", i, out_name);

	for (;;) {
		err = recv_num(in, &n);
		if (err == 0) {
			/* Upstream closed: pass it on. */
			kchan_close(out);
			break;
		}
		if (err < 0)
			worker_fail(err, "filter %u: read %s", i, in_name);
		if (n % p == 0)
			continue;
		err = send_num(out, n);
		if (err == -EPIPE) {
			/* Downstream closed: close our input, so upstream ends too. */
			err = kchan_close_name(control_fd, in_name);
			if (err && err != -EPIPE)
				worker_fail(err, "filter %u: close %s", i, in_name);
			break;
		}
		if (err)
			worker_fail(err, "filter %u: write %s", i, out_name);
	}
	close(in);
	close(out);
	ok = reap(child);
	_exit(ok ? 0 : 1);
}

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

/* Parse all of @s as a decimal number in [min, max]. */
static int parse_count(const char *s, unsigned long min, unsigned long max,
		       unsigned int *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

static __attribute__((noreturn, format(printf, 1, 2)))
void usage_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sieve: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage_text);
	exit(2);
}

/* Destroy every channel of the run; @all_made: each must still exist. */
static int destroy_all(unsigned int made, int all_made)
{
	char name[KCHAN_NAME_MAX];
	int ok = 1, err;
	unsigned int i;

	for (i = 0; i <= made; i++) {
		if (i < made)
			chan_name(name, sizeof(name), i);
		else
			primes_name(name, sizeof(name));
		err = kchan_destroy(control_fd, name);
		if (err && (all_made || err != -ENOENT)) {
			fprintf(stderr, "sieve: destroy %s: %s\n", name, strerror(-err));
			ok = 0;
		}
	}
	return ok;
}

/*
 * Reap every worker, orphans included; after a stop signal, or at once when
 * @kill_now, SIGKILL the workers' group first.  Whether all exited 0.
 */
static int reap_all(pid_t group, int kill_now)
{
	int ok = 1, killed = 0, status;
	pid_t pid;

	for (;;) {
		if ((kill_now || stop_signal) && !killed) {
			kill(-group, SIGKILL);
			killed = 1;
		}
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			return ok && !killed;	/* ECHILD: all gone */
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			ok = 0;
	}
}

int main(int argc, char **argv)
{
	char name[KCHAN_NAME_MAX];
	unsigned int timeout = 0, got = 0, i;
	struct sigaction sa;
	int pause_at_end = 0, primes_fd, err, ok;
	pid_t self = getpid(), gen, f0;
	unsigned long p;

	for (i = 1; i < (unsigned int)argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strcmp(arg, "--pause")) {
			pause_at_end = 1;
		} else if (!strcmp(arg, "-c") || !strcmp(arg, "-t")) {
			if (i + 1 == (unsigned int)argc)
				usage_fail("%s needs a value", arg);
			if (parse_count(argv[++i], arg[1] == 't', 0xffffffffUL,
					arg[1] == 'c' ? &capacity : &timeout))
				usage_fail("%s: invalid value '%s'", arg, argv[i]);
		} else if (arg[0] == '-') {
			usage_fail("unknown option '%s'", arg);
		} else if (parse_count(arg, 1, MAX_PRIMES, &nprimes)) {
			usage_fail("N: invalid value '%s' (1 to %d)", arg, MAX_PRIMES);
		}
	}

	if (!timeout)
		timeout = 120 + nprimes * nprimes / 2000;

	/* A closed channel raises SIGPIPE; we want the EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	/* Orphaned workers come to us, so none is left behind. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		perror("sieve: PR_SET_CHILD_SUBREAPER");

	control_fd = kchan_control_open();
	if (control_fd < 0) {
		fprintf(stderr, "sieve: %s: %s\n", KCHAN_CONTROL_PATH, strerror(-control_fd));
		return 1;
	}
	snprintf(prefix, sizeof(prefix), "sieve%d", (int)getpid());
	primes_name(name, sizeof(name));
	err = kchan_create(control_fd, name, 0, MSG_MAX, 0600, 0);
	if (err) {
		fprintf(stderr, "sieve: create %s: %s\n", name, strerror(-err));
		return 1;
	}
	primes_fd = open_chan(name, O_RDONLY);
	chan_name(name, sizeof(name), 0);
	err = primes_fd < 0 ? primes_fd :
		kchan_create(control_fd, name, capacity, MSG_MAX, 0600, 0);
	if (err) {
		fprintf(stderr, "sieve: %s %s: %s\n", primes_fd < 0 ? "open" : "create",
			name, strerror(-err));
		destroy_all(1, 0);
		return 1;
	}

	fflush(NULL);
	gen = fork();
	if (gen == 0) {
		worker_init("sieve-gen", self);
		close(primes_fd);
		setpgid(0, 0);
		generator();
	}
	if (gen > 0)
		setpgid(gen, gen);
	f0 = gen < 0 ? -1 : fork();
	if (f0 == 0) {
		worker_init("sieve-filter", self);
		close(primes_fd);
		setpgid(0, gen);
		filter(0);
	}
	if (f0 > 0)
		setpgid(f0, gen);

	/* Only now, so the workers keep the default actions. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;	/* no SA_RESTART: a blocked read returns */
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	alarm(timeout);

	ok = gen > 0 && f0 > 0;
	if (!ok)
		perror("sieve: fork");
	while (ok && got < nprimes) {
		err = recv_num(primes_fd, &p);
		if (err <= 0) {
			if (stop_signal == SIGALRM)
				fprintf(stderr, "sieve: timed out after %u s with %u of %u primes\n",
					timeout, got, nprimes);
			else if (stop_signal)
				fprintf(stderr, "sieve: %s\n", strsignal(stop_signal));
			else
				fprintf(stderr, "sieve: primes channel: %s\n",
					err ? strerror(-err) : "closed by a failed worker");
			ok = 0;
			break;
		}
		got++;
		if (dprintf(STDOUT_FILENO, "%lu\n", p) < 0) {
			perror("sieve: stdout");
			ok = 0;
		}
	}

	if (ok && pause_at_end)
		raise(SIGSTOP);
	if (ok) {
		/* Close the last filter's input: the close runs upstream from there. */
		chan_name(name, sizeof(name), nprimes - 1);
		err = kchan_close_name(control_fd, name);
		if (err) {
			fprintf(stderr, "sieve: close %s: %s\n", name, strerror(-err));
			ok = 0;
		}
	}
	if (gen > 0 && !reap_all(gen, !ok)) {
		if (ok)
			fprintf(stderr, "sieve: a worker %s\n", stop_signal == SIGALRM ?
				"hung during shutdown (timed out)" : "failed during shutdown");
		ok = 0;
	}
	alarm(0);
	close(primes_fd);
	/* On success every channel up to ch(N-1) was made; else maybe not. */
	if (!destroy_all(nprimes, ok))
		ok = 0;
	close(control_fd);
	return ok ? 0 : 1;
}
