// SPDX-License-Identifier: GPL-2.0
/*
 * Unbuffered channels (capacity 0): rendezvous.  A write returns only
 * after a reader took its message; O_NONBLOCK writes need a reader that is
 * already blocked, O_NONBLOCK reads a writer that is; every message is
 * received exactly once and wakes exactly one peer.
 */
#include "chan_test.h"

#define MAX	64

FIXTURE(unbuf) {
	struct chan_env env;
};

FIXTURE_SETUP(unbuf)
{
	chan_env_setup(&self->env, 0, MAX, 0);
}

FIXTURE_TEARDOWN(unbuf)
{
	chan_env_teardown(&self->env);
}

TEST_F_TIMEOUT(unbuf, write_blocks_until_a_reader_takes_it, CHAN_TIMEOUT)
{
	struct kchan_info info;
	struct chan_io *io;
	char b[MAX];
	pid_t pid;

	io = chan_blocked_writer(_metadata, self->env.fd, "ping", &pid);
	/* Still blocked, and nothing is buffered. */
	EXPECT_TRUE(chan_alive(pid));
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(0, info.capacity);
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(0, info.received);

	ASSERT_EQ(4, read(self->env.fd, b, sizeof(b)));
	EXPECT_EQ(0, memcmp(b, "ping", 4));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(4, io->ret);
	/* Received exactly once. */
	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(1, info.sent);
	EXPECT_EQ(1, info.received);
	EXPECT_EQ(0, info.length);
}

TEST_F_TIMEOUT(unbuf, read_blocks_until_a_writer_comes, CHAN_TIMEOUT)
{
	struct chan_io *io;
	pid_t pid;

	io = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);
	EXPECT_TRUE(chan_alive(pid));
	/* A blocking write: returns once the reader has the message. */
	ASSERT_EQ(4, write(self->env.fd, "pong", 4));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(4, io->ret);
	EXPECT_EQ(0, memcmp(io->buf, "pong", 4));
	EXPECT_EQ(0, chan_len(self->env.fd));
}

TEST_F(unbuf, nonblock_write_without_blocked_reader_eagain)
{
	struct kchan_info info;
	char b[MAX];

	EXPECT_EQ(-1, write(self->env.nb, "x", 1));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(0, info.sent);
	/* Nothing was left behind for a later reader. */
	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F_TIMEOUT(unbuf, nonblock_write_with_only_a_blocked_writer_eagain, CHAN_TIMEOUT)
{
	char b[MAX];
	pid_t pid;

	chan_blocked_writer(_metadata, self->env.fd, "w", &pid);
	EXPECT_EQ(-1, write(self->env.nb, "x", 1));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ('w', b[0]);
	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, chan_reap(pid));
}

TEST_F_TIMEOUT(unbuf, nonblock_write_with_blocked_reader_succeeds, CHAN_TIMEOUT)
{
	struct chan_io *io;
	pid_t pid;

	io = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);
	ASSERT_EQ(3, write(self->env.nb, "abc", 3));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(3, io->ret);
	EXPECT_EQ(0, memcmp(io->buf, "abc", 3));
}

TEST_F(unbuf, nonblock_read_without_blocked_writer_eagain)
{
	char b[MAX];

	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F_TIMEOUT(unbuf, nonblock_read_with_only_a_blocked_reader_eagain, CHAN_TIMEOUT)
{
	char b[MAX];
	pid_t pid;

	chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);
	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(1, write(self->env.nb, "r", 1));
	ASSERT_EQ(0, chan_reap(pid));
}

TEST_F_TIMEOUT(unbuf, nonblock_read_with_blocked_writer_succeeds, CHAN_TIMEOUT)
{
	struct chan_io *io;
	char b[MAX];
	pid_t pid;

	io = chan_blocked_writer(_metadata, self->env.fd, "hello", &pid);
	ASSERT_EQ(5, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(0, memcmp(b, "hello", 5));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(5, io->ret);
	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F_TIMEOUT(unbuf, blocked_writers_served_in_order, CHAN_TIMEOUT)
{
	struct chan_io *a, *c;
	char b[MAX];
	pid_t pa, pc;

	a = chan_blocked_writer(_metadata, self->env.fd, "A", &pa);
	c = chan_blocked_writer(_metadata, self->env.fd, "C", &pc);
	ASSERT_EQ(1, read(self->env.fd, b, sizeof(b)));
	EXPECT_EQ('A', b[0]);
	ASSERT_EQ(1, read(self->env.fd, b, sizeof(b)));
	EXPECT_EQ('C', b[0]);
	ASSERT_EQ(0, chan_reap(pa));
	ASSERT_EQ(0, chan_reap(pc));
	EXPECT_EQ(1, a->ret);
	EXPECT_EQ(1, c->ret);
}

TEST_F_TIMEOUT(unbuf, one_message_wakes_one_reader, CHAN_TIMEOUT)
{
	struct chan_io *io[2];
	pid_t pid[2], first;
	long sleeps[2];
	int f, o;

	io[0] = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid[0]);
	io[1] = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid[1]);
	sleeps[0] = chan_task_sleeps(pid[0]);
	sleeps[1] = chan_task_sleeps(pid[1]);

	ASSERT_EQ(3, write(self->env.nb, "one", 3));
	first = chan_first_to_exit(pid[0], pid[1]);
	ASSERT_TRUE(first == pid[0] || first == pid[1]);
	f = first == pid[1];
	o = !f;
	ASSERT_EQ(0, chan_reap(pid[f]));
	EXPECT_EQ(3, io[f]->ret);
	EXPECT_EQ(0, memcmp(io[f]->buf, "one", 3));
	EXPECT_EQ(0, chan_wait_blocked(pid[o], SYS_read));
	EXPECT_EQ(sleeps[o], chan_task_sleeps(pid[o])) TH_LOG("the other reader woke too");

	ASSERT_EQ(3, write(self->env.nb, "two", 3));
	ASSERT_EQ(0, chan_reap(pid[o]));
	EXPECT_EQ(3, io[o]->ret);
	EXPECT_EQ(0, memcmp(io[o]->buf, "two", 3));
}

TEST_F_TIMEOUT(unbuf, one_read_wakes_one_writer, CHAN_TIMEOUT)
{
	struct chan_io *io[2];
	pid_t pid[2];
	long sleeps;
	char b[MAX];

	io[0] = chan_blocked_writer(_metadata, self->env.fd, "0", &pid[0]);
	io[1] = chan_blocked_writer(_metadata, self->env.fd, "1", &pid[1]);
	sleeps = chan_task_sleeps(pid[1]);

	ASSERT_EQ(1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ('0', b[0]);
	ASSERT_EQ(0, chan_reap(pid[0]));
	EXPECT_EQ(1, io[0]->ret);
	EXPECT_EQ(0, chan_wait_blocked(pid[1], SYS_write));
	EXPECT_EQ(sleeps, chan_task_sleeps(pid[1])) TH_LOG("the other writer woke too");

	ASSERT_EQ(1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ('1', b[0]);
	ASSERT_EQ(0, chan_reap(pid[1]));
	EXPECT_EQ(1, io[1]->ret);
}

/* A too-large write fails at once: it must not wait for a reader first. */
TEST_F_TIMEOUT(unbuf, write_larger_than_msg_max_emsgsize_without_blocking, CHAN_TIMEOUT)
{
	char big[MAX + 1];
	pid_t pid;

	memset(big, 'b', sizeof(big));
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		alarm(5);
		_exit(write(self->env.fd, big, sizeof(big)) == -1 && errno == EMSGSIZE ? 0 : 1);
	}
	EXPECT_EQ(0, chan_reap(pid));
	EXPECT_EQ(-1, write(self->env.nb, big, sizeof(big)));
	EXPECT_EQ(EMSGSIZE, errno);
}

TEST_F_TIMEOUT(unbuf, write_larger_than_msg_max_to_blocked_reader_emsgsize, CHAN_TIMEOUT)
{
	struct chan_io *io;
	char big[MAX + 1];
	pid_t pid;

	memset(big, 'b', sizeof(big));
	io = chan_blocked_reader(_metadata, self->env.fd, sizeof(big), &pid);
	EXPECT_EQ(-1, write(self->env.fd, big, sizeof(big)));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(0, chan_wait_blocked(pid, SYS_read));
	ASSERT_EQ(MAX, write(self->env.fd, big, MAX));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(MAX, io->ret);
}

TEST_F_TIMEOUT(unbuf, zero_byte_write_neither_blocks_nor_sends, CHAN_TIMEOUT)
{
	struct kchan_info info;
	struct chan_io *io;
	pid_t pid;

	/* No reader: a blocking zero-byte write still returns 0 at once. */
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		alarm(5);
		_exit(write(self->env.fd, "", 0) == 0 ? 0 : 1);
	}
	EXPECT_EQ(0, chan_reap(pid));
	EXPECT_EQ(0, write(self->env.nb, "", 0));

	/* A blocked reader is not woken by it. */
	io = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);
	EXPECT_EQ(0, write(self->env.fd, "x", 0));
	EXPECT_EQ(0, write(self->env.nb, "x", 0));
	EXPECT_EQ(0, chan_wait_blocked(pid, SYS_read));
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(0, info.sent);
	ASSERT_EQ(1, write(self->env.nb, "z", 1));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(1, io->ret);
	EXPECT_EQ('z', io->buf[0]);
}

TEST_F_TIMEOUT(unbuf, write_fault_efault_sends_nothing, CHAN_TIMEOUT)
{
	char *g = chan_guard_pages();
	struct chan_io *io;
	pid_t pid;

	ASSERT_NE(NULL, g);
	io = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);
	EXPECT_EQ(-1, write(self->env.fd, chan_null(), 5));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, write(self->env.nb, chan_guard_end(g) - 2, 5));
	EXPECT_EQ(EFAULT, errno);
	/* The reader got nothing and still waits. */
	EXPECT_EQ(0, chan_wait_blocked(pid, SYS_read));
	ASSERT_EQ(2, write(self->env.nb, "ok", 2));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(2, io->ret);
	EXPECT_EQ(0, memcmp(io->buf, "ok", 2));
}

TEST_F_TIMEOUT(unbuf, read_buffer_too_small_emsgsize_writer_keeps_waiting, CHAN_TIMEOUT)
{
	struct kchan_info info;
	struct chan_io *io;
	char b[16];
	pid_t pid;

	io = chan_blocked_writer(_metadata, self->env.fd, "0123456789", &pid);
	EXPECT_EQ(-1, read(self->env.nb, b, 9));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(-1, read(self->env.fd, b, 9));
	EXPECT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(0, info.received);
	/* The writer has not been answered: its message was not taken. */
	EXPECT_EQ(0, chan_wait_blocked(pid, SYS_write));
	ASSERT_EQ(10, read(self->env.nb, b, 10));
	EXPECT_EQ(0, memcmp(b, "0123456789", 10));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(10, io->ret);
}

/*
 * A blocked reader whose buffer is too small fails with EMSGSIZE; the
 * message is not lost: the writer waits on for a reader that can take it.
 */
TEST_F_TIMEOUT(unbuf, blocked_reader_buffer_too_small_emsgsize, CHAN_TIMEOUT)
{
	struct chan_io *rd, *wr;
	char b[MAX];
	pid_t pr, pw;

	rd = chan_blocked_reader(_metadata, self->env.fd, 4, &pr);
	wr = chan_io_new();
	ASSERT_NE(NULL, wr);
	pw = chan_spawn_write(self->env.fd, "0123456789", 10, wr);
	ASSERT_LE(0, pw);
	ASSERT_EQ(0, chan_reap(pr));
	EXPECT_EQ(-1, rd->ret);
	EXPECT_EQ(EMSGSIZE, rd->err);
	ASSERT_EQ(0, chan_wait_blocked(pw, SYS_write));
	ASSERT_EQ(10, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(0, memcmp(b, "0123456789", 10));
	ASSERT_EQ(0, chan_reap(pw));
	EXPECT_EQ(10, wr->ret);
}

TEST_F_TIMEOUT(unbuf, read_fault_efault_loses_nothing, CHAN_TIMEOUT)
{
	char *g = chan_guard_pages();
	struct kchan_info info;
	struct chan_io *io;
	char b[MAX];
	pid_t pid;

	ASSERT_NE(NULL, g);
	io = chan_blocked_writer(_metadata, self->env.fd, "data", &pid);
	EXPECT_EQ(-1, read(self->env.nb, chan_null(), MAX));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, read(self->env.fd, chan_guard_end(g) - 2, MAX));
	EXPECT_EQ(EFAULT, errno);
	/* The message is back at the head: the next read gets it. */
	ASSERT_EQ(4, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(0, memcmp(b, "data", 4));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(4, io->ret);
	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(1, info.received);
	EXPECT_EQ(0, info.length);
}

TEST_F_TIMEOUT(unbuf, writev_gathers_one_message, CHAN_TIMEOUT)
{
	struct iovec iov[3] = {
		{ .iov_base = "ab", .iov_len = 2 },
		{ .iov_base = "cd", .iov_len = 2 },
		{ .iov_base = "e", .iov_len = 1 },
	};
	struct chan_io *io;
	pid_t pid;

	io = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);
	ASSERT_EQ(5, writev(self->env.fd, iov, 3));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(5, io->ret);
	EXPECT_EQ(0, memcmp(io->buf, "abcde", 5));
}

TEST_F_TIMEOUT(unbuf, rwf_nowait_like_nonblock, CHAN_TIMEOUT)
{
	char b[MAX];
	struct iovec riov = { .iov_base = b, .iov_len = sizeof(b) };
	struct iovec wiov = { .iov_base = "w", .iov_len = 1 };
	struct chan_io *io;
	pid_t pid;

	EXPECT_EQ(-1, pwritev2(self->env.fd, &wiov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(-1, preadv2(self->env.fd, &riov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);

	io = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid);
	if (pwritev2(self->env.fd, &wiov, 1, -1, RWF_NOWAIT) != 1) {
		TH_LOG("pwritev2 RWF_NOWAIT to a blocked reader: %m");
		EXPECT_TRUE(false);
		ASSERT_EQ(1, write(self->env.nb, "w", 1));	/* release it */
	}
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(1, io->ret);

	chan_blocked_writer(_metadata, self->env.fd, "v", &pid);
	if (preadv2(self->env.fd, &riov, 1, -1, RWF_NOWAIT) != 1) {
		TH_LOG("preadv2 RWF_NOWAIT from a blocked writer: %m");
		EXPECT_TRUE(false);
		ASSERT_EQ(1, read(self->env.nb, b, sizeof(b)));	/* release it */
	}
	ASSERT_EQ(0, chan_reap(pid));
}

TEST_HARNESS_MAIN
