// SPDX-License-Identifier: GPL-2.0
/* libchan: timer channels, CHAN_AFTER and CHAN_TICK (Go's time.After, Ticker). */
#include "libchan_test.h"

LT_FIXTURE();

/* The expiry in a timer message, or -1 if it is not "<decimal>\n". */
static long long tick_ns(const char *buf, ssize_t len)
{
	char tmp[CHAN_TIMER_MSG_MAX + 1], *end;
	long long v;

	if (len < 2 || len > CHAN_TIMER_MSG_MAX || buf[len - 1] != '\n')
		return -1;
	memcpy(tmp, buf, len);
	tmp[len] = '\0';
	v = strtoll(tmp, &end, 10);
	return *end == '\n' && end != tmp ? v : -1;
}

TEST_F(lt, after)
{
	struct chan_opts o = { .flags = CHAN_AFTER, .period_ns = 100 * MSEC };
	const char *name = lt_name(&self->env);
	char buf[64];
	struct chan_info info;
	int64_t t0;
	ssize_t n;
	int fd;

	t0 = lt_now();
	ASSERT_EQ(0, chan_create(name, &o));
	fd = chan_open(name, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(CHAN_STATE_TIMER, info.state & CHAN_STATE_TIMER);
	EXPECT_EQ(1, info.capacity);
	EXPECT_EQ(CHAN_TIMER_MSG_MAX, info.msg_max);

	n = chan_recv_timeout(fd, buf, sizeof(buf), 30 * NSEC);
	ASSERT_LT(0, n);
	EXPECT_LE(t0 + 100 * MSEC, tick_ns(buf, n));
	EXPECT_GE(lt_now(), tick_ns(buf, n));
	/* One shot: nothing more comes, and the channel stays open. */
	EXPECT_EQ(-ETIMEDOUT, chan_recv_timeout(fd, buf, sizeof(buf), 250 * MSEC));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.state & CHAN_STATE_CLOSED);
	close(fd);
}

TEST_F(lt, tick)
{
	struct chan_opts o = { .flags = CHAN_TICK, .period_ns = 50 * MSEC };
	const char *name = lt_name(&self->env);
	long long prev = 0, t;
	char buf[64];
	ssize_t n;
	int fd, i;

	ASSERT_EQ(0, chan_create(name, &o));
	fd = chan_open(name, O_RDONLY);
	ASSERT_LE(0, fd);
	for (i = 0; i < 4; i++) {
		n = chan_recv_timeout(fd, buf, sizeof(buf), 30 * NSEC);
		ASSERT_LT(0, n);
		t = tick_ns(buf, n);
		ASSERT_LT(0, t);
		EXPECT_LT(prev, t);
		prev = t;
	}
	/* Closing stops it: drained, then end of file. */
	ASSERT_EQ(0, chan_close(name));
	n = chan_recv_timeout(fd, buf, sizeof(buf), 30 * NSEC);
	if (n > 0)
		n = chan_recv_timeout(fd, buf, sizeof(buf), 30 * NSEC);
	EXPECT_EQ(0, n);
	close(fd);
}

/* A slow receiver: ticks are dropped and counted, never queued up. */
TEST_F(lt, dropped)
{
	struct chan_opts o = { .flags = CHAN_TICK, .period_ns = 20 * MSEC };
	const char *name = lt_name(&self->env);
	struct chan_info info;
	int fd;

	ASSERT_EQ(0, chan_create(name, &o));
	fd = chan_open(name, O_RDONLY);
	ASSERT_LE(0, fd);
	usleep(300 * 1000);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(1, info.length);
	EXPECT_LT(0, info.dropped);
	close(fd);
}

/* Timers are written by the kernel only; their options are checked. */
TEST_F(lt, errors)
{
	struct chan_opts o = { .flags = CHAN_AFTER, .period_ns = 10 * NSEC };
	const char *name = lt_name(&self->env);
	int fd;

	ASSERT_EQ(0, chan_create(name, &o));
	fd = chan_open(name, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EPERM, chan_send(fd, "x", 1));
	EXPECT_EQ(-EPERM, chan_send_timeout(fd, "x", 1, 0));
	EXPECT_STREQ("Timer channels cannot be written", chan_strerror(-EPERM, CHAN_OP_SEND));
	close(fd);

	o.period_ns = CHAN_TIMER_MIN_NS - 1;
	EXPECT_EQ(-EINVAL, chan_create(lt_name(&self->env), &o));
	o.period_ns = CHAN_TIMER_MIN_NS;
	o.capacity = 4;
	EXPECT_EQ(-EINVAL, chan_create(lt_name(&self->env), &o));
	o.capacity = 0;
	o.flags = CHAN_AFTER | CHAN_TICK;
	EXPECT_EQ(-EINVAL, chan_create(lt_name(&self->env), &o));
	o.flags = CHAN_TICK | CHAN_AUTOCLOSE;
	EXPECT_EQ(-EINVAL, chan_create(lt_name(&self->env), &o));
	o.flags = CHAN_TICK;
	o.period_ns = 0;
	EXPECT_EQ(-EINVAL, chan_create(lt_name(&self->env), &o));
}

TEST_HARNESS_MAIN
