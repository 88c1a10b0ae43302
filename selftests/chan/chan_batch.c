// SPDX-License-Identifier: GPL-2.0
/*
 * Batched I/O: KCHAN_IOC_SEND_BATCH and KCHAN_IOC_RECV_BATCH move up to
 * KCHAN_BATCH_MAX messages per call, each with the semantics of one
 * write() or read(); the call waits only for the first message, then moves
 * as many more as it can without waiting, and returns how many moved.
 */
#include "chan_test.h"

#include <sched.h>

#define MAX	64
#define CAP	100
#define NV	8

/* Vectors and their buffers, shared with helpers. */
struct vecs {
	struct kchan_msgvec v[NV];
	char buf[NV][MAX];
};

static struct vecs *vecs_new(void)
{
	struct vecs *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return s == MAP_FAILED ? NULL : s;
}

static void vec_set(struct kchan_msgvec *v, const void *buf, size_t len)
{
	memset(v, 0, sizeof(*v));
	v->buf = (__u64)(uintptr_t)buf;
	v->len = len;
}

/* Receive vectors: n buffers of MAX bytes. */
static void recv_vecs(struct vecs *s, int n)
{
	int i;

	memset(s->buf, 0, sizeof(s->buf));
	for (i = 0; i < n; i++)
		vec_set(&s->v[i], s->buf[i], MAX);
}

/* Send vectors: the strings msgs[0..n). */
static void send_vecs(struct vecs *s, const char *const *msgs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		memcpy(s->buf[i], msgs[i], strlen(msgs[i]));
		vec_set(&s->v[i], s->buf[i], strlen(msgs[i]));
	}
}

/* The batch ioctl: messages moved, or -errno. */
static int batch(int fd, unsigned long cmd, struct kchan_msgvec *v, unsigned int n)
{
	struct kchan_batch b;
	int r;

	memset(&b, 0, sizeof(b));
	b.size = sizeof(b);
	b.msgs = (__u64)(uintptr_t)v;
	b.count = n;
	r = ioctl(fd, cmd, &b);
	return r < 0 ? -errno : r;
}

/* A helper making one batch call; io->ret gets its result (or -errno). */
static pid_t spawn_batch(int fd, unsigned long cmd, struct vecs *s, int n,
			 struct chan_io *io)
{
	pid_t pid = chan_fork();

	if (pid == 0) {
		chan_io_self = io;
		io->ret = batch(fd, cmd, s->v, n);
		_exit(0);
	}
	return pid;
}

#define EXPECT_VEC(s, i, want) do { \
	EXPECT_EQ(strlen(want), (s)->v[i].len) TH_LOG("vec %d", i); \
	EXPECT_EQ(0, memcmp((s)->buf[i], want, strlen(want))) TH_LOG("vec %d", i); \
} while (0)

#define EXPECT_READ(fd, want) do { \
	char __b[MAX]; \
	ssize_t __n = read((fd), __b, sizeof(__b)); \
	EXPECT_EQ((ssize_t)strlen(want), __n) TH_LOG("read: %m"); \
	if (__n > 0) \
		EXPECT_EQ(0, memcmp(__b, want, __n)); \
} while (0)

/*
 * Make the rest of a test deterministic: this task becomes SCHED_FIFO on
 * CPU 0, where its helpers (forked earlier, SCHED_OTHER) cannot run until
 * it sleeps.  So a helper it wakes finishes its call only after this task
 * has done everything up to its next sleep.
 */
static int pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int go_realtime(void)
{
	struct sched_param p = { .sched_priority = 1 };

	return sched_setscheduler(0, SCHED_FIFO, &p);
}

static void leave_realtime(void)
{
	struct sched_param p = { .sched_priority = 0 };

	sched_setscheduler(0, SCHED_OTHER, &p);
}

/* ---------------------------------------------------------------------- */

FIXTURE(bb) {
	struct chan_env env;
	struct vecs *s;
};

FIXTURE_SETUP(bb)
{
	chan_env_setup(&self->env, CAP, MAX, 0);
	self->s = vecs_new();
	ASSERT_NE(NULL, self->s);
}

FIXTURE_TEARDOWN(bb)
{
	leave_realtime();
	chan_env_teardown(&self->env);
}

TEST_F(bb, send_batch_queues_in_order)
{
	static const char *const m[] = { "a", "bb", "ccc" };
	struct kchan_info info;

	send_vecs(self->s, m, 3);
	ASSERT_EQ(3, batch(self->env.nb, KCHAN_IOC_SEND_BATCH, self->s->v, 3));
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(3, info.length);
	EXPECT_EQ(3, info.sent);
	EXPECT_READ(self->env.nb, "a");
	EXPECT_READ(self->env.nb, "bb");
	EXPECT_READ(self->env.nb, "ccc");
}

TEST_F(bb, recv_batch_takes_in_order_and_writes_lengths)
{
	struct kchan_info info;

	ASSERT_EQ(3, chan_fill(self->env.nb, "msg-", 3));
	recv_vecs(self->s, 5);
	ASSERT_EQ(3, batch(self->env.nb, KCHAN_IOC_RECV_BATCH, self->s->v, 5));
	EXPECT_VEC(self->s, 0, "msg-0");
	EXPECT_VEC(self->s, 1, "msg-1");
	EXPECT_VEC(self->s, 2, "msg-2");
	/* Vectors past the end are untouched. */
	EXPECT_EQ(MAX, self->s->v[3].len);
	EXPECT_EQ(MAX, self->s->v[4].len);
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(3, info.received);
}

/* More than a lock round's group of 32: order holds across groups. */
TEST_F(bb, hundred_messages_cross_groups_in_order)
{
	struct kchan_msgvec v[CAP];
	static char out[CAP][16], in[CAP][16];
	int i, n;

	for (i = 0; i < CAP; i++) {
		n = snprintf(out[i], sizeof(out[i]), "m%d", i);
		vec_set(&v[i], out[i], n);
	}
	ASSERT_EQ(CAP, batch(self->env.fd, KCHAN_IOC_SEND_BATCH, v, CAP));
	EXPECT_EQ(CAP, chan_len(self->env.fd));
	for (i = 0; i < CAP; i++)
		vec_set(&v[i], in[i], sizeof(in[i]));
	memset(in, 0, sizeof(in));
	ASSERT_EQ(CAP, batch(self->env.fd, KCHAN_IOC_RECV_BATCH, v, CAP));
	for (i = 0; i < CAP; i++) {
		EXPECT_EQ(strlen(out[i]), v[i].len) TH_LOG("message %d", i);
		EXPECT_STREQ(out[i], in[i]);
	}
	EXPECT_EQ(0, chan_len(self->env.fd));
}

TEST_F(bb, nonblock_send_stops_when_full)
{
	static const char *const m[] = { "1", "2", "3", "4", "5" };

	ASSERT_EQ(CAP - 2, chan_fill(self->env.nb, "f", CAP - 2));
	send_vecs(self->s, m, 5);
	EXPECT_EQ(2, batch(self->env.nb, KCHAN_IOC_SEND_BATCH, self->s->v, 5));
	EXPECT_EQ(CAP, chan_len(self->env.fd));
	EXPECT_EQ(-EAGAIN, batch(self->env.nb, KCHAN_IOC_SEND_BATCH, self->s->v, 5));
	EXPECT_EQ(CAP, chan_len(self->env.fd));
}

TEST_F(bb, nonblock_recv_empty_eagain_and_eof_zero)
{
	recv_vecs(self->s, 4);
	EXPECT_EQ(-EAGAIN, batch(self->env.nb, KCHAN_IOC_RECV_BATCH, self->s->v, 4));
	ASSERT_EQ(2, chan_fill(self->env.nb, "x", 2));
	ASSERT_EQ(0, chan_ioctl(self->env.fd, KCHAN_IOC_CLOSE, NULL));
	EXPECT_EQ(2, batch(self->env.nb, KCHAN_IOC_RECV_BATCH, self->s->v, 4));
	EXPECT_EQ(0, batch(self->env.nb, KCHAN_IOC_RECV_BATCH, self->s->v, 4));
	EXPECT_EQ(0, batch(self->env.fd, KCHAN_IOC_RECV_BATCH, self->s->v, 4));
}

TEST_F(bb, send_emsgsize_first_fails_later_ends_batch)
{
	char big[MAX + 1];
	struct kchan_msgvec v[4];

	memset(big, 'B', sizeof(big));
	vec_set(&v[0], big, sizeof(big));
	EXPECT_EQ(-EMSGSIZE, batch(self->env.nb, KCHAN_IOC_SEND_BATCH, v, 1));
	EXPECT_EQ(0, chan_len(self->env.fd));

	vec_set(&v[0], "a", 1);
	vec_set(&v[1], "b", 1);
	vec_set(&v[2], big, sizeof(big));
	vec_set(&v[3], "d", 1);
	EXPECT_EQ(2, batch(self->env.nb, KCHAN_IOC_SEND_BATCH, v, 4));
	EXPECT_EQ(2, chan_len(self->env.fd));
	/* The error comes back on the next call, which starts there. */
	EXPECT_EQ(-EMSGSIZE, batch(self->env.nb, KCHAN_IOC_SEND_BATCH, &v[2], 2));
	EXPECT_READ(self->env.nb, "a");
	EXPECT_READ(self->env.nb, "b");
	EXPECT_EQ(0, chan_len(self->env.fd));
}

TEST_F(bb, send_efault_sends_nothing_of_the_bad_message)
{
	char *g = chan_guard_pages();
	struct kchan_msgvec v[3];

	ASSERT_NE(NULL, g);
	memcpy(chan_guard_end(g) - 2, "ok", 2);
	vec_set(&v[0], chan_guard_end(g) - 2, 4);	/* straddles the guard */
	EXPECT_EQ(-EFAULT, batch(self->env.nb, KCHAN_IOC_SEND_BATCH, v, 1));
	vec_set(&v[0], "a", 1);
	vec_set(&v[1], chan_guard_end(g), 1);
	vec_set(&v[2], "c", 1);
	EXPECT_EQ(1, batch(self->env.nb, KCHAN_IOC_SEND_BATCH, v, 3));
	EXPECT_EQ(-EFAULT, batch(self->env.nb, KCHAN_IOC_SEND_BATCH, &v[1], 2));
	EXPECT_EQ(1, chan_len(self->env.fd));
	EXPECT_READ(self->env.nb, "a");
	/* The vector array itself unreadable. */
	EXPECT_EQ(-EFAULT, batch(self->env.nb, KCHAN_IOC_SEND_BATCH,
				 (struct kchan_msgvec *)chan_guard_end(g), 1));
	EXPECT_EQ(0, chan_len(self->env.fd));
}

TEST_F(bb, recv_emsgsize_message_stays)
{
	struct kchan_info info;

	ASSERT_EQ(10, write(self->env.nb, "0123456789", 10));
	recv_vecs(self->s, 2);
	self->s->v[0].len = 4;
	EXPECT_EQ(-EMSGSIZE, batch(self->env.nb, KCHAN_IOC_RECV_BATCH, self->s->v, 2));
	EXPECT_EQ(1, chan_len(self->env.fd));

	/* Too small for the second message: the batch ends before it. */
	ASSERT_EQ(10, write(self->env.nb, "abcdefghij", 10));
	recv_vecs(self->s, 3);
	self->s->v[1].len = 4;
	EXPECT_EQ(1, batch(self->env.nb, KCHAN_IOC_RECV_BATCH, self->s->v, 3));
	EXPECT_VEC(self->s, 0, "0123456789");
	EXPECT_EQ(4, self->s->v[1].len);
	/* The error comes back on the next call, which starts there. */
	EXPECT_EQ(-EMSGSIZE, batch(self->env.nb, KCHAN_IOC_RECV_BATCH, &self->s->v[1], 2));
	EXPECT_READ(self->env.nb, "abcdefghij");
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(2, info.received);
}

TEST_F(bb, recv_efault_loses_nothing_order_kept)
{
	char *g = chan_guard_pages();
	struct kchan_info info;

	ASSERT_NE(NULL, g);
	ASSERT_EQ(4, chan_fill(self->env.nb, "m", 4));
	recv_vecs(self->s, 4);
	self->s->v[0].buf = (__u64)(uintptr_t)chan_guard_end(g);
	EXPECT_EQ(-EFAULT, batch(self->env.nb, KCHAN_IOC_RECV_BATCH, self->s->v, 4));
	EXPECT_EQ(4, chan_len(self->env.fd));

	recv_vecs(self->s, 4);
	self->s->v[1].buf = (__u64)(uintptr_t)(chan_guard_end(g) - 1);	/* straddles */
	EXPECT_EQ(1, batch(self->env.nb, KCHAN_IOC_RECV_BATCH, self->s->v, 4));
	EXPECT_VEC(self->s, 0, "m0");
	EXPECT_EQ(3, chan_len(self->env.fd));
	EXPECT_READ(self->env.nb, "m1");
	EXPECT_READ(self->env.nb, "m2");
	EXPECT_READ(self->env.nb, "m3");
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(4, info.received);
	EXPECT_EQ(4, info.sent);
}

TEST_F(bb, bad_arguments)
{
	struct {
		struct kchan_batch b;
		char tail[8];
	} big;
	struct kchan_msgvec v[1];
	unsigned long cmds[] = { KCHAN_IOC_SEND_BATCH, KCHAN_IOC_RECV_BATCH };
	int i;

	ASSERT_EQ(KCHAN_BATCH_SIZE_VER0, sizeof(struct kchan_batch));
	ASSERT_EQ(1, write(self->env.nb, "q", 1));
	vec_set(&v[0], self->s->buf[0], 1);
	memcpy(self->s->buf[0], "s", 1);
	for (i = 0; i < 2; i++) {
		unsigned long cmd = cmds[i];

		EXPECT_EQ(-EINVAL, batch(self->env.nb, cmd, v, 0)) TH_LOG("cmd %d", i);
		EXPECT_EQ(-EINVAL, batch(self->env.nb, cmd, v, KCHAN_BATCH_MAX + 1)) TH_LOG("cmd %d", i);
		EXPECT_EQ(-EFAULT, chan_ioctl(self->env.nb, cmd, NULL)) TH_LOG("cmd %d", i);
		EXPECT_EQ(-EFAULT, batch(self->env.nb, cmd, NULL, 1)) TH_LOG("cmd %d", i);

		memset(&big, 0, sizeof(big));
		big.b.msgs = (__u64)(uintptr_t)v;
		big.b.count = 1;
		big.b.size = KCHAN_BATCH_SIZE_VER0 - 1;
		EXPECT_EQ(-EINVAL, chan_ioctl(self->env.nb, cmd, &big)) TH_LOG("cmd %d", i);
		big.b.size = sizeof(big.b);
		big.b.flags = 1;
		EXPECT_EQ(-EINVAL, chan_ioctl(self->env.nb, cmd, &big)) TH_LOG("cmd %d", i);
		big.b.flags = 0;
		big.b.reserved0 = 1;
		EXPECT_EQ(-EINVAL, chan_ioctl(self->env.nb, cmd, &big)) TH_LOG("cmd %d", i);
		big.b.reserved0 = 0;
		big.b.reserved[1] = 1;
		EXPECT_EQ(-EINVAL, chan_ioctl(self->env.nb, cmd, &big)) TH_LOG("cmd %d", i);
		big.b.reserved[1] = 0;
		big.b.size = sizeof(big);
		big.tail[7] = 1;
		EXPECT_EQ(-E2BIG, chan_ioctl(self->env.nb, cmd, &big)) TH_LOG("cmd %d", i);

		v[0].flags = 1;
		EXPECT_EQ(-EINVAL, batch(self->env.nb, cmd, v, 1)) TH_LOG("cmd %d", i);
		v[0].flags = 0;

		/* None of that moved anything. */
		EXPECT_EQ(1, chan_len(self->env.fd)) TH_LOG("cmd %d", i);
	}
	/* A larger struct with a zero tail works (one send, then one receive). */
	for (i = 0; i < 2; i++) {
		memset(&big, 0, sizeof(big));
		big.b.size = sizeof(big);
		big.b.msgs = (__u64)(uintptr_t)v;
		big.b.count = 1;
		v[0].len = MAX;
		if (!i)
			v[0].len = 1;
		EXPECT_EQ(1, ioctl(self->env.nb, cmds[i], &big)) TH_LOG("cmd %d: %m", i);
	}
	EXPECT_EQ(1, chan_len(self->env.fd));
}

/* A zero-length message in a batch sends nothing, whatever the call answers. */
TEST_F(bb, zero_length_vector_sends_nothing)
{
	struct kchan_msgvec v[1];
	int r;

	vec_set(&v[0], "x", 0);
	r = batch(self->env.nb, KCHAN_IOC_SEND_BATCH, v, 1);
	EXPECT_TRUE(r == 0 || r == 1 || r == -EINVAL) TH_LOG("returned %d", r);
	EXPECT_EQ(0, chan_len(self->env.fd));
}

TEST_F_TIMEOUT(bb, closed_send_epipe_and_sigpipe, CHAN_TIMEOUT)
{
	struct kchan_msgvec v[1];
	int status;
	pid_t pid;

	vec_set(&v[0], "x", 1);
	ASSERT_EQ(0, chan_ioctl(self->env.fd, KCHAN_IOC_CLOSE, NULL));
	EXPECT_EQ(-EPIPE, batch(self->env.nb, KCHAN_IOC_SEND_BATCH, v, 1));
	EXPECT_EQ(0, chan_len(self->env.fd));
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		batch(self->env.nb, KCHAN_IOC_SEND_BATCH, v, 1);
		_exit(0);
	}
	status = chan_reap(pid);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE)
		TH_LOG("wait status %#x", status);
}

TEST_F(bb, destroyed_enodev)
{
	struct kchan_msgvec v[1];

	ASSERT_EQ(1, write(self->env.nb, "x", 1));
	ASSERT_EQ(0, chan_destroy(self->env.ctl, self->env.name));
	vec_set(&v[0], self->s->buf[0], MAX);
	EXPECT_EQ(-ENODEV, batch(self->env.nb, KCHAN_IOC_RECV_BATCH, v, 1));
	EXPECT_EQ(-ENODEV, batch(self->env.fd, KCHAN_IOC_RECV_BATCH, v, 1));
	v[0].len = 1;
	EXPECT_EQ(-ENODEV, batch(self->env.nb, KCHAN_IOC_SEND_BATCH, v, 1));
}

TEST_F_TIMEOUT(bb, blocking_recv_waits_for_the_first, CHAN_TIMEOUT)
{
	struct chan_io *io = chan_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	recv_vecs(self->s, 4);
	pid = spawn_batch(self->env.fd, KCHAN_IOC_RECV_BATCH, self->s, 4, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_ioctl));
	ASSERT_EQ(5, write(self->env.nb, "first", 5));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(1, io->ret);
	EXPECT_VEC(self->s, 0, "first");
}

/*
 * README: the call blocks until the first message moves, *then moves as
 * many more as it can without waiting*.  Made deterministic with
 * SCHED_FIFO: the receiver cannot run until all three messages are there.
 */
TEST_F_TIMEOUT(bb, blocked_recv_then_takes_what_is_there, CHAN_TIMEOUT)
{
	struct chan_io *io = chan_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	ASSERT_EQ(0, pin_cpu0());
	recv_vecs(self->s, 4);
	pid = spawn_batch(self->env.fd, KCHAN_IOC_RECV_BATCH, self->s, 4, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_ioctl));
	if (go_realtime())
		SKIP(return, "cannot become SCHED_FIFO: %m");
	ASSERT_EQ(3, chan_fill(self->env.nb, "m", 3));
	ASSERT_EQ(0, chan_reap(pid));
	leave_realtime();
	EXPECT_EQ(3, io->ret);
	EXPECT_VEC(self->s, 0, "m0");
	EXPECT_VEC(self->s, 1, "m1");
	EXPECT_VEC(self->s, 2, "m2");
	EXPECT_EQ(0, chan_len(self->env.fd));
}

TEST_F_TIMEOUT(bb, blocked_send_then_sends_what_fits, CHAN_TIMEOUT)
{
	static const char *const m[] = { "A", "B", "C" };
	struct chan_io *io = chan_io_new();
	char b[MAX];
	pid_t pid;
	int i;

	ASSERT_NE(NULL, io);
	ASSERT_EQ(0, pin_cpu0());
	ASSERT_EQ(CAP, chan_fill(self->env.nb, "f", CAP));
	send_vecs(self->s, m, 3);
	pid = spawn_batch(self->env.fd, KCHAN_IOC_SEND_BATCH, self->s, 3, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_ioctl));
	if (go_realtime())
		SKIP(return, "cannot become SCHED_FIFO: %m");
	/* Three slots free up (the first goes to "A") before the sender runs. */
	for (i = 0; i < 3; i++)
		ASSERT_LT(0, read(self->env.nb, b, sizeof(b)));
	ASSERT_EQ(0, chan_reap(pid));
	leave_realtime();
	EXPECT_EQ(3, io->ret);
	EXPECT_EQ(CAP, chan_len(self->env.fd));
}

TEST_F_TIMEOUT(bb, signal_interrupts_blocked_batch, CHAN_TIMEOUT)
{
	struct chan_io *io = chan_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	ASSERT_EQ(0, chan_catch(SIGUSR1, false));
	recv_vecs(self->s, 2);
	pid = spawn_batch(self->env.fd, KCHAN_IOC_RECV_BATCH, self->s, 2, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_ioctl));
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(-EINTR, io->ret);
	EXPECT_EQ(1, io->signals);

	ASSERT_EQ(CAP, chan_fill(self->env.nb, "f", CAP));
	send_vecs(self->s, (const char *const[]){ "late" }, 1);
	pid = spawn_batch(self->env.fd, KCHAN_IOC_SEND_BATCH, self->s, 1, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_ioctl));
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(-EINTR, io->ret);
	ASSERT_EQ(0, chan_ioctl(self->env.fd, KCHAN_IOC_CLOSE, NULL));
	{
		char b[MAX];
		int n = 0;
		ssize_t r;

		while ((r = read(self->env.nb, b, sizeof(b))) > 0) {
			EXPECT_NE(0, memcmp(b, "late", 4));
			n++;
		}
		EXPECT_EQ(CAP, n);
	}
}

/* Only its timer sends into a timer channel: a send batch is EPERM. */
TEST_F(bb, timer_channel_send_batch_eperm)
{
	struct kchan_create req;
	struct kchan_msgvec v[1];
	char name[KCHAN_NAME_MAX];
	int w;

	chan_make_name(name);
	chan_req_init(&req, name, 0, 0, 0, KCHAN_CREATE_TICK);
	req.period_ns = 3600ULL * 1000000000ULL;
	ASSERT_EQ(0, chan_ioctl(self->env.ctl, KCHAN_IOC_CREATE, &req));
	w = chan_open(name, O_WRONLY | O_NONBLOCK);
	EXPECT_LE(0, w);
	vec_set(&v[0], "1\n", 2);
	if (w >= 0) {
		EXPECT_EQ(-EPERM, batch(w, KCHAN_IOC_SEND_BATCH, v, 1));
		EXPECT_EQ(0, chan_len(w));
		close(w);
	}
	EXPECT_EQ(0, chan_destroy(self->env.ctl, name));
}

/* ---------------------------------------------------------------------- */

FIXTURE(ub) {
	struct chan_env env;
	struct vecs *s;
};

FIXTURE_SETUP(ub)
{
	chan_env_setup(&self->env, 0, MAX, 0);
	self->s = vecs_new();
	ASSERT_NE(NULL, self->s);
}

FIXTURE_TEARDOWN(ub)
{
	chan_env_teardown(&self->env);
}

TEST_F(ub, nonblock_send_without_reader_eagain)
{
	static const char *const m[] = { "a", "b" };

	send_vecs(self->s, m, 2);
	EXPECT_EQ(-EAGAIN, batch(self->env.nb, KCHAN_IOC_SEND_BATCH, self->s->v, 2));
	recv_vecs(self->s, 2);
	EXPECT_EQ(-EAGAIN, batch(self->env.nb, KCHAN_IOC_RECV_BATCH, self->s->v, 2));
}

TEST_F_TIMEOUT(ub, send_batch_feeds_blocked_readers, CHAN_TIMEOUT)
{
	static const char *const m[] = { "a", "b", "c", "d" };
	struct chan_io *io[3];
	pid_t pid[3];
	int i, seen = 0;

	for (i = 0; i < 3; i++)
		io[i] = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid[i]);
	send_vecs(self->s, m, 4);
	/* Three readers wait: three messages move, the fourth cannot. */
	EXPECT_EQ(3, batch(self->env.nb, KCHAN_IOC_SEND_BATCH, self->s->v, 4));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, chan_reap(pid[i]));
		ASSERT_EQ(1, io[i]->ret);
		ASSERT_TRUE(io[i]->buf[0] >= 'a' && io[i]->buf[0] <= 'c');
		seen |= 1 << (io[i]->buf[0] - 'a');
	}
	EXPECT_EQ(7, seen);
}

TEST_F_TIMEOUT(ub, recv_batch_takes_from_blocked_writers_in_order, CHAN_TIMEOUT)
{
	pid_t pid[3];
	int i;

	chan_blocked_writer(_metadata, self->env.fd, "w0", &pid[0]);
	chan_blocked_writer(_metadata, self->env.fd, "w1", &pid[1]);
	chan_blocked_writer(_metadata, self->env.fd, "w2", &pid[2]);
	recv_vecs(self->s, 5);
	EXPECT_EQ(3, batch(self->env.nb, KCHAN_IOC_RECV_BATCH, self->s->v, 5));
	EXPECT_VEC(self->s, 0, "w0");
	EXPECT_VEC(self->s, 1, "w1");
	EXPECT_VEC(self->s, 2, "w2");
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, chan_reap(pid[i]));
}

/* The rest of a blocking send moves only if it can at once: nobody waits, so not. */
TEST_F_TIMEOUT(ub, blocking_send_moves_the_first_only_with_one_reader, CHAN_TIMEOUT)
{
	static const char *const m[] = { "A", "B" };
	struct chan_io *io = chan_io_new();
	char b[MAX];
	pid_t pid;

	ASSERT_NE(NULL, io);
	send_vecs(self->s, m, 2);
	pid = spawn_batch(self->env.fd, KCHAN_IOC_SEND_BATCH, self->s, 2, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_ioctl));
	ASSERT_EQ(1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ('A', b[0]);
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(1, io->ret);
	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_HARNESS_MAIN
