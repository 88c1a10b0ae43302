/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the libchan tests, which use nothing but libchan to reach
 * kchan (plus /proc and the directory /dev/chan to look at it from outside).
 *
 * Rules every test follows (as in selftests/chan):
 *  - A helper process never uses ASSERT/EXPECT (it would run the fixture's
 *    teardown in the helper): it reports through a struct lt_io in shared
 *    memory and _exit()s, with an alarm() guard so it never outlives a test.
 *  - "Blocked" is decided without sleeps: the helper is in state 'S' and
 *    /proc/<pid>/syscall names the expected system call.
 *  - The fixture (struct lt_env) remembers every channel the test made and
 *    destroys them in teardown, then checks that /dev/chan holds no
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
/* Helper processes: one copy for these tests and selftests/chan (issue 11). */
#include "../../../selftests/chan/chan_proc.h"

#define LT_DIR			"/dev/chan"	/* the kchan filesystem */
#define LT_CONTROL		LT_DIR "/.control"
#define LT_GUARD		PROC_CHILD_GUARD	/* seconds a helper may live */
#define LT_WAIT_MS		PROC_WAIT_MS	/* how long to wait for a helper to block */
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

/* How many channels of this test /dev/chan lists. */
static inline int lt_count_chans(const struct lt_env *env)
{
	DIR *d = opendir(LT_DIR);
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

#define lt_fork		proc_fork	/* the child must end with _exit() */

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

#define lt_reap		proc_reap	/* its wait status (0: exited 0), or -1 */
#define lt_alive	proc_alive
#define lt_wait_blocked	proc_wait_blocked	/* 0 once it sleeps in syscall nr */

/* 0 with buf filled (NUL-terminated), or -1. */
static inline int lt_read_file(const char *path, char *buf, size_t len)
{
	return proc_read_file(path, buf, len) < 0 ? -1 : 0;
}

/* poll() one fd now; its revents. */
static inline short lt_revents(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

#endif /* LIBCHAN_TEST_H */
