// SPDX-License-Identifier: GPL-2.0
/*
 * libchan: chan_select.  Exactly one case completes and its index comes
 * back; the others send or take nothing and read -EAGAIN; with timeout 0
 * it is Go's select with a default case; an error that belongs to a case
 * is that case's result too.
 */
#include "libchan_test.h"

LT_FIXTURE();

/* Nothing ready and timeout 0: -EAGAIN (the default case), nothing moved. */
TEST_F(lt, default_case)
{
	int a = lt_make(&self->env, 1, 0, O_RDWR);
	int b = lt_make(&self->env, 0, 0, O_RDWR);
	char buf[16];
	struct chan_case c[2] = {
		CHAN_CASE_RECV(a, buf, sizeof(buf)),
		CHAN_CASE_SEND(b, "x", 1),
	};
	struct chan_info info;

	c[0].result = 12345;
	c[1].result = 12345;
	EXPECT_EQ(-EAGAIN, chan_select(c, 2, 0));
	EXPECT_EQ(-EAGAIN, c[0].result);
	EXPECT_EQ(-EAGAIN, c[1].result);
	EXPECT_STREQ("No case ready (Go's default case)",
		     chan_strerror(-EAGAIN, CHAN_OP_SELECT));
	ASSERT_EQ(0, chan_info(b, &info));
	EXPECT_EQ(0, info.sent);
	close(a);
	close(b);
}

/* One ready case among unready ones is the one done; results say how much. */
TEST_F(lt, ready_case)
{
	int a = lt_make(&self->env, 1, 0, O_RDWR);
	int b = lt_make(&self->env, 2, 0, O_RDWR);
	char buf[16];
	struct chan_case c[2] = {
		CHAN_CASE_RECV(a, buf, sizeof(buf)),
		CHAN_CASE_RECV(b, buf, sizeof(buf)),
	};
	struct chan_case s[2] = {
		CHAN_CASE_SEND(a, "full", 4),
		CHAN_CASE_SEND(b, "room", 4),
	};

	ASSERT_EQ(0, chan_send(b, "hello", 5));
	EXPECT_EQ(1, chan_select(c, 2, 0));
	EXPECT_EQ(-EAGAIN, c[0].result);
	EXPECT_EQ(5, c[1].result);
	EXPECT_EQ(0, memcmp(buf, "hello", 5));

	ASSERT_EQ(0, chan_send(a, "x", 1));	/* a is full now */
	EXPECT_EQ(1, chan_select(s, 2, CHAN_FOREVER));
	EXPECT_EQ(-EAGAIN, s[0].result);
	EXPECT_EQ(4, s[1].result);
	EXPECT_EQ(4, chan_recv(b, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "room", 4));
	close(a);
	close(b);
}

/* Among cases ready at once the choice is random: both come up. */
TEST_F(lt, random_choice)
{
	int a = lt_make(&self->env, 1, 0, O_RDWR);
	int b = lt_make(&self->env, 1, 0, O_RDWR);
	char ba[8], bb[8];
	int seen[2] = { 0, 0 }, i, k;

	ASSERT_EQ(0, chan_send(a, "a", 1));
	ASSERT_EQ(0, chan_send(b, "b", 1));
	for (i = 0; i < 200; i++) {
		struct chan_case c[2] = {
			CHAN_CASE_RECV(a, ba, sizeof(ba)),
			CHAN_CASE_RECV(b, bb, sizeof(bb)),
		};

		k = chan_select(c, 2, 0);
		ASSERT_TRUE(k == 0 || k == 1) TH_LOG("chan_select: %d", k);
		seen[k == 1]++;
		/* Put it back: both ready again. */
		ASSERT_EQ(0, chan_send(k ? b : a, k ? "b" : "a", 1));
	}
	EXPECT_LT(40, seen[0]);
	EXPECT_LT(40, seen[1]);
	close(a);
	close(b);
}

/* A receive on a closed, drained channel completes with result 0. */
TEST_F(lt, closed_recv)
{
	int a = lt_make(&self->env, 1, 0, O_RDWR);
	int b = lt_make(&self->env, 0, 0, O_RDWR);
	char buf[16];
	struct chan_case c[2] = {
		CHAN_CASE_RECV(a, buf, sizeof(buf)),
		CHAN_CASE_RECV(b, buf, sizeof(buf)),
	};

	ASSERT_EQ(0, chan_send(a, "last", 4));
	ASSERT_EQ(0, chan_close_fd(a));
	EXPECT_EQ(0, chan_select(c, 2, CHAN_FOREVER));
	EXPECT_EQ(4, c[0].result);		/* drain first */
	EXPECT_EQ(0, chan_select(c, 2, CHAN_FOREVER));
	EXPECT_EQ(0, c[0].result);		/* then end of file */
	EXPECT_EQ(-EAGAIN, c[1].result);
	close(a);
	close(b);
}

/* A send case on a closed channel fails the select, and says which case. */
TEST_F(lt, closed_send)
{
	int a = lt_make(&self->env, 1, 0, O_RDWR);
	int b = lt_make(&self->env, 1, 0, O_RDWR);
	char buf[16];
	struct chan_case c[2] = {
		CHAN_CASE_RECV(a, buf, sizeof(buf)),
		CHAN_CASE_SEND(b, "x", 1),
	};
	int ret;

	ASSERT_EQ(0, chan_close_fd(b));
	ret = chan_select(c, 2, 0);
	EXPECT_EQ(-EPIPE, ret);
	EXPECT_EQ(-EAGAIN, c[0].result);
	EXPECT_EQ(-EPIPE, c[1].result);
	EXPECT_STREQ("Channel closed: nothing was sent", chan_strerror(c[1].result, c[1].op));
	close(a);
	close(b);
}

/* A message larger than the receive buffer: EMSGSIZE on that case, still queued. */
TEST_F(lt, emsgsize)
{
	int a = lt_make(&self->env, 1, 0, O_RDWR);
	int b = lt_make(&self->env, 1, 8, O_RDWR);
	char small[4], big[16];
	struct chan_case c[2] = {
		CHAN_CASE_RECV(a, big, sizeof(big)),
		CHAN_CASE_RECV(b, small, sizeof(small)),
	};
	struct chan_case s = CHAN_CASE_SEND(b, "123456789", 9);

	ASSERT_EQ(0, chan_send(b, "toolong", 7));
	EXPECT_EQ(-EMSGSIZE, chan_select(c, 2, 0));
	EXPECT_EQ(-EMSGSIZE, c[1].result);
	EXPECT_EQ(-EAGAIN, c[0].result);
	EXPECT_STREQ("Message larger than the receive buffer (it stays queued)",
		     chan_strerror(c[1].result, c[1].op));
	EXPECT_EQ(7, chan_recv(b, big, sizeof(big)));

	/* A send larger than msg_max: EMSGSIZE with the send's text. */
	EXPECT_EQ(-EMSGSIZE, chan_select(&s, 1, 0));
	EXPECT_EQ(-EMSGSIZE, s.result);
	EXPECT_STREQ("Message larger than the channel's msg_max", chan_strerror(s.result, s.op));
	close(a);
	close(b);
}

/* Bad arguments: counts, ops, fds that are not open or not channels. */
TEST_F(lt, bad_args)
{
	int a = lt_make(&self->env, 1, 0, O_RDONLY);
	struct chan_case c[CHAN_SELECT_MAX + 1];
	char buf[8];
	int p[2], i, w;

	for (i = 0; i <= CHAN_SELECT_MAX; i++)
		c[i] = CHAN_CASE_RECV(a, buf, sizeof(buf));
	EXPECT_EQ(-EINVAL, chan_select(c, 0, 0));
	EXPECT_EQ(-EINVAL, chan_select(c, CHAN_SELECT_MAX + 1, 0));
	EXPECT_EQ(-EAGAIN, chan_select(c, CHAN_SELECT_MAX, 0));	/* 32 is fine */

	c[1].op = 7;
	EXPECT_EQ(-EINVAL, chan_select(c, 2, 0));
	EXPECT_EQ(-EINVAL, c[1].result);
	c[1] = CHAN_CASE_SEND(a, "x", 1);	/* a is read-only */
	EXPECT_EQ(-EBADF, chan_select(c, 2, 0));
	EXPECT_EQ(-EBADF, c[1].result);
	w = chan_open(lt_last(&self->env), O_WRONLY);
	ASSERT_LE(0, w);
	c[1] = CHAN_CASE_SEND(w, "", 0);
	EXPECT_EQ(-EINVAL, chan_select(c, 2, 0));
	EXPECT_EQ(-EINVAL, c[1].result);
	close(w);

	/* Case 0 carries the ioctl: its errors must still be its own. */
	c[0].fd = -1;
	EXPECT_EQ(-EBADF, chan_select(c, 1, 0));
	EXPECT_EQ(-EBADF, c[0].result);
	ASSERT_EQ(0, pipe(p));
	c[0].fd = p[0];
	EXPECT_EQ(-EINVAL, chan_select(c, 1, 0));
	EXPECT_EQ(-EINVAL, c[0].result);
	c[0] = CHAN_CASE_RECV(a, buf, sizeof(buf));
	c[1] = CHAN_CASE_RECV(p[0], buf, sizeof(buf));
	EXPECT_EQ(-EINVAL, chan_select(c, 2, 0));
	EXPECT_EQ(-EINVAL, c[1].result);
	close(p[0]);
	close(p[1]);
	close(a);
}

/* A select blocks until a counterpart comes; a plain write meets it. */
TEST_F(lt, blocks_until_ready)
{
	int a = lt_make(&self->env, 0, 0, O_RDWR);
	int b = lt_make(&self->env, 0, 0, O_RDWR);
	struct lt_io *io = lt_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct chan_case c[2] = {
			CHAN_CASE_RECV(a, io->buf, sizeof(io->buf)),
			CHAN_CASE_RECV(b, io->buf, sizeof(io->buf)),
		};
		int k = chan_select(c, 2, CHAN_FOREVER);

		lt_report(io, k < 0 ? k : k * 1000 + c[k].result);
		_exit(0);
	}
	ASSERT_EQ(0, lt_wait_blocked(pid, SYS_ioctl));
	/* The selecting reader is a waiting reader of b: O_NONBLOCK works. */
	EXPECT_EQ(POLLOUT, lt_revents(b, POLLOUT));
	{
		int nb = chan_open(self->env.names[1], O_WRONLY | O_NONBLOCK);

		ASSERT_LE(0, nb);
		EXPECT_EQ(0, chan_send(nb, "bee", 3));
		close(nb);
	}
	ASSERT_EQ(0, lt_reap(pid));
	EXPECT_EQ(1003, io->ret);
	EXPECT_EQ(0, memcmp(io->buf, "bee", 3));
	lt_io_free(io);
	close(a);
	close(b);
}

/* Go's timeout pattern: a CHAN_AFTER timer as one case of the select. */
TEST_F(lt, timer_case)
{
	struct chan_opts o = { .flags = CHAN_AFTER, .period_ns = 200 * MSEC };
	int jobs = lt_make(&self->env, 1, 0, O_RDWR);
	const char *tname = lt_name(&self->env);
	char buf[CHAN_TIMER_MSG_MAX + 1], jbuf[16];
	int64_t t0, dt;
	int tfd, k;

	t0 = lt_now();
	ASSERT_EQ(0, chan_create(tname, &o));
	tfd = chan_open(tname, O_RDONLY);
	ASSERT_LE(0, tfd);
	{
		struct chan_case c[2] = {
			CHAN_CASE_RECV(jobs, jbuf, sizeof(jbuf)),
			CHAN_CASE_RECV(tfd, buf, sizeof(buf) - 1),
		};

		k = chan_select(c, 2, 30 * NSEC);
		dt = lt_now() - t0;
		ASSERT_EQ(1, k);
		ASSERT_LT(0, c[1].result);
		buf[c[1].result] = '\0';
	}
	EXPECT_LE(200 * MSEC, dt);
	EXPECT_GT(200 * MSEC + LT_LATE_NS, dt);
	/* The message is the expiry, CLOCK_MONOTONIC ns, and a newline. */
	EXPECT_EQ('\n', buf[strlen(buf) - 1]);
	EXPECT_LE(t0 + 200 * MSEC, strtoll(buf, NULL, 10));
	EXPECT_GE(lt_now(), strtoll(buf, NULL, 10));
	close(tfd);
	close(jobs);
}

/* Two selects meet each other on an unbuffered channel. */
TEST_F(lt, select_meets_select)
{
	int a = lt_make(&self->env, 0, 0, O_RDWR);
	int other = lt_make(&self->env, 0, 0, O_RDWR);
	struct lt_io *io = lt_io_new();
	char buf[16];
	pid_t pid;

	ASSERT_NE(NULL, io);
	pid = lt_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct chan_case c[2] = {
			CHAN_CASE_SEND(other, "no", 2),
			CHAN_CASE_SEND(a, "yes", 3),
		};

		lt_report(io, chan_select(c, 2, 20 * NSEC));
		_exit(0);
	}
	ASSERT_EQ(0, lt_wait_blocked(pid, SYS_ioctl));
	{
		struct chan_case c[1] = { CHAN_CASE_RECV(a, buf, sizeof(buf)) };

		EXPECT_EQ(0, chan_select(c, 1, 20 * NSEC));
		EXPECT_EQ(3, c[0].result);
		EXPECT_EQ(0, memcmp(buf, "yes", 3));
	}
	ASSERT_EQ(0, lt_reap(pid));
	EXPECT_EQ(1, io->ret);
	/* The losing case sent nothing. */
	EXPECT_EQ(-EAGAIN, chan_recv_timeout(other, buf, sizeof(buf), 0));
	lt_io_free(io);
	close(a);
	close(other);
}

TEST_HARNESS_MAIN
