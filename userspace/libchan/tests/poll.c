// SPDX-License-Identifier: GPL-2.0
/*
 * libchan: chan_poll, readiness over several channels, and its limit: on
 * an unbuffered channel a send is ready only while a receiver is blocked,
 * so two sides that only poll never meet.
 */
#include "libchan_test.h"

#define T_NS	(300 * MSEC)

LT_FIXTURE();

/* Several buffered channels: exactly the ready ones are reported. */
TEST_F(lt, several)
{
	int a = lt_make(&self->env, 1, 0, O_RDWR);
	int b = lt_make(&self->env, 1, 0, O_RDWR);
	int c = lt_make(&self->env, 1, 0, O_RDWR);
	struct pollfd p[3] = {
		{ .fd = a, .events = POLLIN },
		{ .fd = b, .events = POLLIN },
		{ .fd = c, .events = POLLOUT },
	};

	ASSERT_EQ(0, chan_send(c, "x", 1));	/* c full: not writable */
	EXPECT_EQ(-EAGAIN, chan_poll(p, 3, 0));
	EXPECT_STREQ("No channel ready", chan_strerror(-EAGAIN, CHAN_OP_POLL));
	ASSERT_EQ(0, chan_send(b, "y", 1));
	EXPECT_EQ(1, chan_poll(p, 3, CHAN_FOREVER));
	EXPECT_EQ(0, p[0].revents);
	EXPECT_EQ(POLLIN, p[1].revents);
	EXPECT_EQ(0, p[2].revents);
	close(a);
	close(b);
	close(c);
}

/* Nothing becomes ready: -ETIMEDOUT after the timeout, monotonic. */
TEST_F(lt, etimedout)
{
	int a = lt_make(&self->env, 1, 0, O_RDWR);
	struct pollfd p = { .fd = a, .events = POLLIN };
	int64_t t0, dt;

	t0 = lt_now();
	EXPECT_EQ(-ETIMEDOUT, chan_poll(&p, 1, T_NS));
	dt = lt_now() - t0;
	EXPECT_LE(T_NS, dt);
	EXPECT_GT(T_NS + LT_LATE_NS, dt);
	close(a);
}

/* It waits until a message comes. */
TEST_F(lt, wakes)
{
	int a = lt_make(&self->env, 2, 0, O_RDWR);
	struct lt_io *io = lt_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct pollfd p = { .fd = a, .events = POLLIN };

		lt_report(io, chan_poll(&p, 1, 20 * NSEC) == 1 ? p.revents : -1);
		_exit(0);
	}
	ASSERT_EQ(0, lt_wait_blocked(pid, SYS_ppoll));
	ASSERT_EQ(0, chan_send(a, "m", 1));
	ASSERT_EQ(0, lt_reap(pid));
	EXPECT_EQ(POLLIN, io->ret);
	lt_io_free(io);
	close(a);
}

/*
 * Closed: readers see POLLHUP once drained, write-only fds POLLERR; an
 * O_RDWR fd with messages left is readable, not in error (issue 11, 6b).
 */
TEST_F(lt, closed)
{
	int a = lt_make(&self->env, 1, 0, O_RDWR);
	struct pollfd p = { .fd = a, .events = POLLIN | POLLOUT };
	char buf[4];

	ASSERT_EQ(0, chan_send(a, "m", 1));
	ASSERT_EQ(0, chan_close_fd(a));
	EXPECT_EQ(1, chan_poll(&p, 1, 0));
	EXPECT_EQ(POLLIN, p.revents);
	ASSERT_EQ(1, chan_recv(a, buf, sizeof(buf)));
	EXPECT_EQ(1, chan_poll(&p, 1, 0));
	EXPECT_EQ(POLLHUP | POLLERR, p.revents);
	close(a);
}

/*
 * The documented limit: unbuffered, nobody blocked on the other side, so
 * no send is ready; a receiver blocked in chan_recv makes it ready.
 */
TEST_F(lt, unbuffered_limit)
{
	int a = lt_make(&self->env, 0, 0, O_RDWR);
	struct pollfd p = { .fd = a, .events = POLLIN | POLLOUT };
	struct lt_io *io = lt_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	EXPECT_EQ(-ETIMEDOUT, chan_poll(&p, 1, 50 * MSEC));

	/* Two pollers on both sides of an unbuffered channel never meet. */
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct pollfd q = { .fd = a, .events = POLLIN };

		lt_report(io, chan_poll(&q, 1, 200 * MSEC));
		_exit(0);
	}
	EXPECT_EQ(-ETIMEDOUT, chan_poll(&p, 1, 200 * MSEC));
	ASSERT_EQ(0, lt_reap(pid));
	EXPECT_EQ(-ETIMEDOUT, io->ret);

	/* A blocked receiver: now a send is ready, and succeeds. */
	pid = lt_spawn_recv(a, LT_MSG, CHAN_FOREVER, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, lt_wait_blocked(pid, SYS_read));
	p.events = POLLOUT;
	EXPECT_EQ(1, chan_poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT, p.revents);
	EXPECT_EQ(0, chan_send_timeout(a, "ok", 2, 0));
	ASSERT_EQ(0, lt_reap(pid));
	EXPECT_EQ(2, io->ret);
	lt_io_free(io);
	close(a);
}

TEST_HARNESS_MAIN
