/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the libchan tests, which use nothing but libchan to reach
 * kchan (plus /proc and /sys to look at it from outside).
 *
 * Rules every test follows (as in selftests/chan):
 *  - A helper process never uses ASSERT/EXPECT (it would run the fixture's
 *    teardown in the helper): it reports through a struct lt_io in shared
 *    memory and _exit()s, with an alarm() guard so it never outlives a test.
 *  - "Blocked" is decided without sleeps: the helper is in state 'S' and
 *    /proc/<pid>/syscall names the expected system call.
 *  - The fixture (struct lt_env) remembers every channel the test made and
 *    destroys them in teardown, then checks that /sys/class/chan holds no
 *    channel of this test any more: a leak check in every test.
 */
#ifndef LIBCHAN_TEST_H
#define LIBCHAN_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "libchan.h"
#include "kselftest_harness.h"

#define LT_CONTROL		"/dev/chan-control"
#define LT_SYSFS		"/sys/class/chan"
#define LT_GUARD		30	/* seconds a helper may live */
#define LT_WAIT_MS		15000	/* how long to wait for a helper to block */
#define LT_TIMEOUT		(LT_GUARD + 30)	/* harness timeout of tests with helpers */
#define LT_MAX_CHANS		16
#define LT_MSG			256	/* helpers' message buffers */
#define NSEC			1000000000LL
#define MSEC			1000000LL

/*
 * Slack for "returned in time" under QEMU TCG, where a guest runs tens of
 * times slower than the host: generous, but far below "never".
 */
#define LT_LATE_NS		(3 * NSEC)

static inline int64_t lt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

/* ----- the fixture: channels of this test ------------------------------- */

struct lt_env {
	int nchans;
	char names[LT_MAX_CHANS][CHAN_NAME_MAX];
	char prefix[32];		/* "lt-<pid>-": every name of this test */
};

static inline void lt_env_init(struct lt_env *env)
{
	memset(env, 0, sizeof(*env));
	snprintf(env->prefix, sizeof(env->prefix), "lt-%d-", (int)getpid());
	/* A stray EPIPE must not kill a test; SIGPIPE tests restore it. */
	signal(SIGPIPE, SIG_IGN);
}

/* A fresh name, remembered for teardown; "" when the table is full. */
static inline const char *lt_name(struct lt_env *env)
{
	char *name;

	if (env->nchans == LT_MAX_CHANS)
		return "";
	name = env->names[env->nchans++];
	snprintf(name, CHAN_NAME_MAX, "%s%d", env->prefix, env->nchans);
	return name;
}

/* How many channels of this test /sys/class/chan lists. */
static inline int lt_count_chans(const struct lt_env *env)
{
	DIR *d = opendir(LT_SYSFS);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, env->prefix, strlen(env->prefix)))
			n++;
	closedir(d);
	return n;
}

/* Destroy what the test made; the number of channels left over (0). */
static inline int lt_env_cleanup(struct lt_env *env)
{
	int i;

	for (i = 0; i < env->nchans; i++)
		chan_destroy(env->names[i]);	/* ENOENT if the test did */
	return lt_count_chans(env);
}

#define LT_SKIP_IF_ABSENT() do { \
	if (access(LT_CONTROL, F_OK)) \
		SKIP(return, LT_CONTROL " is missing: kchan not loaded"); \
} while (0)

/*
 * The fixture of every test file that makes channels: teardown destroys
 * them and fails the test if any is left behind.
 */
#define LT_FIXTURE() \
FIXTURE(lt) { \
	struct lt_env env; \
}; \
FIXTURE_SETUP(lt) \
{ \
	lt_env_init(&self->env); \
	LT_SKIP_IF_ABSENT(); \
} \
FIXTURE_TEARDOWN(lt) \
{ \
	EXPECT_EQ(0, lt_env_cleanup(&self->env)) TH_LOG("channels left behind"); \
} \
struct lt_fixture_semicolon	/* so that LT_FIXTURE(); ends with one */

/*
 * Create channel @name with capacity @cap and msg_max @max and open it
 * with @oflags: the fd (ASSERTs on failure).  Test context only.
 */
#define lt_make(env, cap, max, oflags) ({ \
	struct chan_opts __o = { .capacity = (cap), .msg_max = (max) }; \
	const char *__n = lt_name(env); \
	int __r = chan_create(__n, &__o); \
	ASSERT_EQ(0, __r) TH_LOG("chan_create %s: %s", __n, \
				 chan_strerror(__r, CHAN_OP_CREATE)); \
	__r = chan_open(__n, (oflags)); \
	ASSERT_LE(0, __r) TH_LOG("chan_open %s: %s", __n, chan_strerror(__r, CHAN_OP_OPEN)); \
	__r; \
})

/* The name lt_make() used last. */
static inline const char *lt_last(const struct lt_env *env)
{
	return env->nchans ? env->names[env->nchans - 1] : "";
}

/* ----- helper processes ---------------------------------------------------- */

/* What a helper is told and what it reports; MAP_SHARED. */
struct lt_io {
	volatile long long ret;		/* the call's return value (-errno) */
	volatile int done;
	volatile int signals;
	volatile long long t_done;	/* lt_now() when the call returned */
	char buf[LT_MSG];
};

static inline struct lt_io *lt_io_new(void)
{
	struct lt_io *io = mmap(NULL, sizeof(*io), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (io == MAP_FAILED)
		return NULL;
	io->ret = -99999;	/* "never ran" */
	return io;
}

static inline void lt_io_free(struct lt_io *io)
{
	if (io)
		munmap(io, sizeof(*io));
}

/* fork() with the guard armed; the child must end with _exit(). */
static inline pid_t lt_fork(void)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		alarm(LT_GUARD);
	return pid;
}

static inline void lt_report(struct lt_io *io, long long ret)
{
	io->t_done = lt_now();
	io->ret = ret;
	io->done = 1;
}

/* Helpers doing one libchan call each, and reporting it. */
static inline pid_t lt_spawn_recv(int fd, size_t size, int64_t timeout_ns, struct lt_io *io)
{
	pid_t pid = lt_fork();

	if (pid == 0) {
		if (timeout_ns == CHAN_FOREVER)
			lt_report(io, chan_recv(fd, io->buf, size));
		else
			lt_report(io, chan_recv_timeout(fd, io->buf, size, timeout_ns));
		_exit(0);
	}
	return pid;
}

static inline pid_t lt_spawn_send(int fd, const char *msg, int64_t timeout_ns,
				  struct lt_io *io)
{
	pid_t pid;

	snprintf(io->buf, sizeof(io->buf), "%s", msg);
	pid = lt_fork();
	if (pid == 0) {
		if (timeout_ns == CHAN_FOREVER)
			lt_report(io, chan_send(fd, io->buf, strlen(io->buf)));
		else
			lt_report(io, chan_send_timeout(fd, io->buf, strlen(io->buf),
							timeout_ns));
		_exit(0);
	}
	return pid;
}

/* Its wait status (0: exited 0), or -1. */
static inline int lt_reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) != pid)
		if (errno != EINTR)
			return -1;
	return status;
}

static inline bool lt_alive(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT))
		return false;
	return si.si_pid == 0;
}

static inline int lt_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/*
 * Wait until @pid sleeps ('S') inside system call @nr: 0, or -1 (with a
 * message) if it exited or never got there.
 */
static inline int lt_wait_blocked(pid_t pid, long nr)
{
	char path[64], buf[512], *p;
	char state = '?';
	long seen = -2;
	int i;

	for (i = 0; i < LT_WAIT_MS; i++) {
		if (!lt_alive(pid)) {
			ksft_print_msg("pid %d exited instead of blocking in syscall %ld\n",
				       (int)pid, nr);
			return -1;
		}
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		p = lt_read_file(path, buf, sizeof(buf)) ? NULL : strrchr(buf, ')');
		if (p)
			state = p[2];
		snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
		seen = -2;
		if (!lt_read_file(path, buf, sizeof(buf)) && strncmp(buf, "running", 7))
			seen = strtol(buf, NULL, 10);
		if (state == 'S' && seen == nr)
			return 0;
		usleep(1000);
	}
	ksft_print_msg("pid %d never blocked in syscall %ld: state '%c', syscall %ld\n",
		       (int)pid, nr, state, seen);
	return -1;
}

/* poll() one fd now; its revents. */
static inline short lt_revents(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

#endif /* LIBCHAN_TEST_H */
