// SPDX-License-Identifier: GPL-2.0
/*
 * sieve: Go's concurrent prime sieve with libchan, one process per filter.
 *
 *   generator --ch0--> filter 0 --ch1--> filter 1 --> ... filter N-1
 *                         |                 |               |
 *                         +--------------- primes ----------+--> main
 *
 * Every channel is anonymous, as in Go: chan_make() returns an fd to a
 * channel without a name, and fork() hands it to the process that uses
 * it, so no name is ever chosen, created or destroyed.  Main makes primes
 * and ch0 and forks the generator and filter 0.  The generator sends 2, 3,
 * 4, ... on ch0.  Filter i takes the first number of its input as its prime
 * p and reports it on primes; then (unless it is the last) it makes
 * ch(i+1), forks filter i+1 and forwards every number that p does not
 * divide.  Channels are unbuffered unless -c says otherwise.
 *
 * Main receives N primes (within the run's timeout, -t), checks them
 * against trial division, and shuts down with Go's close() running
 * upstream: it closes primes, which ends the last filter's wait on it
 * (end of file); that filter closes its input ch(N-1), filter N-2's next
 * send fails with EPIPE, so it closes its own input, and so on up to the
 * generator.  Each filter reaps the one it forked.  On any failure, the
 * timeout or SIGINT, SIGTERM or SIGHUP main kills the whole process group
 * instead.  Either way every channel goes with the last fd on it, and main
 * exits 0 only if all was right.
 *
 * make demo runs it (examples/sieve-demo.sh) with --pause, and counts the
 * processes csieve-gen and csieve-filter and the channels their fds are on
 * (the kchan-id lines of /proc/PID/fdinfo).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libchan.h"

#define MSG_MAX		24
#define MAX_PRIMES	5000	/* one process and one channel each */
#define NSEC		1000000000LL

static unsigned int nprimes = 25;
static unsigned int capacity;
static int primes = -1;		/* every process has it: main receives, filters send */

/* An anonymous channel of the sieve: its fd, or -errno. */
static int make_chan(unsigned int cap)
{
	struct chan_opts opts = { .capacity = cap, .msg_max = MSG_MAX };

	return chan_make(&opts, 0);	/* not CLOEXEC: nothing here execs */
}

static int send_num(int fd, unsigned long n)
{
	char buf[MSG_MAX];
	int len = snprintf(buf, sizeof(buf), "%lu", n);

	return chan_send(fd, buf, len);
}

/* 1 and *n, 0 at end of file, or -errno (-EPROTO: not a number). */
static int recv_num(int fd, unsigned long *n, int64_t timeout_ns)
{
	char buf[MSG_MAX + 1], *end;
	ssize_t len;

	len = chan_recv_timeout(fd, buf, MSG_MAX, timeout_ns);
	if (len <= 0)
		return len;
	buf[len] = '\0';
	errno = 0;
	*n = strtoul(buf, &end, 10);
	return errno || *end || end == buf ? -EPROTO : 1;
}

static __attribute__((noreturn, format(printf, 3, 4)))
void die(int err, int op, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sieve[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", chan_strerror(err, op));
	/* Tell main at once: its receive on primes ends. */
	chan_close_fd(primes);
	_exit(1);
}

static void worker_init(const char *comm, pid_t parent)
{
	prctl(PR_SET_NAME, comm);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
}

static __attribute__((noreturn)) void generator(int out)
{
	unsigned long n;
	int err;

	for (n = 2;; n++) {
		err = send_num(out, n);
		if (err == -EPIPE)
			_exit(0);
		if (err)
			die(err, CHAN_OP_SEND, "generator: send on ch0");
	}
}

static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Filter @i, reading channel @in (its fd, open for reading and writing). */
static __attribute__((noreturn)) void filter(unsigned int i, int in)
{
	unsigned long p, n;
	int out, err;
	pid_t self = getpid(), child;

	err = recv_num(in, &p, CHAN_FOREVER);
	if (err == 0)
		_exit(0);		/* closed before the first number */
	if (err < 0)
		die(err, CHAN_OP_RECV, "filter %u: receive on ch%u", i, i);
	err = send_num(primes, p);
	if (err)
		_exit(1);		/* main gave up and closed primes */

	if (i + 1 == nprimes) {
		/*
		 * The last: wait until main closes primes, then close our
		 * input, which starts the shutdown upstream.  Nobody sends
		 * on primes any more (every filter before us has), so this
		 * receive sees only the end of file.
		 */
		err = recv_num(primes, &n, CHAN_FOREVER);
		if (err != 0)
			die(err < 0 ? err : -EPROTO, CHAN_OP_RECV, "filter %u: wait for the end", i);
		err = chan_close_fd(in);
		if (err && err != -EPIPE)
			die(err, CHAN_OP_CLOSE, "filter %u: close ch%u", i, i);
		_exit(0);
	}

	out = make_chan(capacity);
	if (out < 0)
		die(out, CHAN_OP_CREATE, "filter %u: make ch%u", i, i + 1);
	child = fork();
	if (child < 0)
		die(-errno, CHAN_OP_ANY, "filter %u: fork", i);
	if (child == 0) {
		worker_init("csieve-filter", self);
		close(in);		/* not its channel: keep only ch(i+1) and primes */
		filter(i + 1, out);
	}

	for (;;) {
		err = recv_num(in, &n, CHAN_FOREVER);
		if (err == 0) {
			chan_close_fd(out);	/* closed upstream: pass it on */
			break;
		}
		if (err < 0)
			die(err, CHAN_OP_RECV, "filter %u: receive on ch%u", i, i);
		if (n % p == 0)
			continue;
		err = send_num(out, n);
		if (err == -EPIPE) {
			/* Downstream closed: close our input, so upstream ends too. */
			err = chan_close_fd(in);
			if (err && err != -EPIPE)
				die(err, CHAN_OP_CLOSE, "filter %u: close ch%u", i, i);
			break;
		}
		if (err)
			die(err, CHAN_OP_SEND, "filter %u: send on ch%u", i, i + 1);
	}
	close(in);
	close(out);
	_exit(reap(child) ? 0 : 1);
}

/* The smallest prime above @n, by trial division: obviously right. */
static unsigned long next_prime(unsigned long n)
{
	unsigned long c, d;

	for (c = n + 1;; c++) {
		for (d = 2; d * d <= c; d++)
			if (c % d == 0)
				break;
		if (d * d > c)
			return c;
	}
}

static const char usage_text[] =
	"usage: sieve [-c CAPACITY] [-t SECONDS] [--pause] [N]\n"
	"\n"
	"Print the first N primes (default 25, at most 5000), one per line,\n"
	"computed by a pipeline of processes joined by anonymous kchan channels\n"
	"(N + 1 of them: the instance's max= and max_user= must allow that).\n"
	"\n"
	"  -c CAPACITY  capacity of the sieve channels (default 0: unbuffered)\n"
	"  -t SECONDS   give up and fail after this long (default 120 + N*N/2000:\n"
	"               the work grows about as N squared; N=1000 takes ~3 min in TCG)\n"
	"  --pause      once all N primes are in, stop (SIGSTOP) with the whole\n"
	"               pipeline alive, so it can be inspected (chanctl list);\n"
	"               SIGCONT lets the sieve shut down\n";

/* Main only: SIGALRM (the timeout) or the signal that ends the run early. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
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

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pause", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int got = 0, timeout_s = 0;
	int ch0, err, ok = 1, pause_at_end = 0, status, opt;
	unsigned long p, want = 1;
	struct sigaction sa = { .sa_handler = on_stop_signal };	/* no SA_RESTART */
	pid_t self = getpid(), gen, f0, pid;
	int64_t deadline, left;

	while ((opt = getopt_long(argc, argv, "c:t:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (parse_count(optarg, 0, 0xffffffffUL, &capacity))
				usage_fail("-c: invalid value '%s'", optarg);
			break;
		case 't':
			if (parse_count(optarg, 1, 0xffffffffUL, &timeout_s))
				usage_fail("-t: invalid value '%s'", optarg);
			break;
		case 'p':
			pause_at_end = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fprintf(stderr, "%s", usage_text);
			return 2;
		}
	}
	if (optind + 1 < argc)
		usage_fail("unexpected argument '%s'", argv[optind + 1]);
	if (optind < argc && parse_count(argv[optind], 1, MAX_PRIMES, &nprimes))
		usage_fail("N: invalid value '%s' (1 to %d)", argv[optind], MAX_PRIMES);
	if (!timeout_s)
		timeout_s = 120 + nprimes * nprimes / 2000;
	deadline = now_ns() + timeout_s * NSEC;

	signal(SIGPIPE, SIG_IGN);		/* EPIPE is how shutdown travels */
	prctl(PR_SET_CHILD_SUBREAPER, 1);	/* orphaned filters come back to us */

	primes = make_chan(0);
	ch0 = primes < 0 ? primes : make_chan(capacity);
	if (ch0 < 0) {
		fprintf(stderr, "sieve: make %s: %s\n", primes < 0 ? "primes" : "ch0",
			chan_strerror(ch0, CHAN_OP_CREATE));
		return 1;
	}

	fflush(NULL);
	gen = fork();
	if (gen == 0) {
		worker_init("csieve-gen", self);
		setpgid(0, 0);
		generator(ch0);
	}
	if (gen > 0)
		setpgid(gen, gen);
	f0 = gen < 0 ? -1 : fork();
	if (f0 == 0) {
		worker_init("csieve-filter", self);
		setpgid(0, gen);
		filter(0, ch0);
	}
	close(ch0);	/* the generator and filter 0 have it */
	if (f0 > 0)
		setpgid(f0, gen);
	if (gen < 0 || f0 < 0) {
		perror("sieve: fork");
		ok = 0;
	}

	/* Only now, so the workers keep the default actions. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);

	/* The primes must all come before the deadline: a hang is a failure. */
	while (ok && got < nprimes) {
		left = deadline - now_ns();
		err = left > 0 ? recv_num(primes, &p, left) : -ETIMEDOUT;
		if (err == -EINTR && !stop_signal)
			continue;	/* stopped and continued, say: not ours */
		if (err <= 0) {
			if (err == -ETIMEDOUT)
				fprintf(stderr, "sieve: timed out after %u s with %u of %u primes\n",
					timeout_s, got, nprimes);
			else if (stop_signal)
				fprintf(stderr, "sieve: %s\n", strsignal(stop_signal));
			else
				fprintf(stderr, "sieve: prime %u of %u: %s\n", got + 1, nprimes,
					err ? chan_strerror(err, CHAN_OP_RECV) :
					"primes closed by a failed worker");
			ok = 0;
			break;
		}
		want = next_prime(want);
		if (p != want) {
			fprintf(stderr, "sieve: prime %u is %lu, expected %lu\n", got + 1, p, want);
			ok = 0;
		}
		got++;
		printf("%lu\n", p);
	}
	fflush(stdout);

	if (ok && pause_at_end)
		raise(SIGSTOP);		/* the whole pipeline is alive: look at it */
	if (ok) {
		/* The end: the last filter waits for it, and closes its input. */
		err = chan_close_fd(primes);
		if (err) {
			fprintf(stderr, "sieve: close primes: %s\n",
				chan_strerror(err, CHAN_OP_CLOSE));
			ok = 0;
		}
	}
	if (!ok && gen > 0)
		kill(-gen, SIGKILL);
	/*
	 * Reap every worker, orphans included; a clean shutdown exits them all
	 * with 0.  One that hangs past the deadline (at least 1 s more) is
	 * killed, as is everything after a stop signal.
	 */
	left = (deadline - now_ns()) / NSEC;
	alarm(left > 1 ? left : 1);
	for (;;) {
		pid = wait(&status);
		if (pid < 0 && errno == EINTR && stop_signal && gen > 0) {
			if (ok)
				fprintf(stderr, "sieve: shutdown %s\n", stop_signal == SIGALRM ?
					"timed out" : strsignal(stop_signal));
			kill(-gen, SIGKILL);
			ok = 0;
			continue;
		}
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;		/* ECHILD: all gone */
		if (ok && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			fprintf(stderr, "sieve: worker %d failed during shutdown\n", (int)pid);
			ok = 0;
		}
	}
	alarm(0);
	close(primes);		/* the last fd of the last channel */
	if (ok)
		fprintf(stderr, "sieve: %u primes, all correct\n", nprimes);
	return ok ? 0 : 1;
}
