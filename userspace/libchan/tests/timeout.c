// SPDX-License-Identifier: GPL-2.0
/*
 * libchan: chan_send_timeout and chan_recv_timeout.  Timeouts are relative
 * and monotonic: ETIMEDOUT no sooner than asked and not much later; 0 never
 * waits (EAGAIN).  A timed send on an unbuffered channel succeeds only by
 * meeting a receiver: at once if one is blocked, or when one comes before
 * the timeout; otherwise nothing is sent.
 */
#include "libchan_test.h"

#define T_NS	(300 * MSEC)	/* the timeout the tests wait for */

LT_FIXTURE();

/* An empty channel: ETIMEDOUT after T_NS, not before and not much after. */
TEST_F(lt, recv_etimedout)
{
	int fd = lt_make(&self->env, 4, 0, O_RDWR);
	char buf[16];
	int64_t t0, dt;
	ssize_t ret;

	t0 = lt_now();
	ret = chan_recv_timeout(fd, buf, sizeof(buf), T_NS);
	dt = lt_now() - t0;
	EXPECT_EQ(-ETIMEDOUT, ret);
	EXPECT_LE(T_NS, dt);
	EXPECT_GT(T_NS + LT_LATE_NS, dt) TH_LOG("took %lld ms", (long long)dt / MSEC);
	EXPECT_STREQ("Timed out: no message came", chan_strerror(-ETIMEDOUT, CHAN_OP_RECV));
	close(fd);
}

/* Timeout 0: Go's default case, no waiting at all. */
TEST_F(lt, zero_timeout)
{
	int fd = lt_make(&self->env, 1, 0, O_RDWR);
	char buf[16];

	EXPECT_EQ(-EAGAIN, chan_recv_timeout(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(0, chan_send_timeout(fd, "a", 1, 0));
	EXPECT_EQ(-EAGAIN, chan_send_timeout(fd, "b", 1, 0));
	EXPECT_EQ(1, chan_recv_timeout(fd, buf, sizeof(buf), 0));
	EXPECT_EQ('a', buf[0]);
	close(fd);
}

/* A full buffered channel: the timed send gives up and sends nothing. */
TEST_F(lt, send_full_etimedout)
{
	int fd = lt_make(&self->env, 1, 0, O_RDWR);
	struct chan_info info;
	char buf[16];
	int64_t t0, dt;

	ASSERT_EQ(0, chan_send(fd, "a", 1));
	t0 = lt_now();
	EXPECT_EQ(-ETIMEDOUT, chan_send_timeout(fd, "b", 1, T_NS));
	dt = lt_now() - t0;
	EXPECT_LE(T_NS, dt);
	EXPECT_GT(T_NS + LT_LATE_NS, dt);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(1, info.length);
	EXPECT_EQ(1, info.sent);
	EXPECT_EQ(1, chan_recv(fd, buf, sizeof(buf)));
	EXPECT_EQ(-EAGAIN, chan_recv_timeout(fd, buf, sizeof(buf), 0));
	close(fd);
}

/* Unbuffered and nobody receiving: ETIMEDOUT, and nothing is left behind. */
TEST_F(lt, unbuffered_send_no_reader)
{
	int fd = lt_make(&self->env, 0, 0, O_RDWR | O_NONBLOCK);
	struct chan_info info;
	char buf[16];
	int64_t t0, dt;

	t0 = lt_now();
	EXPECT_EQ(-ETIMEDOUT, chan_send_timeout(fd, "lost", 4, T_NS));
	dt = lt_now() - t0;
	EXPECT_LE(T_NS, dt);
	EXPECT_GT(T_NS + LT_LATE_NS, dt);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.sent);
	/* The withdrawn send is not there for a later reader. */
	EXPECT_EQ(-EAGAIN, chan_recv(fd, buf, sizeof(buf)));
	close(fd);
}

/* Unbuffered with a receiver blocked in read(): the timed send meets it at once. */
TEST_F(lt, unbuffered_send_blocked_reader)
{
	int fd = lt_make(&self->env, 0, 0, O_RDWR);
	struct lt_io *io = lt_io_new();
	int64_t t0, dt;
	pid_t pid;

	ASSERT_NE(NULL, io);
	pid = lt_spawn_recv(fd, LT_MSG, CHAN_FOREVER, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, lt_wait_blocked(pid, SYS_read));
	t0 = lt_now();
	EXPECT_EQ(0, chan_send_timeout(fd, "met", 3, 10 * NSEC));
	dt = lt_now() - t0;
	EXPECT_GT(LT_LATE_NS, dt);
	ASSERT_EQ(0, lt_reap(pid));
	EXPECT_EQ(3, io->ret);
	EXPECT_EQ(0, memcmp(io->buf, "met", 3));
	/* Even timeout 0 meets a blocked receiver. */
	pid = lt_spawn_recv(fd, LT_MSG, CHAN_FOREVER, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, lt_wait_blocked(pid, SYS_read));
	EXPECT_EQ(0, chan_send_timeout(fd, "now", 3, 0));
	ASSERT_EQ(0, lt_reap(pid));
	EXPECT_EQ(3, io->ret);
	lt_io_free(io);
	close(fd);
}

/* Unbuffered: a receiver that comes while the timed send waits takes it. */
TEST_F(lt, unbuffered_send_reader_comes)
{
	int fd = lt_make(&self->env, 0, 0, O_RDWR);
	struct lt_io *io = lt_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	pid = lt_spawn_send(fd, "waiting", 20 * NSEC, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, lt_wait_blocked(pid, SYS_ioctl));
	{
		char buf[32];

		EXPECT_EQ(7, chan_recv(fd, buf, sizeof(buf)));
		EXPECT_EQ(0, memcmp(buf, "waiting", 7));
	}
	ASSERT_EQ(0, lt_reap(pid));
	EXPECT_EQ(0, io->ret);
	lt_io_free(io);
	close(fd);
}

/* A timed receive gets a message sent while it waits; and EOF as 0. */
TEST_F(lt, recv_while_waiting)
{
	int fd = lt_make(&self->env, 0, 0, O_RDWR);
	struct lt_io *io = lt_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	pid = lt_spawn_recv(fd, LT_MSG, 20 * NSEC, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, lt_wait_blocked(pid, SYS_ioctl));
	/* A plain non-blocking send meets the waiting select. */
	{
		int nb = chan_open(lt_last(&self->env), O_WRONLY | O_NONBLOCK);

		ASSERT_LE(0, nb);
		EXPECT_EQ(0, chan_send(nb, "hi", 2));
		close(nb);
	}
	ASSERT_EQ(0, lt_reap(pid));
	EXPECT_EQ(2, io->ret);
	EXPECT_EQ(0, memcmp(io->buf, "hi", 2));

	pid = lt_spawn_recv(fd, LT_MSG, 20 * NSEC, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, lt_wait_blocked(pid, SYS_ioctl));
	ASSERT_EQ(0, chan_close_fd(fd));
	ASSERT_EQ(0, lt_reap(pid));
	EXPECT_EQ(0, io->ret);		/* closed and drained */
	lt_io_free(io);
	close(fd);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A signal ends a timed wait with EINTR, even under SA_RESTART. */
TEST_F(lt, eintr)
{
	int fd = lt_make(&self->env, 0, 0, O_RDWR);
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct itimerspec it = { .it_value = { .tv_nsec = 100 * MSEC } };
	timer_t timer;
	char buf[8];
	int64_t t0, dt;

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, timer_create(CLOCK_MONOTONIC, NULL, &timer));
	ASSERT_EQ(0, timer_settime(timer, 0, &it, NULL));
	t0 = lt_now();
	EXPECT_EQ(-EINTR, chan_recv_timeout(fd, buf, sizeof(buf), 20 * NSEC));
	dt = lt_now() - t0;
	EXPECT_GT(10 * NSEC, dt);
	timer_delete(timer);
	signal(SIGALRM, SIG_DFL);
	close(fd);
}

/* A negative timeout waits for ever (here: until the message comes). */
TEST_F(lt, forever)
{
	int fd = lt_make(&self->env, 0, 0, O_RDWR);
	struct lt_io *io = lt_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	pid = lt_spawn_send(fd, "late", -5, io);	/* any negative value */
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, lt_wait_blocked(pid, SYS_ioctl));
	usleep(200 * 1000);
	EXPECT_TRUE(lt_alive(pid));
	{
		char buf[16];

		EXPECT_EQ(4, chan_recv_timeout(fd, buf, sizeof(buf), CHAN_FOREVER));
	}
	ASSERT_EQ(0, lt_reap(pid));
	EXPECT_EQ(0, io->ret);
	lt_io_free(io);
	close(fd);
}

/* The largest timeouts wait, rather than wrap around and time out at once. */
TEST_F(lt, huge_timeout)
{
	int fd = lt_make(&self->env, 1, 0, O_RDWR);
	struct lt_io *io = lt_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	pid = lt_spawn_recv(fd, LT_MSG, INT64_MAX, io);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, lt_wait_blocked(pid, SYS_ioctl));
	usleep(100 * 1000);
	EXPECT_TRUE(lt_alive(pid));
	ASSERT_EQ(0, chan_send(fd, "big", 3));
	ASSERT_EQ(0, lt_reap(pid));
	EXPECT_EQ(3, io->ret);
	lt_io_free(io);
	close(fd);
}

TEST_HARNESS_MAIN
