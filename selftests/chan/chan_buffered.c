// SPDX-License-Identifier: GPL-2.0
/*
 * Buffered channels (capacity >= 1): message boundaries, FIFO order,
 * capacity, blocking and O_NONBLOCK, message size limits, faulting
 * buffers, writev, len/cap and the sent/received counters.
 */
#include "chan_test.h"

#define CAP	4
#define MAX	64

FIXTURE(buf) {
	struct chan_env env;
};

FIXTURE_SETUP(buf)
{
	chan_env_setup(&self->env, CAP, MAX, 0);
}

FIXTURE_TEARDOWN(buf)
{
	chan_env_teardown(&self->env);
}

/* Reads one message without blocking and compares it with want. */
#define EXPECT_MSG(fd, want) do { \
	char __b[MAX + 1]; \
	ssize_t __n = read((fd), __b, sizeof(__b)); \
	EXPECT_EQ((ssize_t)strlen(want), __n) TH_LOG("read: %m"); \
	if (__n >= 0) { \
		__b[__n] = '\0'; \
		EXPECT_STREQ((want), __b); \
	} \
} while (0)

#define EXPECT_EMPTY(nb) do { \
	char __b[MAX + 1]; \
	EXPECT_EQ(-1, read((nb), __b, sizeof(__b))); \
	EXPECT_EQ(EAGAIN, errno); \
} while (0)

TEST_F(buf, one_write_is_one_message)
{
	ASSERT_EQ(3, write(self->env.nb, "abc", 3));
	ASSERT_EQ(5, write(self->env.nb, "defgh", 5));
	ASSERT_EQ(1, write(self->env.nb, "i", 1));
	EXPECT_EQ(3, chan_len(self->env.fd));
	EXPECT_MSG(self->env.nb, "abc");
	EXPECT_MSG(self->env.nb, "defgh");
	EXPECT_MSG(self->env.nb, "i");
	EXPECT_EMPTY(self->env.nb);
}

TEST_F(buf, fifo_order)
{
	ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
	EXPECT_MSG(self->env.nb, "m0");
	ASSERT_EQ(1, write(self->env.nb, "x", 1));
	EXPECT_MSG(self->env.nb, "m1");
	EXPECT_MSG(self->env.nb, "m2");
	ASSERT_EQ(1, write(self->env.nb, "y", 1));
	EXPECT_MSG(self->env.nb, "m3");
	EXPECT_MSG(self->env.nb, "x");
	EXPECT_MSG(self->env.nb, "y");
	EXPECT_EMPTY(self->env.nb);
}

TEST_F(buf, binary_bytes_preserved)
{
	unsigned char out[MAX], in[MAX + 1];
	int i;

	for (i = 0; i < MAX; i++)
		out[i] = (unsigned char)(255 - i * 7);
	out[5] = 0;
	ASSERT_EQ(MAX, write(self->env.nb, out, MAX));
	ASSERT_EQ(MAX, read(self->env.nb, in, sizeof(in)));
	EXPECT_EQ(0, memcmp(out, in, MAX));
}

TEST_F(buf, read_empty_nonblock_eagain)
{
	char b[MAX];
	int fl;

	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);
	/* O_NONBLOCK set later with fcntl() counts too. */
	fl = fcntl(self->env.fd, F_GETFL);
	ASSERT_EQ(0, fcntl(self->env.fd, F_SETFL, fl | O_NONBLOCK));
	EXPECT_EQ(-1, read(self->env.fd, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F_TIMEOUT(buf, read_blocks_until_write_direct_handoff, CHAN_TIMEOUT)
{
	struct chan_io *io = chan_io_new();
	struct kchan_info info;
	char b[MAX];
	pid_t pid;

	ASSERT_NE(NULL, io);
	pid = chan_spawn_read(self->env.fd, MAX, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_read));
	EXPECT_TRUE(chan_alive(pid));
	EXPECT_EQ(0, chan_len(self->env.fd));

	ASSERT_EQ(5, write(self->env.nb, "hello", 5));
	/* Handed straight to the blocked reader: never queued, not for us. */
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(1, info.sent);
	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);

	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(5, io->ret);
	EXPECT_EQ(0, memcmp(io->buf, "hello", 5));
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(1, info.sent);
	EXPECT_EQ(1, info.received);
	EXPECT_EQ(0, info.length);
}

/* Every message wakes exactly one blocked reader. */
TEST_F_TIMEOUT(buf, one_message_wakes_one_reader, CHAN_TIMEOUT)
{
	struct chan_io *io[2] = { chan_io_new(), chan_io_new() };
	pid_t pid[2], first;
	long sleeps[2];
	int i, f, o;

	ASSERT_NE(NULL, io[0]);
	ASSERT_NE(NULL, io[1]);
	for (i = 0; i < 2; i++) {
		pid[i] = chan_spawn_read(self->env.fd, MAX, io[i]);
		ASSERT_LE(0, pid[i]);
		ASSERT_EQ(0, chan_wait_blocked(pid[i], SYS_read));
	}
	for (i = 0; i < 2; i++)
		sleeps[i] = chan_task_sleeps(pid[i]);
	ASSERT_EQ(3, write(self->env.nb, "one", 3));
	first = waitpid(-1, NULL, 0);
	ASSERT_TRUE(first == pid[0] || first == pid[1]);
	f = first == pid[1];
	o = !f;
	EXPECT_EQ(3, io[f]->ret);
	EXPECT_EQ(0, memcmp(io[f]->buf, "one", 3));
	/*
	 * The other one is still asleep in read() and nothing is queued; it
	 * never woke (no herd), or it would have slept once more.
	 */
	EXPECT_EQ(0, chan_wait_blocked(pid[o], SYS_read));
	EXPECT_EQ(0, chan_len(self->env.fd));
	EXPECT_EQ(sleeps[o], chan_task_sleeps(pid[o]));

	ASSERT_EQ(3, write(self->env.nb, "two", 3));
	ASSERT_EQ(0, chan_reap(pid[o]));
	EXPECT_EQ(3, io[o]->ret);
	EXPECT_EQ(0, memcmp(io[o]->buf, "two", 3));
}

/* A blocked reader whose buffer is too small fails; the message stays queued. */
TEST_F_TIMEOUT(buf, blocked_reader_buffer_too_small_emsgsize, CHAN_TIMEOUT)
{
	struct chan_io *io;
	pid_t pid;

	io = chan_blocked_reader(_metadata, self->env.fd, 4, &pid);
	ASSERT_EQ(10, write(self->env.nb, "0123456789", 10));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(-1, io->ret);
	EXPECT_EQ(EMSGSIZE, io->err);
	EXPECT_EQ(1, chan_len(self->env.fd));
	EXPECT_MSG(self->env.nb, "0123456789");
}

TEST_F(buf, write_larger_than_msg_max_emsgsize)
{
	char big[MAX + 1];
	struct kchan_info info;

	memset(big, 'q', sizeof(big));
	EXPECT_EQ(-1, write(self->env.nb, big, MAX + 1));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(-1, write(self->env.fd, big, MAX + 1));
	EXPECT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(0, info.sent);
	EXPECT_EMPTY(self->env.nb);

	/* Exactly msg_max is fine. */
	ASSERT_EQ(MAX, write(self->env.nb, big, MAX));
	big[MAX] = '\0';
	EXPECT_MSG(self->env.nb, big);
}

TEST_F(buf, zero_byte_write_sends_nothing)
{
	struct kchan_info info;
	char b[1];

	EXPECT_EQ(0, write(self->env.nb, "x", 0));
	EXPECT_EQ(0, write(self->env.fd, "x", 0));
	EXPECT_EQ(0, write(self->env.fd, chan_null(), 0));
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(0, info.sent);
	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);

	/* Even on a full channel: nothing to send, so nothing to wait for. */
	ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
	EXPECT_EQ(0, write(self->env.nb, "x", 0));
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(CAP, info.length);
	EXPECT_EQ(CAP, info.sent);
}

TEST_F(buf, read_buffer_too_small_emsgsize_keeps_message)
{
	struct kchan_info info;
	char b[16];

	ASSERT_EQ(10, write(self->env.nb, "0123456789", 10));
	ASSERT_EQ(1, write(self->env.nb, "z", 1));
	EXPECT_EQ(-1, read(self->env.nb, b, 9));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(-1, read(self->env.fd, b, 1));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(-1, read(self->env.fd, b, 0));
	EXPECT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(2, info.length);
	EXPECT_EQ(0, info.received);
	/* Exactly the message's size is enough; the order is unchanged. */
	ASSERT_EQ(10, read(self->env.nb, b, 10));
	EXPECT_EQ(0, memcmp(b, "0123456789", 10));
	EXPECT_MSG(self->env.nb, "z");
}

TEST_F(buf, write_fault_efault_sends_nothing)
{
	char *g = chan_guard_pages();
	char *end;
	struct kchan_info info;

	ASSERT_NE(NULL, g);
	end = chan_guard_end(g);
	memset(end - 5, 'a', 5);
	EXPECT_EQ(-1, write(self->env.nb, chan_null(), 10));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, write(self->env.nb, end, 10));
	EXPECT_EQ(EFAULT, errno);
	/* The first 5 bytes are readable: still nothing may be sent. */
	EXPECT_EQ(-1, write(self->env.nb, end - 5, 10));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, write(self->env.fd, end - 5, 10));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(0, info.sent);
	EXPECT_EMPTY(self->env.nb);
}

TEST_F(buf, read_fault_efault_loses_nothing)
{
	char *g = chan_guard_pages();
	char *end;
	struct kchan_info info;

	ASSERT_NE(NULL, g);
	end = chan_guard_end(g);
	ASSERT_EQ(5, write(self->env.nb, "first", 5));
	ASSERT_EQ(6, write(self->env.nb, "second", 6));

	EXPECT_EQ(-1, read(self->env.nb, chan_null(), MAX));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, read(self->env.nb, end, MAX));
	EXPECT_EQ(EFAULT, errno);
	/* Part of the message would fit before the guard page. */
	EXPECT_EQ(-1, read(self->env.nb, end - 3, MAX));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, read(self->env.fd, end - 3, MAX));
	EXPECT_EQ(EFAULT, errno);

	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(2, info.length);
	/* The message went back to the head: order and bytes intact. */
	EXPECT_MSG(self->env.nb, "first");
	EXPECT_MSG(self->env.nb, "second");
	EXPECT_EMPTY(self->env.nb);
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(2, info.sent);
	EXPECT_EQ(2, info.received);
}

TEST_F(buf, writev_gathers_one_message)
{
	struct iovec iov[4] = {
		{ .iov_base = "ab", .iov_len = 2 },
		{ .iov_base = "", .iov_len = 0 },
		{ .iov_base = "cde", .iov_len = 3 },
		{ .iov_base = "f", .iov_len = 1 },
	};
	struct kchan_info info;

	ASSERT_EQ(6, writev(self->env.nb, iov, 4));
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(1, info.length);
	EXPECT_EQ(1, info.sent);
	EXPECT_MSG(self->env.nb, "abcdef");
	EXPECT_EMPTY(self->env.nb);
}

TEST_F(buf, writev_over_msg_max_emsgsize)
{
	char a[MAX / 2 + 1], b[MAX / 2];
	struct iovec iov[2] = {
		{ .iov_base = a, .iov_len = sizeof(a) },
		{ .iov_base = b, .iov_len = sizeof(b) },
	};

	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	EXPECT_EQ(-1, writev(self->env.nb, iov, 2));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(0, chan_len(self->env.fd));
	EXPECT_EMPTY(self->env.nb);
}

TEST_F(buf, writev_fault_efault_sends_nothing)
{
	char *g = chan_guard_pages();
	struct iovec iov[3] = {
		{ .iov_base = "ok", .iov_len = 2 },
		{ .iov_base = NULL, .iov_len = 2 },
		{ .iov_base = "ok", .iov_len = 2 },
	};

	ASSERT_NE(NULL, g);
	iov[1].iov_base = chan_guard_end(g);
	EXPECT_EQ(-1, writev(self->env.nb, iov, 3));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0, chan_len(self->env.fd));
	EXPECT_EMPTY(self->env.nb);
}

TEST_F(buf, len_cap_info_and_fdinfo)
{
	struct kchan_info info;
	char s[32], want[32];
	int i;

	for (i = 0; i <= CAP; i++) {
		ASSERT_EQ(0, chan_info(self->env.fd, &info));
		EXPECT_EQ(CAP, info.capacity);
		EXPECT_EQ(MAX, info.msg_max);
		EXPECT_EQ((__u32)i, info.length);
		EXPECT_STREQ(chan_num(i, want, sizeof(want)),
			     chan_attr(self->env.name, "length", s, sizeof(s)));
		EXPECT_STREQ(chan_num(CAP, want, sizeof(want)),
			     chan_attr(self->env.name, "capacity", s, sizeof(s)));
		if (i < CAP)
			ASSERT_EQ(1, write(self->env.nb, "x", 1));
	}
	for (i = CAP; i > 0; i--) {
		ASSERT_EQ(1, read(self->env.nb, s, sizeof(s)));
		EXPECT_EQ(i - 1, chan_len(self->env.fd));
	}
}

TEST_F(buf, sent_received_count_only_successes)
{
	struct kchan_info info;
	char big[MAX + 1], b[MAX];
	char s[32];

	memset(big, 'x', sizeof(big));
	ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
	EXPECT_EQ(-1, write(self->env.nb, "full", 4));		/* EAGAIN */
	EXPECT_EQ(-1, write(self->env.nb, big, sizeof(big)));	/* EMSGSIZE */
	EXPECT_EQ(0, write(self->env.nb, big, 0));		/* nothing */
	EXPECT_EQ(-1, read(self->env.nb, b, 1));		/* EMSGSIZE */
	EXPECT_EQ(2, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(2, read(self->env.nb, b, sizeof(b)));
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(CAP, info.sent);
	EXPECT_EQ(2, info.received);
	EXPECT_EQ(CAP - 2, info.length);
	EXPECT_STREQ("4\n", chan_attr(self->env.name, "sent", s, sizeof(s)));
	EXPECT_STREQ("2\n", chan_attr(self->env.name, "received", s, sizeof(s)));
}

/* RWF_NOWAIT (IOCB_NOWAIT) behaves like O_NONBLOCK, on a blocking fd. */
TEST_F(buf, rwf_nowait_like_nonblock)
{
	char b[MAX];
	struct iovec riov = { .iov_base = b, .iov_len = sizeof(b) };
	struct iovec wiov = { .iov_base = "w", .iov_len = 1 };

	EXPECT_EQ(-1, preadv2(self->env.fd, &riov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(1, pwritev2(self->env.fd, &wiov, 1, -1, RWF_NOWAIT)) TH_LOG("pwritev2: %m");
	EXPECT_EQ(1, preadv2(self->env.fd, &riov, 1, -1, RWF_NOWAIT)) TH_LOG("preadv2: %m");
	ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
	EXPECT_EQ(-1, pwritev2(self->env.fd, &wiov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(CAP, chan_len(self->env.fd));
}

/* ---------------------------------------------------------------------- */
/* Capacity: the same rules for capacity 1, a few, and many. */

FIXTURE(cap) {
	struct chan_env env;
};

FIXTURE_VARIANT(cap) {
	__u32 capacity;
};

FIXTURE_VARIANT_ADD(cap, cap1) { .capacity = 1 };
FIXTURE_VARIANT_ADD(cap, cap4) { .capacity = 4 };
FIXTURE_VARIANT_ADD(cap, cap100) { .capacity = 100 };

FIXTURE_SETUP(cap)
{
	chan_env_setup(&self->env, variant->capacity, MAX, 0);
}

FIXTURE_TEARDOWN(cap)
{
	chan_env_teardown(&self->env);
}

TEST_F(cap, full_nonblock_write_eagain)
{
	struct kchan_info info;
	char b[MAX];
	int n = variant->capacity;

	ASSERT_EQ(n, chan_fill(self->env.nb, "m", n));
	EXPECT_EQ(-1, write(self->env.nb, "over", 4));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ((__u32)n, info.length);
	EXPECT_EQ((__u64)n, info.sent);
	/* One read makes room for exactly one more. */
	ASSERT_EQ(2, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(4, write(self->env.nb, "last", 4));
	EXPECT_EQ(-1, write(self->env.nb, "over", 4));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(n, chan_len(self->env.fd));
}

TEST_F_TIMEOUT(cap, full_write_blocks_until_read, CHAN_TIMEOUT)
{
	struct chan_io *io = chan_io_new();
	char b[MAX + 1], want[16];
	int i, n = variant->capacity;
	pid_t pid;

	ASSERT_NE(NULL, io);
	ASSERT_EQ(n, chan_fill(self->env.nb, "m", n));
	pid = chan_spawn_write(self->env.fd, "late", 4, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_write));
	EXPECT_EQ(n, chan_len(self->env.fd));

	ASSERT_EQ(2, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(0, memcmp(b, "m0", 2));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(4, io->ret);
	EXPECT_EQ(n, chan_len(self->env.fd));
	for (i = 1; i < n; i++) {
		ssize_t len = snprintf(want, sizeof(want), "m%d", i);

		ASSERT_EQ(len, read(self->env.nb, b, sizeof(b)));
		b[len] = '\0';
		EXPECT_STREQ(want, b);
	}
	ASSERT_EQ(4, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(0, memcmp(b, "late", 4));
	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);
}

/*
 * Writers blocked on a full channel are served in the order they blocked
 * (README: messages leave in the order they were accepted; Go's sendq is FIFO).
 */
TEST_F_TIMEOUT(cap, blocked_writers_served_in_order, CHAN_TIMEOUT)
{
	struct chan_io *a = chan_io_new(), *c = chan_io_new();
	char b[MAX];
	int i, n = variant->capacity;
	pid_t pa, pc;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(n, chan_fill(self->env.nb, "m", n));
	pa = chan_spawn_write(self->env.fd, "A", 1, a);
	ASSERT_LE(0, pa);
	ASSERT_EQ(0, chan_wait_blocked(pa, SYS_write));
	pc = chan_spawn_write(self->env.fd, "C", 1, c);
	ASSERT_LE(0, pc);
	ASSERT_EQ(0, chan_wait_blocked(pc, SYS_write));

	for (i = 0; i < n; i++)
		ASSERT_LT(0, read(self->env.fd, b, sizeof(b)));
	ASSERT_EQ(1, read(self->env.fd, b, sizeof(b)));
	EXPECT_EQ('A', b[0]);
	ASSERT_EQ(1, read(self->env.fd, b, sizeof(b)));
	EXPECT_EQ('C', b[0]);
	ASSERT_EQ(0, chan_reap(pa));
	ASSERT_EQ(0, chan_reap(pc));
	EXPECT_EQ(1, a->ret);
	EXPECT_EQ(1, c->ret);
}

/* ---------------------------------------------------------------------- */
/* msg_max at its extremes: the default (0 -> 4096) and 1 MiB. */

FIXTURE(size) {
	struct chan_env env;
};

FIXTURE_VARIANT(size) {
	__u32 msg_max;		/* as passed to create */
	size_t effective;
};

FIXTURE_VARIANT_ADD(size, default_4096) { .msg_max = 0, .effective = KCHAN_MSG_MAX_DEFAULT };
FIXTURE_VARIANT_ADD(size, one_byte) { .msg_max = 1, .effective = 1 };
FIXTURE_VARIANT_ADD(size, one_mib) { .msg_max = 1 << 20, .effective = 1 << 20 };

FIXTURE_SETUP(size)
{
	chan_env_setup(&self->env, 2, variant->msg_max, 0);
}

FIXTURE_TEARDOWN(size)
{
	chan_env_teardown(&self->env);
}

TEST_F(size, largest_message_round_trips)
{
	size_t n = variant->effective, i;
	unsigned char *out = malloc(n + 1), *in = malloc(n + 1);
	struct kchan_info info;

	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, in);
	for (i = 0; i < n + 1; i++)
		out[i] = (unsigned char)(i * 131 + (i >> 12));
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(n, info.msg_max);

	EXPECT_EQ(-1, write(self->env.nb, out, n + 1));
	EXPECT_EQ(EMSGSIZE, errno);
	ASSERT_EQ((ssize_t)n, write(self->env.nb, out, n));
	EXPECT_EQ(-1, read(self->env.nb, in, n - 1));
	EXPECT_EQ(EMSGSIZE, errno);
	memset(in, 0, n + 1);
	ASSERT_EQ((ssize_t)n, read(self->env.nb, in, n + 1));
	EXPECT_EQ(0, memcmp(out, in, n));
	free(out);
	free(in);
}

/*
 * Large messages reuse the buffer a reader freed (kmod/msg.c, big_spare):
 * every size after every other, longer and shorter, one at a time (so each
 * write may take the previous message's buffer) and two at a time, must
 * come back whole, each with its own bytes.  A spare reused for a message
 * that does not fit would cut it short here, and KASAN would report it.
 */
#define BIG	65536

FIXTURE(big) {
	struct chan_env env;
	unsigned char *out, *in;
};

FIXTURE_SETUP(big)
{
	chan_env_setup(&self->env, CAP, BIG, 0);
	self->out = malloc(BIG + 1);
	self->in = malloc(BIG + 1);
	ASSERT_NE(NULL, self->out);
	ASSERT_NE(NULL, self->in);
}

FIXTURE_TEARDOWN(big)
{
	free(self->out);
	free(self->in);
	chan_env_teardown(&self->env);	/* destroyed with a spare kept */
}

static void big_fill(unsigned char *buf, size_t len, unsigned int k)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 131 + k * 29 + (i >> 9));
}

static const size_t big_sizes[] = {
	BIG, 300, BIG, 4096, 205, BIG - 1, BIG, 1, 20000, 20001, BIG, 4096, 4097,
};

#define BIG_NSIZES	(sizeof(big_sizes) / sizeof(big_sizes[0]))

TEST_F(big, spare_buffers_carry_every_size_intact)
{
	unsigned int k, j;
	struct kchan_info info;

	for (k = 0; k < BIG_NSIZES; k++) {
		size_t len = big_sizes[k];

		big_fill(self->out, len, k);
		ASSERT_EQ((ssize_t)len, write(self->env.nb, self->out, len));
		memset(self->in, 0, BIG + 1);
		ASSERT_EQ((ssize_t)len, read(self->env.nb, self->in, BIG + 1));
		EXPECT_EQ(0, memcmp(self->out, self->in, len)) TH_LOG("message %u, %zu bytes", k, len);
	}
	/* Two in flight: the second cannot take the first's buffer. */
	for (k = 0; k + 1 < BIG_NSIZES; k++) {
		for (j = k; j < k + 2; j++) {
			big_fill(self->out, big_sizes[j], j + 100);
			ASSERT_EQ((ssize_t)big_sizes[j], write(self->env.nb, self->out, big_sizes[j]));
		}
		for (j = k; j < k + 2; j++) {
			big_fill(self->out, big_sizes[j], j + 100);
			memset(self->in, 0, BIG + 1);
			ASSERT_EQ((ssize_t)big_sizes[j], read(self->env.nb, self->in, BIG + 1));
			EXPECT_EQ(0, memcmp(self->out, self->in, big_sizes[j]))
				TH_LOG("pair %u, message %u, %zu bytes", k, j, big_sizes[j]);
		}
	}
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(BIG_NSIZES + 2 * (BIG_NSIZES - 1), info.sent);
	EXPECT_EQ(info.sent, info.received);
	EXPECT_EQ(0, info.length);
	/* Leave one spare behind for destroy to free (kmemleak checks). */
	ASSERT_EQ(BIG, write(self->env.nb, self->out, BIG));
	ASSERT_EQ(BIG, read(self->env.nb, self->in, BIG));
}

TEST_HARNESS_MAIN
